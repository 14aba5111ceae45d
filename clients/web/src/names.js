// The server's naming rules (registry/names.py, reconstruct/cameras.py) as HTML `pattern` attributes.
// Browsers compile a pattern as ^(?:PATTERN)$ with the `v` flag, where `-`, `/`, `(`, `)`, `[`, `]`, `{`, `}`
// and `|` inside a [class] must be escaped: an invalid pattern is ignored with only a console error.

const SEGMENT = String.raw`[a-z0-9][a-z0-9._\-]*`;

/** 1..8 '/'-separated segments of [a-z0-9._-] starting with a letter or digit, no "..", at most 200 characters. */
export const ASSET_NAME_PATTERN = String.raw`(?!.*\.\.)(?=.{1,200}$)${SEGMENT}(?:\/${SEGMENT}){0,7}`;
export const ASSET_NAME_RULE = "1 to 8 '/'-separated parts of lowercase a-z, 0-9, '.', '_' or '-', each starting "
  + "with a letter or digit, no '..', at most 200 characters (e.g. props/chair)";

export const VIEW_LABELS = ["front", "back", "left", "right", "top", "bottom"];
/** A named side or a yaw in degrees ("45", "-30", "112.5", "90deg"). */
export const VIEW_LABEL_PATTERN = String.raw`(?:${VIEW_LABELS.join("|")}|[+\-]?[0-9]+(?:\.[0-9]+)?(?:deg|°)?)`;
export const VIEW_LABEL_RULE = "front, back, left, right, top, bottom or a yaw in degrees (front 0, right 90, back 180, left 270)";

/** A suggested asset name from a file name: "My Chair.png" -> "drafts/my-chair". */
export function draftName(fileName) {
  const stem = fileName.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".").replace(/^[^a-z0-9]+/, "").slice(0, 100);
  return `drafts/${stem || "image"}`;
}
