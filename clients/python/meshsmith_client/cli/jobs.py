"""`meshsmith watch`, `cancel`, `batch`: durable jobs from the command line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from meshsmith_client.cli.assets import MODES, _params, add_symmetry_flag, summary
from meshsmith_client.cli.common import AUTHOR_HELP, client_options, connect, to_json
from meshsmith_client.cli.progress import ProgressBar
from meshsmith.errors import InvalidInput
from meshsmith.v1 import ingest_pb2, jobs_pb2

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}  # the formats the server accepts (reconstruct/image.py)


def add_parser(sub) -> None:
    common = client_options()
    p = sub.add_parser("watch", parents=[common], help="re-attach to a job: its events so far, then live ones")
    p.add_argument("job_id")
    p.set_defaults(func=watch)

    p = sub.add_parser("cancel", parents=[common], help="cancel a job; no version is created")
    p.add_argument("job_id")
    p.set_defaults(func=cancel)

    p = sub.add_parser("batch", parents=[common], help="generate every image of a folder or CSV (image,name columns)")
    p.add_argument("source", type=Path, help="a folder of images, or a CSV with columns image,name")
    p.add_argument("--name-prefix", default="", help="asset name prefix for folder items, e.g. props/")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--author", default=None, help=AUTHOR_HELP)
    p.add_argument("--mode", choices=list(MODES), default="auto")
    p.add_argument("--height", type=float)
    p.add_argument("--width", type=float)
    p.add_argument("--depth", type=float)
    p.add_argument("--faces", type=int)
    p.add_argument("--texture-size", type=int)
    p.add_argument("--seed", type=int, default=0)
    add_symmetry_flag(p)
    p.add_argument("--profile", action="append", default=[])
    p.add_argument("--chunk", type=int, default=64, help="items sent per BatchGenerate call")
    p.set_defaults(func=batch)


def watch(args) -> int:
    bar = ProgressBar()
    version = None
    with connect(args) as client:
        try:
            for event in client.watch(args.job_id):
                if args.json:
                    print(to_json(event))
                else:
                    bar.update(event)
                if event.HasField("version"):
                    version = event.version
        finally:
            if not args.json:
                bar.close()
    if version is not None and not args.json:
        print(summary(version))
    return 0


def cancel(args) -> int:
    with connect(args) as client:
        job = client.cancel(args.job_id)
    print(to_json(job) if args.json else f"job {job.id}: {jobs_pb2.JobState.Name(job.state).removeprefix('JOB_STATE_').lower()}")
    return 0


def _asset_name(prefix: str, stem: str) -> str:
    return (prefix + stem).lower().replace(" ", "-").replace("_", "-")


def items_of(source: Path, prefix: str) -> list[tuple[str, Path]]:
    """(asset name, image path) pairs from a folder or a CSV with columns image,name."""
    if source.is_dir():
        return [(_asset_name(prefix, p.stem), p) for p in sorted(source.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if source.suffix.lower() == ".csv":
        with source.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if rows and not {"image", "name"} <= set(rows[0]):
            raise InvalidInput(f"{source} needs the columns image,name; it has {', '.join(rows[0])}")
        return [(prefix + r["name"], (source.parent / r["image"])) for r in rows]
    raise InvalidInput(f"{source} is neither a folder nor a .csv file")


def batch(args) -> int:
    """Sends the items in chunks; each item's request id (asset + image + params) makes a re-run resume."""
    items = items_of(args.source, args.name_prefix)
    if not items:
        raise InvalidInput(f"no images found in {args.source}")
    params = _params(args)
    ok = failed = reused = 0
    with connect(args) as client:
        for start in range(0, len(items), args.chunk):
            chunk = items[start : start + args.chunk]
            batch_items = []
            for name, path in chunk:
                try:
                    batch_items.append(ingest_pb2.BatchItem(asset=name, image=path.read_bytes()))
                except OSError as err:
                    batch_items.append(ingest_pb2.BatchItem(asset=name))
                    print(f"cannot read {path}: {err.strerror}", file=sys.stderr)
            request = ingest_pb2.BatchGenerateRequest(items=batch_items, params=params, concurrency=args.concurrency,
                                                      author=args.author or "")
            for part in client.batch(request):
                if part.HasField("item"):
                    r = part.item
                    status = f"ok v{r.version}" + (" (reused)" if r.reused else "") if r.ok else f"FAILED {r.error.code}: {r.error.message}"
                    print(to_json(r) if args.json else f"[{start + r.index + 1}/{len(items)}] {r.asset}: {status}", flush=True)
                else:
                    ok, failed, reused = ok + part.summary.ok, failed + part.summary.failed, reused + part.summary.reused
    print(f"summary: {len(items)} items, {ok} ok ({reused} already done), {failed} failed")
    return 0 if failed == 0 else 1
