// The web app's real flows in headless Chromium from Debian, driven by playwright-core (never a downloaded browser).
//   node web_app.mjs CONFIG.json  ->  one JSON line of observations; screenshots in config.shots
// CONFIG: {base, adminKey, creatorKey, readerKey, image, depthMap, shots, profile, chromium, asset, generated,
//          viewsAsset, depthAsset}
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { pageErrors: [], consoleErrors: [], steps: [] };
const FLAGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
const T = 60_000;

const context = await chromium.launchPersistentContext(cfg.profile, {
  executablePath: cfg.chromium, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, timeout: T,
});
context.setDefaultTimeout(T);
const shot = (page, name) => page.screenshot({ path: `${cfg.shots}/${name}.png`, fullPage: true });
const step = (name) => out.steps.push(name);

function watch(page) {
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
}

/** Share of canvas pixels that differ from the viewer's background (the WebGL drawing buffer is preserved). */
const canvasInk = (page, host = "#viewer") => page.evaluate((host) => {
  const c = document.querySelector(`${host} canvas`);
  const t = document.createElement("canvas");
  t.width = c.width; t.height = c.height;
  const g = t.getContext("2d");
  g.drawImage(c, 0, 0);
  const d = g.getImageData(0, 0, t.width, t.height).data;
  let ink = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - 0x2a) + Math.abs(d[i + 1] - 0x2d) + Math.abs(d[i + 2] - 0x34) > 60) ink++;
  }
  return { ink: ink / (d.length / 4), width: c.width, height: c.height };
}, host);

