"""meshsmith.limits: ranges, text caps, list caps, version numbers, and that every request field is covered."""

from __future__ import annotations

import math

import pytest
from google.protobuf import timestamp_pb2

from meshsmith import limits
from meshsmith.errors import InvalidInput
from meshsmith.v1 import admin_pb2, assets_pb2, ingest_pb2, jobs_pb2
from meshsmith.v1 import types_pb2 as pb

SERVICE_FILES = (admin_pb2, assets_pb2, ingest_pb2, jobs_pb2)


@pytest.mark.parametrize("value", [1e-12, 5e-324, 1e-300, 9.99e-5, 0.0, -1.0, 10000.1, 1e300, math.nan, math.inf, -math.inf,
                                   True, "1", None])
def test_sizes_out_of_range_are_refused_naming_the_range(value):
    with pytest.raises(InvalidInput, match=r"target_height_m must be a number from 0.0001 to 10000 m"):
        limits.check("target_height_m", value)


@pytest.mark.parametrize("value", [1e-4, 0.0123, 1, 1e4])
def test_sizes_in_range_pass_unchanged(value):
    assert limits.check("target_height_m", value) == value


def test_integers_must_be_whole_and_say_their_bounds_plainly():
    assert limits.check("target_faces", 4.0) == 4 and isinstance(limits.check("target_faces", 4.0), int)
    with pytest.raises(InvalidInput, match="whole number from 4 to 2000000 triangles, got 4.5"):
        limits.check("target_faces", 4.5)
    with pytest.raises(InvalidInput, match="from 0 to 2147483647"):
        limits.check("before_number", 2**32 - 1)
    with pytest.raises(InvalidInput):
        limits.check("seed", 2**64 - 1)  # beyond what a JSON number records exactly
    assert limits.check("seed", 2**53 - 1) == 2**53 - 1


def test_every_size_limit_stays_far_above_the_collapse_point():
    """reconstruct.place snaps |coordinates| < 1e-12 m to 0: anything near that collapses to zero area."""
    for name in ("target_height_m", "target_width_m", "depth_m"):
        assert limits.LIMITS[name].lo >= 1e-4 and limits.LIMITS[name].hi <= 1e4


@pytest.mark.parametrize("value", ["a\x00b", "\x07", "a\x1b[2J", "a\x7f", "a\x85", "tab\there", "line\nbreak"])
def test_control_characters_are_refused(value):
    with pytest.raises(InvalidInput, match="control character"):
        limits.check_text("author", value)


def test_text_caps_and_multiline_fields():
    assert limits.check_text("author", "a" * 200) == "a" * 200
    with pytest.raises(InvalidInput, match="201 characters long; the limit is 200"):
        limits.check_text("author", "a" * 201)
    assert limits.check_text("description", "one\n\ttwo\r\n") == "one\n\ttwo\r\n"
    with pytest.raises(InvalidInput, match="control character"):
        limits.check_text("description", "a\x00b")
    with pytest.raises(InvalidInput, match="the limit is 256"):  # a field not in the table gets the default cap
        limits.check_text("some_future_field", "x" * 257)
    with pytest.raises(InvalidInput, match="must be text"):
        limits.check_text("author", b"bytes")


def test_counts():
    assert limits.check_count("lod_ratios", (1, 0.5)) == [1, 0.5]
    with pytest.raises(InvalidInput, match="lod_ratios has 9 items; the limit is 8"):
        limits.check_count("lod_ratios", [0.5] * 9)
    with pytest.raises(InvalidInput, match="tags has 17 items; the limit is 16"):
        limits.check_count("SearchAssetsRequest.tags", ["t"] * 17)


@pytest.mark.parametrize("ref", ["²", "١", "٣", "1.5", "-1", " 1", "0x1", "99999999999999999999", "2147483648", "0", 0, -3,
                                 True, 2**31, "9" * 5000])
def test_version_numbers_are_ascii_digits_within_int32(ref):
    with pytest.raises(InvalidInput, match="version number"):
        limits.check_version(ref)


def test_version_numbers_in_range():
    assert limits.check_version("1") == 1 and limits.check_version("007") == 7
    assert limits.check_version(2**31 - 1) == limits.check_version("2147483647") == 2**31 - 1


