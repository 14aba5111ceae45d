"""3MF core reader: mesh objects, components, build items and their transforms, the unit attribute.

Written over zipfile + xml.etree (trimesh 5.2's 3MF loader keeps the unit only as metadata and does not
scale by it). Hostile-file protections in the manner of defusedxml: any DTD (so any entity) is refused,
uncompressed sizes and compression ratios are capped, component nesting is bounded and cycles refused,
and the triangle count after instancing is checked against the caller's face limit.
Returns coordinates in millimetres in the file's build frame (3MF: +Z up).
"""

from __future__ import annotations

import io
import re
import zipfile
import xml.etree.ElementTree as ET

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput
from meshsmith.limits import ascii_digits
from validation.bundle import ENCRYPTED, METHODS, READ_ERRORS

UNIT_MM = {"micron": 0.001, "millimeter": 1.0, "centimeter": 10.0, "inch": 25.4, "foot": 304.8, "meter": 1000.0}
CORE = "{http://schemas.microsoft.com/3dmanufacturing/core/2015/02}"
MAX_DEPTH = 16  # component nesting
MAX_RATIO = 200  # uncompressed / compressed size of one zip member
_MODEL_REL = re.compile(rb'Target="([^"]+)"[^>]*Type="http://schemas\.microsoft\.com/3dmanufacturing/2013/01/3dmodel"'
                        rb'|Type="http://schemas\.microsoft\.com/3dmanufacturing/2013/01/3dmodel"[^>]*Target="([^"]+)"')


def _read_member(z: zipfile.ZipFile, name: str, max_bytes: int) -> bytes:
    try:
        info = z.getinfo(name)
    except KeyError:
        raise InvalidInput(f"3MF package has no part {name!r}: re-export the file") from None
    if info.file_size > max_bytes or info.file_size > MAX_RATIO * max(info.compress_size, 1) + 2**20:
        raise InvalidInput(f"3MF part {name!r} unpacks to {info.file_size:,} bytes (limit {max_bytes:,}, "
                           f"or over {MAX_RATIO}x its packed size): refused")
    if info.flag_bits & ENCRYPTED:
        raise InvalidInput(f"encrypted zip entries are not supported: 3MF part {name!r} is encrypted; re-export the "
                           "file without a password")
    if info.compress_type not in METHODS:
        raise InvalidInput(f"3MF part {name!r} uses zip compression method {info.compress_type}; supported: "
                           f"{', '.join(f'{k} ({v})' for k, v in METHODS.items())}: re-export the file")
    try:
        with z.open(info) as f:
            data = f.read(max_bytes + 1)
    except READ_ERRORS as exc:
        raise InvalidInput(f"3MF part {name!r} is corrupt ({str(exc)[:100]!r}); re-export the file") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"3MF part {name!r} unpacks to more than {max_bytes:,} bytes: refused")
    return data


def _root_part(z: zipfile.ZipFile, max_bytes: int) -> str:
    if "_rels/.rels" in z.namelist():
        m = _MODEL_REL.search(_read_member(z, "_rels/.rels", max_bytes))
        if m:
            return (m.group(1) or m.group(2)).decode().lstrip("/")
    return "3D/3dmodel.model"


def _number(text: str | None) -> float:
    """An ST_Number attribute: ASCII only (float() would also take '١', '１' and '1_0'); ValueError otherwise."""
    t = text.strip() if isinstance(text, str) else ""
    if not t.isascii() or "_" in t:
        raise ValueError(text)
    return float(t)


def _index(text: str | None) -> int:
    """An ST_ResourceIndex attribute: ASCII digits only (int() would also take '١' and '1_0'); ValueError otherwise."""
    t = text.strip() if isinstance(text, str) else ""
    if not ascii_digits(t):
        raise ValueError(text)
    return int(t)


