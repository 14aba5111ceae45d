"""Plain immutable records the registry takes and returns (no SQLAlchemy, no gRPC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ARTIFACT_KINDS = ("glb", "preview", "turntable", "source", "obj", "stl", "3mf", "lods", "fbx", "usdz",
                  "source-view", "source-depth")  # generate's extra inputs: views (lod = 1..5) and a depth map


# Versions stored before the geometric reconstruction had one name everywhere read as "classical" (as requests
# say it); idempotence keys keep hashing the old name, so a resent request still finds its earlier version.
LEGACY_BACKENDS = {"geometry": "classical"}
KEY_BACKENDS = {new: old for old, new in LEGACY_BACKENDS.items()}


@dataclass(frozen=True)
class NewArtifact:
    """A file to store with a new version. `kind` is one of ARTIFACT_KINDS; `lod` matters for glb."""

    kind: str
    lod: int
    data: bytes
    media_type: str


@dataclass(frozen=True)
class NewVersion:
    """Everything a new version is made of; dict fields use the proto field names."""

    asset: str
    author: str
    source_sha256: str
    parameters: dict
    backend: str
    backend_version: str
    seed: int
    mode: str
    artifacts: tuple[NewArtifact, ...]
    stats: dict
    reports: tuple[dict, ...]
    repair: dict
    request_id: str | None = None
    job_id: str | None = None
    caller: str = ""  # who asked (the authenticated identity): owns request_id; the audit log's actor ("" -> author)
    caption: str | None = None  # from the caption backend, when the server has one
    caption_tags: tuple[str, ...] = ()
    # What the idempotence key hashes instead of `parameters` / `backend_version` when part of the record is only
    # known after the work (a hosted backend's task id and download digest): None -> the recorded value.
    key_parameters: dict | None = None
    key_backend_version: str | None = None


@dataclass(frozen=True)
class ArtifactRecord:
    kind: str
    lod: int
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True)
class VersionRecord:
    """One stored version. `channels` lists the aliases (including 'latest') that point at it now."""

    asset: str
    number: int
    created_at: datetime
    author: str
    source_sha256: str
    parameters: dict
    backend: str
    backend_version: str
    seed: int
    mode: str
    artifacts: tuple[ArtifactRecord, ...]
    stats: dict
    reports: tuple[dict, ...]
    repair: dict
    deprecated: bool
    channels: tuple[str, ...]
    reused: bool
    job_id: str | None
    caption: str | None = None
    caption_tags: tuple[str, ...] = ()

    def artifact(self, kind: str = "glb", lod: int = 0) -> ArtifactRecord | None:
        """The artifact of that kind and LOD, or None."""
        return next((a for a in self.artifacts if a.kind == kind and a.lod == lod), None)


@dataclass(frozen=True)
class ChannelRecord:
    name: str
    version: int
    moved_by: str
    moved_at: datetime


@dataclass(frozen=True)
class AssetRecord:
    name: str
    description: str
    tags: tuple[str, ...]
    created_at: datetime
    version_count: int
    latest: VersionRecord | None
    channels: tuple[ChannelRecord, ...]


@dataclass(frozen=True)
class HistoryQuery:
    """Filters for `Registry.history`. limit 0 means 100 (max 1000); before_number 0 means from the newest.
    `verdict` is pass|warn|fail, 1..3 or CHECK_LEVEL_* (0 / unspecified = no verdict filter); with `profile`
    it applies to that profile's report, alone to any report; `profile` alone keeps versions that have
    a report for it. `channel` keeps versions the channel ever pointed at (from the audit log)."""

    limit: int = 100
    before_number: int | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    profile: str | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class MetricDelta:
    name: str
    before: float | None
    after: float | None
    delta: float | None


@dataclass(frozen=True)
class ParamChange:
    """A parameter (dotted path) that differs; None means absent on that side."""

    key: str
    before: Any
    after: Any


@dataclass(frozen=True)
class CheckChange:
    """A check whose level changed; check_id 'verdict' is the report's overall verdict."""

    profile: str
    check_id: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class LineageChange:
    """A lineage field (registry.diff.LINEAGE) that differs, as text; "" means the version has none."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class VersionDiff:
    asset: str
    a: int
    b: int
    metrics: tuple[MetricDelta, ...]
    parameters: tuple[ParamChange, ...]
    checks: tuple[CheckChange, ...]
    backend: tuple[str, str] | None = None
    artifacts_changed: tuple[str, ...] = ()
    lineage: tuple[LineageChange, ...] = ()


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    asset: str | None
    version: int | None
    channel: str | None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    deleted: tuple[str, ...]
    bytes_freed: int
    kept_referenced: int
    skipped_young: tuple[str, ...]
    temp_files_removed: tuple[str, ...]


@dataclass(frozen=True)
class AuditReport:
    checked: int
    bytes_checked: int
    mismatched: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.missing
