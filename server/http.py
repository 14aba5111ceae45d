"""Read-only HTTP pulls from the registry, beside gRPC: immutable blobs and asset redirects.

GET|HEAD /blobs/{sha256}                       immutable bytes; strong ETag "<sha256>", Range, 304
GET|HEAD /assets/{name}@{version|channel}      302 to /blobs/{sha256}; ?kind=glb&lod=0
CORS is open (`*`) so glTFast / three.js can load a GLB straight from a URL.
POST /{package.Service}/{Method}               every RPC over gRPC-Web and Connect (server/web_api.py: its own
                                               auth = the gRPC interceptor, CORS = --cors-origin, errors)
GET|HEAD /ui/, /ui/{file}                      the artists' web app (clients/web/dist, built by `make install`)
With auth on, every request needs a key (`Authorization: Bearer`, `X-Api-Key`; reader role, /metrics admin)
or a signed URL (server/url_signing.py) for /blobs and /assets; preflights and the web app's files stay open
(the app asks for a key and sends it in a header).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from aiohttp import hdrs, web
from multidict import CIMultiDict

from meshsmith.errors import (FailedPrecondition, InvalidInput, MeshsmithError, NotFound, PermissionDenied,
                              ResourceExhausted, Unauthenticated, Unavailable)
from meshsmith import limits
from meshsmith.limits import (HTTP_ACCEPT_BATCH, HTTP_LINGER_MAX_BYTES, HTTP_LINGER_S, HTTP_LISTEN_BACKLOG, check_text,
                              quote)
from registry import Registry
from registry.blobs import check_sha256
from registry.keys import role_allows
from registry.names import check_asset_name
from server.auth import Authenticator, Identity
from server.url_signing import SIG_PARAMS, UrlSigner
from server.web_api import WebApi, is_api_path

log = logging.getLogger("meshsmith.http")

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30"
PRIVATE_SHORT = "private, max-age=30"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Content-Length, Content-Range, Accept-Ranges, Content-Type, Location",
}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Match, If-Range, If-Modified-Since, Cache-Control, "
                                    "Authorization, X-Api-Key",
    "Access-Control-Max-Age": "86400",
}
_STATUS = {NotFound: 404, InvalidInput: 400, FailedPrecondition: 409, Unauthenticated: 401, PermissionDenied: 403,
           ResourceExhausted: 429, Unavailable: 503}
WWW_AUTHENTICATE = 'Bearer realm="meshsmith"'
NO_KEY = ("this server requires an API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>', "
          "or use a signed URL (`meshsmith url NAME@REF`)")
ADMIN_PATHS = frozenset({"/metrics"})
SIGNED_PREFIXES = ("/blobs/", "/assets/")
REDIRECT_TTL_S = 300  # a header-authorized /assets redirect carries a /blobs URL signed for this long
REGISTRY = web.AppKey("registry", Registry)
WEB_UI_DIR = Path(__file__).resolve().parent.parent / "clients" / "web" / "dist"  # vite's output (`make install`)
UI_PREFIX = "/ui"
UI_ROOT = web.AppKey("ui_root", Path)
UI_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
            ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml",
            ".png": "image/png", ".webp": "image/webp", ".ico": "image/x-icon", ".wasm": "application/wasm",
            ".woff2": "font/woff2", ".txt": "text/plain; charset=utf-8"}
# The app talks only to its own origin; GLTFLoader reads embedded textures through blob: URLs.
UI_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
          "connect-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class HttpAuth:
    """Key verification shared with gRPC (one Authenticator) and the URL signer."""

    authenticator: Authenticator
    signer: UrlSigner


@dataclass(frozen=True)
class HttpLimits:
    """Connections idle (no complete request header) this long since opening or since their last
    response are closed; beyond `max_connections` open ones, or `max_connections_per_peer` from one client
    address, new ones get 503 + Retry-After and are closed."""

    idle_timeout_s: float = 15.0
    max_connections: int = 512
    max_connections_per_peer: int = 64


AUTH = web.AppKey("auth", HttpAuth)
API = web.AppKey("api", WebApi)


class _BlobResponse(web.FileResponse):
    """FileResponse (sendfile, Range, 416) whose ETag is the content hash, not mtime+size."""

    def __init__(self, path, sha256: str, media_type: str, byte_range: str | None):
        super().__init__(path, headers={hdrs.CACHE_CONTROL: IMMUTABLE, hdrs.CONTENT_TYPE: media_type})
        self._headers[hdrs.ETAG] = f'"{sha256}"'
        self._request_headers = CIMultiDict({hdrs.RANGE: byte_range} if byte_range else {})

    def set_status(self, status: int, reason: str | None = None) -> None:
        super().set_status(status, reason)
        if status >= 400:  # a 416 is not the immutable blob
            self._headers.pop(hdrs.CACHE_CONTROL, None)
            self._headers.pop(hdrs.CONTENT_TYPE, None)

    async def prepare(self, request):
        # Conditionals were answered by the handler against the content hash; FileResponse only
        # sees a checked ASCII Range (its own validators are mtime-based).
        return await super().prepare(request.clone(headers=self._request_headers))

    @property
    def etag(self):
        return super().etag

    @etag.setter
    def etag(self, value):  # keep the strong content-hash ETag set in __init__
        pass


def _etags(value: str | None) -> list[str]:
    return [t.strip().removeprefix("W/").strip('"') for t in (value or "").split(",") if t.strip()]


_SUFFIX_ZERO = re.compile(r"bytes=-0+", re.ASCII | re.IGNORECASE)


def _range_verdict(value: str | None) -> str:
    """RFC 9110 14.2 for one Range header: "none" (absent), "ignore" (another unit, or several ranges: we
    send the whole blob), "unsatisfiable" (a zero-length suffix, non-ASCII), else "aiohttp" (FileResponse answers it:
    206, or 416 for a malformed or out-of-range spec)."""
    if value is None:
        return "none"
    if not value.isascii() or not value.isprintable():
        return "unsatisfiable"  # not even bytes=…; aiohttp cannot re-encode undecodable bytes
    unit, eq, spec = value.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return "ignore"  # MUST ignore a unit it does not understand
    if "," in spec:
        return "ignore"  # MAY ignore: no multipart/byteranges
    if _SUFFIX_ZERO.fullmatch(value.strip()):
        return "unsatisfiable"  # `bytes=-0` selects nothing
    return "aiohttp"


async def blob(request: web.Request) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    sha = check_sha256(request.match_info["sha256"])
    path = await asyncio.to_thread(registry.blob_path, sha)
    tag = f'"{sha}"'
    if_none = _etags(request.headers.get(hdrs.IF_NONE_MATCH))
    if "*" in if_none or sha in if_none:
        return web.Response(status=304, headers={hdrs.ETAG: tag, hdrs.CACHE_CONTROL: IMMUTABLE})
    if_match = _etags(request.headers.get(hdrs.IF_MATCH))
    if if_match and "*" not in if_match and sha not in if_match:
        return web.Response(status=412, headers={hdrs.ETAG: tag})
    if_range = request.headers.get(hdrs.IF_RANGE)
    byte_range = request.headers.get(hdrs.RANGE)
    verdict = _range_verdict(byte_range)
    if verdict != "none" and if_range is not None and if_range.strip().strip('"') != sha:
        verdict = "ignore"  # a stale validator: send the whole blob
    if verdict == "unsatisfiable":
        size = (await asyncio.to_thread(path.stat)).st_size
        return web.Response(status=416, headers={hdrs.CONTENT_RANGE: f"bytes */{size}", hdrs.ETAG: tag})
    media_type = await asyncio.to_thread(registry.blob_media_type, sha)
    return _BlobResponse(path, sha, media_type, byte_range if verdict == "aiohttp" else None)


async def asset(request: web.Request) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    spec = request.match_info["spec"]
    name, sep, ref = spec.rpartition("@")
    if not sep:
        name, ref = spec, "latest"
    check_asset_name(name)
    kind = check_text("kind", request.query.get("kind", "glb"))
    raw_lod = request.query.get("lod", "0")
    if not (raw_lod.isascii() and raw_lod.isdigit() and len(raw_lod) <= 3):
        raise InvalidInput(f"lod must be ASCII digits, got {quote(raw_lod)}")
    lod = limits.check("lod", int(raw_lod))
    v = await asyncio.to_thread(registry.resolve, name, ref)
    art = v.artifact(kind, lod)
    if art is None:
        have = ", ".join(f"{a.kind}#lod{a.lod}" if a.kind == "glb" else a.kind for a in v.artifacts)
        raise NotFound(f"{name} version {v.number} has no {kind} lod {lod}; it has {have}")
    location, cache = f"/blobs/{art.sha256}", SHORT
    ident: Identity | None = request.get("identity")
    if ident is not None:  # the caller was authorized: hand on a signed /blobs URL (never beyond their own expiry)
        signer = request.app[AUTH].signer
        location = signer.sign(location, ident.key_id, REDIRECT_TTL_S, exp=request.get("signed_exp"))
        cache = PRIVATE_SHORT
    return web.Response(
        status=302,
        headers={
            hdrs.LOCATION: location,
            hdrs.CACHE_CONTROL: cache,
            "X-Asset-Version": str(v.number),
            "X-Content-Sha256": art.sha256,
        },
    )


async def _authorize(request: web.Request, auth: HttpAuth) -> None:
    """Key header (any path) or signed URL (/blobs, /assets); records the identity on the request."""
    needed = "admin" if request.path in ADMIN_PATHS else "reader"
    ident = await auth.authenticator.http_caller(request.headers)
    if ident is None and any(p in request.query for p in SIG_PARAMS):
        if not request.path.startswith(SIGNED_PREFIXES):
            raise Unauthenticated(f"signed URLs are for /blobs and /assets; {request.path} needs a key header")
        kid, exp = auth.signer.verify(request.path, request.query)
        ident = await auth.authenticator.verify_id(kid)
        if ident is None:
            raise Unauthenticated("the key that signed this URL was revoked; ask for a new URL")
        request["signed_exp"] = exp
    if ident is None:
        raise Unauthenticated(NO_KEY)
    if not role_allows(ident.role, needed):
        raise PermissionDenied(f"{request.path} needs the {needed} role; your key {ident.key_id} has the {ident.role} role")
    request["identity"] = ident


def _ui_file(root: Path, rel: str) -> Path:
    """The file under `root` for a /ui/ path; NotFound for anything else (dot segments, folders, links out)."""
    if rel == "":
        rel = "index.html"
    parts = rel.split("/")
    if "\\" in rel or "\0" in rel or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise NotFound(f"{UI_PREFIX}/{quote(rel)} is not a file of the web app")
    path = (root / rel).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise NotFound(f"{UI_PREFIX}/{quote(rel)} is not a file of the web app")
    return path


async def web_ui(request: web.Request) -> web.StreamResponse:
    """The built web app: index.html for /ui/, its hashed files (cached for good) under /ui/assets/."""
    root = request.app[UI_ROOT]
    if not (await asyncio.to_thread((root / "index.html").is_file)):
        raise Unavailable(f"the web app is not built in {root}: run `make install` (vite build of clients/web)")
    path = await asyncio.to_thread(_ui_file, root, request.match_info["path"])
    media_type = UI_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {hdrs.CONTENT_TYPE: media_type, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               hdrs.CACHE_CONTROL: IMMUTABLE if path.parent.name == "assets" else "no-cache"}
    if path.suffix == ".html":
        headers.update({"Content-Security-Policy": UI_CSP, "X-Frame-Options": "DENY"})
    return web.FileResponse(path, headers=headers)


async def web_ui_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(f"{UI_PREFIX}/")


def _is_ui(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _error(status: int, message: str) -> web.Response:
    headers = {hdrs.CACHE_CONTROL: "no-store"}
    if status == 401:
        headers[hdrs.WWW_AUTHENTICATE] = WWW_AUTHENTICATE
    return web.Response(status=status, text=message + "\n", headers=headers)


async def _close_if_body_left(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    """A request answered without reading a large body (refused from its headers): send the answer and close,
    rather than read and discard the rest (aiohttp lingers on a body it was not asked to read)."""
    if (request.body_exists and not request.content.is_eof()
            and (request.content_length is None or request.content_length > HTTP_LINGER_MAX_BYTES)):
        await resp.prepare(request)
        await resp.write_eof()
        request.protocol.force_close()
    return resp


@web.middleware
async def _cors_and_errors(request: web.Request, handler):
    """Every answer (errors and 500s included) carries CORS; no exception escapes unanswered."""
    if API in request.app and is_api_path(request.path):
        # gRPC-Web / Connect: own CORS, auth (the gRPC interceptor) and statuses
        return await _close_if_body_left(request, await handler(request))
    try:
        if request.method == hdrs.METH_OPTIONS:  # CORS preflight, for every path (browsers send no key)
            resp = web.Response(status=204, headers=PREFLIGHT)
        else:
            if (auth := request.app.get(AUTH)) is not None and not _is_ui(request.path):
                await _authorize(request, auth)
            resp = await handler(request)
    except MeshsmithError as e:
        status = next((code for cls, code in _STATUS.items() if isinstance(e, cls)), 500)
        if status == 500:
            log.error("%s %s failed: %s", request.method, request.path, e.message)
        resp = _error(status, e.message)
    except web.HTTPException as e:  # 404 of an unknown path, 405...
        resp = web.Response(status=e.status, reason=e.reason, body=e.body, headers=e.headers)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.rel_url)
        resp = _error(500, "internal error; see the server log")
    resp.headers.update(CORS)
    return await _close_if_body_left(request, resp)


def make_http_app(registry: Registry, extra_routes: Iterable[web.RouteDef] = (), auth: HttpAuth | None = None,
                  api: WebApi | None = None, web_ui_dir: Path = WEB_UI_DIR) -> web.Application:
    """The HTTP app; `extra_routes` (e.g. `web.get('/metrics', handler)`) are added as they are.
    With `auth`, every request needs a key or a signed URL; with `api`, every RPC is served too;
    the web app's files are served from `web_ui_dir` at /ui/."""
    app = web.Application(middlewares=[_cors_and_errors])
    app[REGISTRY] = registry
    app[UI_ROOT] = web_ui_dir
    if auth is not None:
        app[AUTH] = auth
    if api is not None:
        app[API] = api
        app.add_routes(api.route_defs())
    app.add_routes(
        [
            web.get("/blobs/{sha256}", blob),  # GET routes answer HEAD too
            web.get("/assets/{spec:.+}", asset),
            web.get(UI_PREFIX, web_ui_root),
            web.get(UI_PREFIX + "/{path:.*}", web_ui),
            *extra_routes,
        ]
    )
    return app


