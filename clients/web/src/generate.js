// Generate from a dropped image with live progress (the Generate server stream), and re-attach to a running
// job after a reload (WatchJob with the job id kept in sessionStorage).
import { ingest, jobs, describe } from "./api.js";
import { ReconstructMode } from "../gen/meshsmith/v1/types_pb.js";
import { h } from "./dom.js";
import { extraInputs } from "./extra.js";
import { ASSET_NAME_PATTERN, ASSET_NAME_RULE, draftName } from "./names.js";

const JOB = "meshsmith.job";
let watching = null; // the job id whose events this page is reading now

const panel = h("aside.job", { id: "job", hidden: true });
document.body.append(panel);

function saveJob(job) {
  sessionStorage.setItem(JOB, JSON.stringify(job));
}
function loadJob() {
  try {
    return JSON.parse(sessionStorage.getItem(JOB) || "null");
  } catch {
    return null;
  }
}

/** Render the progress panel for the events of one job; returns a function that takes each JobEvent. */
function progress(asset, reattached) {
  const bar = h("progress", { max: 1, value: 0 });
  const stage = h("strong.stage", {}, "starting");
  const message = h("div.muted.message");
  const stages = h("ol.stages");
  const preview = h("div.job-preview");
  const close = h("button.link", { type: "button", onclick: () => { panel.hidden = true; } }, "close");
  const title = h("span.job-title", {}, `${reattached ? "Re-attached: generating" : "Generating"} ${asset}`);
  panel.replaceChildren(h("div.job-head", {}, title, close), stage, bar, message, preview, stages);
  panel.hidden = false;
  panel.dataset.state = "running";
  const seen = new Set();
  return (ev) => {
    stage.textContent = ev.stage;
    bar.value = ev.fraction;
    message.textContent = ev.message;
    panel.dataset.stage = ev.stage;
    if (!seen.has(ev.stage)) {
      seen.add(ev.stage);
      stages.append(h("li", {}, ev.stage));
    }
    const p = ev.payload;
    if (p.case === "preview") {
      const url = URL.createObjectURL(new Blob([p.value.data], { type: p.value.mediaType || "image/png" }));
      preview.replaceChildren(h("img", { src: url, alt: "preview" }));
    } else if (p.case === "version") {
      panel.dataset.state = "done";
      title.textContent = `${reattached ? "Re-attached: generated" : "Generated"} ${asset}`;
      bar.value = 1;
      message.replaceChildren(`Stored as version ${p.value.number}${p.value.reused ? " (identical request: reused)" : ""}. `,
        h("a", { href: `#/asset/${p.value.asset}`, id: "job-result" }, `Open ${p.value.asset}`));
    } else if (p.case === "error") {
      panel.dataset.state = "failed";
      title.textContent = `Could not generate ${asset}`;
      message.textContent = `Failed (${p.value.code.toLowerCase()}): ${p.value.message}`;
      message.className = "error-text";
    }
  };
}

