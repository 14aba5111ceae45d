"""Mesh files in and out: load any supported format into one `trimesh.Trimesh`,
export deterministic GLB (metres, +Y up) and print formats (millimetres, +Z up)."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput
from validation import preflight
from validation.bundle import open_bundle
from validation.corners import weld
from validation.threemf import load_3mf
from validation.units import OBJ_HEADER

LOADABLE = ("glb", "gltf", "obj", "stl", "ply", "off", "3mf", "zip")  # zip: a mesh + its side files (bundle.py)

# glTF (metres, +Y up) -> print formats (millimetres, +Z up): x1000 and +90 deg about X,
# so (x, y, z) -> (x, -z, y); the model's front (+Z in glTF) faces -Y, as slicers expect.
TO_PRINT = np.array(
    [[1000.0, 0, 0, 0], [0, 0, -1000.0, 0], [0, 1000.0, 0, 0], [0, 0, 0, 1]]
)


@dataclass(frozen=True)
class MeshLimits:
    max_bytes: int = 256 * 2**20
    max_faces: int = 5_000_000


# Coordinates in any unit: beyond this, squared lengths overflow the float32 that GLB and PyMeshLab use;
# below MIN_EXTENT a mesh is a speck whose areas underflow.
MAX_COORDINATE = 1e12
MIN_EXTENT = 1e-9


def _extension(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in LOADABLE:
        raise InvalidInput(
            f"unsupported mesh format {('.' + ext) if ext else '(no extension)'!s} in {filename!r}: "
            f"send one of {', '.join('.' + e for e in LOADABLE)}"
        )
    return ext


AREA_CHUNK = 65_536  # faces per step of the area test: a real mesh answers in the first one


def _any_area(v32: np.ndarray, faces: np.ndarray) -> bool:
    """Whether any face has a nonzero float32 area, computed chunk by chunk until one does."""
    for start in range(0, len(faces), AREA_CHUNK):
        tri = v32[faces[start:start + AREA_CHUNK]]
        if (np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1) > 0).any():
            return True
    return False


def check_geometry(mesh: trimesh.Trimesh, what: str = "the mesh") -> None:
    """Coordinates finite and within +-MAX_COORDINATE, the mesh bigger than a speck, and at least one face with
    area (computed in float32, as GLB stores it and PyMeshLab repairs it). Raises InvalidInput."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    if not np.isfinite(v).all():
        raise InvalidInput(f"{what} has infinite or NaN coordinates (overflow?): check the unit scale and the file")
    top = float(np.abs(v).max(initial=0.0))
    if top > MAX_COORDINATE:
        raise InvalidInput(f"{what} has coordinates up to {top:.3g}; meshsmith accepts at most {MAX_COORDINATE:g} "
                           "in any unit: check the unit scale or the exporter")
    extent = float(np.ptp(v, axis=0).max(initial=0.0)) if len(v) else 0.0
    if extent < MIN_EXTENT or not _any_area(v.astype(np.float32), np.asarray(mesh.faces)):
        raise InvalidInput(
            f"{what} has no faces with area after removing degenerate ones ({len(mesh.faces)} faces, all with repeated or "
            f"collinear corners, or a size of {extent:.3g}): export real geometry, check node scales and the unit scale"
        )


def _scene_meshes(loaded) -> list[trimesh.Trimesh]:
    """Every triangle mesh of a scene, moved into place by its node transform."""
    if isinstance(loaded, trimesh.Trimesh):
        return [loaded]
    meshes = []
    for node in loaded.graph.nodes_geometry:
        transform, name = loaded.graph[node]
        geom = loaded.geometry.get(name)
        if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
            if len(loaded.graph.nodes_geometry) == 1 and np.array_equal(transform, np.eye(4)):
                meshes.append(geom)  # the only instance, in place: no copy to move (1.5M faces: ~0.3 s)
            else:
                meshes.append(geom.copy().apply_transform(transform))
    return meshes


def _check_arrays(mesh: trimesh.Trimesh, limits: MeshLimits) -> None:
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if len(f) == 0:
        raise InvalidInput("the file holds no triangles (zero faces): export the mesh with its faces, not as points or lines")
    if len(f) > limits.max_faces:
        raise InvalidInput(f"too many faces: {len(f):,} > limit {limits.max_faces:,}; decimate before uploading")
    if not np.isfinite(v).all():
        bad = int((~np.isfinite(v)).any(axis=1).sum())
        raise InvalidInput(f"{bad} vertices have NaN or infinite coordinates; fix or remove them in your modelling tool")
    if f.min() < 0 or f.max() >= len(v):
        raise InvalidInput(
            f"face indices out of range: they span {int(f.min())}..{int(f.max())} but there are {len(v)} vertices "
            "(file truncated or corrupt?)"
        )


