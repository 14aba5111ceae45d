"""The meshsmith server process: gRPC (+ health, reflection), durable jobs, and the HTTP endpoint."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from meshsmith.v1 import admin_pb2, admin_pb2_grpc, assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from meshsmith.v1 import jobs_pb2, jobs_pb2_grpc
from registry import Registry
from registry.keys import KeyStore
from server import http, web_api
from server.admin_service import AdminService
from server.asset_service import AssetService
from server.auth import AuthInterceptor, Authenticator
from server.call_limits import CallLimits
from server.ingest_service import IngestService
from server.job_kinds import generate_kind, import_kind
from server.job_service import JobService
from server.jobs import JobManager
from server.metrics import CONTENT_TYPE_LATEST, Metrics
from server.settings import Settings, split_address
from server.url_signing import UrlSigner, load_secret
from server.uploads import UploadStore
from server.workers import WorkerPool

log = logging.getLogger("meshsmith.server")

SERVICES = {
    "IngestService": ingest_pb2,
    "AssetService": assets_pb2,
    "JobService": jobs_pb2,
    "AdminService": admin_pb2,
}
SERVICE_NAMES = tuple(module.DESCRIPTOR.services_by_name[name].full_name for name, module in SERVICES.items())
READINESS_S = 5.0
DB_THREADS = 40  # >= the registry's pool (8 + 24 overflow) plus the job and upload work


def _credentials(s: Settings) -> grpc.ServerCredentials:
    ca = s.tls_client_ca.read_bytes() if s.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())], root_certificates=ca, require_client_auth=ca is not None
    )


class App:
    """Owns the registry, the worker pool, jobs and the servers; `start()` then `stop()`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.health = health.aio.HealthServicer()
        self.metrics = Metrics()
        self.registry: Registry | None = None
        self.pool: WorkerPool | None = None
        self.gpu_pool: WorkerPool | None = None  # learned jobs, when settings.gpu_pool_size > 0
        self.jobs: JobManager | None = None
        self.grpc: grpc.aio.Server | None = None
        self.http: web.AppRunner | None = None
        self.metrics_http: web.AppRunner | None = None
        self.port: int | None = None
        self._readiness: asyncio.Task | None = None

    async def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        # database work runs in the default executor: one thread per pooled connection, so slow queries
        # of one caller cannot leave the others without a thread
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db"))
        self.registry = Registry(s.db_url, s.blob_dir, statement_timeout_s=s.db_statement_timeout_s,
                                 pool_timeout_s=s.db_pool_timeout_s)
        await asyncio.to_thread(self.registry.migrate)
        # the pool that runs learned models loads torch before any preview is rendered (server/learned_tasks.py)
        learned = "server.learned_tasks"
        classical = learned if s.local_models and not s.gpu_pool_size else "server.tasks"
        self.pool = WorkerPool(s.workers, classical, max_queue=s.max_queue + s.workers,
                               memory_limit_mb=s.worker_memory_mb or None)
        if s.gpu_pool_size:
            self.gpu_pool = WorkerPool(s.gpu_pool_size, learned, max_queue=s.max_queue + s.gpu_pool_size,
                                       memory_limit_mb=s.worker_memory_mb or None, name="gpu")
        await asyncio.gather(*(p.start() for p in self._pools()))
        keys = KeyStore(self.registry.db)
        auth = Authenticator(keys, enabled=s.auth)
        uploads = UploadStore(s.data_dir / "uploads", max(s.max_image_bytes, s.max_mesh_bytes))
        await asyncio.to_thread(uploads.expire)
        kinds = {"generate": generate_kind(s, self.registry), "import": import_kind(s, self.registry)}
        self.jobs = JobManager(s, self.registry, self.pool, kinds, self.metrics, gpu_pool=self.gpu_pool)
        self.metrics.watch(self._pools(), self.jobs)
        signer = UrlSigner(load_secret(s.data_dir), s.signed_url_max_s) if s.auth else None
        http_base = f"{'https' if s.tls_cert else 'http'}://{s.http_address}" if s.http_address else ""

        options = [
            ("grpc.max_receive_message_length", s.max_message_bytes),
            ("grpc.max_send_message_length", s.max_message_bytes),
        ]
        # grpc.aio and the HTTP API run the same chain
        auth_interceptor = AuthInterceptor(auth)
        interceptors = [auth_interceptor, CallLimits(auth, s.max_reads_per_caller, s.db_pool_timeout_s)]
        self.grpc = grpc.aio.server(options=options, interceptors=interceptors)
        servicers = {  # one object per service, served by grpc.aio and by the HTTP API (server/web_api.py)
            ingest_pb2: IngestService(s, self.pool, self.jobs, uploads, auth),
            assets_pb2: AssetService(self.registry, self.pool, http_base, self.metrics, auth if s.auth else None, signer),
            jobs_pb2: JobService(self.jobs, auth),
            admin_pb2: AdminService(self.registry, keys, auth, self.jobs, s.gc_grace_s),
        }
        ingest_pb2_grpc.add_IngestServiceServicer_to_server(servicers[ingest_pb2], self.grpc)
        assets_pb2_grpc.add_AssetServiceServicer_to_server(servicers[assets_pb2], self.grpc)
        jobs_pb2_grpc.add_JobServiceServicer_to_server(servicers[jobs_pb2], self.grpc)
        admin_pb2_grpc.add_AdminServiceServicer_to_server(servicers[admin_pb2], self.grpc)
        api = web_api.WebApi(
            web_api.build_routes({module.DESCRIPTOR.services_by_name[name]: servicers[module]
                                  for name, module in SERVICES.items()}),
            interceptors, s.max_message_bytes, s.cors_origins, precheck=auth_interceptor.refusal)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.grpc)
        if s.tls_cert:
            self.port = self.grpc.add_secure_port(s.address, _credentials(s))
        else:
            self.port = self.grpc.add_insecure_port(s.address)
        await self.grpc.start()
        limits = http.HttpLimits(s.http_idle_timeout_s, s.http_max_connections, s.http_max_connections_per_peer)
        if s.http_address:
            tls = http.ssl_context(s.tls_cert, s.tls_key, s.tls_client_ca) if s.tls_cert else None
            host, port = split_address(s.http_address)
            self.http = await http.start_http(
                self.registry, host, port, [web.get("/metrics", self._metrics)],
                auth=http.HttpAuth(auth, signer) if s.auth else None, limits=limits, tls=tls, api=api,
                web_ui_dir=s.web_ui_dir)
        if s.metrics_address:
            host, port = split_address(s.metrics_address)
            self.metrics_http = await http.start_http(self.registry, host, port, limits=limits,
                                                      app=http.make_metrics_app(self._metrics))
        recovered = await self.jobs.recover()
        await self._set_health(True)
        self._readiness = asyncio.get_running_loop().create_task(self._watch_readiness())
        log.info(
            "meshsmith ready on %s:%d (%s%s, http %s%s%s, %d workers%s, data %s%s)",
            s.address.rpartition(":")[0], self.port, "tls" if s.tls_cert else "plaintext",
            ", api keys required" if s.auth else "", http_base or "off",
            (f", web app {http_base}/ui/" + ("" if ((s.web_ui_dir or http.WEB_UI_DIR) / "index.html").is_file()
                                             else " (not built: run `make install`)")) if http_base else "",
            f", metrics http://{s.metrics_address}/metrics" if s.metrics_address else "", s.workers,
            f" + {s.gpu_pool_size} for learned jobs" if self.gpu_pool else "", s.data_dir,
            f", {recovered} jobs re-queued" if recovered else "",
        )

    def _pools(self) -> list[WorkerPool]:
        return [p for p in (self.pool, self.gpu_pool) if p is not None]

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _set_health(self, ok: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def _ready(self) -> bool:
        """Workers warm and the database reachable. Only the classical pool counts: it runs every kind of job,
        and a GPU pool that is replacing a crashed worker must not take the classical jobs down with it."""
        if self.pool.ready < 1:
            return False
        try:
            await asyncio.to_thread(self.registry.schema_revision)
            return True
        except Exception:
            return False

    async def _watch_readiness(self) -> None:
        serving = True
        while True:
            await asyncio.sleep(READINESS_S)
            ok = await self._ready()
            if ok != serving:
                log.warning("readiness changed: %s", "serving" if ok else "NOT serving")
                await self._set_health(ok)
                serving = ok

    async def stop(self) -> None:
        """Graceful: NOT_SERVING, drain running jobs up to the grace period, then close everything.
        An idle server stops at once: nothing waits for a job, an RPC or a worker that is not there."""
        started = time.monotonic()
        phases: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.monotonic()
            phases[name] = now - since
            return now

        t = started
        if self._readiness:
            self._readiness.cancel()
        await self.health.enter_graceful_shutdown()
        if self.jobs:
            await self.jobs.drain(self.settings.grace_s)
        t = lap("jobs", t)
        if self.grpc:
            await self.grpc.stop(2)
        t = lap("grpc", t)
        for runner in (self.http, self.metrics_http):
            if runner:
                await runner.cleanup()
        t = lap("http", t)
        await asyncio.gather(*(pool.close() for pool in self._pools()))
        t = lap("workers", t)
        if self.registry:
            self.registry.close()
        lap("database", t)
        log.info("stopped in %.2f s (%s)", time.monotonic() - started,
                 ", ".join(f"{name} {secs:.2f} s" for name, secs in phases.items()))


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain for up to `settings.grace_s` seconds."""
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    await stop.wait()
    log.info("shutting down")
    await app.stop()
