import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from meshsmith.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAssetRequest(_message.Message):
    __slots__ = ("asset",)
    ASSET_FIELD_NUMBER: _ClassVar[int]
    asset: str
    def __init__(self, asset: _Optional[str] = ...) -> None: ...

class GetAssetResponse(_message.Message):
    __slots__ = ("asset",)
    ASSET_FIELD_NUMBER: _ClassVar[int]
    asset: _types_pb2.Asset
    def __init__(self, asset: _Optional[_Union[_types_pb2.Asset, _Mapping]] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("asset", "page_size", "before_number", "author", "since", "until", "channel", "profile", "verdict")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    BEFORE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    page_size: int
    before_number: int
    author: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    channel: str
    profile: str
    verdict: _types_pb2.CheckLevel
    def __init__(self, asset: _Optional[str] = ..., page_size: _Optional[int] = ..., before_number: _Optional[int] = ..., author: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., profile: _Optional[str] = ..., verdict: _Optional[_Union[_types_pb2.CheckLevel, str]] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Version]
    def __init__(self, versions: _Optional[_Iterable[_Union[_types_pb2.Version, _Mapping]]] = ...) -> None: ...

class PullArtifactRequest(_message.Message):
    __slots__ = ("asset", "ref", "kind", "lod", "chunk_size")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOD_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    asset: str
    ref: str
    kind: str
    lod: int
    chunk_size: int
    def __init__(self, asset: _Optional[str] = ..., ref: _Optional[str] = ..., kind: _Optional[str] = ..., lod: _Optional[int] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class PullArtifactResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: PullHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[PullHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class PullHeader(_message.Message):
    __slots__ = ("version", "artifact")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    version: _types_pb2.Version
    artifact: _types_pb2.Artifact
    def __init__(self, version: _Optional[_Union[_types_pb2.Version, _Mapping]] = ..., artifact: _Optional[_Union[_types_pb2.Artifact, _Mapping]] = ...) -> None: ...

class SearchAssetsRequest(_message.Message):
    __slots__ = ("prefix", "tags", "limit", "text")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    text: str
    def __init__(self, prefix: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class SearchAssetsResponse(_message.Message):
    __slots__ = ("assets",)
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[_types_pb2.Asset]
    def __init__(self, assets: _Optional[_Iterable[_Union[_types_pb2.Asset, _Mapping]]] = ...) -> None: ...

class DiffVersionsRequest(_message.Message):
    __slots__ = ("asset", "ref_a", "ref_b")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    REF_A_FIELD_NUMBER: _ClassVar[int]
    REF_B_FIELD_NUMBER: _ClassVar[int]
    asset: str
    ref_a: str
    ref_b: str
    def __init__(self, asset: _Optional[str] = ..., ref_a: _Optional[str] = ..., ref_b: _Optional[str] = ...) -> None: ...

class MetricDelta(_message.Message):
    __slots__ = ("name", "before", "after")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    name: str
    before: float
    after: float
    def __init__(self, name: _Optional[str] = ..., before: _Optional[float] = ..., after: _Optional[float] = ...) -> None: ...

class ParameterChange(_message.Message):
    __slots__ = ("key", "before_json", "after_json")
    KEY_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    key: str
    before_json: str
    after_json: str
    def __init__(self, key: _Optional[str] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ...) -> None: ...

class CheckChange(_message.Message):
    __slots__ = ("profile", "check_id", "before", "after")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CHECK_ID_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    profile: str
    check_id: str
    before: _types_pb2.CheckLevel
    after: _types_pb2.CheckLevel
    def __init__(self, profile: _Optional[str] = ..., check_id: _Optional[str] = ..., before: _Optional[_Union[_types_pb2.CheckLevel, str]] = ..., after: _Optional[_Union[_types_pb2.CheckLevel, str]] = ...) -> None: ...

class LineageChange(_message.Message):
    __slots__ = ("field", "before", "after")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    field: str
    before: str
    after: str
    def __init__(self, field: _Optional[str] = ..., before: _Optional[str] = ..., after: _Optional[str] = ...) -> None: ...

class DiffVersionsResponse(_message.Message):
    __slots__ = ("asset", "a", "b", "metrics", "parameters", "checks", "artifacts_changed", "lineage")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    asset: str
    a: int
    b: int
    metrics: _containers.RepeatedCompositeFieldContainer[MetricDelta]
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterChange]
    checks: _containers.RepeatedCompositeFieldContainer[CheckChange]
    artifacts_changed: _containers.RepeatedScalarFieldContainer[str]
    lineage: _containers.RepeatedCompositeFieldContainer[LineageChange]
    def __init__(self, asset: _Optional[str] = ..., a: _Optional[int] = ..., b: _Optional[int] = ..., metrics: _Optional[_Iterable[_Union[MetricDelta, _Mapping]]] = ..., parameters: _Optional[_Iterable[_Union[ParameterChange, _Mapping]]] = ..., checks: _Optional[_Iterable[_Union[CheckChange, _Mapping]]] = ..., artifacts_changed: _Optional[_Iterable[str]] = ..., lineage: _Optional[_Iterable[_Union[LineageChange, _Mapping]]] = ...) -> None: ...

class ResolveLockRequest(_message.Message):
    __slots__ = ("specs", "base_url", "url_expires_s")
    SPECS_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    URL_EXPIRES_S_FIELD_NUMBER: _ClassVar[int]
    specs: _containers.RepeatedScalarFieldContainer[str]
    base_url: str
    url_expires_s: int
    def __init__(self, specs: _Optional[_Iterable[str]] = ..., base_url: _Optional[str] = ..., url_expires_s: _Optional[int] = ...) -> None: ...

class LockEntry(_message.Message):
    __slots__ = ("asset", "version", "sha256", "size", "lod", "url", "integrity", "spec")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    LOD_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    INTEGRITY_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    asset: str
    version: int
    sha256: str
    size: int
    lod: int
    url: str
    integrity: str
    spec: str
    def __init__(self, asset: _Optional[str] = ..., version: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., lod: _Optional[int] = ..., url: _Optional[str] = ..., integrity: _Optional[str] = ..., spec: _Optional[str] = ...) -> None: ...

class ResolveLockResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LockEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[LockEntry, _Mapping]]] = ...) -> None: ...

