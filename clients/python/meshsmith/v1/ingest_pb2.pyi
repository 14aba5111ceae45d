from meshsmith.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenerateRequest(_message.Message):
    __slots__ = ("asset", "image", "params", "author", "request_id")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    asset: str
    image: bytes
    params: _types_pb2.GenerateParams
    author: str
    request_id: str
    def __init__(self, asset: _Optional[str] = ..., image: _Optional[bytes] = ..., params: _Optional[_Union[_types_pb2.GenerateParams, _Mapping]] = ..., author: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _types_pb2.JobEvent
    def __init__(self, event: _Optional[_Union[_types_pb2.JobEvent, _Mapping]] = ...) -> None: ...

class ValidateRequest(_message.Message):
    __slots__ = ("mesh", "filename", "profiles")
    MESH_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    mesh: bytes
    filename: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mesh: _Optional[bytes] = ..., filename: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("reports", "stats")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[_types_pb2.ValidationReport]
    stats: _types_pb2.MeshStats
    def __init__(self, reports: _Optional[_Iterable[_Union[_types_pb2.ValidationReport, _Mapping]]] = ..., stats: _Optional[_Union[_types_pb2.MeshStats, _Mapping]] = ...) -> None: ...
