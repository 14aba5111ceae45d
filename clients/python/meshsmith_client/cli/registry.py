"""`meshsmith promote`, `deprecate`, `diff`, `search`, `lock`, `url`, `pull --lock`, `gc`, `audit`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from meshsmith_client.cli.common import client_options, connect, split_ref, to_json
from meshsmith import limits
from meshsmith.errors import InvalidInput
from meshsmith_client.lockfile import lock_document
from meshsmith.v1 import types_pb2 as pb

LEVEL = {pb.CHECK_LEVEL_PASS: "pass", pb.CHECK_LEVEL_WARN: "warn", pb.CHECK_LEVEL_FAIL: "fail", 0: "-"}


MAX_EXPIRES_S = int(limits.LIMITS["url_expires_s"].hi)


def lifetime_s(text: str) -> int:
    """--expires: whole seconds in ASCII digits, 1..MAX_EXPIRES_S. ResolveLockRequest.url_expires_s is a uint32
    without presence, where 0 means "the server's default", so an explicit 0 (or a negative, which uint32 cannot
    carry) is refused here rather than turned into a one-hour URL."""
    if not (limits.ascii_digits(text, 12) and 1 <= int(text) <= MAX_EXPIRES_S):
        raise argparse.ArgumentTypeError(
            f"must be whole seconds from 1 to {MAX_EXPIRES_S} in ASCII digits, got {limits.quote(text, 24)}; leave "
            "--expires out for the server's default (3600 s): 0 would silently mean that default")
    return int(text)


def add_parser(sub) -> None:
    common = client_options()
    p = sub.add_parser("promote", parents=[common], help="point a channel at a version (promote or roll back)")
    p.add_argument("spec", help="NAME@VERSION (or NAME@otherchannel)")
    p.add_argument("channel")
    p.set_defaults(func=promote)

    p = sub.add_parser("deprecate", parents=[common], help="hide a version from channels and latest")
    p.add_argument("spec", help="NAME@VERSION")
    p.add_argument("--reason", default="")
    p.set_defaults(func=deprecate)

    p = sub.add_parser("diff", parents=[common], help="what changed between two versions")
    p.add_argument("a", help="NAME@A")
    p.add_argument("b", help="NAME@B with the same NAME (or just B); two different assets are refused")
    p.set_defaults(func=diff)

    p = sub.add_parser("search", parents=[common], help="assets by name prefix and tags")
    p.add_argument("prefix", nargs="?", default="")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--text", default="", help="words that must all appear in a version's caption (servers with "
                   "--model caption=DIR caption every generated version), e.g. \"red chair\"")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=search)

    p = sub.add_parser("lock", parents=[common], help="write assets.lock.json pinning NAME@CHANNEL specs")
    p.add_argument("specs", nargs="+", help="name, name@N or name@channel, optionally #lodK")
    p.add_argument("-o", "--output", type=Path, default=Path("assets.lock.json"))
    p.add_argument("--base-url", default="", help="URL base written in the lockfile (default: the server's HTTP address)")
    p.add_argument("--expires", type=lifetime_s, default=0, metavar="S",
                   help=f"with --auth servers: seconds the signed URLs live, 1 to {MAX_EXPIRES_S} (default: leave it out "
                        "for the server's 3600; 0 is refused, it would silently mean that default)")
    p.set_defaults(func=lock)

    p = sub.add_parser("url", parents=[common], help="an HTTP URL of a version's GLB; signed, so it needs no key header")
    p.add_argument("spec", help="name, name@N or name@channel, optionally #lodK")
    p.add_argument("--expires", type=lifetime_s, default=0, metavar="S",
                   help=f"seconds the signed URL lives, 1 to {MAX_EXPIRES_S} (default: leave it out for the server's 3600; "
                        "0 is refused, it would silently mean that default)")
    p.add_argument("--base-url", default="", help="URL base (default: the server's HTTP address)")
    p.set_defaults(func=url)

    p = sub.add_parser("gc", parents=[common], help="delete blobs no version references")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=gc)

    p = sub.add_parser("audit", parents=[common], help="re-hash every blob and report mismatches")
    p.set_defaults(func=audit)


def _number(ref: str) -> int:
    if not limits.ascii_digits(ref):
        raise InvalidInput(f"expected a version number, got {limits.quote(ref)} (e.g. props/chair@3)")
    return limits.check_version(ref)


def promote(args) -> int:
    name, ref = split_ref(args.spec)
    with connect(args) as client:
        ch = client.move_channel(name, args.channel, ref)
    print(to_json(ch) if args.json else f"{name}@{ch.name} -> version {ch.version} (moved by {ch.moved_by})")
    return 0


def deprecate(args) -> int:
    name, ref = split_ref(args.spec)
    with connect(args) as client:
        v = client.deprecate(name, _number(ref), args.reason)
    print(to_json(v) if args.json else f"{name}@{v.number} deprecated: pullable by number only")
    return 0


def diff(args) -> int:
    name, ref_a = split_ref(args.a)
    name_b, ref_b = split_ref(args.b) if "@" in args.b else (name, args.b)
    if name_b != name:
        raise InvalidInput(f"diff compares two versions of one asset, but {limits.quote(args.a)} and "
                           f"{limits.quote(args.b)} name two assets ({limits.quote(name)}, {limits.quote(name_b)}); "
                           f"use `meshsmith diff {name}@A {name}@B` (or `meshsmith diff {name}@A B`)")
    with connect(args) as client:
        d = client.diff(name, ref_a, ref_b)
    if args.json:
        print(to_json(d))
        return 0
    print(f"{d.asset}: {d.a} -> {d.b}")
    for c in d.lineage:
        print(f"  lineage {c.field}: {c.before or '-'} -> {c.after or '-'}")
    for m in d.metrics:
        before = m.before if m.HasField("before") else None
        after = m.after if m.HasField("after") else None
        delta = f" ({after - before:+g})" if before is not None and after is not None else ""
        print(f"  metric  {m.name}: {before} -> {after}{delta}")
    for p in d.parameters:
        print(f"  param   {p.key}: {p.before_json or '-'} -> {p.after_json or '-'}")
    for c in d.checks:
        print(f"  check   {c.profile}/{c.check_id}: {LEVEL[c.before]} -> {LEVEL[c.after]}")
    for a in d.artifacts_changed:
        print(f"  artifact {a} changed")
    return 0


def search(args) -> int:
    with connect(args) as client:
        assets = client.search(args.prefix, args.tag, args.limit, args.text)
    for a in assets:
        print(to_json(a) if args.json else f"{a.name:40} {a.version_count:>4} versions  tags: {', '.join(a.tags) or '-'}")
    return 0


def lock(args) -> int:
    with connect(args) as client:
        doc = lock_document(client.resolve_lock(args.specs, args.base_url, args.expires))
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(args.output)
    print(f"{args.output}: {len(doc['assets'])} assets pinned")
    return 0


def url(args) -> int:
    with connect(args) as client:
        print(client.url(args.spec, args.expires, args.base_url))
    return 0


def gc(args) -> int:
    with connect(args) as client:
        r = client.gc(dry_run=args.dry_run)
    if args.json:
        print(to_json(r))
    else:
        word = "would delete" if r.dry_run else "deleted"
        print(f"{word} {len(r.deleted)} unreferenced blobs ({r.bytes_freed} bytes); {r.kept_referenced} referenced kept")
    return 0


def audit(args) -> int:
    with connect(args) as client:
        r = client.audit()
    if args.json:
        print(to_json(r))
    else:
        print(f"checked {r.checked} blobs ({r.bytes_checked} bytes): {len(r.mismatched)} mismatched, {len(r.missing)} missing")
        for sha in r.mismatched:
            print(f"  MISMATCH {sha}")
        for sha in r.missing:
            print(f"  MISSING  {sha}")
    return 0 if not r.mismatched and not r.missing else 1
