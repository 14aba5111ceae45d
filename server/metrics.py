"""Prometheus metrics of one server process (served at GET /metrics on the HTTP address)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the HTTP handler)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Counter("meshsmith_jobs_total", "Jobs finished, by kind and final state", ["kind", "state"], registry=r)
        self.jobs_active = Gauge("meshsmith_jobs_active", "Jobs queued or running", registry=r)
        self.queue_depth = Gauge("meshsmith_queue_depth", "Tasks waiting for a worker process", registry=r)
        self.workers_busy = Gauge("meshsmith_workers_busy", "Worker processes running a task", registry=r)
        self.worker_restarts = Gauge("meshsmith_worker_restarts_total", "Worker processes replaced after dying or being cancelled", registry=r)
        self.stages = Counter("meshsmith_stage_events_total", "Pipeline stages completed", ["stage"], registry=r)
        self.stage_seconds = Counter("meshsmith_stage_seconds_total", "Time spent per pipeline stage", ["stage"], registry=r)
        self.pool_workers = Gauge("meshsmith_pool_workers", "Live worker processes, by pool (cpu; gpu: learned jobs)",
                                  ["pool"], registry=r)
        self.pool_busy = Gauge("meshsmith_pool_busy", "Worker processes running a task, by pool", ["pool"], registry=r)
        self.pool_waiting = Gauge("meshsmith_pool_waiting", "Tasks waiting for a worker, by pool", ["pool"], registry=r)
        self.pool_restarts = Gauge("meshsmith_pool_restarts_total", "Worker processes replaced, by pool", ["pool"],
                                   registry=r)
        self.pulled = Counter("meshsmith_bytes_pulled_total", "Artifact bytes served", ["transport"], registry=r)
        self._sources = []

    def stage_done(self, stage: str, seconds: float | None = None) -> None:
        self.stages.labels(stage).inc()
        if seconds is not None:
            self.stage_seconds.labels(stage).inc(seconds)

    def job_finished(self, kind: str, state: str) -> None:
        self.jobs.labels(kind, state).inc()

    def bytes_pulled(self, n: int, transport: str) -> None:
        self.pulled.labels(transport).inc(n)

    def watch(self, pools, jobs) -> None:
        """Gauges read from the live worker pools (the unlabelled ones: summed over pools) and the job manager
        at scrape time."""
        pools = list(pools)
        self.queue_depth.set_function(lambda: sum(p.waiting for p in pools))
        self.workers_busy.set_function(lambda: sum(p.busy for p in pools))
        self.worker_restarts.set_function(lambda: sum(p.restarts for p in pools))
        self.jobs_active.set_function(lambda: jobs.active)
        for p in pools:
            self.pool_workers.labels(p.name).set_function(lambda p=p: len(p.pids))
            self.pool_busy.labels(p.name).set_function(lambda p=p: p.busy)
            self.pool_waiting.labels(p.name).set_function(lambda p=p: p.waiting)
            self.pool_restarts.labels(p.name).set_function(lambda p=p: p.restarts)

    def render(self) -> bytes:
        return generate_latest(self.registry)
