"""Where the project keeps things, and which of the lab's files go where: each defined here once.

Every tool (tools/) and every test (tests/) takes these from here. The modules of assignment/
ship to students and to Gradescope, and name what they need themselves.

Which files students receive and which only the autograder holds is Otter Assign's config in the
master notebook (``files:`` and ``autograder_files:``): :func:`support_files` and
:func:`autograder_only_files` read it from there.
"""

from __future__ import annotations

import functools
import json
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "assignment"  # the only source an author edits
STUDENT = ROOT / "student"  # generated: what students receive
SOLUTIONS = ROOT / "solutions"  # generated: the reference module and the executed solution
AUTOGRADER = ROOT / "autograder"  # generated: Otter's autograder output
AUTOGRADER_ZIP = AUTOGRADER / "autograder.zip"  # the bundle for Gradescope, under the name the build gives it
GRADES = ROOT / "grades"  # where grading writes, by default
BATCH_GRADES = GRADES / "batch"  # make grade's default output folder

NAME = "lab05_nn_compute"  # the assignment's name (Otter's assignment_name)
NOTEBOOK = f"{NAME}.ipynb"  # the notebook's file name: master, student's, solution, submission
HANDOUT = f"{NAME}_handout.ipynb"  # the solution without Otter's markers, to hand out
REFERENCE = "lab05_reference.py"  # the reference module the build extracts into solutions/
SUPPORT_PACKAGE = "lab05"  # the support code students receive beside the notebook (a package)
#: The autograder's package (autograder only): trusted scoring, the probe, the hidden tests, the limits.
AUTOGRADER_PACKAGE = "lab05_autograder"
HIDDEN = f"{AUTOGRADER_PACKAGE}/hidden"  # the hidden tests (a subpackage of it)
MISTAKES_MODULE = f"{HIDDEN}/mistakes.py"  # the table of mistakes the hidden tests name
POLICY_MODULE = f"{AUTOGRADER_PACKAGE}/policy.py"  # every limit of grading, written once
PLUGIN = "lab05_otter.py"  # the plugin the bundle's config names: it loads the bundle's lab05_autograder/
LEDGER = "design_ledger.json"  # the Design Ledger the notebook writes
#: The grading environment's requirements file, as the master's config names it (``requirements:``);
#: the build writes it into the staged sources from the lock, and it must never reach students.
BUNDLE_REQUIREMENTS = "autograder_requirements.txt"
#: Where the bundle keeps the files of ``files:`` and ``autograder_files:`` (and its test files).
BUNDLE_FILES, BUNDLE_TESTS = "files", "tests"


def import_lab_modules_from_the_project() -> None:
    """Put assignment/ and solutions/ first on ``sys.path``, so that ``import lab05``,
    ``import lab05_autograder`` and ``import lab05_reference`` find the lab's code in the project.

    Grading imports the lab's modules once per process: imported from here, they stay valid for every
    grade, where a bundle's unpacked copy is deleted after its grade (tools that grade many times in
    one process call this first, as the tests do).
    """
    for folder in (ASSIGNMENT, SOLUTIONS):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string (a notebook file keeps it as a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


CONFIG_MARKER = "# ASSIGNMENT CONFIG"  # the first line of Otter Assign's config cell


def config_cell(cells: list) -> tuple[int, dict]:
    """``(index, parsed config)`` of Otter Assign's config in a notebook's ``cells``: the raw cell whose
    source starts with :data:`CONFIG_MARKER`, the YAML after that line."""
    import yaml

    for index, cell in enumerate(cells):
        source = cell_source(cell)
        if cell.get("cell_type") == "raw" and source.startswith(CONFIG_MARKER):
            return index, yaml.safe_load(source.split("\n", 1)[1]) or {}
    raise ValueError(f"no `{CONFIG_MARKER}` cell")


@functools.cache
def master_config(master: pathlib.Path = ASSIGNMENT / NOTEBOOK) -> dict:
    """Otter Assign's config in ``master``, parsed."""
    nb = json.loads(pathlib.Path(master).read_text(encoding="utf-8"))
    try:
        return config_cell(nb["cells"])[1]
    except ValueError as exc:
        raise ValueError(f"{master} has {exc}") from None


def support_files() -> tuple[str, ...]:
    """The files shipped beside the notebook to students (and into the bundle): the config's ``files:``."""
    return tuple(master_config().get("files", ()))


def support_file_names(root: pathlib.Path = ASSIGNMENT) -> tuple[str, ...]:
    """Every file of :func:`support_files` as a relative POSIX name, each folder listed file by file
    as it is under ``root`` (Python's bytecode caches left out)."""
    return file_names(support_files(), root)


def file_names(entries, root: pathlib.Path = ASSIGNMENT) -> tuple[str, ...]:
    """Every file of ``entries`` (names of files and folders under ``root``) as a relative POSIX
    name, each folder listed file by file (Python's bytecode caches left out)."""
    names = []
    for entry in entries:
        path = root / entry
        if path.is_dir():
            names += [
                p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            ]
        else:
            names.append(entry)
    return tuple(sorted(names))


def copy_into(item: pathlib.Path, folder: pathlib.Path) -> None:
    """Copy a file, or a folder without Python's bytecode caches, into ``folder``."""
    if item.is_dir():
        shutil.copytree(item, folder / item.name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy(item, folder / item.name)


def autograder_only_files() -> tuple[str, ...]:
    """The files only the autograder may hold: the config's ``autograder_files:`` and the grading
    environment's requirements."""
    return (*master_config().get("autograder_files", ()), BUNDLE_REQUIREMENTS)
