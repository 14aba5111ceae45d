"""A local stand-in for Tripo's apiv3, speaking the protocol as the official client `tripo3d` uses it (real
calls are impossible here): Bearer key on every API call, the documented `{"code", "data" | "message",
"suggestion"}` envelope and error codes (docs.tripo3d.ai "Errors": 1002 auth 401, 1000 server 500, 2000
concurrency 429, 2010 credits exhausted 403), tasks that report progress over a few polls, and a signed model
URL it serves itself (no key needed there; whether one was sent is recorded).

    standin = TripoStandIn(key="tsk_...", glb=GLB_BYTES).start()   # standin.url -> --remote-url
    standin.mode = "task_failed"                                    # see MODES
    standin.hold = threading.Event()   # tasks created from now on stay `running` until hold.set()
    standin.stop()
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from tests.conftest import free_port

MODES = {
    "ok": "success after RUNNING_POLLS polls, the model served at its URL",
    "task_failed": "the task ends `failed` with error_code 1001 and a reason",
    "banned": "the task ends `banned` (content policy, 2008)",
    "server_error": "every API call answers HTTP 500, code 1000",
    "no_credit": "creating the task answers HTTP 403, code 2010 (credits exhausted)",
    "rate_limited": "creating the task answers HTTP 429, code 2000 (concurrency limit)",
    "never": "the task stays `running` forever",
    "bad_model": "success, but the model URL serves bytes that are not a GLB",
    "gone_model": "success, but the model URL answers 404",
    "huge_model": "success, the model URL streams HUGE_BYTES (chunked, no Content-Length) without holding them",
    "huge_declared": "success, the model URL declares HUGE_BYTES in Content-Length, then streams them",
}
HUGE_BYTES = 400 * 2**20
RUNNING_POLLS = 3


@dataclass
class TripoStandIn:
    key: str
    glb: bytes
    mode: str = "ok"
    hold: threading.Event | None = None  # taken by each task at creation: it stays `running` until this is set
    url: str = ""
    uploads: list[bytes] = field(default_factory=list)
    creates: list[dict] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)  # every Authorization header received, API and download
    download_auth: list[str] = field(default_factory=list)  # one per request to the model URL (redirects too)
    model_url: str = ""  # when set: the URL succeeded tasks name (e.g. another service's), instead of our own
    redirect_to: str = ""  # when set: our model URL answers 302 to this ("{base}" and "{task_id}" filled in)
    streamed: list[int] = field(default_factory=list)  # bytes each huge download got out before it was dropped
    _tasks: dict = field(default_factory=dict)

    # --- protocol ---

    def _fail(self, http: int, code: int, message: str, suggestion: str = "") -> web.Response:
        return web.json_response({"code": code, "message": message, "suggestion": suggestion}, status=http)

    def _authorised(self, request: web.Request) -> web.Response | None:
        got = request.headers.get("Authorization", "")
        self.auth_seen.append(got)
        if got != f"Bearer {self.key}":
            return self._fail(401, 1002, "Authentication failed",
                              "Check if your credentials is valid, and ensure you set it correctly")
        if self.mode == "server_error":
            return self._fail(500, 1000, "Unknown error on sever side", "Please contact the support with request id")
        return None

    async def upload(self, request: web.Request) -> web.Response:
        if (refused := self._authorised(request)) is not None:
            return refused
        form = await request.post()
        part = form.get("file")
        if part is None or not hasattr(part, "file"):
            return self._fail(400, 1003, "The request body is malformed")
        self.uploads.append(part.file.read())
        return web.json_response({"code": 0, "data": {"file_token": f"file_{uuid.uuid4().hex}"}})

    async def create(self, request: web.Request) -> web.Response:
        if (refused := self._authorised(request)) is not None:
            return refused
        if self.mode == "no_credit":
            return self._fail(403, 2010, "You don't have enough credit to create this task",
                              "Please check billing and recharge")
        if self.mode == "rate_limited":
            return self._fail(429, 2000, "You have exceeded the limit of generation", "Please retry later")
        body = await request.json()
        if not str(body.get("input", "")).startswith("file_") or not body.get("model"):
            return self._fail(400, 1004, "One or more of your parameter is invalid")
        self.creates.append(body)
        task_id = str(uuid.uuid4())
        self._tasks[task_id] = {"polls": 0, "mode": self.mode, "hold": self.hold}
        return web.json_response({"code": 0, "data": {"task_id": task_id}})

    async def task(self, request: web.Request) -> web.Response:
        if (refused := self._authorised(request)) is not None:
            return refused
        task_id = request.match_info["task_id"]
        if task_id not in self._tasks:
            return self._fail(404, 1004, "task not found")
        t = self._tasks[task_id]
        t["polls"] += 1
        data = {"task_id": task_id, "type": "image_to_model", "input": {}, "output": {}, "create_time": 1768888519,
                "queuing_num": -1, "running_left_time": -1}
        if t["polls"] == 1:
            data.update(status="queued", progress=0)
        elif t["polls"] <= RUNNING_POLLS or t["mode"] == "never" or (t["hold"] and not t["hold"].is_set()):
            data.update(status="running", progress=min(99, 30 * (t["polls"] - 1)))
        elif t["mode"] == "task_failed":
            data.update(status="failed", progress=100, error_code=1001,
                        error_msg="Fatal error on server side: the object could not be reconstructed")
        elif t["mode"] == "banned":
            data.update(status="banned", progress=100, error_code=2008,
                        error_msg="the input violates the content policy")
        else:
            base = f"{request.scheme}://{request.host}"
            url = self.model_url or f"{base}/signed/{task_id}.glb?Expires=9999999999&Signature=standin"
            data.update(status="success", progress=100, output={"model_url": url})
        return web.json_response({"code": 0, "data": data})

    async def model(self, request: web.Request) -> web.Response:
        got = request.headers.get("Authorization", "")
        self.download_auth.append(got)
        self.auth_seen.append(got)
        task_id = request.match_info["task_id"]
        if self.redirect_to and "final" not in request.query:
            base = f"{request.scheme}://{request.host}"
            raise web.HTTPFound(self.redirect_to.format(base=base, task_id=task_id))
        t = self._tasks.get(task_id)
        if t is None or t["mode"] == "gone_model":
            return web.Response(status=404, text="NoSuchKey")
        if t["mode"] in ("huge_model", "huge_declared"):
            return await self._huge(request, declared=t["mode"] == "huge_declared")
        body = b"glTF\x02\x00\x00\x00 not really a model" if t["mode"] == "bad_model" else self.glb
        return web.Response(body=body, content_type="model/gltf-binary")

    async def _huge(self, request: web.Request, declared: bool) -> web.StreamResponse:
        """HUGE_BYTES of zeros in 1 MiB writes of one buffer (never held whole); records how many got out."""
        response = web.StreamResponse(headers={"Content-Type": "model/gltf-binary"})
        if declared:
            response.content_length = HUGE_BYTES
        chunk = bytes(2**20)
        sent = 0
        try:
            await response.prepare(request)
            while sent < HUGE_BYTES:
                await response.write(chunk)
                sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client dropped the connection
        finally:
            self.streamed.append(sent)
        return response

    # --- running ---

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v3/files", self.upload)
        app.router.add_post("/v3/generation/image-to-model", self.create)
        app.router.add_get("/v3/tasks/{task_id}", self.task)
        app.router.add_get("/signed/{task_id}.glb", self.model)
        return app

    def start(self) -> "TripoStandIn":
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve():
            asyncio.set_event_loop(self._loop)
            self._runner = web.AppRunner(self.app(), access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", port).start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("the Tripo stand-in did not start")
        return self

    def stop(self) -> None:
        async def close():
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def spot_glb() -> bytes:
    """A real textured model like the ones Tripo returns: Keenan Crane's Spot (corpus), UVs + texture, as GLB."""
    import trimesh
    from PIL import Image
    from trimesh.visual import TextureVisuals
    from trimesh.visual.material import PBRMaterial

    from tests.conftest import CORPUS

    spot = CORPUS / "meshes" / "spot"
    mesh = trimesh.load(spot / "spot_triangulated.obj", process=False)
    texture = Image.open(spot / "spot_texture.png").convert("RGB")
    mesh.visual = TextureVisuals(uv=mesh.visual.uv, material=PBRMaterial(baseColorTexture=texture))
    return mesh.export(file_type="glb")
