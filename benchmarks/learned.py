"""Learned backends: import, load, inference and whole-pipeline times and peak memory, per backend.

    .venv/bin/python benchmarks/learned.py [--device cpu|cuda|auto] [--model depth=DIR] [--only KIND] [--repeat 5]
                                           [--json OUT]

Without --model the tiny random-weight test models are built in a temporary directory (what the tests use);
with --model the real weights in DIR are measured instead (a local Hugging Face directory, nothing is
downloaded). Peak memory: the process's VmHWM (CPU) and torch.cuda.max_memory_allocated (GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGE = ROOT.parent / "shared" / "corpus" / "images" / "chair.png"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_depth(model_dir: str, device: str, repeat: int, threads: int, import_s: float) -> dict:
    import torch

    from reconstruct.image import decode_image
    from reconstruct.learned import LearnedConfig, load
    from reconstruct.learned.depth import predict_depth
    from reconstruct.modes import ReconstructParams
    from server.pipeline import GenerateJob, generate
    from validation.decimate import DecimateParams

    config = LearnedConfig.build({"depth": model_dir}, device, threads=threads)
    data = IMAGE.read_bytes()
    rgb = decode_image(data)[..., :3]
    t = time.perf_counter()
    loaded = load("depth", config)
    load_s = time.perf_counter() - t
    cuda = loaded.info.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    predict_depth(rgb, config)
    first_s = time.perf_counter() - t
    warm_s = _median_s(lambda: predict_depth(rgb, config), repeat)
    model_rss = _peak_rss_mib()
    job = GenerateJob(image=data, reconstruct=ReconstructParams(texture_size=1024), decimate=DecimateParams(20000),
                      lod_ratios=(1.0,), previews=False, backend="depth", learned=config)
    pipeline_s = _median_s(lambda: generate(job, lambda *a: None), max(1, repeat // 2))
    classical = GenerateJob(image=data, reconstruct=ReconstructParams(texture_size=1024),
                            decimate=DecimateParams(20000), lod_ratios=(1.0,), previews=False)
    classical_s = _median_s(lambda: generate(classical, lambda *a: None), max(1, repeat // 2))
    return {
        "backend": "depth", "model": loaded.info.model_id, "device": loaded.info.device,
        "picture": f"{rgb.shape[1]}x{rgb.shape[0]}", "torch_threads": torch.get_num_threads(),
        "import_s": round(import_s, 2), "load_s": round(load_s, 3), "first_inference_s": round(first_s, 3),
        "warm_inference_s": round(warm_s, 3), "pipeline_s": round(pipeline_s, 2),
        "classical_pipeline_s": round(classical_s, 2), "peak_rss_mib_model": round(model_rss),
        "peak_rss_mib_pipeline": round(_peak_rss_mib()),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
    }


def bench_model(kind: str, model_dir: str, device: str, repeat: int, threads: int, import_s: float) -> dict:
    """caption / segment / shap-e / hunyuan3d: load, first and warm inference on the picture, peak memory."""
    import torch

    from reconstruct.image import decode_image
    from reconstruct.learned import LearnedConfig, load

    config = LearnedConfig.build({kind: model_dir}, device, threads=threads)
    rgba = decode_image(IMAGE.read_bytes())
    if kind == "caption":
        from reconstruct.learned.caption import caption_image

        def run():
            return caption_image(rgba[..., :3], config)
    elif kind in ("shap-e", "hunyuan3d"):
        from reconstruct.learned.hunyuan import hunyuan_from_picture
        from reconstruct.learned.shape import shape_from_picture
        from reconstruct.modes import ReconstructParams
        from reconstruct.segment import segment

        seg = segment(rgba)
        make = hunyuan_from_picture if kind == "hunyuan3d" else shape_from_picture

        def run():
            return make(seg, config, ReconstructParams(texture_size=1024))
    else:
        from reconstruct.learned.segment import segment_learned

        def run():
            return segment_learned(rgba, config)
    t = time.perf_counter()
    loaded = load(kind, config)
    load_s = time.perf_counter() - t
    cuda = loaded.info.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    run()
    first_s = time.perf_counter() - t
    warm_s = _median_s(run, repeat)
    return {
        "backend": kind, "model": loaded.info.model_id, "device": loaded.info.device,
        "picture": f"{rgba.shape[1]}x{rgba.shape[0]}", "torch_threads": torch.get_num_threads(),
        "import_s": round(import_s, 2), "load_s": round(load_s, 3), "first_inference_s": round(first_s, 3),
        "warm_inference_s": round(warm_s, 3), "peak_rss_mib_model": round(_peak_rss_mib()),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", action="append", default=[], metavar="KIND=DIR")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--only", action="append", default=[], metavar="KIND",
                    help="measure only these tiny models (alone in the process: its own peak RSS)")
    ap.add_argument("--hunyuan3d-sampling", default="2,32", metavar="STEPS,OCTREE",
                    help="the tiny hunyuan3d model's steps and octree resolution (Hunyuan3D's own: 30,256)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    models = dict(m.split("=", 1) for m in args.model)
    t = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        from tests import learned_models

        tiny = {"depth": learned_models.tiny_depth_model, "caption": learned_models.tiny_caption_model,
                "segment": learned_models.tiny_sam_model, "shap-e": learned_models.tiny_shap_e_model,
                "hunyuan3d": learned_models.tiny_hunyuan3d_model}
        for kind, build in tiny.items():
            # real weights given: measure only those; --only: only these tiny ones
            if kind not in models and not args.model and (not args.only or kind in args.only):
                extra = {}
                if kind == "hunyuan3d":
                    steps, octree = (int(x) for x in args.hunyuan3d_sampling.split(","))
                    extra = {"steps": steps, "octree_resolution": octree}
                models[kind] = str(build(Path(tmp) / f"tiny-{kind}", **extra))
        results = []
        for kind, where in models.items():
            if kind == "depth":
                results.append(bench_depth(where, args.device, args.repeat, args.threads, import_s))
            else:
                results.append(bench_model(kind, where, args.device, args.repeat, args.threads, import_s))
    for r in results:
        print(json.dumps(r))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
