"""A table-driven fuzz corpus of bad request values (numbers, strings, version refs, list sizes) sent to real
servers on SQLite and on PostgreSQL: each gets its documented status (never INTERNAL), a short message, no
work is done for it, and the server stays healthy. The bounds themselves are generated through the real server.
"""

from __future__ import annotations

from contextlib import ExitStack

import math
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshsmith import limits
from meshsmith.v1 import admin_pb2, admin_pb2_grpc, assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import jobs_pb2, jobs_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from tests.conftest import IMAGES, MESHES
from tests.server.conftest import fresh_pg_database, start_server, stop_server

INVALID, NOT_FOUND, OK = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.OK
CHAIR = (IMAGES / "chair.png").read_bytes()
COW = (MESHES / "cow.obj").read_bytes()
ASSET = "fuzz/ok"  # imported once per server: refs and info calls hit a real asset
NEVER = "fuzz/never"  # every refused Generate/Import names this asset: it must never come to exist
U32, U64 = 2**32 - 1, 2**64 - 1
LONG = "a" * 10_001
CONTROL = ["a\x00b", "\x00", "a\x07b", "a\x1b[31mb", "a\x7fb", "a\x85b", "a\rb"]
BAD_TEXT = [LONG, *CONTROL]
BAD_REFS = ["99999999999999999999", "2147483648", "4294967295", "²", "١", "٣", "0", "-1", "1.5", "1e3", " 1", "+1",
            "0x1", "Ⅻ", "1\x00", "stable\x00", "a" * 300]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """A real server per database kind (PostgreSQL: a fresh random database), holding one version of ASSET."""
    with ExitStack() as stack:
        extra = []
        if request.param == "postgresql":
            extra = ["--database-url", stack.enter_context(fresh_pg_database())[1]]
        s = start_server(tmp_path_factory.mktemp(f"fuzz-{request.param}"), "--workers", "1", "--no-previews", *extra)
        stack.callback(stop_server, s)
        yield from _served(request.param, s)


def _served(kind: str, s):
    channel = grpc.insecure_channel(s.address, options=[("grpc.max_send_message_length", 64 * 2**20)])
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    events = list(ingest.Import(ingest_pb2.ImportRequest(asset=ASSET, mesh=COW, filename="cow.obj", lod_ratios=[1.0]),
                                timeout=300))
    assert events[-1].event.HasField("version"), events[-1]
    yield kind, s, channel
    channel.close()


