"""assets.lock.json: pinned, integrity-checked GLB URLs for game builds.

Specs: `name` (latest), `name@N`, `name@channel`, each optionally followed by `#lodK` (default lod 0).
Entries are keyed by name, or `name#lodK` for K > 0, so several LODs of one asset can be locked.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from meshsmith.errors import InvalidInput, NotFound

from .names import parse_spec

if TYPE_CHECKING:
    from .store import Registry

LOCKFILE_VERSION = 1


def integrity(sha256_hex: str) -> str:
    """Subresource-Integrity form of a sha256: 'sha256-<base64 of the raw digest>'."""
    return "sha256-" + base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def lock(registry: Registry, specs: list[str], base_url: str) -> dict:
    if isinstance(specs, str):
        raise InvalidInput("specs must be a list of strings such as ['props/chair@stable']")
    base = base_url.rstrip("/")
    entries: dict[str, dict] = {}
    for spec in specs:
        name, ref, lod = parse_spec(spec)
        v = registry.resolve(name, ref)
        art = v.artifact("glb", lod)
        if art is None:
            lods = sorted(a.lod for a in v.artifacts if a.kind == "glb")
            raise NotFound(f"{name} version {v.number} has no glb lod {lod}; it has lods {lods}")
        key = name if lod == 0 else f"{name}#lod{lod}"
        entry = {
            "version": v.number,
            "ref": str(ref),
            "sha256": art.sha256,
            "size": art.size,
            "lod": lod,
            "mediaType": art.media_type,
            "url": f"{base}/blobs/{art.sha256}",
            "integrity": integrity(art.sha256),
        }
        if key in entries and entries[key]["sha256"] != entry["sha256"]:
            raise InvalidInput(f"{key} is asked for twice with different results ({entries[key]['ref']} and {ref}); keep one spec")
        entries[key] = entry
    return {"lockfileVersion": LOCKFILE_VERSION, "assets": dict(sorted(entries.items()))}
