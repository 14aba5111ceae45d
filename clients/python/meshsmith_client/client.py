"""A small synchronous client for the meshsmith gRPC API."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import grpc

from meshsmith import limits
from meshsmith.errors import BY_STATUS, DataLoss, MeshsmithError
from meshsmith.v1 import admin_pb2, admin_pb2_grpc, assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import jobs_pb2, jobs_pb2_grpc
from meshsmith.v1 import types_pb2 as pb

DEFAULT_SERVER = "127.0.0.1:50051"
MAX_MESSAGE = 64 * 2**20


# how gRPC core words "nothing listens there" (refused, unresolvable host, no route, connect timeout)
_NO_SERVER_WORDS = ("failed to connect to all addresses", "dns resolution failed", "errors resolving", "connection refused",
                    "no route to host", "name or service not known", "deadline exceeded while connecting")


def error_from_rpc(err: grpc.RpcError, server: str | None = None) -> MeshsmithError:
    """The meshsmith error class matching a failed call's status. UNAVAILABLE because no server answers at
    `server` says so in words, with what to do, instead of gRPC core's "failed to connect to all addresses"."""
    code = err.code().name if err.code() else "UNKNOWN"
    cls = BY_STATUS.get(code, MeshsmithError)
    details = err.details() or code
    if server and code == "UNAVAILABLE" and any(w in details.lower() for w in _NO_SERVER_WORDS):
        details = (f"no meshsmith server answers at {server}: start one with `meshsmith serve` or pass "
                   f"--server HOST:PORT / MESHSMITH_SERVER (gRPC said: {details[:200]})")
    exc = cls(details)
    exc.status = code
    return exc


class _ThreadedSha256:
    """sha256 of the chunks fed to it, computed on a helper thread while the next chunks arrive
    (hashlib releases the GIL; without SHA CPU extensions hashing is as slow as the transfer)."""

    def __init__(self):
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._hash = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="pull-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return self._hash.hexdigest()


@dataclass(frozen=True)
class Pulled:
    version: pb.Version
    artifact: pb.Artifact
    data: bytes
    # exports: what the print sizing chose (scale, size_mm, orient/rotation, printer/bed_mm), from the server's
    # "meshsmith-placement" trailer; {} for pulls and for servers that do not send it
    placement: dict = field(default_factory=dict)