def corpus(channel) -> list[tuple[str, str, object, grpc.StatusCode]]:
    """(class, case name, call, expected status) for every bad value; each call is one RPC."""
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    assets = assets_pb2_grpc.AssetServiceStub(channel)
    jobs = jobs_pb2_grpc.JobServiceStub(channel)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    T = 60

    def generate(params=None, **fields):
        fields.setdefault("asset", NEVER)
        if "image" not in fields and "upload_id" not in fields:
            fields["image"] = CHAIR
        req = ingest_pb2.GenerateRequest(params=params or pb.GenerateParams(target_faces=1000), **fields)
        return lambda: list(ingest.Generate(req, timeout=T))

    def import_(**fields):
        fields.setdefault("asset", NEVER)
        fields.setdefault("filename", "cow.obj")
        fields.setdefault("mesh", COW)
        return lambda: list(ingest.Import(ingest_pb2.ImportRequest(**fields), timeout=T))

    def unary(method, msg):
        return lambda: method(msg, timeout=T)

    def stream(method, msg):
        return lambda: list(method(msg, timeout=T))

    cases = []

    def add(cls, name, call, expected=INVALID):
        cases.append((cls, name, call, expected))

    # --- numbers ---
    sizes = [1e-12, 1e-9, 5e-324, 1e-300, 9.9e-5, 0.0, -0.0, -1.0, 10000.001, 1e5, 1e300, math.nan, math.inf, -math.inf]
    for field in ("target_height_m", "target_width_m", "depth_m"):
        for v in sizes:
            add("numbers", f"generate {field}={v!r}", generate(pb.GenerateParams(**{field: v})))
    for field, values in (("target_faces", [0, 1, 3, 2_000_001, U32]), ("texture_size", [0, 1, 15, 8193, U32]),
                          ("seed", [2**53, U64]), ("mode", [7, 99, 2**31 - 1])):
        for v in values:
            add("numbers", f"generate {field}={v}", generate(pb.GenerateParams(**{field: v})))
    for v in (0.0, -0.5, 1.5, 9e-5, math.nan, math.inf):
        add("numbers", f"generate lod_ratios=[{v}]", generate(pb.GenerateParams(lod_ratios=[v])))
        add("numbers", f"import lod_ratios=[{v}]", import_(lod_ratios=[v]))
    for v in (0.0, -1.0, 1e-300, 5e-324, 9e-7, 1.1e6, math.nan, math.inf):
        add("numbers", f"import unit_scale={v}", import_(unit_scale=v))
    for v in (1, 3, 2_000_001, U32):
        add("numbers", f"import target_faces={v}", import_(target_faces=v))
    for v in (1001, U32):
        add("numbers", f"list versions page_size={v}", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, page_size=v)))
        add("numbers", f"search limit={v}", unary(assets.SearchAssets, assets_pb2.SearchAssetsRequest(limit=v)))
        add("numbers", f"audit limit={v}", unary(assets.ListAuditEvents, assets_pb2.ListAuditEventsRequest(limit=v)))
    for v in (2**31, U32):
        add("numbers", f"list versions before_number={v}", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, before_number=v)))
        add("numbers", f"deprecate number={v}", unary(admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=ASSET, number=v)))
        add("numbers", f"watch from_sequence={v}", stream(jobs.WatchJob, jobs_pb2.WatchJobRequest(job_id="0" * 32, from_sequence=v)))
    add("numbers", "deprecate number=0", unary(admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=ASSET, number=0)))
    add("numbers", "watch from_sequence=2^64-1", stream(jobs.WatchJob, jobs_pb2.WatchJobRequest(job_id="0" * 32, from_sequence=U64)))
    for v in (17, U32):
        add("numbers", f"pull lod={v}", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, lod=v)))
        add("numbers", f"export lod={v}", stream(assets.ExportVersion, assets_pb2.ExportVersionRequest(asset=ASSET, lod=v)))
    add("numbers", "pull chunk_size=2^32-1", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, chunk_size=U32)))
    for v in (65, U32):
        add("numbers", f"batch concurrency={v}", stream(ingest.BatchGenerate, ingest_pb2.BatchGenerateRequest(
            items=[ingest_pb2.BatchItem(asset=NEVER, image=CHAIR)], concurrency=v)))
    for secs, nanos in ((2**62, 0), (-2**62, 0), (0, -1), (0, 10**9)):
        ts = timestamp_pb2.Timestamp(seconds=secs, nanos=nanos)
        add("numbers", f"list versions since=({secs}, {nanos})", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, since=ts)))
        add("numbers", f"list versions until=({secs}, {nanos})", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, until=ts)))
    add("numbers", "list versions verdict=99", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, verdict=99)))
    add("numbers", "create key role=99", unary(admin.CreateApiKey, admin_pb2.CreateApiKeyRequest(name="k", role=99)))

    # --- strings: too long, NUL and other control characters ---
    for i, v in enumerate(BAD_TEXT):
        tag = f"#{i} {limits.quote(v, 12)}"
        add("strings", f"generate author {tag}", generate(author=v))
        add("strings", f"generate request_id {tag}", generate(request_id=v))
        add("strings", f"generate upload_id {tag}", generate(upload_id=v, image=b""))
        add("strings", f"import author {tag}", import_(author=v))
        add("strings", f"import request_id {tag}", import_(request_id=v))
        add("strings", f"import filename {tag}", import_(filename=v))
        add("strings", f"validate filename {tag}", unary(ingest.Validate, ingest_pb2.ValidateRequest(mesh=COW, filename=v)))
        add("strings", f"upload header filename {tag}", lambda v=v: ingest.Upload(iter([ingest_pb2.UploadRequest(
            header=ingest_pb2.UploadHeader(filename=v, size=3, sha256="0" * 64))]), timeout=T))
        add("strings", f"batch author {tag}", stream(ingest.BatchGenerate, ingest_pb2.BatchGenerateRequest(
            items=[ingest_pb2.BatchItem(asset=NEVER, image=CHAIR)], author=v)))
        add("strings", f"batch item request_id {tag}", stream(ingest.BatchGenerate, ingest_pb2.BatchGenerateRequest(
            items=[ingest_pb2.BatchItem(asset=NEVER, image=CHAIR, request_id=v)])))
        add("strings", f"get job {tag}", unary(jobs.GetJob, jobs_pb2.GetJobRequest(job_id=v)))
        add("strings", f"watch job {tag}", stream(jobs.WatchJob, jobs_pb2.WatchJobRequest(job_id=v)))
        add("strings", f"cancel job {tag}", unary(jobs.CancelJob, jobs_pb2.CancelJobRequest(job_id=v)))
        add("strings", f"get asset {tag}", unary(assets.GetAsset, assets_pb2.GetAssetRequest(asset=v)))
        for field in ("author", "channel", "profile"):
            add("strings", f"list versions {field} {tag}", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, **{field: v})))
        add("strings", f"pull kind {tag}", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, kind=v)))
        add("strings", f"search prefix {tag}", unary(assets.SearchAssets, assets_pb2.SearchAssetsRequest(prefix=v)))
        add("strings", f"search tag {tag}", unary(assets.SearchAssets, assets_pb2.SearchAssetsRequest(tags=[v])))
        add("strings", f"lock base_url {tag}", unary(assets.ResolveLock, assets_pb2.ResolveLockRequest(specs=[ASSET], base_url=v)))
        add("strings", f"export format {tag}", stream(assets.ExportVersion, assets_pb2.ExportVersionRequest(asset=ASSET, format=v)))
        add("strings", f"audit asset {tag}", unary(assets.ListAuditEvents, assets_pb2.ListAuditEventsRequest(asset=v)))
        add("strings", f"move channel name {tag}", unary(admin.MoveChannel, admin_pb2.MoveChannelRequest(asset=ASSET, channel=v, ref="1")))
        add("strings", f"set tags {tag}", unary(admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(asset=ASSET, tags=[v], set_tags=True)))
        add("strings", f"create key name {tag}", unary(admin.CreateApiKey, admin_pb2.CreateApiKeyRequest(name=v, role=admin_pb2.ROLE_READER)))
        add("strings", f"revoke key {tag}", unary(admin.RevokeApiKey, admin_pb2.RevokeApiKeyRequest(id=v)))
        if v != "a\rb":  # free text: newlines are fine there
            add("strings", f"deprecate reason {tag}", unary(admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=ASSET, number=1, reason=v)))
            add("strings", f"description {tag}", unary(admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(asset=ASSET, description=v)))
    for n in (201, 300):
        add("strings", f"create key name of {n}", unary(admin.CreateApiKey, admin_pb2.CreateApiKeyRequest(name="k" * n, role=admin_pb2.ROLE_READER)))
        add("strings", f"generate author of {n}", generate(author="a" * n))
        add("strings", f"generate request_id of {n}", generate(request_id="r" * n))
    add("strings", "description of 10001", unary(admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(asset=ASSET, description="d" * 10_001)))
    add("strings", "deprecate reason of 1001", unary(admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=ASSET, number=1, reason="r" * 1001)))
    # within the caps: answered normally (NOT_FOUND or OK), nothing refused by mistake
    add("strings", "get job of 64 chars", unary(jobs.GetJob, jobs_pb2.GetJobRequest(job_id="f" * 64)), NOT_FOUND)
    add("strings", "revoke key of 64 chars", unary(admin.RevokeApiKey, admin_pb2.RevokeApiKeyRequest(id="f" * 64)), NOT_FOUND)
    add("strings", "list versions author of 200", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, author="a" * 200)), OK)
    add("strings", "create key name of 200", unary(admin.CreateApiKey, admin_pb2.CreateApiKeyRequest(name="k" * 200, role=admin_pb2.ROLE_READER)), OK)
    add("strings", "description with newlines and tabs", unary(admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(
        asset=ASSET, description="line one\n\tline two\r\n" + "d" * 9000)), OK)

    # --- version refs ---
    for ref in BAD_REFS:
        tag = limits.quote(ref, 24)
        add("refs", f"pull @{tag}", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, ref=ref)))
        add("refs", f"export @{tag}", stream(assets.ExportVersion, assets_pb2.ExportVersionRequest(asset=ASSET, ref=ref)))
        add("refs", f"diff 1..{tag}", unary(assets.DiffVersions, assets_pb2.DiffVersionsRequest(asset=ASSET, ref_a="1", ref_b=ref)))
        add("refs", f"diff {tag}..1", unary(assets.DiffVersions, assets_pb2.DiffVersionsRequest(asset=ASSET, ref_a=ref, ref_b="1")))
        add("refs", f"lock {ASSET}@{tag}", unary(assets.ResolveLock, assets_pb2.ResolveLockRequest(specs=[f"{ASSET}@{ref}"])))
        add("refs", f"move channel qa to {tag}", unary(admin.MoveChannel, admin_pb2.MoveChannelRequest(asset=ASSET, channel="qa", ref=ref)))
    for spec in (f"{ASSET}#lod١", f"{ASSET}#lod999", f"{ASSET}@1#lod99999999999999999999", f"{ASSET}@١#lod0"):
        add("refs", f"lock {spec}", unary(assets.ResolveLock, assets_pb2.ResolveLockRequest(specs=[spec])))
    for ref in ("2", "2147483647", "007"):  # in range, not there: NOT_FOUND (PostgreSQL took 2^31 as a DataError)
        add("refs", f"pull @{ref} (no such version)", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, ref=ref)), NOT_FOUND)
        add("refs", f"move channel qa to {ref} (no such version)", unary(admin.MoveChannel, admin_pb2.MoveChannelRequest(asset=ASSET, channel="qa", ref=ref)), NOT_FOUND)
    add("refs", "deprecate 2^31-1 (no such version)", unary(admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=ASSET, number=2**31 - 1)), NOT_FOUND)
    add("refs", "list versions before 2^31-1", unary(assets.ListVersions, assets_pb2.ListVersionsRequest(asset=ASSET, before_number=2**31 - 1)), OK)
    add("refs", "pull @1", stream(assets.PullArtifact, assets_pb2.PullArtifactRequest(asset=ASSET, ref="1")), OK)

    # --- list sizes ---
    tags = [f"t{i}" for i in range(100_000)]
    for n in (17, 200, 2000, 100_000):
        add("lists", f"search {n} tags", unary(assets.SearchAssets, assets_pb2.SearchAssetsRequest(tags=tags[:n])))
    add("lists", "search 16 tags", unary(assets.SearchAssets, assets_pb2.SearchAssetsRequest(tags=tags[:16])), OK)
    for n in (65, 1000):
        add("lists", f"set {n} tags", unary(admin.SetAssetInfo, admin_pb2.SetAssetInfoRequest(asset=ASSET, tags=tags[:n], set_tags=True)))
    for n in (9, 100_000):
        add("lists", f"generate {n} lod_ratios", generate(pb.GenerateParams(lod_ratios=[0.5] * n)))
        add("lists", f"import {n} lod_ratios", import_(lod_ratios=[0.5] * n))
    for n in (9, 10_000):
        add("lists", f"generate {n} profiles", generate(pb.GenerateParams(profiles=["default"] * n)))
        add("lists", f"import {n} profiles", import_(profiles=["default"] * n))
        add("lists", f"validate {n} profiles", unary(ingest.Validate, ingest_pb2.ValidateRequest(mesh=COW, filename="cow.obj", profiles=["default"] * n)))
    for n in (1001, 20_000):
        add("lists", f"lock {n} specs", unary(assets.ResolveLock, assets_pb2.ResolveLockRequest(specs=[ASSET] * n)))
        add("lists", f"batch {n} items", stream(ingest.BatchGenerate, ingest_pb2.BatchGenerateRequest(
            items=[ingest_pb2.BatchItem(asset=NEVER, upload_id="0" * 32)] * n)))
    add("lists", "lock 1000 specs", unary(assets.ResolveLock, assets_pb2.ResolveLockRequest(specs=[ASSET] * 1000)), OK)
    return cases


