// DiffVersions metrics for people: "Size X 1.20 m → 1.35 m (+12%)" instead of bbox_size_x 1.2 1.35.
// One unit per row (the larger side picks it) so both sides read alike; unknown metrics keep their name.
import { fmtInt } from "./dom.js";

const sig = (v, digits = 3) => Number(v.toPrecision(digits)).toLocaleString("en", { maximumFractionDigits: 6 });

/** A unit for a row: [suffix, scale from the stored SI value]. */
const length = (ref) => (ref >= 1 ? [" m", 1] : ref >= 0.01 ? [" cm", 100] : [" mm", 1000]);
const area = (ref) => (ref >= 0.1 ? [" m²", 1] : [" cm²", 1e4]);
const volume = (ref) => (ref >= 0.1 ? [" m³", 1] : ref >= 1e-4 ? [" L", 1e3] : [" cm³", 1e6]);

const METRICS = {
  bbox_size_x: { label: "Size X (width)", unit: length, fixed: 2 },
  bbox_size_y: { label: "Size Y (height)", unit: length, fixed: 2 },
  bbox_size_z: { label: "Size Z (depth)", unit: length, fixed: 2 },
  faces: { label: "Faces", count: true },
  vertices: { label: "Vertices", count: true },
  bodies: { label: "Separate bodies", count: true },
  texture_size: { label: "Texture", unit: () => [" px", 1], count: true },
  area_m2: { label: "Surface area", unit: area },
  volume_m3: { label: "Volume", unit: volume },
};
const ORDER = Object.keys(METRICS);

/** The metric's label for people ("bbox_size_x" -> "Size X (width)"; unknown: "some_metric" -> "some metric"). */
export const metricLabel = (name) => METRICS[name]?.label || name.replaceAll("_", " ");

/** Change from a to b in per cent as text ("+12%", "−50%", "same"), or "" when it has no meaning. */
export function percent(a, b) {
  if (a === undefined || b === undefined) return "";
  if (a === b) return "same";
  if (a === 0) return "";
  const p = ((b - a) / Math.abs(a)) * 100;
  const text = Math.abs(p) >= 10 ? Math.round(p).toString() : Math.abs(p) >= 0.1 ? p.toFixed(1) : p.toPrecision(1);
  return `${p > 0 ? "+" : "−"}${text.replace("-", "")}%`;
}

/** One MetricDelta -> {name, label, before, after, change} as text ("—" for a side that lacks it). */
export function readableMetric({ name, before, after }) {
  const spec = METRICS[name] || {};
  const ref = Math.max(Math.abs(before ?? 0), Math.abs(after ?? 0));
  const [suffix, scale] = spec.unit ? spec.unit(ref) : ["", 1];
  const fmt = (v) => {
    if (v === undefined || v === null) return "—";
    const x = v * scale;
    if (spec.count) return `${fmtInt(Math.round(x))}${suffix}`;
    if (spec.fixed && suffix === " m") return `${x.toFixed(spec.fixed)}${suffix}`;
    return `${sig(x)}${suffix}`;
  };
  return { name, label: metricLabel(name), before: fmt(before), after: fmt(after), change: percent(before, after) };
}

/** MetricDeltas in a stable, meaningful order: sizes first, then counts, area, volume, then anything new. */
export function sortMetrics(metrics) {
  const rank = (m) => (ORDER.includes(m.name) ? ORDER.indexOf(m.name) : ORDER.length);
  return [...metrics].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
