"""Durable jobs: persisted before work starts, watched live or re-attached, cancellable, re-queued on restart.

A job runs as an asyncio task independent of the RPC that created it: a client
that disconnects can come back with WatchJob and get the stored events, then
the live ones. Cancelling the task kills its worker process (pool.stream), so
native work stops and no version is created.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from meshsmith.errors import Cancelled, MeshsmithError, NotFound, ResourceExhausted, Unavailable
from meshsmith.v1 import types_pb2 as pb
from registry import NewVersion, Registry
from registry.db import DEADLINE
from registry.jobs import JobRecord, JobStore, check_fields
from registry.versions import idem_key
from server.settings import Settings
from server.workers import WorkerPool

log = logging.getLogger("meshsmith.jobs")
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0


def _final(event: pb.JobEvent) -> bool:
    return event.HasField("version") or event.HasField("error")


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job: the worker task, how to build its payload, how to store its output."""

    task: str
    payload: Callable[[JobRecord, bytes], object]  # (job, input bytes) -> worker payload (runs in a thread)
    store: Callable[[JobRecord, bytes, object], object]  # (job, input bytes, output) -> VersionRecord (runs in a thread)
    version_pb: Callable[[object], pb.Version]
    runs_models: Callable[[object], bool] = lambda payload: False  # True: the GPU pool runs it (when there is one)
    # (job, input bytes) -> the job's version as far as it is known before any work (a hosted backend's key fields:
    # an identical earlier request's version answers it with no vendor call, no bill), or None to run the job
    # (runs in a thread). While a job with that version's idempotence key runs, an identical one waits for it
    # (in no worker), then is answered by the version it stored, or runs itself if the first made none.
    precall: Callable[[JobRecord, bytes], NewVersion | None] = lambda rec, data: None


