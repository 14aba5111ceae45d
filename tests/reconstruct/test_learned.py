"""Learned backends with tiny random-weight models: the real loading / inference / post-processing code,
offline (HF_HUB_OFFLINE=1, local directories only), on the CPU unless MESHSMITH_TEST_DEVICE says cuda."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub reads it: nothing may be fetched

import numpy as np
import pytest

from meshsmith.errors import FailedPrecondition, InvalidInput
from reconstruct import learned
from reconstruct.cameras import locate_crop
from reconstruct.image import decode_image
from reconstruct.learned import base
from reconstruct.params import ReconstructParams
from reconstruct.rgbd import crop_depth, reconstruct_rgbd
from reconstruct.segment import SegmentParams, segment
from tests.conftest import IMAGES, ROOT
from tests.learned_models import (CAPTION_WORDS, tiny_caption_model, tiny_depth_model, tiny_hunyuan3d_model,
                                  tiny_sam_model, tiny_shap_e_model)

from .helpers import assert_clean, assert_valid_glb

pytest.importorskip("torch", reason="the learned extra is not installed (make install installs it)")
DEVICE = os.environ.get("MESHSMITH_TEST_DEVICE", "cpu")


@pytest.fixture(scope="module")
def depth_dir(tmp_path_factory):
    return tiny_depth_model(tmp_path_factory.mktemp("models") / "tiny-depth")


@pytest.fixture
def cold():
    """Each test starts with no model warm in this process."""
    base._WARM.clear()
    yield
    base._WARM.clear()


def _config(depth_dir, **kw) -> learned.LearnedConfig:
    return learned.LearnedConfig.build({"depth": str(depth_dir)}, DEVICE, threads=1, **kw)


def _picture(name: str = "chair.png") -> np.ndarray:
    return decode_image((IMAGES / name).read_bytes())


def test_depth_map_has_the_pictures_shape_and_is_positive_and_finite(depth_dir, cold):
    from reconstruct.learned.depth import predict_depth

    rgba = _picture()
    pred = predict_depth(rgba[..., :3], _config(depth_dir))
    assert pred.depth.shape == rgba.shape[:2] and pred.depth.dtype == np.float64
    assert np.isfinite(pred.depth).all() and (pred.depth > 0).all()
    assert pred.units == "affine"  # Depth Anything predicts inverse depth, up to scale and offset: flipped
    assert pred.depth.std() > 0, "a constant depth map: the model's output was not used"
    assert pred.info.device == DEVICE and pred.info.backend == "depth"


def test_depth_is_deterministic_across_reloads(depth_dir, cold):
    from reconstruct.learned.depth import predict_depth

    rgb = _picture("bulldog.png")[..., :3]
    first = predict_depth(rgb, _config(depth_dir), seed=3).depth
    base._WARM.clear()  # load again from disk
    second = predict_depth(rgb, _config(depth_dir), seed=3).depth
    assert np.array_equal(first, second)


def test_the_model_loads_once_per_process_and_stays_warm(depth_dir, cold):
    from reconstruct.learned.depth import predict_depth

    rgb = _picture()[..., :3]
    config = _config(depth_dir)
    predict_depth(rgb, config)
    loaded = learned.load("depth", config)
    predict_depth(rgb, config)
    assert learned.load("depth", config) is loaded
    assert learned.warm_keys() == [("depth", str(depth_dir.resolve()), DEVICE)]


def test_lineage_reports_the_model_and_a_digest_of_its_weights(depth_dir, cold, tmp_path):
    loaded = learned.load("depth", _config(depth_dir))
    expected = hashlib.sha256(b"model.safetensors\0" + (depth_dir / "model.safetensors").read_bytes()).hexdigest()
    assert loaded.info.lineage() == {"name": "depth", "model_id": "tiny-depth", "revision": "local",
                                     "weights_sha256": expected, "device": DEVICE}
    # a copy in the Hugging Face cache layout reports the hub id and the snapshot's revision
    snap = tmp_path / "models--depth-anything--Depth-Anything-V2-Small-hf" / "snapshots" / "0123abcd"
    shutil.copytree(depth_dir, snap)
    assert base.model_identity(snap) == ("depth-anything/Depth-Anything-V2-Small-hf", "0123abcd")
    assert learned.weights_digest(snap) == expected
    other = tiny_depth_model(tmp_path / "other", seed=1)
    assert learned.weights_digest(other) != expected


def test_predicted_depth_feeds_the_rgbd_path_to_a_watertight_textured_solid(depth_dir, cold):
    from reconstruct.learned.depth import predict_depth

    rgba = _picture()
    pred = predict_depth(rgba[..., :3], _config(depth_dir))
    seg = segment(rgba)
    offset = locate_crop(rgba, seg)
    crop = crop_depth(pred.depth, rgba.shape[:2], offset, seg.mask.shape)
    rec = reconstruct_rgbd(seg, crop, pred.units, ReconstructParams(texture_size=256))
    assert rec.mode == "rgbd"
    assert_clean(rec.mesh, texture_cap=256)
    assert_valid_glb(rec.mesh)


@pytest.mark.parametrize("models,match", [
    ({}, r"backend 'depth' has no model: start the server with --model depth=/path/to/model"),
    ({"depth": "/nonexistent/depth-model"}, r"not a directory: fix --model depth=/path/to/model"),
    ({"depth": "someone/not-cached-model"}, r"not in the local Hugging Face cache.*--model depth=/path/to/model"),
])
def test_a_missing_model_is_failed_precondition_naming_the_flag(models, match, cold):
    config = learned.LearnedConfig.build(models, "cpu")
    with pytest.raises(FailedPrecondition, match=match):
        learned.check_ready("depth", config)
    with pytest.raises(FailedPrecondition, match=match):
        learned.load("depth", config)
    info = learned.availability("depth", config)
    assert not info.available and "weights missing" in info.reason and "--model depth=" in info.reason


def test_a_directory_without_a_model_or_weights_is_refused(tmp_path, depth_dir, cold):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FailedPrecondition, match="no config.json.*--model depth="):
        learned.check_ready("depth", learned.LearnedConfig.build({"depth": str(tmp_path / "empty")}, "cpu"))
    no_weights = tmp_path / "no-weights"
    shutil.copytree(depth_dir, no_weights)
    (no_weights / "model.safetensors").unlink()
    assert "holds no weight files" in learned.availability(
        "depth", learned.LearnedConfig.build({"depth": str(no_weights)}, "cpu")).reason


def test_bad_names_and_devices_are_refused():
    with pytest.raises(InvalidInput, match="unknown backend 'nerf'; use one of classical, auto, depth, shap-e, caption, segment, hunyuan3d, remote"):
        learned.spec("nerf")
    for device in ("gpu", "cuda:x:1", "tpu"):
        with pytest.raises(ValueError, match="--device must be auto, cpu, cuda"):
            learned.LearnedConfig.build({}, device)
    with pytest.raises(ValueError, match="unknown kind 'nerf'"):
        learned.LearnedConfig.build({"nerf": "/x"}, "cpu")


def test_auto_preference_puts_mesh_models_before_depth_and_tolerates_names_not_yet_known():
    known = [n for n in learned.AUTO_PREFERENCE if n in learned.BACKENDS]
    products = [learned.BACKENDS[n].produces for n in known]
    assert set(products) <= set(base.SHAPE_PRODUCTS) and "shap-e" in known and "depth" in known
    assert products == sorted(products, key=("mesh", "depth").index), "mesh-producing backends go before depth"
    assert learned.AUTO not in learned.BACKENDS and len(set(learned.AUTO_PREFERENCE)) == len(learned.AUTO_PREFERENCE)
    assert not set(learned.AUTO_PREFERENCE) & set(base.HOSTED), "auto never sends a picture to a paid API"
    config = learned.LearnedConfig.build({}, "cpu")
    assert learned.choose_auto(config, ("not-landed-yet", "caption")).backend == learned.CLASSICAL


def test_auto_chooses_the_first_available_shape_backend_and_says_why(tmp_path, depth_dir):
    shap_e = tiny_shap_e_model(tmp_path / "tiny-shap-e")
    depth_only = learned.choose_auto(learned.LearnedConfig.build({"depth": str(depth_dir)}, "cpu"))
    assert depth_only.backend == "depth"
    assert depth_only.reason.startswith("auto chose depth (depth from tiny-depth@local): the first available in "
                                        "the order ") and "shap-e: no --model shap-e=DIR" in depth_only.reason
    both = learned.choose_auto(learned.LearnedConfig.build({"depth": str(depth_dir), "shap-e": str(shap_e)}, "cpu"))
    assert both.backend == "shap-e" and "(mesh from tiny-shap-e@local)" in both.reason
    broken = learned.choose_auto(learned.LearnedConfig.build({"depth": str(depth_dir), "shap-e": str(tmp_path)}, "cpu"))
    assert broken.backend == "depth" and f"shap-e: the shap-e model directory {tmp_path} has no config.json" in broken.reason
    # the list is the only order: reversed, depth wins
    assert learned.choose_auto(learned.LearnedConfig.build({"depth": str(depth_dir), "shap-e": str(shap_e)}, "cpu"),
                               ("depth", "shap-e")).backend == "depth"


@pytest.mark.parametrize("models", [{}, {"caption": "/models/blip"}, {"depth": "/nonexistent/depth-model"}])
def test_auto_without_an_available_shape_backend_is_classical_and_names_the_fix(models):
    choice = learned.choose_auto(learned.LearnedConfig.build(models, "cpu"))
    assert choice.backend == learned.CLASSICAL
    assert choice.reason.startswith("auto chose classical: no learned shape backend is available (")
    assert "start the server with --model NAME=DIR for one of: " in choice.reason
    assert "shap-e: no --model shap-e=DIR" in choice.reason
    if "depth" in models:
        assert "depth: the depth model /nonexistent/depth-model is not a directory" in choice.reason


@pytest.mark.skipif(DEVICE != "cpu", reason="checks the CPU-only machine's answer to --device cuda")
def test_cuda_asked_for_on_a_machine_without_one_is_failed_precondition(depth_dir, cold):
    config = learned.LearnedConfig.build({"depth": str(depth_dir)}, "cuda")
    info = learned.availability("depth", config)
    assert not info.available and "no CUDA device" in info.reason and "--device cpu" in info.reason
    with pytest.raises(FailedPrecondition, match="--device cuda but torch sees no CUDA device"):
        learned.load("depth", config)


def test_the_server_and_classical_reconstruction_never_import_torch():
    code = ("import sys, server.pipeline, server.job_kinds, server.app, reconstruct.learned, reconstruct.learned.depth,"
            " reconstruct.learned.hunyuan;"
            "bad = [m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_caption_is_words_of_the_models_vocabulary_deterministic_with_tags(tmp_path, cold):
    from reconstruct.learned.caption import STOPWORDS, caption_image

    config = learned.LearnedConfig.build({"caption": str(tiny_caption_model(tmp_path / "tiny-blip"))}, DEVICE,
                                         threads=1)
    rgb = _picture()[..., :3]
    said = caption_image(rgb, config)
    words = said.text.split()
    assert len(words) >= 3 and set(words) <= set(CAPTION_WORDS), said.text  # decoded by the tokenizer built here
    assert said.tags and set(said.tags) <= set(words) and not set(said.tags) & STOPWORDS
    assert len(set(said.tags)) == len(said.tags)
    base._WARM.clear()
    assert caption_image(rgb, config).text == said.text
    assert said.info.lineage()["model_id"] == "tiny-blip"


def test_segment_cuts_the_object_out_inside_its_box_prompt_and_feeds_reconstruction(tmp_path, cold):
    from reconstruct.learned.segment import prompt_box, segment_learned
    from reconstruct.modes import reconstruct

    config = learned.LearnedConfig.build({"segment": str(tiny_sam_model(tmp_path / "tiny-sam"))}, DEVICE, threads=1)
    rgba = _picture()
    cut = segment_learned(rgba, config)
    x0, y0, x1, y1 = cut.box
    assert cut.box == prompt_box(rgba, SegmentParams())  # the classical cut-out's crop prompts the model
    seg = cut.segmented
    assert seg.method == "model" and seg.mask.any() and seg.rgba.shape[:2] == seg.mask.shape
    oy, ox = locate_crop(rgba, seg)
    assert x0 - 20 <= ox and oy >= y0 - 20 and ox + seg.mask.shape[1] <= x1 + 20 and oy + seg.mask.shape[0] <= y1 + 20
    assert (seg.rgba[..., 3] > 0).tolist() == seg.mask.tolist()  # transparent outside the model's mask
    base._WARM.clear()
    assert np.array_equal(segment_learned(rgba, config).segmented.mask, seg.mask)  # deterministic
    assert_clean(reconstruct(seg, ReconstructParams(mode="inflate", texture_size=128)).mesh, texture_cap=128)


def test_the_marching_cubes_tables_give_a_closed_outward_sphere():
    """The tables the loader fills into diffusers' MeshDecoder (a real checkpoint carries its own)."""
    import torch
    import trimesh
    from diffusers.pipelines.shap_e.renderer import MeshDecoder

    from reconstruct.learned.shape import marching_cubes_tables

    decoder = MeshDecoder()
    cases, masks = marching_cubes_tables()
    decoder.cases.copy_(torch.from_numpy(cases))
    decoder.masks.copy_(torch.from_numpy(masks))
    s = np.linspace(-1, 1, 40)
    x, y, z = np.meshgrid(s, s, s, indexing="ij")
    field = torch.tensor(0.6 - np.sqrt(x**2 + y**2 + z**2), dtype=torch.float32)  # > 0 inside
    out = decoder(field, torch.tensor([-1.0, -1.0, -1.0]), torch.tensor([2.0, 2.0, 2.0]))
    sphere = trimesh.Trimesh(out.verts.numpy(), out.faces.numpy())
    assert sphere.is_watertight and sphere.is_winding_consistent
    assert abs(sphere.volume - 4 / 3 * np.pi * 0.6**3) < 0.03 * 4 / 3 * np.pi * 0.6**3  # positive: outward