def make_metrics_app(handler) -> web.Application:
    """Only GET /metrics, open: for `--metrics-address`, which must be a loopback address."""
    app = web.Application(middlewares=[_cors_and_errors])
    app.add_routes([web.get("/metrics", handler)])
    return app


def _shed(reason: str) -> bytes:
    body = f"{reason}; retry soon\n".encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nCache-Control: no-store\r\n"
            b"Access-Control-Allow-Origin: *\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


_OVER_CAP = _shed("too many connections")
_OVER_PEER_CAP = _shed("too many connections from your address")


class _Admission(asyncio.Protocol):
    """One accepted socket: admitted against the caps when asyncio hands it over (connection_made runs one at a
    time on the loop, so a burst of accepts cannot overshoot them), then served by aiohttp's protocol; or
    answered 503 + Retry-After and closed, counting against nothing."""

    def __init__(self, gate: "_Gate"):
        self._gate = gate
        self._inner: asyncio.Protocol | None = None
        self._peer = ""

    def connection_made(self, transport):
        gate = self._gate
        peer = transport.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else "unknown"
        refusal = (_OVER_CAP if gate.open >= gate.limits.max_connections else
                   _OVER_PEER_CAP if gate.per_peer.get(host, 0) >= gate.limits.max_connections_per_peer else None)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            return
        gate.open += 1
        gate.per_peer[host] = gate.per_peer.get(host, 0) + 1
        self._peer = host
        self._inner = gate.server()
        self._inner.connection_made(transport)

    def connection_lost(self, exc):
        if self._inner is None:
            return
        gate = self._gate
        gate.open -= 1
        left = gate.per_peer.pop(self._peer) - 1
        if left:
            gate.per_peer[self._peer] = left
        self._inner.connection_lost(exc)

    def data_received(self, data):
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self):
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self):
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self):
        if self._inner is not None:
            self._inner.resume_writing()


