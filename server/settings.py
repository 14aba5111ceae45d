"""Service configuration: read once here (flags, then MESHSMITH_* environment), passed down.

Nothing below server/ reads the environment; reconstruct/ and validation/ get
frozen params dataclasses built from these settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8080"
DEFAULT_DATA_DIR = Path(".meshsmith-data")


@dataclass(frozen=True)
class Settings:
    address: str = DEFAULT_ADDRESS
    http_address: str | None = DEFAULT_HTTP_ADDRESS
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None  # None: sqlite file in data_dir
    workers: int = 2
    max_queue: int = 64
    max_image_bytes: int = 32 * 2**20
    max_image_pixels: int = 40_000_000
    max_mesh_bytes: int = 256 * 2**20
    max_faces: int = 5_000_000
    default_faces: int = 20_000
    max_message_bytes: int = 64 * 2**20
    grace_s: float = 10.0
    previews: bool = True
    log_json: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


_ENV = {
    "address": ("MESHSMITH_ADDRESS", str),
    "http_address": ("MESHSMITH_HTTP_ADDRESS", str),
    "data_dir": ("MESHSMITH_DATA_DIR", Path),
    "database_url": ("MESHSMITH_DATABASE_URL", str),
    "workers": ("MESHSMITH_WORKERS", int),
    "max_queue": ("MESHSMITH_MAX_QUEUE", int),
    "previews": ("MESHSMITH_PREVIEWS", lambda v: v.lower() not in ("0", "false", "no")),
}


def load_settings(overrides: dict | None = None, environ: dict | None = None) -> Settings:
    """Settings from defaults < environment < explicit overrides (flags); None values are ignored."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    for name, (var, parse) in _ENV.items():
        if environ.get(var):
            values[name] = parse(environ[var])
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    if values.get("http_address") in ("", "off", "none"):
        values["http_address"] = None
    return Settings(**values)
