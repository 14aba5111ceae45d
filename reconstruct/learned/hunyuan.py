"""`hunyuan3d` backend: Hunyuan3D-2's shape model (hy3dgen's Hunyuan3DDiTFlowMatchingPipeline) -> a closed
mesh, textured by front projection of the picture, then meshsmith's own tail (decimation, repair, validation,
LODs) — the same tail as `shap-e`.

The model is read with `from_single_file(weights, config.yaml)` from a local directory (tencent/Hunyuan3D-2's
hunyuan3d-dit-v2-0 layout, see base.hunyuan3d_files); never `from_pretrained`, which downloads. The
pipeline runs to latents; the VAE decodes them to an occupancy-logit grid of (octree resolution + 1)³ in
[-1.01, 1.01]³, closed by a border of "outside" and cut at 0 by scikit-image's marching cubes; the largest
closed body is kept (a random or poor model leaves floaters). Its meshes are +Y up, the picture is taken to
look along -Z. The input is meshsmith's own cut-out (RGBA, transparent outside the mask), not rembg.
torch is imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshsmith.errors import FailedPrecondition, MeshsmithError
from reconstruct.params import ReconstructParams, Reconstruction
from reconstruct.segment import Segmented

from .base import LearnedConfig, device_lock, hunyuan3d_files, load as load_backend, model_flag
from .shape import ShapeResult, away_from_zero, largest_closed_body, onto_picture

BOX = 1.01  # hy3dgen's bounds of the decoded volume (box_v)
TARGET_PREFIX = "hy3dgen.shapegen."  # config.yaml names classes to build: only hy3dgen's own


@dataclass(frozen=True)
class HunyuanParams:
    """Sampling: flow-matching steps, classifier-free guidance scale, marching-cubes octree resolution (the
    grid has resolution + 1 points a side; at most 512, as Hunyuan3D's app allows), query points per VAE
    decoder call. Defaults are Hunyuan3D-2's own app's (30 steps, guidance 5, octree 256); a model's
    config.yaml may set them in a `meshsmith:` block."""

    steps: int = 30
    guidance_scale: float = 5.0
    octree_resolution: int = 256
    num_chunks: int = 8000

    def __post_init__(self):
        if not 1 <= self.steps <= 200 or not 8 <= self.octree_resolution <= 512 or self.num_chunks < 1:
            raise ValueError(f"hunyuan3d sampling out of range: {self}")

    @classmethod
    def from_config(cls, config: dict) -> "HunyuanParams":
        given = config.get("meshsmith") or {}
        unknown = set(given) - {"steps", "guidance_scale", "octree_resolution", "num_chunks"}
        if unknown:
            raise ValueError(f"unknown keys in config.yaml's meshsmith block: {', '.join(sorted(unknown))}")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in given.items()})


@dataclass
class HunyuanModel:
    pipeline: object  # hy3dgen Hunyuan3DDiTFlowMatchingPipeline
    params: HunyuanParams


def import_hy3dgen():
    """hy3dgen.shapegen, its logger quietened (it logs every load at INFO on stderr)."""
    import logging

    import hy3dgen.shapegen as shapegen
    import hy3dgen.shapegen.pipelines  # noqa: F401 - instantiate_from_config lives there

    logging.getLogger("hy3dgen.shapgen").setLevel(logging.WARNING)
    return shapegen


def check_config(config: dict, where: Path) -> None:
    """FailedPrecondition unless every part builds from hy3dgen's own classes and the image encoder's network
    is given inline (a `version` hub id would be downloaded by transformers)."""
    why = ""
    for part in ("model", "vae", "conditioner", "scheduler", "image_processor"):
        entry = config.get(part)
        target = entry.get("target", "") if isinstance(entry, dict) else ""
        if not str(target).startswith(TARGET_PREFIX):
            why = f"its {part} target {str(target)[:80]!r} is not one of hy3dgen.shapegen's classes"
    encoders = config["conditioner"].get("params") or {} if not why else {}
    for name, enc in (encoders.items() if isinstance(encoders, dict) else ()):
        if isinstance(enc, dict) and "config" not in (enc.get("kwargs") or {}):
            why = f"its conditioner's {name} names a hub model instead of an inline `config` (nothing is downloaded)"
    if why:
        raise FailedPrecondition(f"the hunyuan3d model's config.yaml in {where}: {why}; point "
                                 f"{model_flag('hunyuan3d')} at tencent/Hunyuan3D-2's hunyuan3d-dit-v2-0")


def load(model_dir: Path, device: str) -> HunyuanModel:
    """The pipeline on `device` (float16 on CUDA, float32 on the CPU) from config.yaml + the weights file."""
    import torch
    import yaml

    files = hunyuan3d_files(model_dir)
    if isinstance(files, str):
        raise FailedPrecondition(f"the hunyuan3d model directory {model_dir} has {files}")
    config_path, weights = files
    try:
        config = yaml.safe_load(config_path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise FailedPrecondition(f"the hunyuan3d model's config.yaml in {model_dir} does not read as YAML "
                                 f"({type(err).__name__})") from None
    if not isinstance(config, dict):
        raise FailedPrecondition(f"the hunyuan3d model's config.yaml in {model_dir} is not a mapping")
    check_config(config, model_dir)
    try:
        params = HunyuanParams.from_config(config)
    except (TypeError, ValueError) as err:
        raise FailedPrecondition(f"the hunyuan3d model's config.yaml in {model_dir}: {err}") from None
    shapegen = import_hy3dgen()
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipe = shapegen.Hunyuan3DDiTFlowMatchingPipeline.from_single_file(
        str(weights), str(config_path), device=device, dtype=dtype, use_safetensors=weights.suffix == ".safetensors")
    return HunyuanModel(pipe, params)


def cutout(seg: Segmented) -> np.ndarray:
    """(H, W, 4) uint8: the segmented crop, fully transparent outside its mask (what hy3dgen's own
    preprocessing recentres and puts on white)."""
    rgba = np.array(seg.rgba[..., :4], np.uint8)
    rgba[..., 3] = np.where(seg.mask, 255, 0)
    rgba[~seg.mask, :3] = 0
    return rgba


def hunyuan_from_picture(seg: Segmented, config: LearnedConfig, params: ReconstructParams,
                         seed: int = 0) -> ShapeResult:
    """Segmented crop -> textured watertight solid (mode "hunyuan3d") from the configured Hunyuan3D-2 model."""
    import torch
    from PIL import Image

    loaded = load_backend("hunyuan3d", config)
    model: HunyuanModel = loaded.model
    pipe, hp = model.pipeline, model.params
    who = f"the Hunyuan3D model {loaded.info.model_id}"
    with loaded.lock, device_lock(config, loaded.info.device), torch.inference_mode():
        generator = torch.Generator(device="cpu").manual_seed(seed)
        latents = pipe(image=Image.fromarray(cutout(seg), "RGBA"), num_inference_steps=hp.steps,
                       guidance_scale=hp.guidance_scale, generator=generator, octree_resolution=hp.octree_resolution,
                       output_type="latent", enable_pbar=False)
        vae = pipe.vae
        decoded = vae(latents / vae.scale_factor)
        grid = vae.volume_decoder(decoded, vae.geo_decoder, bounds=BOX, num_chunks=hp.num_chunks,
                                  octree_resolution=hp.octree_resolution, enable_pbar=False)
        grid = grid[0].float().cpu().numpy()
    vertices, faces = surface(grid, who)
    body = largest_closed_body(vertices, faces, who)
    mesh = onto_picture(body, seg, params)
    reason = (f"shape from {loaded.info.model_id} (Hunyuan3D-2, {hp.steps} steps, guidance {hp.guidance_scale:g}, "
              f"octree {hp.octree_resolution}), picture projected on the front")
    return ShapeResult(Reconstruction(mesh=mesh, mode="hunyuan3d", reason=reason), loaded.info)


def surface(grid: np.ndarray, who: str) -> tuple[np.ndarray, np.ndarray]:
    """(R+1)³ occupancy logits over [-BOX, BOX]³ (> 0 inside) -> (V, 3) vertices, (F, 3) faces wound outward.
    The grid gets a border of "outside" so that a body touching the box is closed there too, and its values
    are moved away_from_zero (no vertices closer than float32 tells apart)."""
    from skimage.measure import marching_cubes

    if not np.isfinite(grid).all():
        raise MeshsmithError(f"{who} gave a non-finite occupancy field for this picture")
    if grid.max() <= 0 or grid.min() >= 0:
        raise MeshsmithError(f"{who} produced no surface for this picture (its occupancy field has no zero crossing: "
                             f"{'all outside' if grid.max() <= 0 else 'all inside'})")
    padded = np.pad(away_from_zero(grid), 1, constant_values=min(float(grid.min()), -1.0))
    verts, faces, _, _ = marching_cubes(padded, 0.0, method="lewiner")
    step = 2 * BOX / (grid.shape[0] - 1)
    verts = (verts - 1) * step - BOX  # caps the border closed lie within one step outside the box
    return verts, np.ascontiguousarray(faces[:, ::-1])  # scikit-image winds them inward for a field > 0 inside
