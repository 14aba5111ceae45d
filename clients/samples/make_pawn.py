"""Draw the demo's sample image: a shaded chess pawn (a lathe profile) on a transparent background.

Made by this project from an analytic shape, so the demo ships no third-party data.
Run: .venv/bin/python clients/samples/make_pawn.py  ->  clients/samples/pawn.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 512
# (height from the bottom, radius) as fractions of the image, bottom to top.
PROFILE = np.array([
    (0.00, 0.30), (0.05, 0.30), (0.07, 0.26), (0.10, 0.24), (0.13, 0.25), (0.16, 0.20),
    (0.30, 0.13), (0.45, 0.09), (0.50, 0.15), (0.53, 0.15), (0.56, 0.09), (0.60, 0.10),
])
# the head: a sphere of radius 0.16 centred at height 0.76
_T = np.linspace(-np.pi / 2 + 0.45, np.pi / 2, 40)
PROFILE = np.vstack([PROFILE, np.c_[0.76 + 0.16 * np.sin(_T), 0.16 * np.cos(_T)]])


def render(size: int = SIZE) -> np.ndarray:
    """(size, size, 4) uint8 RGBA: Lambert-shaded surface of revolution, warm wood colour."""
    ys = (size - 1 - np.arange(size)) / size - 0.04  # height of each row, image bottom = 0.04 margin
    radius = np.interp(ys, PROFILE[:, 0], PROFILE[:, 1], left=0.0, right=0.0)
    # round the top: a sphere cap over the last segment
    xs = (np.arange(size) - size / 2) / size
    r = radius[:, None]
    inside = np.abs(xs)[None, :] < r
    nx = np.where(inside, xs[None, :] / np.maximum(r, 1e-6), 0.0)
    nz = np.sqrt(np.clip(1 - nx**2, 0, 1))
    light = np.array([-0.4, 0.5, 0.77])
    light /= np.linalg.norm(light)
    shade = np.clip(nx * light[0] + nz * light[2] + 0.25 * light[1], 0, 1) * 0.75 + 0.25
    base = np.array([196, 140, 82], dtype=float)
    rings = 1 + 0.06 * np.sin(ys * 140)[:, None]  # wood grain bands
    rgb = np.clip(shade[..., None] * base * rings[..., None], 0, 255).astype(np.uint8)
    alpha = (inside * 255).astype(np.uint8)
    return np.dstack([rgb, alpha])


if __name__ == "__main__":
    out = Path(__file__).with_name("pawn.png")
    Image.fromarray(render()).save(out, optimize=True)
    print(out)
