"""The one place where domain errors become gRPC statuses, and where every request is checked first.

Before a handler runs, its request message is checked against meshsmith.limits (numbers in range,
strings capped and free of control characters, lists bounded): InvalidInput before any work.
Every status message is cut to limits.MAX_MESSAGE_CHARS so no echo of input can overflow the
status metadata. Infrastructure failures the caller can do nothing about but retry (database
unreachable, disk full) get UNAVAILABLE / RESOURCE_EXHAUSTED; anything else unexpected is a bug:
INTERNAL, logged with its traceback.
"""

from __future__ import annotations

import functools
import logging

import grpc
from google.protobuf.message import Message

from meshsmith import limits
from meshsmith.errors import MeshsmithError
from registry.db import translate

log = logging.getLogger("meshsmith.server")


def status_of(err: MeshsmithError) -> grpc.StatusCode:
    return grpc.StatusCode[err.status]


def known_error(err: Exception) -> MeshsmithError | None:
    """The domain error an unexpected exception stands for, or None for a bug (INTERNAL).

    Database and disk failures are mapped in one place, registry.db.translate."""
    if isinstance(err, MeshsmithError):
        return err
    return translate(err)


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
