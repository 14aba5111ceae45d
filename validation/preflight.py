"""Checks of a mesh file's bytes before a parser sees them: declared face counts, truncation, glTF JSON
depth and node trees, OFF counts, OBJ zero indices. Each raises InvalidInput with what to fix."""

from __future__ import annotations

import json
import re
import struct

from meshsmith.errors import InvalidInput

MAX_JSON_DEPTH = 64


def declared_faces(data: bytes, ext: str) -> int | None:
    """Face count a header declares (cheap, before parsing), if the format has one."""
    if ext == "stl" and len(data) >= 84 and not data[:5].lower().startswith(b"solid"):
        return struct.unpack_from("<I", data, 80)[0]
    if ext == "ply":
        head = data[: data.find(b"end_header")] if b"end_header" in data[:65536] else b""
        m = re.search(rb"element\s+face\s+(\d+)", head)
        return int(m.group(1)) if m else None
    if ext == "off":
        m = re.match(rb"\s*C?N?OFF\s+(\d+)\s+(\d+)", data[:4096])
        return int(m.group(2)) if m else None
    if ext == "obj":
        return data.count(b"\nf ") + data.startswith(b"f ")
    if ext in ("glb", "gltf"):
        return _gltf_faces(_gltf_tree(data, ext))
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


# a whole JSON string (possessive: linear even on 100 MB of base64 or an unterminated string), or a bracket
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


def _json_depth(text: bytes) -> int:
    """Deepest nesting of [ and { outside strings (without recursing, so any depth is safe to measure)."""
    depth = peak = 0
    for m in _JSON_TOKENS.finditer(text):
        c = m.group()[:1]
        if c in b"[{":
            depth += 1
            peak = max(peak, depth)
        elif c in b"]}":
            depth -= 1
    return peak


