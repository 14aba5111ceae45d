from datetime import datetime, timedelta, timezone

import pytest

from meshsmith.errors import InvalidInput
from registry import HistoryQuery
from tests.registry.factory import new_version


@pytest.fixture
def five(reg):
    for i in range(1, 6):
        reg.create_version(new_version(i=i, author="ann" if i % 2 else "bob"))
    return reg


def numbers(records):
    return [v.number for v in records]


def test_history_filters(five):
    reg = five
    assert numbers(reg.history("props/chair")) == [5, 4, 3, 2, 1]
    assert numbers(reg.history("props/chair", HistoryQuery(limit=2))) == [5, 4]
    assert numbers(reg.history("props/chair", HistoryQuery(limit=2, before_number=4))) == [3, 2]
    assert numbers(reg.history("props/chair", HistoryQuery(author="bob"))) == [4, 2]
    assert numbers(reg.history("props/chair", HistoryQuery(profile="fdm", verdict="fail"))) == [4, 2]
    assert numbers(reg.history("props/chair", HistoryQuery(profile="fdm", verdict="CHECK_LEVEL_WARN"))) == [5, 3, 1]
    assert numbers(reg.history("props/chair", HistoryQuery(profile="default", verdict=1))) == [5, 4, 3, 2, 1]
    assert numbers(reg.history("props/chair", HistoryQuery(profile="unity-pc"))) == []
    v3 = reg.resolve("props/chair", 3)
    since = v3.created_at
    assert numbers(reg.history("props/chair", HistoryQuery(since=since))) == [5, 4, 3]
    assert numbers(reg.history("props/chair", HistoryQuery(until=since))) == [2, 1]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert numbers(reg.history("props/chair", HistoryQuery(since=future))) == []
    assert numbers(reg.history("props/chair", HistoryQuery(profile="fdm", verdict=0))) == [5, 4, 3, 2, 1]
    with pytest.raises(InvalidInput, match="verdict"):
        reg.history("props/chair", HistoryQuery(profile="fdm", verdict="great"))
    with pytest.raises(InvalidInput, match="timezone"):
        reg.history("props/chair", HistoryQuery(since=datetime(2024, 1, 1)))


def test_search_by_prefix_and_tags(reg):
    for name in ("props/chair", "props/chairs/armchair", "props/table", "chars/hero", "propsx"):
        reg.create_version(new_version(name))
    reg.set_asset_info("props/table", tags=["wood"], actor="a")
    reg.set_asset_info("props/chair", tags=["wood", "lowpoly"], actor="a")
    assert [a.name for a in reg.search("props/")] == ["props/chair", "props/chairs/armchair", "props/table"]
    assert [a.name for a in reg.search("props/chair")] == ["props/chair", "props/chairs/armchair"]
    assert [a.name for a in reg.search("props")] == ["props/chair", "props/chairs/armchair", "props/table", "propsx"]
    assert [a.name for a in reg.search("", tags=("wood",))] == ["props/chair", "props/table"]
    assert [a.name for a in reg.search("props/", tags=("wood", "lowpoly"))] == ["props/chair"]
    assert [a.name for a in reg.search(limit=2)] == ["chars/hero", "props/chair"]
    hit = reg.search("chars/")[0]
    assert hit.latest.number == 1 and hit.version_count == 1 and hit.channels[0].name == "latest"
    with pytest.raises(InvalidInput):
        reg.search("PROPS%")


def test_diff(five):
    reg = five
    reg.deprecate("props/chair", 4, "qa", "bad")
    d = reg.diff("props/chair", 3, 4)  # deprecated versions diff by number
    m = {x.name: x for x in d.metrics}
    assert (m["faces"].before, m["faces"].after, m["faces"].delta) == (300, 400, 100)
    assert m["bbox_size_y"].delta == pytest.approx(2.0)
    assert [(p.key, p.before, p.after) for p in d.parameters] == [("target_faces", 3000, 4000)]
    assert {(c.profile, c.check_id, c.before, c.after) for c in d.checks} == {
        ("fdm", "verdict", "warn", "fail"),
        ("fdm", "thickness.min", "warn", "fail"),
    }
    assert d.backend is None and set(d.artifacts_changed) == {"glb#lod0", "source"}
    same = reg.diff("props/chair", "latest", 5)
    assert same.parameters == () and same.checks == () and all(x.delta == 0 for x in same.metrics)


def test_diff_lineage_names_backend_model_weights_device_seed_and_caption(reg):
    model = {"name": "depth", "model_id": "org/depth-small", "revision": "abc123", "weights_sha256": "a" * 64,
             "device": "cuda"}
    reg.create_version(new_version(i=1, seed=7))
    reg.create_version(new_version(i=2, seed=9, backend="depth", backend_version="org/depth-small@abc123",
                                   parameters={"mode": "rgbd", "backend": model}, caption="a red chair",
                                   caption_tags=("red", "chair")))
    d = reg.diff("props/chair", 1, 2)
    assert [(c.field, c.before, c.after) for c in d.lineage] == [
        ("backend", "classic", "depth"), ("backend_version", "1.0.0", "org/depth-small@abc123"),
        ("model_id", "", "org/depth-small"), ("revision", "", "abc123"), ("weights_sha256", "", "a" * 64),
        ("device", "", "cuda"), ("seed", "7", "9"), ("caption", "", "a red chair"), ("caption_tags", "", "red, chair")]
    assert reg.diff("props/chair", 2, 2).lineage == ()


def test_audit_log_pages(five):
    events = five.audit_log(limit=3)
    assert len(events) == 3 and events[0].id > events[1].id > events[2].id
    older = five.audit_log(before_id=events[-1].id, limit=1000)
    assert len(older) == 10 - 3 and all(e.asset == "props/chair" for e in older)
