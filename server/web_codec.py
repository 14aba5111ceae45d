"""The wire side of the HTTP API (server/web_api.py): gRPC-Web and Connect framing, proto3 JSON and protobuf
codecs, deadlines from headers, and the status an answer carries (RpcError). No aiohttp, no servicers."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections import Counter
from dataclasses import dataclass

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from meshsmith.limits import ascii_digits

Code = grpc.StatusCode
GRPC_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
END_STREAM = 0x02
TRAILER = 0x80


class RpcError(Exception):
    """A status to answer with (an abort, a bad payload, a protocol error)."""

    def __init__(self, code: grpc.StatusCode, message: str, trailers: tuple = ()):
        super().__init__(message)
        self.code, self.message, self.trailers = code, message, tuple(trailers)


def parse_timeout(headers) -> float | None:
    """Seconds from `grpc-timeout: 250m` or `connect-timeout-ms: 250`; None without a deadline."""
    raw = headers.get("grpc-timeout")
    if raw:
        value, unit = raw[:-1], raw[-1:]
        if unit not in GRPC_TIMEOUT_UNITS or not ascii_digits(value, 8):
            raise RpcError(Code.INVALID_ARGUMENT, f"grpc-timeout {raw!r} is malformed; e.g. '250m', '10S' (at most 8 digits)")
        return int(value) * GRPC_TIMEOUT_UNITS[unit]
    raw = headers.get("connect-timeout-ms")
    if raw:
        if not ascii_digits(raw, 10):
            raise RpcError(Code.INVALID_ARGUMENT, f"connect-timeout-ms {raw!r} is malformed; give milliseconds, e.g. 250")
        return int(raw) / 1000
    return None


# proto3 JSON lets numbers travel as strings; protobuf's parser reads them with int()/float(), which also take
# Unicode digits ('١٢') and '1_000'. Only these ASCII spellings are numbers here.
JSON_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|-?Infinity|NaN", re.ASCII)
NUMERIC = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_INT64,
                     FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_FIXED64,
                     FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SFIXED32,
                     FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64})


def check_json_numbers(value, descriptor, path: str = "") -> None:
    """INVALID_ARGUMENT for a numeric field sent as a string that is not an ASCII number (walks nested messages)."""
    if not isinstance(value, dict) or descriptor.full_name.startswith("google.protobuf."):
        return
    for key, item in value.items():
        fd = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if fd is None:
            continue  # json_format names unknown fields itself
        items = item if isinstance(item, list) else [item]
        if fd.message_type is not None:
            for sub in items:
                check_json_numbers(sub, fd.message_type, f"{path}{key}.")
        elif fd.type in NUMERIC:
            for sub in items:
                if isinstance(sub, str) and not JSON_NUMBER.fullmatch(sub):
                    raise RpcError(Code.INVALID_ARGUMENT, f"{path}{key} must be a number in ASCII digits, got {sub[:40]!r}")


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        twice = [k for k, n in Counter(k for k, _ in pairs).items() if n > 1]
        raise RpcError(Code.INVALID_ARGUMENT, f"the request names a field more than once: {twice[:5]}")
    return out


def decode(message_class: type[Message], data: bytes, json_codec: bool) -> Message:
    """A request message from protobuf bytes or proto3 JSON; INVALID_ARGUMENT with the parser's reason."""
    name = message_class.DESCRIPTOR.full_name
    try:
        if json_codec:
            value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates) if data else {}
            check_json_numbers(value, message_class.DESCRIPTOR)
            return json_format.ParseDict(value, message_class())
        return message_class.FromString(data)
    except UnicodeDecodeError as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the JSON request body for {name} is not UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the request is not valid JSON for {name}: Failed to load JSON: {e}") from None
    except json_format.ParseError as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the request is not valid JSON for {name}: {e}") from None
    except DecodeError as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the request is not a valid protobuf {name} message: {e}") from None
    except (ValueError, TypeError, RecursionError) as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the request could not be read as {name}: {e}") from None


def encode(msg: Message, json_codec: bool) -> bytes:
    return json_format.MessageToJson(msg, indent=None).encode() if json_codec else msg.SerializeToString()


def frame(flags: int, payload: bytes) -> bytes:
    return struct.pack(">BI", flags, len(payload)) + payload


def unframe(body: bytes, what: str) -> list[bytes]:
    """The messages of an enveloped body (5-byte header: flags, big-endian length); compressed ones refused."""
    out, i = [], 0
    while i < len(body):
        if len(body) - i < 5:
            raise RpcError(Code.INVALID_ARGUMENT, f"{what} body ends inside a frame header ({len(body) - i} of 5 bytes)")
        flags, size = struct.unpack_from(">BI", body, i)
        if flags & 0x01:
            raise RpcError(Code.UNIMPLEMENTED, f"{what}: compressed messages are not supported; send them uncompressed")
        if len(body) - i - 5 < size:
            raise RpcError(Code.INVALID_ARGUMENT, f"{what} frame says {size} bytes but only {len(body) - i - 5} follow")
        out.append(body[i + 5:i + 5 + size])
        i += 5 + size
    return out


def b64decode_chunks(text: bytes) -> bytes:
    """grpc-web-text bodies may be several padded base64 chunks back to back."""
    text = b"".join(text.split())
    try:
        if b"=" not in text.rstrip(b"="):
            return base64.b64decode(text, validate=True)
        out, start = [], 0
        for i in range(0, len(text), 4):
            if b"=" in text[i:i + 4]:
                out.append(base64.b64decode(text[start:i + 4], validate=True))
                start = i + 4
        out.append(base64.b64decode(text[start:], validate=True))
        return b"".join(out)
    except ValueError as e:
        raise RpcError(Code.INVALID_ARGUMENT, f"the grpc-web-text body is not base64: {e}") from None


def grpc_message(text: str) -> str:
    """Percent-encoding of grpc-message (gRPC HTTP/2 spec): printable ASCII except '%' as is."""
    return "".join(c if " " <= c <= "~" and c != "%" else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def grpc_trailer(err: RpcError | None) -> bytes:
    lines = [f"grpc-status:{err.code.value[0] if err else 0}"]
    if err and err.message:
        lines.append(f"grpc-message:{grpc_message(err.message)}")
    for key, value in (err.trailers if err else ()):
        lines.append(f"{key}:{value}")
    return ("\r\n".join(lines) + "\r\n").encode()


def connect_error(err: RpcError) -> dict:
    return {"code": err.code.name.lower(), "message": err.message}


@dataclass(frozen=True)
class Protocol:
    """What a Content-Type asks for."""

    name: str  # "grpc-web", "connect-unary", "connect-stream"
    json: bool
    text: bool = False


def protocol_of(content_type: str) -> Protocol | None:
    ct = content_type.split(";")[0].strip().lower()
    table = {
        "application/grpc-web": Protocol("grpc-web", False), "application/grpc-web+proto": Protocol("grpc-web", False),
        "application/grpc-web+json": Protocol("grpc-web", True),
        "application/grpc-web-text": Protocol("grpc-web", False, True),
        "application/grpc-web-text+proto": Protocol("grpc-web", False, True),
        "application/json": Protocol("connect-unary", True), "application/proto": Protocol("connect-unary", False),
        "application/connect+json": Protocol("connect-stream", True),
        "application/connect+proto": Protocol("connect-stream", False),
    }
    return table.get(ct)
