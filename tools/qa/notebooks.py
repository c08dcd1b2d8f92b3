"""Submissions as the tools and tests make them: variants of the solution notebook.

Each variant is the solution notebook with one thing changed, for the mutation corpus
(tools/qa/mutation_corpus.py, tools/qa/mutation_runner.py), the benchmarks and the tests. A cell's
source, however the file stores it, is ``tools.layout.cell_source``.
"""

from __future__ import annotations

import ast
import copy
import pathlib
import zipfile

import nbformat

from tools.layout import NOTEBOOK, SOLUTIONS, STUDENT, copy_into


def copy_student_files(folder: pathlib.Path, notebook: bool = False) -> None:
    """Copy what students receive beside the notebook (the ``lab05/`` package, ``requirements.txt``)
    into ``folder``; the student notebook too when ``notebook`` is true."""
    for item in sorted(STUDENT.iterdir()):
        if notebook or item.suffix != ".ipynb":
            copy_into(item, folder)


def solution() -> nbformat.NotebookNode:
    """The executed solution notebook, outputs removed (as a student would submit it)."""
    nb = nbformat.read(str(SOLUTIONS / NOTEBOOK), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _defines(cell, name: str) -> bool:
    if cell.cell_type != "code":
        return False
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def replace_function(nb: nbformat.NotebookNode, name: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which the top-level function ``name`` is replaced by ``source``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if _defines(cell, name):
            tree = ast.parse(cell.source)
            lines = cell.source.splitlines()
            node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            cell.source = "\n".join(lines[:start] + source.strip("\n").splitlines() + lines[node.end_lineno :])
            return nb
    raise KeyError(f"no cell defines {name}")


def replace_cell(nb: nbformat.NotebookNode, contains: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose first code cell containing ``contains`` is replaced by ``source``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and contains in cell.source:
            cell.source = source
            return nb
    raise KeyError(f"no code cell contains {contains!r}")


def append_after(nb: nbformat.NotebookNode, contains: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a new code cell right after the first code cell containing ``contains``."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and contains in cell.source:
            new = nbformat.v4.new_code_cell(source)
            new.id = f"{cell.id}-extra"
            nb.cells.insert(i + 1, new)
            return nb
    raise KeyError(f"no code cell contains {contains!r}")


def write(nb: nbformat.NotebookNode, folder: pathlib.Path, extra: dict[str, str] | None = None) -> pathlib.Path:
    """Write ``nb`` as a submission in ``folder``: a bare notebook, or a zip when ``extra`` files are given."""
    folder.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb)
    if not extra:
        path = folder / NOTEBOOK
        path.write_text(text, encoding="utf-8")
        return path
    path = folder / "submission.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(NOTEBOOK, text)
        for name, content in extra.items():
            zf.writestr(name, content)
    return path


# ---------------------------------------------------------------------------------------------
# Helpers for the mutation corpus (tools/qa/mutation_corpus.py, tools/qa/mutation_runner.py)
# ---------------------------------------------------------------------------------------------
def function_source(nb: nbformat.NotebookNode, name: str) -> str:
    """The source of the top-level function ``name`` as the notebook defines it."""
    for cell in nb.cells:
        if _defines(cell, name):
            tree = ast.parse(cell.source)
            node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            return "\n".join(cell.source.splitlines()[start : node.end_lineno])
    raise KeyError(f"no cell defines {name}")


def edit_function(nb: nbformat.NotebookNode, name: str, old: str, new: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which the text ``old`` (found exactly once) in function ``name`` becomes ``new``."""
    source = function_source(nb, name)
    count = source.count(old)
    if count != 1:
        raise KeyError(f"{old!r} occurs {count} times in {name}, expected once")
    return replace_function(nb, name, source.replace(old, new))


def source_containing(nb: nbformat.NotebookNode, contains: str) -> str:
    """The source of the first code cell containing ``contains``."""
    for cell in nb.cells:
        if cell.cell_type == "code" and contains in cell.source:
            return cell.source
    raise KeyError(f"no code cell contains {contains!r}")


def set_variable(nb: nbformat.NotebookNode, name: str, expression: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which the cell that assigns ``name`` ends with ``name = expression``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        targets = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            cell.source = cell.source.rstrip("\n") + f"\n{name} = {expression}"
            return nb
    raise KeyError(f"no code cell assigns {name}")


def executed(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` numbered as "Restart and run all" leaves it: non-empty code cells 1, 2, 3, ..."""
    nb = copy.deepcopy(nb)
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip():
            count += 1
            cell.execution_count = count
    return nb


def for_assignment(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose Otter metadata names another assignment."""
    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("otter", {})["assignment_name"] = name
    return nb


def write_zip(path: pathlib.Path, files: dict[str, str | bytes]) -> pathlib.Path:
    """A zip at ``path`` holding ``files`` ({name in the zip: text or bytes})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path
