"""Caller isolation of jobs and request ids (issue 9, item 1), against real servers with and without --auth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from meshsmith.errors import AlreadyExists, InvalidInput, NotFound
from meshsmith.v1 import ingest_pb2, ingest_pb2_grpc, jobs_pb2
from meshsmith.v1 import types_pb2 as pb
from meshsmith_client.client import Client
from tests.conftest import IMAGES, MESHES
from tests.server.conftest import fresh_pg_database, start_server, stop_server

CLI = [sys.executable, "-m", "meshsmith_client"]
FAST = pb.GenerateParams(target_faces=1500)
CHAIR = (IMAGES / "chair.png").read_bytes()
TEAPOT = (IMAGES / "teapot.png").read_bytes()
MESH = MESHES / "suzanne.obj"


def _key(data_dir: Path, role: str, name: str, *where: str) -> str:
    """A new key's secret, made with the CLI on the server's data dir (or `where`: --database-url URL)."""
    where = where or ("--data-dir", str(data_dir))
    out = subprocess.run([*CLI, "keys", "create", "--role", role, "--name", name, *where],
                         capture_output=True, text=True, check=True).stdout
    return out.split("secret (shown once, store it now): ")[1].strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    data = tmp_path_factory.mktemp("isolation-data")
    keys = {name: _key(data, role, name) for name, role in
            (("artist-a", "creator"), ("artist-b", "creator"), ("boss", "admin"))}
    s = start_server(data, "--auth", "--workers", "1", "--no-previews")
    yield s, keys
    stop_server(s)


def _client(s, key: str) -> Client:
    return Client(s.address, api_key=key, timeout=300)


def _start(s, key: str, asset: str, image: bytes = CHAIR, **fields) -> tuple[object, grpc.Channel, object]:
    """Start a Generate stream as `key`; return its first event, the channel and the call (still running)."""
    channel = grpc.insecure_channel(s.address)
    call = ingest_pb2_grpc.IngestServiceStub(channel).Generate(
        ingest_pb2.GenerateRequest(asset=asset, image=image, params=FAST, **fields),
        metadata=(("authorization", f"Bearer {key}"),), timeout=300)
    return next(call).event, channel, call


def test_another_creator_cannot_get_watch_or_cancel_my_job(secured):
    s, keys = secured
    first, channel, call = _start(s, keys["artist-a"], "iso/mine")
    job_id = first.job_id
    try:
        with _client(s, keys["artist-b"]) as b:
            unknown = "0" * 32
            with pytest.raises(NotFound) as missing:
                b.get_job(unknown)
            for attempt in (lambda: b.get_job(job_id), lambda: list(b.watch(job_id)), lambda: b.cancel(job_id)):
                with pytest.raises(NotFound) as err:
                    attempt()
                # the same answer as for an id that does not exist: ids do not reveal other callers' jobs
                assert str(err.value).replace(job_id, unknown) == str(missing.value)
        events = [first] + [r.event for r in call]  # A's stream runs to the end: B's cancel did nothing
        assert events[-1].HasField("version") and events[-1].version.author == "key:artist-a"
        with _client(s, keys["artist-a"]) as a:
            assert a.get_job(job_id).state == jobs_pb2.JOB_STATE_DONE
            assert [e.sequence for e in a.watch(job_id)] == [e.sequence for e in events]
        with _client(s, keys["boss"]) as admin:  # admins see every job
            assert admin.get_job(job_id).state == jobs_pb2.JOB_STATE_DONE
    finally:
        channel.close()


def test_request_ids_are_per_caller(secured):
    s, keys = secured
    with _client(s, keys["artist-a"]) as a, _client(s, keys["artist-b"]) as b:
        va = a.generate(CHAIR, "iso/a", FAST, request_id="shared-1")
        vb = b.generate(TEAPOT, "iso/b", FAST, request_id="shared-1")  # before: answered with A's version
        assert (va.asset, va.author) == ("iso/a", "key:artist-a")
        assert (vb.asset, vb.author, vb.number, vb.reused) == ("iso/b", "key:artist-b", 1, False)
        assert vb.job_id != va.job_id
        # each caller's retry still gets its own answer
        assert b.generate(TEAPOT, "iso/b", FAST, request_id="shared-1").job_id == vb.job_id
        assert a.generate(CHAIR, "iso/a", FAST, request_id="shared-1").job_id == va.job_id


@pytest.fixture(params=["auth", "no-auth"])
def caller(request, secured, server):
    """(server, api key or None) for both modes: with keys, and anonymous (the peer) without auth."""
    if request.param == "auth":
        s, keys = secured
        return s, keys["artist-a"]
    return server, None


def test_request_id_reused_with_another_payload_is_already_exists(caller):
    s, key = caller
    with Client(s.address, api_key=key, timeout=300) as c:
        first = c.generate(CHAIR, "iso/payload", FAST, request_id="payload-1")
        changed = [
            dict(image=TEAPOT, asset="iso/payload", params=FAST),  # another image
            dict(image=CHAIR, asset="iso/payload-other", params=FAST),  # another asset
            dict(image=CHAIR, asset="iso/payload", params=pb.GenerateParams(target_faces=1600)),  # other parameters
            dict(image=CHAIR, asset="iso/payload", params=pb.GenerateParams(target_faces=1500, seed=3)),
        ]
        for fields in changed:
            with pytest.raises(AlreadyExists, match="request_id 'payload-1' was already used by you for a different request"):
                c.generate(fields["image"], fields["asset"], fields["params"], request_id="payload-1")
        with pytest.raises(AlreadyExists, match="already used by you for a different request"):  # another kind
            _import(s, key, MESH.read_bytes(), "payload-1")
        again = c.generate(CHAIR, "iso/payload", FAST, request_id="payload-1")
        assert (again.job_id, again.number) == (first.job_id, first.number)
        with pytest.raises(NotFound):
            c.get_asset("iso/payload-other")


def _import(s, key, mesh: bytes, request_id: str):
    md = (("authorization", f"Bearer {key}"),) if key else ()
    with grpc.insecure_channel(s.address) as ch:
        try:
            list(ingest_pb2_grpc.IngestServiceStub(ch).Import(
                ingest_pb2.ImportRequest(asset="iso/payload", mesh=mesh, filename="x.obj", request_id=request_id),
                metadata=md, timeout=120))
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.ALREADY_EXISTS:
                raise AlreadyExists(err.details()) from None
            raise


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory):
    with fresh_pg_database() as (_, url):
        s = start_server(tmp_path_factory.mktemp("pg-server"), "--database-url", url, "--workers", "1", "--no-previews")
        yield s
        stop_server(s)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request):
    return request.getfixturevalue("server" if request.param == "sqlite" else "pg_server")


BAD_TEXT = [("author", "a" * 201), ("author", "a" * 10_000), ("author", "ann\x00"),
            ("request_id", "r" * 201), ("request_id", "r" * 10_000), ("request_id", "r\x00")]


@pytest.mark.parametrize("field,value", BAD_TEXT, ids=[f"{f}-{len(v)}{'-nul' if chr(0) in v else ''}" for f, v in BAD_TEXT])
def test_overlong_or_nul_author_and_request_id_are_invalid_before_any_work(any_server, field, value):
    """Issue 9.6: PostgreSQL answered INTERNAL (DataError); SQLite refused only after the whole pipeline ran."""
    events = []
    with any_server.client() as c:
        with pytest.raises(InvalidInput, match=field) as err:
            for event in c.generate_events(CHAIR, f"iso/bad-{field}", FAST, **{field: value}):
                events.append(event)
        assert events == [], "refused before a job was made"
        assert len(str(err.value)) < 400  # the message does not quote the whole value
        with pytest.raises(NotFound):
            c.get_asset(f"iso/bad-{field}")


@pytest.mark.parametrize("job_id,error,words", [
    ("a\x00" * 16, InvalidInput, "control character"),  # refused by the request check (meshsmith/limits.py)
    ("a" * 10_000, InvalidInput, "the limit is 64"),
    ("../" * 11, NotFound, "job ids are 32 hex digits"),
    ("", NotFound, "job ids are 32 hex digits"),
], ids=["nul", "10k", "dots", "empty"])
def test_malformed_job_ids_are_refused_briefly(any_server, job_id, error, words):
    with any_server.client() as c:
        for call in (lambda: c.get_job(job_id), lambda: list(c.watch(job_id)), lambda: c.cancel(job_id)):
            with pytest.raises(error, match=words) as err:  # says what an id looks like
                call()
            assert len(str(err.value)) < 400


# --- issue 18: upload ids belong to their uploader; the audit log names the caller, never the request's text ---

def _depth_png(image: bytes) -> bytes:
    """A 16-bit depth map (mm) the size of `image`: valid as GenerateRequest.depth."""
    import io

    import numpy as np
    from PIL import Image

    w, h = Image.open(io.BytesIO(image)).size
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w), 1500, np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def _audit(s, key: str | None, asset: str) -> list:
    from meshsmith.v1 import assets_pb2, assets_pb2_grpc

    md = (("authorization", f"Bearer {key}"),) if key else ()
    with grpc.insecure_channel(s.address) as ch:
        return list(assets_pb2_grpc.AssetServiceStub(ch).ListAuditEvents(
            assets_pb2.ListAuditEventsRequest(asset=asset), metadata=md, timeout=60).events)


@pytest.fixture(scope="module")
def a_uploads(secured):
    """Creator A's upload ids: a picture, a mesh and a depth map (A itself can use them)."""
    s, keys = secured
    with _client(s, keys["artist-a"]) as a:
        ids = {"image": a.upload(CHAIR, "chair.png"), "mesh": a.upload(MESH.read_bytes(), "suzanne.obj"),
               "depth": a.upload(_depth_png(TEAPOT), "depth.png")}
        own = a._call(a.ingest.Validate, ingest_pb2.ValidateRequest(upload_id=ids["mesh"], filename="suzanne.obj"))
        assert own.stats.faces > 0  # the uploader itself uses its id
    return ids


