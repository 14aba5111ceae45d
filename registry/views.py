"""Reading rows into records, batched (one query per table, whatever the number of versions)."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from meshsmith.errors import NotFound

from .records import LEGACY_BACKENDS, ArtifactRecord, AssetRecord, ChannelRecord, VersionRecord
from .schema import Artifact, Asset, AssetTag, Channel, Version


def find_asset(s: Session, name: str, lock: bool = False):
    """The asset: a locked Asset object to change it (lock=True), else a plain row."""
    if lock:
        asset = s.scalars(sa.select(Asset).where(Asset.name == name).with_for_update()).one_or_none()
    else:
        asset = s.execute(sa.select(Asset.__table__).where(Asset.name == name)).one_or_none()
    if asset is None:
        raise NotFound(f"no asset named {name!r}; create it by storing a first version")
    return asset


def version_by_number(s: Session, asset: Asset, number: int) -> Version:
    v = s.scalars(sa.select(Version).where(Version.asset_id == asset.id, Version.number == number)).one_or_none()
    if v is None:
        have = f"it has versions 1..{asset.version_count}" if asset.version_count else "it has no versions yet"
        raise NotFound(f"asset {asset.name!r} has no version {number}; {have}")
    return v


def version_records(
    s: Session, pairs: Sequence[tuple[str, Version]], reused: bool = False, chans: dict[int, list[str]] | None = None
) -> list[VersionRecord]:
    """Records for (asset name, Version object or versions row) pairs, in the given order.
    `chans` (version id -> channel names) saves a query when the caller has it."""
    ids = [v.id for _, v in pairs]
    if not ids:
        return []
    arts: dict[int, list[ArtifactRecord]] = defaultdict(list)
    for a in s.execute(
        sa.select(Artifact.__table__).where(Artifact.version_id.in_(ids)).order_by(Artifact.kind, Artifact.lod)
    ):
        arts[a.version_id].append(ArtifactRecord(a.kind, a.lod, a.sha256, a.size, a.media_type))
    if chans is None:
        chans = defaultdict(list)
        for vid, name in s.execute(sa.select(Channel.version_id, Channel.name).where(Channel.version_id.in_(ids))):
            chans[vid].append(name)
    return [to_record(name, v, arts[v.id], chans.get(v.id, ()), reused) for name, v in pairs]


def to_record(name: str, v, artifacts, channels, reused: bool) -> VersionRecord:
    """`v` is a Version object or a row of the versions table."""
    return VersionRecord(
        asset=name,
        number=v.number,
        created_at=v.created_at,
        author=v.author,
        source_sha256=v.source_sha256,
        parameters=v.parameters,
        backend=LEGACY_BACKENDS.get(v.backend, v.backend),
        backend_version=v.backend_version,
        seed=v.seed,
        mode=v.mode,
        artifacts=tuple(artifacts),
        stats=v.stats,
        reports=tuple(v.reports),
        repair=v.repair,
        deprecated=v.deprecated,
        channels=tuple(sorted(channels, key=lambda c: (c != "latest", c))),
        reused=reused,
        job_id=v.job_id,
        caption=getattr(v, "caption", None),
        caption_tags=tuple(getattr(v, "caption_tags", None) or ()),
    )


def asset_records(s: Session, assets: Sequence) -> list[AssetRecord]:
    """Records (with latest version and channels) for several assets (objects or rows) in a few queries."""
    ids = [a.id for a in assets]
    if not ids:
        return []
    tags: dict[int, list[str]] = defaultdict(list)
    for aid, tag in s.execute(sa.select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(ids)).order_by(AssetTag.tag)):
        tags[aid].append(tag)
    chans: dict[int, list[ChannelRecord]] = defaultdict(list)
    by_version: dict[int, list[str]] = defaultdict(list)
    latest_ids: dict[int, int] = {}
    rows = s.execute(
        sa.select(Channel.asset_id, Channel.name, Channel.version_id, Version.number, Channel.moved_by, Channel.moved_at)
        .join(Version, Version.id == Channel.version_id)
        .where(Channel.asset_id.in_(ids))
        .order_by(Channel.name)
    )
    for aid, cname, vid, number, by, at in rows:
        rec = ChannelRecord(cname, number, by, at)
        by_version[vid].append(cname)
        if cname == "latest":
            latest_ids[aid] = vid
            chans[aid].insert(0, rec)
        else:
            chans[aid].append(rec)
    by_id = {a.id: a for a in assets}
    latest_rows = s.execute(sa.select(Version.__table__).where(Version.id.in_(list(latest_ids.values())))).all() if latest_ids else []
    records = version_records(s, [(by_id[v.asset_id].name, v) for v in latest_rows], chans=by_version)
    latest = {v.asset_id: r for v, r in zip(latest_rows, records)}
    return [
        AssetRecord(a.name, a.description, tuple(tags[a.id]), a.created_at, a.version_count, latest.get(a.id), tuple(chans[a.id]))
        for a in assets
    ]
