"""The `meshsmith` command line: `meshsmith serve`, `generate`, `pull`, `history`, `validate`..."""

from __future__ import annotations

import argparse
import sys

from meshsmith_client.cli import assets, cutout, jobs, keys, meshes, registry, serve, validate
from meshsmith.errors import MeshsmithError

# Each module adds its subcommands with `add_parser(subparsers)`; the parser's `func(args) -> int` runs it.
COMMAND_MODULES = (serve, assets, cutout, meshes, jobs, registry, keys, validate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshsmith", description="Image-to-3D asset ingest: generate, validate, version and pull meshes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MeshsmithError as err:
        print(f"error ({err.status}): {err.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