UPLOAD_USES = {  # what B tries with an upload id -> (which of A's uploads, the call, the asset it would make)
    "generate-image": ("image", lambda c, uid: list(c.generate_events(b"", "iso/upload-image", FAST, upload_id=uid)),
                       "iso/upload-image"),
    "generate-view": ("image", lambda c, uid: list(c.generate_events(
        CHAIR, "iso/upload-view", FAST, views=[ingest_pb2.ViewImage(label="back", upload_id=uid)])), "iso/upload-view"),
    "generate-depth": ("depth", lambda c, uid: list(c.generate_events(
        TEAPOT, "iso/upload-depth", FAST, depth=ingest_pb2.DepthMap(upload_id=uid, units="mm"))), "iso/upload-depth"),
    "import": ("mesh", lambda c, uid: list(c._stream(c.ingest.Import, ingest_pb2.ImportRequest(
        asset="iso/upload-import", upload_id=uid, filename="suzanne.obj"))), "iso/upload-import"),
    "validate": ("mesh", lambda c, uid: c._call(c.ingest.Validate, ingest_pb2.ValidateRequest(
        upload_id=uid, filename="suzanne.obj")), None),
}


@pytest.mark.parametrize("use", list(UPLOAD_USES))
def test_another_creators_upload_id_is_not_found_like_an_unknown_one(secured, a_uploads, use):
    """Before: creator B used creator A's upload ids in Generate (image, extra view, depth map), Import and
    Validate, all OK. Now each answers NOT_FOUND with the very message an unknown id gets."""
    s, keys = secured
    which, attempt, asset = UPLOAD_USES[use]
    theirs, unknown = a_uploads[which], "0" * 32
    with _client(s, keys["artist-b"]) as b:
        with pytest.raises(NotFound) as missing:
            attempt(b, unknown)
        with pytest.raises(NotFound) as err:
            attempt(b, theirs)
        assert str(err.value).replace(theirs, unknown) == str(missing.value)
        if asset:
            with pytest.raises(NotFound):
                b.get_asset(asset)


