import pytest

from meshsmith.errors import FailedPrecondition, InvalidInput, NotFound
from registry import HistoryQuery
from tests.registry.factory import new_version


@pytest.fixture
def three(reg):
    for i in (1, 2, 3):
        reg.create_version(new_version(i=i))
    return reg


def test_promote_and_rollback_are_audited(three):
    reg = three
    ch = reg.move_channel("props/chair", "stable", 2, "lead")
    assert (ch.name, ch.version, ch.moved_by) == ("stable", 2, "lead") and ch.moved_at.tzinfo
    assert reg.resolve("props/chair", "stable").number == 2
    reg.move_channel("props/chair", "qa", 3, "qa-bot")
    reg.move_channel("props/chair", "stable", "qa", "lead")  # promote what qa has
    assert reg.resolve("props/chair", "stable").number == 3
    reg.move_channel("props/chair", "stable", 2, "lead")  # roll back
    assert reg.resolve("props/chair", "stable").number == 2
    asset = reg.get_asset("props/chair")
    assert [(c.name, c.version) for c in asset.channels] == [("latest", 3), ("qa", 3), ("stable", 2)]
    assert asset.latest.number == 3 and asset.latest.channels == ("latest", "qa")
    moves = [(e.channel, e.version, e.actor, e.detail.get("from")) for e in reversed(reg.audit_log("props/chair")) if e.action == "channel.moved" and e.channel != "latest"]
    assert moves == [("stable", 2, "lead", None), ("qa", 3, "qa-bot", None), ("stable", 3, "lead", 2), ("stable", 2, "lead", 3)]
    # history by channel: versions stable ever pointed at
    assert [v.number for v in reg.history("props/chair", HistoryQuery(channel="stable"))] == [3, 2]
    assert [v.number for v in reg.history("props/chair", HistoryQuery(channel="latest"))] == [3, 2, 1]


def test_latest_cannot_be_moved_by_hand(three):
    with pytest.raises(InvalidInput, match="latest"):
        three.move_channel("props/chair", "latest", 1, "lead")
    with pytest.raises(InvalidInput, match="channel name"):
        three.move_channel("props/chair", "Stable!", 1, "lead")
    with pytest.raises(NotFound, match="no version 9"):
        three.move_channel("props/chair", "stable", 9, "lead")
    with pytest.raises(InvalidInput, match="actor"):
        three.move_channel("props/chair", "stable", 1, "")


def test_deprecated_versions_only_by_number(three):
    reg = three
    reg.move_channel("props/chair", "stable", 3, "lead")
    dep = reg.deprecate("props/chair", 3, "qa", "inverted normals")
    assert dep.deprecated and "latest" not in dep.channels
    assert reg.resolve("props/chair", "3").deprecated  # exact number still works
    assert reg.resolve("props/chair").number == 2  # latest moved back
    with pytest.raises(FailedPrecondition, match="deprecated.*inverted normals"):
        reg.resolve("props/chair", "stable")
    with pytest.raises(FailedPrecondition, match="deprecated"):
        reg.move_channel("props/chair", "qa", 3, "lead")
    with pytest.raises(FailedPrecondition):
        reg.lock(["props/chair@stable"], "http://h")
    reg.move_channel("props/chair", "stable", 2, "lead")
    assert reg.resolve("props/chair", "stable").number == 2
    assert reg.deprecate("props/chair", 3, "qa", "again").deprecated  # idempotent
    acts = [e.action for e in reg.audit_log("props/chair")]
    assert acts.count("version.deprecated") == 1
    assert reg.get_asset("props/chair").latest.number == 2
    # a new version becomes latest; deprecating everything leaves no latest
    assert reg.create_version(new_version(i=4)).number == 4
    for n in (1, 2, 4):
        reg.deprecate("props/chair", n, "qa", "cleanup")
    with pytest.raises(FailedPrecondition, match="all 4 versions"):
        reg.resolve("props/chair")
    asset = reg.get_asset("props/chair")
    assert asset.latest is None and asset.version_count == 4


def test_asset_info_and_tags(three):
    reg = three
    a = reg.set_asset_info("props/chair", "Oak chair", ["wood", "Furniture"], actor="ann")
    assert (a.description, a.tags) == ("Oak chair", ("furniture", "wood"))
    a = reg.set_asset_info("props/chair", tags=["wood", "lowpoly"], actor="ann")
    assert (a.description, a.tags) == ("Oak chair", ("lowpoly", "wood"))
    ev = reg.audit_log("props/chair", limit=1)[0]
    assert ev.action == "asset.tagged" and ev.detail["added"] == ["lowpoly"] and ev.detail["removed"] == ["furniture"]
    with pytest.raises(InvalidInput, match="tag"):
        reg.set_asset_info("props/chair", tags=["has space"], actor="ann")
    with pytest.raises(NotFound):
        reg.set_asset_info("props/nothing", "x", actor="ann")
