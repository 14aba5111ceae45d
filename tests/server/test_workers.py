"""The worker pool: results, progress, typed errors, crash replacement, cancellation."""

from __future__ import annotations

import asyncio
import os

import pytest

from meshsmith.errors import InvalidInput, ResourceExhausted, Unavailable, WorkerCrashed
from server.workers import WorkerPool

TASKS = "tests.server.worker_tasks"


def run(coro):
    return asyncio.run(coro)


async def _with_pool(body, size=1, max_queue=8):
    pool = WorkerPool(size, task_module=TASKS, max_queue=max_queue)
    await pool.start()
    try:
        return await body(pool)
    finally:
        await pool.close()


def test_result_and_progress():
    async def body(pool):
        events = []
        result = await pool.run("square", 7, on_progress=events.append)
        return result, events

    result, events = run(_with_pool(body))
    assert result == 49
    assert events == [("square", 0.5, "half way")]


def test_typed_error_crosses_the_process_boundary():
    async def body(pool):
        with pytest.raises(InvalidInput, match="no good"):
            await pool.run("invalid", None)
        return await pool.run("square", 3)  # the worker survived

    assert run(_with_pool(body)) == 9


def test_dead_worker_is_replaced_and_only_its_task_fails():
    async def body(pool):
        before = pool.pids
        with pytest.raises(WorkerCrashed, match="exit code"):
            await pool.run("crash", None)
        result = await pool.run("square", 4)
        return before, pool.pids, pool.restarts, result

    before, after, restarts, result = run(_with_pool(body))
    assert result == 16 and restarts == 1 and before != after


def test_cancel_kills_the_worker_and_the_pool_recovers():
    async def body(pool):
        task = asyncio.create_task(pool.run("sleep", 60))
        await asyncio.sleep(0.5)
        (pid,) = pool.pids
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(pid, 0)
                await asyncio.sleep(0.1)
        return await asyncio.wait_for(pool.run("square", 5), 60)

    assert run(_with_pool(body)) == 25


def test_full_queue_is_resource_exhausted():
    async def body(pool):
        slow = [asyncio.create_task(pool.run("sleep", 2)) for _ in range(2)]  # one runs, one waits
        await asyncio.sleep(0.3)
        with pytest.raises(ResourceExhausted, match="retry"):
            await pool.run("square", 1)
        return await asyncio.gather(*slow)

    assert run(_with_pool(body, size=1, max_queue=1)) == [2, 2]


def test_memory_limit_fails_one_task_and_replaces_the_worker():
    """RLIMIT_AS per worker: a task past it gets RESOURCE_EXHAUSTED with the limit named; a fresh worker serves on."""
    async def body(pool):
        assert await pool.run("hog", 64) == 64 * 2**20  # well under the cap
        before = pool.pids
        with pytest.raises(ResourceExhausted, match="1,024 MiB of address space"):
            await pool.run("hog", 4096)
        await asyncio.sleep(0)
        result = await pool.run("square", 5)
        return before, pool.pids, pool.restarts, result

    pool = WorkerPool(1, task_module=TASKS, memory_limit_mb=1024)

    async def main():
        await pool.start()
        try:
            return await body(pool)
        finally:
            await pool.close()

    before, after, restarts, result = run(main())
    assert result == 25 and restarts == 1 and before != after


def test_memory_limit_below_an_idle_worker_is_refused_at_start():
    async def main():
        pool = WorkerPool(1, task_module=TASKS, memory_limit_mb=64)
        try:
            await pool.start()
        finally:
            await pool.close()

    with pytest.raises(Unavailable, match="MESHSMITH_WORKER_MEMORY_MB to at least"):
        run(main())
