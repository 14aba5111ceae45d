"""meshsmith registry: immutable numbered asset versions in SQL, blobs content-addressed on disk."""

from .names import check_asset_name, check_channel_name, parse_ref, parse_spec
from .records import (
    ArtifactRecord,
    AssetRecord,
    AuditEvent,
    AuditReport,
    ChannelRecord,
    CheckChange,
    GcReport,
    HistoryQuery,
    LineageChange,
    MetricDelta,
    NewArtifact,
    NewVersion,
    ParamChange,
    VersionDiff,
    VersionRecord,
)
from .lockfile import integrity
from .store import Registry

__all__ = [
    "ArtifactRecord",
    "AssetRecord",
    "AuditEvent",
    "AuditReport",
    "ChannelRecord",
    "CheckChange",
    "GcReport",
    "HistoryQuery",
    "LineageChange",
    "MetricDelta",
    "NewArtifact",
    "NewVersion",
    "ParamChange",
    "Registry",
    "VersionDiff",
    "VersionRecord",
    "check_asset_name",
    "check_channel_name",
    "integrity",
    "parse_ref",
    "parse_spec",
]
