"""The lock installs on every Python the README names, and `make` says what it needs before pip fails."""

from __future__ import annotations

import importlib.metadata
import re
import stat
import subprocess
import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tools.build import check_python, pins
from tools.layout import ROOT


def readme_floor() -> str:
    """The oldest Python the README promises, as "3.11"."""
    claims = set(re.findall(r"Python (\d+\.\d+)\+", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert len(claims) == 1, f"the README names {sorted(claims) or 'no'} oldest Python (want one 'Python X.Y+')"
    return claims.pop()


def makefile_floor() -> str:
    return re.search(r"^PYTHON_FLOOR\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def test_readme_makefile_and_lock_name_the_same_oldest_python():
    floor = readme_floor()
    assert makefile_floor() == floor, f"Makefile PYTHON_FLOOR={makefile_floor()}, README says Python {floor}+"
    header = (ROOT / "requirements.txt").read_text().splitlines()[:3]
    assert any(f"resolved for Python {floor}.0 and newer" in line for line in header), (
        f"requirements.txt was not resolved for Python {floor}.0: run `make lock`\n" + "\n".join(header)
    )


def test_every_pin_supports_the_readmes_oldest_python():
    """Each pinned release's Requires-Python admits X.Y.0 for the README's "Python X.Y+"."""
    floor = Version(readme_floor() + ".0")
    lock = pins.read_lock()
    assert len(lock) > 50, f"requirements.txt pins only {len(lock)} packages: is it the full lock?"
    offenders = []
    for name, version in lock.values():
        dist = importlib.metadata.distribution(name)
        assert dist.version == version, f"requirements.txt pins {name}=={version}; installed: {dist.version}"
        requires = dist.metadata.get("Requires-Python")
        if requires and not SpecifierSet(requires).contains(floor, prereleases=True):
            offenders.append(f"{name}=={version} (Requires-Python {requires})")
    assert not offenders, (
        f"the README promises Python {floor}+, but these pins need more: {offenders}; "
        "run `make lock`, which resolves for the README's oldest Python"
    )


# --- the interpreter check `make` runs before `python -m venv` --------------------------------------
def test_the_check_says_what_was_found_what_is_needed_and_how_to_choose_another_python():
    lines = check_python.problems((3, 11), (3, 10, 13), "/usr/bin/python3.10", "python3", True)
    text = "\n".join(lines)
    assert "Python 3.11 or newer" in text and "Python 3.10.13" in text, text
    assert "python3 (/usr/bin/python3.10)" in text, text
    assert "make PYTHON=" in text, text


def test_the_check_explains_a_debian_python_without_venv():
    text = "\n".join(check_python.problems((3, 11), (3, 11, 2), "/usr/bin/python3", "/usr/bin/python3", False))
    assert "/usr/bin/python3 is Python 3.11.2" in text, text
    assert "apt-get install python3-venv" in text and "apt-get install python3.11-venv" in text, text
    assert "make PYTHON=" in text, text


@pytest.mark.parametrize("version", [(3, 11, 0), (3, 11, 2), (3, 12, 1), (4, 0, 0)])
def test_the_check_accepts_every_python_the_readme_names(version):
    assert check_python.problems((3, 11), version, "/usr/bin/python3", "python3", True) == []


def fake_python(tmp_path, version=None, without_ensurepip=False) -> str:
    """This interpreter behind a wrapper that claims another version or lacks ensurepip."""
    patch = []
    if version:
        patch.append(f"sys.version_info = {tuple(version) + ('final', 0)!r}")
    if without_ensurepip:
        patch.append("sys.modules['ensurepip'] = None")
    code = "; ".join(
        ["import runpy, sys", *patch, "sys.argv = sys.argv[1:]", "runpy.run_path(sys.argv[0], run_name='__main__')"]
    )
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{code}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


def make_check(python: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "check-python", f"PYTHON={python}"], cwd=ROOT, capture_output=True, text=True
    )


def test_make_passes_this_python():
    proc = make_check(sys.executable)
    assert proc.returncode == 0 and "make: " not in proc.stderr, proc.stderr


def test_make_stops_an_old_python_and_says_what_to_do(tmp_path):
    proc = make_check(fake_python(tmp_path, version=(3, 10, 13)))
    assert proc.returncode != 0
    assert f"needs Python {readme_floor()} or newer" in proc.stderr and "is Python 3.10.13" in proc.stderr, proc.stderr
    assert "make PYTHON=" in proc.stderr, proc.stderr


def test_make_stops_a_python_without_ensurepip_and_names_the_package(tmp_path):
    proc = make_check(fake_python(tmp_path, without_ensurepip=True))
    assert proc.returncode != 0
    assert "cannot create a virtualenv" in proc.stderr and "apt-get install python3-venv" in proc.stderr, proc.stderr


def test_make_names_an_interpreter_it_cannot_find(tmp_path):
    proc = make_check(str(tmp_path / "no-such-python3"))
    assert proc.returncode != 0
    assert "cannot find the Python interpreter" in proc.stderr and "make PYTHON=" in proc.stderr, proc.stderr


def test_make_checks_the_interpreter_before_creating_the_virtualenv():
    proc = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "venv"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if "tools/build/check_python.py" in line)
    venv = next(i for i, line in enumerate(lines) if " -m venv " in line)
    pip = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert check < venv < pip, proc.stdout


FAKE_REQUIRES = {
    "grading-tool": ["shared"],
    "events": ["shared[formats]"],
    "shared": ["slow-parser; extra == 'formats'"],
    "slow-parser": [],
}


@pytest.mark.parametrize("requires", [["shared", "events"], ["events", "shared"]])
def test_an_extra_asked_for_after_its_package_was_seen_is_still_followed(monkeypatch, requires):
    """`shared` reached plainly and as `shared[formats]`, in either order: what the extra pulls in is
    reachable (the bundle leaves out what only test-only requirements reach this way)."""
    graph = {**FAKE_REQUIRES, "test-tool": requires}
    monkeypatch.setattr(importlib.metadata, "requires", lambda name: graph[name])
    reached = pins.reachable([("test-tool", set())])
    assert "slow-parser" in reached, f"test-tool requiring {requires}: got {sorted(reached)}, want slow-parser in it"
    grading = pins.reachable([("grading-tool", set())])
    assert grading == {"grading-tool", "shared"}, f"reachable from grading-tool: {sorted(grading)}"
