"""`remote` backend: a hosted image-to-3D API (Tripo apiv3, through its official client `tripo3d`), then
meshsmith's own tail.

picture (PNG of the decoded upload) -> POST /v3/files -> POST /v3/generation/image-to-model -> GET
/v3/tasks/{id} until success/failed/banned/expired -> download the signed model URL (no key sent; only from
allowed hosts and public addresses, redirects checked, size capped while streaming: fetch.py) -> load it as
an import is loaded (same size caps, same InvalidInput for a bad file) -> its own texture kept, or the picture
projected on the front when it has none. generate() then decimates, repairs, places, validates and builds LODs.

Every vendor failure becomes one meshsmith error in `vendor_error` (the one mapping); the API key is in no
message, lineage, event or log line (vendor text is scrubbed of it too). No torch here.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import trimesh
from PIL import Image

from meshsmith.errors import (Aborted, DeadlineExceeded, FailedPrecondition, InvalidInput, MeshsmithError,
                              ResourceExhausted, Unavailable)
from meshsmith.limits import quote
from reconstruct.params import ReconstructParams, Reconstruction
from reconstruct.segment import Segmented
from reconstruct.texture import planar_uv, smooth_texture

from .base import RemoteConfig, check_remote
from .fetch import FetchPolicy, download
from .shape import picture_xy

KEY_FIX = ("put a valid Tripo API key (tsk_...) in --remote-key-file PATH (mode 0600) or MESHSMITH_TRIPO_API_KEY "
           "and restart the server")
MAX_POLL_S = 10.0  # the poll interval doubles from --remote-poll up to this
# Tripo's documented business codes (docs.tripo3d.ai, "Errors" and the support FAQ)
AUTH_FAILED = 1002
SERVER_ERRORS = (1000, 1001)
TOO_MANY_TASKS = 2000  # concurrency / rate limit (HTTP 429)
NO_CREDIT = 2010  # the account's credits are exhausted
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RemoteResult:
    """The reconstruction, the lineage recorded on the version, and where the time went (ms)."""

    reconstruction: Reconstruction
    lineage: dict
    wait_ms: float  # upload + task + download: time spent waiting on the vendor
    load_ms: float  # reading the downloaded model into a mesh (texture kept or projected)


def _client(remote: RemoteConfig):
    """tripo3d's TripoClient for the configured key and URL (tripo3d imported here only)."""
    # tripo3d's import starts a thread that asks public IP-geolocation services where this machine is;
    # the server has no business contacting them (and the base URL is explicit anyway)
    os.environ["TRIPO_DISABLE_GEO_DETECTION"] = "1"
    from tripo3d import TripoClient

    return TripoClient(api_key=remote.key, v3_base_url=remote.base_url or None)


def _scrub(text: str, remote: RemoteConfig) -> str:
    return text.replace(remote.key, "[key]") if remote.key else text


def vendor_error(err: Exception, remote: RemoteConfig, task_id: str = "") -> MeshsmithError:
    """A tripo3d exception -> the meshsmith error a user can act on (the one place this mapping lives)."""
    from tripo3d import TripoAPIError, TripoRequestError, TripoValidationError

    where = f" (task {task_id})" if task_id else ""
    url = remote.base_url or "Tripo's API"
    if isinstance(err, TripoAPIError):
        said = quote(_scrub(f"[{err.code}] {err.message}", remote), 200)
        if err.code == AUTH_FAILED:
            return FailedPrecondition(f"Tripo refused the API key from {remote.key_source or 'the server'}: {said}; "
                                      f"{KEY_FIX}")
        if err.code == NO_CREDIT:
            return ResourceExhausted(f"the Tripo account has no credits left{where}: {said}; top up the account "
                                     "(Tripo's billing page), then retry").retry_after(3600)
        if err.code == TOO_MANY_TASKS:
            return ResourceExhausted(f"Tripo's concurrency limit is reached{where}: {said}; retry in a minute "
                                     "or lower the server's --workers").retry_after(60)
        if err.code in SERVER_ERRORS:
            return Unavailable(f"Tripo failed on its side{where}: {said}; retry in a few minutes")
        return FailedPrecondition(f"Tripo refused the request{where}: {said}; check --model remote=tripo:"
                                  f"MODEL_VERSION ({remote.model_version}) and the picture")
    if isinstance(err, TripoRequestError):
        status = err.status_code
        if status in (401, 403):
            return FailedPrecondition(f"Tripo refused the API key from {remote.key_source or 'the server'} "
                                      f"(HTTP {status}); {KEY_FIX}")
        if status == 429:
            return ResourceExhausted(f"Tripo is rate-limiting this key (HTTP 429){where}; retry in a minute"
                                     ).retry_after(60)
        if status == 0:
            return Unavailable(f"could not reach {url}{where}: {quote(_scrub(err.message, remote), 200)}; check the "
                               "network and --remote-url, then retry")
        if status >= 500:
            return Unavailable(f"{url} answered HTTP {status}{where}; retry in a few minutes")
        return FailedPrecondition(f"{url} answered HTTP {status}{where}: {quote(_scrub(err.message, remote), 200)}; "
                                  "check --remote-url")
    if isinstance(err, TripoValidationError):
        return FailedPrecondition(f"the Tripo client refused the configuration: {quote(_scrub(str(err), remote))}")
    return Unavailable(f"talking to {url} failed{where} ({type(err).__name__}); retry")


