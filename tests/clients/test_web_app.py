"""The artists' web app (clients/web, built by `make install` into clients/web/dist) served at /ui/ by a real
--auth server: its files over plain HTTP (types, no listing, no traversal, open without a key), then its real
flows in headless Chromium from Debian driven by playwright-core (tests/clients/web_app.mjs): key entry, search,
history rows, a 3D canvas with pixels, LOD + wireframe, promote moving the channel badge, lock entry, diff,
generate with progress to done, re-attach after a reload, a reader key without admin buttons; an unknown asset's
page replacing the previous one, asset-name validation in the browser (the pattern compiles under the `v` flag),
generate with an extra view and with a depth map + field of view, the layout at 420 px, and the visual diff
(two viewers with linked cameras beside readable numbers).
Screenshots land in tests/artefacts/web/ (gitignored)."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format
from PIL import Image

from meshsmith.v1 import admin_pb2, types_pb2 as pb
from meshsmith_client.client import Client
from registry import Registry
from server.http import WEB_UI_DIR, make_http_app, start_http
from tests.conftest import IMAGES, ROOT, free_port
from tests.server.conftest import start_server, stop_server
from tests.server.test_auth import _create_key

WEB = ROOT / "clients" / "web"
SCRIPT = Path(__file__).with_name("web_app.mjs")
SHOTS = ROOT / "tests" / "artefacts" / "web"
CHROMIUM = "/usr/bin/chromium"


def _built() -> Path:
    """clients/web/dist, failing when it is missing or older than a source (`make install` rebuilds it)."""
    index = WEB_UI_DIR / "index.html"
    if not index.is_file():
        pytest.fail(f"{index} is missing: run `make install` (vite builds clients/web)")
    sources = [p for p in WEB.rglob("*") if p.is_file() and WEB_UI_DIR not in p.parents]
    newest = max(sources, key=lambda p: p.stat().st_mtime)
    if newest.stat().st_mtime > index.stat().st_mtime:
        pytest.fail(f"the web app bundle is older than {newest.relative_to(ROOT)}: run `make install`")
    return WEB_UI_DIR


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    _built()
    data = tmp_path_factory.mktemp("web-data")
    keys = {role: _create_key(data, role) for role in ("reader", "creator", "admin")}
    s = start_server(data, "--auth", "--workers", "1")
    with Client(s.address, api_key=keys["admin"]) as c:
        chair = (IMAGES / "chair.png").read_bytes()
        for seed, faces in enumerate((3000, 1500)):  # two versions of props/chair
            v2 = c.generate(chair, "props/chair", pb.GenerateParams(target_faces=faces, lod_ratios=[1, 0.5, 0.1], seed=seed))
        c.generate((IMAGES / "chair_armed.png").read_bytes(), "props/armchair", pb.GenerateParams(target_faces=1500))
        c._call(c.admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(asset="props/chair", tags=["wood"], set_tags=True))
    yield s, keys, v2.stats.faces
    stop_server(s)


def get(address: str, path: str, **headers) -> tuple[int, dict, bytes]:
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def test_ui_files_are_served_open_typed_and_confined(secured):
    s, _, _ = secured
    status, headers, body = get(s.http, "/ui/")  # no key: the page asks for one
    assert status == 200 and headers["content-type"].startswith("text/html") and b'id="app"' in body
    assert "default-src 'self'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-cache"
    assert get(s.http, "/ui")[0] == 301 and get(s.http, "/ui")[1]["location"] == "/ui/"
    script = body.split(b'src="', 1)[1].split(b'"', 1)[0].decode()  # /ui/assets/index-HASH.js
    status, headers, js = get(s.http, script)
    assert status == 200 and headers["content-type"].startswith("text/javascript") and "immutable" in headers["cache-control"]
    assert b"Connect-Protocol-Version" in js and b"glTF" in js  # connect-web and three.js bundled
    readme = (ROOT / "README.md").read_bytes()[:60]
    for path in ("/ui/assets/", "/ui/assets", "/ui/../README.md", "/ui/%2e%2e/README.md", "/ui/assets/..%2f..%2findex.html",
                 "/ui/..%2f..%2fREADME.md", "/ui/.gitignore", "/ui/%2fetc/passwd", "/ui/nothing.js"):
        status, _, text = get(s.http, path)
        assert status == 404, (path, status, text)
        assert readme not in text and b"root:" not in text
    assert get(s.http, "/blobs/" + "0" * 64)[0] == 401  # the rest still needs a key


def test_an_unbuilt_app_answers_503_naming_make_install(tmp_path):
    async def main():
        reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "blobs")
        port = free_port()
        runner = await start_http(reg, "127.0.0.1", port, app=make_http_app(reg, web_ui_dir=tmp_path / "dist"))
        try:
            return await asyncio.to_thread(get, f"127.0.0.1:{port}", "/ui/")
        finally:
            await runner.cleanup()
            reg.close()

    status, _, body = asyncio.run(main())
    assert status == 503 and b"make install" in body


def _depth_map(image: Path, out: Path) -> Path:
    """A 16-bit PNG depth map in millimetres aligned with a corpus picture: its object 1.5–1.9 m away (darker
    nearer), 0 (no depth) where the picture is transparent."""
    rgba = np.asarray(Image.open(image).convert("RGBA"), dtype=np.float64)
    lum = rgba[..., :3].mean(axis=2) / 255.0
    mm = np.where(rgba[..., 3] > 127, 1500 + 400 * lum, 0).astype(np.uint16)
    Image.fromarray(mm).save(out)
    return out


def test_real_flows_in_chromium(secured, tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.fail("Debian's chromium is not installed: `make install` installs it (APT_PACKAGES)")
    s, keys, faces = secured  # v2's triangles after decimation (target 1,500)
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    cfg = {"base": f"http://{s.http}", "adminKey": keys["admin"], "readerKey": keys["reader"],
           "creatorKey": keys["creator"],
           "image": str(IMAGES / "chair.png"), "shots": str(SHOTS), "profile": str(tmp_path / "profile"),
           "chromium": CHROMIUM, "asset": "props/chair", "generated": "web/dropped",
           "viewsAsset": "web/two-views", "depthAsset": "web/rgbd",
           "depthMap": str(_depth_map(IMAGES / "chair.png", tmp_path / "chair-depth.png"))}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    proc = subprocess.run(["node", str(SCRIPT), str(tmp_path / "cfg.json")], capture_output=True, text=True,
                          timeout=480, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "failure" not in out, out["failure"] + f"\nsteps done: {out['steps']}; screenshots in {SHOTS}"
    assert out["pageErrors"] == []
    # no console error but the HTTP errors the flows provoke on purpose (wrong key, unknown asset, role probes);
    # an invalid `pattern` attribute shows up only here ("Pattern attribute value … is not a valid regular expression")
    assert [e for e in out["consoleErrors"] if not e.startswith("Failed to load resource")] == [], out["consoleErrors"]

    # key entry: a wrong key refused in words; the key kept in sessionStorage, never localStorage or a URL
    assert out["wrongKeyError"].startswith("The server did not accept the API key") and "unknown or revoked" in out["wrongKeyError"]
    assert out["adminWho"] == "admin key" and out["storedKey"] == keys["admin"] and out["localStorageKeys"] == []
    assert out["urlsWithKey"] == []
    # search by prefix and by tag
    assert out["searchPrefix"] == ["props/armchair", "props/chair"] and out["searchTag"] == ["props/chair"]
    assert out["searchText"] == "No asset matches."  # caption words reach the server (SearchAssetsRequest.text)
    # the asset page: one row per version, newest first, with date, author, mode/backend, faces, verdicts
    assert out["historyRows"] == [2, 1]
    cells = out["historyCells"]
    assert cells[0] == "v2" and cells[2].endswith("UTC") and cells[3] == "key:test-admin"
    assert "/" in cells[4] and cells[5] == f"{faces:,}" and "default: " in cells[6] and "latest" in cells[7]
    assert out["previews"] and all(w > 0 for w in out["previews"])  # preview + turntable decoded from /blobs
    # the 3D canvas has the model's pixels; LOD switch and wireframe redraw it; size in metres
    assert out["canvas"]["ink"] > 0.02, out["canvas"]
    assert 0.001 < out["canvasWire"]["ink"] < out["canvas"]["ink"], (out["canvasWire"], out["canvas"])
    assert out["size"].count(" m") >= 1 and "(W × H × D)" in out["size"] and "1.00 m" in out["size"] and f"{faces:,} faces" in out["size"]
    lod2 = int(out["sizeLastLod"].split(" faces")[0].rsplit(" ", 1)[-1].replace(",", ""))
    assert out["lods"] == ["0", "1", "2"] and 0 < lod2 < 0.2 * faces, out["sizeLastLod"]  # ratio 0.1; UV seams stay whole
    # promote v1 then v2 to stable: the badge moves; v1 is now a roll back
    assert out["adminButtons"] >= 3
    assert out["stableAfterFirst"] == [1] and out["stableAfterSecond"] == [2]
    assert "stable → v2" in out["headerChannels"] and out["rollbackLabel"] == "Roll back here"
    # deprecate v1 (it keeps its row, with a badge); download LOD0's GLB through the key header
    assert out["deprecatedRows"] == [1] and out["deprecatedActions"] == "ViewLock entryRoll back here"
    assert out["download"]["name"] == "props_chair.v2.glb" and out["download"]["magic"] == "glTF" and out["download"]["size"] > 1000
    stl = out["stl"]  # the ExportVersion stream, assembled in the page: a binary STL of v2's triangles
    assert stl["name"] == "props_chair.v2.stl" and stl["triangles"] == faces and stl["size"] == 84 + 50 * faces
    # a lockfile entry (signed URL under --auth) and a diff
    entry = out["lockEntry"]["props/chair"]
    assert entry["version"] == 2 and len(entry["sha256"]) == 64 and "sig=" in entry["url"] and entry["integrity"].startswith("sha256-")
    assert out["diffTitle"] == "v1 → v2" and out["diffRows"] >= 1
    assert out["diffLineage"] == ["seed"]  # the lineage that differs (backend, model, seed, caption)
    # the diff's numbers for people: labels and units, a change in per cent; no raw metric names
    metrics = out["diffMetrics"]
    label, before, after, change = metrics["bbox_size_y"]
    assert label == "Size Y (height)" and before == after == "1.00 m" and change == "same", metrics
    label, before, after, change = metrics["faces"]  # targets 3,000 then 1,500
    assert label == "Faces" and int(before.replace(",", "")) > int(after.replace(",", "")) and change.startswith("−"), metrics
    assert change.endswith("%") and 30 <= int(change[1:-1]) <= 70, metrics
    assert metrics["volume_m3"][0] == "Volume" and metrics["volume_m3"][1].endswith(("m³", " L", "cm³")), metrics
    assert metrics["bbox_size_x"][0] == "Size X (width)" and metrics["bbox_size_x"][1].endswith(("m", "cm")), metrics
    assert not any(raw in out["diffText"] for raw in ("bbox_size", "volume_m3", "area_m2")), out["diffText"]
    # the visual diff: both viewers draw their model; orbiting either one moves both cameras alike
    assert all(ink["ink"] > 0.02 for ink in out["diffInk"] + out["diffInkAfter"]), out["diffInk"]
    assert all(c.startswith(f"v{n}: ") and "faces" in c for c, n in zip(out["diffCaptions"], (1, 2))), out["diffCaptions"]
    cams = out["diffCameras"]
    assert None not in cams["start"] and cams["start"][0] == cams["start"][1], cams
    assert cams["afterA"][0] != cams["start"][0] and cams["afterA"][0] == cams["afterA"][1], cams
    assert cams["afterB"][1] != cams["afterA"][1] and cams["afterB"][0] == cams["afterB"][1], cams
    # an unknown asset: the error banner, and its page replaces the previous asset's (no viewer, history, diff)
    assert out["missingError"].startswith("Not found:") and "props/does-not-exist" in out["missingError"]
    assert out["missingPage"] == {"title": "props/does-not-exist", "code": "not_found", "stale": 0}, out["missingPage"]
    # the asset-name pattern is valid under the `v` flag and says what the server's rule says
    assert out["namePattern"] == "ok"
    assert out["nameChecks"] == {"props/chair": True, "a/b.c/d_e-1": True, "Props/Chair": False, "props/../x": False,
                                 "/props": False, "props/": False, "-x": False, "a b": False,
                                 "a/b/c/d/e/f/g/h/i": False, "xxx…(201)": False}, out["nameChecks"]
    bad = out["badNameSubmit"]
    assert bad["validationMessage"] and not bad["jobShown"] and bad["jobStored"] is None, bad
    # generate from a dropped image: progress through the pipeline to done, then its page
    gen = out["generate"]
    assert gen["state"] == "done" and gen["stages"][0] == "queued" and gen["stages"][-1] == "done", gen
    assert {"reconstruct", "validate", "store"} <= set(gen["stages"]) and gen["progress"] == 1
    assert "Stored as version 1" in gen["message"] and out["generatedRows"] == 1
    # a reload during a job re-attaches to it (WatchJob) and sees it to the end
    re = out["reattach"]
    assert re["title"] == "Re-attached: generated web/dropped"
    assert len(re["jobId"]) >= 16 and re["state"] == "done" and re["stages"][-1] == "done" and re["jobAfter"] is None
    # an extra labelled view and a depth map (+ units, field of view) reach the server and make versions
    assert out["viewLabelChecks"] == {"sideways": False, "right": True, "90": True, "-45.5": True, "top": True, "90deg": True}
    assert out["bothRefused"] == "Send extra views or a depth map, not both."
    assert out["views"]["state"] == "done" and "Stored as version 1" in out["views"]["message"], out["views"]
    assert out["depth"]["state"] == "done" and "Stored as version 1" in out["depth"]["message"], out["depth"]
    # 420 px wide: the viewer (and each diff viewer) spans the screen, forms stack, no sideways scrolling
    narrow = out["narrow"]
    assert narrow["canvas"][1] >= 380 and narrow["ink"]["ink"] > 0.02, narrow
    assert all(w >= 380 for _, w in narrow["diffCanvases"]) and len(narrow["diffCanvases"]) == 2, narrow
    assert len({left for left, _ in narrow["generateFields"]}) == 1 and all(w >= 380 for _, w in narrow["generateFields"]), narrow
    assert narrow["pageWidth"] <= 420 and narrow["diffPageWidth"] <= 420 and narrow["generatePageWidth"] <= 420, narrow
    with Client(s.address, api_key=keys["admin"]) as c:
        assert [v.number for v in c.history("web/dropped")] == [2, 1]
        assert c.get_job(re["jobId"]).version == 2
        [views] = c.history("web/two-views")
        params = json_format.MessageToDict(views.parameters)
        assert views.mode == pb.RECONSTRUCT_MODE_MULTIVIEW and [v["label"] for v in params["views"]] == ["right"], params
        assert any(a.kind == "source-view" for a in views.artifacts)
        [rgbd] = c.history("web/rgbd")
        params = json_format.MessageToDict(rgbd.parameters)
        assert rgbd.mode == pb.RECONSTRUCT_MODE_RGBD and params["depth"]["units"] == "mm" and params["fov_deg"] == 40, params
        assert any(a.kind == "source-depth" for a in rgbd.artifacts)
    # a reader key: no admin buttons, no generate link, no error from the role probes
    assert out["readerWho"] == "reader key" and out["readerGenerateLinkHidden"] is True
    assert out["readerAdminButtons"] == 0 and out["readerAdminBar"] == 0 and out["readerRows"] == 2
    assert out["readerError"] == ""
    assert out["creator"] == {"who": "creator key", "generateLinkHidden": False, "adminButtons": 0}
