"""Writers racing on one asset: numbers 1..N without gaps, a consistent audit log."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from registry import Registry
from tests.registry.factory import new_version

WRITERS = 16


def _race(db_url, blob_dir, n, fn):
    """Run fn(registry, i) for i in 0..n-1 at once, each thread on its own Registry (own pool)."""
    regs = [Registry(db_url, blob_dir, pool_size=1) for _ in range(n)]
    barrier = Barrier(n)

    def run(i):
        barrier.wait()
        return fn(regs[i], i)

    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(run, range(n)))
    finally:
        for r in regs:
            r.close()


def test_concurrent_writers_get_gapless_numbers(reg, db_url):
    made = _race(db_url, reg.blobs.root, WRITERS, lambda r, i: r.create_version(new_version("props/crowd", i + 1)))
    assert sorted(v.number for v in made) == list(range(1, WRITERS + 1))
    assert not any(v.reused for v in made)
    history = reg.history("props/crowd")
    assert [v.number for v in history] == list(range(WRITERS, 0, -1))
    assert reg.get_asset("props/crowd").version_count == WRITERS
    assert reg.resolve("props/crowd").number == WRITERS
    created = [e for e in reg.audit_log("props/crowd", limit=1000) if e.action == "version.created"]
    assert sorted(e.version for e in created) == list(range(1, WRITERS + 1))
    # the latest moves recorded in the log are in commit order
    latest_moves = [e.version for e in reversed(reg.audit_log("props/crowd", limit=1000)) if e.channel == "latest"]
    assert latest_moves == list(range(1, WRITERS + 1))


def test_concurrent_identical_requests_make_one_version(reg, db_url):
    made = _race(db_url, reg.blobs.root, 8, lambda r, i: r.create_version(new_version("props/same", 1)))
    assert {v.number for v in made} == {1}
    assert sum(not v.reused for v in made) == 1
    assert reg.get_asset("props/same").version_count == 1


def test_racing_channel_moves_leave_a_consistent_log(reg, db_url):
    for i in range(1, 5):
        reg.create_version(new_version(i=i))
    moves = _race(db_url, reg.blobs.root, 12, lambda r, i: r.move_channel("props/chair", "stable", 1 + i % 4, f"user{i}"))
    events = [e for e in reversed(reg.audit_log("props/chair", limit=1000)) if e.channel == "stable"]
    assert len(events) == len(moves) == 12
    final = reg.get_asset("props/chair").channels
    stable = next(c for c in final if c.name == "stable")
    # the last audited move is the channel's state, and every move's "from" is the previous move's target
    assert (events[-1].version, events[-1].actor) == (stable.version, stable.moved_by)
    assert [e.detail["from"] for e in events] == [None] + [e.version for e in events[:-1]]
    assert sorted(e.actor for e in events) == sorted(f"user{i}" for i in range(12))