def test_shap_e_tiny_gives_a_watertight_textured_solid_deterministically(tmp_path, cold):
    from reconstruct.learned.shape import shape_from_picture

    config = learned.LearnedConfig.build({"shap-e": str(tiny_shap_e_model(tmp_path / "tiny-shap-e"))}, DEVICE,
                                         threads=1)
    seg = segment(_picture())
    params = ReconstructParams(texture_size=128)
    made = shape_from_picture(seg, config, params, seed=5)
    assert made.reconstruction.mode == "shap-e" and made.info.model_id == "tiny-shap-e"
    assert_clean(made.reconstruction.mesh, texture_cap=128)
    assert_valid_glb(made.reconstruction.mesh)
    base._WARM.clear()
    again = shape_from_picture(seg, config, params, seed=5).reconstruction.mesh
    assert np.array_equal(again.vertices, made.reconstruction.mesh.vertices)


@pytest.fixture(scope="module")
def hunyuan_dir(tmp_path_factory):
    return tiny_hunyuan3d_model(tmp_path_factory.mktemp("models") / "hunyuan3d-dit-v2-0")


def test_hunyuan3d_tiny_gives_a_watertight_textured_solid_deterministically(hunyuan_dir, cold):
    from reconstruct.learned.hunyuan import hunyuan_from_picture

    config = learned.LearnedConfig.build({"hunyuan3d": str(hunyuan_dir)}, DEVICE, threads=1)
    seg = segment(_picture())
    params = ReconstructParams(texture_size=128)
    made = hunyuan_from_picture(seg, config, params, seed=5)
    rec = made.reconstruction
    assert rec.mode == "hunyuan3d" and made.info.model_id == "hunyuan3d-dit-v2-0" and "2 steps" in rec.reason
    assert_clean(rec.mesh, texture_cap=128)
    assert_valid_glb(rec.mesh)
    base._WARM.clear()
    again = hunyuan_from_picture(seg, config, params, seed=5).reconstruction.mesh
    assert np.array_equal(again.vertices, rec.mesh.vertices) and np.array_equal(again.faces, rec.mesh.faces)
    other = hunyuan_from_picture(seg, config, params, seed=6).reconstruction.mesh
    assert len(other.vertices) != len(rec.mesh.vertices) or not np.array_equal(other.vertices, rec.mesh.vertices)


