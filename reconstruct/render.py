"""Offscreen rasteriser on the CPU (moderngl + EGL, Mesa llvmpipe).

Conventions (glTF): +Y up, the model's front faces +Z. A `Camera` orbits the
centre of the mesh's bounding box: yaw 0 / pitch 0 sits on +Z looking toward -Z
(sees the front); positive yaw moves the camera toward +X, positive pitch moves
it up (looking down). Orthographic by default, so a front render's silhouette
is the mesh's x/y outline and compares with an input picture.

One GL context per process, created lazily and reused (fork-aware, guarded by a
lock, made current around each use so any thread may call). Output is
deterministic: same mesh + camera + params -> same bytes.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Literal, Sequence

import moderngl
import numpy as np
import trimesh
from PIL import Image

from meshsmith.errors import InvalidInput

__all__ = ["Camera", "RenderParams", "render", "render_views", "render_silhouette", "mask_iou", "fit_distance"]

GREY = (0.7, 0.7, 0.7)
MAX_TEXTURE = 2048
SAMPLES = 4  # MSAA samples; alpha = fraction of covered samples


@dataclass(frozen=True)
class Camera:
    """Where the camera looks from; it always frames the whole mesh.

    fov_deg None = orthographic. fit "view": the mesh's projected extents fill
    the image minus `RenderParams.margin` on each side, centred (tight; the
    front view frames the bbox x/y extents). fit "sphere": the smallest sphere
    about the bbox centre holding every vertex fills it, so scale and centre are the same for every
    yaw/pitch (turntables). fit "none" (perspective only): a true pinhole picture, principal point
    at the image centre, no 2D rescaling. All centre on the bounding-box centre.

    distance (perspective only): camera distance from that centre in mesh units; None = the
    bounding sphere just fills the cone, or with fit "none" the distance at which the projected
    extents fill the image minus the margin (see `fit_distance`).
    bounds: ((x, y, z) lo, (x, y, z) hi) to frame instead of the mesh's own box, so several meshes
    are seen by exactly the same camera (benchmarks compare them pixel for pixel).
    """

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    fov_deg: float | None = None
    fit: Literal["view", "sphere", "none"] = "view"
    distance: float | None = None
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None


@dataclass(frozen=True)
class RenderParams:
    """size: output is (size, size, 4). background: straight RGBA the mesh is
    composited over (alpha 0 keeps alpha = coverage). lighting: Lambert +
    ambient from a head light; False = unlit base colour. textured: use the
    texture / vertex colours; False = flat grey. margin: fraction of the image
    left empty on each side."""

    size: int = 512
    background: tuple[int, int, int, int] = (0, 0, 0, 0)
    lighting: bool = True
    textured: bool = True
    margin: float = 0.05


_VERT = """
#version 330
uniform mat4 u_view;   // world -> view (rotation + translation)
uniform mat4 u_proj;   // view -> clip (incl. 2D fit)
in vec3 in_pos; in vec3 in_nrm; in vec4 in_col; in vec2 in_uv;
out vec3 v_pos; out vec3 v_nrm; out vec4 v_col; out vec2 v_uv;
void main() {
    vec4 p = u_view * vec4(in_pos, 1.0);
    v_pos = p.xyz;
    v_nrm = mat3(u_view) * in_nrm;
    v_col = in_col; v_uv = in_uv;
    gl_Position = u_proj * p;
}
"""

_FRAG = """
#version 330
uniform int u_mode;        // 0 colour attribute, 1 texture
uniform bool u_light;
uniform bool u_ortho;
uniform vec4 u_factor;     // texture multiplier (sRGB)
uniform sampler2D u_tex;
in vec3 v_pos; in vec3 v_nrm; in vec4 v_col; in vec2 v_uv;
out vec4 f_color;
void main() {
    vec3 base = (u_mode == 1) ? texture(u_tex, vec2(v_uv.x, 1.0 - v_uv.y)).rgb * u_factor.rgb
                              : v_col.rgb;
    vec3 c = base;
    if (u_light) {
        vec3 n = v_nrm;
        if (dot(n, n) < 1e-12) n = cross(dFdx(v_pos), dFdy(v_pos));
        n = normalize(n);
        vec3 to_eye = u_ortho ? vec3(0.0, 0.0, 1.0) : normalize(-v_pos);
        if (dot(n, to_eye) < 0.0) n = -n;              // two-sided: any winding
        vec3 l = normalize(vec3(-0.35, 0.45, 1.0));    // head light, upper left
        float k = 0.3 + 0.7 * max(dot(n, l), 0.0);
        c = pow(pow(clamp(base, 0.0, 1.0), vec3(2.2)) * k, vec3(1.0 / 2.2));
    }
    f_color = vec4(clamp(c, 0.0, 1.0), 1.0);
}
"""


class _GL:
    """Per-process GL state: context, program, framebuffers by size."""

    lock = threading.RLock()
    pid: int | None = None
    ctx = None
    prog = None
    fbos: dict[int, tuple] = {}
    error: str | None = None


def _gl():
    """The process's context (created on first use); RuntimeError without EGL."""
    if _GL.pid == os.getpid() and _GL.ctx is not None:
        return _GL
    if _GL.pid == os.getpid() and _GL.error:
        raise RuntimeError(_GL.error)
    _GL.pid, _GL.ctx, _GL.prog, _GL.fbos, _GL.error = os.getpid(), None, None, {}, None
    try:
        ctx = moderngl.create_standalone_context(backend="egl")
    except Exception as exc:  # missing libEGL / no driver
        _GL.error = (
            f"offscreen rendering unavailable: cannot create an EGL context ({exc}); "
            "install libegl1 libegl-mesa0 libgl1-mesa-dri"
        )
        raise RuntimeError(_GL.error) from exc
    with ctx:
        _GL.prog = ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
    _GL.ctx = ctx
    return _GL


