"""The Registry facade: immutable numbered versions of assets over SQL + a content-addressed blob store."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from meshsmith.errors import InvalidInput
from meshsmith.limits import check, check_text, check_version, quote

from . import audit, channels, lockfile, maintenance, queries, versions
from .blobs import BlobStore, check_sha256
from .db import Sessions, make_engine
from .diff import diff_versions
from .names import check_asset_name, parse_ref
from .records import (
    ArtifactRecord,
    AssetRecord,
    AuditEvent,
    AuditReport,
    ChannelRecord,
    GcReport,
    HistoryQuery,
    NewVersion,
    VersionDiff,
    VersionRecord,
)
from .schema import Artifact, Asset
from .views import asset_records, find_asset, to_record, version_by_number, version_records


class Registry:
    """Thread-safe: every call opens its own session. Pass config in; nothing is read from the environment."""

    def __init__(self, database_url: str, blob_dir: Path, *, pool_size: int = 8,
                 statement_timeout_s: float | None = None, pool_timeout_s: float = 30.0):
        """statement_timeout_s caps every query (a call's deadline lowers it, see registry.db.DEADLINE);
        pool_timeout_s bounds the wait for a free connection."""
        self.database_url = database_url
        self.blobs = BlobStore(Path(blob_dir))
        u = sa.make_url(database_url)
        if u.get_backend_name() == "sqlite" and u.database:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(database_url, pool_size=pool_size, pool_timeout=pool_timeout_s)
        self.db = Sessions(self.engine, statement_timeout_s)

    # --- lifecycle ---

    def migrate(self, revision: str = "head") -> None:
        """Run the Alembic migrations shipped in registry/migrations up to `revision`."""
        cfg = alembic_config(self.database_url)
        with self.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.DBAPIError:
                return None

    def close(self) -> None:
        self.engine.dispose()

    # --- versions ---

    def create_version(self, new: NewVersion) -> VersionRecord:
        """Store blobs (durably), then the version in one transaction. An identical earlier request
        (same source, parameters, seed, backend + version) or a retried request_id gets the existing
        version back with reused=True (blobs it wrote, if they differ, are left to gc)."""
        versions.validate(new)
        key = versions.idem_key(new)
        blobs = self._put_blobs(new)  # durable before any row refers to them; identical bytes are not rewritten
        try:
            return self._commit_version(new, key, blobs)
        except sa.exc.IntegrityError:
            # lost a race on a unique key (the same caller's request_id twice at once): the retry sees
            # the winner's rows and answers from them
            return self._commit_version(new, key, blobs)

    def reusable_version(self, new: NewVersion) -> VersionRecord | None:
        """The version create_version(new) would answer reused=True (its request_id remembered), found before
        the work is done; None when there is none yet. `new` needs no artifacts: only its key fields, asset,
        request_id and caller are read. A hosted backend asks this before calling (and paying) the vendor."""
        check_asset_name(new.asset)
        check_sha256(new.source_sha256)
        key = versions.idem_key(new)
        with self.db.write() as s:
            asset = s.scalars(sa.select(Asset).where(Asset.name == new.asset).with_for_update()).one_or_none()
            hit = None if asset is None else versions.find_reusable(s, asset.id, key, new)
            if hit is None:
                return None
            versions.remember_request(s, new, hit.id)
            return version_records(s, [(new.asset, hit)], reused=True)[0]

    def _commit_version(self, new: NewVersion, key: str, blobs: dict) -> VersionRecord:
        with self.db.write() as s:
            asset = versions.lock_or_create_asset(s, new.asset)
            hit = versions.find_reusable(s, asset.id, key, new)
            if hit is not None:
                versions.remember_request(s, new, hit.id)
                return version_records(s, [(new.asset, hit)], reused=True)[0]
            v = versions.insert(s, asset, new, key, blobs)
        arts = sorted(
            (ArtifactRecord(a.kind, a.lod, *blobs[(a.kind, a.lod)], a.media_type or versions.OCTET) for a in new.artifacts),
            key=lambda a: (a.kind, a.lod),
        )
        return to_record(new.asset, v, arts, ["latest"], False)

    def _put_blobs(self, new: NewVersion) -> dict[tuple[str, int], tuple[str, int]]:
        return {(a.kind, a.lod): (self.blobs.put(bytes(a.data)), len(a.data)) for a in new.artifacts}

    def resolve(self, asset: str, ref: str | int = "latest") -> VersionRecord:
        """ref: a number ('3'), 'latest' or a channel. Deprecated versions only by exact number."""
        check_asset_name(asset)
        target = parse_ref(ref)
        with self.db.read() as s:
            a = find_asset(s, asset)
            v = version_by_number(s, a, target) if isinstance(target, int) else channels.resolve_channel(s, a, target)
            return version_records(s, [(asset, v)])[0]

    def history(self, asset: str, query: HistoryQuery = HistoryQuery()) -> list[VersionRecord]:
        """Newest first; NotFound for an unknown asset."""
        check_asset_name(asset)
        if query.before_number:
            check("before_number", query.before_number)
        with self.db.read() as s:
            return queries.history(s, find_asset(s, asset), query)

    def get_asset(self, asset: str) -> AssetRecord:
        check_asset_name(asset)
        with self.db.read() as s:
            return asset_records(s, [find_asset(s, asset)])[0]

    def search(self, prefix: str = "", tags: tuple[str, ...] = (), limit: int = 50, text: str = "") -> list[AssetRecord]:
        """Assets by name prefix carrying all `tags` (and with `text`: a version whose caption has its words)."""
        with self.db.read() as s:
            return queries.search(s, prefix, tags, limit, text)

    def diff(self, asset: str, a: int | str, b: int | str) -> VersionDiff:
        """What changed from version `a` to `b` (refs allowed): metrics, parameters, check levels."""
        return diff_versions(self.resolve(asset, a), self.resolve(asset, b))

    # --- changes ---

    def move_channel(self, asset: str, channel: str, version: int | str, actor: str) -> ChannelRecord:
        """Point `channel` at `version` (a number or another channel's name): promote or roll back."""
        check_asset_name(asset)
        target = parse_ref(version)
        with self.db.write() as s:
            a = find_asset(s, asset, lock=True)
            v = version_by_number(s, a, target) if isinstance(target, int) else channels.resolve_channel(s, a, target)
            ch = channels.move(s, a, channel, v, actor)
            return ChannelRecord(ch.name, v.number, ch.moved_by, ch.moved_at)

    def deprecate(self, asset: str, number: int, actor: str, reason: str = "") -> VersionRecord:
        """Deprecate a version: still resolvable by number, never through a channel or latest."""
        check_asset_name(asset)
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidInput(f"deprecate takes a version number, got {quote(number)}")
        check_version(number)
        check_text("reason", reason or "")
        with self.db.write() as s:
            a = find_asset(s, asset, lock=True)
            v = channels.deprecate(s, a, number, actor, reason)
            return version_records(s, [(asset, v)])[0]

    def set_asset_info(self, asset: str, description: str | None = None, tags=None, actor: str = "") -> AssetRecord:
        """Replace description and/or tags (None leaves a field as is)."""
        check_asset_name(asset)
        with self.db.write() as s:
            a = find_asset(s, asset, lock=True)
            channels.set_info(s, a, description, tags, actor)
            return asset_records(s, [a])[0]

    def audit_log(self, asset: str | None = None, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
        """Audit events, newest first, for one asset or all."""
        with self.db.read() as s:
            aid = find_asset(s, check_asset_name(asset)).id if asset else None
            return audit.events(s, aid, limit, before_id)

    # --- blobs, lockfiles, maintenance ---

    def blob_path(self, sha256: str, verify: bool = False) -> Path:
        """Path of a stored blob; NotFound if absent; with verify, DataLoss if its bytes changed."""
        check_sha256(sha256)
        return self.blobs.verified_path(sha256) if verify else self.blobs.existing_path(sha256)

    def blob_media_type(self, sha256: str) -> str:
        """The media type an artifact recorded for this blob (application/octet-stream if none)."""
        with self.db.read() as s:
            mt = s.scalar(sa.select(Artifact.media_type).where(Artifact.sha256 == check_sha256(sha256)).limit(1))
        return mt or "application/octet-stream"

    def lock(self, specs: list[str], base_url: str) -> dict:
        """assets.lock.json content for `name[@N|@channel][#lodK]` specs; see registry.lockfile."""
        return lockfile.lock(self, specs, base_url)

    def gc(self, dry_run: bool = True, grace_s: float = 3600.0, actor: str = "gc", keep: Iterable[str] = ()) -> GcReport:
        """Delete blobs no artifact references and not in `keep` (e.g. inputs of unfinished jobs);
        files younger than grace_s are kept too."""
        return maintenance.gc(self, dry_run, grace_s, actor, frozenset(keep))

    def audit(self) -> AuditReport:
        """Re-hash every referenced blob; report mismatches and missing files."""
        return maintenance.audit_blobs(self)


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("registry") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg

