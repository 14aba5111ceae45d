// One asset: channels, a 3D viewer (version, LOD, wireframe, size), the history table with previews and verdicts,
// downloads, lockfile entries, a diff of two versions, and channel / deprecation buttons for admin keys.
import { admin, assets, blobUrl, fetchBlob, saveAs } from "./api.js";
import { h, fmtBytes, fmtDate, fmtInt, fmtLevel, fmtMetres, fmtMode } from "./dom.js";
import { Viewer } from "./viewer.js";
import { diffSection } from "./diff.js";
import { showError } from "./errors.js";

const EXPORTS = [["stl", "STL"], ["3mf", "3MF"], ["obj.zip", "OBJ + texture"]];

function verdicts(v) {
  return v.reports.map((r) => h(`span.verdict.${fmtLevel(r.verdict)}`, { title: r.checks.filter((c) => c.level > 1).map((c) => `${c.id}: ${c.message}`).join("\n") || "all checks pass" },
    `${r.profile}: ${fmtLevel(r.verdict)}`));
}

function lockEntry(e) {
  const key = e.lod ? `${e.asset}#lod${e.lod}` : e.asset;
  return JSON.stringify({ [key]: { version: e.version, ref: e.spec.split("@")[1] || "", sha256: e.sha256, size: Number(e.size), lod: e.lod, url: e.url, integrity: e.integrity } }, null, 2);
}

async function download(version, art) {
  const blob = await fetchBlob(art.sha256);
  const base = version.asset.replaceAll("/", "_");
  saveAs(blob, art.kind === "glb" ? `${base}.v${version.number}${art.lod ? `.lod${art.lod}` : ""}.glb` : `${base}.v${version.number}.${art.kind}`);
}

async function exportVersion(version, format) {
  const parts = [];
  let type = "application/octet-stream";
  for await (const r of assets.exportVersion({ asset: version.asset, ref: String(version.number), format })) {
    if (r.part.case === "header") type = r.part.value.artifact?.mediaType || type;
    else parts.push(r.part.value);
  }
  saveAs(new Blob(parts, { type }), `${version.asset.replaceAll("/", "_")}.v${version.number}.${format}`);
}

