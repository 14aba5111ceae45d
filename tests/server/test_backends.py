"""Learned backends through the real server: `serve --model depth=DIR` with a tiny random Depth Anything,
generate --backend depth -> a watertight textured GLB with its lineage recorded; clear errors without it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import pytest
import trimesh

from meshsmith.errors import FailedPrecondition, InvalidInput
from meshsmith.v1 import ingest_pb2
from meshsmith.v1 import types_pb2 as pb
from server import convert
from tests.conftest import IMAGES, ROOT
from tests.learned_models import (tiny_caption_model, tiny_depth_model, tiny_hunyuan3d_model, tiny_sam_model,
                                  tiny_shap_e_model)
from tests.server.conftest import start_server, stop_server
from validation.gltf_validator import validate_glb

pytest.importorskip("torch", reason="the learned extra is not installed (make install installs it)")
DEVICE = os.environ.get("MESHSMITH_TEST_DEVICE", "cpu")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
IMAGE = "chair.png"


@pytest.fixture(scope="module")
def depth_dir(tmp_path_factory):
    return tiny_depth_model(tmp_path_factory.mktemp("models") / "tiny-depth")


@pytest.fixture(scope="module")
def shap_e_dir(tmp_path_factory):
    return tiny_shap_e_model(tmp_path_factory.mktemp("models") / "tiny-shap-e")


@pytest.fixture(scope="module")
def hunyuan_root(tmp_path_factory):
    """tencent/Hunyuan3D-2's layout: the root holds hunyuan3d-dit-v2-0/{config.yaml, model.fp16.safetensors}."""
    root = tmp_path_factory.mktemp("models") / "Hunyuan3D-2"
    tiny_hunyuan3d_model(root / "hunyuan3d-dit-v2-0")
    return root


@pytest.fixture(scope="module")
def learned_server(tmp_path_factory, depth_dir, shap_e_dir, hunyuan_root):
    s = start_server(tmp_path_factory.mktemp("learned-data"), "--workers", "1", "--no-previews",
                     "--model", f"depth={depth_dir}", "--model", f"shap-e={shap_e_dir}",
                     "--model", f"hunyuan3d={hunyuan_root}", "--device", DEVICE, "--torch-threads", "1", env=ENV)
    yield s
    stop_server(s)


def _params(**kw) -> pb.GenerateParams:
    return pb.GenerateParams(backend="depth", target_faces=4000, texture_size=256, lod_ratios=[1.0], **kw)


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshsmith_client", *args, "--server", server.address],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_generate_with_the_depth_backend_stores_a_watertight_textured_glb_and_its_lineage(learned_server, depth_dir):
    events = []
    with learned_server.client() as client:
        version = client.generate((IMAGES / IMAGE).read_bytes(), "learned/chair", _params(seed=7),
                                  on_event=events.append)
        glb = client.pull("learned/chair", "latest").data
    assert version.mode == pb.RECONSTRUCT_MODE_RGBD
    assert any(e.stage == "model" and "tiny-depth@local" in e.message for e in events), [e.stage for e in events]
    weights = hashlib.sha256(b"model.safetensors\0" + (depth_dir / "model.safetensors").read_bytes()).hexdigest()
    assert (version.backend, version.backend_version, version.seed) == ("depth", "tiny-depth@local", 7)
    lineage = dict(version.parameters.fields["backend"].struct_value.fields)
    assert {k: v.string_value for k, v in lineage.items()} == {
        "name": "depth", "model_id": "tiny-depth", "revision": "local", "weights_sha256": weights, "device": DEVICE}
    assert version.stats.watertight and version.stats.bodies == 1 and version.stats.texture_size > 0
    _assert_valid_textured_solid(glb)

    history = _cli(learned_server, "history", "learned/chair")
    assert history.returncode == 0, history.stderr
    row = history.stdout.splitlines()[1]
    assert " rgbd " in row and " depth " in row, history.stdout
    as_json = json.loads(_cli(learned_server, "history", "learned/chair", "--json").stdout)
    assert as_json[0]["parameters"]["backend"]["weights_sha256"] == weights