def test_hunyuan3d_model_directories_in_its_own_layout(hunyuan_dir, tmp_path, cold):
    """tencent/Hunyuan3D-2's root picks hunyuan3d-dit-v2-0; the digest covers config.yaml + the weights it loads;
    the Hugging Face cache layout gives the hub id with the subfolder and the snapshot's revision."""
    root = tmp_path / "Hunyuan3D-2"
    shutil.copytree(hunyuan_dir, root / "hunyuan3d-dit-v2-0")
    shutil.copytree(hunyuan_dir, root / "hunyuan3d-dit-v2-0-turbo")
    (root / "hunyuan3d-dit-v2-0" / "model.fp16.ckpt").write_bytes(b"not loaded: the .safetensors is")
    config = learned.LearnedConfig.build({"hunyuan3d": str(root)}, "cpu")
    assert learned.resolve_model_dir("hunyuan3d", config) == (root / "hunyuan3d-dit-v2-0").resolve()
    h = hashlib.sha256()
    for name in ("config.yaml", "model.fp16.safetensors"):
        h.update(name.encode() + b"\0" + (hunyuan_dir / name).read_bytes())
    info = learned.availability("hunyuan3d", config)
    assert info.available and info.weights_sha256 == h.hexdigest() and info.model_id == "hunyuan3d-dit-v2-0"
    snap = tmp_path / "models--tencent--Hunyuan3D-2" / "snapshots" / "0123abcd" / "hunyuan3d-dit-v2-0"
    shutil.copytree(hunyuan_dir, snap)
    assert base.model_identity(snap) == ("tencent/Hunyuan3D-2/hunyuan3d-dit-v2-0", "0123abcd")
    shutil.rmtree(root / "hunyuan3d-dit-v2-0")
    shutil.copytree(hunyuan_dir, root / "hunyuan3d-dit-v2-0-fast")
    with pytest.raises(FailedPrecondition, match="no config.yaml and no hunyuan3d-dit-v2-0 subfolder .it has "
                       "hunyuan3d-dit-v2-0-fast, hunyuan3d-dit-v2-0-turbo: name one.: point --model hunyuan3d="):
        learned.check_ready("hunyuan3d", config)
    shutil.rmtree(root / "hunyuan3d-dit-v2-0-fast")
    turbo = learned.LearnedConfig.build({"hunyuan3d": str(root)}, "cpu")  # the only subfolder left
    assert learned.resolve_model_dir("hunyuan3d", turbo).name == "hunyuan3d-dit-v2-0-turbo"
    (root / "hunyuan3d-dit-v2-0-turbo" / "model.safetensors").write_bytes(b"")
    info = learned.availability("hunyuan3d", turbo)  # two .safetensors, one named as hy3dgen names it: that one
    assert info.available
    (root / "hunyuan3d-dit-v2-0-turbo" / "model.fp16.safetensors").unlink()
    (root / "hunyuan3d-dit-v2-0-turbo" / "other.safetensors").write_bytes(b"")
    info = learned.availability("hunyuan3d", turbo)
    assert not info.available and "2 .safetensors files (model.safetensors, other.safetensors): keep one" in info.reason