class Client:
    """`Client("127.0.0.1:50051")`; every failed call raises a `meshsmith.errors.MeshsmithError`."""

    def __init__(self, server: str | None = None, api_key: str | None = None, timeout: float | None = None,
                 tls_ca: str | None = None, tls_cert: str | None = None, tls_key: str | None = None):
        """TLS when `tls_ca` (PEM file of the server's CA) is given; mTLS with `tls_cert` + `tls_key` too.
        Defaults come from MESHSMITH_SERVER, MESHSMITH_API_KEY, MESHSMITH_TLS_CA/CERT/KEY."""
        env = os.environ
        self.server = server or env.get("MESHSMITH_SERVER") or DEFAULT_SERVER
        self.api_key = api_key or env.get("MESHSMITH_API_KEY")
        self.timeout = timeout
        options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]
        tls_ca = tls_ca or env.get("MESHSMITH_TLS_CA")
        if tls_ca:
            tls_cert, tls_key = tls_cert or env.get("MESHSMITH_TLS_CERT"), tls_key or env.get("MESHSMITH_TLS_KEY")
            creds = grpc.ssl_channel_credentials(
                root_certificates=open(tls_ca, "rb").read(),
                private_key=open(tls_key, "rb").read() if tls_key else None,
                certificate_chain=open(tls_cert, "rb").read() if tls_cert else None,
            )
            self.channel = grpc.secure_channel(self.server, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(self.server, options=options)
        self.ingest = ingest_pb2_grpc.IngestServiceStub(self.channel)
        self.assets = assets_pb2_grpc.AssetServiceStub(self.channel)
        self.jobs = jobs_pb2_grpc.JobServiceStub(self.channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def _metadata(self):
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else None

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise error_from_rpc(err, self.server) from None

    def _stream(self, method, request):
        try:
            yield from method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise error_from_rpc(err, self.server) from None

    def generate_events(self, image: bytes, asset: str, params: pb.GenerateParams | None = None, **fields) -> Iterator[pb.JobEvent]:
        """Stream the job's events; a failure raises after its error event was yielded."""
        request = ingest_pb2.GenerateRequest(image=image, asset=asset, params=params, **fields)
        for response in self._stream(self.ingest.Generate, request):
            yield response.event

    INLINE_LIMIT = 3 * 2**20  # extra inputs larger than this go through Upload (one message is at most 4 MiB)

    def extra_inputs(self, views=(), depth: bytes | None = None, depth_units: str = "") -> dict:
        """GenerateRequest fields for extra views [(label, image bytes)] and a depth map; large files are uploaded."""
        fields: dict = {}
        if views:
            fields["views"] = [
                ingest_pb2.ViewImage(label=label, upload_id=self.upload(data, f"view-{label}"))
                if len(data) > self.INLINE_LIMIT else ingest_pb2.ViewImage(label=label, image=data)
                for label, data in views
            ]
        if depth is not None:
            fields["depth"] = (ingest_pb2.DepthMap(upload_id=self.upload(depth, "depth"), units=depth_units)
                               if len(depth) > self.INLINE_LIMIT else ingest_pb2.DepthMap(data=depth, units=depth_units))
        return fields

    def generate(self, image: bytes, asset: str, params: pb.GenerateParams | None = None,
                 on_event: Callable[[pb.JobEvent], None] | None = None, **fields) -> pb.Version:
        """Run a generation to the end and return the stored version."""
        version = None
        for event in self.generate_events(image, asset, params, **fields):
            if on_event:
                on_event(event)
            if event.HasField("version"):
                version = event.version
        if version is None:
            raise MeshsmithError("the stream ended without a version")
        return version

    def pull(self, asset: str, ref: str = "latest", kind: str = "glb", lod: int = 0) -> Pulled:
        """Fetch one artifact and verify its size and sha256 (DataLoss on mismatch)."""
        request = assets_pb2.PullArtifactRequest(asset=asset, ref=ref, kind=kind, lod=lod)
        return self._download(self.assets.PullArtifact, request)

    def export(self, asset: str, ref: str = "latest", fmt: str = "stl", lod: int = 0, **sizing) -> Pulled:
        """A version converted to `fmt` (stl/obj/3mf in millimetres, Z up), verified like a pull.

        `sizing`: ExportVersionRequest's print fields (scale, height_mm, max_mm, fit, bed, margin_mm, orient).
        """
        request = assets_pb2.ExportVersionRequest(asset=asset, ref=ref, format=fmt, lod=lod, **sizing)
        return self._download(self.assets.ExportVersion, request)

    def _download(self, method, request) -> Pulled:
        header, chunks = None, []
        hasher = _ThreadedSha256()
        calls = []

        def parts():
            try:
                call = method(request, timeout=self.timeout, metadata=self._metadata)
                calls.append(call)
                yield from call
            except grpc.RpcError as err:
                raise error_from_rpc(err, self.server) from None

        try:
            for part in parts():
                if part.HasField("header"):
                    header = part.header
                else:
                    chunks.append(part.chunk)
                    hasher.update(part.chunk)
        finally:
            digest = hasher.hexdigest()
        data = b"".join(chunks)
        if header is None:
            raise DataLoss("the server sent no header")
        if len(data) != header.artifact.size or digest != header.artifact.sha256:
            raise DataLoss(
                f"pulled {len(data)} bytes with sha256 {digest}, expected {header.artifact.size} bytes "
                f"with sha256 {header.artifact.sha256}"
            )
        trailers = dict(calls[0].trailing_metadata() or ()) if calls else {}
        placement = json.loads(trailers["meshsmith-placement"]) if "meshsmith-placement" in trailers else {}
        return Pulled(header.version, header.artifact, data, placement)

    def history(self, asset: str, **filters) -> list[pb.Version]:
        return list(self._call(self.assets.ListVersions, assets_pb2.ListVersionsRequest(asset=asset, **filters)).versions)

    def list_backends(self) -> list[ingest_pb2.BackendInfo]:
        """The server's reconstruction backends (classical and learned): available or not, and why."""
        return list(self._call(self.ingest.ListBackends, ingest_pb2.ListBackendsRequest()).backends)

    def cutout(self, image: bytes) -> ingest_pb2.CutoutResponse:
        """The mask Generate would cut `image` out with (mask_png, used, lineage, warnings); nothing is stored."""
        return self._call(self.ingest.Cutout, ingest_pb2.CutoutRequest(image=image))

    def get_asset(self, asset: str) -> pb.Asset:
        return self._call(self.assets.GetAsset, assets_pb2.GetAssetRequest(asset=asset)).asset

    def validate(self, mesh: bytes, filename: str, profiles: list[str] | None = None, units: str = "",
                 up: str = "") -> ingest_pb2.ValidateResponse:
        return self._call(self.ingest.Validate, ingest_pb2.ValidateRequest(mesh=mesh, filename=filename, profiles=profiles,
                                                                           units=units, up=up))

    def upload(self, data: bytes, filename: str, chunk: int = 1024 * 1024) -> str:
        """Send a file in chunks (checked by sha256); returns the upload_id to reference it by."""
        header = ingest_pb2.UploadHeader(filename=filename, size=len(data), sha256=hashlib.sha256(data).hexdigest())

        def parts():
            yield ingest_pb2.UploadRequest(header=header)
            for i in range(0, len(data), chunk):
                yield ingest_pb2.UploadRequest(chunk=data[i : i + chunk])

        return self._call(self.ingest.Upload, parts()).upload_id

    def watch(self, job_id: str, from_sequence: int = 0) -> Iterator[pb.JobEvent]:
        for response in self._stream(self.jobs.WatchJob, jobs_pb2.WatchJobRequest(job_id=job_id, from_sequence=from_sequence)):
            yield response.event

    def cancel(self, job_id: str) -> jobs_pb2.Job:
        return self._call(self.jobs.CancelJob, jobs_pb2.CancelJobRequest(job_id=job_id)).job

    def get_job(self, job_id: str) -> jobs_pb2.Job:
        return self._call(self.jobs.GetJob, jobs_pb2.GetJobRequest(job_id=job_id)).job

    def batch(self, request: ingest_pb2.BatchGenerateRequest) -> Iterator[ingest_pb2.BatchGenerateResponse]:
        yield from self._stream(self.ingest.BatchGenerate, request)

    def search(self, prefix: str, tags: list[str] | None = None, limit: int = 50, text: str = "") -> list[pb.Asset]:
        """Assets by name prefix, tags and (`text`) words in a version's caption."""
        request = assets_pb2.SearchAssetsRequest(prefix=prefix, tags=tags, limit=limit, text=text)
        return list(self._call(self.assets.SearchAssets, request).assets)

    def diff(self, asset: str, ref_a: str, ref_b: str) -> assets_pb2.DiffVersionsResponse:
        return self._call(self.assets.DiffVersions, assets_pb2.DiffVersionsRequest(asset=asset, ref_a=ref_a, ref_b=ref_b))

    def resolve_lock(self, specs: list[str], base_url: str = "", expires_s: int = 0) -> assets_pb2.ResolveLockResponse:
        """Pinned entries; their URLs are signed for `expires_s` seconds when the server requires keys (0: the
        server's default, 3600 s; a negative or past 86400 is InvalidInput, not protobuf's ValueError)."""
        limits.check("url_expires_s", expires_s)
        request = assets_pb2.ResolveLockRequest(specs=specs, base_url=base_url, url_expires_s=expires_s)
        return self._call(self.assets.ResolveLock, request)

    def url(self, spec: str, expires_s: int = 0, base_url: str = "") -> str:
        """The HTTP URL of `name[@ref][#lodK]`'s blob; signed (no key header needed) for `expires_s` seconds
        (0: the server's default) when the server requires API keys."""
        return self.resolve_lock([spec], base_url, expires_s).entries[0].url

    def move_channel(self, asset: str, channel: str, ref: str) -> pb.Channel:
        return self._call(self.admin.MoveChannel, admin_pb2.MoveChannelRequest(asset=asset, channel=channel, ref=ref)).channel

    def deprecate(self, asset: str, number: int, reason: str = "") -> pb.Version:
        return self._call(self.admin.DeprecateVersion, admin_pb2.DeprecateVersionRequest(asset=asset, number=number, reason=reason)).version

    def gc(self, dry_run: bool = True) -> admin_pb2.CollectGarbageResponse:
        return self._call(self.admin.CollectGarbage, admin_pb2.CollectGarbageRequest(dry_run=dry_run))

    def audit(self) -> admin_pb2.AuditBlobsResponse:
        return self._call(self.admin.AuditBlobs, admin_pb2.AuditBlobsRequest())