class _Gate:
    """The protocol factory the listening socket uses: aiohttp's server behind hard connection caps."""

    def __init__(self, server: web.Server, limits: HttpLimits):
        self.server = server
        self.limits = limits
        self.open = 0  # admitted connections not yet closed
        self.per_peer: dict[str, int] = {}

    def __call__(self):
        return _Admission(self)

    def __getattr__(self, name):  # shutdown(), connections... of aiohttp's server
        return getattr(self.server, name)


class _Runner(web.AppRunner):
    def __init__(self, app: web.Application, limits: HttpLimits):
        # keepalive_timeout: aiohttp closes a connection whose next request header is not complete this
        # long after it opened or after its last response (the header-read and the idle timeout).
        # auto_decompress off: request bodies are inflated by server/http_body.py, capped, after auth.
        # lingering_time: a body left unread (a request refused from its headers) is drained this long, then closed.
        super().__init__(app, access_log=None, keepalive_timeout=limits.idle_timeout_s, auto_decompress=False,
                         lingering_time=HTTP_LINGER_S)
        self._limits = limits

    async def _make_server(self):
        return _Gate(await super()._make_server(), self._limits)


def ssl_context(cert, key, client_ca=None) -> ssl.SSLContext:
    """HTTPS with the gRPC certificate; with `client_ca`, client certificates are required (mTLS) here too."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    if client_ca:
        ctx.load_verify_locations(str(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def start_http(
    registry: Registry, host: str, port: int, extra_routes: Iterable[web.RouteDef] = (), *,
    auth: HttpAuth | None = None, limits: HttpLimits = HttpLimits(), tls: ssl.SSLContext | None = None,
    app: web.Application | None = None, api: WebApi | None = None, web_ui_dir: Path | None = None,
) -> web.AppRunner:
    """Start serving (`app`, or the registry app); stop with `await runner.cleanup()`."""
    runner = _Runner(app or make_http_app(registry, extra_routes, auth, api, web_ui_dir or WEB_UI_DIR), limits)
    await runner.setup()
    # asyncio accepts at most `backlog` connections per turn of the event loop: a small batch, so a connection
    # flood cannot crowd out the calls (gRPC's too) already waiting on the loop; the kernel queues the rest.
    sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    await web.SockSite(runner, sock, ssl_context=tls, backlog=HTTP_ACCEPT_BATCH).start()
    sock.listen(HTTP_LISTEN_BACKLOG)
    return runner
