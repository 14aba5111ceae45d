"""Building NewVersion values for tests."""

from __future__ import annotations

import hashlib

from registry import NewArtifact, NewVersion


def new_version(asset: str = "props/chair", i: int = 1, **kw) -> NewVersion:
    """Version i of `asset`: distinct source image and glb bytes per i unless overridden."""
    src = kw.pop("source", f"image-{asset}-{i}".encode())
    glb = kw.pop("glb", b"glTF" + f"{asset}-{i}".encode() * 8)
    extra = tuple(kw.pop("extra_artifacts", ()))
    fields = dict(
        asset=asset,
        author="ann",
        source_sha256=hashlib.sha256(src).hexdigest(),
        parameters={"mode": "inflate", "target_faces": 1000 * i, "profiles": ["fdm"]},
        backend="classic",
        backend_version="1.0.0",
        seed=i,
        mode="inflate",
        artifacts=(NewArtifact("source", 0, src, "image/png"), NewArtifact("glb", 0, glb, "model/gltf-binary")) + extra,
        stats={
            "faces": 100 * i,
            "vertices": 52 * i,
            "watertight": True,
            "volume_m3": 0.5 * i,
            "bbox_min": {"x": 0.0, "y": 0.0, "z": 0.0},
            "bbox_max": {"x": 1.0, "y": 2.0 * i, "z": 1.0},
            "texture_size": 1024,
        },
        reports=(
            {"profile": "default", "verdict": "CHECK_LEVEL_PASS", "checks": [{"id": "watertight", "level": "CHECK_LEVEL_PASS"}]},
            {"profile": "fdm", "verdict": "CHECK_LEVEL_WARN" if i % 2 else "CHECK_LEVEL_FAIL",
             "checks": [{"id": "thickness.min", "level": "CHECK_LEVEL_WARN" if i % 2 else "CHECK_LEVEL_FAIL", "value": 0.7}]},
        ),
        repair={"parts_before": 2, "parts_after": 1, "holes_closed": i, "notes": ["closed holes"]},
    )
    fields.update(kw)
    return NewVersion(**fields)
