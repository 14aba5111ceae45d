"""JobService: look at, re-attach to, and cancel durable jobs."""

from __future__ import annotations

from meshsmith.v1 import jobs_pb2, jobs_pb2_grpc
from meshsmith.v1 import types_pb2 as pb
from server import convert
from server.auth import Authenticator
from server.ingest_service import follow
from server.jobs import JobManager
from server.status import streaming, unary

STATES = {
    "queued": jobs_pb2.JOB_STATE_QUEUED,
    "running": jobs_pb2.JOB_STATE_RUNNING,
    "done": jobs_pb2.JOB_STATE_DONE,
    "failed": jobs_pb2.JOB_STATE_FAILED,
    "cancelled": jobs_pb2.JOB_STATE_CANCELLED,
}


def job_to_pb(rec) -> jobs_pb2.Job:
    return jobs_pb2.Job(
        id=rec.id,
        kind=rec.kind,
        asset=rec.asset,
        state=STATES[rec.state],
        attempts=rec.attempts,
        created_at=convert.timestamp(rec.created_at),
        updated_at=convert.timestamp(rec.updated_at),
        version=rec.version or 0,
        error=pb.Error(code=rec.error_code, message=rec.error_message or "") if rec.error_code else None,
        author=rec.author,
    )


class JobService(jobs_pb2_grpc.JobServiceServicer):
    """A job belongs to the caller that made it (admins see all): anyone else gets NOT_FOUND."""

    def __init__(self, jobs: JobManager, auth: Authenticator):
        self.jobs = jobs
        self.auth = auth

    @unary
    async def GetJob(self, request, context):
        who = await self.auth.caller(context)
        return jobs_pb2.GetJobResponse(job=job_to_pb(await self.jobs.get(request.job_id, who)))

    @streaming
    async def WatchJob(self, request, context):
        who = await self.auth.caller(context)
        async for event in follow(self.jobs, request.job_id, context, request.from_sequence, who=who):
            yield jobs_pb2.WatchJobResponse(event=event)

    @unary
    async def CancelJob(self, request, context):
        who = await self.auth.caller(context)
        return jobs_pb2.CancelJobResponse(job=job_to_pb(await self.jobs.cancel(request.job_id, who)))
