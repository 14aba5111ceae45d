import pytest

from meshsmith.errors import InvalidInput
from registry import check_asset_name, parse_ref, parse_spec


@pytest.mark.parametrize("name", ["chair", "props/chair", "a/b/c/d/e/f/g/h", "x1.v2_b-3", "0abc"])
def test_good_names(name):
    assert check_asset_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "/props", "props/", "Props/chair", "props//chair", "a/../b", "a..b", "a/b/c/d/e/f/g/h/i", "x" * 201, "-a", ".a", "a b", "é"],
)
def test_bad_names_say_the_rule(name):
    with pytest.raises(InvalidInput, match="lowercase"):
        check_asset_name(name)


def test_specs_and_refs():
    assert parse_spec("props/chair") == ("props/chair", "latest", 0)
    assert parse_spec("props/chair@3") == ("props/chair", 3, 0)
    assert parse_spec("props/chair@stable#lod2") == ("props/chair", "stable", 2)
    assert parse_ref("") == "latest" and parse_ref(7) == 7
    for bad in ("props/chair@", "props/chair@0", "props/chair@Stable", "@stable", "a@b@c"):
        with pytest.raises(InvalidInput):
            parse_spec(bad)