def test_an_uploader_uses_its_own_upload_with_and_without_auth(caller):
    """Without --auth the owner is the peer identity (anonymous@HOST): the same client still finds its id."""
    s, key = caller
    with Client(s.address, api_key=key, timeout=300) as c:
        upload_id = c.upload(MESH.read_bytes(), "suzanne.obj")
        got = c._call(c.ingest.Validate, ingest_pb2.ValidateRequest(upload_id=upload_id, filename="suzanne.obj"))
    assert got.stats.faces > 0


def test_the_audit_actor_is_the_callers_key_never_the_requests_author_text(secured):
    """Before: a creator sending author="key:boss" got audit events in the admin's name. The label is stored as
    what it is (history's author); the audit log names the key that called."""
    s, keys = secured
    with _client(s, keys["artist-a"]) as a:
        v = a.generate(CHAIR, "iso/spoof", FAST, author="key:boss")
        m = next(iter(_stream_import(s, keys["artist-a"], "iso/spoof-import", author="key:boss")))
    assert v.author == "key:boss" and m.author == "key:boss"  # the label, kept as given
    for asset in ("iso/spoof", "iso/spoof-import"):
        events = _audit(s, keys["boss"], asset)
        assert {e.action for e in events} == {"version.created", "channel.moved"}, events
        assert {e.actor for e in events} == {"key:artist-a"}, events
        created = next(e for e in events if e.action == "version.created")
        assert '"author": "key:boss"' in created.detail_json  # the label is visible, as a label


