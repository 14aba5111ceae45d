"""Corpus meshes loaded once per session (tests only read them)."""

from __future__ import annotations

import functools

import pytest
import trimesh
from PIL import Image

from tests.conftest import MESHES
from validation.formats import load_mesh


@functools.cache
def _load(name: str) -> trimesh.Trimesh:
    path = MESHES / name
    mesh = load_mesh(path.read_bytes(), path.name)
    if name.startswith("spot/"):  # the OBJ has UVs but no .mtl: attach the texture beside it
        image = Image.open(MESHES / "spot" / "spot_texture.png")
        mesh.visual = trimesh.visual.TextureVisuals(uv=mesh.visual.uv, image=image)
    return mesh


@pytest.fixture(scope="session")
def corpus_mesh(corpus):
    """corpus_mesh('bunny.obj') -> a fresh copy of that corpus mesh."""
    return lambda name: _load(name).copy()


SPOT = "spot/spot_triangulated.obj"
