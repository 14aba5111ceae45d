"""Chunked uploads: files larger than one message, checked by sha256, then referenced by id.

An upload belongs to whoever sent it (`owner`: the caller's key id with --auth, else its identity name): the
file is stored under a hash of (owner, id), so another caller's id finds nothing and answers exactly as an
unknown id does (NOT_FOUND), the same rule as for jobs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from meshsmith.errors import InvalidInput, NotFound
from registry.blobs import DISK_FULL, disk_full

MAX_AGE_S = 24 * 3600


class UploadStore:
    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    def begin(self, size: int, owner: str) -> tuple[str, "UploadWriter"]:
        if size > self.max_bytes:
            raise InvalidInput(f"the upload declares {size} bytes; the limit is {self.max_bytes}")
        upload_id = secrets.token_hex(16)
        return upload_id, UploadWriter(self, upload_id, size, owner)

    def path(self, upload_id: str, owner: str) -> Path:
        """Where `owner`'s upload `upload_id` lives: a hash of both, so ids are only found by their uploader."""
        if not (len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)):
            raise InvalidInput(f"malformed upload_id {upload_id[:40]!r}; use the id the Upload call returned")
        if not owner:
            raise ValueError("an upload needs its owner")  # a server bug, never a caller's
        return self.root / hashlib.sha256(f"{owner}\0{upload_id}".encode()).hexdigest()

    def read(self, upload_id: str, owner: str) -> bytes:
        """The bytes of `owner`'s upload; NotFound for an unknown, expired or another caller's id (the same
        answer, so ids do not reveal other callers' uploads)."""
        try:
            return self.path(upload_id, owner).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no upload {upload_id!r} (uploads expire after {MAX_AGE_S // 3600} h); upload the file again") from None

    def expire(self, now: float | None = None) -> int:
        now = now or time.time()
        removed = 0
        for p in self.root.iterdir():
            if now - p.stat().st_mtime > MAX_AGE_S:
                p.unlink(missing_ok=True)
                removed += 1
        return removed


@contextmanager
def _disk_full_is_exhausted():
    try:
        yield
    except OSError as err:
        if err.errno in DISK_FULL:
            raise disk_full("upload area") from err
        raise


class UploadWriter:
    """Writes chunks to a temp file; `finish` checks size and sha256, then renames it into place."""

    def __init__(self, store: UploadStore, upload_id: str, size: int, owner: str):
        self.store = store
        self.upload_id = upload_id
        self.size = size
        self.target = store.path(upload_id, owner)
        self.tmp = store.root / f".{self.target.name}.part"
        self.file = open(self.tmp, "wb")
        self.digest = hashlib.sha256()
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self.size:
            raise InvalidInput(f"the upload sent more than the {self.size} bytes its header declared")
        self.digest.update(chunk)
        with _disk_full_is_exhausted():
            self.file.write(chunk)

    def finish(self, sha256: str) -> str:
        with _disk_full_is_exhausted():
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        got = self.digest.hexdigest()
        if self.written != self.size or got != sha256.lower():
            self.abort()
            raise InvalidInput(
                f"upload corrupted: received {self.written} bytes with sha256 {got}, "
                f"the header declared {self.size} bytes with sha256 {sha256}; send it again"
            )
        os.replace(self.tmp, self.target)
        return got

    def abort(self) -> None:
        if not self.file.closed:
            try:
                self.file.close()
            except OSError:  # e.g. the disk is full: the buffered rest cannot be written, the file goes anyway
                pass
        self.tmp.unlink(missing_ok=True)
