"""The probe's files (``lab05_autograder.bundle``): the support package and the probe's own three
modules, nothing of trusted scoring, the hidden tests or the reference; and the probe's modules
import nothing else of the package."""

from __future__ import annotations

import ast

import pytest
from lab05_autograder import bundle

from tools.grading.bundle import unpack
from tools.layout import ASSIGNMENT, AUTOGRADER_PACKAGE, AUTOGRADER_ZIP, SUPPORT_PACKAGE

PROBE_FILES = {f"{AUTOGRADER_PACKAGE}/{name}" for name in bundle.PROBE_MODULES}


def _support_files(root) -> set[str]:
    package = root / SUPPORT_PACKAGE
    return {p.relative_to(root).as_posix() for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_the_probe_gets_the_support_package_and_its_own_modules_from_the_bundle(tmp_path):
    files = unpack(AUTOGRADER_ZIP, tmp_path / "source") / "files"
    got = bundle.probe_support(files)
    expected = PROBE_FILES | _support_files(files)
    assert set(got) == expected, f"extra {sorted(set(got) - expected)}, missing {sorted(expected - set(got))}"
    assert got[bundle.PROBE_SCRIPT] == (files / bundle.PROBE_SCRIPT).read_bytes(), "the probe is not the bundle's"


def test_outside_a_bundle_the_files_beside_the_package_are_used(tmp_path):
    got = bundle.probe_support(tmp_path / "no-bundle-here")
    assert set(got) == PROBE_FILES | _support_files(ASSIGNMENT), f"got {sorted(got)}"


@pytest.mark.parametrize("name", bundle.PROBE_MODULES)
def test_the_probes_modules_import_only_the_wire_and_the_policy_of_the_package(name):
    tree = ast.parse((ASSIGNMENT / AUTOGRADER_PACKAGE / name).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(AUTOGRADER_PACKAGE)):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(AUTOGRADER_PACKAGE)}
    assert found <= {"wire", "policy"}, (
        f"{name} imports {sorted(found)} of the package; the probe only has wire, policy"
    )
