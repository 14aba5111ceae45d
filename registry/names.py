"""Validation of asset names, channel names, refs and lockfile specs."""

from __future__ import annotations

import re

from meshsmith.errors import InvalidInput
from meshsmith.limits import check_version, quote

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9._-]*")
_CHANNEL = re.compile(r"[a-z][a-z0-9._-]{0,62}")
_PREFIX = re.compile(r"[a-z0-9._/-]*")
_SPEC = re.compile(r"(?P<name>[^@#]+)(?:@(?P<ref>[^@#]+))?(?:#lod(?P<lod>[0-9]{1,2}))?")
MAX_NAME = 200
MAX_SEGMENTS = 8
NAME_RULE = (
    "asset names are 1..8 '/'-separated segments of lowercase [a-z0-9._-] "
    "starting with a letter or digit, at most 200 characters, e.g. 'props/chair'"
)


def check_asset_name(name: str) -> str:
    """Return `name` if it is a valid asset name, else raise InvalidInput saying the rule."""
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"asset name is empty; {NAME_RULE}")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"asset name is {len(name)} characters long; {NAME_RULE}")
    segments = name.split("/")
    if len(segments) > MAX_SEGMENTS:
        raise InvalidInput(f"asset name {quote(name)} has {len(segments)} segments; {NAME_RULE}")
    for seg in segments:
        if seg == ".." or ".." in seg or not _SEGMENT.fullmatch(seg):
            raise InvalidInput(f"asset name {quote(name)} has a bad segment {quote(seg)}; {NAME_RULE}")
    return name


def check_channel_name(channel: str) -> str:
    """Channel names: lowercase, start with a letter, not a number (numbers are versions)."""
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise InvalidInput(
            f"bad channel name {quote(channel)}: use 1..63 lowercase [a-z0-9._-] starting with a letter, "
            "e.g. 'stable' or 'qa'"
        )
    return channel


def check_prefix(prefix: str) -> str:
    """A name prefix for search: the characters of asset names only."""
    if not isinstance(prefix, str) or len(prefix) > MAX_NAME or not _PREFIX.fullmatch(prefix):
        raise InvalidInput(f"bad search prefix {quote(prefix)}: use lowercase [a-z0-9._/-], at most 200 characters")
    return prefix


def parse_ref(ref: str | int | None) -> int | str:
    """'3' or 3 -> 3; '' / None -> 'latest'; a channel name -> that name.

    A version number is ASCII digits (not '²' or '١') within 1..2^31-1, else InvalidInput."""
    if ref is None or ref == "":
        return "latest"
    if isinstance(ref, int) or (isinstance(ref, str) and ref[:1].isdigit()):  # '²' and '١' are digits too
        return check_version(ref)
    return check_channel_name(ref)


def parse_spec(spec: str) -> tuple[str, int | str, int]:
    """'props/chair@stable#lod1' -> ('props/chair', 'stable', 1); ref defaults to 'latest', lod to 0."""
    m = _SPEC.fullmatch(spec.strip()) if isinstance(spec, str) else None
    if not m:
        raise InvalidInput(f"bad asset spec {quote(spec)}: use name, name@N or name@channel, optionally followed by #lodK (K = 0..99)")
    lod = int(m["lod"]) if m["lod"] is not None else 0
    return check_asset_name(m["name"]), parse_ref(m["ref"]), lod


_TAG = re.compile(r"[a-z0-9][a-z0-9._:-]{0,63}")
LEVELS = {0: "unspecified", 1: "pass", 2: "warn", 3: "fail"}


def check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise InvalidInput(f"bad tag {quote(tag)}: use 1..64 lowercase [a-z0-9._:-] starting with a letter or digit")
    return tag


def verdict_name(value: str | int | None) -> str:
    """CheckLevel as 'pass'|'warn'|'fail'|'unspecified' from 1, 'PASS' or 'CHECK_LEVEL_PASS'."""
    if isinstance(value, int):
        if value not in LEVELS:
            raise InvalidInput(f"unknown check level {value}; use 1 (pass), 2 (warn) or 3 (fail)")
        return LEVELS[value]
    name = str(value or "unspecified").lower().removeprefix("check_level_")
    if name not in LEVELS.values():
        raise InvalidInput(f"unknown verdict {quote(value)}; use pass, warn or fail")
    return name