def run_cases(cases) -> list[tuple]:
    """Each (class, name, call, expected status) case called: (class, name, expected, got, details)."""
    out = []
    for cls, name, call, expected in cases:
        try:
            call()
            code, details = OK, ""
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""
        out.append((cls, name, expected, code, details))
    return out


def test_fuzz_corpus_gets_documented_statuses(served):
    backend, s, channel = served
    cases = corpus(channel)
    wrong, internal, long_messages = [], [], []
    for cls, name, expected, code, details in run_cases(cases):
        if code == grpc.StatusCode.INTERNAL:
            internal.append(f"{cls}: {name}: {details[:200]}")
        if code != expected:
            wrong.append(f"{cls}: {name}: expected {expected.name}, got {code.name}: {details[:200]}")
        elif code == INVALID:
            if not 15 < len(details) <= limits.MAX_MESSAGE_CHARS + 60:
                long_messages.append(f"{cls}: {name}: {len(details)} characters")
    counts = Counter(cls for cls, *_ in cases)
    print(f"\n{backend}: {len(cases)} cases, " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    assert not internal, f"{len(internal)} INTERNAL on {backend}:\n" + "\n".join(internal)
    assert not wrong, f"{len(wrong)} of {len(cases)} wrong on {backend}:\n" + "\n".join(wrong)
    assert not long_messages, "\n".join(long_messages)
    assert counts["numbers"] >= 100 and counts["strings"] >= 150 and counts["refs"] >= 100 and counts["lists"] >= 20
    # nothing was done for a refused request: no version of NEVER exists, the server is healthy
    with pytest.raises(grpc.RpcError) as err:
        assets_pb2_grpc.AssetServiceStub(channel).GetAsset(assets_pb2.GetAssetRequest(asset=NEVER), timeout=30)
    assert err.value.code() == NOT_FOUND
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING and s.process.poll() is None


def test_messages_quote_input_briefly(served):
    """100,000 lod_ratios or a 10,000-character id are named by their size, not echoed."""
    _, _, channel = served
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    jobs = jobs_pb2_grpc.JobServiceStub(channel)
    calls = [lambda: list(ingest.Import(ingest_pb2.ImportRequest(asset=NEVER, mesh=COW, filename="cow.obj",
                                                                 lod_ratios=[2.0] * 100_000), timeout=60)),
             lambda: jobs.GetJob(jobs_pb2.GetJobRequest(job_id="z" * 10_000), timeout=60),
             lambda: list(ingest.Generate(ingest_pb2.GenerateRequest(asset="a/" + "b" * 100_000, image=CHAIR), timeout=60))]
    for call in calls:
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == INVALID, err.value.details()
        assert 15 < len(err.value.details()) < 400, err.value.details()


def test_http_asset_refs_are_refused_with_400(served):
    """The HTTP redirect endpoint parses refs the same way: 400 with a message, never 500 (nor version 1 for '١')."""
    _, s, _ = served
    codes = {}
    for ref in BAD_REFS:
        url = f"http://{s.http}/assets/{ASSET}@{urllib.parse.quote(ref, safe='')}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=30) as r:
                codes[ref] = r.status
        except urllib.error.HTTPError as err:
            codes[ref] = err.code
    assert all(code == 400 for code in codes.values()), codes


@pytest.mark.parametrize("params, axis, size", [
    (pb.GenerateParams(target_faces=1000, target_height_m=1e-4, lod_ratios=[1.0, 0.5]), 1, 1e-4),
    (pb.GenerateParams(target_faces=1000, target_width_m=1e-4, lod_ratios=[1.0, 0.5]), 0, 1e-4),
    (pb.GenerateParams(target_faces=1000, target_height_m=1e4, lod_ratios=[1.0, 0.5]), 1, 1e4),
])
def test_size_bounds_generate_through_the_server(served, params, axis, size):
    """The bounds themselves are safe: a 0.1 mm and a 10 km object are generated, LODs (Hausdorff) included."""
    backend, s, channel = served
    if backend != "sqlite":
        pytest.skip("worker behaviour does not depend on the database")
    ingest = ingest_pb2_grpc.IngestServiceStub(channel)
    events = list(ingest.Generate(ingest_pb2.GenerateRequest(asset=f"fuzz/bound-{axis}-{size:g}", image=CHAIR,
                                                             params=params), timeout=300))
    version = events[-1].event.version
    assert version.number == 1 and len([a for a in version.artifacts if a.kind == "glb"]) == 2
    lo, hi = version.stats.bbox_min, version.stats.bbox_max
    extent = [hi.x - lo.x, hi.y - lo.y, hi.z - lo.z][axis]
    assert extent == pytest.approx(size, rel=1e-3)
    assert s.process.poll() is None
