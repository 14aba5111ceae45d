"""Where a generated version's real-world size comes from, and the words that say so (issue 18 item 7).

A picture has no scale. A generate request either gives one (`target_height_m` / `target_width_m`, or a relief
plate in millimetres), or the asset's latest version lends its real size (the size parameters it was made with,
an imported version's bounding-box height), or the size is assumed: 1 m tall. Which one it was travels to the
worker as a `SizeBasis`, the worker measures the placed mesh and says it in a "size" event, and the version
records it in its parameters (`parameters.size`: `assumed`, `source`, `from_version`, `note`).

Pure: no SQL, no gRPC (the worker imports it); the registry lookup is the caller's (server/job_kinds.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEFAULT_HEIGHT_M = 1.0  # what a request without a size gets (and what convert.generate_params fills in)
SCALE_FIELDS = ("target_height_m", "target_width_m")


@dataclass(frozen=True)
class PriorSize:
    """The real (or assumed) size of an asset's latest version, as a new version can keep it."""

    number: int
    target_height_m: float | None
    target_width_m: float | None
    assumed: bool            # it was itself assumed (1 m tall): keeping it keeps it assumed
    imported: bool = False   # an imported mesh: its bounding-box height
    depth_m: float | None = None  # the depth it was given (None: its mode's default)
    relief: bool = False     # made in mode relief, whose depth_m is the relief above the plate, not a thickness


@dataclass(frozen=True)
class SizeBasis:
    """Where a generate job's size comes from, decided when the job starts (sent to the worker, recorded)."""

    source: str = "given"                 # "given" | "kept" (the latest version's real size) | "assumed" (1 m)
    from_version: int | None = None       # the version kept (or whose assumed size this repeats)
    imported: bool = False                # the kept size is that of an imported mesh
    depth_from_version: int | None = None  # depth_m kept from this version
    overrides: tuple[tuple[str, float | None], ...] = ()  # ReconstructParams fields set from the kept version

    def apply(self, params):
        """ReconstructParams with the kept version's sizes filled in."""
        return dataclasses.replace(params, **dict(self.overrides)) if self.overrides else params


def prior_size(version) -> PriorSize | None:
    """A stored version (registry.VersionRecord) -> the size a new version would keep from it; None when it says
    none (no measurements)."""
    p = version.parameters or {}
    stats = version.stats or {}
    if version.mode == "import" or version.backend == "import":
        lo, hi = stats.get("bbox_min"), stats.get("bbox_max")
        if not lo or not hi or hi[1] <= lo[1]:
            return None
        return PriorSize(version.number, float(hi[1] - lo[1]), None, assumed=False, imported=True)
    relief = p.get("mode") == "relief"
    depth = p.get("depth_m")
    depth = float(depth) if isinstance(depth, (int, float)) else None
    mm = p.get("relief") or {}
    if any(mm.get(k) for k in ("width_mm", "min_mm", "max_mm", "frame_mm")):  # a plate sized in millimetres
        lo, hi = stats.get("bbox_min"), stats.get("bbox_max")
        if not lo or not hi or hi[0] <= lo[0]:
            return None
        return PriorSize(version.number, None, float(hi[0] - lo[0]), assumed=False, depth_m=depth, relief=relief)
    height, width = p.get("target_height_m"), p.get("target_width_m")
    height = float(height) if isinstance(height, (int, float)) else None
    width = float(width) if isinstance(width, (int, float)) else None
    if height is None and width is None:
        return None
    record = p.get("size")
    if isinstance(record, dict) and "assumed" in record:
        assumed = bool(record["assumed"])
    else:  # made before versions said so: the 1 m default is what such a version almost always was
        assumed = width is None and height == DEFAULT_HEIGHT_M
    return PriorSize(version.number, height, width, assumed, depth_m=depth, relief=relief)


def choose(scale_given: bool, depth_given: bool, mode: str, prior: PriorSize | None) -> SizeBasis:
    """The job's size basis: what the request gives wins; else the latest version's real size; else 1 m, assumed.

    scale_given: the request sets target_height_m or target_width_m (or a relief plate in millimetres);
    depth_given: it sets depth_m; mode: the requested mode (a kept depth_m crosses between modes only when both
    or neither are relief, whose depth_m is the relief above its plate rather than the object's thickness).
    """
    if prior is None:
        return SizeBasis("given" if scale_given else "assumed")
    overrides: dict[str, float | None] = {}
    depth_from = None
    if not depth_given and prior.depth_m is not None and prior.relief == (mode == "relief"):
        overrides["depth_m"], depth_from = prior.depth_m, prior.number
    if scale_given:
        source = "given"
    elif prior.assumed:
        source = "assumed"  # still 1 m tall, still assumed: the request's own default already says so
    else:
        source = "kept"
        overrides.update(target_height_m=prior.target_height_m if prior.target_width_m is None else None,
                         target_width_m=prior.target_width_m)
    return SizeBasis(source, None if source == "given" else prior.number, prior.imported and source == "kept",
                     depth_from, tuple(sorted(overrides.items())))


def _m(x: float) -> str:
    return f"{x:.2f} m" if x >= 0.1 else f"{x * 1000:.3g} mm"


def describe(basis: SizeBasis, extents, width_given: bool, depth_assumed: str = "") -> tuple[str, dict]:
    """(note for the "size" event, "" when there is nothing to say; the record for parameters.size).

    extents: the placed mesh's (x, y, z) in metres; width_given: the size is a width (else a height);
    depth_assumed: why the depth was assumed ("" when it was given or is the mode's own measurement).
    """
    x, y, z = (float(e) for e in extents)
    size = f"{_m(x)} wide ({_m(y)} tall)" if width_given else f"{_m(y)} tall"
    notes = []
    if basis.source == "assumed":
        also = f", as version {basis.from_version}'s was" if basis.from_version else ""
        notes.append(f"size assumed: {size}{also} (no --height/--width given); pass --height M for the real size")
    elif basis.source == "kept":
        notes.append(f"size kept from version {basis.from_version}" + (" (imported)" if basis.imported else "")
                     + f": {size}; pass --height M to change it")
    if basis.depth_from_version:
        notes.append(f"depth kept from version {basis.depth_from_version}: {_m(z)}")
    if depth_assumed:
        notes.append(f"depth assumed: {_m(z)}, {depth_assumed} (no --depth given); pass --depth M for the real "
                     "thickness")
    note = "; ".join(notes)
    record = {"assumed": basis.source == "assumed", "source": basis.source}
    if basis.from_version:
        record["from_version"] = basis.from_version
    if basis.depth_from_version:
        record["depth_from_version"] = basis.depth_from_version
    if depth_assumed:
        record["depth_assumed"] = True
    if note:
        record["note"] = note
    return note, record


def keyed(parameters: dict) -> dict:
    """What a generated version's idempotence key hashes: its parameters without the size record's wording and
    lineage (`from_version`, the note), plus `size_assumed` when the size was assumed: an explicit size
    (even 1 m) makes a new version that says so, while a kept size equal to an earlier one reuses it.
    Versions made with a given size keep the keys they had before sizes were recorded."""
    record = parameters.get("size")
    out = {k: v for k, v in parameters.items() if k != "size"}
    if isinstance(record, dict) and record.get("assumed"):
        out["size_assumed"] = True
    return out
