from google.protobuf import struct_pb2 as _struct_pb2
from meshsmith.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CutoutRequest(_message.Message):
    __slots__ = ("image", "upload_id")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    upload_id: str
    def __init__(self, image: _Optional[bytes] = ..., upload_id: _Optional[str] = ...) -> None: ...

class CutoutResponse(_message.Message):
    __slots__ = ("mask_png", "used", "lineage", "warnings", "width", "height", "object_pixels")
    MASK_PNG_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_PIXELS_FIELD_NUMBER: _ClassVar[int]
    mask_png: bytes
    used: str
    lineage: _struct_pb2.Struct
    warnings: _containers.RepeatedScalarFieldContainer[str]
    width: int
    height: int
    object_pixels: int
    def __init__(self, mask_png: _Optional[bytes] = ..., used: _Optional[str] = ..., lineage: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., object_pixels: _Optional[int] = ...) -> None: ...

class ListBackendsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBackendsResponse(_message.Message):
    __slots__ = ("backends",)
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    backends: _containers.RepeatedCompositeFieldContainer[BackendInfo]
    def __init__(self, backends: _Optional[_Iterable[_Union[BackendInfo, _Mapping]]] = ...) -> None: ...

class BackendInfo(_message.Message):
    __slots__ = ("name", "produces", "available", "reason", "model_id", "revision", "weights_sha256", "device", "loads")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SHA256_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    LOADS_FIELD_NUMBER: _ClassVar[int]
    name: str
    produces: str
    available: bool
    reason: str
    model_id: str
    revision: str
    weights_sha256: str
    device: str
    loads: str
    def __init__(self, name: _Optional[str] = ..., produces: _Optional[str] = ..., available: _Optional[bool] = ..., reason: _Optional[str] = ..., model_id: _Optional[str] = ..., revision: _Optional[str] = ..., weights_sha256: _Optional[str] = ..., device: _Optional[str] = ..., loads: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("asset", "image", "params", "author", "request_id", "upload_id", "views", "depth")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    asset: str
    image: bytes
    params: _types_pb2.GenerateParams
    author: str
    request_id: str
    upload_id: str
    views: _containers.RepeatedCompositeFieldContainer[ViewImage]
    depth: DepthMap
    def __init__(self, asset: _Optional[str] = ..., image: _Optional[bytes] = ..., params: _Optional[_Union[_types_pb2.GenerateParams, _Mapping]] = ..., author: _Optional[str] = ..., request_id: _Optional[str] = ..., upload_id: _Optional[str] = ..., views: _Optional[_Iterable[_Union[ViewImage, _Mapping]]] = ..., depth: _Optional[_Union[DepthMap, _Mapping]] = ...) -> None: ...

class ViewImage(_message.Message):
    __slots__ = ("label", "image", "upload_id")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    label: str
    image: bytes
    upload_id: str
    def __init__(self, label: _Optional[str] = ..., image: _Optional[bytes] = ..., upload_id: _Optional[str] = ...) -> None: ...

class DepthMap(_message.Message):
    __slots__ = ("data", "upload_id", "units")
    DATA_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    upload_id: str
    units: str
    def __init__(self, data: _Optional[bytes] = ..., upload_id: _Optional[str] = ..., units: _Optional[str] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.JobEvent
    def __init__(self, event: _Optional[_Union[_types_pb2.JobEvent, _Mapping]] = ...) -> None: ...

class ValidateRequest(_message.Message):
    __slots__ = ("mesh", "filename", "profiles", "upload_id", "repair", "units", "up", "printable", "solidify_mm")
    MESH_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    PRINTABLE_FIELD_NUMBER: _ClassVar[int]
    SOLIDIFY_MM_FIELD_NUMBER: _ClassVar[int]
    mesh: bytes
    filename: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    upload_id: str
    repair: bool
    units: str
    up: str
    printable: bool
    solidify_mm: float
    def __init__(self, mesh: _Optional[bytes] = ..., filename: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ..., upload_id: _Optional[str] = ..., repair: _Optional[bool] = ..., units: _Optional[str] = ..., up: _Optional[str] = ..., printable: _Optional[bool] = ..., solidify_mm: _Optional[float] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("reports", "stats", "repair", "frame")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ValidationReport]
    stats: _types_pb2.MeshStats
    repair: _types_pb2.RepairLog
    frame: ReadFrame
    def __init__(self, reports: _Optional[_Iterable[_Union[_types_pb2.ValidationReport, _Mapping]]] = ..., stats: _Optional[_Union[_types_pb2.MeshStats, _Mapping]] = ..., repair: _Optional[_Union[_types_pb2.RepairLog, _Mapping]] = ..., frame: _Optional[_Union[ReadFrame, _Mapping]] = ...) -> None: ...

class ReadFrame(_message.Message):
    __slots__ = ("units", "up", "source", "description")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    units: str
    up: str
    source: str
    description: str
    def __init__(self, units: _Optional[str] = ..., up: _Optional[str] = ..., source: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ImportRequest(_message.Message):
    __slots__ = ("asset", "mesh", "filename", "upload_id", "target_faces", "lod_ratios", "profiles", "author", "request_id", "watertight", "unit_scale", "units", "up", "keep_origin", "printable", "solidify_mm")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    MESH_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FACES_FIELD_NUMBER: _ClassVar[int]
    LOD_RATIOS_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WATERTIGHT_FIELD_NUMBER: _ClassVar[int]
    UNIT_SCALE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    KEEP_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    PRINTABLE_FIELD_NUMBER: _ClassVar[int]
    SOLIDIFY_MM_FIELD_NUMBER: _ClassVar[int]
    asset: str
    mesh: bytes
    filename: str
    upload_id: str
    target_faces: int
    lod_ratios: _containers.RepeatedScalarFieldContainer[float]
    profiles: _containers.RepeatedScalarFieldContainer[str]
    author: str
    request_id: str
    watertight: bool
    unit_scale: float
    units: str
    up: str
    keep_origin: bool
    printable: bool
    solidify_mm: float
    def __init__(self, asset: _Optional[str] = ..., mesh: _Optional[bytes] = ..., filename: _Optional[str] = ..., upload_id: _Optional[str] = ..., target_faces: _Optional[int] = ..., lod_ratios: _Optional[_Iterable[float]] = ..., profiles: _Optional[_Iterable[str]] = ..., author: _Optional[str] = ..., request_id: _Optional[str] = ..., watertight: _Optional[bool] = ..., unit_scale: _Optional[float] = ..., units: _Optional[str] = ..., up: _Optional[str] = ..., keep_origin: _Optional[bool] = ..., printable: _Optional[bool] = ..., solidify_mm: _Optional[float] = ...) -> None: ...

class ImportResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.JobEvent
    def __init__(self, event: _Optional[_Union[_types_pb2.JobEvent, _Mapping]] = ...) -> None: ...

class UploadRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("filename", "size", "sha256")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    filename: str
    size: int
    sha256: str
    def __init__(self, filename: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class UploadResponse(_message.Message):
    __slots__ = ("upload_id", "size", "sha256")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    size: int
    sha256: str
    def __init__(self, upload_id: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("asset", "upload_id", "image", "request_id")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    asset: str
    upload_id: str
    image: bytes
    request_id: str
    def __init__(self, asset: _Optional[str] = ..., upload_id: _Optional[str] = ..., image: _Optional[bytes] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchGenerateRequest(_message.Message):
    __slots__ = ("items", "params", "concurrency", "author")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    params: _types_pb2.GenerateParams
    concurrency: int
    author: str
    def __init__(self, items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ..., params: _Optional[_Union[_types_pb2.GenerateParams, _Mapping]] = ..., concurrency: _Optional[int] = ..., author: _Optional[str] = ...) -> None: ...

class BatchItemResult(_message.Message):
    __slots__ = ("index", "asset", "ok", "version", "reused", "error", "job_id")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REUSED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    index: int
    asset: str
    ok: bool
    version: int
    reused: bool
    error: _types_pb2.Error
    job_id: str
    def __init__(self, index: _Optional[int] = ..., asset: _Optional[str] = ..., ok: _Optional[bool] = ..., version: _Optional[int] = ..., reused: _Optional[bool] = ..., error: _Optional[_Union[_types_pb2.Error, _Mapping]] = ..., job_id: _Optional[str] = ...) -> None: ...

class BatchSummary(_message.Message):
    __slots__ = ("total", "ok", "failed", "reused")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    REUSED_FIELD_NUMBER: _ClassVar[int]
    total: int
    ok: int
    failed: int
    reused: int
    def __init__(self, total: _Optional[int] = ..., ok: _Optional[int] = ..., failed: _Optional[int] = ..., reused: _Optional[int] = ...) -> None: ...

class BatchGenerateResponse(_message.Message):
    __slots__ = ("item", "summary")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    item: BatchItemResult
    summary: BatchSummary
    def __init__(self, item: _Optional[_Union[BatchItemResult, _Mapping]] = ..., summary: _Optional[_Union[BatchSummary, _Mapping]] = ...) -> None: ...
