"""History and search queries (index-backed: versions(asset_id, number), assets(name), tags(tag))."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshsmith.errors import InvalidInput

from .names import check_channel_name, check_prefix, check_tag, verdict_name
from .records import AssetRecord, HistoryQuery, VersionRecord
from .schema import Asset, AssetTag, AuditLog, Version, VersionVerdict
from .views import asset_records, version_records

MAX_LIMIT = 1000


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or limit < 0:
        raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}")
    return min(limit or 100, MAX_LIMIT)


def history(s: Session, asset: Asset, q: HistoryQuery) -> list[VersionRecord]:
    """Versions of `asset`, newest first, filtered by `q`."""
    stmt = sa.select(Version.__table__).where(Version.asset_id == asset.id)
    if q.before_number:
        stmt = stmt.where(Version.number < q.before_number)
    if q.author:
        stmt = stmt.where(Version.author == q.author)
    for when in (q.since, q.until):
        if when is not None and when.tzinfo is None:
            raise InvalidInput(f"history since/until must be timezone-aware (UTC), got naive {when.isoformat()}")
    if q.since is not None:
        stmt = stmt.where(Version.created_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(Version.created_at < q.until)
    if q.channel:
        check_channel_name(q.channel)
        pointed = sa.select(AuditLog.version).where(
            AuditLog.asset_id == asset.id,
            AuditLog.channel == q.channel,
            AuditLog.action == "channel.moved",
            AuditLog.version.is_not(None),
        )
        stmt = stmt.where(Version.number.in_(pointed))
    verdict = verdict_name(q.verdict) if q.verdict not in (None, "") else "unspecified"
    if q.profile or verdict != "unspecified":
        cond = [VersionVerdict.version_id == Version.id]
        if q.profile:
            cond.append(VersionVerdict.profile == q.profile)
        if verdict != "unspecified":
            cond.append(VersionVerdict.verdict == verdict)
        stmt = stmt.where(sa.exists().where(*cond))
    rows = s.execute(stmt.order_by(Version.number.desc()).limit(_limit(q.limit))).all()
    return version_records(s, [(asset.name, v) for v in rows])


def search(s: Session, prefix: str, tags, limit: int, text: str = "") -> list[AssetRecord]:
    """Assets whose name starts with `prefix`, that carry every tag in `tags` and (with `text`) have a version
    whose caption holds every word of `text` (case-insensitive), by name."""
    check_prefix(prefix)
    if isinstance(tags, str):
        tags = (tags,)
    stmt = sa.select(Asset.__table__)
    if prefix:
        # names are ASCII below '{' and compared bytewise (BINARY / COLLATE "C"): a range scan.
        stmt = stmt.where(Asset.name >= prefix, Asset.name < prefix + "\x7f")
    for t in dict.fromkeys(tags):
        check_tag(t)
        stmt = stmt.where(sa.exists().where(AssetTag.asset_id == Asset.id, AssetTag.tag == t))
    words = [w for w in text.lower().split() if w][:16]
    if words:
        cond = [Version.asset_id == Asset.id, Version.caption.is_not(None)]
        cond += [sa.func.lower(Version.caption).contains(w, autoescape=True) for w in words]
        stmt = stmt.where(sa.exists().where(*cond))
    assets = s.execute(stmt.order_by(Asset.name).limit(_limit(limit))).all()
    return asset_records(s, assets)
