"""The project's layout is defined once (tools/layout.py), and tools/ stands without tests/."""

from __future__ import annotations

import ast
import pathlib
import re
import zipfile

import pytest

from tools import layout
from tools.layout import ROOT

TOOLS = ROOT / "tools"
TESTS = ROOT / "tests"


def _tools_modules() -> list[pathlib.Path]:
    return sorted(p for p in TOOLS.rglob("*.py") if "__pycache__" not in p.parts)


def _test_module_names() -> set[str]:
    """What ``import X`` would find in tests/ if tests/ were on sys.path, and the folder itself."""
    return {p.stem for p in TESTS.glob("*.py")} | {p.name for p in TESTS.iterdir() if p.is_dir()} | {"tests"}


def _mentions_tests(node: ast.AST, names_for_tests: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "tests" in sub.value.split("/"):
            return True
        if isinstance(sub, ast.Name) and sub.id in names_for_tests:
            return True
    return False


def reaches_tests(source: str, test_modules: set[str]) -> list[str]:
    """Where ``source`` imports a module of tests/ or puts tests/ on sys.path, one line each."""
    tree = ast.parse(source)
    # names bound to a path that mentions tests/ (TESTS = ROOT / "tests"), followed to a fixed point
    names_for_tests: set[str] = set()
    while True:
        found = {
            t.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and _mentions_tests(n.value, names_for_tests)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        if found <= names_for_tests:
            break
        names_for_tests |= found
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [
                f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in test_modules
            ]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] in test_modules
        ):
            problems.append(f"line {node.lineno}: from {node.module} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value) == "sys.path"
            and _mentions_tests(node, names_for_tests)
        ):
            problems.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(ast.unparse(t).startswith("sys.path") for t in targets) and _mentions_tests(
                node.value, names_for_tests
            ):
                problems.append(f"line {node.lineno}: {ast.unparse(node)}")
    return problems


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import conftest", True),
        ("from attacks import ATTACKS", True),
        ("import tests.conftest", True),
        ("import sys\nsys.path.insert(0, 'tests')", True),
        ("import sys\nsys.path.insert(0, str(ROOT / 'tests'))", True),
        ("import sys\nTESTS = ROOT / 'tests'\nsys.path.append(str(TESTS))", True),
        ("import sys\nHERE = ROOT / 'tests'\nPATHS = [HERE]\nsys.path[:0] = [str(p) for p in PATHS]", True),
        ("from tools import notebooks, mutants", False),
        ("import sys\nsys.path.insert(0, str(unpacked))", False),
        ("name = 'tests/q1.py'", False),
    ],
)
def test_the_scan_finds_an_import_from_tests(source, expected):
    got = reaches_tests(source, {"conftest", "attacks", "tests"})
    assert bool(got) == expected, f"source {source!r}: expected {'a finding' if expected else 'none'}; got {got}"


def test_no_tool_imports_from_tests_or_puts_tests_on_sys_path():
    test_modules = _test_module_names()
    found = {
        str(p.relative_to(ROOT)): reaches_tests(p.read_text(encoding="utf-8"), test_modules) for p in _tools_modules()
    }
    found = {k: v for k, v in found.items() if v}
    assert not found, f"tools/ must stand without tests/ (move what both need into tools/); found {found}"


def test_the_layout_module_imports_nothing_of_tools():
    """tools/layout.py is the floor every tool stands on: it takes nothing from the other tools."""
    from test_house import package_imports

    imported = package_imports(TOOLS)["tools.layout"]
    assert not imported, f"tools/layout.py imports {sorted(imported)}"


def test_only_the_layout_module_derives_paths_from_its_own_location():
    """A module that names a project path from ``__file__`` defines it a second time: import it from tools.layout."""
    found = []
    for path in _tools_modules():
        if path == TOOLS / "layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and node.value is not None
                and any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node.value))
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, f"paths defined outside tools/layout.py: {found}"


def test_the_file_lists_say_what_the_build_ships_where():
    """The support files (the master's ``files:``) are what student/ holds beside the notebook; the
    autograder-only files (``autograder_files:``) are in the bundle and nowhere in student/."""
    support, autograder_only = set(layout.support_files()), set(layout.autograder_only_files())
    beside = {p.name for p in layout.STUDENT.iterdir()} - {
        layout.NOTEBOOK,
        layout.LEDGER,
        "requirements.txt",
    }
    assert support == beside, f"student/ holds {sorted(beside)} beside the notebook; expected {sorted(support)}"
    assert layout.REFERENCE in autograder_only and layout.AUTOGRADER_PACKAGE in autograder_only, (
        f"expected the reference and the autograder's package (trusted scoring, hidden tests); got {autograder_only}"
    )
    with zipfile.ZipFile(layout.AUTOGRADER_ZIP) as zf:
        # each entry of files/ by its name there: a file's, or the folder's its files are in
        bundled = {pathlib.PurePosixPath(n).parts[1] for n in zf.namelist() if n.startswith(f"{layout.BUNDLE_FILES}/")}
    missing = autograder_only - {layout.BUNDLE_REQUIREMENTS} - bundled
    assert not missing, f"autograder-only files missing from the bundle's {layout.BUNDLE_FILES}/: {sorted(missing)}"
    leaked = autograder_only & {p.name for p in layout.STUDENT.rglob("*")}
    assert not leaked, f"autograder-only files in student/: {sorted(leaked)}"


def _readme_layout_rows() -> dict[str, str]:
    """The README's "What is where" table: ``{first path in the row: the whole row}``."""
    text = (layout.ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        paths = re.findall(r"`([^`]+)`", line.split("|")[1]) if line.startswith("| `") else []
        if paths:
            rows[paths[0]] = line
    return rows


def test_the_readme_layout_table_matches_the_tree():
    """Every path the table names exists; every entry of assignment/, of the lab05 package and of
    tools/ is named in its row."""
    rows = _readme_layout_rows()
    named = [p for row in rows.values() for p in re.findall(r"`([^`]+)`", row.split("|")[1])]
    missing = [p for p in named if "/" in p and not (layout.ROOT / p).exists()]
    assert not missing, f"the README's layout table names paths that do not exist: {missing}"
    in_assignment = sorted(p.name for p in layout.ASSIGNMENT.iterdir() if p.name != "__pycache__")
    unnamed = [n for n in in_assignment if not any(f"assignment/{n}" in r or f"`{n}`" in r for r in rows.values())]
    assert not unnamed, f"assignment/ holds {unnamed}, which the README's layout table does not name"
    package_row = rows[f"assignment/{layout.SUPPORT_PACKAGE}/"]
    package = layout.ASSIGNMENT / layout.SUPPORT_PACKAGE
    entries = [
        p.name + ("/" if p.is_dir() else "") for p in package.iterdir() if p.name not in {"__pycache__", "__init__.py"}
    ]
    unnamed = sorted(e for e in entries if f"`{e}`" not in package_row)
    assert not unnamed, f"{package} holds {unnamed}, which the README's row for it does not name"
    folders = [TOOLS, *(p for p in TOOLS.iterdir() if p.is_dir() and p.name != "__pycache__")]
    for folder in folders:
        name = f"{folder.relative_to(ROOT).as_posix()}/"
        assert name in rows, f"the README's layout table has no row for {name}"
        modules = [
            p.name + ("/" if p.is_dir() else "")
            for p in folder.iterdir()
            if p.name not in {"__init__.py", "__pycache__"}
        ]
        unnamed = sorted(m for m in modules if f"`{m}`" not in rows[name])
        assert not unnamed, f"{name} holds {unnamed}, which the README's row for {name} does not name"