def _framebuffers(size: int):
    """(multisampled fbo, resolve fbo) for size x size, cached (at most 4 sizes)."""
    ctx = _GL.ctx
    if size not in _GL.fbos:
        if len(_GL.fbos) >= 4:
            for obj in _GL.fbos.pop(next(iter(_GL.fbos))):
                obj.release()
        rb = ctx.renderbuffer((size, size), components=4, samples=SAMPLES)
        db = ctx.depth_renderbuffer((size, size), samples=SAMPLES)
        ms = ctx.framebuffer(color_attachments=[rb], depth_attachment=db)
        rrb = ctx.renderbuffer((size, size), components=4)
        res = ctx.framebuffer(color_attachments=[rrb])
        _GL.fbos[size] = (ms, res, rb, db, rrb)
    return _GL.fbos[size][:2]


def _check(mesh: trimesh.Trimesh, params: RenderParams) -> None:
    if not isinstance(mesh, trimesh.Trimesh):
        raise InvalidInput(f"render needs a trimesh.Trimesh, got {type(mesh).__name__}")
    if len(mesh.faces) == 0 or len(mesh.vertices) == 0:
        raise InvalidInput("mesh has no faces")
    if not np.isfinite(mesh.vertices).all():
        raise InvalidInput("mesh has non-finite vertex coordinates")
    if mesh.faces.min() < 0 or mesh.faces.max() >= len(mesh.vertices):
        raise InvalidInput("mesh faces index vertices that do not exist")
    if not (8 <= int(params.size) <= 4096):
        raise InvalidInput(f"render size must be in 8..4096, got {params.size}")
    if not (0.0 <= params.margin < 0.5):
        raise InvalidInput(f"margin must be in [0, 0.5), got {params.margin}")
    if len(params.background) != 4 or not all(0 <= int(v) <= 255 for v in params.background):
        raise InvalidInput(f"background must be 4 values in 0..255, got {params.background}")