def _task_failed(task, remote: RemoteConfig) -> MeshsmithError:
    """A task that ended without a model: its status and the vendor's reason, quoted."""
    reason = quote(_scrub(str(task.error_msg or "no reason given"), remote), 200)
    code = f", error code {task.error_code}" if task.error_code is not None else ""
    status = task.status.value
    if status == "banned":
        return InvalidInput(f"Tripo refused the picture (task {task.task_id} banned{code}): {reason}; Tripo's "
                            "content checks rejected it: send another picture")
    if status == "failed":
        return Aborted(f"the Tripo task {task.task_id} failed{code}: {reason}; failed tasks use no credits: retry, "
                       "or send a clearer picture of one object")
    return Aborted(f"the Tripo task {task.task_id} ended {status}{code}: {reason}; retry")


async def _generate(picture: Path, remote: RemoteConfig, seed: int, progress: Progress, work: Path):
    """upload -> create -> poll -> download; returns (task id, model bytes). Raises tripo3d's errors, or
    a meshsmith error for a task that ended badly."""
    from tripo3d import TaskStatus

    client = _client(remote)
    task_id = ""
    try:
        token = (await client.upload_file(picture))["file_token"]
        progress(0.0, "picture uploaded to Tripo")
        task_id = await client.image_to_model(token, model_version=remote.model_version, model_seed=seed,
                                              texture_seed=seed)
        progress(0.0, f"Tripo task {task_id} created ({remote.model_id}, seed {seed})")
        wait, last = remote.poll_s, None
        while True:
            task = await client.get_task(task_id)
            if task.status == TaskStatus.SUCCESS:
                break
            if task.status.is_terminal():
                raise _task_failed(task, remote)
            if (task.status, task.progress) != last:
                last = (task.status, task.progress)
                progress(task.progress / 100, f"Tripo task {task_id}: {task.status.value}, {task.progress}%")
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_POLL_S)
        url = task.output.model_url or task.output.pbr_model or task.output.model
        if not url:
            raise Aborted(f"the Tripo task {task_id} succeeded but named no model to download; retry")
        target = work / "model.glb"
        try:
            # our own fetch, not tripo3d's download_file: only allowed hosts and public addresses, redirects
            # checked, the size capped while streaming (fetch.py); a signed URL: no key is sent with it
            await download(url, target, download_policy(remote), remote.max_bytes,
                           what=f"the model of Tripo task {task_id}")
        except MeshsmithError:
            raise
        except Exception as err:  # noqa: BLE001 - any other failure here is the download's
            what = f"HTTP {err.status_code}" if getattr(err, "status_code", 0) else type(err).__name__
            raise Unavailable(f"the model of Tripo task {task_id} could not be downloaded ({what}); its signed URL "
                              "may have expired or the storage is unreachable: retry") from None
        return task_id, target.read_bytes()
    except MeshsmithError:
        raise
    except Exception as err:  # noqa: BLE001 - every tripo3d/aiohttp failure goes through the one mapping
        raise vendor_error(err, remote, task_id) from None
    finally:
        await client.close()


def download_policy(remote: RemoteConfig) -> FetchPolicy:
    """Where this configuration lets model files come from (--remote-url's host, --remote-download-hosts)."""
    from tripo3d.client import BASE_URL_GLOBAL

    return FetchPolicy.build(remote.base_url, BASE_URL_GLOBAL, remote.download_hosts, remote.vendor, what="Tripo")


