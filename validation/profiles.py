"""Validation profiles: budgets and print settings, looked up by name in `PROFILES`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """A count limit: over `warn` -> warn, over `fail` -> fail (None: no such level)."""

    warn: int | None = None
    fail: int | None = None


@dataclass(frozen=True)
class Printer:
    """A print process: build volume (mm, X x Y x Z), minimum wall, overhang angle."""

    name: str
    build_mm: tuple[float, float, float]
    min_wall_mm: float
    overhang_deg: float = 45.0
    overhang_warn_share: float = 0.25  # warn above this share of area needing supports


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    faces: Budget = Budget(warn=1_000_000)
    vertices: Budget = Budget(warn=1_000_000)
    mesh_vertices: Budget | None = None  # per mesh, for 16-bit index buffers
    texture_px: Budget | None = None  # largest texture edge
    open_level: str = "warn"  # level of a mesh that is not watertight
    check_up_axis: bool = False  # +Y up plausibility (glTF / Unity / WebGL)
    printer: Printer | None = None
    require_real_back: bool = False  # fail a version whose unseen back was inferred (one picture, a guess)


FDM = Printer("FDM (Prusa MK4 bed)", (250.0, 210.0, 220.0), min_wall_mm=0.8)
SLA = Printer("SLA (Prusa SL1S volume)", (127.0, 80.0, 150.0), min_wall_mm=0.4)
U16 = 65_535

PROFILES: dict[str, Profile] = {
    "default": Profile(
        "default",
        "Geometry sanity for any asset: closed, manifold, outward, plausible size in metres.",
    ),
    "unity-pc": Profile(
        "unity-pc",
        "Unity (glTFast) on desktop: 300k triangles per asset, 16-bit index advice, 8K textures.",
        faces=Budget(warn=300_000, fail=1_000_000),
        vertices=Budget(warn=300_000, fail=1_000_000),
        mesh_vertices=Budget(warn=U16),
        texture_px=Budget(warn=4096, fail=8192),
        check_up_axis=True,
    ),
    "unity-mobile": Profile(
        "unity-mobile",
        "Unity on phones: 50k triangles, one mesh under 65,535 vertices (16-bit indices), 2K textures.",
        faces=Budget(warn=50_000, fail=100_000),
        vertices=Budget(warn=50_000, fail=U16),
        mesh_vertices=Budget(fail=U16),
        texture_px=Budget(warn=1024, fail=2048),
        check_up_axis=True,
    ),
    "webgl": Profile(
        "webgl",
        "Browsers (three.js/Babylon): 100k triangles is small, 350k+ large; 4K textures work on ~99% of devices.",
        faces=Budget(warn=100_000, fail=350_000),
        vertices=Budget(warn=100_000, fail=350_000),
        mesh_vertices=Budget(warn=U16),
        texture_px=Budget(fail=4096),
        check_up_axis=True,
    ),
    "fdm": Profile(
        "fdm",
        "FDM printing: watertight outward solid without self-intersections that fits a 250x210x220 mm bed, walls >= 0.8 mm.",
        faces=Budget(warn=2_000_000),
        vertices=Budget(warn=1_000_000),
        open_level="fail",
        printer=FDM,
    ),
    "sla": Profile(
        "sla",
        "Resin (SLA/MSLA) printing: watertight outward solid that fits 127x80x150 mm, walls >= 0.4 mm.",
        faces=Budget(warn=2_000_000),
        vertices=Budget(warn=1_000_000),
        open_level="fail",
        printer=SLA,
    ),
    "real-back": Profile(
        "real-back",
        "Print jobs that must not guess: fails a version whose back was inferred (one picture, or no view of "
        "the back), not seen; pair it with fdm or sla (`generate --require-real-back`).",
        require_real_back=True,
    ),
}
