"""`shap-e` backend: diffusers' ShapEImg2ImgPipeline -> a closed mesh, textured by front projection of the
picture, then meshsmith's own tail (decimation, repair, validation, LODs).

The pipeline runs to latents (`output_type="latent"`), which the renderer decodes by marching cubes on a
GRID_SIZE³ grid (`decode_to_mesh`). A checkpoint whose marching-cubes tables are empty (diffusers fills
`MeshDecoder.cases/masks` only from the real checkpoint's weights) gets the standard table here. Shap-E meshes
are +Z up; they are turned +Y up and the picture is taken to look along -Z. torch is imported here only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from meshsmith.errors import MeshsmithError
from reconstruct.assemble import check_closed, finish
from reconstruct.params import ReconstructParams, Reconstruction
from reconstruct.segment import Segmented
from reconstruct.texture import planar_uv, smooth_texture

from .base import LearnedConfig, ModelInfo, device_lock, load as load_backend

STEPS = 64          # Shap-E's own default
GUIDANCE = 3.0
GRID_SIZE = 64      # marching-cubes grid: ~20-40k triangles at the surface, decimated after
FRAME_SIZE = 64     # the renderer's frame; unused for meshes but the pipeline asks for it


@dataclass(frozen=True)
class ShapeResult:
    reconstruction: Reconstruction
    info: ModelInfo


@functools.cache
def marching_cubes_tables() -> tuple[np.ndarray, np.ndarray]:
    """(cases (256, 5, 3) int64 edge ids, masks (256, 5) bool) in diffusers' MeshDecoder convention: corner bit
    ox + 2*oy + 4*oz set = inside; edge id axis*4 + o1 + 2*o2 (o1, o2: the other axes' offsets, in order);
    triangles wound outward. Built by scikit-image's Lorensen marching cubes on each ±1 cube."""
    from skimage.measure import marching_cubes

    cases, masks = np.zeros((256, 5, 3), np.int64), np.zeros((256, 5), bool)
    for c in range(1, 255):
        vol = np.array([[[1.0 if c >> (ox + 2 * oy + 4 * oz) & 1 else -1.0 for oz in (0, 1)] for oy in (0, 1)]
                        for ox in (0, 1)])
        verts, faces, _, _ = marching_cubes(vol, 0.0, method="lorensen")
        ids = []
        for p in verts:
            axis = int(np.argmin(np.abs(p - 0.5)))
            o = [int(round(p[k])) for k in range(3) if k != axis]
            ids.append(axis * 4 + o[0] + 2 * o[1])
        for i, tri in enumerate(faces[:, ::-1]):  # scikit-image winds them inward for this sign convention
            cases[c, i], masks[c, i] = [ids[t] for t in tri], True
    return cases, masks


def load(model_dir: Path, device: str):
    """The ShapEImg2ImgPipeline on `device` from a local diffusers directory, offline; tables filled if empty;
    the renderer's marching cubes sees its field moved away_from_zero."""
    import torch
    from diffusers import ShapEImg2ImgPipeline
    from diffusers.utils import logging

    logging.disable_progress_bar()
    pipe = ShapEImg2ImgPipeline.from_pretrained(model_dir, local_files_only=True).to(device)
    pipe.set_progress_bar_config(disable=True)
    decoder = pipe.shap_e_renderer.mesh_decoder
    if not bool(decoder.masks.any()):
        cases, masks = marching_cubes_tables()
        decoder.cases.copy_(torch.from_numpy(cases))
        decoder.masks.copy_(torch.from_numpy(masks))
    cubes = decoder.forward
    decoder.forward = lambda field, min_point, size: cubes(away_from_zero(field), min_point, size)
    return pipe


def shape_from_picture(seg: Segmented, config: LearnedConfig, params: ReconstructParams,
                       seed: int = 0) -> ShapeResult:
    """Segmented crop -> textured watertight solid (mode "shap-e") from the configured Shap-E model."""
    import torch
    from PIL import Image

    loaded = load_backend("shap-e", config)
    pipe = loaded.model
    white = np.where(seg.mask[..., None], seg.rgba[..., :3], 255).astype(np.uint8)  # the object on white
    with loaded.lock, device_lock(config, loaded.info.device), torch.inference_mode():
        generator = torch.Generator(device="cpu").manual_seed(seed)
        latents = pipe(Image.fromarray(white), num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                       frame_size=FRAME_SIZE, output_type="latent", generator=generator).images
        out = pipe.shap_e_renderer.decode_to_mesh(latents[0][None], loaded.info.device, grid_size=GRID_SIZE)
        verts, faces = out.verts.float().cpu().numpy().astype(np.float64), out.faces.cpu().numpy()
    if len(faces) < 4:
        raise MeshsmithError(f"the Shap-E model {loaded.info.model_id} produced no surface for this picture")
    body = largest_closed_body(verts[:, [0, 2, 1]] * [1, 1, -1], faces,  # +Z up -> +Y up
                               f"the Shap-E model {loaded.info.model_id}")
    mesh = onto_picture(body, seg, params)
    reason = f"shape from {loaded.info.model_id} (Shap-E, {STEPS} steps, grid {GRID_SIZE}), picture projected on the front"
    return ShapeResult(Reconstruction(mesh=mesh, mode="shap-e", reason=reason), loaded.info)


NUDGE = 1e-4  # of the field's largest magnitude: see away_from_zero


def away_from_zero(field):
    """A marching-cubes field (numpy or torch, > 0 inside) with values nearer 0 than NUDGE x its largest
    magnitude pushed to ±that (0 goes outside). Without it a value ~0 at a grid point puts the vertices of all
    its edges on that point: triangles of ~1e-8 of the extent, vertices float32 (the GLB's) cannot tell apart.
    With it every vertex lies >= ~NUDGE of a cell from the grid points, the surface moves by less than that."""
    eps = float(abs(field).max()) * NUDGE
    if isinstance(field, np.ndarray):
        return np.where(np.abs(field) < eps, np.where(field > 0, eps, -eps), field)
    import torch

    return torch.where(field.abs() < eps, torch.where(field > 0, eps, -eps), field)


def largest_closed_body(vertices: np.ndarray, faces: np.ndarray, who: str) -> trimesh.Trimesh:
    """The largest closed body of a model's mesh (V, 3) / (F, 3); smaller bodies (floaters) are dropped.
    MeshsmithError naming `who` when no body is closed."""
    bodies = trimesh.Trimesh(vertices, faces, process=True).split(only_watertight=True)
    if not len(bodies):
        raise MeshsmithError(f"{who} produced no closed surface for this picture")
    return max(bodies, key=lambda b: abs(b.volume))


def picture_xy(vertices: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(V, 3) +Y up vertices seen along -Z, (h, w) bool crop mask -> (V, 2) crop-pixel x/y (the vertices' x/y
    extent over the object's pixels, y up from the crop's bottom) and the x and y scales (pixels per unit)."""
    h = mask.shape[0]
    ys, xs = np.nonzero(mask)
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    sx = (xs.max() + 1 - xs.min()) / max(hi[0] - lo[0], 1e-9)
    sy = (ys.max() + 1 - ys.min()) / max(hi[1] - lo[1], 1e-9)
    xy = np.column_stack([xs.min() + (vertices[:, 0] - lo[0]) * sx, (h - ys.max() - 1) + (vertices[:, 1] - lo[1]) * sy])
    return xy, sx, sy


def onto_picture(body: trimesh.Trimesh, seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """A +Y up body seen along -Z -> crop-pixel coordinates (its x/y extent covers the object's pixels, z at
    the same scale), textured by projecting the picture on the front, then `finish`ed (placed, checked)."""
    v, f = np.asarray(body.vertices), np.asarray(body.faces)
    h, w = seg.mask.shape
    xy, sx, sy = picture_xy(v, seg.mask)
    px = np.column_stack([xy, (v[:, 2] - v[:, 2].max()) * (sx + sy) / 2])
    if check_closed(px, f) < 0:
        f = np.ascontiguousarray(f[:, ::-1])
    return finish(px, f, planar_uv(px[:, :2], w, h), smooth_texture(seg.rgba, seg.mask, params.texture_size), params)
