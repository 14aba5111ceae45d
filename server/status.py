"""The one place where domain errors become gRPC statuses."""

from __future__ import annotations

import functools
import logging

import grpc

from meshsmith.errors import MeshsmithError

log = logging.getLogger("meshsmith.server")


def status_of(err: MeshsmithError) -> grpc.StatusCode:
    return grpc.StatusCode[err.status]


async def abort(context: grpc.aio.ServicerContext, err: Exception) -> None:
    """Abort the call with the status that `err` carries (INTERNAL for anything unexpected)."""
    if isinstance(err, MeshsmithError):
        retry = getattr(err, "retry_after_s", None)
        trailers = (("retry-after", str(int(retry))),) if retry else ()
        await context.abort(status_of(err), err.message, trailing_metadata=trailers)
    log.exception("internal error", exc_info=err)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(err).__name__}; see server log")


def unary(handler):
    """Wrap a unary handler so any error aborts with its status (INTERNAL when unexpected)."""

    @functools.wraps(handler)
    async def wrapper(self, request, context):
        try:
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
            async for item in handler(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as err:
            await abort(context, err)

    return wrapper
