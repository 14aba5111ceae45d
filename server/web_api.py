"""Every RPC on the HTTP address, for browsers and plain HTTP clients: gRPC-Web and the Connect protocol.

POST /meshsmith.v1.AssetService/ListVersions, by Content-Type:
  application/grpc-web[+proto|+json]       gRPC-Web, binary frames; the last frame (0x80) carries grpc-status
  application/grpc-web-text[+proto]        the same, base64
  application/json | application/proto     Connect unary: the message is the body; errors are HTTP 4xx/5xx
                                           with {"code": "invalid_argument", "message": ...}
  application/connect+json | +proto        Connect streaming: enveloped messages, then an end-stream
                                           message {"error": {...}} (server streaming: Generate, PullArtifact...)
Calls run in-process on the SAME servicer objects grpc.aio serves, through `WebContext` (what the servicers
use of grpc.aio's context), behind the SAME interceptor chain (AuthInterceptor...): keys, roles, deadlines (grpc-timeout,
connect-timeout-ms) and status codes are those of native gRPC. Client streaming (Upload) cannot be carried
by browsers' fetch: it answers UNIMPLEMENTED, pointing to the inline bytes fields.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
from aiohttp import hdrs, web
from google.protobuf import message_factory
from google.protobuf.message import Message

from meshsmith import limits
from meshsmith.errors import MeshsmithError
from server.http_body import read_body
from server.web_codec import (END_STREAM, TRAILER, Protocol, RpcError, b64decode_chunks, connect_error, decode,
                              encode, frame, grpc_message, grpc_trailer, parse_timeout, protocol_of, unframe)

log = logging.getLogger("meshsmith.web_api")

Code = grpc.StatusCode
# Connect's HTTP status for each code (connectrpc.com/docs/protocol#error-codes).
CONNECT_HTTP = {
    Code.CANCELLED: 499, Code.UNKNOWN: 500, Code.INVALID_ARGUMENT: 400, Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404, Code.ALREADY_EXISTS: 409, Code.PERMISSION_DENIED: 403, Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400, Code.ABORTED: 409, Code.OUT_OF_RANGE: 400, Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500, Code.UNAVAILABLE: 503, Code.DATA_LOSS: 500, Code.UNAUTHENTICATED: 401,
}
ALLOW_HEADERS = ("Content-Type, Authorization, X-Api-Key, X-Grpc-Web, X-User-Agent, Grpc-Timeout, "
                 "Connect-Protocol-Version, Connect-Timeout-Ms, Connect-Accept-Encoding, Connect-Content-Encoding")
EXPOSE_HEADERS = "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin, Retry-After, Trailer-Retry-After, Content-Type"
UPLOAD_HINT = ("{method} is client-streaming, which gRPC-Web and Connect cannot carry from browsers or plain HTTP; "
               "send the bytes inline instead (GenerateRequest.image, ImportRequest.mesh, ValidateRequest.mesh, "
               "up to the message size limit), or use native gRPC (the Python client / `meshsmith` CLI)")
GONE = "meshsmith.web_api.response"  # the request's prepared streaming response, if any


class _Aborted(grpc.aio.AbortError):
    """Raised by WebContext.abort; the servicers' status decorators let grpc.aio.AbortError through."""

    def __init__(self, error: RpcError):
        super().__init__(error.message)
        self.error = error


def is_api_path(path: str) -> bool:
    """"/meshsmith.v1.AssetService/ListVersions" (a dotted service name first) — not /blobs, /assets, /ui."""
    first = path[1:].partition("/")[0]
    return path.startswith("/") and "." in first


