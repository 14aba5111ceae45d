"""Service configuration: read once here (flags, then MESHSMITH_* environment), passed down.

Nothing below server/ reads the environment; reconstruct/ and validation/ get
frozen params dataclasses built from these settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from meshsmith import limits
from reconstruct.image import ImageLimits
from reconstruct.learned.base import HOSTED

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_HTTP_ADDRESS = "127.0.0.1:8080"
DEFAULT_DATA_DIR = Path(".meshsmith-data")


@dataclass(frozen=True)
class Settings:
    address: str = DEFAULT_ADDRESS
    http_address: str | None = DEFAULT_HTTP_ADDRESS
    cors_origins: tuple[str, ...] = ()  # origins (or "*") whose pages may call the API on http_address
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
    metrics_address: str | None = None  # open /metrics on its own loopback port; None: on http_address (admin under auth)
    http_idle_timeout_s: float = 15.0
    http_max_connections: int = 512
    http_max_connections_per_peer: int = 64  # one client address may hold this many; the rest get 503
    signed_url_max_s: int = 86400
    previews: bool = True
    log_json: bool = False
    # database time limits: a statement never runs longer than the call's deadline nor this cap
    db_statement_timeout_s: float = 30.0
    db_pool_timeout_s: float = 10.0  # wait for a free pooled connection, then RESOURCE_EXHAUSTED
    db_retry_s: float = 60.0  # a running job retries database calls this long while the database is away
    max_reads_per_caller: int = 4  # concurrent calls of one read method per caller; more wait, then RESOURCE_EXHAUSTED
    web_ui_dir: Path | None = None  # the built web app (default: clients/web/dist beside the sources)
    # learned backends (reconstruct/learned): kind -> local model directory or cached hub id (`--model KIND=PATH`),
    # the device they run on (auto|cpu|cuda[:N]) and torch's CPU threads (0: torch's default)
    models: dict = field(default_factory=dict)
    device: str = "auto"
    torch_threads: int = 0
    # the `remote` backend (reconstruct/learned/remote.py): a hosted image-to-3D API. The key is read here
    # from --remote-key-file (mode 0600) or MESHSMITH_TRIPO_API_KEY and goes only to the vendor; never printed
    remote_key: str = field(default="", repr=False)
    remote_key_source: str = ""  # where the key came from, for messages: "--remote-key-file PATH" or the variable
    remote_url: str = ""  # "" : the vendor's own API (tripo3d's default)
    remote_timeout_s: float = 600.0  # upload + task + download, then DEADLINE_EXCEEDED
    remote_poll_s: float = 2.0  # first wait between task polls (doubles up to 10 s)
    # where the vendor's model files may be downloaded from besides --remote-url's own HOST:PORT (a CDN):
    # HOST, HOST:PORT, *.DOMAIN[:PORT] (reconstruct/learned/fetch.py; no --remote-url: the vendor's own domains)
    remote_download_hosts: tuple[str, ...] = ()
    # worker processes only for jobs that run a learned model (so classical jobs keep flowing beside them);
    # None: 1 when a local --model is given (a hosted one, --model remote=..., loads nothing), else 0;
    # 0: learned jobs share the `workers` pool
    gpu_workers: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def local_models(self) -> bool:
        """True when a --model loads a torch model here (a hosted one, --model remote=..., loads nothing)."""
        return any(kind not in HOSTED and not (kind == "segment" and str(where).lower().endswith(".onnx"))
                   for kind, where in (self.models or {}).items())  # an ONNX cut-out runs in every worker

    @property
    def gpu_pool_size(self) -> int:
        """Worker processes of the GPU pool (0: no such pool)."""
        if self.gpu_workers is not None:
            return self.gpu_workers
        return 1 if self.local_models else 0

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

    @property
    def image_limits(self) -> ImageLimits:
        """What a picture may be (bytes, decoded pixels), for every job that decodes one."""
        return ImageLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


_ENV = {
    "address": ("MESHSMITH_ADDRESS", str),
    "http_address": ("MESHSMITH_HTTP_ADDRESS", str),
    "web_ui_dir": ("MESHSMITH_WEB_UI_DIR", Path),
    "cors_origins": ("MESHSMITH_CORS_ORIGINS", lambda v: tuple(o.strip() for o in v.split(",") if o.strip())),
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
    "metrics_address": ("MESHSMITH_METRICS_ADDRESS", str),
    "http_idle_timeout_s": ("MESHSMITH_HTTP_IDLE_TIMEOUT", float),
    "http_max_connections": ("MESHSMITH_HTTP_MAX_CONNECTIONS", int),
    "http_max_connections_per_peer": ("MESHSMITH_HTTP_MAX_CONNECTIONS_PER_PEER", int),
    "db_statement_timeout_s": ("MESHSMITH_DB_STATEMENT_TIMEOUT_S", float),
    "db_pool_timeout_s": ("MESHSMITH_DB_POOL_TIMEOUT_S", float),
    "db_retry_s": ("MESHSMITH_DB_RETRY_S", float),
    "max_reads_per_caller": ("MESHSMITH_MAX_READS_PER_CALLER", int),
    "remote_key_file": ("MESHSMITH_REMOTE_KEY_FILE", Path),
    "remote_url": ("MESHSMITH_REMOTE_URL", str),
    "remote_timeout_s": ("MESHSMITH_REMOTE_TIMEOUT_S", float),
    "remote_poll_s": ("MESHSMITH_REMOTE_POLL_S", float),
    "remote_download_hosts": ("MESHSMITH_REMOTE_DOWNLOAD_HOSTS", lambda v: tuple(v.split(","))),
    "gpu_workers": ("MESHSMITH_GPU_WORKERS", int),
}
REMOTE_KEY_ENV = "MESHSMITH_TRIPO_API_KEY"
MAX_GPU_WORKERS = 16  # jobs on one GPU run one at a time (a lock per device): more only helps with many GPUs


def split_address(address: str) -> tuple[str, int]:
    """"127.0.0.1:8080" -> ("127.0.0.1", 8080); IPv6 goes in brackets: "[::1]:8080" -> ("::1", 8080)."""
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        port = rest[1:] if sep and rest.startswith(":") else ""
    else:
        host, _, port = address.rpartition(":")
        if ":" in host:
            raise ValueError(f"{address!r}: write an IPv6 address in brackets, e.g. [::1]:{port}")
    if not (port.isascii() and port.isdigit() and 0 <= int(port) <= 65535):
        raise ValueError(f"{address!r} is not HOST:PORT (port 0-65535)")
    return host, int(port)


def is_loopback(address: str) -> bool:
    """True only if the host resolves, and every address it resolves to is a loopback address."""
    try:
        host, _ = split_address(address)
        if not host:
            return False  # empty host: every interface
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        addrs = {ipaddress.ip_address(info[4][0].partition("%")[0]) for info in infos}
    except (ValueError, OSError, UnicodeError):
        return False
    return bool(addrs) and all(a.is_loopback for a in addrs)


def _check_listener(what: str, address: str, s: "Settings") -> None:
    if is_loopback(address):
        return
    if not s.auth:
        raise ValueError(f"{what} {address} (beyond loopback) requires --auth; create keys with `meshsmith keys create`")
    if not s.tls_cert and not s.allow_insecure:
        raise ValueError(
            f"{what} {address} (beyond loopback) requires TLS (--tls-cert/--tls-key); "
            "--allow-insecure permits plaintext behind a TLS-terminating proxy"
        )


def check_exposure(s: "Settings") -> None:
    """Beyond loopback the server needs API keys, and TLS unless plaintext is explicitly allowed; the same
    rule for the gRPC and the HTTP address. The open metrics address must be loopback."""
    for what, address in (("listening on", s.address), ("--http-address", s.http_address)):
        if address:
            split_address(address)
            _check_listener(what, address, s)
    if s.metrics_address and not is_loopback(s.metrics_address):
        raise ValueError(f"--metrics-address {s.metrics_address} serves /metrics without a key, so it must be a "
                         "loopback address; beyond loopback scrape /metrics on --http-address with an admin key")
    if not 0 < s.http_idle_timeout_s <= 3600:
        raise ValueError("--http-idle-timeout must be in (0, 3600] s")
    for flag, value, (lo, hi) in (("--http-max-connections", s.http_max_connections, limits.HTTP_MAX_CONNECTIONS),
                                  ("--http-max-connections-per-peer", s.http_max_connections_per_peer,
                                   limits.HTTP_MAX_CONNECTIONS_PER_PEER)):
        if not lo <= value <= hi:
            raise ValueError(f"{flag} must be a whole number in [{lo}, {hi}], got {value}")


def check_gpu_workers(s: "Settings") -> None:
    """--gpu-workers N: 0..MAX_GPU_WORKERS, and a pool only where a --model gives it learned jobs to run."""
    if s.gpu_workers is None:
        return
    if isinstance(s.gpu_workers, bool) or not isinstance(s.gpu_workers, int) or not 0 <= s.gpu_workers <= MAX_GPU_WORKERS:
        raise ValueError(f"--gpu-workers must be a whole number in [0, {MAX_GPU_WORKERS}] (0: learned jobs share "
                         f"the --workers pool), got {s.gpu_workers!r}")
    if s.gpu_workers and not s.local_models:
        raise ValueError(f"--gpu-workers {s.gpu_workers} starts worker processes for learned jobs, but no local "
                         "--model KIND=DIR is given (a hosted backend, --model remote=..., runs in the --workers pool): "
                         "add the models, or drop --gpu-workers (MESHSMITH_GPU_WORKERS)")


def check_origin(origin: str) -> str:
    """"https://artists.example.com[:8443]" or "*"; a browser's Origin has no path and no trailing slash."""
    if origin == "*":
        return origin
    scheme, sep, rest = origin.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest or "?" in rest or "#" in rest:
        raise ValueError(f"--cors-origin {origin!r} is not an origin: give SCHEME://HOST[:PORT] with no path "
                         "(e.g. http://localhost:5173), or '*' for any origin")
    return origin.lower()


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
    for key in ("http_address", "metrics_address"):
        if values.get(key) in ("", "off", "none"):
            values[key] = None
    for key in ("tls_cert", "tls_key", "tls_client_ca"):
        if key in values:
            values[key] = Path(values[key])
    if "cors_origins" in values:
        values["cors_origins"] = tuple(check_origin(o) for o in values["cors_origins"])
    values.update(_remote_key(values.pop("remote_key_file", None), environ))
    _check_remote(values)
    settings = Settings(**values)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    check_exposure(settings)
    check_gpu_workers(settings)
    return settings


