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