class JobManager:
    def __init__(self, settings: Settings, registry: Registry, pool: WorkerPool, kinds: dict[str, JobKind], metrics=None,
                 gpu_pool: WorkerPool | None = None):
        self.settings = settings
        self.registry = registry
        self.pool = pool
        self.gpu_pool = gpu_pool  # jobs that run learned models; None: they share `pool`
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
        self._unsaved: dict[str, pb.JobEvent] = {}  # final events the database has not taken yet
        self._in_flight: dict[str, tuple[str, asyncio.Task]] = {}  # precall key -> (job id, its task) running it

    @property
    def active(self) -> int:
        return len(self._tasks) + self._reserved

    # --- submitting and recovering ---

    async def submit(self, kind: str, asset: str, author: str, caller: str, data: bytes, request: dict,
                     request_id: str | None, notes: tuple[tuple[str, str], ...] = ()) -> tuple[JobRecord, bool]:
        """Persist the input blob and a queued job row, then start it. A known request_id returns its job.
        notes: (stage, message) events a new job says right after "queued" (e.g. what `--backend auto` chose)."""
        if self._closing:
            raise Unavailable("the server is shutting down; retry in a moment")
        check_fields(asset, author, caller, request_id, request)  # before the input blob is written
        limit = self.settings.max_queue + self.settings.workers + (self.gpu_pool.size if self.gpu_pool else 0)
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
            self._launch(rec, data, f"job {rec.id} queued", notes)
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

    def _launch(self, rec: JobRecord, data: bytes, message: str, notes: tuple[tuple[str, str], ...] = ()) -> None:
        self._started[rec.id] = time.monotonic()
        self._per_caller[rec.caller] += 1
        self._tasks[rec.id] = asyncio.get_running_loop().create_task(self._run(rec, data, message, notes))

    async def _db(self, fn, *args, **kwargs):
        """Run a registry call in a thread; while the database is unreachable (Unavailable), retry with
        exponential backoff for up to settings.db_retry_s, then raise."""
        delay, end = RETRY_FIRST_S, time.monotonic() + self.settings.db_retry_s
        while True:
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except Unavailable as err:
                if time.monotonic() + delay > end:
                    raise Unavailable(f"the database stayed unreachable for {self.settings.db_retry_s:.0f} s: "
                                      f"{err.message}") from err
                log.warning("database call %s failed (%s); retrying in %.1f s", getattr(fn, "__name__", fn),
                            err.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    # --- running ---

    async def _run(self, rec: JobRecord, data: bytes, message: str, notes: tuple[tuple[str, str], ...] = ()) -> None:
        DEADLINE.set(None)  # a job outlives the RPC that started it: not bound by that call's deadline
        kind = self.kinds[rec.kind]
        key = None
        try:
            await self._emit(rec.id, "queued", 0.0, message)
            for stage, note in notes:
                await self._emit(rec.id, stage, 0.0, note)
            payload = await self._db(kind.payload, rec, data)  # in a thread: generate reads the asset's latest size
            pre = await asyncio.to_thread(kind.precall, rec, data)
            key = await self._claim(rec, None if pre is None else f"{rec.asset}\n{idem_key(pre)}")
            # after the claim: sees what a first job stored
            version = None if pre is None else await self._db(self.registry.reusable_version, pre)
            if version is not None:
                await self._emit(rec.id, "store", 0.97, f"an identical request made {rec.asset}@{version.number}: "
                                 "reused before running (nothing sent to the vendor)")
                await self._finish(rec, "done", version=version, message=f"reused existing {rec.asset}@{version.number}")
                return
            rec = await self._db(self.store.update, rec.id, state="running", attempts=rec.attempts + 1)
            out = None
            last = time.monotonic()
            pool = self.gpu_pool if self.gpu_pool is not None and kind.runs_models(payload) else self.pool
            async for what, value in pool.stream(kind.task, payload):
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
            # idempotent (request id / same-input reuse), so a retry after a lost commit answers the same version
            version = await self._db(kind.store, rec, data, out)
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
            if key is not None and self._in_flight.get(key, (None,))[0] == rec.id:
                del self._in_flight[key]
            self._tasks.pop(rec.id, None)
            self._per_caller[rec.caller] -= 1
            for q in self._watchers.get(rec.id, ()):
                q.put_nowait(None)

    async def _claim(self, rec: JobRecord, key: str | None) -> str | None:
        """Wait while another job with this in-flight key runs (an awaited task: no worker held, cancelling
        either job ends only that one's wait or run), then hold the key for this job; returns it (None: no key).
        Checking and taking the key happen with no await between them, so one job at a time holds it."""
        while key is not None and (first := self._in_flight.get(key)) is not None:
            first_id, task = first
            await self._emit(rec.id, "queued", 0.0, f"an identical request is running as job {first_id}: waiting "
                             "for its result instead of sending the picture to the vendor again")
            await asyncio.wait([task])  # not cancelled with this job: asyncio.wait leaves the awaited task alone
        if key is not None:
            self._in_flight[key] = (rec.id, asyncio.current_task())
        return key

    async def _finish(self, rec: JobRecord, state: str, version=None, error: MeshsmithError | None = None,
                      message: str = "") -> None:
        """Record the final state and event; watchers get the final event even while the database is away
        (it is then saved in the background once the database is back)."""
        kind = self.kinds[rec.kind]
        fields = {"state": state}
        if version is not None:
            fields["version"] = version.number
        if error is not None:
            fields.update(error_code=error.status, error_message=error.message)
        if version is not None:
            event = self._event(rec.id, "done", 1.0, message, version=kind.version_pb(version))
        else:
            event = self._event(rec.id, state, 1.0, error.message, error=pb.Error(code=error.status, message=error.message))
        try:
            await self._save_final(rec.id, fields, event)
        except Exception as err:  # keep it in memory, tell the watchers, save it when the database is back
            log.error("job %s: could not record its final state %s (%s); retrying in the background", rec.id, state, err)
            self._unsaved[rec.id] = event
            asyncio.get_running_loop().create_task(self._save_later(rec.id, fields, event))
        for q in self._watchers.get(rec.id, ()):
            q.put_nowait(event)
        if self.metrics:
            self.metrics.job_finished(rec.kind, state)
        log.info("job %s %s: %s", rec.id, state, message or error.message, extra={"job_id": rec.id})

    async def _save_final(self, job_id: str, fields: dict, event: pb.JobEvent) -> None:
        await self._db(self.store.update, job_id, **fields)
        await self._db(self.store.append_event, job_id, event.sequence, event.SerializeToString())

    async def _save_later(self, job_id: str, fields: dict, event: pb.JobEvent) -> None:
        while not self._closing:
            await asyncio.sleep(RETRY_MAX_S)
            try:
                await self._save_final(job_id, fields, event)
            except Exception as err:
                log.warning("job %s: final state still not saved (%s)", job_id, err)
                continue
            self._unsaved.pop(job_id, None)
            log.info("job %s: final state saved after the database came back", job_id)
            return

    def _event(self, job_id: str, stage: str, fraction: float, message: str, **payload) -> pb.JobEvent:
        seq = self._seq.get(job_id, 0)
        self._seq[job_id] = seq + 1
        started = self._started.get(job_id, time.monotonic())
        return pb.JobEvent(job_id=job_id, sequence=seq, stage=stage, fraction=fraction,
                           elapsed_ms=int((time.monotonic() - started) * 1000), message=message, **payload)

    async def _emit(self, job_id: str, stage: str, fraction: float, message: str, **payload) -> None:
        event = self._event(job_id, stage, fraction, message, **payload)
        await self._db(self.store.append_event, job_id, event.sequence, event.SerializeToString())
        for q in self._watchers.get(job_id, ()):
            q.put_nowait(event)

    # --- watching and cancelling ---

    async def get(self, job_id: str, who=None) -> JobRecord:
        """The job; NotFound when it does not exist or `who` (an auth Identity; None: the server itself)
        neither made it nor is an admin — the same answer, so ids do not reveal other callers' jobs."""
        rec = await asyncio.to_thread(self.store.get, job_id)
        if who is not None and who.role != "admin" and rec.caller != who.name:
            raise NotFound(f"no job {job_id!r}; job ids are printed by `meshsmith generate` and sent in every event")
        return rec

    async def watch(self, job_id: str, from_sequence: int = 0, who=None) -> AsyncIterator[pb.JobEvent]:
        """Stored events from `from_sequence`, then live ones, ending with the final event (a version or an
        error); Unavailable when the job has no final state to tell (never a silent end)."""
        await self.get(job_id, who)  # NotFound for unknown ids and other callers' jobs
        queue: asyncio.Queue = asyncio.Queue()
        self._watchers[job_id].add(queue)
        try:
            last = from_sequence - 1
            for seq, raw in await asyncio.to_thread(self.store.events, job_id, from_sequence):
                event = pb.JobEvent.FromString(raw)
                yield event
                last = seq
                if _final(event):
                    return
            if job_id in self._tasks:
                while (event := await queue.get()) is not None:
                    if event.sequence > last:
                        yield event
                        last = event.sequence
                        if _final(event):
                            return
            # the job ended (or runs nowhere) and no final event reached us: it may be stored or held unsaved
            if (event := self._unsaved.get(job_id)) is not None:
                yield event
                return
            for seq, raw in await asyncio.to_thread(self.store.events, job_id, last + 1):
                event = pb.JobEvent.FromString(raw)
                yield event
                if _final(event):
                    return
            rec = await self.get(job_id)
            raise Unavailable(f"job {job_id} is {rec.state} but this server is not running it and it has no result "
                              f"yet; it is re-queued when the server restarts — watch it again with `meshsmith watch {job_id}`")
        finally:
            self._watchers[job_id].discard(queue)
            if not self._watchers[job_id]:
                self._watchers.pop(job_id, None)

    async def cancel(self, job_id: str, who=None) -> JobRecord:
        rec = await self.get(job_id, who)
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=30)
        elif not rec.final:  # orphaned row (no task): mark it
            await self._finish(rec, "cancelled", error=Cancelled("the job was cancelled; no version was created"))
        return await self.get(job_id)

    def cancel_soon(self, job_id: str) -> None:
        """Cancel in the background, outside the calling RPC's context (its deadline has passed)."""
        asyncio.get_running_loop().create_task(self.cancel(job_id), context=contextvars.Context())

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
