"""Zip bundles: one mesh file plus its side files (OBJ + MTL + textures, glTF + .bin + images).

One gRPC request carries one file, so a mesh that refers to others travels as a .zip. The bundle is
checked before anything is inflated: at most MAX_ENTRIES entries, their declared sizes within the
mesh byte limit (no zip bombs), no encryption, exactly one mesh file.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

import trimesh

from meshsmith.errors import InvalidInput

MAX_ENTRIES = 256
MESH_EXTENSIONS = ("obj", "glb", "gltf", "ply", "stl", "off", "3mf")


@dataclass(frozen=True)
class Bundle:
    name: str  # the mesh file's path inside the zip
    data: bytes
    resolver: trimesh.resolvers.ZipResolver  # side files, relative to the mesh file's folder

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower()


def peek(data: bytes) -> tuple[str, bytes] | None:
    """(extension, first 80 bytes) of the one mesh file inside zip bytes, or None if not a valid bundle."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [i.filename for i in z.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            meshes = [n for n in names if n.rsplit(".", 1)[-1].lower() in MESH_EXTENSIONS]
            if len(meshes) != 1:
                return None
            with z.open(meshes[0]) as f:
                return meshes[0].rsplit(".", 1)[-1].lower(), f.read(80)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None


def open_bundle(data: bytes, max_bytes: int) -> Bundle:
    """The mesh file of a zip bundle and a resolver for its side files. Raises InvalidInput."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in z.infolist() if not i.is_dir() and not posixpath.basename(i.filename).startswith(".")
                 and not i.filename.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"not a valid .zip bundle ({exc}); zip the mesh with its side files (e.g. model.obj, "
                           "model.mtl, texture.png)") from None
    if len(infos) > MAX_ENTRIES:
        raise InvalidInput(f"the zip bundle has {len(infos)} files; at most {MAX_ENTRIES}: send the mesh and its side files only")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise InvalidInput(f"the zip bundle unpacks to {total:,} bytes > limit {max_bytes:,}")
    if any(i.flag_bits & 0x1 for i in infos):
        raise InvalidInput("the zip bundle is encrypted; send it without a password")
    meshes = [i for i in infos if i.filename.rsplit(".", 1)[-1].lower() in MESH_EXTENSIONS]
    if len(meshes) != 1:
        listed = ", ".join(i.filename for i in meshes[:5]) or "none"
        raise InvalidInput(f"a zip bundle holds exactly one mesh file ({', '.join('.' + e for e in MESH_EXTENSIONS)}) "
                           f"plus its side files; this one has {len(meshes)} ({listed})")
    try:
        files = {i.filename: z.read(i) for i in infos}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:  # also a size that lied (zipfile checks CRC)
        raise InvalidInput(f"the zip bundle is corrupt ({exc}); zip the files again") from None
    if sum(len(b) for b in files.values()) > max_bytes:
        raise InvalidInput(f"the zip bundle unpacks to more than the limit of {max_bytes:,} bytes")
    name = meshes[0].filename
    folder = posixpath.dirname(name)
    resolver = trimesh.resolvers.ZipResolver(files, namespace=folder or None)
    return Bundle(name=name, data=files[name], resolver=resolver)
