"""A queued generate job's extra inputs (views, depth map) are live blobs: GC keeps them until it finishes."""

from __future__ import annotations

from registry.jobs import JobStore


def test_extra_inputs_of_unfinished_jobs_survive_gc(reg):
    front, right, depth, stray = (reg.blobs.put(b) for b in (b"front", b"right view", b"depth map", b"stray"))
    jobs = JobStore(reg.db)
    request = {"params": {}, "views": [{"label": "right", "sha256": right}], "depth": {"sha256": depth, "units": "mm"}}
    rec, _ = jobs.create("a" * 32, "generate", "t/x", "me", "me", front, request, None)
    live = jobs.live_inputs()
    assert {front, right, depth} <= live and stray not in live
    report = reg.gc(False, 0.0, "test", frozenset(live))
    assert stray in report.deleted and not {front, right, depth} & set(report.deleted)
    jobs.update(rec.id, state="done")
    assert jobs.live_inputs() == set()
