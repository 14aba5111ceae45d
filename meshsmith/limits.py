"""Every request parameter's limits, in one place, for every side (server, workers, clients).

Three tables: LIMITS (numbers: a closed range), TEXTS (strings: a length cap, no control
characters) and COUNTS (repeated fields: a size cap). Keys are a proto field name, or
"Message.field" where one name means different things in different messages.
`check_message` walks any request message (nested ones too) against them, so a value out of
range is refused with InvalidInput before any work starts; error messages quote user input
only through `quote`, so an oversized value cannot overflow the status metadata.

Why sizes stop at 0.1 mm: reconstruct.place snaps coordinates below 1e-12 m to 0, so an object
under ~3e-12 m collapses to zero area, and PyMeshLab's Hausdorff sampling (LOD error) segfaults
on a zero-area mesh. 1e-4 m keeps eight orders of magnitude from that.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from meshsmith.errors import InvalidInput

QUOTE_CHARS = 80
MAX_MESSAGE_CHARS = 1000  # an error message longer than this is cut (the status travels in metadata)
MAX_VERSION = 2**31 - 1  # versions.number is a 32-bit INTEGER column
MAX_SEQUENCE = 2**31 - 1
TIMESTAMP_SECONDS = (-62135596800, 253402300799)  # 0001-01-01 .. 9999-12-31, what protobuf allows

# The HTTP door (server/http.py, server/http_body.py): what one request or peer may cost. Keys are checked from
# the headers before any body is read; a body then has to arrive whole within HTTP_BODY_TIMEOUT_S and, after the
# first HTTP_BODY_GRACE_S, at HTTP_BODY_MIN_RATE bytes/s on average (64 MiB at the minimum rate: ~68 min, so the
# total deadline is what bounds a big upload: 64 MiB in 120 s is 0.55 MiB/s).
HTTP_BODY_TIMEOUT_S = 120.0
HTTP_BODY_GRACE_S = 5.0
HTTP_BODY_MIN_RATE = 16 * 1024  # bytes/s
HTTP_INFLATE_STEP = 1 << 20  # a gzip/deflate body inflates this many bytes per step, the event loop served between
HTTP_PARSE_OFF_LOOP_BYTES = 64 * 1024  # request messages larger than this are parsed in a worker thread
HTTP_PARSE_THREADS = 2  # at most this many parses at once: the rest wait, off the event loop
HTTP_LINGER_S = 1.0  # after answering a request whose body was not read, drain it this long, then close
HTTP_LISTEN_BACKLOG = 1024  # connections the kernel queues before the server accepts them ...
HTTP_ACCEPT_BATCH = 8  # ... of which it accepts at most this many per turn of the event loop
HTTP_LINGER_MAX_BYTES = 64 * 1024  # ... when it is this small; a larger unread body is not drained: the answer, then close
HTTP_MAX_CONNECTIONS = (1, 1_000_000)  # --http-max-connections: a hard cap, counted at accept
HTTP_MAX_CONNECTIONS_PER_PEER = (1, 1_000_000)  # --http-max-connections-per-peer (one client address)

# The remote backend's downloads (reconstruct/learned/fetch.py): only from --remote-url's host and the
# --remote-download-hosts entries (serve flag, read once in server/settings.py), redirects followed this far.
REMOTE_DOWNLOAD_HOSTS_MAX = 16  # entries of --remote-download-hosts
REMOTE_DOWNLOAD_HOST_CHARS = 261  # one entry: "*." + a DNS name (253) + ":PORT"
REMOTE_MAX_REDIRECTS = 3  # hops, each target checked like the first URL


def quote(value, max_chars: int = QUOTE_CHARS) -> str:
    """repr(value) cut to `max_chars` characters (with the full length said) for error messages."""
    text = repr(value)
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… ({len(text)} characters)"


def cap_message(message: str, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """`message` cut to `max_chars` characters, saying how long it was: the last line of defence."""
    if len(message) <= max_chars:
        return message
    return f"{message[:max_chars]}… (message cut from {len(message)} characters)"


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Limit:
    """A closed range [lo, hi] in `unit`; `integer` values must be whole numbers."""

    lo: float
    hi: float
    unit: str = ""
    integer: bool = False

    def check(self, name: str, value):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and (isinstance(value, int) or math.isfinite(value))
        if ok and self.integer:
            ok = float(value).is_integer() if isinstance(value, float) else True
        if not ok or not self.lo <= value <= self.hi:
            unit = f" {self.unit}" if self.unit else ""
            kind = "a whole number" if self.integer else "a number"
            raise InvalidInput(f"{name} must be {kind} from {_num(self.lo)} to {_num(self.hi)}{unit}, got {quote(value)}")
        return int(value) if self.integer else value


@dataclass(frozen=True)
class Text:
    """At most `max_chars` characters and no control characters (tab and newlines too when `multiline`)."""

    max_chars: int
    multiline: bool = False

    def check(self, name: str, value):
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text, got {quote(value)}")
        if len(value) > self.max_chars:
            raise InvalidInput(f"{name} is {len(value)} characters long; the limit is {self.max_chars}: {quote(value)}")
        allowed = "\t\n\r" if self.multiline else ""
        for i, c in enumerate(value):
            if unicodedata.category(c) == "Cc" and c not in allowed:
                raise InvalidInput(f"{name} contains the control character {c!r} at position {i}; "
                                   f"remove it: {quote(value)}")
        return value


# Numbers. Sizes: sub-millimetre to kilometres.
LIMITS: dict[str, Limit] = {
    "target_height_m": Limit(1e-4, 1e4, "m"),
    "target_width_m": Limit(1e-4, 1e4, "m"),
    "depth_m": Limit(1e-4, 1e4, "m"),
    "target_faces": Limit(4, 2_000_000, "triangles", integer=True),
    "texture_size": Limit(16, 8192, "px", integer=True),
    "fov_deg": Limit(0, 120, "degrees"),  # vertical field of view of the picture; 0 = orthographic
    "seed": Limit(0, 2**53 - 1, integer=True),  # recorded in the version's parameters as a JSON number
    "lod_ratios": Limit(1e-4, 1.0),  # each share of LOD0's triangles
    "unit_scale": Limit(1e-6, 1e6, "metres per file unit"),  # micrometres .. thousands of kilometres
    "page_size": Limit(0, 1000, integer=True),
    "limit": Limit(0, 1000, integer=True),
    "before_number": Limit(0, MAX_VERSION, integer=True),
    "number": Limit(1, MAX_VERSION, integer=True),
    "version": Limit(1, MAX_VERSION, integer=True),
    "lod": Limit(0, 16, integer=True),
    "chunk_size": Limit(0, 4 * 2**20, "bytes", integer=True),
    "concurrency": Limit(0, 64, integer=True),
    "from_sequence": Limit(0, MAX_SEQUENCE, integer=True),
    "UploadHeader.size": Limit(1, 2**40, "bytes", integer=True),
    # 0: the default lifetime (3600 s; a uint32 without presence cannot say "unset" otherwise), so the CLI's
    # --expires refuses 0 and negatives; the server may cap lower
    "url_expires_s": Limit(0, 86400, "s", integer=True),
    # print export sizing (0: not set): x1e-3 of the stored size (1 mm per metre) .. x1e4 (10 m per mm)
    "scale": Limit(0, 1e4),
    "height_mm": Limit(0, 1e5, "mm"),  # 0.0 .. 100 m, past any printer
    "max_mm": Limit(0, 1e5, "mm"),
    "margin_mm": Limit(0, 100, "mm"),
    # relief plates (0: not set)
    "width_mm": Limit(0, 1e4, "mm"),
    "min_mm": Limit(0, 100, "mm"),
    "ReliefOptions.max_mm": Limit(0, 200, "mm"),
    "frame_mm": Limit(0, 1000, "mm"),
    # print repair: wall thickness given to flat models (0: not set)
    "solidify_mm": Limit(0, 100, "mm"),
    # server configuration of the `remote` backend (serve --remote-timeout / --remote-poll), checked at start
    "remote_timeout_s": Limit(1, 86400, "s"),  # upload + task + download; a day covers any vendor queue
    "remote_poll_s": Limit(0.05, 60, "s"),  # first wait between task polls (then doubling up to 10 s)
}

# Depth maps (GenerateRequest.depth) in metric units ("m", "mm"): each reading on the object, in metres, lies
# within the size range above (0, NaN and inf mean "no reading"), and the readings on the object span at most
# DEPTH_RELIEF_RATIO times its larger side (orthographic: from the target size; perspective: at its nearest
# reading). Past that no sensor measured it (a 1 mm / 65,535 mm checkerboard, 3e38 m), and the reconstruction
# grid (128 cells along the longest side) would leave the object under 12 cells across.
DEPTH_RANGE_M = (1e-4, 1e4)
DEPTH_RELIEF_RATIO = 10.0

# View labels (ViewImage.label) that are yaws: ASCII digits with an optional sign and decimals, within a turn.
YAW_RANGE_DEG = (-360.0, 360.0)

# Strings (length caps follow the registry's columns).
DEFAULT_TEXT = Text(256)
TEXTS: dict[str, Text] = {
    "asset": Text(200),
    "author": Text(200),
    "request_id": Text(200),
    "upload_id": Text(64),
    "job_id": Text(64),
    "id": Text(64),  # API key ids
    "name": Text(200),  # API key names
    "filename": Text(255),
    "sha256": Text(64),
    "description": Text(10_000, multiline=True),
    "reason": Text(1000, multiline=True),
    "channel": Text(64),
    "ref": Text(64),
    "ref_a": Text(64),
    "ref_b": Text(64),
    "kind": Text(32),
    "format": Text(16),
    "profile": Text(64),
    "profiles": Text(64),
    "tags": Text(64),
    "prefix": Text(200),
    "specs": Text(300),
    "base_url": Text(2048),
    "units": Text(8),  # mm, cm, m, in
    "up": Text(4),  # y, z
    "label": Text(16),  # a view: front, back, left, right, top, bottom or a yaw in degrees
    "fit": Text(32),  # printer names
    "bed": Text(40),  # "XxYxZ" millimetres
    "orient": Text(16),
    "backend": Text(32),
    "SearchAssetsRequest.text": Text(200),  # caption words (at most 16 are used)
    "ViewImage.label": Text(32),  # front, back, left, right, top, bottom or a yaw in degrees  # GenerateParams.backend: "classical" or a learned backend's name
}

# Repeated fields: how many items one request may carry.
DEFAULT_COUNT = 100
COUNTS: dict[str, int] = {
    "lod_ratios": 8,
    "profiles": 8,
    "SearchAssetsRequest.tags": 16,  # each tag is one EXISTS clause
    "SetAssetInfoRequest.tags": 64,
    "specs": 1000,
    "items": 1000,
    "GenerateRequest.views": 5,  # extra pictures besides the front one (6 in all)
}

# Parameters that take one of a few names.
CHOICES: dict[str, tuple[str, ...]] = {
    "depth_units": ("m", "mm", "relative"),
}


def check_choice(name: str, value: str) -> str:
    """`value` if it is one of CHOICES[name], else InvalidInput listing them."""
    if value not in CHOICES[name]:
        raise InvalidInput(f"{name} must be one of {', '.join(CHOICES[name])}, got {quote(value)}")
    return value


def check(name: str, value):
    """`value` if it lies within LIMITS[name], else InvalidInput naming the range."""
    return LIMITS[name].check(name, value)


def check_text(name: str, value: str) -> str:
    """`value` if it fits TEXTS[name] (DEFAULT_TEXT if absent), else InvalidInput."""
    return TEXTS.get(name, DEFAULT_TEXT).check(name, value)


def check_count(name: str, values) -> list:
    """`values` as a list if there are at most COUNTS[name] of them, else InvalidInput naming the cap."""
    values = list(values)
    cap = COUNTS.get(name, DEFAULT_COUNT)
    if len(values) > cap:
        raise InvalidInput(f"{name.rsplit('.', 1)[-1]} has {len(values)} items; the limit is {cap}")
    return values


def ascii_digits(text: str, max_len: int | None = None) -> bool:
    """`text` is 1..max_len ASCII digits 0-9: str.isdigit() and int() alone also take '²', '١٢' and '１２'."""
    return 0 < len(text) <= (max_len or len(text)) and text.isascii() and text.isdigit()


def check_version(value) -> int:
    """A version number: an int or ASCII digits within 1..2^31-1, else InvalidInput."""
    if isinstance(value, str):
        if not ascii_digits(value):
            raise InvalidInput(f"a version number is ASCII digits 0-9, got {quote(value)}")
        if len(value) > 12:  # no need to build a huge int
            raise InvalidInput(f"version number must be a whole number from 1 to {MAX_VERSION}, got {quote(value)}")
        value = int(value)
    return LIMITS["version"].check("version number", value)


# --- walking a request message ---


def _key(msg, field: str, table: dict):
    qualified = f"{msg.DESCRIPTOR.name}.{field}"
    return qualified if qualified in table else field


def _check_timestamp(name: str, ts) -> None:
    lo, hi = TIMESTAMP_SECONDS
    if not lo <= ts.seconds <= hi or not 0 <= ts.nanos < 10**9:
        raise InvalidInput(f"{name} is not a valid time (years 1..9999), got seconds={quote(ts.seconds)} "
                           f"nanos={quote(ts.nanos)}")


def _check_scalar(msg, fd, value, name: str) -> None:
    if fd.type == fd.TYPE_STRING:
        TEXTS.get(_key(msg, fd.name, TEXTS), DEFAULT_TEXT).check(name, value)
    elif fd.type == fd.TYPE_ENUM:
        if fd.enum_type.values_by_number.get(value) is None:
            known = ", ".join(f"{v.number} ({v.name})" for v in fd.enum_type.values)
            raise InvalidInput(f"{name} {quote(value)} is not a known value; use one of {known}")
    elif fd.type not in (fd.TYPE_BOOL, fd.TYPE_BYTES):
        key = _key(msg, fd.name, LIMITS)
        if key in LIMITS:
            LIMITS[key].check(name, value)


def check_message(msg, path: str = "") -> None:
    """InvalidInput for the first field of `msg` (and its nested messages) outside the tables above.

    A number without explicit presence that is 0 means "not set / default" and passes; optional
    fields are checked when set. Bytes are bounded elsewhere (image and mesh size limits).
    """
    for fd, value in msg.ListFields():
        name = f"{path}{fd.name}"
        if fd.is_repeated:
            check_count(_key(msg, fd.name, COUNTS), value)
            for i, item in enumerate(value):
                if fd.type == fd.TYPE_MESSAGE:
                    check_message(item, f"{name}[{i}].")
                else:
                    _check_scalar(msg, fd, item, f"{name}[{i}]" if fd.type != fd.TYPE_STRING else name)
        elif fd.type == fd.TYPE_MESSAGE:
            if fd.message_type.full_name == "google.protobuf.Timestamp":
                _check_timestamp(name, value)
            else:
                check_message(value, f"{name}.")
        else:
            _check_scalar(msg, fd, value, name)