def test_a_seeded_run_is_byte_identical_twice_and_the_lineage_is_part_of_the_key(learned_server):
    image = (IMAGES / IMAGE).read_bytes()
    with learned_server.client() as client:
        a = client.generate(image, "learned/twice-a", _params(seed=11))
        b = client.generate(image, "learned/twice-b", _params(seed=11))
        again = client.generate(image, "learned/twice-a", _params(seed=11))
        classical = client.generate(image, "learned/twice-a", pb.GenerateParams(
            target_faces=4000, texture_size=256, lod_ratios=[1.0], seed=11))
    glb = [next(x.sha256 for x in v.artifacts if x.kind == "glb" and x.lod == 0) for v in (a, b, again)]
    assert glb[0] == glb[1], "the same picture, model, seed and threads gave different bytes"
    assert again.reused and again.number == a.number  # same source + parameters + lineage: the same version
    assert not classical.reused and classical.number == a.number + 1 and classical.backend == "classical"
    assert "backend" not in classical.parameters.fields  # classical versions keep their earlier keys


def test_backends_lists_the_depth_model_as_available(learned_server, depth_dir):
    with learned_server.client() as client:
        found = {b.name: b for b in client.list_backends()}
    assert found["classical"].available
    depth = found["depth"]
    assert depth.available and not depth.reason and depth.produces == "depth"
    assert (depth.model_id, depth.revision, depth.device) == ("tiny-depth", "local", DEVICE)
    assert len(depth.weights_sha256) == 64


def test_learned_backend_requests_that_cannot_work_are_refused_clearly(learned_server):
    image = (IMAGES / IMAGE).read_bytes()
    with learned_server.client() as client:
        with pytest.raises(InvalidInput, match="unknown backend 'nerf'; use one of classical, auto, depth, shap-e, caption, segment, hunyuan3d, remote"):
            client.generate(image, "learned/bad", pb.GenerateParams(backend="nerf"))
        with pytest.raises(InvalidInput, match="leave the mode on auto"):
            client.generate(image, "learned/bad", _params(mode=pb.RECONSTRUCT_MODE_INFLATE))


def test_a_server_without_the_model_answers_failed_precondition_naming_the_flag(server):
    with server.client() as client:
        with pytest.raises(FailedPrecondition, match=r"start the server with --model depth=/path/to/model"):
            client.generate((IMAGES / IMAGE).read_bytes(), "learned/none", _params())
        assert not _exists(client, "learned/none")  # refused before queueing: no asset, no job


def _assert_valid_textured_solid(glb: bytes) -> None:
    """0 glTF-Validator errors; one watertight solid with a base-colour texture."""
    report = validate_glb(glb)
    assert report is not None and report.errors == 0, report.messages
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals) and mesh.visual.material.baseColorTexture is not None
    mesh.merge_vertices()
    assert mesh.is_watertight and mesh.volume > 0


def _exists(client, asset: str) -> bool:
    try:
        client.get_asset(asset)
        return True
    except Exception:  # noqa: BLE001
        return False


def test_backends_reports_a_missing_model_as_unavailable_with_the_reason(tmp_path):
    s = start_server(tmp_path / "data", "--workers", "1", "--no-previews", "--model", f"depth={tmp_path / 'gone'}",
                     env=ENV)
    try:
        run = _cli(s, "backends", "--json")
        text = _cli(s, "backends")
    finally:
        stop_server(s)
    assert run.returncode == 0, run.stderr
    found = {b["name"]: b for b in json.loads(run.stdout)}
    assert found["classical"]["available"] is True
    assert found["depth"].get("available", False) is False
    assert "weights missing" in found["depth"]["reason"] and f"{tmp_path / 'gone'} is not a directory" in found["depth"]["reason"]
    assert "--model depth=" in found["depth"]["reason"]
    assert "depth       depth     unavailable" in text.stdout and "--model depth=" in text.stdout, text.stdout
    assert found["hunyuan3d"].get("available", False) is False and found["hunyuan3d"]["produces"] == "mesh"
    assert "start the server with --model hunyuan3d=" in found["hunyuan3d"]["reason"]


