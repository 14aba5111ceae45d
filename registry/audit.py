"""The append-only audit log: every change to the registry adds one row here."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .records import AuditEvent
from .schema import Asset, AuditLog, utcnow

ACTIONS = ("version.created", "channel.moved", "version.deprecated", "asset.tagged", "gc")


def append(
    s: Session,
    actor: str,
    action: str,
    asset_id: int | None = None,
    version: int | None = None,
    channel: str | None = None,
    **detail,
) -> None:
    assert action in ACTIONS, action
    s.add(AuditLog(at=utcnow(), actor=actor, action=action, asset_id=asset_id, version=version, channel=channel, detail=detail))


def events(s: Session, asset_id: int | None = None, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
    """Newest first; for one asset or all."""
    q = sa.select(AuditLog, Asset.name).outerjoin(Asset, Asset.id == AuditLog.asset_id)
    if asset_id is not None:
        q = q.where(AuditLog.asset_id == asset_id)
    if before_id is not None:
        q = q.where(AuditLog.id < before_id)
    q = q.order_by(AuditLog.id.desc()).limit(max(1, min(limit, 10_000)))
    return [
        AuditEvent(e.id, e.at, e.actor, e.action, name, e.version, e.channel, dict(e.detail or {}))
        for e, name in s.execute(q)
    ]