async function follow(stream, asset, known, reattached = false) {
  let show = null;
  try {
    for await (const r of stream) {
      const ev = r.event;
      if (!show) show = progress(asset, reattached);
      if (!watching) watching = ev.jobId;
      if (ev.jobId && (!known || known.id !== ev.jobId || Number(ev.sequence) > known.seq)) {
        known = { id: ev.jobId, asset, seq: Number(ev.sequence) };
        saveJob(known);
      }
      show(ev);
      if (ev.payload.case === "version" || ev.payload.case === "error") {
        sessionStorage.removeItem(JOB);
        if (ev.payload.case === "version" && location.hash === `#/asset/${asset}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
      }
    }
  } catch (e) {
    if (!show) show = progress(asset, reattached);
    panel.dataset.state = "failed";
    panel.querySelector(".message").textContent = describe(e);
    if (known) sessionStorage.removeItem(JOB);
  } finally {
    watching = null;
  }
}

/** After a reload (or on any page): watch the job this tab started, if it is still in sessionStorage. */
export function resumeJob(session) {
  const job = loadJob();
  if (!job || watching || !(session.role === "creator" || session.role === "admin")) return;
  watching = job.id;
  follow(jobs.watchJob({ jobId: job.id, fromSequence: 0n }, { timeoutMs: 3_600_000 }), job.asset, null, true);
}

const MODES = ["AUTO", "INFLATE", "REVOLVE", "EXTRUDE", "RELIEF", "VOXEL"];

export function generatePage(app, session) {
  if (!(session.role === "creator" || session.role === "admin")) {
    app.replaceChildren(h("p.error-text", {}, "Generating needs a creator or admin key."));
    return null;
  }
  let image = null;
  const file = h("input", { type: "file", accept: "image/*", id: "image-file", onchange: () => take(file.files[0]) });
  const shown = h("div.drop-preview");
  const zone = h("label.drop", { id: "drop", for: "image-file" }, h("span", {}, "Drop an image here, or click to choose one"), shown);
  async function take(f) {
    if (!f) return;
    image = { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) };
    shown.replaceChildren(h("img", { src: URL.createObjectURL(f), alt: f.name }), h("span.muted", {}, f.name));
    zone.classList.add("has-image");
    if (!asset.value) asset.value = draftName(f.name);
  }
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    take(ev.dataTransfer.files[0]);
  });

  const asset = h("input", { name: "asset", required: true, placeholder: "props/chair", pattern: ASSET_NAME_PATTERN,
    maxlength: 200, title: ASSET_NAME_RULE });
  const mode = h("select", { name: "mode" }, MODES.map((m) => h("option", { value: m }, m.toLowerCase())));
  const num = (name, attrs) => h("input", { name, type: "number", ...attrs });
  const faces = num("faces", { value: 20000, min: 100, step: 100 });
  // empty: the server keeps the latest version's real size, else assumes 1 m and says so
  const height = num("height", { min: 0.001, step: "any", placeholder: "as the latest version, else 1.0" });
  const width = num("width", { min: 0.001, step: "any", placeholder: "from height" });
  const depth = num("depth", { min: 0.0001, step: "any", placeholder: "mode default" });
  const texture = num("texture", { value: 1024, min: 16, step: 1 });
  const seed = num("seed", { value: 0, min: 0, step: 1 });
  const lods = h("input", { name: "lods", value: "1, 0.5, 0.25, 0.1" });
  const profiles = h("input", { name: "profiles", placeholder: "unity-pc, fdm" });
  const noSym = h("input", { type: "checkbox", name: "no-symmetry" });
  const status = h("p.muted");
  const extra = extraInputs();
  const go = h("button.primary", { type: "submit", id: "generate" }, "Generate");

  const form = h("form.generate", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!image) { status.textContent = "Drop an image first."; return; }
      let more;
      try {
        more = await extra.read();
      } catch (e) {
        status.textContent = e.message;
        return;
      }
      const ratios = lods.value.split(",").map((x) => Number(x.trim())).filter((x) => x > 0);
      const params = {
        mode: ReconstructMode[mode.value], targetFaces: Number(faces.value),
        textureSize: Number(texture.value), seed: BigInt(seed.value || 0), noSymmetry: noSym.checked,
        lodRatios: ratios, profiles: profiles.value.split(",").map((x) => x.trim()).filter(Boolean),
      };
      if (height.value) params.targetHeightM = Number(height.value);
      if (width.value) params.targetWidthM = Number(width.value);
      if (depth.value) params.depthM = Number(depth.value);
      if (more.fovDeg !== undefined) params.fovDeg = more.fovDeg;
      const name = asset.value.trim();
      status.textContent = "";
      watching = "pending";
      const request = { asset: name, image: image.bytes, params, views: more.views, requestId: crypto.randomUUID() };
      if (more.depth) request.depth = more.depth;
      follow(ingest.generate(request, { timeoutMs: 3_600_000 }), name, null);
    },
  },
  zone, file,
  h("div.fields", {},
    h("label", {}, "Asset name ", asset), h("label", {}, "Mode ", mode), h("label", {}, "Target faces ", faces),
    h("label", {}, "Height (m) ", height), h("label", {}, "Width (m) ", width), h("label", { title: "extrude, relief, voxel" }, "Thickness (m) ", depth),
    h("label", {}, "Texture size (px) ", texture), h("label", {}, "Seed ", seed), h("label", {}, "LOD ratios ", lods),
    h("label", {}, "Profiles ", profiles), h("label.check", {}, noSym, " no symmetry")),
  extra.element, go, status);
  app.replaceChildren(h("h1", {}, "Generate from an image"), form);
  return null;
}
