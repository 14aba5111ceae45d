// Small DOM helpers (no framework): h() builds elements, fmt* format values for people.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CheckLevel, ReconstructMode } from "../gen/meshsmith/v1/types_pb.js";

/** h("button.primary", {onclick}, "text", child) -> HTMLElement; attrs starting with "on" are listeners. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "className") el.classList.add(...v.split(" ").filter(Boolean));
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const fmtDate = (ts) => (ts ? timestampDate(ts).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "");
export const fmtMode = (m) => (ReconstructMode[m] || "—").toLowerCase();
export const fmtLevel = (l) => (CheckLevel[l] || "—").toLowerCase();
export const fmtInt = (n) => Number(n).toLocaleString("en");
export const fmtBytes = (n) => {
  n = Number(n);
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(2)} MiB`;
};
export const fmtMetres = (v) => (v >= 1 ? `${v.toFixed(2)} m` : `${(v * 100).toFixed(1)} cm`);