def load_mesh(data: bytes, filename: str, limits: MeshLimits = MeshLimits()) -> trimesh.Trimesh:
    """Parse mesh bytes; the extension of `filename` picks the loader. Raises InvalidInput."""
    ext = _extension(filename)
    if not data:
        raise InvalidInput(f"{filename!r} is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"file too large: {len(data):,} bytes > limit {limits.max_bytes:,}")
    resolver = None
    if ext == "zip":  # the one mesh file inside; its side files (MTL, textures, .bin) come from the resolver
        bundle = open_bundle(data, limits.max_bytes)
        data, filename, ext, resolver = bundle.data, bundle.name, bundle.ext, bundle.resolver
        if not data:
            raise InvalidInput(f"{filename!r} in the zip bundle is empty (0 bytes)")
    declared = preflight.declared_faces(data, ext)
    if declared is not None and declared > limits.max_faces:
        raise InvalidInput(f"too many faces: header declares {declared:,} > limit {limits.max_faces:,}; decimate before uploading")
    preflight.check_truncated(data, ext)
    if ext == "gltf" and resolver is None and re.search(rb'"uri"\s*:\s*"(?!data:)', data):
        raise InvalidInput("this .gltf refers to external files; send a .glb, a .gltf with embedded (data:) buffers, "
                           "or a .zip of the .gltf with its files")
    if ext == "off":
        preflight.check_off(data)
    elif ext == "obj":
        preflight.check_obj(data)
    elif ext == "3mf":  # millimetres whatever the file's unit; the unit name rides in metadata
        mesh, unit = load_3mf(data, limits.max_bytes, limits.max_faces)
        _check_arrays(mesh, limits)
        check_geometry(mesh)
        mesh.merge_vertices()
        mesh.metadata["3mf_unit"] = unit
        return mesh
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=ext, force="scene", process=False, resolver=resolver)
        meshes = _scene_meshes(loaded)
    except InvalidInput:
        raise
    except Exception as exc:  # parsers raise anything from IndexError to struct.error
        raise InvalidInput(f"could not read {filename!r} as {ext.upper()} (corrupt or truncated?): {exc}") from None
    if not meshes:
        raise InvalidInput("the file holds no triangles (zero faces): export the mesh with its faces, not as points or lines")
    for m in meshes:
        _check_arrays(m, limits)
    mesh = meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes)
    _check_arrays(mesh, limits)
    check_geometry(mesh)
    _merge_vertices(mesh)
    mesh.remove_unreferenced_vertices()
    return mesh


def _merge_vertices(mesh: trimesh.Trimesh) -> None:
    """trimesh's merge_vertices (by position rounded to tol.merge, + UV + normal: keeps texture seams), skipped when
    it has nothing to do: no two positions round alike (then no rows do) and every vertex is used. A merged 1.5M-face
    scan then costs one hashed sort instead of trimesh's row sort and copy of every array (~0.4 s)."""
    v = np.asarray(mesh.vertices)
    used = np.zeros(len(v), dtype=bool)
    used[np.asarray(mesh.faces).reshape(-1)] = True
    if used.all():
        digits = trimesh.util.decimal_to_digits(trimesh.tol.merge)
        first, _ = weld((v * 10**digits).round().astype(np.int64))
        if len(first) == len(v):
            return
    mesh.merge_vertices()


# ---------------------------------------------------------------- export


def _unit_normals(mesh: trimesh.Trimesh) -> np.ndarray:
    n = np.asarray(mesh.vertex_normals, dtype=np.float64)
    length = np.linalg.norm(n, axis=1)
    bad = ~np.isfinite(length) | (length < 1e-6)
    n = np.where(bad[:, None], [0.0, 1.0, 0.0], n / np.where(bad, 1.0, length)[:, None])
    return n.astype(np.float32).astype(np.float64)


def _glb_postprocess(tree: dict) -> None:
    """Give bufferViews their targets (glTF-Validator hint) and stable names."""
    accessors = tree.get("accessors", [])
    for mesh in tree.get("meshes", []):
        for prim in mesh.get("primitives", []):
            if "indices" in prim:
                view = accessors[prim["indices"]].get("bufferView")
                if view is not None:
                    tree["bufferViews"][view]["target"] = 34963  # ELEMENT_ARRAY_BUFFER
            for acc in prim.get("attributes", {}).values():
                view = accessors[acc].get("bufferView")
                if view is not None:
                    tree["bufferViews"][view]["target"] = 34962  # ARRAY_BUFFER
    tree["asset"] = {"version": "2.0", "generator": "meshsmith"}


