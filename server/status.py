"""The one place where domain errors become gRPC statuses, and where every request is checked first.

Before a handler runs, its request message is checked against meshsmith.limits (numbers in range,
strings capped and free of control characters, lists bounded): InvalidInput before any work.
Every status message is cut to limits.MAX_MESSAGE_CHARS so no echo of input can overflow the
status metadata. Infrastructure failures the caller can do nothing about but retry (database
unreachable, disk full) get UNAVAILABLE / RESOURCE_EXHAUSTED; anything else unexpected is a bug:
INTERNAL, logged with its traceback.
"""

from __future__ import annotations

import errno
import functools
import logging

import grpc
import sqlalchemy.exc
from google.protobuf.message import Message

from meshsmith import limits
from meshsmith.errors import InvalidInput, MeshsmithError, ResourceExhausted, Unavailable

log = logging.getLogger("meshsmith.server")

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def status_of(err: MeshsmithError) -> grpc.StatusCode:
    return grpc.StatusCode[err.status]


def known_error(err: Exception) -> MeshsmithError | None:
    """The domain error an unexpected exception stands for, or None for a bug (INTERNAL)."""
    if isinstance(err, MeshsmithError):
        return err
    if isinstance(err, sqlalchemy.exc.DataError):  # a value the database column cannot hold
        return InvalidInput("the database refused a value of this request (too long, out of range or with a NUL "
                            "character); check the field limits in the README")
    if isinstance(err, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)):
        return Unavailable("the registry database is unreachable or overloaded; retry in a few seconds "
                           "(operators: check the database server and the meshsmith log)")
    if isinstance(err, OSError) and err.errno in DISK_FULL:
        return ResourceExhausted("the server's disk is full; an operator must free space (or run gc) "
                                 "before anything new can be stored").retry_after(60)
    return None


async def abort(context: grpc.aio.ServicerContext, err: Exception) -> None:
    """Abort the call with the status that `err` carries (INTERNAL for anything unexpected)."""
    known = known_error(err)
    if known is not None:
        if known is not err:
            log.warning("%s mapped to %s: %s", type(err).__name__, known.status, limits.cap_message(str(err)))
        retry = getattr(known, "retry_after_s", None)
        trailers = (("retry-after", str(int(retry))),) if retry else ()
        await context.abort(status_of(known), limits.cap_message(known.message), trailing_metadata=trailers)
    log.exception("internal error", exc_info=err)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(err).__name__}; see server log")


def check_request(request) -> None:
    """Limits of every field of a request message (client-streaming calls check their parts themselves)."""
    if isinstance(request, Message):
        limits.check_message(request)


def unary(handler):
    """Wrap a unary handler: check the request, then any error aborts with its status (INTERNAL when unexpected)."""

    @functools.wraps(handler)
    async def wrapper(self, request, context):
        try:
            check_request(request)
            return await handler(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as err:
            await abort(context, err)

    return wrapper


def streaming(handler):
    """Wrap a server-streaming handler (async generator) the same way."""

    @functools.wraps(handler)
    async def wrapper(self, request, context):
        try:
            check_request(request)
            async for item in handler(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as err:
            await abort(context, err)

    return wrapper
