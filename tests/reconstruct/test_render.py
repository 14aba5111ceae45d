"""Offscreen rendering and previews: silhouettes against analytic shapes, textures, determinism."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.errors import InvalidInput
from reconstruct.preview import PreviewParams, preview_png, turntable_webp
from reconstruct.render import Camera, RenderParams, mask_iou, render, render_silhouette, render_views

SIZE = 256


def _disc(size: int, margin: float) -> np.ndarray:
    """(S, S) bool: analytic disc filling the image minus margin on each side."""
    c = (np.arange(size) + 0.5) - size / 2.0
    r = size * (1 - 2 * margin) / 2.0
    return (c[None, :] ** 2 + c[:, None] ** 2) <= r * r


def _square(size: int, margin: float, aspect: float = 1.0) -> np.ndarray:
    """(S, S) bool: centred rectangle, width fills the image minus margin, height = width * aspect."""
    c = (np.arange(size) + 0.5) - size / 2.0
    half_w = size * (1 - 2 * margin) / 2.0
    return (np.abs(c)[None, :] <= half_w) & (np.abs(c)[:, None] <= half_w * aspect)


@pytest.fixture(scope="module")
def spot(corpus) -> trimesh.Trimesh:
    mesh = trimesh.load(corpus / "meshes" / "spot" / "spot_triangulated.obj", process=False)
    tex = Image.open(corpus / "meshes" / "spot" / "spot_texture.png")
    mesh.visual = trimesh.visual.TextureVisuals(uv=mesh.visual.uv, image=tex)
    return mesh


def test_box_front_silhouette_is_the_square():
    box = trimesh.creation.box((1.0, 1.0, 1.0))
    mask = render_silhouette(box, Camera(), size=SIZE)
    assert mask_iou(mask, _square(SIZE, RenderParams.margin)) >= 0.98


def test_box_aspect_and_side_views():
    box = trimesh.creation.box((2.0, 1.0, 0.5))  # x wide, y half as tall, z thin
    front = render_silhouette(box, Camera(yaw_deg=0), size=SIZE)
    assert mask_iou(front, _square(SIZE, 0.05, aspect=0.5)) >= 0.98
    side = render_silhouette(box, Camera(yaw_deg=90), size=SIZE)  # sees z (0.5) x y (1.0)
    ys, xs = np.nonzero(side)
    assert (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1) == pytest.approx(2.0, rel=0.02)


def test_sphere_silhouette_is_the_disc_any_view_orthographic_and_perspective():
    sphere = trimesh.creation.icosphere(subdivisions=5)
    disc = _disc(SIZE, RenderParams.margin)
    for cam in (Camera(), Camera(yaw_deg=37, pitch_deg=-20), Camera(fit="sphere"), Camera(fov_deg=40)):
        assert mask_iou(render_silhouette(sphere, cam, size=SIZE), disc) >= 0.98, cam


def test_orientation_follows_gltf_front_is_plus_z():
    # a box with a coloured +Z face and a red +X face (vertex colours, per face via face_colors)
    box = trimesh.creation.box((1.0, 1.0, 1.0))
    colours = np.full((len(box.faces), 4), 255, np.uint8)
    normals = box.face_normals
    colours[normals[:, 2] > 0.9] = (0, 0, 255, 255)   # front: blue
    colours[normals[:, 0] > 0.9] = (255, 0, 0, 255)   # +X: red
    colours[normals[:, 1] > 0.9] = (0, 255, 0, 255)   # top: green
    box.visual = trimesh.visual.ColorVisuals(box, face_colors=colours)
    params = RenderParams(size=64, lighting=False)
    centre = render(box, Camera(), params)[32, 32]
    assert tuple(centre[:3]) == (0, 0, 255)
    assert tuple(render(box, Camera(yaw_deg=90), params)[32, 32, :3]) == (255, 0, 0)
    assert tuple(render(box, Camera(pitch_deg=89), params)[32, 32, :3]) == (0, 255, 0)
    # pitch 45: the top (green) shows in the upper half of the image, the front below
    img = render(box, Camera(pitch_deg=45), params)
    assert tuple(img[20, 32, :3]) == (0, 255, 0) and tuple(img[44, 32, :3]) == (0, 0, 255)


def test_textured_spot_shows_texture_colours(spot):
    img = render(spot, Camera(yaw_deg=90), RenderParams(size=SIZE, lighting=False))
    fg = img[img[..., 3] == 255][:, :3].astype(int)
    assert len(fg) > 0.15 * SIZE * SIZE
    dark = (fg.max(axis=1) < 100).mean()                              # dark spots
    warm = ((fg[:, 0] - fg[:, 2] > 40) & (fg[:, 0] > 120)).mean()     # pink muzzle / horns
    assert dark > 0.05 and warm > 0.01
    grey = render(spot, Camera(yaw_deg=90), RenderParams(size=SIZE, lighting=False, textured=False))
    assert np.ptp(grey[grey[..., 3] == 255][:, :3]) == 0              # untextured = one flat grey


def test_pbr_texture_and_vertex_colours():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    # PBR texture: left half red, right half blue, uv from the x coordinate
    tex = np.zeros((4, 4, 3), np.uint8)
    tex[:, :2] = (255, 0, 0)
    tex[:, 2:] = (0, 0, 255)
    uv = np.c_[(sphere.vertices[:, 0] + 1) / 2 * 0.98 + 0.01, np.full(len(sphere.vertices), 0.5)]
    mat = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(tex))
    pbr = sphere.copy()
    pbr.visual = trimesh.visual.TextureVisuals(uv=uv, material=mat)
    img = render(pbr, Camera(), RenderParams(size=64, lighting=False))
    assert img[32, 12, 0] > 200 and img[32, 12, 2] < 50
    assert img[32, 52, 2] > 200 and img[32, 52, 0] < 50
    vc = sphere.copy()
    vc.visual = trimesh.visual.ColorVisuals(vc, vertex_colors=np.tile([0, 200, 0, 255], (len(vc.vertices), 1)))
    img = render(vc, Camera(), RenderParams(size=64, lighting=False))
    assert tuple(img[32, 32, :3]) == (0, 200, 0)


def test_background_lighting_and_inside_out_meshes():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    img = render(sphere, Camera(), RenderParams(size=64, background=(10, 20, 30, 255)))
    assert tuple(img[0, 0]) == (10, 20, 30, 255) and (img[..., 3] == 255).all()
    inverted = sphere.copy()
    inverted.invert()
    a = render(sphere, Camera(), RenderParams(size=64))
    b = render(inverted, Camera(), RenderParams(size=64))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2          # two-sided lighting
    # Lambert: the centre (facing the light) is brighter than a limb pixel
    assert a[32, 32, 0] > a[32, 60, 0]


def test_render_is_deterministic_and_thread_safe(spot):
    ref = render(spot, Camera(yaw_deg=30, pitch_deg=10), RenderParams(size=128))
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(render(spot, Camera(yaw_deg=30, pitch_deg=10), RenderParams(size=128)))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(np.array_equal(ref, r) for r in results)
    views = render_views(spot, [Camera(), Camera(yaw_deg=30, pitch_deg=10)], RenderParams(size=128))
    assert np.array_equal(views[1], ref)


def test_bad_input_raises_invalid_input():
    box = trimesh.creation.box()
    with pytest.raises(InvalidInput):
        render(trimesh.Trimesh(), Camera())
    with pytest.raises(InvalidInput):
        render(trimesh.Scene([box]))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        render(box, params=RenderParams(size=0))
    with pytest.raises(InvalidInput):
        render(box, Camera(fov_deg=179))
    nan = box.copy()
    nan.vertices[0] = np.nan
    with pytest.raises(InvalidInput):
        render(nan)


def test_preview_png_and_turntable_webp(spot):
    params = PreviewParams(size=200, turntable_frames=8, turntable_size=96)
    png = preview_png(spot, params)
    assert png == preview_png(spot, params)
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size == (200, 200) and im.mode == "RGBA"
    webp = turntable_webp(spot, params)
    assert webp == turntable_webp(spot, params)
    anim = Image.open(io.BytesIO(webp))
    assert anim.format == "WEBP" and anim.size == (96, 96)
    assert anim.n_frames == 8 and anim.info.get("loop") == 0
    with pytest.raises(InvalidInput):
        turntable_webp(spot, PreviewParams(turntable_frames=0))


def test_context_is_reused_and_missing_egl_is_a_clear_runtime_error(monkeypatch):
    import moderngl

    from reconstruct import render as render_mod

    box = trimesh.creation.box()
    render(box, params=RenderParams(size=16))
    ctx = render_mod._GL.ctx
    render(box, params=RenderParams(size=16))
    assert render_mod._GL.ctx is ctx                                  # one context per process
    saved = {k: getattr(render_mod._GL, k) for k in ("pid", "ctx", "prog", "fbos", "error")}

    def no_egl(**kwargs):
        raise Exception("libEGL.so.1: cannot open shared object file")

    try:
        monkeypatch.setattr(moderngl, "create_standalone_context", no_egl)
        render_mod._GL.pid = None                                     # as if in a fresh process
        with pytest.raises(RuntimeError, match="EGL"):
            render(box)
        with pytest.raises(RuntimeError, match="EGL"):                # cached, still clear
            render(box)
    finally:
        for k, v in saved.items():
            setattr(render_mod._GL, k, v)
    assert render(box, params=RenderParams(size=16))[8, 8, 3] == 255
