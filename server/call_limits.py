"""Per-call limits applied to every RPC: the call's deadline goes down to the database, and one caller's
open-ended queries cannot hold every database connection and thread.

- Each handler runs with registry.db.DEADLINE set from `context.time_remaining()`, so every statement it
  issues runs under min(the deadline left, the server's statement-timeout cap) and is cancelled by the
  database (PostgreSQL statement_timeout, a SQLite progress handler) when the client's deadline passes.
- Query-heavy read methods (search, history, audit, lock, diff) admit at most `max_per_caller` calls per
  caller and method at once; a further call waits up to `wait_s` (or its deadline), then gets
  RESOURCE_EXHAUSTED with a retry-after trailer. Point lookups (GetAsset, PullArtifact) are not gated.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import grpc

from meshsmith.errors import ResourceExhausted
from registry.db import DEADLINE
from server.auth import Authenticator
from server.status import abort

GATED = frozenset(
    f"/meshsmith.v1.AssetService/{m}"
    for m in ("SearchAssets", "ListVersions", "ListAuditEvents", "ResolveLock", "DiffVersions")
)


class CallLimits(grpc.aio.ServerInterceptor):
    def __init__(self, auth: Authenticator, max_per_caller: int, wait_s: float):
        self.auth = auth
        self.max_per_caller = max_per_caller
        self.wait_s = wait_s
        self._gates: dict[tuple[str, str], list] = {}  # (caller, method) -> [semaphore, users]

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or handler.request_streaming:  # uploads: no database work per message
            return handler
        gated = details.method in GATED
        kwargs = {"request_deserializer": handler.request_deserializer,
                  "response_serializer": handler.response_serializer}
        if handler.response_streaming:
            inner = handler.unary_stream

            async def streaming(request, context):
                _set_deadline(context)
                async with self._gate(details.method, context, gated):
                    async for item in inner(request, context):
                        yield item

            return grpc.unary_stream_rpc_method_handler(streaming, **kwargs)
        inner_unary = handler.unary_unary

        async def unary(request, context):
            _set_deadline(context)
            async with self._gate(details.method, context, gated):
                return await inner_unary(request, context)

        return grpc.unary_unary_rpc_method_handler(unary, **kwargs)

    @asynccontextmanager
    async def _gate(self, method: str, context, gated: bool):
        if not gated:
            yield
            return
        caller = (await self.auth.caller(context)).name
        key = (caller, method)
        entry = self._gates.setdefault(key, [asyncio.Semaphore(self.max_per_caller), 0])
        entry[1] += 1
        try:
            remaining = context.time_remaining()
            wait = self.wait_s if remaining is None else max(0.0, min(self.wait_s, remaining))
            try:
                await asyncio.wait_for(entry[0].acquire(), wait)
            except asyncio.TimeoutError:
                name = method.rsplit("/", 1)[-1]
                await abort(context, ResourceExhausted(
                    f"you already have {self.max_per_caller} {name} calls running (limit per caller); "
                    "wait for them to finish or narrow the queries").retry_after(2))
            try:
                yield
            finally:
                entry[0].release()
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._gates.pop(key, None)


def _set_deadline(context) -> None:
    remaining = context.time_remaining()  # None or huge without a deadline
    DEADLINE.set(None if remaining is None or remaining > 1e6 else time.monotonic() + remaining)
