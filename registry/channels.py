"""Channels (movable aliases), deprecation and asset info: all audited, all under the asset lock."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshsmith.errors import FailedPrecondition, InvalidInput, NotFound

from . import audit
from .names import check_channel_name, check_tag
from .schema import Asset, AssetTag, Channel, Version, utcnow
from .views import version_by_number


def channel_names(s: Session, asset: Asset) -> list[str]:
    return list(s.scalars(sa.select(Channel.name).where(Channel.asset_id == asset.id).order_by(Channel.name)))


def resolve_channel(s: Session, asset: Asset, channel: str) -> Version:
    """The version a channel points at; never a deprecated one."""
    row = s.execute(
        sa.select(Version, Channel).join(Channel, Channel.version_id == Version.id).where(
            Channel.asset_id == asset.id, Channel.name == channel
        )
    ).first()
    if row is None:
        if channel == "latest":
            if asset.version_count:
                raise FailedPrecondition(
                    f"all {asset.version_count} versions of {asset.name!r} are deprecated; "
                    "ask for one by number or store a new version"
                )
            raise NotFound(f"asset {asset.name!r} has no versions yet")
        have = ", ".join(channel_names(s, asset)) or "none"
        raise NotFound(f"asset {asset.name!r} has no channel {channel!r}; its channels: {have}")
    version, ch = row
    if version.deprecated:
        raise FailedPrecondition(
            f"channel {channel!r} of {asset.name!r} points at version {version.number}, which is deprecated "
            f"({version.deprecated_reason or 'no reason given'}); move the channel to a good version "
            f"or ask for version {version.number} by number"
        )
    return version


def move(s: Session, asset: Asset, channel: str, version: Version, actor: str) -> Channel:
    """Point `channel` at `version` (promote or roll back). Caller holds the asset lock."""
    check_channel_name(channel)
    if channel == "latest":
        raise InvalidInput("'latest' cannot be moved by hand: it always points at the newest non-deprecated version")
    if not actor:
        raise InvalidInput("actor is required: say who moves the channel")
    if version.deprecated:
        raise FailedPrecondition(
            f"version {version.number} of {asset.name!r} is deprecated and cannot be put on channel {channel!r}"
        )
    ch = s.get(Channel, (asset.id, channel))
    now = utcnow()
    previous = None
    if ch is None:
        ch = Channel(asset_id=asset.id, name=channel, version_id=version.id, moved_by=actor, moved_at=now)
        s.add(ch)
    else:
        previous = s.scalar(sa.select(Version.number).where(Version.id == ch.version_id))
        ch.version_id, ch.moved_by, ch.moved_at = version.id, actor, now
    audit.append(s, actor, "channel.moved", asset.id, version.number, channel, **{"from": previous})
    s.flush()
    return ch


def deprecate(s: Session, asset: Asset, number: int, actor: str, reason: str) -> Version:
    """Mark a version deprecated (idempotent); move `latest` back if it pointed there."""
    if not actor:
        raise InvalidInput("actor is required: say who deprecates the version")
    v = version_by_number(s, asset, number)
    if v.deprecated:
        return v
    v.deprecated, v.deprecated_at, v.deprecated_by, v.deprecated_reason = True, utcnow(), actor, reason or ""
    audit.append(s, actor, "version.deprecated", asset.id, number, reason=reason or "")
    latest = s.get(Channel, (asset.id, "latest"))
    if latest is not None and latest.version_id == v.id:
        s.flush()
        newest = s.scalars(
            sa.select(Version)
            .where(Version.asset_id == asset.id, Version.deprecated == sa.false())
            .order_by(Version.number.desc())
            .limit(1)
        ).first()
        if newest is None:
            s.delete(latest)
        else:
            latest.version_id, latest.moved_by, latest.moved_at = newest.id, actor, utcnow()
        audit.append(s, actor, "channel.moved", asset.id, newest.number if newest else None, "latest", **{"from": number})
    s.flush()
    return v


def set_info(s: Session, asset: Asset, description: str | None, tags, actor: str) -> None:
    """Replace the description and/or the tag set (None leaves it unchanged)."""
    detail = {}
    if description is not None:
        if len(description) > 10_000:
            raise InvalidInput("description is longer than 10000 characters")
        asset.description = description
        detail["description"] = description
    if tags is not None:
        if isinstance(tags, str):
            raise InvalidInput("tags must be a list of strings, not one string")
        new = {check_tag(t.strip().lower()) for t in tags}
        old = set(s.scalars(sa.select(AssetTag.tag).where(AssetTag.asset_id == asset.id)))
        for t in old - new:
            s.delete(s.get(AssetTag, (asset.id, t)))
        s.add_all(AssetTag(asset_id=asset.id, tag=t) for t in new - old)
        detail.update(added=sorted(new - old), removed=sorted(old - new), tags=sorted(new))
    audit.append(s, actor or "unknown", "asset.tagged", asset.id, **detail)
    s.flush()
