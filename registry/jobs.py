"""Durable jobs: a row per Generate/Import before work starts, and its stored events.

The job's input (image or mesh) lives in the blob store; `request` holds the
rest of what is needed to run it again after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meshsmith.errors import NotFound

from .db import Sessions
from .schema import Base, Json, UTCDateTime, utcnow

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state", "state"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    asset: Mapped[str] = mapped_column(sa.String(200))
    author: Mapped[str] = mapped_column(sa.String(200))
    caller: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    input_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    request: Mapped[dict] = mapped_column(Json)
    request_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    version: Mapped[int | None] = mapped_column(sa.Integer)
    error_code: Mapped[str | None] = mapped_column(sa.String(32))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobEventRow(Base):
    """Serialized meshsmith.v1.JobEvent messages, in order."""

    __tablename__ = "job_events"
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    event: Mapped[bytes] = mapped_column(sa.LargeBinary)


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    asset: str
    author: str
    caller: str
    state: str
    attempts: int
    input_sha256: str
    request: dict
    request_id: str | None
    version: int | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def final(self) -> bool:
        return self.state in FINAL


def _record(j: Job) -> JobRecord:
    return JobRecord(
        j.id, j.kind, j.asset, j.author, j.caller, j.state, j.attempts, j.input_sha256, j.request, j.request_id,
        j.version, j.error_code, j.error_message, j.created_at, j.updated_at,
    )


class JobStore:
    def __init__(self, db: Sessions):
        self.db = db

    def create(self, job_id: str, kind: str, asset: str, author: str, caller: str, input_sha256: str,
               request: dict, request_id: str | None) -> tuple[JobRecord, bool]:
        """Insert a queued job; a known request_id returns the existing job and False."""
        with self.db.write() as s:
            if request_id:
                old = s.scalar(sa.select(Job).where(Job.request_id == request_id))
                if old is not None and old.state not in ("failed", "cancelled"):
                    return _record(old), False
                if old is not None:  # a retry of a job that failed: run it again under the same id
                    old.request_id = None
                    s.flush()
            now = utcnow()
            job = Job(id=job_id, kind=kind, asset=asset, author=author, caller=caller, state="queued", attempts=0,
                      input_sha256=input_sha256, request=request, request_id=request_id or None,
                      created_at=now, updated_at=now)
            s.add(job)
            s.flush()
            return _record(job), True

    def get(self, job_id: str) -> JobRecord:
        with self.db.read() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id!r}; job ids are printed by `meshsmith generate` and sent in every event")
            return _record(job)

    def update(self, job_id: str, **fields) -> JobRecord:
        """Set state/attempts/version/error fields; a final state is never left."""
        with self.db.write() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id!r}")
            if job.state in FINAL and fields.get("state", job.state) != job.state:
                return _record(job)
            for k, v in fields.items():
                setattr(job, k, v)
            job.updated_at = utcnow()
            s.flush()
            return _record(job)

    def append_event(self, job_id: str, sequence: int, event: bytes) -> None:
        with self.db.write() as s:
            s.merge(JobEventRow(job_id=job_id, sequence=sequence, event=event))

    def events(self, job_id: str, from_sequence: int = 0) -> list[tuple[int, bytes]]:
        with self.db.read() as s:
            rows = s.execute(
                sa.select(JobEventRow.sequence, JobEventRow.event)
                .where(JobEventRow.job_id == job_id, JobEventRow.sequence >= from_sequence)
                .order_by(JobEventRow.sequence)
            )
            return [(seq, ev) for seq, ev in rows]

    def unfinished(self) -> list[JobRecord]:
        with self.db.read() as s:
            rows = s.scalars(sa.select(Job).where(Job.state.in_(("queued", "running"))).order_by(Job.created_at))
            return [_record(j) for j in rows]

    def live_inputs(self) -> set[str]:
        """sha256s of the inputs of jobs not yet finished (GC must keep them): the main input and the extra
        ones its request names (generate's extra views and depth map)."""
        with self.db.read() as s:
            rows = s.execute(sa.select(Job.input_sha256, Job.request).where(Job.state.in_(("queued", "running"))))
            live = set()
            for sha, request in rows:
                live.add(sha)
                request = request or {}
                live.update(v["sha256"] for v in request.get("views", ()))
                if request.get("depth"):
                    live.add(request["depth"]["sha256"])
            return live
