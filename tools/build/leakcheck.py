"""Scan everything students receive for what only the autograder may hold.

    python -m tools.build.leakcheck [FOLDER]        (default: student/)

Reports, and exits 1 on, any of:
* a solution or prompt marker left by Otter Assign (``BEGIN SOLUTION``, ``# SOLUTION`` …);
* solution code: a statement of a reference function's body (after the argument checks that
  students are given) appearing in a student file;
* a hidden test: the autograder package's name, the hidden tests' or the name of one of them;
* an autograder-only file or folder (the master's ``autograder_files:``: the reference module and
  the autograder package, with trusted scoring, its probe and the hidden tests; and the grading
  requirements), anywhere in the tree;
* a reference value a hidden test checks (the chapter figures: parameter count, memory
  totals, maximum widths, extra transistors), written with or without thousands separators.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import sys
from collections.abc import Iterable

from tools import layout
from tools.layout import cell_source

REFERENCE = layout.SOLUTIONS / layout.REFERENCE
HIDDEN = layout.ASSIGNMENT / layout.HIDDEN  # the hidden tests (a folder of modules)
# (Otter keeps "<!-- BEGIN QUESTION -->" comments in students' markdown on purpose: they mark
# manually graded answers for PDF filtering, so they are not listed here.)
MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN PROMPT",
    "END PROMPT",
    "# SOLUTION",
    "BEGIN TESTS",
    "BEGIN TEST CONFIG",
    "hidden: true",
)


def _text(path: pathlib.Path) -> str:
    """A file's text; a notebook contributes its cells' sources and outputs."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return raw
    nb = json.loads(raw)
    parts = []
    for cell in nb.get("cells", []):
        parts.append(cell_source(cell))
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output))
    parts.append(json.dumps(nb.get("metadata", {})))
    return "\n".join(parts)


def solution_statements(reference_source: str) -> dict[str, list[str]]:
    """Each graded function's body statements that are the solution (not docstrings or given checks)."""
    out = {}
    for node in ast.parse(reference_source).body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        lines = []
        for stmt in node.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # docstring
            text = ast.unparse(stmt)
            if re.match(r"^\w+ = validate_\w+\(", text) or text.startswith("validate_"):
                continue  # argument checks are given to students
            lines.extend(
                line.strip()
                for line in text.splitlines()
                if len(line.strip()) > 12 and not re.fullmatch(r"return \w+", line.strip())
            )
        out[node.name] = lines
    return out


def hidden_names(hidden_sources: Iterable[str]) -> list[str]:
    """The autograder package's name, the hidden tests' names (``test_*``, from the sources of the
    hidden modules) and those of the bundle's test cases that call them (``test_*_hidden``)."""
    names = [layout.AUTOGRADER_PACKAGE]
    for source in hidden_sources:
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.append(f"{node.name}(")
                names.append(f"{node.name}_hidden")
    return names


def reference_values() -> dict[int, str]:
    """Values the hidden tests check on the chapter's cases, with where each comes from."""
    sys.path[:0] = [str(layout.ASSIGNMENT), str(REFERENCE.parent)]
    try:
        import lab05_reference as ref

        from lab05 import constants
    finally:
        del sys.path[:2]
    mnist = list(constants.MNIST_LAYER_SIZES)
    values = {
        ref.parameter_count(mnist): "parameter_count(MNIST)",
        ref.inference_memory(mnist): "inference_memory(MNIST)",
        ref.extra_transistors(1000, 10, "sigmoid"): "extra_transistors(1000, 10, 'sigmoid')",
    }
    for key, value in ref.training_memory(mnist, 32).items():
        values.setdefault(value, f"training_memory(MNIST, 32)[{key!r}]")
    for device, budget in constants.DEVICE_BUDGETS_BYTES.items():
        width = ref.max_trainable_width(budget)
        if width >= 1000:  # small widths (12) are too common a number to mean anything
            values.setdefault(width, f"max_trainable_width({device})")
    return values


def scan(folder: pathlib.Path) -> list[str]:
    """Every leak found in ``folder``, one readable line each."""
    problems = []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    solutions = solution_statements(REFERENCE.read_text(encoding="utf-8"))
    hidden = hidden_names(p.read_text(encoding="utf-8") for p in sorted(HIDDEN.glob("*.py")))
    values = reference_values()
    autograder_only = layout.autograder_only_files()
    patterns = {v: re.compile(rf"(?<![\w.,]){v}(?![\w,])|(?<![\w.,]){v:,}(?![\w,])") for v in values}
    for path in files:
        rel = path.relative_to(folder)
        if any(part in autograder_only for part in rel.parts):
            problems.append(f"{rel}: autograder-only file")
            continue
        text = _text(path)
        for marker in MARKERS:
            if marker in text:
                problems.append(f"{rel}: Otter marker {marker!r}")
        for name in hidden:
            if name in text:
                problems.append(f"{rel}: hidden test {name.rstrip('(')!r}")
        for function, statements in solutions.items():
            for statement in statements:
                if statement in text:
                    problems.append(f"{rel}: solution code of {function}: {statement!r}")
        for value, pattern in patterns.items():
            if pattern.search(text):
                problems.append(f"{rel}: reference value {value:,} ({values[value]})")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = pathlib.Path(args[0]) if args else layout.STUDENT
    if not folder.is_dir():
        print(f"leakcheck: {folder} is not a folder: build the student distribution with `make` first", file=sys.stderr)
        return 2
    problems = scan(folder)
    for line in problems:
        print(line)
    count = len(list(p for p in folder.rglob("*") if p.is_file()))
    print(f"leakcheck: {len(problems)} leak(s) in {count} file(s) under {folder}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