/** Drag across the middle of an element's canvas (an orbit), then let the damping settle. */
async function drag(page, selector, dx, dy) {
  const box = await page.locator(`${selector} canvas`).boundingBox();
  const x = box.x + box.width / 2, y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(x + (dx * i) / 10, y + (dy * i) / 10);
  await page.mouse.up();
}
/** Both diff viewers' camera positions once they stopped moving (damping glides on a while in a software GL). */
async function cameras(page) {
  let last = null, same = 0;
  for (let i = 0; i < 80 && same < 3; i++) { // the same positions three times in a row, 250 ms apart
    await page.waitForTimeout(250);
    const now = await page.$$eval("#diff-viewers .diff-viewer", (vs) => vs.map((v) => v.dataset.camera));
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Wait for the job panel to show the end of a job on `asset` and say how it ended. */
async function jobOutcome(page, asset) {
  await page.waitForFunction((asset) => {
    const j = document.querySelector("#job");
    return ["done", "failed"].includes(j?.dataset.state) && j.querySelector(".job-title")?.textContent.endsWith(` ${asset}`);
  }, asset);
  return { state: await page.getAttribute("#job", "data-state"), message: await page.textContent("#job .message") };
}

async function signIn(page, key) {
  await page.goto(`${cfg.base}/ui/`);
  await page.fill("#api-key", key);
  await page.click("form.key-form button[type=submit]");
  await page.waitForSelector("#who:not(:empty)");
}

try {
  const page = context.pages()[0] || await context.newPage();
  watch(page);

  // --- key entry: a wrong key is refused in words, the right one is kept in sessionStorage only
  await page.goto(`${cfg.base}/ui/`);
  await page.waitForSelector("#api-key");
  await shot(page, "01-key");
  await page.fill("#api-key", "msk_not_a_real_key");
  await page.click("form.key-form button[type=submit]");
  await page.waitForSelector("#error:not([hidden])");
  out.wrongKeyError = await page.textContent("#error");
  await page.fill("#api-key", cfg.adminKey);
  await page.click("form.key-form button[type=submit]");
  await page.waitForSelector("#who:not(:empty)");
  out.adminWho = await page.textContent("#who");
  out.storedKey = await page.evaluate(() => sessionStorage.getItem("meshsmith.apiKey"));
  out.localStorageKeys = await page.evaluate(() => Object.keys(localStorage));
  step("key");

  // --- search by prefix, then by tag
  await page.fill("input[name=prefix]", "props/");
  await page.click("form.search button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#results")?.dataset.query === "prefix=props%2F"
    && document.querySelectorAll(".card .thumb img").length === document.querySelectorAll(".card").length);
  out.searchPrefix = await page.$$eval(".card", (cs) => cs.map((c) => c.dataset.asset));
  await shot(page, "02-search");
  await page.fill("input[name=text]", "zebra");  // no version has a caption here: the server filters to none
  await page.click("form.search button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#results")?.dataset.query === "prefix=props%2F&text=zebra");
  out.searchText = await page.$eval(".results", (r) => r.textContent.trim());
  await page.fill("input[name=text]", "");
  await page.fill("input[name=prefix]", "");
  await page.fill("input[name=tags]", "wood");
  await page.click("form.search button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#results")?.dataset.query === "tags=wood");
  out.searchTag = await page.$$eval(".card", (cs) => cs.map((c) => c.dataset.asset));
  out.urlsWithKey = [page.url()].filter((u) => u.includes(cfg.adminKey));
  step("search");

  // --- asset page: history rows, a 3D canvas with pixels, LOD switch, wireframe, size
  await page.click(`.card[data-asset="${cfg.asset}"]`);
  await page.waitForSelector("#viewer[data-loaded]:not([data-loaded=''])");
  await page.waitForTimeout(300);
  out.historyRows = await page.$$eval("tr.version-row", (rs) => rs.map((r) => Number(r.dataset.number)));
  out.historyCells = await page.$eval("tr.version-row", (r) => [...r.cells].map((c) => c.textContent));
  out.canvas = await canvasInk(page);
  out.size = await page.textContent("#size");
  out.lods = await page.$$eval("#view-lod option", (os) => os.map((o) => o.value));
  out.previews = await page.$$eval(".media img", (is) => is.map((i) => i.naturalWidth));
  await shot(page, "03-asset");
  const last = out.lods[out.lods.length - 1];
  await page.selectOption("#view-lod", last);
  await page.waitForSelector(`#viewer[data-loaded="${out.historyRows[0]}:${last}"]`);
  out.sizeLastLod = await page.textContent("#size");
  await page.check("#wireframe");
  await page.waitForTimeout(300);
  out.canvasWire = await canvasInk(page);
  await page.locator("#viewer").screenshot({ path: `${cfg.shots}/04-wireframe-lod${last}.png` });
  step("asset");

  // --- admin: promote v1 then v2 to stable; the badge moves
  const badgeRows = () => page.$$eval("tr.version-row", (rs) => rs.filter((r) => r.querySelector(".channel[data-channel=stable]"))
    .map((r) => Number(r.dataset.number)));
  out.adminButtons = await page.locator("button.admin").count();
  await page.fill("#channel-name", "stable");
  await page.click("tr.version-row[data-number='1'] button.move");
  await page.waitForSelector("tr.version-row[data-number='1'] .channel[data-channel=stable]");
  out.stableAfterFirst = await badgeRows();
  await page.click("tr.version-row[data-number='2'] button.move");
  await page.waitForSelector("tr.version-row[data-number='2'] .channel[data-channel=stable]");
  out.stableAfterSecond = await badgeRows();
  out.headerChannels = await page.$$eval("#channels .channel", (cs) => cs.map((c) => c.textContent));
  out.rollbackLabel = await page.textContent("tr.version-row[data-number='1'] button.move");
  step("promote");

  // --- deprecate v1 (the reason typed in the prompt), download the GLB of LOD0
  page.once("dialog", (d) => d.accept("seam on the back leg"));
  await page.click("tr.version-row[data-number='1'] button.deprecate");
  await page.waitForSelector("tr.version-row[data-number='1'] .deprecated-badge");
  out.deprecatedActions = await page.textContent("tr.version-row[data-number='1'] .actions");
  out.deprecatedRows = await page.$$eval("tr.version-row.deprecated", (rs) => rs.map((r) => Number(r.dataset.number)));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(".downloads button >> nth=0")]);
  const saved = readFileSync(await download.path());
  out.download = { name: download.suggestedFilename(), size: saved.length, magic: saved.subarray(0, 4).toString("latin1") };
  const [stl] = await Promise.all([page.waitForEvent("download"), page.click(".downloads button:text-is('STL')")]);
  const stlBytes = readFileSync(await stl.path());
  out.stl = { name: stl.suggestedFilename(), size: stlBytes.length, triangles: stlBytes.length > 84 ? stlBytes.readUInt32LE(80) : 0 };
  step("deprecate+download");

  // --- lockfile entry and diff
  await page.click("tr.version-row[data-number='2'] button.copy-lock");
  await page.waitForSelector("#lock-entry:not(:empty)");
  out.lockEntry = JSON.parse(await page.textContent("#lock-entry"));
  await page.click(".diff-box button");
  await page.waitForSelector("#diff h3");
  out.diffTitle = await page.textContent("#diff h3");
  out.diffRows = await page.locator("#diff tr.changed").count();
  out.diffLineage = await page.locator("#diff table.lineage td:first-child").allTextContents();
  out.diffMetrics = await page.$$eval("#diff table.metrics tr[data-metric]", (rs) => Object.fromEntries(rs.map((r) =>
    [r.dataset.metric, [...r.cells].map((c) => c.textContent)])));
  out.diffText = await page.textContent("#diff .diff-numbers");
  step("lock+diff");

  // --- visual diff: both versions rendered side by side; orbiting one viewer moves the other's camera
  await page.waitForSelector("#diff-viewer-a[data-loaded]");
  await page.waitForSelector("#diff-viewer-b[data-loaded]");
  await page.locator("#diff-viewers").scrollIntoViewIfNeeded();
  await page.waitForTimeout(300);
  out.diffInk = [await canvasInk(page, "#diff-viewer-a"), await canvasInk(page, "#diff-viewer-b")];
  out.diffCaptions = await page.$$eval("#diff-viewers figcaption", (fs) => fs.map((f) => f.textContent));
  const start = await cameras(page);
  await drag(page, "#diff-viewer-a", 120, 30);
  const afterA = await cameras(page);
  await drag(page, "#diff-viewer-b", -200, -40);
  const afterB = await cameras(page);
  out.diffCameras = { start, afterA, afterB };
  out.diffInkAfter = [await canvasInk(page, "#diff-viewer-a"), await canvasInk(page, "#diff-viewer-b")];
  await shot(page, "05-promoted-diff");
  step("visual diff");

  // --- errors in words: an asset that does not exist
  await page.goto(`${cfg.base}/ui/#/asset/props/does-not-exist`); // from props/chair's page: a hash change
  await page.waitForSelector("#error:not([hidden])");
  await page.waitForSelector("#asset-error");
  out.missingError = await page.textContent("#error");
  out.missingPage = {
    title: await page.textContent("#app h1"),
    code: await page.getAttribute("#asset-error", "data-code"),
    stale: await page.$$eval("#viewer, #diff-viewers, #history, tr.version-row, canvas, #channels", (es) => es.length),
  };
  await shot(page, "05b-missing");
  step("missing");

  // --- generate from a dropped image, progress to done
  await page.goto(`${cfg.base}/ui/#/generate`);
  await page.waitForSelector("#drop");
  const b64 = readFileSync(cfg.image).toString("base64");
  const drop = async () => page.evaluate((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], "chair.png", { type: "image/png" }));
    document.querySelector("#drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, b64);
  await drop();
  await page.waitForSelector(".drop-preview img");
  // the asset-name pattern compiles under the `v` flag (as the browser compiles it) and refuses bad names
  out.namePattern = await page.$eval("input[name=asset]", (i) => {
    try { new RegExp(i.pattern, "v"); return "ok"; } catch (e) { return String(e); }
  });
  out.nameChecks = {};
  for (const name of ["props/chair", "a/b.c/d_e-1", "Props/Chair", "props/../x", "/props", "props/", "-x", "a b", "a/b/c/d/e/f/g/h/i", "x".repeat(201)]) {
    out.nameChecks[name.length > 40 ? `${name.slice(0, 3)}…(${name.length})` : name] = await page.$eval("input[name=asset]",
      (i, v) => { i.value = v; return i.checkValidity(); }, name); // set as a script would: maxlength stops typing only
  }
  await page.fill("input[name=asset]", "Props/Bad Name");
  await page.click("#generate"); // the browser refuses to submit: no job starts
  await page.waitForTimeout(300);
  out.badNameSubmit = {
    validationMessage: await page.$eval("input[name=asset]", (i) => i.validationMessage),
    jobShown: await page.$eval("#job", (j) => !j.hidden),
    jobStored: await page.evaluate(() => sessionStorage.getItem("meshsmith.job")),
  };
  step("name validation");
  await page.fill("input[name=asset]", cfg.generated);
  await page.fill("input[name=faces]", "2000");
  await page.click("#generate");
  await page.waitForSelector("#job[data-state=done], #job[data-state=failed]");
  out.generate = {
    state: await page.getAttribute("#job", "data-state"),
    stages: await page.$$eval("#job ol.stages li", (ls) => ls.map((l) => l.textContent)),
    progress: await page.$eval("#job progress", (p) => p.value),
    message: await page.textContent("#job .message"),
  };
  await shot(page, "06-generated");
  await page.click("#job-result");
  await page.waitForSelector("#viewer[data-loaded]:not([data-loaded=''])");
  out.generatedRows = await page.locator("tr.version-row").count();
  step("generate");

  // --- re-attach after a reload: start another job, reload as soon as its id is stored, watch it finish
  await page.goto(`${cfg.base}/ui/#/generate`);
  await page.waitForSelector("#drop");
  await drop();
  await page.waitForSelector(".drop-preview img");
  await page.fill("input[name=asset]", cfg.generated);
  await page.fill("input[name=faces]", "2500");
  await page.click("#generate");
  const jobId = await page.waitForFunction(() => JSON.parse(sessionStorage.getItem("meshsmith.job") || "null")?.id, null, { polling: 10 });
  out.reattach = { jobId: await jobId.jsonValue() };
  await page.reload();
  await page.waitForSelector("#job[data-state=done], #job[data-state=failed]");
  out.reattach.state = await page.getAttribute("#job", "data-state");
  out.reattach.title = await page.textContent("#job .job-title");
  out.reattach.stages = await page.$$eval("#job ol.stages li", (ls) => ls.map((l) => l.textContent));
  out.reattach.jobAfter = await page.evaluate(() => sessionStorage.getItem("meshsmith.job"));
  await shot(page, "07-reattached");
  step("reattach");

  // --- an extra labelled view (multi-view), then a depth map with its units and a field of view (RGB-D)
  await page.goto(`${cfg.base}/ui/#/generate`);
  await page.waitForSelector("#drop");
  await drop();
  await page.waitForSelector(".drop-preview img");
  await page.fill("input[name=asset]", cfg.viewsAsset);
  await page.fill("input[name=faces]", "2000");
  await page.click("#add-view");
  const label = page.locator(".view-row input[name=view-label]").first();
  out.viewLabelChecks = {};
  for (const text of ["sideways", "right", "90", "-45.5", "top", "90deg"]) {
    await label.fill(text);
    out.viewLabelChecks[text] = await label.evaluate((i) => i.checkValidity());
  }
  await label.fill("right");
  await page.setInputFiles(".view-row input[name=view-file]", cfg.image);
  await page.setInputFiles("#depth-file", cfg.depthMap); // both: refused in the page, nothing sent
  await page.click("#generate");
  await page.waitForFunction(() => document.querySelector("form.generate > p.muted")?.textContent);
  out.bothRefused = await page.textContent("form.generate > p.muted");
  await page.setInputFiles("#depth-file", []);
  await shot(page, "09-views-form");
  await page.click("#generate");
  out.views = await jobOutcome(page, cfg.viewsAsset);
  step("views");

  await page.goto(`${cfg.base}/ui/#/`);
  await page.goto(`${cfg.base}/ui/#/generate`);
  await page.waitForSelector("#drop");
  await drop();
  await page.waitForSelector(".drop-preview img");
  await page.fill("input[name=asset]", cfg.depthAsset);
  await page.fill("input[name=faces]", "2000");
  await page.setInputFiles("#depth-file", cfg.depthMap);
  await page.selectOption("select[name=depth-units]", "mm");
  await page.fill("input[name=fov]", "40");
  await page.click("#generate");
  out.depth = await jobOutcome(page, cfg.depthAsset);
  step("depth");

  // --- 420 px wide: the viewer fills the width, forms stack, nothing overflows the page sideways
  await page.click("#job .job-head button"); // close the finished job's panel (fixed at the bottom)
  await page.setViewportSize({ width: 420, height: 860 });
  await page.goto(`${cfg.base}/ui/#/asset/${cfg.asset}`);
  await page.waitForSelector("#viewer[data-loaded]:not([data-loaded=''])");
  await page.waitForTimeout(300);
  const narrow = (sel) => page.$$eval(sel, (es) => es.map((e) => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.width)]; }));
  out.narrow = {
    canvas: (await narrow("#viewer canvas"))[0],
    ink: await canvasInk(page),
    pageWidth: await page.evaluate(() => document.documentElement.scrollWidth),
  };
  await shot(page, "10-narrow-asset");
  await page.click(".diff-box button");
  await page.waitForSelector("#diff-viewer-b[data-loaded]");
  out.narrow.diffCanvases = await narrow("#diff-viewers canvas");
  out.narrow.diffPageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.goto(`${cfg.base}/ui/#/generate`);
  await page.waitForSelector("#drop");
  out.narrow.generateFields = await narrow("form.generate > .fields > label");
  out.narrow.generatePageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await shot(page, "11-narrow-generate");
  await page.setViewportSize({ width: 1280, height: 900 });
  step("narrow");

  // --- a reader key: no admin buttons, no Generate
  const reader = await context.newPage();
  watch(reader);
  await signIn(reader, cfg.readerKey);
  out.readerWho = await reader.textContent("#who");
  out.readerGenerateLinkHidden = await reader.$eval("a[href='#/generate']", (a) => a.hidden);
  await reader.goto(`${cfg.base}/ui/#/asset/${cfg.asset}`);
  await reader.waitForSelector("tr.version-row");
  await reader.waitForSelector("#viewer[data-loaded]:not([data-loaded=''])");
  out.readerAdminButtons = await reader.locator("button.admin").count();
  out.readerAdminBar = await reader.locator(".admin-bar").count();
  out.readerRows = await reader.locator("tr.version-row").count();
  out.readerError = await reader.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
  await shot(reader, "08-reader");
  step("reader");

  // --- a creator key: Generate, but still no admin buttons
  const creator = await context.newPage();
  watch(creator);
  await signIn(creator, cfg.creatorKey);
  await creator.goto(`${cfg.base}/ui/#/asset/${cfg.asset}`);
  await creator.waitForSelector("tr.version-row");
  out.creator = {
    who: await creator.textContent("#who"),
    generateLinkHidden: await creator.$eval("a[href='#/generate']", (a) => a.hidden),
    adminButtons: await creator.locator("button.admin").count(),
  };
  step("creator");
} catch (e) {
  out.failure = String(e?.stack || e);
  for (const [i, p] of context.pages().entries()) await p.screenshot({ path: `${cfg.shots}/failure-${i}.png`, fullPage: true }).catch(() => {});
} finally {
  await context.close();
}
console.log(JSON.stringify(out));