def test_caption_and_segment_models_caption_each_version_cut_it_out_and_search_finds_it(tmp_path, depth_dir):
    """`--model caption=DIR`: every generate stores the caption and tags; `search --text` matches its words.
    `--model segment=DIR`: the model's mask replaces the classical cut-out; its lineage and box are recorded."""
    blip, sam = tiny_caption_model(tmp_path / "tiny-blip"), tiny_sam_model(tmp_path / "tiny-sam")
    s = start_server(tmp_path / "data", "--workers", "1", "--no-previews", "--model", f"caption={blip}",
                     "--model", f"segment={sam}", "--device", DEVICE, "--torch-threads", "1", env=ENV)
    try:
        with s.client() as client:
            events = []
            v = client.generate((IMAGES / IMAGE).read_bytes(), "props/captioned", pb.GenerateParams(
                mode=pb.RECONSTRUCT_MODE_INFLATE, target_faces=2000, texture_size=128, lod_ratios=[1.0]),
                on_event=events.append)
            assert any(e.stage == "segment" and "separated by model" in e.message for e in events)
            cut = v.parameters.fields["segment_model"].struct_value.fields
            assert cut["model_id"].string_value == "tiny-sam" and len(cut["box"].list_value.values) == 4
            assert v.stats.watertight
            client.generate((IMAGES / "fox.jpg").read_bytes(), "props/other", pb.GenerateParams(
                mode=pb.RECONSTRUCT_MODE_INFLATE, target_faces=2000, texture_size=128, lod_ratios=[1.0]))
            assert v.caption and v.caption_tags and v.backend == "classical"
            lineage = v.parameters.fields["caption_model"].struct_value.fields
            assert lineage["model_id"].string_value == "tiny-blip"
            two = " ".join(v.caption_tags[:2]).upper()  # case-insensitive, every word must match
            found = [a.name for a in client.search("", text=two)]
            assert "props/captioned" in found
            assert client.search("", text=f"{v.caption_tags[0]} zebra") == []
            for name in ("caption", "segment"):
                with pytest.raises(InvalidInput, match=f"backend '{name}' makes no shape"):
                    client.generate((IMAGES / IMAGE).read_bytes(), "props/x", pb.GenerateParams(backend=name))
        cli = _cli(s, "search", "--text", v.caption_tags[0])
        assert cli.returncode == 0 and "props/captioned" in cli.stdout, cli.stdout + cli.stderr
        history = _cli(s, "history", "props/captioned")
        assert v.caption[:30] in history.stdout, history.stdout
    finally:
        stop_server(s)


def test_generate_with_shap_e_runs_the_whole_tail_to_a_valid_textured_glb(learned_server):
    with learned_server.client() as client:
        v = client.generate((IMAGES / IMAGE).read_bytes(), "learned/shap-e", pb.GenerateParams(
            backend="shap-e", seed=3, target_faces=200_000, texture_size=128, lod_ratios=[1.0, 0.5]))
        glb = client.pull("learned/shap-e", "latest").data
        again = client.generate((IMAGES / IMAGE).read_bytes(), "learned/shap-e-2", pb.GenerateParams(
            backend="shap-e", seed=3, target_faces=200_000, texture_size=128, lod_ratios=[1.0, 0.5]))
    assert (v.backend, v.backend_version) == ("shap-e", "tiny-shap-e@local")
    assert v.parameters.fields["backend"].struct_value.fields["device"].string_value == DEVICE
    # random weights give a noisy, high-genus body: decimating it hard would tear it, so it is kept whole here
    assert v.stats.watertight and v.stats.bodies == 1 and v.stats.faces > 100
    assert any(a.kind == "glb" and a.lod == 1 for a in v.artifacts)  # LODs from the same tail
    report = validate_glb(glb)
    assert report is not None and report.errors == 0, report.messages
    mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
    assert mesh.visual.material.baseColorTexture is not None
    sha = [next(a.sha256 for a in x.artifacts if a.kind == "glb" and a.lod == 0) for x in (v, again)]
    assert sha[0] == sha[1]


