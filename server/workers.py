"""A warm pool of spawn-started worker processes for CPU-heavy work.

PyMeshLab is not thread-safe and gRPC does not survive fork, so reconstruction,
repair and validation run in processes started with `spawn`, one task at a time
each, fed over a pipe. A worker that dies is replaced and only its task fails;
a cancelled task kills its worker (the only way to interrupt native code) and
the pool starts a fresh one. Each worker's address space is capped (RLIMIT_AS, `memory_limit_mb`):
a task that runs past it fails with RESOURCE_EXHAUSTED and its worker is replaced, so a decoding
bomb that slips through costs one job, never the server or the other jobs.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing as mp
import os
import resource
import signal
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from meshsmith.errors import MeshsmithError, ResourceExhausted, Unavailable, WorkerCrashed

log = logging.getLogger("meshsmith.workers")

Emit = Callable[..., None]
MIN_HEADROOM_MB = 512  # a memory limit must leave at least this much above an idle worker's footprint


def _address_space_mb() -> int:
    """This process's mapped address space (VmSize), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


# how native libraries word a failed allocation (OpenCV: cv2.error, PyMeshLab/C++: std::bad_alloc)
_OOM_WORDS = ("insufficient memory", "failed to allocate", "bad_alloc", "out of memory", "cannot allocate memory")


def _out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError) or (isinstance(err, OSError) and err.errno == errno.ENOMEM):
        return True
    return any(word in str(err).lower() for word in _OOM_WORDS)


def _worker_main(conn, task_module: str, memory_limit_mb: int | None = None) -> None:
    """Entry point of a worker process: import the task table (warming the heavy imports), cap the
    address space at `memory_limit_mb` (None: no cap), then serve."""
    import importlib

    # Ctrl-C in a terminal signals the whole process group: the server drains and then stops its workers,
    # so a worker must not die (and fail its job) on its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks: dict[str, Callable[[Any, Emit], Any]] = importlib.import_module(task_module).TASKS
    warm_mb = _address_space_mb()
    if memory_limit_mb:
        limit = memory_limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", os.getpid(), warm_mb))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            _exit_now()
        if msg is None:
            _exit_now()
        name, payload = msg

        def emit(*event) -> None:
            conn.send(("progress", event))

        try:
            conn.send(("result", tasks[name](payload, emit)))
        except MeshsmithError as err:
            conn.send(("error", err))
        except Exception as err:
            if _out_of_memory(err):  # over RLIMIT_AS: the heap may be in a bad state; report, exit, get replaced
                conn.send(("oom", memory_limit_mb))
                return
            # an unexpected bug: report it, keep the worker alive
            conn.send(("bug", f"{type(err).__name__}: {err}\n{traceback.format_exc()}"))