def generate_remote(picture_png: bytes, remote: RemoteConfig, seed: int, progress: Progress) -> tuple[str, bytes]:
    """(task id, downloaded model bytes) within remote.timeout_s, else DeadlineExceeded naming the flag."""
    check_remote(remote)
    with tempfile.TemporaryDirectory(prefix="meshsmith-remote-") as tmp:
        work = Path(tmp)
        (work / "picture.png").write_bytes(picture_png)

        async def bounded():
            try:
                async with asyncio.timeout(remote.timeout_s):
                    return await _generate(work / "picture.png", remote, seed, progress, work)
            except TimeoutError:
                raise DeadlineExceeded(
                    f"Tripo did not deliver a model within {remote.timeout_s:g} s (--remote-timeout); the task may "
                    "still finish on Tripo's side (see its dashboard): retry later or raise --remote-timeout") from None

        return asyncio.run(bounded())


def _picture_png(rgba: np.ndarray) -> bytes:
    """(H, W, 4) uint8 -> PNG bytes (deterministic: no timestamps, fixed compression)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def load_model(data: bytes, remote: RemoteConfig, task_id: str) -> trimesh.Trimesh:
    """The downloaded GLB -> one mesh in metres, +Y up, read exactly as an imported GLB is (InvalidInput when
    it is not a usable mesh, like a bad import)."""
    from validation.formats import MeshLimits, check_geometry
    from validation.units import load_scene

    if len(data) > remote.max_bytes:  # the download stops at the cap already (fetch.py): the same refusal
        raise FailedPrecondition(f"the model Tripo returned (task {task_id}) is {len(data)} bytes, over the server's "
                           f"{remote.max_bytes} byte mesh limit")
    try:
        mesh, frame = load_scene(data, "model.glb", None, None, MeshLimits(max_bytes=remote.max_bytes))
        check_geometry(mesh, f"the model Tripo returned ({frame.describe()})")
    except InvalidInput as err:
        raise InvalidInput(f"the model Tripo returned for task {task_id} is not a usable mesh: {err.message}") from None
    return mesh


def _texture_kept(mesh: trimesh.Trimesh, size: int) -> bool:
    """True when the mesh carries UVs and a base-colour image (downscaled to `size` px if larger)."""
    visual = mesh.visual
    image = getattr(getattr(visual, "material", None), "baseColorTexture", None)
    if not isinstance(visual, trimesh.visual.TextureVisuals) or visual.uv is None or image is None:
        return False
    if len(visual.uv) != len(mesh.vertices):
        return False
    if max(image.size) > size:
        scale = size / max(image.size)
        visual.material.baseColorTexture = image.resize(
            (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale))), Image.Resampling.LANCZOS)
    return True


def _project_picture(mesh: trimesh.Trimesh, seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """No texture in the download: the picture projected on the front (x/y extent onto the object's pixels)."""
    from trimesh.visual.material import PBRMaterial

    v = np.asarray(mesh.vertices)
    h, w = seg.mask.shape
    xy, _, _ = picture_xy(v, seg.mask)
    material = PBRMaterial(baseColorTexture=smooth_texture(seg.rgba, seg.mask, params.texture_size),
                           metallicFactor=0.0, roughnessFactor=0.9)
    out = trimesh.Trimesh(vertices=v, faces=np.asarray(mesh.faces), process=False, validate=False)
    out.visual = trimesh.visual.TextureVisuals(uv=planar_uv(xy, w, h), material=material)
    return out


def shape_from_remote(rgba: np.ndarray, seg: Segmented, remote: RemoteConfig, params: ReconstructParams,
                      seed: int = 0, progress: Progress = lambda f, m: None) -> RemoteResult:
    """The whole picture (H, W, 4) -> the vendor's textured mesh (mode "remote"), lineage and timings.

    Lineage: name "remote", model_id "tripo:MODEL_VERSION", revision and task_id the vendor's task id,
    weights_sha256 the sha256 of the downloaded model file (there are no weights here to hash), device
    "tripo API". The key is not in it. Only remote.lineage() (known before the call) keys the version."""
    t0 = time.perf_counter()
    task_id, data = generate_remote(_picture_png(rgba), remote, seed, progress)
    t1 = time.perf_counter()
    mesh = load_model(data, remote, task_id)
    kept = _texture_kept(mesh, params.texture_size)
    if not kept:
        mesh = _project_picture(mesh, seg, params)
    t2 = time.perf_counter()
    lineage = {**remote.lineage(), "revision": task_id, "weights_sha256": hashlib.sha256(data).hexdigest(),
               "task_id": task_id}
    reason = (f"mesh from {remote.model_id} (task {task_id}, {len(data)} bytes), "
              + ("its own texture kept" if kept else "the picture projected on the front (it had no texture)"))
    return RemoteResult(Reconstruction(mesh=mesh, mode="remote", reason=reason), lineage,
                        round((t1 - t0) * 1000, 1), round((t2 - t1) * 1000, 1))