def _stream_import(s, key, asset: str, **fields):
    md = (("authorization", f"Bearer {key}"),) if key else ()
    with grpc.insecure_channel(s.address) as ch:
        for r in ingest_pb2_grpc.IngestServiceStub(ch).Import(
                ingest_pb2.ImportRequest(asset=asset, mesh=MESH.read_bytes(), filename="suzanne.obj", **fields),
                metadata=md, timeout=300):
            if r.event.HasField("version"):
                yield r.event.version


@pytest.fixture(params=["auth", "no-auth"])
def cli_caller(request, secured, server):
    """(server, CLI key arguments, the name the server knows that caller by)."""
    if request.param == "auth":
        s, keys = secured
        return s, ["--api-key", keys["boss"]], "key:boss"
    return server, [], "anonymous@127.0.0.1"


def test_one_caller_has_one_name_in_history_audit_and_promote(cli_caller, tmp_path):
    """Before: `meshsmith generate` sent the OS user name as the author (history said "root") while promote and
    the audit log said "anonymous@127.0.0.1". Now the CLI sends no author unless --author is given, and the
    server records the caller's identity everywhere; an explicit --author is kept as history's label only."""
    s, key_args, name = cli_caller
    image = tmp_path / "chair.png"
    image.write_bytes(CHAIR)
    asset = f"iso/one-name-{'key' if key_args else 'anon'}"
    run = lambda *args: subprocess.run([*CLI, *args, "--server", s.address, *key_args], capture_output=True,
                                       text=True, timeout=300, check=True)
    run("generate", str(image), "--name", asset, "--faces", "1500")
    run("generate", str(image), "--name", asset, "--faces", "1600", "--author", "ann (label)")
    out = run("promote", f"{asset}@1", "stable").stdout
    assert f"(moved by {name})" in out
    key = key_args[1] if key_args else None
    with Client(s.address, api_key=key, timeout=60) as c:
        authors = [v.author for v in c.history(asset)]
    assert authors == ["ann (label)", name]  # newest first
    events = _audit(s, key, asset)
    assert [(e.action, e.channel) for e in reversed(events)] == [
        ("version.created", ""), ("channel.moved", "latest"), ("version.created", ""), ("channel.moved", "latest"),
        ("channel.moved", "stable")]
    assert {e.actor for e in events} == {name}
