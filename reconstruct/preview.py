"""Preview images of a mesh: a 3/4-view PNG and an animated turntable WebP.

Both are deterministic (same mesh + params -> same bytes) and rendered with
`reconstruct.render` (CPU, EGL); RuntimeError when EGL is unavailable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import trimesh
from PIL import Image

from meshsmith.errors import InvalidInput
from reconstruct.render import Camera, RenderParams, render, render_views

__all__ = ["PreviewParams", "preview_png", "turntable_webp", "turntable_frames"]


@dataclass(frozen=True)
class PreviewParams:
    """size: PNG side (px). turntable_frames / turntable_size: WebP frame count
    and side. pitch_deg: camera elevation for both. yaw_deg: the 3/4 view's
    azimuth (0 = front, +Z). frame_ms: WebP frame duration. webp_quality:
    lossy quality 0..100. background: straight RGBA behind the mesh."""

    size: int = 512
    turntable_frames: int = 24
    turntable_size: int = 256
    pitch_deg: float = 15.0
    yaw_deg: float = 45.0
    frame_ms: int = 100
    webp_quality: int = 80
    background: tuple[int, int, int, int] = (0, 0, 0, 0)


def _check(params: PreviewParams) -> None:
    if not (1 <= params.turntable_frames <= 360):
        raise InvalidInput(f"turntable_frames must be in 1..360, got {params.turntable_frames}")
    if not (1 <= params.frame_ms <= 60_000):
        raise InvalidInput(f"frame_ms must be in 1..60000, got {params.frame_ms}")
    if not (0 <= params.webp_quality <= 100):
        raise InvalidInput(f"webp_quality must be in 0..100, got {params.webp_quality}")


def preview_png(mesh: trimesh.Trimesh, params: PreviewParams = PreviewParams()) -> bytes:
    """PNG bytes of an RGBA (size, size) 3/4 view (yaw_deg, pitch_deg), lit, textured."""
    _check(params)
    rgba = render(mesh, Camera(yaw_deg=params.yaw_deg, pitch_deg=params.pitch_deg),
                  RenderParams(size=params.size, background=params.background))
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def turntable_frames(mesh: trimesh.Trimesh, params: PreviewParams = PreviewParams()) -> list[np.ndarray]:
    """(turntable_frames) x (T, T, 4) uint8 RGBA, yaw 0..360 (exclusive), fixed framing."""
    _check(params)
    n = params.turntable_frames
    cams = [Camera(yaw_deg=360.0 * i / n, pitch_deg=params.pitch_deg, fit="sphere") for i in range(n)]
    return render_views(mesh, cams, RenderParams(size=params.turntable_size, background=params.background))


def turntable_webp(mesh: trimesh.Trimesh, params: PreviewParams = PreviewParams()) -> bytes:
    """Animated, looping WebP of a full turn about +Y (turntable_frames frames)."""
    frames = [Image.fromarray(f, "RGBA") for f in turntable_frames(mesh, params)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:],
                   duration=params.frame_ms, loop=0, quality=params.webp_quality, method=4)
    return buf.getvalue()
