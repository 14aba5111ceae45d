"""Tiny ONNX models for tests, written without the onnx package (not installed): protobuf by hand."""

from __future__ import annotations


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, value) -> bytes:
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str, shape) -> bytes:
    dims = b"".join(_field(1, _field(1, d)) for d in shape)
    tensor = _field(1, 1) + _field(2, dims)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor))


def identity_onnx(in_shape, out_shape=None) -> bytes:
    """A one-node ONNX model (Identity, float) with the given input/output shapes, written without the onnx package."""
    node = _field(1, "x") + _field(2, "y") + _field(4, "Identity")
    graph = _field(1, node) + _field(2, "g") + _field(11, _value_info("x", in_shape)) \
        + _field(12, _value_info("y", out_shape or in_shape))
    return _field(1, 8) + _field(7, graph) + _field(8, _field(2, 13))
