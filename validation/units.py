"""Units and up axis of mesh files: each format's convention, user overrides, and the scene frame.

Inside meshsmith every mesh is in the scene frame: metres, +Y up (glTF). Printing checks and print
exports use the build frame: millimetres, +Z up (`formats.TO_PRINT`). A file's coordinates are read
in its own frame (units x up axis) and converted to the scene frame once, on read.

Conventions (FIELD_NOTES "Conventions users' tools assume"): STL and 3MF are millimetres, Z up (what
slicers assume); OBJ, PLY, OFF and glTF/GLB are metres, Y up (what modellers and glTF write).
A meshsmith OBJ export says its own frame in a header comment, which wins over the convention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput

UNITS_M: dict[str, float] = {"mm": 0.001, "cm": 0.01, "m": 1.0, "in": 0.0254}
UP_AXES = ("y", "z")
CONVENTIONS: dict[str, tuple[str, str]] = {
    "stl": ("mm", "z"), "3mf": ("mm", "z"),
    "obj": ("m", "y"), "ply": ("m", "y"), "off": ("m", "y"), "glb": ("m", "y"), "gltf": ("m", "y"),
}
# written as the first line of meshsmith's OBJ exports; read back before the format's convention
OBJ_HEADER = "# meshsmith frame: units={units} up={up}"
_OBJ_HEADER_RE = re.compile(rb"\A# meshsmith frame: units=(mm|cm|m|in) up=(y|z)\r?\n")

# Z up (x, y, z) -> Y up (x, z, -y): the inverse of formats.TO_PRINT's rotation
Z_TO_Y = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1]])


@dataclass(frozen=True)
class Frame:
    """How a file's coordinates were read: `units` per coordinate, `up` axis, and why (`source`)."""

    units: str
    up: str
    source: str  # "given", "convention of .stl", "file header", "3MF unit attribute"

    def describe(self) -> str:
        return f"read as {self.units}, {self.up.upper()} up ({self.source})"


def check_units(units: str) -> str:
    if units not in UNITS_M:
        raise InvalidInput(f"unknown units {units!r}: use one of {', '.join(UNITS_M)}")
    return units


def check_up(up: str) -> str:
    if up not in UP_AXES:
        raise InvalidInput(f"unknown up axis {up!r}: use one of {', '.join(UP_AXES)}")
    return up


def file_frame(data: bytes, ext: str, units: str | None = None, up: str | None = None) -> Frame:
    """The frame to read a file in: given values, else the file's own header, else the format's convention."""
    units = check_units(units) if units else None
    up = check_up(up) if up else None
    conv_units, conv_up = CONVENTIONS.get(ext, ("m", "y"))
    source = f"convention of .{ext}"
    if ext == "obj":
        m = _OBJ_HEADER_RE.match(data[:80])
        if m:
            conv_units, conv_up, source = m.group(1).decode(), m.group(2).decode(), "file header"
    if ext == "3mf" and units and units != "mm":
        raise InvalidInput("a 3MF file declares its own unit (its model's unit attribute): leave --units out for .3mf")
    if units and up:
        source = "given"
    elif units or up:
        source = f"given, {source}"
    return Frame(units or conv_units, up or conv_up, source)


def to_scene(mesh: trimesh.Trimesh, frame: Frame) -> trimesh.Trimesh:
    """`mesh` (file coordinates, in place) converted to metres, +Y up."""
    if frame.up == "z":
        mesh.apply_transform(Z_TO_Y)
    if frame.units != "m":
        mesh.apply_scale(UNITS_M[frame.units])
    return mesh


def load_scene(data: bytes, filename: str, units: str | None = None, up: str | None = None, limits=None):
    """Parse a mesh file into the scene frame (metres, +Y up). Returns (mesh, Frame). Raises InvalidInput."""
    from validation import formats  # noqa: PLC0415  (formats imports this module)

    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    head = data
    if ext == "zip":  # a bundle reads in the convention of the mesh file inside
        from validation.bundle import peek  # noqa: PLC0415

        ext, head = peek(data) or (ext, b"")
    frame = file_frame(head, ext, units, up)
    mesh = formats.load_mesh(data, filename, limits or formats.MeshLimits())
    if ext == "3mf":
        unit = mesh.metadata.get("3mf_unit", "millimeter")
        frame = Frame("mm", frame.up, f"3MF unit attribute {unit!r}" + (", up given" if up else ""))
    return to_scene(mesh, frame), frame