def _remote_key(key_file, environ) -> dict:
    """The hosted backend's API key: --remote-key-file (owner-only) wins over MESHSMITH_TRIPO_API_KEY. Errors
    name the file or the variable, never the key."""
    if key_file:
        path = Path(key_file).expanduser()
        try:
            mode = path.stat().st_mode & 0o777
            key = path.read_text().strip()
        except (OSError, UnicodeError) as err:
            raise ValueError(f"--remote-key-file {path}: cannot read it ({type(err).__name__})") from None
        if mode & 0o077:
            raise ValueError(f"--remote-key-file {path} is readable by others (mode {mode:o}): chmod 600 {path}")
        source = f"--remote-key-file {path}"
    elif environ.get(REMOTE_KEY_ENV):
        key, source = environ[REMOTE_KEY_ENV].strip(), REMOTE_KEY_ENV
    else:
        return {}
    if not key.startswith("tsk_") or len(key) > 512 or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError(f"the Tripo API key from {source} is not one (Tripo keys start with tsk_, one line, "
                         "no spaces): create one in Tripo's API platform")
    return {"remote_key": key, "remote_key_source": source}


def _check_remote(values: dict) -> None:
    """--remote-url is http(s) (plain http only to a loopback stand-in: the key travels in it); timeouts in range."""
    from meshsmith import limits
    from meshsmith.errors import InvalidInput

    remote = (values.get("models") or {}).get("remote")
    if remote is not None and not re.fullmatch(r"tripo(:[A-Za-z0-9][A-Za-z0-9._-]{0,63})?", remote):
        raise ValueError(f"--model remote={remote[:80]}: give remote=tripo or remote=tripo:MODEL_VERSION "
                         "(e.g. tripo:v2.5-20250123); Tripo is the one vendor supported")
    url = values.get("remote_url") or ""
    if url:
        scheme, sep, rest = url.partition("://")
        host = rest.split("/", 1)[0]
        if scheme not in ("http", "https") or not sep or not host or len(url) > 2048 or not url.isprintable():
            raise ValueError(f"--remote-url must be http(s)://HOST[:PORT][/PATH], got {url[:80]!r}")
        if scheme == "http" and not is_loopback(host if host.rpartition(":")[2].isdigit() else f"{host}:80"):
            raise ValueError(f"--remote-url {url[:80]}: plain http is allowed only to a loopback address (the API "
                             "key travels in every request); use https")
    if values.get("remote_download_hosts"):
        from reconstruct.learned.fetch import parse_host_patterns

        hosts = values["remote_download_hosts"]
        hosts = tuple(h for entry in ([hosts] if isinstance(hosts, str) else hosts) for h in entry.split(","))
        values["remote_download_hosts"] = tuple(str(p) for p in parse_host_patterns(hosts))  # ValueError: the usage
    for name, flag in (("remote_timeout_s", "--remote-timeout"), ("remote_poll_s", "--remote-poll")):
        if name in values:
            try:
                limits.check(name, values[name])
            except InvalidInput as err:
                raise ValueError(f"{flag}: {err.message}") from None
