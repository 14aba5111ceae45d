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
