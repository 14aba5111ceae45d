"""The one error hierarchy of meshsmith.

Every class carries the name of its gRPC status code as a plain string, so that
reconstruct/, validation/ and registry/ can raise these without importing gRPC.
The server maps them to `grpc.StatusCode` in exactly one place
(`server/status.py`); the client maps a failed call back to the same class
(`meshsmith_client.client`); shared by every side, so it lives in `meshsmith`, not the client.
"""

from __future__ import annotations


class MeshsmithError(Exception):
    """Base class. `status` is a `grpc.StatusCode` member name."""

    status = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(MeshsmithError):
    """The caller sent something unusable (not an image, corrupt mesh, bad name...)."""

    status = "INVALID_ARGUMENT"


class NoObjectFound(InvalidInput):
    """The image holds no object that can be separated from its background."""


class NotFound(MeshsmithError):
    status = "NOT_FOUND"


class AlreadyExists(MeshsmithError):
    status = "ALREADY_EXISTS"


class FailedPrecondition(MeshsmithError):
    """The request is valid but the state does not allow it (e.g. deprecated version)."""

    status = "FAILED_PRECONDITION"


class ResourceExhausted(MeshsmithError):
    """Too much at once (queue full, per-caller limit); retry after `retry_after_s`."""

    status = "RESOURCE_EXHAUSTED"
    retry_after_s: float | None = None

    def retry_after(self, seconds: float) -> "ResourceExhausted":
        self.retry_after_s = seconds
        return self


class Unauthenticated(MeshsmithError):
    status = "UNAUTHENTICATED"


class PermissionDenied(MeshsmithError):
    status = "PERMISSION_DENIED"


class Cancelled(MeshsmithError):
    status = "CANCELLED"


class Unavailable(MeshsmithError):
    status = "UNAVAILABLE"


class Unimplemented(MeshsmithError):
    """The request asks for something this server does not do (a body encoding, a protocol feature)."""

    status = "UNIMPLEMENTED"


class DeadlineExceeded(MeshsmithError):
    """Work that waits on something outside (a hosted model's task) ran past its configured time limit."""

    status = "DEADLINE_EXCEEDED"


class Aborted(MeshsmithError):
    """Work outside the service (a hosted model's task) ended without a result; its reason is quoted."""

    status = "ABORTED"


class DataLoss(MeshsmithError):
    """Stored bytes no longer match their recorded sha256."""

    status = "DATA_LOSS"


class WorkerCrashed(MeshsmithError):
    """A worker process died while handling the request; the service replaced it."""

    status = "INTERNAL"


BY_STATUS: dict[str, type[MeshsmithError]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        Unauthenticated,
        PermissionDenied,
        Cancelled,
        Unavailable,
        DataLoss,
        DeadlineExceeded,
        Aborted,
    )
}