def _surface(mesh: trimesh.Trimesh, textured: bool):
    """Vertex data for the GPU.

    Returns (data (V, 12) float32 [pos 3, normal 3, rgba 4, uv 2], index (F*3,) uint32
    or None for an unindexed triangle soup (face colours), texture image (H, W, 3)
    uint8 or None, factor (4,) float).
    """
    faces = np.asarray(mesh.faces, dtype=np.int64)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    nrm = np.nan_to_num(np.asarray(mesh.vertex_normals, dtype=np.float64))
    data = np.zeros((len(verts), 12), dtype=np.float32)
    data[:, 0:3], data[:, 3:6], data[:, 6:9], data[:, 9] = verts, nrm, GREY, 1.0
    index: np.ndarray | None = faces.ravel().astype(np.uint32)
    image, factor = None, np.ones(4)
    vis = mesh.visual
    if textured and isinstance(vis, trimesh.visual.TextureVisuals):
        mat = vis.material
        img = getattr(mat, "baseColorTexture", None)
        if img is None:
            img = getattr(mat, "image", None)
        fac = getattr(mat, "baseColorFactor", None)
        if fac is None and img is None:
            fac = getattr(mat, "diffuse", None)  # SimpleMaterial without image
        if fac is not None:
            factor = _rgba01(fac)
        if img is not None and vis.uv is not None and len(vis.uv) == len(verts):
            image = _texture_array(img)
            data[:, 10:12] = np.asarray(vis.uv, dtype=np.float64)
        elif fac is not None:
            data[:, 6:10] = factor
    elif textured and isinstance(vis, trimesh.visual.ColorVisuals) and vis.kind == "vertex":
        data[:, 6:10] = np.asarray(vis.vertex_colors)[:, :4] / 255.0
    elif textured and isinstance(vis, trimesh.visual.ColorVisuals) and vis.kind == "face":
        data = data[faces.ravel()]
        data[:, 6:10] = np.repeat(np.asarray(vis.face_colors)[:, :4], 3, axis=0) / 255.0
        index = None
    return data, index, image, factor


def _rgba01(colour) -> np.ndarray:
    """Colour (3|4,) uint8 0..255 or float 0..1 -> (4,) float 0..1."""
    arr = np.asarray(colour).ravel()[:4]
    val = arr.astype(np.float64) / (255.0 if np.issubdtype(arr.dtype, np.integer) else 1.0)
    return np.concatenate([val, np.ones(4 - len(val))])


