"""Durable jobs: persisted before work starts, watched live or re-attached, cancellable, re-queued on restart.

A job runs as an asyncio task independent of the RPC that created it: a client
that disconnects can come back with WatchJob and get the stored events, then
the live ones. Cancelling the task kills its worker process (pool.stream), so
native work stops and no version is created.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from meshsmith.errors import Cancelled, MeshsmithError, ResourceExhausted, Unavailable
from meshsmith.v1 import types_pb2 as pb
from registry import Registry
from registry.jobs import JobRecord, JobStore
from server.settings import Settings
from server.workers import WorkerPool

log = logging.getLogger("meshsmith.jobs")


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job: the worker task, how to build its payload, how to store its output."""

    task: str
    payload: Callable[[JobRecord, bytes], object]  # (job, input bytes) -> worker payload
    store: Callable[[JobRecord, bytes, object], object]  # (job, input bytes, output) -> VersionRecord (runs in a thread)
    version_pb: Callable[[object], pb.Version]


class JobManager:
    def __init__(self, settings: Settings, registry: Registry, pool: WorkerPool, kinds: dict[str, JobKind], metrics=None):
        self.settings = settings
        self.registry = registry
        self.pool = pool
        self.kinds = kinds
        self.metrics = metrics
        self.store = JobStore(registry.db)
        self._tasks: dict[str, asyncio.Task] = {}
        self._watchers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._seq: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._per_caller: Counter[str] = Counter()
        self._reserved = 0
        self._closing = False

    @property
    def active(self) -> int:
        return len(self._tasks) + self._reserved

    # --- submitting and recovering ---

    async def submit(self, kind: str, asset: str, author: str, caller: str, data: bytes, request: dict,
                     request_id: str | None) -> tuple[JobRecord, bool]:
        """Persist the input blob and a queued job row, then start it. A known request_id returns its job."""
        if self._closing:
            raise Unavailable("the server is shutting down; retry in a moment")
        limit = self.settings.max_queue + self.settings.workers
        if self.active >= limit:
            raise ResourceExhausted(
                f"{self.active} jobs are queued or running (limit {limit}); retry in a few seconds"
            ).retry_after(5)
        if self._per_caller[caller] >= self.settings.max_jobs_per_caller:
            raise ResourceExhausted(
                f"you already have {self._per_caller[caller]} jobs in flight (limit {self.settings.max_jobs_per_caller} "
                "per caller); wait for some to finish"
            ).retry_after(2)
        # hold the slot from the check on: concurrent submits must not all pass it before any is launched
        self._reserved += 1
        self._per_caller[caller] += 1
        try:
            sha = await asyncio.to_thread(self.registry.blobs.put, data)
            rec, new = await asyncio.to_thread(
                self.store.create, uuid.uuid4().hex, kind, asset, author, caller, sha, request, request_id)
        finally:
            self._reserved -= 1
            self._per_caller[caller] -= 1
        if new:
            self._launch(rec, data, f"job {rec.id} queued")
        return rec, new

    async def recover(self) -> int:
        """Re-queue jobs that were queued or running when the server last stopped (bounded attempts)."""
        count = 0
        for rec in await asyncio.to_thread(self.store.unfinished):
            stored = await asyncio.to_thread(self.store.events, rec.id)
            self._seq[rec.id] = stored[-1][0] + 1 if stored else 0
            if rec.attempts >= self.settings.max_attempts:
                await self._finish(rec, "failed", error=MeshsmithError(
                    f"the server stopped {rec.attempts} times while running this job; giving up — retry it"))
                continue
            try:
                data = await asyncio.to_thread(self.registry.blobs.existing_path(rec.input_sha256).read_bytes)
            except (MeshsmithError, OSError):
                await self._finish(rec, "failed", error=MeshsmithError("the job's input is gone from the blob store"))
                continue
            self._launch(rec, data, f"job {rec.id} re-queued after a server restart (attempt {rec.attempts + 1})")
            count += 1
        return count

    def _launch(self, rec: JobRecord, data: bytes, message: str) -> None:
        self._started[rec.id] = time.monotonic()
        self._per_caller[rec.caller] += 1
        self._tasks[rec.id] = asyncio.get_running_loop().create_task(self._run(rec, data, message))

    # --- running ---

    async def _run(self, rec: JobRecord, data: bytes, message: str) -> None:
        kind = self.kinds[rec.kind]
        try:
            await self._emit(rec.id, "queued", 0.0, message)
            payload = kind.payload(rec, data)
            rec = await asyncio.to_thread(self.store.update, rec.id, state="running", attempts=rec.attempts + 1)
            out = None
            last = time.monotonic()
            async for what, value in self.pool.stream(kind.task, payload):
                if what == "progress":
                    stage, fraction, text = value
                    await self._emit(rec.id, stage, fraction, text)
                    if self.metrics:
                        self.metrics.stage_done(stage, time.monotonic() - last)
                    last = time.monotonic()
                else:
                    out = value
            if getattr(out, "preview_png", None):
                await self._emit(rec.id, "preview", 0.96, "preview",
                                 preview=pb.Preview(media_type="image/png", data=out.preview_png))
            await self._emit(rec.id, "store", 0.97, "storing the version")
            version = await asyncio.to_thread(kind.store, rec, data, out)
            word = "reused existing" if version.reused else "stored"
            await self._finish(rec, "done", version=version, message=f"{word} {rec.asset}@{version.number}")
        except asyncio.CancelledError:
            if self._closing:  # shutdown: leave it running in the database, recover() re-queues it
                raise
            await self._finish(rec, "cancelled", error=Cancelled("the job was cancelled; no version was created"))
        except MeshsmithError as err:
            await self._finish(rec, "failed", error=err)
        except Exception as err:
            log.exception("job %s failed unexpectedly", rec.id)
            await self._finish(rec, "failed", error=MeshsmithError(f"internal error: {type(err).__name__}; see server log"))
        finally:
            self._tasks.pop(rec.id, None)
            self._per_caller[rec.caller] -= 1
            for q in self._watchers.get(rec.id, ()):
                q.put_nowait(None)

    async def _finish(self, rec: JobRecord, state: str, version=None, error: MeshsmithError | None = None,
                      message: str = "") -> None:
        kind = self.kinds[rec.kind]
        fields = {"state": state}
        if version is not None:
            fields["version"] = version.number
        if error is not None:
            fields.update(error_code=error.status, error_message=error.message)
        await asyncio.to_thread(self.store.update, rec.id, **fields)
        if version is not None:
            await self._emit(rec.id, "done", 1.0, message, version=kind.version_pb(version))
        else:
            await self._emit(rec.id, state, 1.0, error.message, error=pb.Error(code=error.status, message=error.message))
        if self.metrics:
            self.metrics.job_finished(rec.kind, state)
        log.info("job %s %s: %s", rec.id, state, message or error.message, extra={"job_id": rec.id})

    async def _emit(self, job_id: str, stage: str, fraction: float, message: str, **payload) -> None:
        seq = self._seq.get(job_id, 0)
        self._seq[job_id] = seq + 1
        started = self._started.get(job_id, time.monotonic())
        event = pb.JobEvent(job_id=job_id, sequence=seq, stage=stage, fraction=fraction,
                            elapsed_ms=int((time.monotonic() - started) * 1000), message=message, **payload)
        await asyncio.to_thread(self.store.append_event, job_id, seq, event.SerializeToString())
        for q in self._watchers.get(job_id, ()):
            q.put_nowait(event)

    # --- watching and cancelling ---

    async def get(self, job_id: str) -> JobRecord:
        return await asyncio.to_thread(self.store.get, job_id)

    async def watch(self, job_id: str, from_sequence: int = 0) -> AsyncIterator[pb.JobEvent]:
        """Stored events from `from_sequence`, then live ones until the job ends."""
        await self.get(job_id)  # NotFound for unknown ids
        queue: asyncio.Queue = asyncio.Queue()
        self._watchers[job_id].add(queue)
        try:
            last = from_sequence - 1
            for seq, raw in await asyncio.to_thread(self.store.events, job_id, from_sequence):
                event = pb.JobEvent.FromString(raw)
                yield event
                last = seq
                if event.HasField("version") or event.HasField("error"):
                    return
            if job_id not in self._tasks:
                return
            while (event := await queue.get()) is not None:
                if event.sequence > last:
                    yield event
                    if event.HasField("version") or event.HasField("error"):
                        return
        finally:
            self._watchers[job_id].discard(queue)
            if not self._watchers[job_id]:
                self._watchers.pop(job_id, None)

    async def cancel(self, job_id: str) -> JobRecord:
        rec = await self.get(job_id)
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=30)
        elif not rec.final:  # orphaned row (no task): mark it
            await self._finish(rec, "cancelled", error=Cancelled("the job was cancelled; no version was created"))
        return await self.get(job_id)

    async def drain(self, grace_s: float) -> None:
        """Stop taking jobs, let running ones finish for up to grace_s, then stop the rest (re-queued on restart)."""
        self._closing = True
        tasks = list(self._tasks.values())
        if tasks:
            log.info("draining %d jobs for up to %.0f s", len(tasks), grace_s)
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=10)