class WebContext:
    """The part of grpc.aio.ServicerContext the servicers and the AuthInterceptor use."""

    def __init__(self, metadata: tuple, peer: str, timeout: float | None):
        self._metadata = metadata
        self._peer = peer
        self._deadline = time.monotonic() + timeout if timeout is not None else None
        self._callbacks: list[Callable] = []
        self._done = False
        self._cancelled = False
        self.trailers: tuple = ()

    def invocation_metadata(self) -> tuple:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata=()) -> None:
        raise _Aborted(RpcError(code, details, trailing_metadata or self.trailers))

    def set_trailing_metadata(self, metadata) -> None:
        self.trailers = tuple(metadata)

    def add_done_callback(self, callback: Callable) -> None:
        self._callbacks.append(callback)

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    def finish(self, cancelled: bool) -> None:
        self._done, self._cancelled = True, cancelled
        for cb in self._callbacks:
            try:
                cb(self)
            except Exception:
                log.exception("done callback failed")


@dataclass(frozen=True)
class Route:
    """One RPC: its descriptor, message classes and the grpc method handler around the servicer's method."""

    path: str
    input: type[Message]
    output: type[Message]
    client_streaming: bool
    server_streaming: bool
    handler: grpc.RpcMethodHandler


@dataclass(frozen=True)
class _CallDetails:  # grpc.HandlerCallDetails for the interceptors
    method: str
    invocation_metadata: tuple


def build_routes(servicers: dict[Any, Any]) -> dict[str, Route]:
    """{"/meshsmith.v1.AssetService/ListVersions": Route} from each service's descriptor and its servicer;
    `servicers` maps a ServiceDescriptor to the servicer object registered with grpc.aio."""
    routes: dict[str, Route] = {}
    for service, servicer in servicers.items():
        for m in service.methods:
            inp, out = message_factory.GetMessageClass(m.input_type), message_factory.GetMessageClass(m.output_type)
            fn = _client_streaming(m.name) if m.client_streaming else getattr(servicer, m.name)
            kwargs = {"request_deserializer": inp.FromString, "response_serializer": out.SerializeToString}
            make = {(False, False): grpc.unary_unary_rpc_method_handler, (False, True): grpc.unary_stream_rpc_method_handler,
                    (True, False): grpc.stream_unary_rpc_method_handler,
                    (True, True): grpc.stream_stream_rpc_method_handler}[(m.client_streaming, m.server_streaming)]
            path = f"/{service.full_name}/{m.name}"
            routes[path] = Route(path, inp, out, m.client_streaming, m.server_streaming, make(fn, **kwargs))
    return routes


def _client_streaming(method: str):
    """What a client-streaming method does here (after the interceptors): UNIMPLEMENTED, naming the alternative."""

    async def unimplemented(request_iterator, context):
        await context.abort(Code.UNIMPLEMENTED, UPLOAD_HINT.format(method=method))

    return unimplemented


Precheck = Callable[[str, tuple], Awaitable["tuple[grpc.StatusCode, str] | None"]]