def test_quote_and_cap_message_bound_what_is_echoed():
    assert limits.quote("abc") == "'abc'"
    q = limits.quote("z" * 10_000)
    assert len(q) < 120 and "10002 characters" in q
    assert limits.cap_message("short") == "short"
    capped = limits.cap_message("m" * 100_000)
    assert len(capped) < limits.MAX_MESSAGE_CHARS + 60 and "100000" in capped


def test_check_message_walks_nested_and_repeated_fields():
    limits.check_message(ingest_pb2.GenerateRequest(asset="a/b", params=pb.GenerateParams(target_height_m=2.0, lod_ratios=[1, 0.5])))
    bad = [
        (ingest_pb2.GenerateRequest(params=pb.GenerateParams(target_height_m=1e-12)), r"params\.target_height_m must be"),
        (ingest_pb2.GenerateRequest(params=pb.GenerateParams(lod_ratios=[0.5, 2.0])), r"params\.lod_ratios\[1\] must be"),
        (ingest_pb2.GenerateRequest(params=pb.GenerateParams(lod_ratios=[0.5] * 100_000)), "100000 items; the limit is 8"),
        (ingest_pb2.GenerateRequest(params=pb.GenerateParams(mode=99)), "mode 99 is not a known value"),
        (ingest_pb2.GenerateRequest(params=pb.GenerateParams(target_faces=0)), "target_faces must be"),  # set to 0: checked
        (ingest_pb2.BatchGenerateRequest(items=[ingest_pb2.BatchItem(request_id="a\x00")]), r"items\[0\]\.request_id contains"),
        (ingest_pb2.UploadRequest(header=ingest_pb2.UploadHeader(filename="x" * 300)), "header.filename is 300"),
        (assets_pb2.ListVersionsRequest(since=timestamp_pb2.Timestamp(seconds=2**62)), "since is not a valid time"),
        (assets_pb2.SearchAssetsRequest(tags=["t"] * 17), "the limit is 16"),
        (admin_pb2.SetAssetInfoRequest(tags=["t"] * 65), "the limit is 64"),
        (jobs_pb2.WatchJobRequest(from_sequence=2**31), "from_sequence must be"),
    ]
    for msg, pattern in bad:
        with pytest.raises(InvalidInput, match=pattern):
            limits.check_message(msg)
    limits.check_message(admin_pb2.SetAssetInfoRequest(tags=["t"] * 64))  # per-message caps: 64 here, 16 in search
    limits.check_message(ingest_pb2.ImportRequest(target_faces=0))  # implicit 0 = "keep the mesh's faces"


def _request_fields(descriptor, seen=None):
    seen = set() if seen is None else seen
    if descriptor.full_name in seen or descriptor.full_name.startswith("google.protobuf"):
        return
    seen.add(descriptor.full_name)
    for fd in descriptor.fields:
        yield descriptor, fd
        if fd.type == fd.TYPE_MESSAGE:
            yield from _request_fields(fd.message_type, seen)


def test_every_request_field_has_a_deliberate_limit():
    """A new string, number or list in any request must get an entry in the tables (not only the defaults)."""
    missing = []
    for module in SERVICE_FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                for msg, fd in _request_fields(method.input_type):
                    qualified = f"{msg.name}.{fd.name}"
                    if fd.is_repeated and qualified not in limits.COUNTS and fd.name not in limits.COUNTS:
                        missing.append(f"{qualified} (count)")
                    if fd.type == fd.TYPE_STRING and qualified not in limits.TEXTS and fd.name not in limits.TEXTS:
                        missing.append(f"{qualified} (text)")
                    numeric = fd.type not in (fd.TYPE_STRING, fd.TYPE_BYTES, fd.TYPE_BOOL, fd.TYPE_ENUM, fd.TYPE_MESSAGE)
                    if numeric and qualified not in limits.LIMITS and fd.name not in limits.LIMITS:
                        missing.append(f"{qualified} (range)")
    assert not missing, "request fields without a limit in meshsmith/limits.py: " + ", ".join(sorted(set(missing)))
