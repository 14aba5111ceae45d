"""`meshsmith serve`: run the server in the foreground."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's `job_id` (logging extra) is carried as a field."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if getattr(record, "job_id", None):
            out["job_id"] = record.job_id
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="run the gRPC server (and the HTTP pull endpoint)")
    p.add_argument("--address", help="HOST:PORT to listen on (default 127.0.0.1:50051)")
    p.add_argument("--data-dir", help="where the registry and blobs live (default ./.meshsmith-data)")
    p.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite file in the data dir)")
    p.add_argument("--http-address", help="HOST:PORT of the HTTP pull endpoint, or 'off' (default 127.0.0.1:8080)")
    p.add_argument("--metrics-address", help="HOST:PORT (loopback only) serving GET /metrics without a key")
    p.add_argument("--http-idle-timeout", type=float, help="close HTTP connections without a complete request "
                   "this many seconds after opening or after their last response (default 15)")
    p.add_argument("--http-max-connections", type=int, help="open HTTP connections; beyond, 503 + Retry-After (default 512)")
    p.add_argument("--http-max-connections-per-peer", type=int,
                   help="open HTTP connections of one client address; beyond, 503 + Retry-After (default 64)")
    p.add_argument("--cors-origin", action="append", dest="cors_origins", metavar="ORIGIN",
                   help="let pages from ORIGIN (e.g. http://localhost:5173; '*' = any) call the API over gRPC-Web / "
                        "Connect on --http-address; repeatable (default: same-origin only)")
    p.add_argument("--workers", type=int, help="worker processes (default 2)")
    p.add_argument("--no-previews", dest="previews", action="store_const", const=False, help="skip preview rendering")
    p.add_argument("--max-queue", type=int, help="jobs that may wait for a worker before RESOURCE_EXHAUSTED (default 64)")
    p.add_argument("--max-jobs-per-caller", type=int, help="jobs one caller may have in flight (default 32)")
    p.add_argument("--grace", type=float, help="seconds to let running jobs finish on shutdown (default 10)")
    p.add_argument("--gc-grace", type=float, help="GC keeps unreferenced blobs younger than this many seconds (default 3600)")
    p.add_argument("--auth", action="store_true", default=None, help="require API keys (always on beyond loopback)")
    p.add_argument("--tls-cert", help="PEM certificate chain: serve gRPC and HTTP over TLS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates signed by it (mTLS)")
    p.add_argument("--allow-insecure", action="store_true", default=None, help="allow plaintext beyond loopback (behind a TLS proxy)")
    p.add_argument("--log-json", action="store_true", help="structured JSON logs")
    g = p.add_argument_group("learned backends (need `pip install -e '.[learned]'`; see `meshsmith backends`)")
    g.add_argument("--model", action="append", default=[], metavar="KIND=PATH_OR_ID",
                   help="the model of a learned backend, e.g. depth=/models/depth-anything-v2-small: a local directory "
                        "in the Hugging Face layout, or a hub id already in the local cache (nothing is downloaded); "
                        "segment=FILE.onnx: a salient-object ONNX model (U²-Net, ISNet, RMBG, BiRefNet export) in place "
                        "of the default cut-out model U²-Netp; repeatable")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where learned backends run (default auto: cuda "
                   "when torch sees a GPU, else cpu)")
    g.add_argument("--gpu-workers", type=int, help="worker processes for jobs that run a learned model, beside the "
                   "--workers pool, so classical jobs keep flowing (default: 1 with any --model, else 0; 0: learned "
                   "jobs share the --workers pool); jobs on one GPU still run one at a time")
    g.add_argument("--torch-threads", type=int, help="torch CPU threads per worker (default: torch's own); pin it "
                   "for byte-identical results across machines")
    r = p.add_argument_group("remote backend (a hosted image-to-3D API: Tripo; `generate --backend remote`)")
    r.add_argument("--remote-key-file", metavar="PATH", help="file (mode 0600) holding the Tripo API key (tsk_...); "
                   "else MESHSMITH_TRIPO_API_KEY; the key goes only to Tripo, never to the registry or logs")
    r.add_argument("--remote-url", metavar="URL", help="the API's base URL (default Tripo's, https://openapi.tripo3d.ai)")
    r.add_argument("--remote-timeout", type=float, metavar="S", help="upload + task + download limit in seconds, then "
                   "DEADLINE_EXCEEDED (default 600)")
    r.add_argument("--remote-poll", type=float, metavar="S", help="first wait between task polls, doubling up to "
                   "10 s (default 2)")
    r.add_argument("--remote-download-hosts", metavar="HOST[,HOST...]", help="hosts the vendor's model files may be "
                   "downloaded from besides --remote-url's own HOST:PORT (its CDN): HOST, HOST:PORT, *.DOMAIN[:PORT] "
                   "(default: none; without --remote-url, Tripo's own *.tripo3d.ai and *.tripo3d.com); "
                   "public addresses only, redirects checked the same way")
    p.set_defaults(func=run)


def _models(specs: list[str]) -> dict | None:
    """['depth=/models/x', ...] -> {'depth': '/models/x'}; ValueError on a malformed or repeated kind."""
    from reconstruct.learned import BACKENDS

    models: dict = {}
    for spec in specs:
        kind, sep, where = spec.partition("=")
        kind = kind.strip()
        if not sep or not kind or not where:
            raise ValueError(f"--model takes KIND=PATH_OR_ID (e.g. depth=/models/depth-anything), got {spec!r}")
        if kind not in BACKENDS:
            raise ValueError(f"--model {spec}: unknown kind {kind!r}; kinds: {', '.join(BACKENDS)}")
        if kind in models:
            raise ValueError(f"--model {kind}=... given twice")
        models[kind] = where
    return models or None


def run(args) -> int:
    from server.app import serve
    from server.settings import load_settings

    handler = logging.StreamHandler(sys.stderr)
    formatter = _JsonFormatter() if args.log_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    flags = {
        "address": args.address,
        "data_dir": args.data_dir,
        "database_url": args.database_url,
        "http_address": args.http_address,
        "metrics_address": args.metrics_address,
        "http_idle_timeout_s": args.http_idle_timeout,
        "http_max_connections": args.http_max_connections,
        "http_max_connections_per_peer": args.http_max_connections_per_peer,
        "cors_origins": tuple(args.cors_origins) if args.cors_origins else None,
        "workers": args.workers,
        "previews": args.previews,
        "log_json": args.log_json or None,
        "max_queue": args.max_queue,
        "max_jobs_per_caller": args.max_jobs_per_caller,
        "grace_s": args.grace,
        "gc_grace_s": args.gc_grace,
        "auth": args.auth,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "tls_client_ca": args.tls_client_ca,
        "allow_insecure": args.allow_insecure,
    }
    try:
        flags.update(models=_models(args.model), device=args.device, torch_threads=args.torch_threads,
                     remote_key_file=args.remote_key_file, remote_url=args.remote_url,
                     remote_timeout_s=args.remote_timeout, remote_poll_s=args.remote_poll,
                     remote_download_hosts=args.remote_download_hosts, gpu_workers=args.gpu_workers)
        settings = load_settings(flags)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    # serve() has drained the jobs and closed the sockets, the workers and the database; what is left is the
    # interpreter's teardown of gRPC, OpenCV and SciPy, which took seconds: skip it
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
