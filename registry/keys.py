"""API keys with roles. Only a sha256 of each secret is stored (secrets are 256-bit random)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meshsmith.errors import InvalidInput, NotFound
from meshsmith.limits import check_text, quote

from .db import Sessions
from .schema import Base, UTCDateTime, utcnow

ROLES = ("reader", "creator", "admin")  # each includes the rights of the ones before it
PREFIX = "msk_"


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    secret_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked: bool


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.role, row.created_at, row.revoked_at is not None)


def role_allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


class KeyStore:
    def __init__(self, db: Sessions):
        self.db = db

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """A new key and its secret (`msk_<id>_<random>`); the secret is not stored and cannot be shown again."""
        if role not in ROLES:
            raise InvalidInput(f"unknown role {quote(role)}; use one of {', '.join(ROLES)}")
        check_text("name", name or "")
        key_id = secrets.token_hex(6)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with self.db.write() as s:
            row = ApiKeyRow(id=key_id, name=name or key_id, role=role, secret_sha256=_hash(secret), created_at=utcnow())
            s.add(row)
            s.flush()
            return _key(row), secret

    def verify(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None."""
        with self.db.read() as s:
            row = s.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.secret_sha256 == _hash(secret)))
            return _key(row) if row is not None and row.revoked_at is None else None

    def list(self) -> list[ApiKey]:
        with self.db.read() as s:
            return [_key(r) for r in s.scalars(sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at))]

    def revoke(self, key_id: str) -> ApiKey:
        check_text("id", key_id)
        with self.db.write() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"no API key with id {quote(key_id)}; `meshsmith keys list` shows them")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _key(row)

    def live(self, key_id: str) -> ApiKey | None:
        """The key with this id if it exists and is not revoked (signed URLs name their key by id)."""
        with self.db.read() as s:
            row = s.get(ApiKeyRow, key_id)
            return _key(row) if row is not None and row.revoked_at is None else None
