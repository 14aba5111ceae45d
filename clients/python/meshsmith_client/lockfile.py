"""assets.lock.json: write it from resolved specs, and fetch exactly its bytes into a folder."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from meshsmith.errors import DataLoss, InvalidInput
from meshsmith_client.files import write_atomic

LOCKFILE_VERSION = 1


def lock_document(resp) -> dict:
    """ResolveLockResponse -> the lockfile document (entries keyed by name, or name#lodK)."""
    assets = {}
    for e in resp.entries:
        key = e.asset if e.lod == 0 else f"{e.asset}#lod{e.lod}"
        assets[key] = {"version": e.version, "ref": e.spec.partition("@")[2], "sha256": e.sha256, "size": e.size,
                       "lod": e.lod, "url": e.url, "integrity": e.integrity}
    return {"lockfileVersion": LOCKFILE_VERSION, "assets": dict(sorted(assets.items()))}


def target_path(root: Path, key: str) -> Path:
    """Where a locked entry lands: props/chair -> ROOT/props/chair.glb, props/chair#lod2 -> ROOT/props/chair.lod2.glb."""
    name, _, lod = key.partition("#")
    rel = Path(*name.split("/"))
    path = (root / rel).with_name(rel.name + (f".{lod}" if lod else "") + ".glb")
    if root.resolve() not in path.resolve().parents:
        raise InvalidInput(f"lockfile entry {key!r} would write outside {root}")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Fetched:
    key: str
    path: Path
    skipped: bool


def fetch(lockfile: Path, root: Path, timeout: float = 60) -> list[Fetched]:
    """Download every entry (skipping files already present with the right sha256); DataLoss on any mismatch."""
    doc = json.loads(lockfile.read_text())
    if doc.get("lockfileVersion") != LOCKFILE_VERSION:
        raise InvalidInput(f"{lockfile}: unsupported lockfileVersion {doc.get('lockfileVersion')}")
    done = []
    for key, entry in doc["assets"].items():
        path = target_path(root, key)
        if path.exists() and path.stat().st_size == entry["size"] and _sha256(path) == entry["sha256"]:
            done.append(Fetched(key, path, True))
            continue
        try:
            with urllib.request.urlopen(entry["url"], timeout=timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as err:
            raise DataLoss(f"{key}: cannot fetch {entry['url']}: {err}") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"] or len(data) != entry["size"]:
            raise DataLoss(f"{key}: got {len(data)} bytes with sha256 {digest}, the lockfile pins "
                           f"{entry['size']} bytes with sha256 {entry['sha256']} — refusing to write it")
        write_atomic(path, data)
        done.append(Fetched(key, path, False))
    return done