def _gltf_tree(data: bytes, ext: str) -> dict:
    """The glTF JSON, checked: an object, nested at most MAX_JSON_DEPTH, plain numbers (no NaN/Infinity),
    arrays where the schema has arrays, accessor counts whole and >= 0, nodes forming trees. Raises InvalidInput."""
    text = data
    if ext == "glb":
        if len(data) < 20 or data[:4] != b"glTF":
            raise InvalidInput("not a GLB file: it does not start with the 'glTF' magic; re-export it as binary glTF")
        length, kind = struct.unpack_from("<I4s", data, 12)
        if kind != b"JSON" or 20 + length > len(data):
            raise InvalidInput("GLB is corrupt: its first chunk is not a JSON chunk that fits in the file; re-export it")
        text = data[20 : 20 + length]
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(f"the glTF JSON is nested {depth} levels deep (limit {MAX_JSON_DEPTH}); re-export the file")
    try:
        tree = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"the glTF JSON is not valid JSON ({str(exc)[:120]}); re-export the file") from None
    if not isinstance(tree, dict):
        raise InvalidInput(f"the glTF JSON is a {type(tree).__name__}, not an object with asset/meshes/nodes; re-export it")
    for key in ("nodes", "meshes", "accessors", "bufferViews", "buffers", "scenes"):
        value = tree.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise InvalidInput(f"the glTF '{key}' must be an array of objects; re-export the file")
    for i, acc in enumerate(tree.get("accessors", [])):
        count = acc.get("count", 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InvalidInput(f"glTF accessor {i} has count {str(count)[:40]}; a count is a whole number >= 0")
    _check_node_trees(tree.get("nodes", []))
    _check_node_transforms(tree.get("nodes", []))
    return tree


FLOAT32_MAX = 3.4028234663852886e38
# a node's transform: property -> how many numbers (glTF 2.0 node schema); the matrix is column-major
TRANSFORMS = {"matrix": 16, "translation": 3, "rotation": 4, "scale": 3}


def _check_node_transforms(nodes: list[dict]) -> None:
    """Each node's matrix / translation / rotation / scale: as many plain numbers as the schema says, each
    finite in float32 (what the loader computes in; 1e39 there is inf, and an inf transform was dropped
    silently); a matrix's last row 0, 0, 0, 1 (it must decompose into TRS). Raises InvalidInput naming the node."""
    for i, node in enumerate(nodes):
        for key, n in TRANSFORMS.items():
            if key not in node:
                continue
            value = node[key]
            if not isinstance(value, list) or len(value) != n:
                raise InvalidInput(f"glTF node {i} has a {key} that is not an array of {n} numbers "
                                   f"({str(value)[:40]}); re-export the file")
            for k, x in enumerate(value):
                if not isinstance(x, (int, float)) or isinstance(x, bool):
                    raise InvalidInput(f"glTF node {i}'s {key}[{k}] is {str(x)[:20]!r}, not a number; re-export the file")
                if not -FLOAT32_MAX <= x <= FLOAT32_MAX:  # also NaN and inf (1e400 reads as inf)
                    raise InvalidInput(f"glTF node {i}'s {key}[{k}] is {x:.3g}, outside float32 (at most "
                                       f"{FLOAT32_MAX:.4g} in size, finite): fix the node's transform and re-export")
            if key == "matrix" and any(abs(value[j] - want) > 1e-6 for j, want in ((3, 0), (7, 0), (11, 0), (15, 1))):
                raise InvalidInput(f"glTF node {i}'s matrix has last row {[value[j] for j in (3, 7, 11, 15)]}, not "
                                   "[0, 0, 0, 1]: a node matrix must be an affine transform (glTF 2.0); re-export the file")


def _check_node_trees(nodes: list[dict]) -> None:
    """glTF nodes form disjoint trees: children in range, one parent each, no node its own ancestor."""
    parent: dict[int, int] = {}
    for i, node in enumerate(nodes):
        children = node.get("children", [])
        if not isinstance(children, list):
            raise InvalidInput(f"glTF node {i}: 'children' must be an array of node indices")
        for c in children:
            if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < len(nodes):
                raise InvalidInput(f"glTF node {i} has child {str(c)[:20]}, but there are {len(nodes)} nodes")
            if c in parent:
                raise InvalidInput(f"glTF node {c} is a child of both node {parent[c]} and node {i}; "
                                   "a node has at most one parent (nodes must form trees)")
            parent[c] = i
    for start in parent:
        seen, n = {start}, start
        while n in parent:
            n = parent[n]
            if n in seen:
                raise InvalidInput(f"glTF nodes form a cycle (node {start} is its own ancestor); "
                                   "nodes must form trees: fix the hierarchy and re-export")
            seen.add(n)


def _gltf_faces(tree: dict) -> int:
    """Triangles the primitives' accessors declare (each mesh counted once)."""
    accessors = tree.get("accessors", [])
    total = 0
    for mesh in tree.get("meshes", []):
        prims = mesh.get("primitives", [])
        for prim in prims if isinstance(prims, list) else ():
            if not isinstance(prim, dict):
                continue
            attrs = prim.get("attributes", {})
            idx = prim.get("indices", attrs.get("POSITION") if isinstance(attrs, dict) else None)
            if isinstance(idx, int) and 0 <= idx < len(accessors):
                total += accessors[idx].get("count", 0) // 3
    return total


def check_off(data: bytes) -> None:
    """Each OFF face lists at least as many indices as it declares (>= 3; colour values may follow); no face
    line is missing. (The loader checks the index range.)"""
    lines = data.splitlines()
    if b"#" in data:
        lines = [ln.split(b"#", 1)[0] for ln in lines]
    lines = [ln for ln in lines if ln.strip()]
    if not lines or not re.fullmatch(rb"[A-Z]*OFF", lines[0].split()[0]):
        return  # the loader reports it
    head = lines[0].split()[1:]
    counts, body = (head, lines[1:]) if head else ((lines[1].split() if len(lines) > 1 else []), lines[2:])
    try:
        nv, nf = int(counts[0]), int(counts[1])
    except (IndexError, ValueError):
        raise InvalidInput("the OFF header has no vertex/face count line; re-export the file") from None
    faces = body[max(nv, 0) : max(nv, 0) + max(nf, 0)]
    if nv < 0 or nf < 0 or len(faces) < nf:
        raise InvalidInput(f"the OFF file is truncated: its header declares {nv} vertices and {nf} faces, "
                           f"but only {len(faces)} face lines follow")
    for k, line in enumerate(faces):
        tokens = line.split()
        try:
            n = int(tokens[0])
        except ValueError:
            raise InvalidInput(f"OFF face {k} does not start with its vertex count; re-export the file") from None
        if n < 3 or len(tokens) <= n:
            raise InvalidInput(f"OFF face {k} declares {n} vertices but lists {min(len(tokens) - 1, max(n, 0))}: "
                               "a face lists as many indices as its first number says (at least 3)")


_OBJ_FACES = re.compile(rb"(?m)^[ \t]*f[ \t]+([^\n#]*)")
_ZERO_INDEX = re.compile(rb"(?:^|(?<=[ \t/\n]))-?0+(?=[ \t/\r\n]|$)")


def check_obj(data: bytes) -> None:
    """OBJ indices start at 1 (negative ones count back from the end): 0 refers to no vertex."""
    if not _ZERO_INDEX.search(b"\n".join(_OBJ_FACES.findall(data))):
        return
    for m in _OBJ_FACES.finditer(data):  # the error path only: find the line to name it
        if _ZERO_INDEX.search(m.group(1)):
            line = data.count(b"\n", 0, m.start()) + 1
            raise InvalidInput(f"OBJ line {line} has a face with index 0, which refers to no vertex: OBJ indices "
                               "start at 1 (negative ones count back); the exporter wrote 0-based indices — fix it")


def check_truncated(data: bytes, ext: str) -> None:
    if ext == "glb":
        if len(data) < 20 or data[:4] != b"glTF":
            raise InvalidInput("not a GLB file: it does not start with the 'glTF' magic; re-export it as binary glTF")
        declared = struct.unpack_from("<I", data, 8)[0]
        if declared > len(data):
            raise InvalidInput(f"GLB is truncated: its header says {declared} bytes, got {len(data)}; upload the whole file")
    elif ext == "stl" and not data[:5].lower().startswith(b"solid"):
        if len(data) < 84:
            raise InvalidInput(f"STL is truncated: {len(data)} bytes is shorter than the 84-byte binary header")
        n = struct.unpack_from("<I", data, 80)[0]
        if len(data) < 84 + 50 * n:
            raise InvalidInput(
                f"binary STL is truncated: header declares {n} triangles ({84 + 50 * n} bytes), got {len(data)} bytes; "
                "upload the whole file"
            )
