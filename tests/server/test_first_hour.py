"""Issue 18 item 7 ("first hour") through a real server: file modes, diff across assets over gRPC, the ready
line's web app URL, export's print report, 3MF exports that carry their printer's bed, a prompt idle stop."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import time
import zipfile

import grpc
import pytest
import trimesh

from meshsmith_client.cli import main
from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2
from tests.server.conftest import start_server
from tests.validation.test_export_print import SLICER
from validation.formats import load_mesh
from validation.threemf import load_3mf

BAR = "first-hour/bar"  # 400 x 50 x 50 mm stored: an MK4 fit makes it 240 mm long, more than a 200 mm bed


def _import_bar(server) -> int:
    obj = trimesh.creation.box(extents=[0.4, 0.05, 0.05]).export(file_type="obj")  # metres, Y up
    request = ingest_pb2.ImportRequest(asset=BAR, mesh=obj.encode(), filename="bar.obj", lod_ratios=[1])
    with server.client() as client:
        events = [r.event for r in client._stream(client.ingest.Import, request)]
    assert events[-1].HasField("version"), events[-1]
    return events[-1].version.number


@pytest.fixture(scope="module")
def bar(server) -> int:
    return _import_bar(server)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_pulled_and_exported_files_get_ordinary_modes(server, bar, tmp_path, capsys, umask_022):
    """0666 minus the umask (0644 here), not the 0600 of the temp file they are renamed from."""
    s = ["--server", server.address]
    assert main(["pull", f"{BAR}@{bar}", "-o", str(tmp_path / "bar.glb"), *s]) == 0
    assert main(["export", f"{BAR}@{bar}", "--format", "stl", "-o", str(tmp_path / "bar.stl"), *s]) == 0
    assert main(["export", f"{BAR}@{bar}", "--format", "obj", "-o", str(tmp_path / "bar.obj"), *s]) == 0
    capsys.readouterr()
    for name in ("bar.glb", "bar.stl", "bar.obj"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_diff_versions_of_two_assets_is_invalid_argument(server, bar):
    """DiffVersions takes one asset: another asset's name in a ref is refused, not resolved against the first."""
    with grpc.insecure_channel(server.address) as channel:
        stub = assets_pb2_grpc.AssetServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.DiffVersions(assets_pb2.DiffVersionsRequest(asset=BAR, ref_a=str(bar), ref_b="props/santa@1"), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()


def test_ready_line_names_the_web_app(server):
    ready = next(line for line in server.log if "meshsmith ready" in line)
    assert f"web app http://{server.http}/ui/" in ready, ready


def test_export_json_reports_scale_size_pose_and_bed(server, bar, tmp_path, capsys):
    out = tmp_path / "bar.3mf"
    argv = ["export", f"{BAR}@{bar}", "--format", "3mf", "--fit", "prusa-mk4", "--orient", "auto", "-o", str(out),
            "--server", server.address]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    p = report["print"]
    assert p["printer"] == "prusa-mk4" and p["bed_mm"] == [250.0, 210.0, 220.0] and p["margin_mm"] == 5.0
    assert p["scale"] == pytest.approx(0.6) and p["mm_per_stored_m"] == pytest.approx(600.0)
    assert sorted(p["size_mm"]) == pytest.approx([30.0, 30.0, 240.0], abs=0.01)
    assert p["orient"] == "auto" and len(p["down"]) == 3 and len(p["rotation"]) == 3
    assert report["artifact"]["sha256"] and report["version"] == bar
    back = load_mesh(out.read_bytes(), out.name)
    assert sorted(back.extents) == pytest.approx(sorted(p["size_mm"]), abs=0.01)

    assert main(argv) == 0  # text: the same in words
    said = capsys.readouterr().out
    assert "fit prusa-mk4" in said and "scale 0.6" in said and "orient auto" in said and "250x210x220" in said, said

    assert main(["export", f"{BAR}@{bar}", "--format", "stl", "-o", str(tmp_path / "as.stl"), "--json",
                 "--server", server.address]) == 0
    plain = json.loads(capsys.readouterr().out)["print"]
    assert plain["sizing"] == "as stored" and plain["scale"] == 1.0 and plain["orient"] == "none"
    assert plain["size_mm"] == pytest.approx([400.0, 50.0, 50.0]) and plain["bed_mm"] is None


def test_fitted_3mf_carries_its_printer_bed(server, bar, tmp_path):
    """A 240 mm part fitted to an MK4 (250 x 210 x 220): the 3MF says so in Metadata/Slic3r_PE.config, stays a
    valid 3MF for our reader, and PrusaSlicer's CLI slices it with no --bed-shape (its default bed is 200 mm)."""
    with server.client() as client:
        data = client.export(BAR, str(bar), "3mf", fit="prusa-mk4").data
        plain = client.export(BAR, str(bar), "3mf", max_mm=240).data
        own_bed = client.export(BAR, str(bar), "3mf", bed="300x280x260").data
    with zipfile.ZipFile(io.BytesIO(own_bed)) as z:
        assert "; bed_shape = 0x0,300x0,300x280,0x280\n; max_print_height = 260" in z.read("Metadata/Slic3r_PE.config").decode()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        config = z.read("Metadata/Slic3r_PE.config").decode()
        assert 'Extension="config"' in z.read("[Content_Types].xml").decode()
    assert "; bed_shape = 0x0,250x0,250x210,0x210" in config and "; max_print_height = 220" in config
    with zipfile.ZipFile(io.BytesIO(plain)) as z:
        assert "Metadata/Slic3r_PE.config" not in z.namelist()  # not fitted to a bed: nothing to say
    mesh, unit = load_3mf(data, 64 * 2**20, 1_000_000)
    assert unit == "millimeter" and max(mesh.extents) == pytest.approx(240.0, abs=0.01)
    if SLICER is None:
        pytest.skip("prusa-slicer missing: `make install` installs it (APT_PACKAGES)")
    for name, blob, ok in (("fitted.3mf", data, True), ("plain.3mf", plain, False)):
        path = tmp_path / name
        path.write_bytes(blob)
        run = subprocess.run([SLICER, "--export-gcode", str(path), "-o", str(path.with_suffix(".gcode"))],
                             capture_output=True, text=True, timeout=300)
        if ok:
            assert run.returncode == 0 and path.with_suffix(".gcode").stat().st_size > 10_000, run.stderr[-800:]
        else:  # the control: the same 240 mm part without the config does not fit PrusaSlicer's default bed
            assert run.returncode != 0 and "could not fit" in (run.stdout + run.stderr), run.returncode


def test_an_idle_server_stops_promptly(tmp_path):
    """SIGTERM to a server that ran a job and sits idle: gone well within a second (it took seconds: workers
    tearing their native libraries down one after the other, then the server's own interpreter teardown)."""
    s = start_server(tmp_path, "--workers", "2")
    try:
        _import_bar(s)
        time.sleep(0.5)
        started = time.monotonic()
        s.process.send_signal(signal.SIGTERM)
        rc = s.process.wait(30)
        took = time.monotonic() - started
    finally:
        if s.process.poll() is None:
            s.process.kill()
    assert rc == 0
    time.sleep(0.2)  # the log reader thread
    stopped = next((line for line in s.log if "stopped in" in line), "")
    assert took < 1.0, f"stop took {took:.2f} s: {stopped}"
    m = re.search(r"workers ([\d.]+) s", stopped)
    assert m and float(m.group(1)) < 0.5, stopped