def _exit_now() -> None:
    """Leave at once: a worker keeps no state worth saving, and the interpreter's teardown of the native
    libraries it loaded (PyMeshLab, OpenCV, Mesa) takes seconds, which the server's shutdown waited out."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


@dataclass(eq=False)
class _Worker:
    process: mp.process.BaseProcess
    conn: Any

    @property
    def pid(self) -> int:
        return self.process.pid


class WorkerPool:
    """`size` warm workers; at most `max_queue` tasks wait for one."""

    def __init__(self, size: int, task_module: str = "server.tasks", max_queue: int = 64,
                 memory_limit_mb: int | None = None, name: str = "cpu"):
        self.name = name  # "cpu" (every kind of task) or "gpu" (jobs that run learned models): metrics, messages
        self.size = size
        self.memory_limit_mb = memory_limit_mb
        self.task_module = task_module
        self.max_queue = max_queue
        self.restarts = 0
        self.waiting = 0
        self.busy = 0
        self._ctx = mp.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._io = ThreadPoolExecutor(max_workers=size + 2, thread_name_prefix="worker-io")
        self._closing = False

    @property
    def pids(self) -> list[int]:
        return sorted(w.pid for w in self._all)

    @property
    def ready(self) -> int:
        return self._idle.qsize() + self.busy

    async def start(self) -> None:
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _recv(self, worker: _Worker):
        return await asyncio.get_running_loop().run_in_executor(self._io, worker.conn.recv)

    async def _spawn(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, self.task_module, self.memory_limit_mb), daemon=True)
        proc.start()
        child.close()
        worker = _Worker(proc, parent)
        try:
            kind, _pid, warm_mb = await self._recv(worker)
        except (EOFError, OSError) as err:
            proc.join(1)
            raise Unavailable(f"worker process failed to start (exit code {proc.exitcode})") from err
        assert kind == "ready"
        if self.memory_limit_mb and warm_mb + MIN_HEADROOM_MB > self.memory_limit_mb:
            proc.kill()
            proc.join(2)
            raise Unavailable(
                f"the worker memory limit ({self.memory_limit_mb:,} MiB) leaves no room: an idle worker already maps "
                f"{warm_mb:,} MiB; raise MESHSMITH_WORKER_MEMORY_MB to at least {warm_mb + MIN_HEADROOM_MB:,}"
            )
        self._all.add(worker)
        self._idle.put_nowait(worker)

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(2)
        worker.conn.close()
        if not self._closing:
            self.restarts += 1
            asyncio.get_running_loop().create_task(self._respawn())

    async def _respawn(self) -> None:
        try:
            await self._spawn()
        except Exception:
            log.exception("could not replace a %s worker process", self.name)

    async def stream(self, task: str, payload: Any) -> AsyncIterator[tuple[str, Any]]:
        """Run `task` on a worker; yields ("progress", event) tuples, then ("result", value).

        Raises the task's MeshsmithError, WorkerCrashed when the process dies,
        ResourceExhausted when too many tasks already wait.
        """
        if self._closing:
            raise Unavailable("server is shutting down; retry against another instance")
        if self.waiting >= self.max_queue:
            raise ResourceExhausted(
                f"{self.waiting} tasks already wait for a worker (limit {self.max_queue}); retry in a few seconds"
            ).retry_after(2)
        self.waiting += 1
        try:
            worker = await self._idle.get()
        finally:
            self.waiting -= 1
        self.busy += 1
        done = False
        try:
            worker.conn.send((task, payload))
            while True:
                try:
                    kind, data = await self._recv(worker)
                except (EOFError, OSError) as err:
                    code = worker.process.exitcode
                    done = True
                    self._discard(worker)
                    cap = f" (it may have run past its {self.memory_limit_mb:,} MiB memory limit)" if self.memory_limit_mb else ""
                    raise WorkerCrashed(
                        f"the {'GPU ' if self.name == 'gpu' else ''}worker process died (exit code {code}){cap} "
                        f"while running {task}; "
                        "it was replaced — retry, and report the input if it happens again"
                    ) from err
                if kind == "progress":
                    yield kind, data
                    continue
                done = True
                if kind == "oom":  # the worker is exiting: replace it
                    self._discard(worker)
                    cap = f"{data:,} MiB of address space" if data else "the memory the machine has"
                    raise ResourceExhausted(
                        f"{task} needed more memory than a worker may use ({cap}); the input is "
                        "too large or too complex (e.g. a decompression bomb): downscale or simplify it. The worker "
                        "was replaced; operators can raise MESHSMITH_WORKER_MEMORY_MB"
                    )
                self._idle.put_nowait(worker)
                if kind == "result":
                    yield kind, data
                    return
                if kind == "error":
                    raise data
                log.error("worker bug in %s: %s", task, data)
                raise MeshsmithError(f"internal error while running {task}: {data.splitlines()[0]}")
        finally:
            self.busy -= 1
            if not done:  # cancelled or abandoned mid-task: interrupt the native work
                self._discard(worker)

    async def run(self, task: str, payload: Any, on_progress: Callable[[tuple], None] | None = None) -> Any:
        """Like `stream`, returning the result and passing progress events to `on_progress`."""
        async for kind, data in self.stream(task, payload):
            if kind == "result":
                return data
            if on_progress:
                on_progress(data)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Ask every worker to exit, wait for all of them together (3 s at most), kill what is left."""
        self._closing = True
        workers = list(self._all)
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(None, w.process.join, 3) for w in workers))
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
                await loop.run_in_executor(None, worker.process.join, 1)
        self._all.clear()
        self._io.shutdown(wait=False, cancel_futures=True)