def test_generate_with_hunyuan3d_stores_a_valid_textured_solid_with_its_lineage_byte_identical_twice(
        learned_server, hunyuan_root):
    """serve --model hunyuan3d=<tencent/Hunyuan3D-2's root> -> generate --backend hunyuan3d: the whole tail."""
    sub = hunyuan_root / "hunyuan3d-dit-v2-0"
    weights = hashlib.sha256(b"config.yaml\0" + (sub / "config.yaml").read_bytes() + b"model.fp16.safetensors\0"
                             + (sub / "model.fp16.safetensors").read_bytes()).hexdigest()
    image = (IMAGES / IMAGE).read_bytes()
    params = pb.GenerateParams(backend="hunyuan3d", seed=9, target_faces=200_000, texture_size=128,
                               lod_ratios=[1.0, 0.5])
    events = []
    with learned_server.client() as client:
        v = client.generate(image, "learned/hunyuan", params, on_event=events.append)
        glb = client.pull("learned/hunyuan", "latest").data
        again = client.generate(image, "learned/hunyuan-2", params)
        found = {b.name: b for b in client.list_backends()}
    assert (v.backend, v.backend_version, v.seed) == ("hunyuan3d", "hunyuan3d-dit-v2-0@local", 9)
    lineage = {k: x.string_value for k, x in v.parameters.fields["backend"].struct_value.fields.items()}
    assert lineage == {"name": "hunyuan3d", "model_id": "hunyuan3d-dit-v2-0", "revision": "local",
                       "weights_sha256": weights, "device": DEVICE}
    assert any(e.stage == "reconstruct" and "mode hunyuan3d" in e.message and "Hunyuan3D-2, 2 steps" in e.message
               for e in events), [e.message for e in events]
    # random weights give a noisy body: decimating it hard would tear it, so it is kept whole here
    assert v.stats.watertight and v.stats.bodies == 1 and v.stats.faces > 100 and v.stats.texture_size > 0
    assert any(a.kind == "glb" and a.lod == 1 for a in v.artifacts)  # LODs from the same tail
    _assert_valid_textured_solid(glb)
    sha = [next(a.sha256 for a in x.artifacts if a.kind == "glb" and a.lod == 0) for x in (v, again)]
    assert sha[0] == sha[1], "the same picture, model, seed and threads gave different bytes"
    listed = found["hunyuan3d"]
    assert listed.available and listed.produces == "mesh" and listed.weights_sha256 == weights
    history = _cli(learned_server, "history", "learned/hunyuan")
    assert history.returncode == 0 and " hunyuan3d " in history.stdout.splitlines()[1], history.stdout


def test_hunyuan3d_without_its_model_is_failed_precondition_naming_the_flag(server):
    with server.client() as client:
        with pytest.raises(FailedPrecondition, match=r"backend 'hunyuan3d' has no model: start the server with "
                                                     r"--model hunyuan3d=/path/to/model"):
            client.generate((IMAGES / IMAGE).read_bytes(), "learned/no-hunyuan", pb.GenerateParams(backend="hunyuan3d"))
        assert not _exists(client, "learned/no-hunyuan")


TINY_MODEL_PARAMS = dict(seed=3, target_faces=200_000, texture_size=128, lod_ratios=[1.0])


def test_auto_picks_the_mesh_model_says_so_and_keys_the_version_by_the_backend_it_chose(learned_server):
    image = (IMAGES / IMAGE).read_bytes()
    events = []
    with learned_server.client() as client:
        v = client.generate(image, "learned/auto", pb.GenerateParams(backend="auto", **TINY_MODEL_PARAMS), on_event=events.append)
        explicit = client.generate(image, "learned/auto", pb.GenerateParams(backend="hunyuan3d", **TINY_MODEL_PARAMS))
        inflate = []
        flat = client.generate(image, "learned/auto-inflate", pb.GenerateParams(
            backend="auto", mode=pb.RECONSTRUCT_MODE_INFLATE, target_faces=2000, lod_ratios=[1.0]), on_event=inflate.append)
    said = [e.message for e in events if e.stage == "backend"]
    assert len(said) == 1 and said[0].startswith(
        "auto chose hunyuan3d (mesh from hunyuan3d-dit-v2-0@local): the first available in the order "), said
    assert (v.backend, v.backend_version) == ("hunyuan3d", "hunyuan3d-dit-v2-0@local")  # the chosen backend, never "auto"
    assert v.parameters.fields["backend"].struct_value.fields["name"].string_value == "hunyuan3d"
    assert explicit.reused and explicit.number == v.number  # the same key as naming the backend
    assert flat.backend == "classical" and [e.message for e in inflate if e.stage == "backend"] == [
        "auto chose classical: the request asks for mode inflate, and learned backends work from one picture with "
        "the mode on auto"]


