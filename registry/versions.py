"""Creating versions: validation, idempotency keys, numbering under a per-asset row lock."""

from __future__ import annotations

import hashlib
import json
import math

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from meshsmith.errors import AlreadyExists, InvalidInput
from meshsmith.limits import Text

from . import audit
from .blobs import SHA256
from .names import check_asset_name, verdict_name
from .records import ARTIFACT_KINDS, KEY_BACKENDS, NewVersion
from .schema import Artifact, Asset, Channel, Request, Version, VersionVerdict, utcnow

OCTET = "application/octet-stream"
INDEXED_KINDS = ("glb", "source-view")  # kinds whose `lod` is an index: LOD level, extra view number


def _canon(value):
    """Integral floats become ints so that 1.0 and 1 (proto Struct numbers) key alike."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    return value


def canonical_json(value) -> str:
    try:
        return json.dumps(_canon(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"parameters must be JSON (finite numbers, string keys): {e}") from None


def idem_key(new: NewVersion) -> str:
    """Same source + parameters (canonical JSON) + seed + backend and its version -> same key. A version whose
    record holds results of the work (a hosted backend's task id) is keyed by `key_parameters` /
    `key_backend_version` instead: what was known before the work, so the key can be looked up first."""
    parameters = new.parameters if new.key_parameters is None else new.key_parameters
    backend_version = new.backend_version if new.key_backend_version is None else new.key_backend_version
    backend = KEY_BACKENDS.get(new.backend, new.backend)
    doc = [new.source_sha256, _canon(parameters), new.seed, backend, backend_version]
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def validate(new: NewVersion) -> None:
    check_asset_name(new.asset)
    if not new.author:  # its length and characters: check_text below
        raise InvalidInput("author must be 1..200 characters (who or what made the version)")
    for field, limit in (("author", 200), ("backend", 100), ("backend_version", 100), ("mode", 32), ("request_id", 200),
                         ("job_id", 200), ("caller", 200)):
        check_text(field, getattr(new, field), limit)
    if not isinstance(new.source_sha256, str) or not SHA256.fullmatch(new.source_sha256):
        raise InvalidInput(f"source_sha256 {new.source_sha256!r} is not 64 lowercase hex digits")
    if not 0 <= int(new.seed) < 2**64:
        raise InvalidInput(f"seed {new.seed} is outside 0..2^64-1")
    seen = set()
    for a in new.artifacts:
        if a.kind not in ARTIFACT_KINDS:
            raise InvalidInput(f"unknown artifact kind {a.kind!r}; use one of {', '.join(ARTIFACT_KINDS)}")
        if a.lod < 0 or (a.kind not in INDEXED_KINDS and a.lod != 0):
            raise InvalidInput(f"artifact {a.kind} has lod {a.lod}; only glb artifacts have LODs (0 = full) "
                               "and source-view artifacts a view number")
        if (a.kind, a.lod) in seen:
            raise InvalidInput(f"two {a.kind} artifacts with lod {a.lod}; send each kind/LOD once")
        if len(a.media_type or "") > 200:
            raise InvalidInput(f"artifact {a.kind} media type is longer than 200 characters")
        if not isinstance(a.data, (bytes, bytearray, memoryview)):
            raise InvalidInput(f"artifact {a.kind} lod {a.lod} data must be bytes")
        seen.add((a.kind, a.lod))
    for need in (("source", 0), ("glb", 0)):
        if need not in seen:
            raise InvalidInput(f"a version needs a {need[0]} artifact (lod 0); got {sorted(seen)}")
    for r in new.reports:
        verdict_name(r.get("verdict"))
    canonical_json([new.parameters, new.key_parameters, new.stats, list(new.reports), new.repair])
    check_text("key_backend_version", new.key_backend_version, 100)


def check_text(field: str, value: str | None, limit: int = 200) -> None:
    """A short text field the database stores: at most `limit` characters, no control characters (None passes)."""
    if value is not None:
        Text(limit).check(field, value)


def same_payload(v: Version, asset_id: int, new: NewVersion, key: str) -> bool:
    """Whether `new` asks for what version `v` was made from (asset, source, parameters, seed); the same key
    counts too (a hosted backend's recorded parameters hold its task id, which a resent request cannot know)."""
    return v.asset_id == asset_id and (v.idem_key == key or (
        v.source_sha256 == new.source_sha256 and int(v.seed) == int(new.seed)
        and canonical_json(v.parameters) == canonical_json(new.parameters)))


def find_reusable(s: Session, asset_id: int, key: str, new: NewVersion) -> Version | None:
    """The version answered to the caller's `request_id`, else the newest non-deprecated one with this key.

    AlreadyExists when the caller used `request_id` before for a different request."""
    if new.request_id:
        v = s.scalars(
            sa.select(Version).join(Request, Request.version_id == Version.id)
            .where(Request.caller == new.caller, Request.request_id == new.request_id)
        ).first()
        if v is not None:
            if not same_payload(v, asset_id, new, key):
                raise AlreadyExists(
                    f"request_id {new.request_id[:80]!r} was already used for a different request (another asset, "
                    "source, parameters or seed); use a new request id for a new request, or resend the original "
                    "request unchanged to get its result"
                )
            return v
    q = (
        sa.select(Version)
        .where(Version.asset_id == asset_id, Version.idem_key == key, Version.deprecated == sa.false())
        .order_by(Version.number.desc())
        .limit(1)
    )
    return s.scalars(q).first()


def lock_or_create_asset(s: Session, name: str) -> Asset:
    """The asset row, created if needed, locked FOR UPDATE (SQLite: BEGIN IMMEDIATE already holds the lock)."""
    q = sa.select(Asset).where(Asset.name == name).with_for_update()
    asset = s.scalars(q).one_or_none()
    if asset is None:
        ins = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[s.get_bind().dialect.name](Asset)
        s.execute(
            ins.values(name=name, description="", created_at=utcnow(), version_count=0).on_conflict_do_nothing(
                index_elements=["name"]
            )
        )
        asset = s.scalars(q).one()
    return asset


def remember_request(s: Session, new: NewVersion, version_id: int) -> None:
    if new.request_id and s.get(Request, (new.caller, new.request_id)) is None:
        s.add(Request(caller=new.caller, request_id=new.request_id, version_id=version_id, created_at=utcnow()))


def insert(s: Session, asset: Asset, new: NewVersion, key: str, blobs: dict[tuple[str, int], tuple[str, int]]) -> Version:
    """Insert version `asset.version_count + 1` with its artifacts, move `latest`, audit. Caller holds the lock."""
    asset.version_count += 1
    stats = new.stats or {}
    v = Version(
        asset_id=asset.id,
        number=asset.version_count,
        created_at=utcnow(),
        author=new.author,
        source_sha256=new.source_sha256,
        parameters=new.parameters,
        idem_key=key,
        backend=new.backend,
        backend_version=new.backend_version,
        seed=int(new.seed),
        mode=new.mode,
        stats=stats,
        reports=list(new.reports),
        repair=new.repair or {},
        faces=_int(stats.get("faces")),
        vertices=_int(stats.get("vertices")),
        volume_m3=_float(stats.get("volume_m3")),
        texture_size=_int(stats.get("texture_size")),
        job_id=new.job_id,
        deprecated=False,
        caption=new.caption,
        caption_tags=list(new.caption_tags) if new.caption else None,
    )
    s.add(v)
    s.flush()
    for a in new.artifacts:
        sha, size = blobs[(a.kind, a.lod)]
        s.add(Artifact(version_id=v.id, kind=a.kind, lod=a.lod, sha256=sha, size=size, media_type=a.media_type or OCTET))
    verdicts = {str(r.get("profile") or "default"): verdict_name(r.get("verdict")) for r in new.reports}
    s.add_all(VersionVerdict(version_id=v.id, profile=p, verdict=vd) for p, vd in verdicts.items())
    row = s.execute(
        sa.select(Channel, Version.number)
        .join(Version, Version.id == Channel.version_id)
        .where(Channel.asset_id == asset.id, Channel.name == "latest")
    ).first()
    previous = None
    # who did it: the authenticated caller (or the peer without auth), never the request's free-text author label
    actor = new.caller or new.author
    if row is None:
        s.add(Channel(asset_id=asset.id, name="latest", version_id=v.id, moved_by=actor, moved_at=v.created_at))
    else:
        latest, previous = row
        latest.version_id, latest.moved_by, latest.moved_at = v.id, actor, v.created_at
    if new.request_id:
        s.add(Request(caller=new.caller, request_id=new.request_id, version_id=v.id, created_at=v.created_at))
    audit.append(s, actor, "version.created", asset.id, v.number, source_sha256=new.source_sha256,
                 backend=new.backend, backend_version=new.backend_version, job_id=new.job_id, request_id=new.request_id,
                 author=new.author)
    audit.append(s, actor, "channel.moved", asset.id, v.number, "latest", **{"from": previous})
    s.flush()  # errors surface here, inside the transaction
    return v


def _int(x):
    return None if x is None else int(x)


def _float(x):
    return None if x is None else float(x)
