"""Durable jobs: a row per Generate/Import before work starts, and its stored events.

The job's input (image or mesh) lives in the blob store; `request` holds the
rest of what is needed to run it again after a restart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meshsmith.errors import AlreadyExists, InvalidInput, NotFound

from .db import Sessions
from .versions import canonical_json, check_text
from .schema import Base, Json, UTCDateTime, utcnow

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
JOB_ID = re.compile(r"[0-9a-f]{32}")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state", "state"), sa.UniqueConstraint("caller", "request_id"))
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    asset: Mapped[str] = mapped_column(sa.String(200))
    author: Mapped[str] = mapped_column(sa.String(200))
    caller: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    input_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    request: Mapped[dict] = mapped_column(Json)
    request_id: Mapped[str | None] = mapped_column(sa.String(200))  # unique per caller
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


def check_fields(asset: str, author: str, caller: str, request_id: str | None, request: dict) -> None:
    """InvalidInput for text the database would refuse or truncate (over 200 characters, NUL/control characters)."""
    for field, value in (("asset", asset), ("author", author), ("caller", caller), ("request_id", request_id)):
        check_text(field, value)
    if "\\u0000" in json.dumps(request):
        raise InvalidInput("request fields must not contain NUL characters")


class JobStore:
    def __init__(self, db: Sessions):
        self.db = db

    def create(self, job_id: str, kind: str, asset: str, author: str, caller: str, input_sha256: str,
               request: dict, request_id: str | None) -> tuple[JobRecord, bool]:
        """Insert a queued job; the caller's known request_id returns its existing job and False.

        Request ids are per caller; reusing one for a different payload (kind, asset, input, parameters)
        is AlreadyExists, never the other request's job."""
        check_fields(asset, author, caller, request_id, request)
        try:
            return self._create(job_id, kind, asset, author, caller, input_sha256, request, request_id)
        except sa.exc.IntegrityError:  # the same caller's request id twice at once: answer from the winner's row
            return self._create(job_id, kind, asset, author, caller, input_sha256, request, request_id)

    def _create(self, job_id: str, kind: str, asset: str, author: str, caller: str, input_sha256: str,
                request: dict, request_id: str | None) -> tuple[JobRecord, bool]:
        with self.db.write() as s:
            if request_id:
                old = s.scalar(sa.select(Job).where(Job.caller == caller, Job.request_id == request_id))
                if old is not None and (old.kind, old.asset, old.input_sha256, canonical_json(old.request)) != (
                        kind, asset, input_sha256, canonical_json(request)):
                    raise AlreadyExists(
                        f"request_id {request_id[:80]!r} was already used by you for a different request "
                        f"({old.kind} of {old.asset}, job {old.id}); use a new request id for a new request, "
                        "or resend the original request unchanged to get its result"
                    )
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
        if not JOB_ID.fullmatch(job_id or ""):  # never reaches the database with NUL or 10k characters
            raise NotFound(f"no job {job_id[:40]!r}; job ids are 32 hex digits, printed by `meshsmith generate` and sent in every event")
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
