"""Read-only HTTP pulls from the registry, beside gRPC: immutable blobs and asset redirects.

GET|HEAD /blobs/{sha256}                       immutable bytes; strong ETag "<sha256>", Range, 304
GET|HEAD /assets/{name}@{version|channel}      302 to /blobs/{sha256}; ?kind=glb&lod=0
CORS is open (`*`) so glTFast / three.js can load a GLB straight from a URL.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

from aiohttp import hdrs, web
from multidict import CIMultiDict

from meshsmith.errors import FailedPrecondition, InvalidInput, MeshsmithError, NotFound
from registry import Registry
from registry.blobs import check_sha256
from registry.names import check_asset_name

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Content-Length, Content-Range, Accept-Ranges, Content-Type, Location",
}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Match, If-Range, If-Modified-Since, Cache-Control",
    "Access-Control-Max-Age": "86400",
}
_CONDITIONAL = (hdrs.IF_MATCH, hdrs.IF_NONE_MATCH, hdrs.IF_MODIFIED_SINCE, hdrs.IF_UNMODIFIED_SINCE, hdrs.IF_RANGE)
_STATUS = {NotFound: 404, InvalidInput: 400, FailedPrecondition: 409}
REGISTRY = web.AppKey("registry", Registry)


class _BlobResponse(web.FileResponse):
    """FileResponse (sendfile, Range, 416) whose ETag is the content hash, not mtime+size."""

    def __init__(self, path, sha256: str, media_type: str, request_headers: CIMultiDict):
        super().__init__(path, headers={hdrs.CACHE_CONTROL: IMMUTABLE, hdrs.CONTENT_TYPE: media_type})
        self._headers[hdrs.ETAG] = f'"{sha256}"'
        self._request_headers = request_headers

    def set_status(self, status: int, reason: str | None = None) -> None:
        super().set_status(status, reason)
        if status >= 400:  # a 416 is not the immutable blob
            self._headers.pop(hdrs.CACHE_CONTROL, None)
            self._headers.pop(hdrs.CONTENT_TYPE, None)

    async def prepare(self, request):
        # Conditionals were answered by the handler against the content hash; FileResponse only
        # sees Range (its own validators are mtime-based).
        return await super().prepare(request.clone(headers=self._request_headers))

    @property
    def etag(self):
        return super().etag

    @etag.setter
    def etag(self, value):  # keep the strong content-hash ETag set in __init__
        pass


def _etags(value: str | None) -> list[str]:
    return [t.strip().removeprefix("W/").strip('"') for t in (value or "").split(",") if t.strip()]


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
    headers = CIMultiDict(request.headers)
    for h in _CONDITIONAL:
        headers.popall(h, None)
    if if_range is not None and if_range.strip().strip('"') != sha:
        headers.popall(hdrs.RANGE, None)  # a stale validator: send the whole blob
    media_type = await asyncio.to_thread(registry.blob_media_type, sha)
    return _BlobResponse(path, sha, media_type, headers)


async def asset(request: web.Request) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    spec = request.match_info["spec"]
    name, sep, ref = spec.rpartition("@")
    if not sep:
        name, ref = spec, "latest"
    check_asset_name(name)
    kind = request.query.get("kind", "glb")
    try:
        lod = int(request.query.get("lod", "0"))
    except ValueError:
        raise InvalidInput(f"lod must be an integer, got {request.query['lod']!r}") from None
    v = await asyncio.to_thread(registry.resolve, name, ref)
    art = v.artifact(kind, lod)
    if art is None:
        have = ", ".join(f"{a.kind}#lod{a.lod}" if a.kind == "glb" else a.kind for a in v.artifacts)
        raise NotFound(f"{name} version {v.number} has no {kind} lod {lod}; it has {have}")
    return web.Response(
        status=302,
        headers={
            hdrs.LOCATION: f"/blobs/{art.sha256}",
            hdrs.CACHE_CONTROL: SHORT,
            "X-Asset-Version": str(v.number),
            "X-Content-Sha256": art.sha256,
        },
    )


@web.middleware
async def _cors_and_errors(request: web.Request, handler):
    try:
        if request.method == hdrs.METH_OPTIONS:  # CORS preflight, for every path
            resp = web.Response(status=204, headers=PREFLIGHT)
        else:
            resp = await handler(request)
    except MeshsmithError as e:
        status = next((code for cls, code in _STATUS.items() if isinstance(e, cls)), 500)
        resp = web.Response(status=status, text=e.message + "\n", headers={hdrs.CACHE_CONTROL: "no-store"})
    except web.HTTPException as e:
        resp = e
    resp.headers.update(CORS)
    return resp


def make_http_app(registry: Registry, extra_routes: Iterable[web.RouteDef] = ()) -> web.Application:
    """The HTTP app; `extra_routes` (e.g. `web.get('/metrics', handler)`) are added as they are."""
    app = web.Application(middlewares=[_cors_and_errors])
    app[REGISTRY] = registry
    app.add_routes(
        [
            web.get("/blobs/{sha256}", blob),  # GET routes answer HEAD too
            web.get("/assets/{spec:.+}", asset),
            *extra_routes,
        ]
    )
    return app


async def start_http(
    registry: Registry, host: str, port: int, extra_routes: Iterable[web.RouteDef] = ()
) -> web.AppRunner:
    """Start serving; stop with `await runner.cleanup()`."""
    runner = web.AppRunner(make_http_app(registry, extra_routes), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