# zlib level for texture PNGs: 3 encodes a 1024 px texture ~2.3x faster than the default 6 (~100 vs ~230 ms)
# for files ~15% larger; engines re-encode textures at build time anyway (KTX2, ASTC).
PNG_COMPRESS_LEVEL = 3


def _clean_image(img):
    """A copy without ICC/gamma chunks (glTF-Validator flags them) in a mode PNG keeps."""
    if img is None:
        return None
    out = img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB")
    out.info = {}
    out.encoderinfo = {"compress_level": PNG_COMPRESS_LEVEL}  # Pillow merges it into save()'s parameters
    return out


def _clean_visual(visual):
    """PBR material with clean PNG textures; colour visuals pass through."""
    if not isinstance(visual, trimesh.visual.TextureVisuals):
        return visual.copy()
    material = visual.material
    pbr = material.to_pbr() if hasattr(material, "to_pbr") else material.copy()
    for name in ("baseColorTexture", "metallicRoughnessTexture", "normalTexture", "occlusionTexture", "emissiveTexture"):
        if getattr(pbr, name, None) is not None:
            setattr(pbr, name, _clean_image(getattr(pbr, name)))
    pbr.name = "material"
    uv = None if visual.uv is None else np.asarray(visual.uv, dtype=np.float64)
    return trimesh.visual.TextureVisuals(uv=uv, material=pbr)


def export_glb(mesh: trimesh.Trimesh) -> bytes:
    """Binary glTF of one mesh; same mesh gives identical bytes; keeps UVs and PBR texture."""
    m = trimesh.Trimesh(
        vertices=np.asarray(mesh.vertices, dtype=np.float64),
        faces=np.asarray(mesh.faces, dtype=np.int64),
        visual=_clean_visual(mesh.visual),
        process=False,
    )
    m.vertex_normals = _unit_normals(mesh)
    m.metadata = {"name": "mesh"}
    scene = trimesh.Scene()
    scene.add_geometry(m, geom_name="mesh", node_name="mesh")
    return trimesh.exchange.gltf.export_glb(scene, include_normals=True, tree_postprocessor=_glb_postprocess)


