import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReconstructMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECONSTRUCT_MODE_UNSPECIFIED: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_AUTO: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_INFLATE: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_REVOLVE: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_EXTRUDE: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_RELIEF: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_VOXEL: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_MULTIVIEW: _ClassVar[ReconstructMode]
    RECONSTRUCT_MODE_RGBD: _ClassVar[ReconstructMode]

class CheckLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_LEVEL_UNSPECIFIED: _ClassVar[CheckLevel]
    CHECK_LEVEL_PASS: _ClassVar[CheckLevel]
    CHECK_LEVEL_WARN: _ClassVar[CheckLevel]
    CHECK_LEVEL_FAIL: _ClassVar[CheckLevel]
RECONSTRUCT_MODE_UNSPECIFIED: ReconstructMode
RECONSTRUCT_MODE_AUTO: ReconstructMode
RECONSTRUCT_MODE_INFLATE: ReconstructMode
RECONSTRUCT_MODE_REVOLVE: ReconstructMode
RECONSTRUCT_MODE_EXTRUDE: ReconstructMode
RECONSTRUCT_MODE_RELIEF: ReconstructMode
RECONSTRUCT_MODE_VOXEL: ReconstructMode
RECONSTRUCT_MODE_MULTIVIEW: ReconstructMode
RECONSTRUCT_MODE_RGBD: ReconstructMode
CHECK_LEVEL_UNSPECIFIED: CheckLevel
CHECK_LEVEL_PASS: CheckLevel
CHECK_LEVEL_WARN: CheckLevel
CHECK_LEVEL_FAIL: CheckLevel

class GenerateParams(_message.Message):
    __slots__ = ("mode", "target_faces", "target_height_m", "target_width_m", "depth_m", "texture_size", "seed", "no_symmetry", "profiles", "lod_ratios", "fov_deg", "relief", "backend", "symmetric")
    MODE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FACES_FIELD_NUMBER: _ClassVar[int]
    TARGET_HEIGHT_M_FIELD_NUMBER: _ClassVar[int]
    TARGET_WIDTH_M_FIELD_NUMBER: _ClassVar[int]
    DEPTH_M_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    NO_SYMMETRY_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    LOD_RATIOS_FIELD_NUMBER: _ClassVar[int]
    FOV_DEG_FIELD_NUMBER: _ClassVar[int]
    RELIEF_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    SYMMETRIC_FIELD_NUMBER: _ClassVar[int]
    mode: ReconstructMode
    target_faces: int
    target_height_m: float
    target_width_m: float
    depth_m: float
    texture_size: int
    seed: int
    no_symmetry: bool
    profiles: _containers.RepeatedScalarFieldContainer[str]
    lod_ratios: _containers.RepeatedScalarFieldContainer[float]
    fov_deg: float
    relief: ReliefOptions
    backend: str
    symmetric: bool
    def __init__(self, mode: _Optional[_Union[ReconstructMode, str]] = ..., target_faces: _Optional[int] = ..., target_height_m: _Optional[float] = ..., target_width_m: _Optional[float] = ..., depth_m: _Optional[float] = ..., texture_size: _Optional[int] = ..., seed: _Optional[int] = ..., no_symmetry: _Optional[bool] = ..., profiles: _Optional[_Iterable[str]] = ..., lod_ratios: _Optional[_Iterable[float]] = ..., fov_deg: _Optional[float] = ..., relief: _Optional[_Union[ReliefOptions, _Mapping]] = ..., backend: _Optional[str] = ..., symmetric: _Optional[bool] = ...) -> None: ...

class ReliefOptions(_message.Message):
    __slots__ = ("width_mm", "min_mm", "max_mm", "frame_mm", "invert")
    WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    MIN_MM_FIELD_NUMBER: _ClassVar[int]
    MAX_MM_FIELD_NUMBER: _ClassVar[int]
    FRAME_MM_FIELD_NUMBER: _ClassVar[int]
    INVERT_FIELD_NUMBER: _ClassVar[int]
    width_mm: float
    min_mm: float
    max_mm: float
    frame_mm: float
    invert: bool
    def __init__(self, width_mm: _Optional[float] = ..., min_mm: _Optional[float] = ..., max_mm: _Optional[float] = ..., frame_mm: _Optional[float] = ..., invert: _Optional[bool] = ...) -> None: ...

class Vec3(_message.Message):
    __slots__ = ("x", "y", "z")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ...) -> None: ...

class MeshStats(_message.Message):
    __slots__ = ("faces", "vertices", "watertight", "two_manifold", "winding_consistent", "volume_m3", "bodies", "bbox_min", "bbox_max", "area_m2", "texture_size")
    FACES_FIELD_NUMBER: _ClassVar[int]
    VERTICES_FIELD_NUMBER: _ClassVar[int]
    WATERTIGHT_FIELD_NUMBER: _ClassVar[int]
    TWO_MANIFOLD_FIELD_NUMBER: _ClassVar[int]
    WINDING_CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_M3_FIELD_NUMBER: _ClassVar[int]
    BODIES_FIELD_NUMBER: _ClassVar[int]
    BBOX_MIN_FIELD_NUMBER: _ClassVar[int]
    BBOX_MAX_FIELD_NUMBER: _ClassVar[int]
    AREA_M2_FIELD_NUMBER: _ClassVar[int]
    TEXTURE_SIZE_FIELD_NUMBER: _ClassVar[int]
    faces: int
    vertices: int
    watertight: bool
    two_manifold: bool
    winding_consistent: bool
    volume_m3: float
    bodies: int
    bbox_min: Vec3
    bbox_max: Vec3
    area_m2: float
    texture_size: int
    def __init__(self, faces: _Optional[int] = ..., vertices: _Optional[int] = ..., watertight: _Optional[bool] = ..., two_manifold: _Optional[bool] = ..., winding_consistent: _Optional[bool] = ..., volume_m3: _Optional[float] = ..., bodies: _Optional[int] = ..., bbox_min: _Optional[_Union[Vec3, _Mapping]] = ..., bbox_max: _Optional[_Union[Vec3, _Mapping]] = ..., area_m2: _Optional[float] = ..., texture_size: _Optional[int] = ...) -> None: ...

