"""The meshsmith server process: gRPC (+ health, reflection) and the HTTP pull endpoint."""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from meshsmith.v1 import assets_pb2, assets_pb2_grpc, ingest_pb2, ingest_pb2_grpc
from registry import Registry
from server.services import AssetService, IngestService
from server.settings import Settings
from server.workers import WorkerPool

log = logging.getLogger("meshsmith.server")

SERVICE_NAMES = (
    ingest_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name,
    assets_pb2.DESCRIPTOR.services_by_name["AssetService"].full_name,
)


class App:
    """Owns the registry, the worker pool and the servers; `start()` then `wait()`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry: Registry | None = None
        self.pool: WorkerPool | None = None
        self.grpc: grpc.aio.Server | None = None
        self.http = None
        self.health = health.aio.HealthServicer()
        self.port: int | None = None

    async def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(s.db_url, s.blob_dir)
        await asyncio.to_thread(self.registry.migrate)
        self.pool = WorkerPool(s.workers, max_queue=s.max_queue)
        await self.pool.start()

        options = [
            ("grpc.max_receive_message_length", s.max_message_bytes),
            ("grpc.max_send_message_length", s.max_message_bytes),
        ]
        self.grpc = grpc.aio.server(options=options)
        ingest_pb2_grpc.add_IngestServiceServicer_to_server(IngestService(s, self.registry, self.pool), self.grpc)
        assets_pb2_grpc.add_AssetServiceServicer_to_server(AssetService(self.registry), self.grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.grpc)
        self.port = self.grpc.add_insecure_port(s.address)
        if not self.port:
            raise OSError(f"cannot listen on {s.address}")
        await self.grpc.start()
        if s.http_address:
            from server.http import start_http

            host, _, port = s.http_address.rpartition(":")
            self.http = await start_http(self.registry, host, int(port))
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        host = s.address.rpartition(":")[0]
        log.info(
            "meshsmith ready on %s:%d (http %s, %d workers, data %s)",
            host, self.port, s.http_address or "off", s.workers, s.data_dir,
        )

    async def stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        if self.grpc:
            await self.grpc.stop(self.settings.grace_s)
        if self.http:
            await self.http.cleanup()
        if self.pool:
            await self.pool.close()
        if self.registry:
            self.registry.close()


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