class ExportVersionRequest(_message.Message):
    __slots__ = ("asset", "ref", "format", "lod", "scale", "height_mm", "max_mm", "fit", "bed", "margin_mm", "orient")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LOD_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    MAX_MM_FIELD_NUMBER: _ClassVar[int]
    FIT_FIELD_NUMBER: _ClassVar[int]
    BED_FIELD_NUMBER: _ClassVar[int]
    MARGIN_MM_FIELD_NUMBER: _ClassVar[int]
    ORIENT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    ref: str
    format: str
    lod: int
    scale: float
    height_mm: float
    max_mm: float
    fit: str
    bed: str
    margin_mm: float
    orient: str
    def __init__(self, asset: _Optional[str] = ..., ref: _Optional[str] = ..., format: _Optional[str] = ..., lod: _Optional[int] = ..., scale: _Optional[float] = ..., height_mm: _Optional[float] = ..., max_mm: _Optional[float] = ..., fit: _Optional[str] = ..., bed: _Optional[str] = ..., margin_mm: _Optional[float] = ..., orient: _Optional[str] = ...) -> None: ...

class ExportVersionResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: PullHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[PullHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("asset", "limit")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    limit: int
    def __init__(self, asset: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("id", "at", "actor", "action", "asset", "version", "channel", "detail_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    id: int
    at: _timestamp_pb2.Timestamp
    actor: str
    action: str
    asset: str
    version: int
    channel: str
    detail_json: str
    def __init__(self, id: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., asset: _Optional[str] = ..., version: _Optional[int] = ..., channel: _Optional[str] = ..., detail_json: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ...) -> None: ...
