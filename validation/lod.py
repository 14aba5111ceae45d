"""Level-of-detail chains: each level decimated from the full mesh and validated."""

from __future__ import annotations

import math
from dataclasses import dataclass

import trimesh
from PIL import Image

from validation.decimate import DecimateParams, decimate, hausdorff, target_count
from validation.report import Report, validate


@dataclass(frozen=True)
class Lod:
    level: int  # 0 = full detail
    ratio: float  # share of the full mesh's faces asked for
    mesh: trimesh.Trimesh
    faces: int
    max_error: float  # vs the full mesh, fraction of its bbox diagonal
    rms_error: float
    report: Report


MIN_TEXTURE = 64


def shrink_texture(mesh: trimesh.Trimesh, ratio: float) -> trimesh.Trimesh:
    """A copy whose base-colour texture is scaled with sqrt(ratio) (a power of two, at least 64 px).

    A level drawn with a share `ratio` of the triangles covers about that share of the screen area,
    so its texture needs about sqrt(ratio) of the resolution. UVs are unchanged (they are normalised).
    """
    material = getattr(mesh.visual, "material", None)
    image = getattr(material, "baseColorTexture", None)
    if image is None or ratio >= 1:
        return mesh
    side = max(image.size)
    target = max(MIN_TEXTURE, 2 ** int(math.log2(max(1, side * math.sqrt(ratio)))))
    if target >= side:
        return mesh
    out = mesh.copy()
    scale = target / side
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    out.visual.material.baseColorTexture = image.resize(size, Image.LANCZOS)
    return out


def build_lods(
    mesh: trimesh.Trimesh,
    ratios: tuple[float, ...] = (1, 0.5, 0.25, 0.1),
    profile: str = "default",
    error_samples: int = 10_000,
    shrink_textures: bool = True,
    full_report: Report | None = None,
) -> list[Lod]:
    """One `Lod` per ratio (descending), each validated against `profile`; lower levels get proportionally smaller
    textures unless `shrink_textures` is False. `full_report`: the caller's report of `mesh` itself, used for
    level 0 instead of validating it again.

    Each level is decimated from the level above it (its target is `ratio` x the faces of `mesh`), which costs a
    fraction of decimating `mesh` every time; its error is measured against `mesh` itself."""
    lods = []
    source = mesh  # the level above, before its texture shrank
    for level, ratio in enumerate(sorted(ratios, reverse=True)):
        if ratio >= 1:
            out, max_err, rms_err = mesh, 0.0, 0.0
        else:
            target = target_count(len(mesh.faces), DecimateParams(target_faces=None, ratio=ratio))
            source = decimate(source, DecimateParams(target_faces=target, error_samples=0)).mesh
            out = source
            if out is mesh:  # already within the target
                max_err, rms_err = 0.0, 0.0
            else:
                max_err, rms_err = hausdorff(mesh, out, error_samples) if error_samples > 0 else (float("nan"),) * 2
            if shrink_textures:
                out = shrink_texture(out, ratio)
        report = full_report if out is mesh and full_report is not None else validate(out, profile)
        lods.append(Lod(level, float(ratio), out, len(out.faces), max_err, rms_err, report))
    return lods
