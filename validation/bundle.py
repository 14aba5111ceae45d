"""Zip bundles: one mesh file plus its side files (OBJ + MTL + textures, glTF + .bin + images).

One gRPC request carries one file, so a mesh that refers to others travels as a .zip. The bundle is
checked before anything is inflated: at most MAX_ENTRIES entries, their declared sizes within the
mesh byte limit (no zip bombs), no encryption, exactly one mesh file.
"""

from __future__ import annotations

import io
import lzma
import posixpath
import zipfile
import zlib
from dataclasses import dataclass

import trimesh

from meshsmith import limits
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


# what zipfile raises for entries it cannot inflate: encrypted (RuntimeError), an unknown method or strong
# encryption (NotImplementedError), a corrupt stream (zlib.error, lzma.LZMAError, OSError from bz2, EOFError)
READ_ERRORS = (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error,
                lzma.LZMAError)
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
           zipfile.ZIP_LZMA: "lzma"}
ENCRYPTED = 0x1 | 0x40  # general-purpose flag bits 0 (encrypted) and 6 (strong encryption)


def _members(z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The bundle's files: no folders, no hidden files, no macOS resource forks."""
    return [i for i in z.infolist() if not i.is_dir() and not posixpath.basename(i.filename).startswith(".")
            and not i.filename.startswith("__MACOSX/")]


def peek(data: bytes) -> tuple[str, bytes] | None:
    """(extension, first 80 bytes) of the one mesh file inside zip bytes, or None if not a valid bundle."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            meshes = [i for i in _members(z) if i.filename.rsplit(".", 1)[-1].lower() in MESH_EXTENSIONS]
            if len(meshes) != 1 or meshes[0].flag_bits & ENCRYPTED or meshes[0].compress_type not in METHODS:
                return None  # open_bundle says why
            with z.open(meshes[0]) as f:
                return meshes[0].filename.rsplit(".", 1)[-1].lower(), f.read(80)
    except READ_ERRORS:
        return None


def open_bundle(data: bytes, max_bytes: int) -> Bundle:
    """The mesh file of a zip bundle and a resolver for its side files. Raises InvalidInput."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = _members(z)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"not a valid .zip bundle ({exc}); zip the mesh with its side files (e.g. model.obj, "
                           "model.mtl, texture.png)") from None
    if len(infos) > MAX_ENTRIES:
        raise InvalidInput(f"the zip bundle has {len(infos)} files; at most {MAX_ENTRIES}: send the mesh and its side files only")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise InvalidInput(f"the zip bundle unpacks to {total:,} bytes > limit {max_bytes:,}")
    locked = [i.filename for i in infos if i.flag_bits & ENCRYPTED]
    if locked:
        raise InvalidInput(f"encrypted zip entries are not supported: {limits.quote(locked[0], 60)} "
                           f"{'and ' + str(len(locked) - 1) + ' more are' if len(locked) > 1 else 'is'} encrypted; "
                           "zip the files again without a password")
    odd = [i for i in infos if i.compress_type not in METHODS]
    if odd:
        raise InvalidInput(f"zip entry {limits.quote(odd[0].filename, 60)} uses compression method "
                           f"{odd[0].compress_type}; supported: {', '.join(f'{k} ({v})' for k, v in METHODS.items())}: "
                           "zip it again with deflate")
    meshes = [i for i in infos if i.filename.rsplit(".", 1)[-1].lower() in MESH_EXTENSIONS]
    if len(meshes) != 1:
        listed = ", ".join(i.filename for i in meshes[:5]) or "none"
        raise InvalidInput(f"a zip bundle holds exactly one mesh file ({', '.join('.' + e for e in MESH_EXTENSIONS)}) "
                           f"plus its side files; this one has {len(meshes)} ({listed})")
    try:
        files = {i.filename: z.read(i) for i in infos}
    except READ_ERRORS as exc:  # also a size that lied (zipfile checks CRC), a stream that does not inflate
        raise InvalidInput(f"the zip bundle is corrupt ({limits.quote(str(exc), 120)}); zip the files again") from None
    if sum(len(b) for b in files.values()) > max_bytes:
        raise InvalidInput(f"the zip bundle unpacks to more than the limit of {max_bytes:,} bytes")
    name = meshes[0].filename
    folder = posixpath.dirname(name)
    resolver = trimesh.resolvers.ZipResolver(files, namespace=folder or None)
    return Bundle(name=name, data=files[name], resolver=resolver)
