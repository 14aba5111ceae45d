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
    worker_memory_mb: int | None = 6144  # address-space cap (RLIMIT_AS) per worker process; 0/None: no cap
    max_jobs_per_caller: int = 32
    max_attempts: int = 3
    max_image_bytes: int = 32 * 2**20
    max_image_pixels: int = 40_000_000
    max_mesh_bytes: int = 256 * 2**20
    max_faces: int = 5_000_000
    default_faces: int = 20_000
    max_message_bytes: int = 64 * 2**20
    grace_s: float = 10.0
    gc_grace_s: float = 3600.0
    auth: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    allow_insecure: bool = False
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
    "worker_memory_mb": ("MESHSMITH_WORKER_MEMORY_MB", int),
    "max_jobs_per_caller": ("MESHSMITH_MAX_JOBS_PER_CALLER", int),
    "previews": ("MESHSMITH_PREVIEWS", lambda v: v.lower() not in ("0", "false", "no")),
    "auth": ("MESHSMITH_AUTH", lambda v: v.lower() in ("1", "true", "yes")),
    "tls_cert": ("MESHSMITH_TLS_CERT", Path),
    "tls_key": ("MESHSMITH_TLS_KEY", Path),
    "tls_client_ca": ("MESHSMITH_TLS_CLIENT_CA", Path),
}

LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0] or address
    return host.startswith(LOOPBACK)


def check_exposure(s: "Settings") -> None:
    """Beyond loopback the server needs API keys, and TLS unless plaintext is explicitly allowed."""
    if is_loopback(s.address):
        return
    if not s.auth:
        raise ValueError(f"listening on {s.address} (beyond loopback) requires --auth; create keys with `meshsmith keys create`")
    if not s.tls_cert and not s.allow_insecure:
        raise ValueError(
            f"listening on {s.address} (beyond loopback) requires TLS (--tls-cert/--tls-key); "
            "--allow-insecure permits plaintext behind a TLS-terminating proxy"
        )


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
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        if key in values:
            values[key] = Path(values[key])
    settings = Settings(**values)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    check_exposure(settings)
    return settings