class Check(_message.Message):
    __slots__ = ("id", "level", "value", "threshold", "unit", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    level: CheckLevel
    value: float
    threshold: float
    unit: str
    message: str
    def __init__(self, id: _Optional[str] = ..., level: _Optional[_Union[CheckLevel, str]] = ..., value: _Optional[float] = ..., threshold: _Optional[float] = ..., unit: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ValidationReport(_message.Message):
    __slots__ = ("profile", "verdict", "checks", "stats")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    profile: str
    verdict: CheckLevel
    checks: _containers.RepeatedCompositeFieldContainer[Check]
    stats: MeshStats
    def __init__(self, profile: _Optional[str] = ..., verdict: _Optional[_Union[CheckLevel, str]] = ..., checks: _Optional[_Iterable[_Union[Check, _Mapping]]] = ..., stats: _Optional[_Union[MeshStats, _Mapping]] = ...) -> None: ...

class RepairLog(_message.Message):
    __slots__ = ("parts_before", "parts_after", "open_edges_before", "open_edges_after", "edges_fixed", "vertices_merged", "faces_removed", "faces_added", "faces_reversed", "holes_closed", "notes")
    PARTS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PARTS_AFTER_FIELD_NUMBER: _ClassVar[int]
    OPEN_EDGES_BEFORE_FIELD_NUMBER: _ClassVar[int]
    OPEN_EDGES_AFTER_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIXED_FIELD_NUMBER: _ClassVar[int]
    VERTICES_MERGED_FIELD_NUMBER: _ClassVar[int]
    FACES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    FACES_ADDED_FIELD_NUMBER: _ClassVar[int]
    FACES_REVERSED_FIELD_NUMBER: _ClassVar[int]
    HOLES_CLOSED_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    parts_before: int
    parts_after: int
    open_edges_before: int
    open_edges_after: int
    edges_fixed: int
    vertices_merged: int
    faces_removed: int
    faces_added: int
    faces_reversed: int
    holes_closed: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, parts_before: _Optional[int] = ..., parts_after: _Optional[int] = ..., open_edges_before: _Optional[int] = ..., open_edges_after: _Optional[int] = ..., edges_fixed: _Optional[int] = ..., vertices_merged: _Optional[int] = ..., faces_removed: _Optional[int] = ..., faces_added: _Optional[int] = ..., faces_reversed: _Optional[int] = ..., holes_closed: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("kind", "lod", "sha256", "size", "media_type")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOD_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    lod: int
    sha256: str
    size: int
    media_type: str
    def __init__(self, kind: _Optional[str] = ..., lod: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., media_type: _Optional[str] = ...) -> None: ...

class Version(_message.Message):
    __slots__ = ("asset", "number", "created_at", "author", "source_sha256", "parameters", "backend", "backend_version", "seed", "mode", "artifacts", "stats", "reports", "repair", "deprecated", "channels", "reused", "job_id", "caption", "caption_tags")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_VERSION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    REUSED_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    CAPTION_TAGS_FIELD_NUMBER: _ClassVar[int]
    asset: str
    number: int
    created_at: _timestamp_pb2.Timestamp
    author: str
    source_sha256: str
    parameters: _struct_pb2.Struct
    backend: str
    backend_version: str
    seed: int
    mode: ReconstructMode
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    stats: MeshStats
    reports: _containers.RepeatedCompositeFieldContainer[ValidationReport]
    repair: RepairLog
    deprecated: bool
    channels: _containers.RepeatedScalarFieldContainer[str]
    reused: bool
    job_id: str
    caption: str
    caption_tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, asset: _Optional[str] = ..., number: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., source_sha256: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., backend: _Optional[str] = ..., backend_version: _Optional[str] = ..., seed: _Optional[int] = ..., mode: _Optional[_Union[ReconstructMode, str]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., stats: _Optional[_Union[MeshStats, _Mapping]] = ..., reports: _Optional[_Iterable[_Union[ValidationReport, _Mapping]]] = ..., repair: _Optional[_Union[RepairLog, _Mapping]] = ..., deprecated: _Optional[bool] = ..., channels: _Optional[_Iterable[str]] = ..., reused: _Optional[bool] = ..., job_id: _Optional[str] = ..., caption: _Optional[str] = ..., caption_tags: _Optional[_Iterable[str]] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("name", "version", "moved_by", "moved_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MOVED_BY_FIELD_NUMBER: _ClassVar[int]
    MOVED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    moved_by: str
    moved_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., moved_by: _Optional[str] = ..., moved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Asset(_message.Message):
    __slots__ = ("name", "description", "tags", "created_at", "version_count", "latest", "channels")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    version_count: int
    latest: Version
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version_count: _Optional[int] = ..., latest: _Optional[_Union[Version, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Preview(_message.Message):
    __slots__ = ("media_type", "data")
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    media_type: str
    data: bytes
    def __init__(self, media_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "stage", "fraction", "elapsed_ms", "message", "version", "error", "preview")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    stage: str
    fraction: float
    elapsed_ms: int
    message: str
    version: Version
    error: Error
    preview: Preview
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., stage: _Optional[str] = ..., fraction: _Optional[float] = ..., elapsed_ms: _Optional[int] = ..., message: _Optional[str] = ..., version: _Optional[_Union[Version, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., preview: _Optional[_Union[Preview, _Mapping]] = ...) -> None: ...
