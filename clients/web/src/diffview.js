// Two versions side by side in two three.js viewers whose cameras are linked: orbit, pan or zoom one and the
// other follows. Both start framed on the union of the two models, so sizes compare at a glance.
import { fetchBlob } from "./api.js";
import { h, fmtInt, fmtMetres } from "./dom.js";
import { Viewer } from "./viewer.js";

/**
 * Keep two viewers' cameras together; returns an unlink function. The viewer last grabbed leads: the other copies
 * its camera at the start of each of its frames (so the leader's damped glide, however small, is followed to
 * the end) and has no damping of its own meanwhile, so nothing of an earlier motion pulls it away.
 */
export function linkCameras(a, b) {
  let leader = a;
  const lead = (v) => () => {
    leader = v;
    a.controls.enableDamping = v === a;
    b.controls.enableDamping = v === b;
  };
  const follow = (me, other) => () => {
    if (leader !== other) return;
    if (!me.camera.position.equals(other.camera.position) || !me.controls.target.equals(other.controls.target)) me.copyCamera(other);
  };
  const hooks = [[a, "start", lead(a)], [b, "start", lead(b)]];
  for (const [v, type, fn] of hooks) v.controls.addEventListener(type, fn);
  const frames = [[a, follow(a, b)], [b, follow(b, a)]];
  for (const [v, fn] of frames) v.beforeFrame.add(fn);
  lead(a)();
  return () => {
    for (const [v, type, fn] of hooks) v.controls.removeEventListener(type, fn);
    for (const [v, fn] of frames) v.beforeFrame.delete(fn);
  };
}

const lod0 = (v) => v.artifacts.filter((x) => x.kind === "glb").sort((x, y) => x.lod - y.lod)[0];

/**
 * The visual diff of versions `va` and `vb` (Version messages): returns {element, ready, destroy}; `ready`
 * settles when both models are shown (each pane says so in data-loaded) or one failed.
 */
export function diffViewers(va, vb) {
  const pane = (v, side) => {
    const stage = h("div.viewer.diff-viewer", { id: `diff-viewer-${side}` });
    const caption = h("figcaption.muted", {}, `v${v.number}: loading…`);
    return { v, stage, caption, element: h("figure.diff-pane", {}, stage, caption) };
  };
  const panes = [pane(va, "a"), pane(vb, "b")];
  const viewers = panes.map((p) => new Viewer(p.stage));
  const unlink = linkCameras(viewers[0], viewers[1]);
  panes.forEach((p, i) => viewers[i].beforeFrame.add(() => { // where each camera is, for scripts and tests
    const at = viewers[i].camera.position.toArray().map((x) => x.toFixed(4)).join(",");
    if (p.stage.dataset.camera !== at) p.stage.dataset.camera = at;
  }));
  const element = h("div.diff-viewers", { id: "diff-viewers" }, panes.map((p) => p.element));

  const ready = Promise.all(panes.map(async (p, i) => {
    const art = lod0(p.v);
    if (!art) throw new Error(`v${p.v.number} has no GLB to show`);
    const glb = await (await fetchBlob(art.sha256)).arrayBuffer();
    const s = await viewers[i].show(glb);
    p.caption.textContent = `v${p.v.number}: ${fmtMetres(s.x)} × ${fmtMetres(s.y)} × ${fmtMetres(s.z)} · ${fmtInt(s.faces)} faces`;
    return s.box;
  })).then((boxes) => {
    viewers[0].frame(boxes[0].clone().union(boxes[1])); // the link carries it to the other viewer
    for (const v of viewers) {
      v.grid.position.y = Math.min(boxes[0].min.y, boxes[1].min.y);
      v.dirty = true;
    }
    for (const p of panes) p.stage.dataset.loaded = String(p.v.number);
  }).catch((e) => {
    for (const p of panes) if (!p.stage.dataset.loaded) p.caption.textContent = `v${p.v.number}: ${e.message || e}`;
    throw e;
  });

  return {
    element,
    ready,
    destroy() {
      unlink();
      for (const v of viewers) v.destroy();
    },
  };
}
