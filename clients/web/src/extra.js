// The Generate form's extra inputs (GenerateRequest.views / .depth, GenerateParams.fov_deg): more labelled
// pictures of the object, or a depth map aligned with the picture, and the picture's field of view.
// Sent inline (the browser has no client streaming for Upload); the server's image size cap applies.
import { h } from "./dom.js";
import { VIEW_LABELS, VIEW_LABEL_PATTERN, VIEW_LABEL_RULE } from "./names.js";

const MAX_VIEWS = 5; // limits.py: GenerateRequest.views
const DEPTH_UNITS = [["m", "metres"], ["mm", "millimetres"], ["relative", "relative (unknown scale)"]];

const bytesOf = async (input) => (input.files[0] ? new Uint8Array(await input.files[0].arrayBuffer()) : null);

function viewRow(index, onRemove) {
  const label = h("input", {
    name: "view-label", required: true, list: "view-labels", size: 8, pattern: VIEW_LABEL_PATTERN,
    title: VIEW_LABEL_RULE, placeholder: "right or 90", value: VIEW_LABELS[[3, 1, 2, 4, 5][index] ?? 1],
  });
  const file = h("input", { type: "file", name: "view-file", accept: "image/*", required: true });
  const row = h("div.view-row", {}, h("label", {}, "View ", label), h("label", {}, "Image ", file),
    h("button.link", { type: "button", onclick: () => onRemove(row) }, "remove"));
  row.read = async () => ({ label: label.value.trim(), image: await bytesOf(file) });
  return row;
}

/** The fieldset and read() -> {views, depth?, fovDeg?} for the GenerateRequest, or a sentence saying what is wrong. */
export function extraInputs() {
  const rows = h("div.view-rows", { id: "view-rows" });
  const add = h("button", { type: "button", id: "add-view", onclick: () => addView() }, "Add a view");
  const sync = () => { add.disabled = rows.children.length >= MAX_VIEWS; };
  const addView = () => {
    rows.append(viewRow(rows.children.length, (row) => { row.remove(); sync(); }));
    sync();
  };
  const depthFile = h("input", { type: "file", name: "depth-file", id: "depth-file", accept: "image/png,image/tiff,.png,.tif,.tiff" });
  const units = h("select", { name: "depth-units" }, DEPTH_UNITS.map(([v, text]) => h("option", { value: v }, text)));
  const fov = h("input", { name: "fov", type: "number", min: 0, max: 120, step: "any", placeholder: "from EXIF, else 0" });

  const element = h("fieldset.extra", { id: "extra-inputs" },
    h("legend", {}, "More input (optional)"),
    h("datalist", { id: "view-labels" }, VIEW_LABELS.map((v) => h("option", { value: v }))),
    h("p.muted", {}, `Extra views: other pictures of the same object (the dropped image is the front), up to ${MAX_VIEWS}; `
      + `label each ${VIEW_LABEL_RULE}.`),
    rows, add,
    h("p.muted", {}, "Or a depth map aligned with the picture (16-bit PNG or 32-bit float TIFF, 0 = no depth) — not together with views."),
    h("div.fields", {}, h("label", {}, "Depth map ", depthFile), h("label", {}, "Units ", units)),
    h("div.fields", {}, h("label", { title: "vertical field of view of the picture(s); 0 = orthographic" }, "Field of view (°) ", fov)));

  async function read() {
    const views = await Promise.all([...rows.children].map((r) => r.read()));
    const depth = await bytesOf(depthFile);
    if (views.length && depth) throw new Error("Send extra views or a depth map, not both.");
    const out = { views };
    if (depth) out.depth = { data: depth, units: units.value };
    if (fov.value !== "") out.fovDeg = Number(fov.value);
    return out;
  }
  return { element, read };
}
