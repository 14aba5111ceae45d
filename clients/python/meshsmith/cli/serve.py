"""`meshsmith serve`: run the server in the foreground."""

from __future__ import annotations

import asyncio
import json
import logging
import sys


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record), "level": record.levelname, "logger": record.name, "message": record.getMessage()})


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="run the gRPC server (and the HTTP pull endpoint)")
    p.add_argument("--address", help="HOST:PORT to listen on (default 127.0.0.1:50051)")
    p.add_argument("--data-dir", help="where the registry and blobs live (default ./.meshsmith-data)")
    p.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite file in the data dir)")
    p.add_argument("--http-address", help="HOST:PORT of the HTTP pull endpoint, or 'off' (default 127.0.0.1:8080)")
    p.add_argument("--workers", type=int, help="worker processes (default 2)")
    p.add_argument("--no-previews", dest="previews", action="store_const", const=False, help="skip preview rendering")
    p.add_argument("--log-json", action="store_true", help="structured JSON logs")
    p.set_defaults(func=run)


def run(args) -> int:
    from server.app import serve
    from server.settings import load_settings

    handler = logging.StreamHandler(sys.stderr)
    if args.log_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    settings = load_settings(
        {
            "address": args.address,
            "data_dir": args.data_dir,
            "database_url": args.database_url,
            "http_address": args.http_address,
            "workers": args.workers,
            "previews": args.previews,
            "log_json": args.log_json or None,
        }
    )
    asyncio.run(serve(settings))
    return 0
