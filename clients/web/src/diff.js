// "Compare two versions": the two models side by side with linked cameras, and what changed in words and units
// (metrics, lineage, parameters, checks, files) from DiffVersions.
import { assets } from "./api.js";
import { h, fmtLevel } from "./dom.js";
import { diffViewers } from "./diffview.js";
import { readableMetric, sortMetrics } from "./metrics.js";
import { showError } from "./errors.js";

function metricsTable(d) {
  return h("table.metrics", {},
    h("tr", {}, h("th", {}, "what"), h("th", {}, `v${d.a}`), h("th", {}, `v${d.b}`), h("th", {}, "change")),
    sortMetrics(d.metrics).map((m) => {
      const r = readableMetric(m);
      return h("tr", { className: m.before === m.after ? "same" : "changed", dataset: { metric: m.name }, title: m.name },
        h("td", {}, r.label), h("td.num", {}, r.before), h("td.num", {}, r.after), h("td.num", {}, r.change));
    }));
}

function details(d) {
  return [
    d.lineage.length ? h("table.lineage", {}, h("tr", {}, h("th", {}, "lineage"), h("th", {}, `v${d.a}`), h("th", {}, `v${d.b}`)),
      d.lineage.map((c) => h("tr", {}, h("td", {}, c.field), h("td", {}, c.before || "—"), h("td", {}, c.after || "—")))) : h("p.muted", {}, "Same backend, model, seed and caption."),
    d.parameters.length ? h("table", {}, h("tr", {}, h("th", {}, "parameter"), h("th", {}, `v${d.a}`), h("th", {}, `v${d.b}`)),
      d.parameters.map((p) => h("tr", {}, h("td", {}, p.key), h("td", {}, p.beforeJson || "—"), h("td", {}, p.afterJson || "—")))) : h("p.muted", {}, "Same parameters."),
    d.checks.length ? h("ul", {}, d.checks.map((c) => h("li", {}, `${c.profile} ${c.checkId}: ${fmtLevel(c.before)} → ${fmtLevel(c.after)}`))) : h("p.muted", {}, "No check changed."),
    h("p.muted", {}, d.artifactsChanged.length ? `Changed files: ${d.artifactsChanged.join(", ")}` : "No file changed."),
  ];
}

/** The compare box of an asset page: returns {element, destroy}; `act` wraps a button's work with status + errors. */
export function diffSection(name, versions, act) {
  const pick = (id, i) => h("select", { id }, versions.map((v, j) => h("option", { value: v.number, selected: j === i }, `v${v.number}`)));
  const diffA = pick("diff-a", Math.min(1, versions.length - 1)), diffB = pick("diff-b", 0);
  const out = h("div.diff", { id: "diff" });
  let visual = null;
  const clear = () => { visual?.destroy(); visual = null; };
  const compare = act("Diff", async () => {
    const d = await assets.diffVersions({ asset: name, refA: diffA.value, refB: diffB.value });
    clear();
    const va = versions.find((v) => v.number === d.a), vb = versions.find((v) => v.number === d.b);
    if (va && vb) {
      visual = diffViewers(va, vb);
      visual.ready.catch(showError);
    }
    out.replaceChildren(
      h("h3", {}, `v${d.a} → v${d.b}`),
      h("div.diff-body", {}, visual ? visual.element : null, h("div.diff-numbers", {}, metricsTable(d))),
      ...details(d));
  });
  const element = h("section.diff-box", {}, h("h2", {}, "Compare two versions"),
    h("div.controls", {}, diffA, " → ", diffB, h("button", { type: "button", id: "compare", onclick: compare }, "Compare")), out);
  return { element, destroy: clear };
}
