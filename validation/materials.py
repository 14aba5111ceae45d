"""How an imported mesh looks: keep its material, bake vertex colours to a texture, or give it a neutral one.

three.js and model-viewer draw a primitive without a material as flat, unlit-looking white; an asset gets a
glTF PBR material always: the source's own (GLB materials, OBJ+MTL textures), its vertex colours baked into a
texture, or NEUTRAL (mid grey, rough, not metallic: what Blender's and three.js's default materials look like).
"""

from __future__ import annotations

import numpy as np
import trimesh
from PIL import Image

# mid grey (sRGB 128), roughness 0.8, dielectric
NEUTRAL_COLOR = (128, 128, 128, 255)
NEUTRAL_ROUGHNESS = 0.8
MAX_BAKE_SIDE = 8192  # px: 2x2 texels per triangle, so up to 16.7M triangles


def neutral_material() -> trimesh.visual.material.PBRMaterial:
    return trimesh.visual.material.PBRMaterial(
        name="neutral", baseColorFactor=np.array(NEUTRAL_COLOR, dtype=np.uint8),
        metallicFactor=0.0, roughnessFactor=NEUTRAL_ROUGHNESS,
    )


def kind(mesh: trimesh.Trimesh) -> str:
    """'texture' (UVs + a material), 'material' (a material, no UVs), 'colors' (vertex/face colours) or 'none'."""
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals) and visual.material is not None:
        material = visual.material
        image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        if image is not None and max(image.size) <= 2 and isinstance(material, trimesh.visual.material.SimpleMaterial):
            return "none"  # trimesh's stand-in for an OBJ without its MTL: a 2x2 grey picture
        has_uv = visual.uv is not None and len(visual.uv) == len(mesh.vertices)
        return "texture" if has_uv and image is not None else "material"
    if isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind in ("vertex", "face"):
        return "colors"
    return "none"


def bake_colors(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Vertex (or face) colours -> a texture: each triangle gets its own 2x2-texel cell whose texels are its
    corners' colours (the 4th texel extrapolated), so bilinear sampling reproduces the colour gradient.

    Returns a copy with one vertex per face corner (3F vertices), UVs and a PBR material with the texture.
    """
    faces = np.asarray(mesh.faces)
    n = len(faces)
    visual = mesh.visual
    if visual.kind == "face":
        rgba = np.repeat(np.asarray(visual.face_colors, dtype=np.float64)[:, None, :], 3, axis=1)
    else:
        rgba = np.asarray(visual.vertex_colors, dtype=np.float64)[faces]  # (F, 3, 4)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    width, height = 2 * cols, 2 * rows
    if max(width, height) > MAX_BAKE_SIDE:  # past the face limit; keep colours as they are
        return mesh
    img = np.zeros((height, width, 4), dtype=np.float64)
    cx, cy = 2 * (np.arange(n) % cols), 2 * (np.arange(n) // cols)
    img[cy, cx] = rgba[:, 0]
    img[cy, cx + 1] = rgba[:, 1]
    img[cy + 1, cx] = rgba[:, 2]
    img[cy + 1, cx + 1] = np.clip(rgba[:, 1] + rgba[:, 2] - rgba[:, 0], 0, 255)
    # corner k of face i at the centre of its texel; image row 0 is the top (v = 1)
    px = np.stack([cx, cx + 1, cx], axis=1) + 0.5
    py = np.stack([cy, cy, cy + 1], axis=1) + 0.5
    uv = np.stack([px / width, 1.0 - py / height], axis=-1).reshape(-1, 2)
    has_alpha = bool((rgba[..., 3] < 255).any())
    image = Image.fromarray(np.rint(img).astype(np.uint8), "RGBA")
    if not has_alpha:
        image = image.convert("RGB")
    material = trimesh.visual.material.PBRMaterial(
        name="baked", baseColorTexture=image, metallicFactor=0.0, roughnessFactor=NEUTRAL_ROUGHNESS,
        alphaMode="BLEND" if has_alpha else None,
    )
    vertices = np.asarray(mesh.vertices)[faces].reshape(-1, 3)
    return trimesh.Trimesh(vertices=vertices, faces=np.arange(3 * n).reshape(-1, 3),
                           visual=trimesh.visual.TextureVisuals(uv=uv, material=material), process=False)


def describe(mesh: trimesh.Trimesh) -> str:
    """What as_asset will give the stored GLB, for the repair notes."""
    return {"texture": "the file's textured material", "material": "the file's material",
            "colors": "the file's colours baked into a texture",
            "none": "none in the file: neutral grey PBR (roughness 0.8)"}[kind(mesh)]


def as_asset(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """`mesh` with a glTF PBR material: its own, its colours baked, or the neutral one (a copy when changed)."""
    what = kind(mesh)
    if what == "texture":
        return mesh
    if what == "colors":
        return bake_colors(mesh)
    out = mesh.copy()
    if what == "material":  # no UVs: a texture could not be sampled, so only factors stay
        own = mesh.visual.material
        material = own.to_pbr() if hasattr(own, "to_pbr") else own.copy()
        for name in ("baseColorTexture", "metallicRoughnessTexture", "normalTexture", "occlusionTexture",
                     "emissiveTexture"):
            if getattr(material, name, None) is not None:
                setattr(material, name, None)
    else:
        material = neutral_material()
    out.visual = trimesh.visual.TextureVisuals(material=material)
    return out