def _texture_array(img) -> np.ndarray:
    """PIL image or array -> (H, W, 3) uint8, longest side capped at MAX_TEXTURE."""
    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.asarray(img))
    img = img.convert("RGB")
    if max(img.size) > MAX_TEXTURE:
        s = MAX_TEXTURE / max(img.size)
        img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.BILINEAR)
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _rotation(cam: Camera) -> np.ndarray:
    """(3, 3) world -> view rotation: Rx(pitch) @ Ry(-yaw)."""
    y, p = math.radians(cam.yaw_deg), math.radians(cam.pitch_deg)
    ry = np.array([[math.cos(-y), 0, math.sin(-y)], [0, 1, 0], [-math.sin(-y), 0, math.cos(-y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    return rx @ ry


def _frame(verts: np.ndarray, cam: Camera) -> tuple[np.ndarray, float]:
    """(centre (3,), radius) the camera frames: the bbox of verts (N, 3), or cam.bounds' corners."""
    if cam.bounds is not None:
        lo, hi = np.asarray(cam.bounds[0], np.float64), np.asarray(cam.bounds[1], np.float64)
        pts = np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]]
                        for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    else:
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        pts = verts
    centre = (lo + hi) / 2.0
    return centre, max(float(np.sqrt(((pts - centre) ** 2).sum(axis=1).max())), 1e-12)


def fit_distance(verts: np.ndarray, cam: Camera, margin: float = 0.05) -> float:
    """Perspective camera distance from the bbox centre at which the vertices (N, 3) fill the picture
    (largest |x| or |y| in normalised device coordinates = 1 - 2 margin), principal point at the centre."""
    if cam.fov_deg is None:
        raise InvalidInput("fit_distance needs a perspective camera (fov_deg)")
    centre, radius = _frame(verts, cam)
    p = (verts - centre) @ _rotation(cam).T
    f = 1.0 / math.tan(math.radians(cam.fov_deg) / 2.0)
    span = 1.0 - 2.0 * margin
    lo, hi = float(p[:, 2].max()) + 1e-6 * radius, radius / math.sin(math.radians(cam.fov_deg) / 2.0) * 4.0
    for _ in range(60):  # bisection: the extent shrinks as the camera backs away
        mid = (lo + hi) / 2.0
        ext = f * float(np.abs(p[:, :2] / (mid - p[:, 2:3])).max())
        lo, hi = (mid, hi) if ext > span else (lo, mid)
    return hi


def _matrices(verts: np.ndarray, cam: Camera, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(view (4, 4), proj (4, 4)) row-major for the vertices (N, 3) and camera."""
    if not all(math.isfinite(v) for v in (cam.yaw_deg, cam.pitch_deg, cam.fov_deg or 0.0, cam.distance or 0.0)):
        raise InvalidInput(f"camera angles must be finite, got {cam}")
    centre, radius = _frame(verts, cam)
    rot = _rotation(cam)
    view = np.eye(4)
    view[:3, :3] = rot
    view[:3, 3] = -rot @ centre
    if cam.fov_deg is None:
        if cam.fit == "none":
            raise InvalidInput("camera fit 'none' needs a perspective camera (fov_deg)")
        proj = np.diag([1.0 / radius, 1.0 / radius, -1.0 / (1.02 * radius), 1.0])
    else:
        if not (1.0 <= cam.fov_deg <= 150.0):
            raise InvalidInput(f"fov_deg must be in 1..150, got {cam.fov_deg}")
        half = math.radians(cam.fov_deg) / 2.0
        dist = radius / math.sin(half)
        if cam.distance is not None:
            dist = float(cam.distance)
        elif cam.fit == "none":
            dist = fit_distance(verts, cam, margin)
        if not dist > 0:
            raise InvalidInput(f"camera distance must be positive, got {dist}")
        view[2, 3] -= dist
        near, far = max(dist - 1.02 * radius, 1e-3 * dist), dist + 1.02 * radius
        f = 1.0 / math.tan(half)
        proj = np.array([[f, 0, 0, 0], [0, f, 0, 0],
                         [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
                         [0, 0, -1, 0]])
    span = 1.0 - 2.0 * margin
    if cam.fit == "none":
        fit = np.eye(4)
    elif cam.fit == "sphere":
        if cam.fov_deg is None:
            fit = np.diag([span, span, 1.0, 1.0])
        else:  # sphere just inside the view cone at this distance
            fit = np.diag([span * math.cos(half), span * math.cos(half), 1.0, 1.0])
    elif cam.fit == "view":
        hom = np.c_[verts, np.ones(len(verts))] @ (proj @ view).T
        ndc = hom[:, :2] / hom[:, 3:4]
        nlo, nhi = ndc.min(axis=0), ndc.max(axis=0)
        half_ext = max(float((nhi - nlo).max()) / 2.0, 1e-9)
        s = span / half_ext
        c = (nlo + nhi) / 2.0
        fit = np.array([[s, 0, 0, -s * c[0]], [0, s, 0, -s * c[1]], [0, 0, 1, 0], [0, 0, 0, 1]])
    else:
        raise InvalidInput(f"camera fit must be 'view', 'sphere' or 'none', got {cam.fit!r}")
    return view, fit @ proj


def render_views(mesh: trimesh.Trimesh, cameras: Sequence[Camera],
                 params: RenderParams = RenderParams()) -> list[np.ndarray]:
    """Render one mesh from several cameras, uploading it once.

    Returns a list of (S, S, 4) uint8 RGBA images (row 0 = top), S = params.size,
    straight alpha; alpha = coverage when the background is transparent.
    Raises InvalidInput for a bad mesh/params, RuntimeError without EGL.
    """
    _check(mesh, params)
    size = int(params.size)
    data, index, image, factor = _surface(mesh, params.textured)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    mats = [_matrices(verts, cam, params.margin) for cam in cameras]
    bg = np.asarray(params.background, dtype=np.float64) / 255.0
    out: list[np.ndarray] = []
    with _GL.lock:
        gl = _gl()
        ctx, prog = gl.ctx, gl.prog
        with ctx:
            ms, res = _framebuffers(size)
            vbo = ctx.buffer(data.tobytes())
            ibo = ctx.buffer(index.tobytes()) if index is not None else None
            vao = ctx.vertex_array(prog, [(vbo, "3f 3f 4f 2f", "in_pos", "in_nrm", "in_col", "in_uv")],
                                   index_buffer=ibo, index_element_size=4)
            tex = None
            try:
                if image is not None:
                    h, w = image.shape[:2]
                    tex = ctx.texture((w, h), 3, image.tobytes(), alignment=1)
                    tex.build_mipmaps()
                    tex.repeat_x = tex.repeat_y = True
                    tex.use(0)
                    prog["u_tex"].value = 0
                    prog["u_factor"].value = tuple(float(v) for v in factor)
                prog["u_mode"].value = 1 if image is not None else 0
                prog["u_light"].value = bool(params.lighting)
                ctx.enable(moderngl.DEPTH_TEST)
                ctx.disable(moderngl.CULL_FACE)
                for (view, proj), cam in zip(mats, cameras):
                    prog["u_ortho"].value = cam.fov_deg is None
                    prog["u_view"].write(view.T.astype("f4").tobytes())
                    prog["u_proj"].write(proj.T.astype("f4").tobytes())
                    ms.use()
                    ms.viewport = (0, 0, size, size)
                    ms.clear(*(bg[:3] * bg[3]), bg[3], depth=1.0)
                    vao.render(moderngl.TRIANGLES)
                    ctx.copy_framebuffer(res, ms)
                    raw = res.read(components=4, alignment=1)
                    out.append(_unpremultiply(np.frombuffer(raw, np.uint8).reshape(size, size, 4)[::-1], params.background))
            finally:
                vao.release()
                vbo.release()
                if ibo is not None:
                    ibo.release()
                if tex is not None:
                    tex.release()
    return out


def _unpremultiply(px: np.ndarray, background: tuple[int, int, int, int]) -> np.ndarray:
    """(S, S, 4) premultiplied -> straight-alpha uint8; empty pixels take the background."""
    alpha = px[..., 3:4].astype(np.uint32)
    rgb = px[..., :3].astype(np.uint32)
    safe = np.maximum(alpha, 1)
    straight = np.minimum((rgb * 255 + safe // 2) // safe, 255)
    straight = np.where(alpha > 0, straight, np.asarray(background[:3], np.uint32))
    return np.ascontiguousarray(np.concatenate([straight, alpha], axis=-1).astype(np.uint8))


def render(mesh: trimesh.Trimesh, camera: Camera = Camera(),
           params: RenderParams = RenderParams()) -> np.ndarray:
    """Render the mesh: (S, S, 4) uint8 RGBA, row 0 = top; alpha = coverage.

    Colour: texture (TextureVisuals with PBRMaterial.baseColorTexture or
    SimpleMaterial.image, and uv), else material factor, else vertex/face
    colours, else flat grey. Both faces of every triangle are drawn and lit.
    """
    return render_views(mesh, [camera], params)[0]


def render_silhouette(mesh: trimesh.Trimesh, camera: Camera = Camera(), size: int = 512,
                      margin: float = RenderParams.margin) -> np.ndarray:
    """(S, S) bool mask of pixels at least half covered by the mesh."""
    params = RenderParams(size=size, lighting=False, textured=False, margin=margin)
    return render(mesh, camera, params)[..., 3] >= 128


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two same-shape boolean masks (1.0 if both empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise InvalidInput(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