/** Render the asset page into `app` once its data is in (unless `isCurrent()` says the user moved on); returns a cleanup. */
export async function assetPage(app, name, session, params, isCurrent = () => true) {
  const isAdmin = session.role === "admin";
  const [{ asset }, { versions }] = await Promise.all([assets.getAsset({ asset: name }), assets.listVersions({ asset: name, pageSize: 200 })]);
  if (!isCurrent()) return null;
  const status = h("p.status", { role: "status" });
  const act = (label, fn) => async () => {
    status.textContent = `${label}…`;
    try {
      await fn();
      status.textContent = `${label}: done.`;
    } catch (e) {
      status.textContent = "";
      showError(e);
    }
  };
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

  // --- viewer
  const stage = h("div.viewer", { id: "viewer" });
  const sizeText = h("span.size", { id: "size" });
  const backNote = h("p.quality", { id: "quality" }); // parameters.quality: was the back seen or inferred (issue 19)
  const verSel = h("select", { id: "view-version" }, versions.map((v) => h("option", { value: v.number }, `v${v.number}${v.deprecated ? " (deprecated)" : ""}`)));
  const lodSel = h("select", { id: "view-lod" });
  const wire = h("input", { type: "checkbox", id: "wireframe" });
  const media = h("div.media");
  const downloads = h("div.downloads");
  const viewer = new Viewer(stage);
  wire.addEventListener("change", () => viewer.setWireframe(wire.checked));
  let loadSeq = 0;
  async function showVersion(number, lod, keepCamera) {
    const v = versions.find((x) => x.number === number);
    const glbs = v.artifacts.filter((a) => a.kind === "glb").sort((a, b) => a.lod - b.lod);
    if (lod === undefined) {
      lodSel.replaceChildren(...glbs.map((a) => h("option", { value: a.lod }, `LOD${a.lod}`)));
      lod = glbs[0]?.lod ?? 0;
    }
    lodSel.value = String(lod);
    const q = v.parameters?.quality;
    backNote.textContent = q ? `Back: ${q.back}${q.back === "inferred" ? " (guessed, not seen)" : ""}`
      + `${typeof q.confidence === "number" ? ` · confidence ${q.confidence.toFixed(2)}` : ""}`
      + `${q.notes?.length ? ` — ${q.notes[0]}` : ""}` : "";
    backNote.className = q?.back === "inferred" ? "quality inferred" : "quality";
    const art = glbs.find((a) => a.lod === lod);
    media.replaceChildren(...v.artifacts.filter((a) => a.kind === "preview" || a.kind === "turntable").map((a) => {
      const img = h("img", { alt: `${a.kind} of v${v.number}`, className: a.kind });
      blobUrl(a.sha256).then((u) => { img.src = u; }).catch(() => {});
      return h("figure", {}, img, h("figcaption", {}, a.kind));
    }));
    downloads.replaceChildren(
      ...glbs.map((a) => h("button", { type: "button", onclick: act(`Download LOD${a.lod}`, () => download(v, a)) }, `GLB LOD${a.lod} (${fmtBytes(a.size)})`)),
      ...EXPORTS.map(([fmt, label]) => h("button", { type: "button", onclick: act(`Export ${label}`, () => exportVersion(v, fmt)) }, label)));
    if (!art) { sizeText.textContent = "no GLB"; return; }
    const seq = ++loadSeq;
    sizeText.textContent = "loading…";
    stage.dataset.loaded = "";
    try {
      const glb = await (await fetchBlob(art.sha256)).arrayBuffer();
      if (seq !== loadSeq) return;
      const s = await viewer.show(glb, { keepCamera });
      sizeText.textContent = `${fmtMetres(s.x)} × ${fmtMetres(s.y)} × ${fmtMetres(s.z)} (W × H × D) · ${fmtInt(s.faces)} faces`;
      stage.dataset.loaded = `${number}:${lod}`;
    } catch (e) {
      sizeText.textContent = "";
      showError(e);
    }
  }
  verSel.addEventListener("change", () => showVersion(Number(verSel.value)));
  lodSel.addEventListener("change", () => showVersion(Number(verSel.value), Number(lodSel.value), true));

  // --- channels
  const channels = asset.channels.map((c) => h("span.channel", { dataset: { channel: c.name, version: c.version } }, `${c.name} → v${c.version}`));

  // --- admin: channel to move
  const chanInput = h("input", { id: "channel-name", value: params.get("channel") || "stable", list: "channel-list", size: 10 });
  const adminBar = isAdmin ? h("div.admin-bar", {}, h("label", {}, "Channel ", chanInput,
    h("datalist", { id: "channel-list" }, asset.channels.filter((c) => c.name !== "latest").map((c) => h("option", { value: c.name })))),
  h("span.muted", {}, " use the buttons in a row to point it there (promote or roll back), or deprecate a version")) : null;
  const current = (ch) => asset.channels.find((c) => c.name === ch)?.version;

  // --- history
  const rows = versions.map((v) => {
    const thumb = h("td.thumb");
    const preview = v.artifacts.find((a) => a.kind === "preview");
    if (preview) blobUrl(preview.sha256).then((u) => thumb.append(h("img", { src: u, alt: `v${v.number}` }))).catch(() => {});
    const actions = h("div.actions", {},
      h("button", { type: "button", onclick: () => { verSel.value = String(v.number); showVersion(v.number); stage.scrollIntoView({ block: "nearest" }); } }, "View"),
      h("button", { type: "button", className: "copy-lock", onclick: act(`Copy lockfile entry v${v.number}`, async () => {
        const { entries } = await assets.resolveLock({ specs: [`${name}@${v.number}`] });
        const text = lockEntry(entries[0]);
        lockOut.textContent = text;
        await navigator.clipboard?.writeText(text).catch(() => {});
      }) }, "Lock entry"));
    if (isAdmin) {
      actions.append(
        h("button.admin.move", { type: "button", dataset: { number: v.number }, onclick: act(`Move channel to v${v.number}`, async () => {
          const ch = chanInput.value.trim();
          await admin.moveChannel({ asset: name, channel: ch, ref: String(v.number) });
          const target = `#/asset/${name}?channel=${encodeURIComponent(ch)}`;
          if (location.hash === target) reload();
          else location.hash = target; // the hash change re-renders once
        }) }, "Promote here"),
        ...[v.deprecated ? null : h("button.admin.deprecate", { type: "button", onclick: act(`Deprecate v${v.number}`, async () => {
          const reason = window.prompt(`Deprecate ${name} v${v.number}? Reason:`, "");
          if (reason === null) return;
          await admin.deprecateVersion({ asset: name, number: v.number, reason });
          reload();
        }) }, "Deprecate")].filter(Boolean));
    }
    const backend = `${fmtMode(v.mode)} / ${v.backend}${v.backendVersion ? ` ${v.backendVersion}` : ""}`;
    return h("tr.version-row", { dataset: { number: v.number }, className: v.deprecated ? "deprecated" : "" },
      h("td", {}, `v${v.number}`), thumb, h("td", {}, fmtDate(v.createdAt)), h("td", {}, v.author),
      h("td", {}, backend), h("td.num", {}, v.stats ? fmtInt(v.stats.faces) : "—"), h("td", {}, verdicts(v)),
      h("td", {}, v.channels.map((c) => h("span.channel", { dataset: { channel: c } }, c))),
      h("td", {}, v.deprecated ? h("span.deprecated-badge", {}, "deprecated") : ""), h("td", {}, actions));
  });
  const lockOut = h("pre.lock", { id: "lock-entry" });
  const labelMoves = () => { // what a row's button does to the channel named in the admin bar
    const at = current(chanInput.value.trim());
    for (const b of rows.flatMap((r) => [...r.querySelectorAll("button.move")])) {
      const n = Number(b.dataset.number);
      b.disabled = at === n;
      b.textContent = at === n ? `${chanInput.value.trim()} is here` : at !== undefined && n < at ? "Roll back here" : "Promote here";
    }
  };
  chanInput.addEventListener("input", labelMoves);
  labelMoves();

  // --- diff
  const diff = versions.length > 1 ? diffSection(name, versions, act) : null;

  app.replaceChildren(...[
    h("div.asset-head", {}, h("h1", {}, name), h("div.badges", { id: "channels" }, channels, asset.tags.map((t) => h("span.tag", {}, t)))),
    asset.description ? h("p", {}, asset.description) : null,
    status,
    h("section.view", {}, stage, h("div.view-side", {},
      h("div.controls", {}, h("label", {}, "Version ", verSel), h("label", {}, "LOD ", lodSel), h("label.check", {}, wire, " wireframe")),
      h("p", {}, "Size: ", sizeText), backNote, media, h("h3", {}, "Download"), downloads)),
    adminBar,
    h("h2", {}, `History (${versions.length})`),
    h("div.table-scroll", {}, h("table.history", { id: "history" },
      h("thead", {}, h("tr", {}, ["#", "preview", "date", "author", "mode / backend", "faces", "verdicts", "channels", "", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows))),
    lockOut,
    diff?.element,
  ].filter(Boolean));
  if (versions.length) showVersion(versions[0].number);
  return () => {
    viewer.destroy();
    diff?.destroy();
  };
}