def test_auto_without_a_learned_backend_is_classical_and_says_why(server):
    image = (IMAGES / IMAGE).read_bytes()
    params = dict(target_faces=2000, texture_size=256, lod_ratios=[1.0])
    events = []
    with server.client() as client:
        v = client.generate(image, "learned/auto-none", pb.GenerateParams(backend="auto", **params),
                            on_event=events.append)
        plain = client.generate(image, "learned/auto-none", pb.GenerateParams(**params))
    said = [e.message for e in events if e.stage == "backend"]
    assert len(said) == 1 and said[0].startswith("auto chose classical: no learned shape backend is available ("), said
    assert "shap-e: no --model shap-e=DIR" in said[0] and "depth: no --model depth=DIR" in said[0]
    assert v.backend == "classical" and "backend" not in v.parameters.fields
    assert plain.reused and plain.number == v.number  # auto -> classical keys like a plain classical request


def test_diff_of_versions_made_by_two_backends_shows_backend_model_weights_device_and_seed(learned_server, depth_dir):
    image = (IMAGES / IMAGE).read_bytes()
    with learned_server.client() as client:
        a = client.generate(image, "learned/diff", _params(seed=7))
        b = client.generate(image, "learned/diff", pb.GenerateParams(target_faces=4000, texture_size=256,
                                                                     lod_ratios=[1.0], seed=8))
        d = client.diff("learned/diff", str(a.number), str(b.number))
    weights = hashlib.sha256(b"model.safetensors\0" + (depth_dir / "model.safetensors").read_bytes()).hexdigest()
    assert {c.field: (c.before, c.after) for c in d.lineage} == {
        "backend": ("depth", "classical"), "backend_version": ("tiny-depth@local", "0.1.0"),
        "model_id": ("tiny-depth", ""), "revision": ("local", ""), "weights_sha256": (weights, ""),
        "device": (DEVICE, ""), "seed": ("7", "8")}
    assert convert.diff_to_pb(convert.diff_from_pb(d)) == d
    out = _cli(learned_server, "diff", f"learned/diff@{a.number}", f"learned/diff@{b.number}")
    assert out.returncode == 0, out.stderr
    assert "lineage backend: depth -> classical" in out.stdout and "lineage model_id: tiny-depth -> -" in out.stdout
    assert f"lineage weights_sha256: {weights} -> -" in out.stdout and "lineage seed: 7 -> 8" in out.stdout


def test_a_batch_with_auto_resolves_once_and_resumes_under_the_resolved_backend(server):
    """The items' request ids come from the resolved parameters: a re-run naming classical finds auto's jobs."""
    items = [ingest_pb2.BatchItem(asset="learned/batch-auto", image=(IMAGES / "teapot.png").read_bytes())]
    params = dict(target_faces=1000, texture_size=128, lod_ratios=[1.0])
    with server.client() as client:
        first = list(client.batch(ingest_pb2.BatchGenerateRequest(items=items, params=pb.GenerateParams(
            backend="auto", **params))))
        again = list(client.batch(ingest_pb2.BatchGenerateRequest(items=items, params=pb.GenerateParams(**params))))
        events = list(client.watch(first[0].item.job_id))
    assert first[0].item.ok and not first[0].item.reused and first[-1].summary.ok == 1
    assert again[0].item.reused and again[0].item.job_id == first[0].item.job_id
    assert [e.message for e in events if e.stage == "backend"][0].startswith("auto chose classical:")


def test_a_learned_job_after_a_rendered_preview_in_the_same_worker_succeeds(tmp_path, depth_dir):
    """`--gpu-workers 0`: learned and classical jobs share one worker, previews on (the default). Rendering a
    preview first (Mesa's LLVM) and loading the model second (triton's LLVM) used to kill the worker."""
    s = start_server(tmp_path / "data", "--workers", "1", "--gpu-workers", "0", "--model", f"depth={depth_dir}",
                     "--device", DEVICE, "--torch-threads", "1", env=ENV)
    try:
        with s.client() as client:
            first = client.generate((IMAGES / IMAGE).read_bytes(), "props/classical", pb.GenerateParams(
                mode=pb.RECONSTRUCT_MODE_INFLATE, target_faces=2000, texture_size=128, lod_ratios=[1.0]))
            assert any(a.kind == "preview" for a in first.artifacts), "the classical job renders its preview first"
            version = client.generate((IMAGES / IMAGE).read_bytes(), "props/learned", _params(seed=1))
            assert version.mode == pb.RECONSTRUCT_MODE_RGBD and version.stats.watertight
        assert not any("worker process died" in line for line in s.log), "".join(s.log[-20:])
    finally:
        stop_server(s)
