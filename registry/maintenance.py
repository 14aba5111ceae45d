"""Blob garbage collection and integrity audit."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Iterable

import sqlalchemy as sa

from . import audit
from .blobs import sha256_file
from .records import AuditReport, GcReport
from .schema import Artifact

if TYPE_CHECKING:
    from .store import Registry

BATCH = 500


def _batches(it: Iterable, n: int = BATCH):
    it = iter(it)
    while chunk := list(islice(it, n)):
        yield chunk


def _referenced(registry: Registry, shas: list[str]) -> set[str]:
    with registry.db.read() as s:
        return set(s.scalars(sa.select(Artifact.sha256).where(Artifact.sha256.in_(shas)).distinct()))


def gc(registry: Registry, dry_run: bool, grace_s: float, actor: str, keep: frozenset[str] = frozenset()) -> GcReport:
    """Delete unreferenced blobs older than `grace_s` (younger ones may belong to a write in flight).
    Each candidate is re-checked against the database just before it is deleted."""
    store = registry.blobs
    deleted, young, temps = [], [], []
    freed = kept = 0
    for chunk in _batches(store.iter_files()):
        shas = [sha for sha, _ in chunk if sha]
        refs = _referenced(registry, shas) if shas else set()
        for sha, path in chunk:
            if sha is None:  # temp file of a write in flight, or debris of a crashed one
                if store.age_s(path) >= grace_s:
                    temps.append(path.name)
                    if not dry_run:
                        path.unlink(missing_ok=True)
                continue
            if sha in refs or sha in keep:
                kept += 1
                continue
            if store.age_s(path) < grace_s:
                young.append(sha)
                continue
            if not dry_run:
                if _referenced(registry, [sha]):
                    kept += 1
                    continue
                size = path.stat().st_size
                path.unlink(missing_ok=True)
            else:
                size = path.stat().st_size
            deleted.append(sha)
            freed += size
    report = GcReport(dry_run, tuple(deleted), freed, kept, tuple(young), tuple(temps))
    if not dry_run:
        with registry.db.write() as s:
            audit.append(s, actor, "gc", deleted=len(deleted), bytes_freed=freed, temp_files_removed=len(temps))
    return report


def audit_blobs(registry: Registry) -> AuditReport:
    """Re-hash every blob an artifact references."""
    checked = nbytes = 0
    bad, missing = [], []
    with registry.db.read() as s:
        shas = list(s.scalars(sa.select(Artifact.sha256).distinct().order_by(Artifact.sha256)))
    for sha in shas:
        path = registry.blobs.path(sha)
        if not path.is_file():
            missing.append(sha)
            continue
        checked += 1
        nbytes += path.stat().st_size
        if sha256_file(path) != sha:
            bad.append(sha)
    return AuditReport(checked, nbytes, tuple(bad), tuple(missing))