def _transform(text: str | None) -> np.ndarray:
    """3MF's 12-number row-major affine ("m00 m01 m02 m10 … m32", row vectors) as a 4x4 column-vector matrix."""
    out = np.eye(4)
    if not text:
        return out
    try:
        m = np.array([_number(v) for v in text.split()], dtype=np.float64)
    except ValueError:
        raise InvalidInput(f"3MF transform {text[:80]!r} is not 12 numbers in ASCII digits") from None
    if m.shape != (12,) or not np.isfinite(m).all():
        raise InvalidInput(f"3MF transform {text[:80]!r} is not 12 finite numbers")
    out[:3, :3] = m[:9].reshape(3, 3).T
    out[:3, 3] = m[9:]
    return out


def _mesh_arrays(obj: ET.Element, oid: str) -> tuple[np.ndarray, np.ndarray] | None:
    mesh = obj.find(f"{CORE}mesh")
    if mesh is None:
        return None
    try:
        v = np.array([(_number(e.get("x")), _number(e.get("y")), _number(e.get("z")))
                      for e in mesh.iter(f"{CORE}vertex")], dtype=np.float64).reshape(-1, 3)
        f = np.array([(_index(e.get("v1")), _index(e.get("v2")), _index(e.get("v3")))
                      for e in mesh.iter(f"{CORE}triangle")], dtype=np.int64).reshape(-1, 3)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"3MF object {oid}: a vertex or triangle lacks a number (x/y/z, v1/v2/v3) in ASCII digits "
                           "(v1/v2/v3: whole numbers from 0)") from None
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise InvalidInput(f"3MF object {oid}: triangle indices span {f.min()}..{f.max()} but it has {len(v)} vertices")
    return v, f


def load_3mf(data: bytes, max_bytes: int, max_faces: int) -> tuple[trimesh.Trimesh, str]:
    """Every build item of a 3MF package as one mesh in millimetres (file frame), and the file's unit name."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput("not a 3MF file: it is not a zip package; re-export it as 3MF") from None
    with z:
        xml = _read_member(z, _root_part(z, max_bytes), max_bytes)
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise InvalidInput("3MF model declares a DTD or entities: refused (3MF needs none)")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise InvalidInput(f"3MF model is not well-formed XML: {exc}") from None
    unit = root.get("unit", "millimeter")
    if unit not in UNIT_MM:
        raise InvalidInput(f"3MF unit {unit[:40]!r} is not one of {', '.join(UNIT_MM)}")
    objects = {o.get("id"): o for o in root.iter(f"{CORE}object")}
    meshes = {oid: _mesh_arrays(o, oid) for oid, o in objects.items()}
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    faces = 0

    def place(oid: str, matrix: np.ndarray, stack: tuple[str, ...]) -> None:
        nonlocal faces
        if oid not in objects:
            raise InvalidInput(f"3MF build refers to object {oid!r}, which the file does not define")
        if oid in stack or len(stack) >= MAX_DEPTH:
            raise InvalidInput(f"3MF components nest too deep or in a cycle (object {oid!r})")
        if meshes[oid] is not None:
            v, f = meshes[oid]
            faces += len(f)
            if faces > max_faces:
                raise InvalidInput(f"too many faces: the 3MF build places over {max_faces:,}; decimate before uploading")
            parts.append((trimesh.transform_points(v, matrix) if len(v) else v, f))
        for c in objects[oid].iter(f"{CORE}component"):
            if any(k.endswith("}path") for k in c.attrib):
                raise InvalidInput("3MF production-extension parts in other files are not supported: "
                                   "export the model as a single-file 3MF core package")
            place(c.get("objectid"), matrix @ _transform(c.get("transform")), (*stack, oid))

    build = root.find(f"{CORE}build")
    for item in [] if build is None else build.iter(f"{CORE}item"):
        place(item.get("objectid"), _transform(item.get("transform")), ())
    parts = [(v, f) for v, f in parts if len(f)]
    if not parts:
        raise InvalidInput("the 3MF build holds no triangles: add a mesh object to its build")
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    mesh = trimesh.Trimesh(vertices=np.vstack([v for v, _ in parts]) * UNIT_MM[unit],
                           faces=np.vstack([f + o for (_, f), o in zip(parts, offsets)]), process=False)
    return mesh, unit
