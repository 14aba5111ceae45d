"""API-key authentication and role checks for every RPC (health and reflection stay open) and HTTP request."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import grpc

from meshsmith.errors import Unauthenticated
from registry.keys import KeyStore, role_allows

# The role each service needs; methods of services not listed here (health, reflection) are open.
SERVICE_ROLES = {
    "meshsmith.v1.AssetService": "reader",
    "meshsmith.v1.IngestService": "creator",
    "meshsmith.v1.JobService": "creator",
    "meshsmith.v1.AdminService": "admin",
}
CACHE_S = 10.0
NO_KEY = ("this server requires an API key: pass --api-key or set MESHSMITH_API_KEY "
          "(metadata 'authorization: Bearer <key>')")
UNKNOWN_KEY = "the API key is unknown or revoked; ask an admin for a new one (`meshsmith keys create`)"


@dataclass(frozen=True)
class Identity:
    name: str
    role: str
    key_id: str | None = None


def required_role(method: str) -> str | None:
    """"/meshsmith.v1.AssetService/PullArtifact" -> "reader"."""
    return SERVICE_ROLES.get(method.strip("/").split("/")[0])


def _bearer(metadata) -> str | None:
    """The API key in gRPC metadata or HTTP headers: `authorization: Bearer <key>` or `x-api-key: <key>`."""
    for key, value in metadata or ():
        key = key.lower()
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else value.strip()
        if key == "x-api-key" and isinstance(value, str):
            return value.strip()
    return None


def _peer_host(peer: str) -> str:
    """"ipv4:127.0.0.1:5555" -> "127.0.0.1"."""
    kind, _, rest = peer.partition(":")
    return rest.rsplit(":", 1)[0].strip("[]") if kind in ("ipv4", "ipv6") else peer


class Authenticator:
    def __init__(self, keys: KeyStore, enabled: bool):
        self.keys = keys
        self.enabled = enabled
        self._cache: dict[str, tuple[float, Identity | None]] = {}
        self._by_id: dict[str, tuple[float, Identity | None]] = {}

    async def verify(self, secret: str) -> Identity | None:
        hit = self._cache.get(secret)
        if hit and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        key = await asyncio.to_thread(self.keys.verify, secret)
        ident = Identity(f"key:{key.name}", key.role, key.id) if key else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[secret] = (time.monotonic(), ident)
        return ident

    async def verify_id(self, key_id: str) -> Identity | None:
        """The live key with this id (a signed URL's `kid`), or None once it is revoked."""
        hit = self._by_id.get(key_id)
        if hit and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        key = await asyncio.to_thread(self.keys.live, key_id)
        ident = Identity(f"key:{key.name}", key.role, key.id) if key else None
        if len(self._by_id) > 10_000:
            self._by_id.clear()
        self._by_id[key_id] = (time.monotonic(), ident)
        return ident

    def forget(self) -> None:
        """Drop cached verdicts (after a revocation); other instances see it within CACHE_S."""
        self._cache.clear()
        self._by_id.clear()

    async def http_caller(self, headers) -> Identity | None:
        """The identity of an HTTP request's key header; None without one; Unauthenticated for a bad key."""
        secret = _bearer(headers.items())
        if not secret:
            return None
        ident = await self.verify(secret)
        if ident is None:
            raise Unauthenticated(UNKNOWN_KEY)
        return ident

    async def caller(self, context: grpc.aio.ServicerContext) -> Identity:
        """Who is calling: the key's identity, or the peer's host when auth is off."""
        secret = _bearer(context.invocation_metadata())
        if self.enabled and secret:
            ident = await self.verify(secret)
            if ident:
                return ident
        return Identity(f"anonymous@{_peer_host(context.peer())}", "admin")


def _abort_handler(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same streaming kind as `handler` that only aborts."""

    async def unary(request, context):
        await context.abort(code, message)

    async def streaming(request, context):
        await context.abort(code, message)
        yield  # pragma: no cover  (makes this an async generator)

    kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(streaming, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(streaming, **kwargs)
    return grpc.unary_unary_rpc_method_handler(unary, **kwargs)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, auth: Authenticator):
        self.auth = auth

    async def refusal(self, method: str, metadata) -> tuple[grpc.StatusCode, str] | None:
        """Why a call to `method` with these headers may not proceed (code, message), or None: decided from
        the metadata alone, so the HTTP API answers it before reading any body."""
        needed = required_role(method)
        if needed is None or not self.auth.enabled:
            return None
        secret = _bearer(metadata)
        if not secret:
            return grpc.StatusCode.UNAUTHENTICATED, NO_KEY
        ident = await self.auth.verify(secret)
        if ident is None:
            return grpc.StatusCode.UNAUTHENTICATED, UNKNOWN_KEY
        if not role_allows(ident.role, needed):
            name = method.rsplit("/", 1)[-1]
            return (grpc.StatusCode.PERMISSION_DENIED,
                    f"{name} needs the {needed} role; your key {ident.key_id} has the {ident.role} role")
        return None

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None:
            return None
        refused = await self.refusal(details.method, details.invocation_metadata)
        return handler if refused is None else _abort_handler(handler, *refused)
