"""Which reconstruction backend a request uses, and what `meshsmith backends` / ListBackends report.

The learned backends live in reconstruct.learned (torch only there); this module never imports torch
unless --device cuda asks whether a GPU is visible.
"""

from __future__ import annotations

from meshsmith.errors import InvalidInput
from meshsmith.v1 import types_pb2 as pb
from reconstruct import learned
from reconstruct.learned import AUTO, CLASSICAL, Availability, LearnedConfig
from reconstruct.learned.base import TRIPO_DEFAULT_MODEL, RemoteConfig
from server.settings import Settings


def learned_config(settings: Settings) -> LearnedConfig:
    """The learned backends' configuration from the settings (GPU locks live in the data directory)."""
    return LearnedConfig.build(settings.models, settings.device, settings.data_dir / "locks", settings.torch_threads,
                               remote_config(settings))


def remote_config(settings: Settings) -> RemoteConfig:
    """The hosted backend's settings: `--model remote=VENDOR[:MODEL_VERSION]` (default tripo and tripo3d's
    default model), the key, URL, time limits, and the import size cap for the downloaded model."""
    vendor, _, version = (settings.models or {}).get("remote", "tripo").partition(":")
    return RemoteConfig(vendor=vendor, model_version=version or TRIPO_DEFAULT_MODEL, base_url=settings.remote_url,
                        key=settings.remote_key, key_source=settings.remote_key_source,
                        timeout_s=settings.remote_timeout_s, poll_s=settings.remote_poll_s,
                        max_bytes=settings.max_mesh_bytes, download_hosts=settings.remote_download_hosts)


def backend_name(params: pb.GenerateParams) -> str:
    return params.backend or CLASSICAL


def resolve_backend(settings: Settings, params: pb.GenerateParams, more_inputs: bool = False
                    ) -> tuple[pb.GenerateParams, str]:
    """`backend: "auto"` -> (a copy of `params` naming the backend auto chose, "" for classical; why), checked
    like any backend; other requests -> (params, "") after check_backend. The job stores the resolved params,
    so the version, its idempotence key and a restarted job all see the chosen backend, never "auto".
    more_inputs: the request has extra views or a depth map, which learned backends do not take."""
    if params.backend != AUTO:
        check_backend(settings, params)
        return params, ""
    if more_inputs or params.mode not in (pb.RECONSTRUCT_MODE_UNSPECIFIED, pb.RECONSTRUCT_MODE_AUTO):
        mode = pb.ReconstructMode.Name(params.mode).removeprefix("RECONSTRUCT_MODE_").lower()
        asked = "has extra views or a depth map" if more_inputs else f"asks for mode {mode}"
        choice = learned.AutoChoice(CLASSICAL, f"auto chose classical: the request {asked}, and learned "
                                               "backends work from one picture with the mode on auto")
    else:
        choice = learned.choose_auto(learned_config(settings))
    resolved = pb.GenerateParams()
    resolved.CopyFrom(params)
    resolved.backend = "" if choice.backend == CLASSICAL else choice.backend
    check_backend(settings, resolved)
    return resolved, choice.reason


def check_backend(settings: Settings, params: pb.GenerateParams) -> str:
    """Before queueing: InvalidInput for an unknown backend, FailedPrecondition (naming `--model KIND=...` or
    the install step) when a learned one has no model or package here. Cheap: nothing is loaded."""
    name = backend_name(params)
    if name == AUTO:
        raise InvalidInput("backend 'auto' is resolved before the job is queued (server.backends.resolve_backend)")
    if name != CLASSICAL:
        if learned.spec(name).produces not in learned.base.SHAPE_PRODUCTS:
            raise InvalidInput(f"backend {name!r} makes no shape, so --backend cannot name it: with "
                               f"--model {name}=DIR on the server it runs on every generate")
        learned.check_ready(name, learned_config(settings))
    return name


def list_backends(settings: Settings) -> list[Availability]:
    """Every backend, classical first; learned ones say why they are unavailable (hashes weights once)."""
    config = learned_config(settings)
    classical = Availability(name=CLASSICAL, produces="mesh", available=True, device="cpu",
                             loads="geometric reconstruction (reconstruct/), no model")
    return [classical, *(learned.availability(name, config) for name in learned.BACKENDS)]
