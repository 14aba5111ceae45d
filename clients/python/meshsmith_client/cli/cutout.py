"""`meshsmith cutout IMAGE [-o MASK.png] [--model segment=FILE.onnx | --local]`: the mask the pipeline would use.

Without --local or --model it asks the server (IngestService.Cutout), so the answer is the server's own cut-out
(its models included). --local, or --model naming an ONNX file, runs the same code here, no server needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from meshsmith_client.cli.common import client_options, connect, to_json


def add_parser(sub) -> None:
    p = sub.add_parser("cutout", parents=[client_options()],
                       help="the mask Generate would cut a picture out with, and which cut-out made it",
                       description="Print which cut-out the pipeline uses for IMAGE (its alpha, the plain-backdrop "
                       "model, or the salient-object model: U²-Netp by default) and any warning a Generate of it "
                       "would show; -o writes the mask (8-bit PNG, 255 object).")
    p.add_argument("image", type=Path)
    p.add_argument("-o", "--output", type=Path, help="write the mask PNG here")
    p.add_argument("--model", metavar="[segment=]FILE.onnx",
                   help="run here with this salient-object ONNX model (U²-Net, ISNet, RMBG, BiRefNet export), as "
                   "`serve --model segment=FILE.onnx` would; implies --local")
    p.add_argument("--local", action="store_true", help="run the cut-out here with the default model (no server)")
    p.set_defaults(func=cutout)


def _local(image: bytes, model: str | None) -> dict:
    from reconstruct.learned import LearnedConfig
    from server.cutout_task import CutoutJob, cutout as run

    config = LearnedConfig.build({"segment": model} if model else {}, "cpu")
    return run(CutoutJob(image=image, learned=config))


def cutout(args) -> int:
    image = args.image.read_bytes()
    model = args.model.removeprefix("segment=") if args.model else None
    if model and not model.lower().endswith(".onnx"):
        print("error: --model takes an ONNX file (segment=FILE.onnx); a SAM directory is a server's "
              "`serve --model segment=DIR`", file=sys.stderr)
        return 2
    if model or args.local:
        out = _local(image, model)
        mask, used, warnings = out["mask_png"], out["used"], out["warnings"]
        size, pixels = (out["width"], out["height"]), out["object_pixels"]
        as_json = json.dumps({k: v for k, v in out.items() if k != "mask_png"}, indent=2)
    else:
        with connect(args) as client:
            resp = client.cutout(image)
        mask, used, warnings = resp.mask_png, resp.used, list(resp.warnings)
        size, pixels = (resp.width, resp.height), resp.object_pixels
        resp.ClearField("mask_png")
        as_json = to_json(resp)
    if args.output:
        args.output.write_bytes(mask)
    if args.json:
        print(as_json)
        return 0
    print(f"cut out by {used}: {pixels} of {size[0]}x{size[1]} px are the object"
          + (f"; mask written to {args.output}" if args.output else ""))
    for w in warnings:
        print(f"warning: {w}")
    return 0