def test_hunyuan3d_refuses_a_config_that_would_download_or_build_foreign_classes(hunyuan_dir, tmp_path, cold):
    import yaml

    for edit, match in [
        (lambda c: c["conditioner"]["params"]["main_image_encoder"]["kwargs"].pop("config"), "names a hub model"),
        (lambda c: c["scheduler"].update(target="os.system"), "scheduler target 'os.system' is not one of hy3dgen"),
        (lambda c: c["meshsmith"].update(steps=0), "sampling out of range"),
    ]:
        bad = tmp_path / f"bad-{match[:8]}"
        shutil.copytree(hunyuan_dir, bad)
        config = yaml.safe_load((bad / "config.yaml").read_text())
        edit(config)
        (bad / "config.yaml").write_text(yaml.safe_dump(config))
        with pytest.raises(FailedPrecondition, match=match):
            learned.load("hunyuan3d", learned.LearnedConfig.build({"hunyuan3d": str(bad)}, "cpu"))


def test_hunyuan3d_surface_is_closed_outward_and_an_empty_field_is_a_clear_error():
    import trimesh

    from meshsmith.errors import MeshsmithError
    from reconstruct.learned.hunyuan import BOX, surface

    s = np.linspace(-BOX, BOX, 41)
    x, y, z = np.meshgrid(s, s, s, indexing="ij")
    v, f = surface(0.6 - np.sqrt(x**2 + y**2 + z**2), "m")
    sphere = trimesh.Trimesh(v, f)
    assert sphere.is_watertight and abs(sphere.volume - 4 / 3 * np.pi * 0.6**3) < 0.03 * 4 / 3 * np.pi * 0.6**3
    v, f = surface(0.5 - np.abs(y), "m")  # a slab through the whole box: closed by the border, just outside it
    assert trimesh.Trimesh(v, f).is_watertight and BOX < np.abs(v).max() < BOX + 2 * BOX / 40
    g = np.linspace(-1, 1, 41)  # values exactly 0 on grid points: each would put several vertices on one point
    v, f = surface(0.5 - np.abs(np.meshgrid(g, g, g, indexing="ij")[0]), "m")
    assert len(np.unique(v.astype(np.float32), axis=0)) == len(v) and trimesh.Trimesh(v, f).is_volume
    with pytest.raises(MeshsmithError, match="the model produced no surface .* no zero crossing: all outside"):
        surface(-np.ones((9, 9, 9)), "the model")
