"""Hashed vertex welding (validation.corners.weld) and the load path's merge that skips a no-op."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from tests.conftest import MESHES
from validation import corners, formats
from validation.corners import weld


def _rows(rng: np.random.Generator, n: int) -> np.ndarray:
    base = rng.integers(0, 4, size=(int(rng.integers(1, 30)), 3)).astype(np.float64)
    base[0] = (-0.0, 0.0, 0.0)  # bitwise different from (0, 0, 0): kept apart, as the byte-row sort did
    return base[rng.integers(0, len(base), n)]


def _check(v: np.ndarray, first: np.ndarray, inverse: np.ndarray) -> None:
    assert np.array_equal(v[first][inverse].view(np.uint64), v.view(np.uint64))
    rows = v.view(np.dtype((np.void, 24))).reshape(-1)
    assert len(first) == len(np.unique(rows))
    assert (np.diff(first) > 0).all()  # first occurrences, in input order
    seen = np.full(len(first), len(v))
    np.minimum.at(seen, inverse, np.arange(len(v)))
    assert np.array_equal(seen, first)


def test_weld_merges_equal_rows_in_first_occurrence_order():
    rng = np.random.default_rng(7)
    for _ in range(50):
        v = _rows(rng, int(rng.integers(1, 400)))
        _check(v, *weld(v))


def test_weld_leaves_unique_rows_as_they_are():
    v = np.random.default_rng(1).random((1000, 3))
    first, inverse = weld(v)
    assert np.array_equal(first, np.arange(1000)) and np.array_equal(inverse, np.arange(1000))


def test_weld_hash_collisions_fall_back_to_the_exact_sort(monkeypatch):
    monkeypatch.setattr(corners, "_row_keys", lambda bits: np.zeros(len(bits), dtype=np.uint64))
    rng = np.random.default_rng(3)
    for _ in range(20):
        v = _rows(rng, int(rng.integers(2, 300)))
        _check(v, *weld(v))


@pytest.mark.parametrize("name", ["horse.ply", "stanford-bunny.obj", "teapot.obj", "spot/spot_triangulated.obj"])
def test_load_merge_matches_trimesh(name, monkeypatch):
    data = (MESHES / name).read_bytes()
    ours = formats.load_mesh(data, name.rsplit("/", 1)[-1])
    monkeypatch.setattr(formats, "_merge_vertices", lambda mesh: mesh.merge_vertices())
    theirs = formats.load_mesh(data, name.rsplit("/", 1)[-1])
    assert np.array_equal(ours.vertices, theirs.vertices) and np.array_equal(ours.faces, theirs.faces)


def test_load_merge_welds_a_triangle_soup():
    cow = trimesh.load(MESHES / "cow.obj", process=False)
    soup = trimesh.Trimesh(cow.triangles.reshape(-1, 3), np.arange(3 * len(cow.faces)).reshape(-1, 3), process=False)
    stl = trimesh.exchange.stl.export_stl(soup)
    out = formats.load_mesh(stl, "cow.stl")
    assert len(out.vertices) == len(cow.vertices) and len(out.faces) == len(cow.faces)
