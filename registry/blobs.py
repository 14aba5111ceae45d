"""Content-addressed blob store: `<root>/ab/cdef…` named by sha256, written atomically."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterator

from meshsmith.errors import DataLoss, InvalidInput, NotFound, ResourceExhausted

SHA256 = re.compile(r"[0-9a-f]{64}")
TMP_PREFIX = ".tmp-"
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_CHUNK = 1 << 20


def disk_full(what: str) -> ResourceExhausted:
    """The error for ENOSPC/EDQUOT/EFBIG while writing: the operator has to act, the caller retries later."""
    return ResourceExhausted(
        f"the server's {what} is out of disk space (nothing was stored); an operator must free space or grow "
        "the volume, then retry"
    ).retry_after(60)


def check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise InvalidInput(f"bad sha256 {sha256!r}: expected 64 lowercase hex digits")
    return sha256


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blobs are never modified: a write goes to a temp file, is fsynced, renamed, the dir fsynced."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:]

    def existing_path(self, sha256: str) -> Path:
        p = self.path(sha256)
        if not p.is_file():
            raise NotFound(f"blob {sha256} is not in the store")
        return p

    def verified_path(self, sha256: str) -> Path:
        """Like existing_path, after re-hashing the file; DataLoss if its bytes changed."""
        p = self.existing_path(sha256)
        actual = sha256_file(p)
        if actual != sha256:
            raise DataLoss(
                f"blob {sha256} is corrupt on disk (its bytes hash to {actual}); restore it from a backup "
                "or store the same file again (create_version heals a corrupt blob)"
            )
        return p

    def put(self, data: bytes) -> str:
        """Store `data` durably; return its sha256. An intact existing blob is only touched (keeps GC
        off it); a corrupt one is replaced."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.is_file() and final.stat().st_size == len(data) and sha256_file(final) == sha:
            os.utime(final)
            return sha
        tmp = None
        try:
            final.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=final.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        except BaseException as err:
            if tmp is not None and not final.is_file():
                Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError) and err.errno in DISK_FULL:
                raise disk_full("blob store") from err
            raise
        return sha

    def iter_files(self) -> Iterator[tuple[str | None, Path]]:
        """Every file in the store: (sha256, path) for blobs, (None, path) for temp or stray files."""
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for p in sorted(sub.iterdir()):
                name = sub.name + p.name
                yield (name if SHA256.fullmatch(name) else None), p

    @staticmethod
    def age_s(path: Path) -> float:
        try:
            return time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return 0.0
