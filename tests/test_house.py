"""The house rules a maintainer can read a module by: short modules, short functions, no import circle.

Hand-written Python (assignment/, tools/, tests/) stays under :data:`MAX_MODULE_LINES` lines a module
and :data:`MAX_FUNCTION_LINES` lines a function (its ``def`` line to its last line, decorators left
out); the mutation corpora are data, not code, and are exempt. tools/, the autograder's package and
the students' package import no module that imports them back.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from tools.layout import ASSIGNMENT, ROOT

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: Data, not code: the mutation corpora (one entry per mistake, each a few lines of notebook source).
EXEMPT = {"tools/qa/mutation_corpus.py", "tools/qa/public_mutation_corpus.py"}
HAND_WRITTEN = ("assignment", "tools", "tests")


def hand_written_modules() -> list[pathlib.Path]:
    found = []
    for folder in HAND_WRITTEN:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in path.parts and path.relative_to(ROOT).as_posix() not in EXEMPT:
                found.append(path)
    return found


def long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    """``(qualified name, lines)`` of every function in ``source`` longer than ``limit`` lines."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = child.end_lineno - child.lineno + 1
                    if lines > limit:
                        found.append((name, lines))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_the_scan_measures_a_function_from_its_def_line_to_its_last():
    source = "@decorator\ndef f():\n" + "    x = 1\n" * 80 + "\nclass C:\n    def g(self):\n        return 1\n"
    assert long_functions(source, 80) == [("f", 81)], f"input: an 81-line function; got {long_functions(source, 80)}"
    assert long_functions(source, 81) == [], f"input: limit 81; got {long_functions(source, 81)}"


def test_no_hand_written_module_is_over_the_limit():
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in hand_written_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"


def test_no_function_is_over_the_limit():
    long = {}
    for path in hand_written_modules():
        for name, lines in long_functions(path.read_text(encoding="utf-8"), MAX_FUNCTION_LINES):
            long[f"{path.relative_to(ROOT).as_posix()}:{name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them by stage or by panel): {long}"


def package_imports(package: pathlib.Path) -> dict[str, set[str]]:
    """``{module of the package: the package's modules it imports}``, an import inside a function
    included, relative imports resolved."""
    root = package.parent
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        # a module importing its own package's __init__ (or a parent's) is how Python loads it, not a circle
        graph[name] = {m for m in found if m in modules and m != name and not name.startswith(f"{m}.")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[str]:
    found: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                found.add(" -> ".join([*path[path.index(target) :], target]))
            elif len(path) < len(graph):
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return sorted(found)


def test_the_circle_scan_finds_a_circle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n")
    assert circles(package_imports(package)), "input: a imports b, b imports a in a function; got no circle"


@pytest.mark.parametrize("package", [ROOT / "tools", ASSIGNMENT / "lab05_autograder", ASSIGNMENT / "lab05"])
def test_no_module_imports_one_that_imports_it_back(package):
    """No import circle (a package's modules importing their own package's ``__init__`` aside)."""
    found = circles(package_imports(package))
    assert not found, f"import circles in {package.relative_to(ROOT)}/: {found[:5]}"
