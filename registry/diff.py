"""What changed between two versions: metric deltas, parameter changes, checks whose level changed, lineage."""

from __future__ import annotations

from .names import verdict_name
from .records import CheckChange, LineageChange, MetricDelta, ParamChange, VersionDiff, VersionRecord

METRICS = ("faces", "vertices", "volume_m3", "area_m2", "texture_size", "bodies")
# what made a version and what it says about itself; model fields from parameters.backend (learned backends)
LINEAGE = ("backend", "backend_version", "model_id", "revision", "weights_sha256", "device", "seed", "caption",
           "caption_tags")
MODEL_FIELDS = ("model_id", "revision", "weights_sha256", "device")


def _metrics(stats: dict) -> dict[str, float | None]:
    out = {m: _num(stats.get(m)) for m in METRICS}
    lo, hi = _xyz(stats.get("bbox_min")), _xyz(stats.get("bbox_max"))
    for axis in "xyz":
        a, b = _num(lo.get(axis)), _num(hi.get(axis))
        out[f"bbox_size_{axis}"] = None if a is None or b is None else b - a
    return out


def _xyz(v) -> dict:
    """A bbox corner stored as [x, y, z] (validation's MeshStats) or {"x", "y", "z"} (proto JSON)."""
    if isinstance(v, (list, tuple)) and len(v) == 3:
        return dict(zip("xyz", v))
    return v or {}


def _num(x) -> float | None:
    try:
        return None if x is None or isinstance(x, bool) else float(x)
    except (TypeError, ValueError):
        return None


def _flatten(d, prefix: str = "") -> dict:
    if not isinstance(d, dict) or not d:
        return {prefix: d} if prefix else {}
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _levels(reports) -> dict[tuple[str, str], str]:
    out = {}
    for r in reports:
        profile = str(r.get("profile") or "default")
        out[(profile, "verdict")] = verdict_name(r.get("verdict"))
        for c in r.get("checks") or ():
            out[(profile, str(c.get("id")))] = verdict_name(c.get("level"))
    return out


def lineage(v: VersionRecord) -> dict[str, str]:
    """A version's LINEAGE fields as text ("" where it has none: a classical version has no model)."""
    model = (v.parameters or {}).get("backend")
    model = model if isinstance(model, dict) else {}
    out = {"backend": v.backend or "", "backend_version": v.backend_version or ""}
    out.update({k: "" if model.get(k) is None else str(model[k]) for k in MODEL_FIELDS})
    out.update(seed=str(v.seed), caption=v.caption or "", caption_tags=", ".join(v.caption_tags or ()))
    return out


def diff_versions(a: VersionRecord, b: VersionRecord) -> VersionDiff:
    ma, mb = _metrics(a.stats or {}), _metrics(b.stats or {})
    metrics = tuple(
        MetricDelta(k, ma[k], mb[k], None if ma[k] is None or mb[k] is None else mb[k] - ma[k])
        for k in ma
        if ma[k] is not None or mb[k] is not None
    )
    pa, pb = _flatten(a.parameters or {}), _flatten(b.parameters or {})
    params = tuple(ParamChange(k, pa.get(k), pb.get(k)) for k in sorted(pa.keys() | pb.keys()) if pa.get(k) != pb.get(k))
    la, lb = _levels(a.reports), _levels(b.reports)
    checks = tuple(
        CheckChange(p, c, la.get((p, c)), lb.get((p, c))) for p, c in sorted(la.keys() | lb.keys()) if la.get((p, c)) != lb.get((p, c))
    )
    backend = None
    if (a.backend, a.backend_version) != (b.backend, b.backend_version):
        backend = (f"{a.backend} {a.backend_version}", f"{b.backend} {b.backend_version}")
    arts_a = {(x.kind, x.lod): x.sha256 for x in a.artifacts}
    arts_b = {(x.kind, x.lod): x.sha256 for x in b.artifacts}
    changed = tuple(
        f"{k}#lod{lod}" if k == "glb" else k for k, lod in sorted(arts_a.keys() | arts_b.keys()) if arts_a.get((k, lod)) != arts_b.get((k, lod))
    )
    ga, gb = lineage(a), lineage(b)
    lineage_changes = tuple(LineageChange(k, ga[k], gb[k]) for k in LINEAGE if ga[k] != gb[k])
    return VersionDiff(a.asset, a.number, b.number, metrics, params, checks, backend, changed, lineage_changes)