def print_frame(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Copy of `mesh` in millimetres, +Z up (what slicers expect)."""
    out = trimesh.Trimesh(vertices=np.asarray(mesh.vertices), faces=np.asarray(mesh.faces), process=False)
    return out.apply_transform(TO_PRINT)


def export_stl(mesh: trimesh.Trimesh) -> bytes:
    """Binary STL, millimetres, +Z up."""
    return trimesh.exchange.stl.export_stl(print_frame(mesh))


def export_obj(mesh: trimesh.Trimesh) -> bytes:
    """Geometry-only OBJ, millimetres, +Z up; its first line says so (meshsmith reads it back that way)."""
    text = trimesh.exchange.obj.export_obj(
        print_frame(mesh), include_normals=False, include_color=False, include_texture=False, header=None
    )
    return (OBJ_HEADER.format(units="mm", up="z") + "\n" + text).encode()


_3MF_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
)
_3MF_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
)


COLOUR_LEVELS = 6  # per channel: at most 216 base materials in a coloured 3MF


def face_colours(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """(F, 3) uint8 colour per triangle from the texture at its UV centroid (or its vertex colours), else None."""
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals):
        material = visual.material
        image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        if image is None or visual.uv is None or len(visual.uv) != len(mesh.vertices):
            return None
        rgb = np.asarray(image.convert("RGB"))
        h, w = rgb.shape[:2]
        uv = np.asarray(visual.uv, dtype=np.float64)[mesh.faces].mean(axis=1) % 1.0
        return rgb[((1.0 - uv[:, 1]) * (h - 1)).round().astype(int), (uv[:, 0] * (w - 1)).round().astype(int)]
    if isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind is not None:
        return np.asarray(visual.face_colors)[:, :3]
    return None


def slicer_config(bed_mm: tuple[float, float, float]) -> str:
    """The printer part of a PrusaSlicer project config (the `Metadata/Slic3r_PE.config` a 3MF may carry):
    PrusaSlicer (GUI and CLI) opens the 3MF on this bed instead of its default 200 x 200 x 200 mm one,
    keeping its defaults for every other setting."""
    x, y, z = (f"{v:g}" for v in bed_mm)
    return (f"; generated by meshsmith: the bed the part was fitted to\n"
            f"; bed_shape = 0x0,{x}x0,{x}x{y},0x{y}\n; max_print_height = {z}\n")


def export_3mf(mesh: trimesh.Trimesh, bed_mm: tuple[float, float, float] | None = None) -> bytes:
    """3MF core (unit millimetre, +Z up); deterministic zip. A textured or coloured mesh gets per-triangle
    colours as core-spec base materials (texture sampled at each triangle's UV centroid, 6 levels per channel).
    `bed_mm`: the bed the part was placed on (export --fit/--bed); the file then carries it as a PrusaSlicer
    config (`Metadata/Slic3r_PE.config`), so slicers open it on that printer's bed."""
    m = print_frame(mesh)
    verts = "".join(f'<vertex x="{x:.6g}" y="{y:.6g}" z="{z:.6g}"/>' for x, y, z in m.vertices.tolist())
    colours = face_colours(mesh)
    materials, obj_attr = "", ""
    if colours is None:
        tris = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in m.faces.tolist())
    else:
        step = 255 / (COLOUR_LEVELS - 1)
        q = (np.round(colours / step) * step).round().astype(np.uint8)
        palette, index = np.unique(q, axis=0, return_inverse=True)
        materials = "<basematerials id=\"2\">" + "".join(
            f'<base name="c{i}" displaycolor="#{r:02X}{g:02X}{b:02X}"/>' for i, (r, g, b) in enumerate(palette.tolist())
        ) + "</basematerials>"
        obj_attr = ' pid="2" pindex="0"'
        tris = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}" pid="2" p1="{k}"/>'
                       for (a, b, c), k in zip(m.faces.tolist(), index.ravel().tolist()))
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<model unit="millimeter" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        f'<metadata name="Application">meshsmith</metadata><resources>{materials}<object id="1" type="model"{obj_attr}><mesh>'
        f"<vertices>{verts}</vertices><triangles>{tris}</triangles></mesh></object></resources>"
        '<build><item objectid="1"/></build></model>'
    )
    buf = io.BytesIO()
    parts = [("[Content_Types].xml", _3MF_TYPES), ("_rels/.rels", _3MF_RELS), ("3D/3dmodel.model", model)]
    if bed_mm is not None:
        parts[0] = ("[Content_Types].xml", _3MF_TYPES.replace(
            "</Types>", '<Default Extension="config" ContentType="text/plain"/></Types>'))
        parts.append(("Metadata/Slic3r_PE.config", slicer_config(bed_mm)))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def export_obj_zip(mesh: trimesh.Trimesh) -> bytes:
    """model.obj (millimetres, +Z up, with UVs) + model.mtl + its texture PNG, as a deterministic zip."""
    m = mesh.copy()
    m.apply_transform(TO_PRINT)
    m.visual = _clean_visual(mesh.visual)
    text, files = trimesh.exchange.obj.export_obj(m, include_normals=False, include_texture=True, return_texture=True,
                                                  mtl_name="model.mtl", header=None)
    parts = {"model.obj": (OBJ_HEADER.format(units="mm", up="z") + "\n" + text).encode(), **files}
    if b"map_Kd" in parts.get("model.mtl", b""):  # white diffuse: viewers multiply it with the texture
        parts["model.mtl"] = re.sub(rb"(?m)^Kd .*$", b"Kd 1.00000000 1.00000000 1.00000000", parts["model.mtl"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(parts):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, parts[name])
    return buf.getvalue()


def export_ply(mesh: trimesh.Trimesh) -> bytes:
    """Binary PLY in the scene frame (metres, +Y up, like GLB), for mesh tools."""
    return trimesh.exchange.ply.export_ply(
        trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=False), encoding="binary"
    )


EXPORTERS: dict[str, Callable[[trimesh.Trimesh], bytes]] = {
    "glb": export_glb,
    "obj": export_obj,
    "obj.zip": export_obj_zip,
    "stl": export_stl,
    "3mf": export_3mf,
    "ply": export_ply,
}

MEDIA_TYPES: dict[str, str] = {
    "glb": "model/gltf-binary",
    "obj": "model/obj",
    "obj.zip": "application/zip",
    "stl": "model/stl",
    "3mf": "model/3mf",
    "ply": "application/ply",
}


def glb_json(glb: bytes) -> dict:
    """The JSON chunk of GLB bytes (for tests and texture-size checks)."""
    length = struct.unpack_from("<I", glb, 12)[0]
    return json.loads(glb[20 : 20 + length])
