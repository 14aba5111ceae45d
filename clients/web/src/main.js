// meshsmith for artists: key entry, search, asset pages, generate. Hash routes keep the key out of URLs:
//   #/  search (?prefix=&tags=&text=)   #/asset/NAME   #/generate
import "./style.css";
import { assets, codeOf, key, probeRole, blobUrl } from "./api.js";
import { Code } from "@connectrpc/connect";
import { clearError, session, showError } from "./errors.js";
import { h, fmtInt } from "./dom.js";
import { assetPage } from "./asset.js";
import { generatePage, resumeJob } from "./generate.js";

const app = document.getElementById("app");
let cleanup = null;
let routeSeq = 0; // the route being shown; a page that finishes loading after the next route started is dropped

function setRole(role) {
  session.role = role;
  document.body.dataset.role = role || "";
  document.getElementById("who").textContent = role ? `${role} key` : "";
  document.getElementById("signout").hidden = !role || !key.get();
  for (const el of document.querySelectorAll("[data-role=creator]")) el.hidden = !(role === "creator" || role === "admin");
}

function keyPage() {
  const input = h("input", { type: "password", name: "key", autocomplete: "off", placeholder: "msk_…", required: true });
  input.id = "api-key";
  const form = h("form.key-form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      clearError();
      key.set(input.value);
      try {
        setRole(await probeRole());
        route();
      } catch (e) {
        key.clear();
        showError(e);
      }
    },
  },
  h("h1", {}, "Sign in with your API key"),
  h("p.muted", {}, "The key stays in this tab (sessionStorage) and is sent only to this server, in a header."),
  h("label", {}, "API key ", input),
  h("button.primary", { type: "submit" }, "Use key"));
  app.replaceChildren(form);
  input.focus();
}

function searchPage(params) {
  const prefix = h("input", { name: "prefix", value: params.get("prefix") || "", placeholder: "props/" });
  const tags = h("input", { name: "tags", value: params.get("tags") || "", placeholder: "wood, chair" });
  const text = h("input", { name: "text", value: params.get("text") || "", placeholder: "red chair" });
  const results = h("div.results", { id: "results" });
  const form = h("form.search", {
    onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      if (prefix.value.trim()) q.set("prefix", prefix.value.trim());
      if (tags.value.trim()) q.set("tags", tags.value.trim());
      if (text.value.trim()) q.set("text", text.value.trim());
      location.hash = `#/?${q}`;
    },
  }, h("label", {}, "Name starts with ", prefix), h("label", {}, "Tags ", tags),
    h("label", { title: "words of the caption a caption model wrote (servers with --model caption=DIR)" }, "Caption words ", text),
    h("button.primary", { type: "submit" }, "Search"));
  app.replaceChildren(h("h1", {}, "Assets"), form, results);
  const tagList = (params.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean);
  assets.searchAssets({ prefix: params.get("prefix") || "", tags: tagList, text: params.get("text") || "", limit: 60 }).then((resp) => {
    results.dataset.query = params.toString(); // which search these results answer (a hash change re-renders)
    if (!resp.assets.length) {
      results.replaceChildren(h("p.muted", {}, "No asset matches."));
      return;
    }
    results.replaceChildren(...resp.assets.map((a) => {
      const thumb = h("div.thumb");
      const preview = a.latest?.artifacts.find((x) => x.kind === "preview");
      if (preview) blobUrl(preview.sha256).then((u) => thumb.append(h("img", { src: u, alt: `preview of ${a.name}` }))).catch(() => {});
      return h("a.card", { href: `#/asset/${a.name}`, dataset: { asset: a.name } },
        thumb,
        h("div.card-body", {},
          h("strong", {}, a.name),
          h("span.muted", {}, `${a.versionCount} version${a.versionCount === 1 ? "" : "s"}`
            + (a.latest?.stats ? ` · ${fmtInt(a.latest.stats.faces)} faces` : "")),
          h("div.badges", {}, a.channels.filter((c) => c.name !== "latest").map((c) => h("span.channel", {}, `${c.name} → v${c.version}`)),
            a.tags.map((t) => h("span.tag", {}, t)))));
    }));
  }).catch(showError);
}

/** What replaces the page when an asset cannot be shown (unknown name, no permission, server down). */
function assetErrorPage(name, err) {
  const missing = codeOf(err) === Code.NotFound;
  return h("section.page-error", { id: "asset-error", dataset: { code: missing ? "not_found" : "error" } },
    h("h1", {}, name),
    h("p", {}, missing ? "There is no asset with this name (or no such version)." : "This asset cannot be shown now."),
    h("p", {}, h("a", { href: `#/?prefix=${encodeURIComponent(name.split("/")[0] + "/")}` }, "Search assets with the same prefix"),
      " · ", h("a", { href: "#/" }, "all assets")));
}

async function showAsset(name, params, seq) {
  app.replaceChildren(h("h1", {}, name), h("p.muted", { id: "asset-loading" }, "Loading…")); // never the previous page
  try {
    const done = await assetPage(app, name, session, params, () => seq === routeSeq);
    if (seq === routeSeq) cleanup = done;
    else done?.();
  } catch (e) {
    if (seq !== routeSeq) return;
    app.replaceChildren(assetErrorPage(name, e));
    showError(e);
  }
}

async function route() {
  const seq = ++routeSeq;
  if (cleanup) { cleanup(); cleanup = null; }
  clearError();
  if (!session.role) {
    try {
      setRole(await probeRole()); // a stored key, or a server without --auth
    } catch (e) {
      setRole(null);
      if (key.get() || codeOf(e) !== Code.Unauthenticated) showError(e);
      keyPage();
      return;
    }
  }
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  try {
    if (path.startsWith("/asset/")) await showAsset(decodeURIComponent(path.slice(7)), params, seq);
    else if (path === "/generate") cleanup = generatePage(app, session);
    else searchPage(params);
  } catch (e) {
    showError(e);
  }
  resumeJob(session);
}

document.getElementById("signout").addEventListener("click", () => {
  key.clear();
  setRole(null);
  location.hash = "#/";
  route();
});
window.addEventListener("hashchange", route);
route();