class WebApi:
    """The aiohttp handler for every API path; CORS for `cors_origins` ("*" = any). `precheck(method, metadata)`
    (the AuthInterceptor's `refusal`) decides from the headers alone, before any body is read."""

    def __init__(self, routes: dict[str, Route], interceptors: list[grpc.aio.ServerInterceptor], max_message_bytes: int,
                 cors_origins: tuple[str, ...] = (), precheck: Precheck | None = None):
        self.routes = routes
        self.interceptors = tuple(interceptors)  # the grpc.aio server's, in its order
        self.max_bytes = max_message_bytes
        self.cors_origins = frozenset(cors_origins)
        self.precheck = precheck
        self._parsing = asyncio.Semaphore(limits.HTTP_PARSE_THREADS)

    def route_defs(self) -> list[web.RouteDef]:
        return [web.route("*", r"/{service:[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z0-9_.]+}/{method}", self.handle)]

    # CORS ------------------------------------------------------------------------------------------------
    def _cors(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get(hdrs.ORIGIN)
        if not origin or not (origin in self.cors_origins or "*" in self.cors_origins):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": EXPOSE_HEADERS}

    def _preflight(self, request: web.Request) -> web.Response:
        cors = self._cors(request)
        if not cors:
            origin = request.headers.get(hdrs.ORIGIN, "(none)")
            return web.Response(status=403, text=f"origin {origin} may not call the API; start the server with "
                                                 f"`--cors-origin {origin}` to allow it\n")
        return web.Response(status=204, headers={
            **cors, "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "7200"})

    # dispatch ------------------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == hdrs.METH_OPTIONS:
            return self._preflight(request)
        cors = self._cors(request)
        proto = protocol_of(request.headers.get(hdrs.CONTENT_TYPE, ""))
        if request.method != hdrs.METH_POST or proto is None:
            return web.Response(status=415 if request.method == hdrs.METH_POST else 405, headers={
                **cors, "Accept-Post": "application/grpc-web+proto, application/grpc-web-text, application/json, "
                                       "application/proto, application/connect+json, application/connect+proto"},
                text=f"{request.path}: POST with Content-Type application/grpc-web+proto, application/grpc-web-text "
                     f"(gRPC-Web) or application/json (Connect; application/connect+json for server-streaming "
                     f"methods), see the README\n")
        route = self.routes.get(request.path)
        request[GONE] = None
        try:
            if proto.name == "grpc-web":
                return await self._grpc_web(request, route, proto, cors)
            return await self._connect(request, route, proto, cors)
        except ConnectionResetError:  # the client hung up mid-stream: the call was cancelled, nothing to answer
            log.debug("%s: client went away", request.path)
            return request[GONE] or web.Response(status=499)

    async def _read(self, request: web.Request, base64_body: bool = False) -> bytes:
        """The body (a frame header more than the message limit; a third more as base64): server/http_body.py."""
        limit = self.max_bytes + 5
        if base64_body:
            limit = limit * 4 // 3 + 4
        return await read_body(request, limit)

    async def _decode(self, route: Route, data: bytes, json_codec: bool) -> Message:
        """`decode`, in a worker thread for a large message (at most HTTP_PARSE_THREADS at once)."""
        if len(data) <= limits.HTTP_PARSE_OFF_LOOP_BYTES:
            return decode(route.input, data, json_codec)
        async with self._parsing:
            return await asyncio.to_thread(decode, route.input, data, json_codec)

    def _encode(self, msg: Message, json_codec: bool) -> bytes:
        data = encode(msg, json_codec)
        if len(data) > self.max_bytes:  # as grpc.aio's max_send_message_length
            raise RpcError(Code.RESOURCE_EXHAUSTED, f"the response message is {len(data)} bytes; "
                                                    f"the limit is {self.max_bytes} bytes")
        return data

    def _check_size(self, data: bytes) -> bytes:
        if len(data) > self.max_bytes:
            raise RpcError(Code.RESOURCE_EXHAUSTED, f"the request message is {len(data)} bytes; "
                                                    f"the limit is {self.max_bytes} bytes")
        return data

    async def _call(self, request: web.Request, route: Route | None, message: Message | None,
                    ctx: WebContext) -> AsyncIterator[Message]:
        """The grpc.aio server's interceptors (auth...), then the servicer; yields the responses; raises RpcError."""
        if route is None:
            raise RpcError(Code.UNIMPLEMENTED, f"unknown method {request.path}; see proto/meshsmith/v1")
        handler = await self._intercept(0, route, _CallDetails(route.path, ctx.invocation_metadata()))
        try:
            if route.client_streaming:  # an abort handler (auth) or _client_streaming's UNIMPLEMENTED
                await handler.stream_unary(_empty(), ctx)
            elif route.server_streaming:
                async for item in handler.unary_stream(message, ctx):
                    yield item
            else:
                yield await handler.unary_unary(message, ctx)
        except _Aborted as e:
            raise e.error from None

    async def _intercept(self, i: int, route: Route, details: _CallDetails) -> grpc.RpcMethodHandler:
        """The handler after interceptors i.. (as grpc.aio chains them: the first sees the call first)."""
        if i == len(self.interceptors):
            return route.handler
        return await self.interceptors[i].intercept_service(lambda d: self._intercept(i + 1, route, d), details)

    def _context(self, request: web.Request, timeout: float | None) -> WebContext:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        host, port = (peer[0], peer[1]) if peer else ("unknown", 0)
        family = "ipv6" if ":" in host else "ipv4"
        meta = tuple((k.lower(), v) for k, v in request.headers.items())
        return WebContext(meta, f"{family}:[{host}]:{port}" if family == "ipv6" else f"{family}:{host}:{port}", timeout)

    async def _run(self, request, route, proto, read_message, on_message) -> RpcError | None:
        """Parse, call, and hand each response to `on_message`; the final status (None = OK)."""
        ctx = None
        try:
            timeout = parse_timeout(request.headers)
            ctx = self._context(request, timeout)
            message = None
            if route is not None and self.precheck is not None:  # keys and roles, from the headers alone
                refused = await self.precheck(route.path, ctx.invocation_metadata())
                if refused is not None:
                    raise RpcError(*refused)
            if route is not None and not route.client_streaming:
                message = await self._decode(route, self._check_size(await read_message()), proto.json)
            try:
                async with asyncio.timeout(timeout):
                    async for item in self._call(request, route, message, ctx):
                        await on_message(item)
            except TimeoutError:
                raise RpcError(Code.DEADLINE_EXCEEDED, f"Deadline Exceeded (the client's timeout of {timeout:g} s)") from None
            return None
        except RpcError as e:
            return e
        except MeshsmithError as e:  # reading the body: too big, too slow, a bad encoding
            return RpcError(Code[e.status], e.message)
        except (ConnectionResetError, asyncio.CancelledError):
            if ctx:
                ctx.finish(cancelled=True)
                ctx = None
            raise
        except Exception as e:  # a servicer bug: the same answer grpc.aio gives, no stack trace to the client
            log.exception("%s failed", request.path)
            return RpcError(Code.UNKNOWN, f"Unexpected error in the server: {type(e).__name__}; see the server log")
        finally:
            if ctx:
                ctx.finish(cancelled=False)

    # gRPC-Web ------------------------------------------------------------------------------------------------
    async def _grpc_web(self, request, route, proto: Protocol, cors) -> web.StreamResponse:
        ctype = request.headers[hdrs.CONTENT_TYPE].split(";")[0].strip()
        wrap = (lambda b: base64.b64encode(b)) if proto.text else (lambda b: b)
        resp: web.StreamResponse | None = None

        async def read_message() -> bytes:
            body = await self._read(request, base64_body=proto.text)
            if proto.text:
                body = b64decode_chunks(body)
            frames = unframe(body, "gRPC-Web")
            if len(frames) != 1:
                raise RpcError(Code.INVALID_ARGUMENT,
                               f"a gRPC-Web request carries exactly one message frame; got {len(frames)}")
            return frames[0]

        async def on_message(msg: Message) -> None:
            nonlocal resp
            if resp is None:
                resp = web.StreamResponse(headers={**cors, hdrs.CONTENT_TYPE: ctype, hdrs.CACHE_CONTROL: "no-store"})
                request[GONE] = resp
                await resp.prepare(request)
            await resp.write(wrap(frame(0, self._encode(msg, proto.json))))

        err = await self._run(request, route, proto, read_message, on_message)
        if resp is None:  # trailers-only: the status in the headers, no body
            headers = {**cors, hdrs.CONTENT_TYPE: ctype, "grpc-status": str(err.code.value[0] if err else 0)}
            if err and err.message:
                headers["grpc-message"] = grpc_message(err.message)
            for key, value in (err.trailers if err else ()):
                headers[key] = value
            if err is None:  # a stream that ended OK without a message: the trailer frame alone
                return web.Response(headers={**cors, hdrs.CONTENT_TYPE: ctype},
                                    body=wrap(frame(TRAILER, grpc_trailer(None))))
            return web.Response(headers=headers)
        await resp.write(wrap(frame(TRAILER, grpc_trailer(err))))
        await resp.write_eof()
        return resp

    # Connect -------------------------------------------------------------------------------------------------
    async def _connect(self, request, route, proto: Protocol, cors) -> web.StreamResponse:
        encoding = request.headers.get("connect-content-encoding")  # per message; the body's is read_body's
        err = None
        if proto.name == "connect-unary" and route is not None and route.server_streaming:
            err = RpcError(Code.UNIMPLEMENTED, f"{route.path} is server-streaming: send Content-Type "
                           f"application/connect+json with an enveloped message (Connect streaming), or use gRPC-Web")
        elif encoding and encoding.lower() != "identity":
            err = RpcError(Code.UNIMPLEMENTED, f"per-message compression {encoding!r} is not supported; send the messages "
                                                  f"uncompressed (gzip of the whole body, Content-Encoding, is fine)")
        if err is not None:
            if proto.name == "connect-unary":
                return self._connect_unary_error(cors, err, status=415 if route and route.server_streaming else None)
            return web.Response(headers={**cors, hdrs.CONTENT_TYPE: request.headers[hdrs.CONTENT_TYPE]},
                                body=frame(END_STREAM, json.dumps({"error": connect_error(err)}).encode()))
        if proto.name == "connect-unary":
            return await self._connect_unary(request, route, proto, cors)
        return await self._connect_stream(request, route, proto, cors)

    def _connect_unary_error(self, cors, err: RpcError, status: int | None = None) -> web.Response:
        headers = {**cors, hdrs.CACHE_CONTROL: "no-store"}
        for key, value in err.trailers:
            headers[f"trailer-{key}"] = value
            if key == "retry-after":
                headers[hdrs.RETRY_AFTER] = value
        return web.json_response(connect_error(err), status=status or CONNECT_HTTP.get(err.code, 500), headers=headers)

    async def _connect_unary(self, request, route, proto: Protocol, cors) -> web.Response:
        out: list[bytes] = []

        async def on_message(msg):
            out.append(self._encode(msg, proto.json))

        err = await self._run(request, route, proto, lambda: self._read(request), on_message)
        if err is not None:
            return self._connect_unary_error(cors, err)
        return web.Response(body=out[0], headers={
            **cors, hdrs.CONTENT_TYPE: "application/json" if proto.json else "application/proto",
            hdrs.CACHE_CONTROL: "no-store"})

    async def _connect_stream(self, request, route, proto: Protocol, cors) -> web.StreamResponse:
        resp = web.StreamResponse(headers={**cors, hdrs.CONTENT_TYPE: request.headers[hdrs.CONTENT_TYPE].split(";")[0],
                                           hdrs.CACHE_CONTROL: "no-store"})

        async def read_message() -> bytes:
            frames = unframe(await self._read(request), "Connect")
            if len(frames) != 1:
                raise RpcError(Code.INVALID_ARGUMENT,
                               f"a server-streaming Connect request carries exactly one enveloped message; got {len(frames)}")
            return frames[0]

        request[GONE] = resp

        async def on_message(msg):
            if not resp.prepared:
                await resp.prepare(request)
            await resp.write(frame(0, self._encode(msg, proto.json)))

        err = await self._run(request, route, proto, read_message, on_message)
        end: dict = {}
        if err is not None:
            end["error"] = connect_error(err)
            if err.trailers:
                end["metadata"] = {k: [v] for k, v in err.trailers}
        if not resp.prepared:
            await resp.prepare(request)
        await resp.write(frame(END_STREAM, json.dumps(end).encode()))
        await resp.write_eof()
        return resp


async def _empty():
    return
    yield  # pragma: no cover
