"""Integrity flags (tools/grading/integrity.py): a static scan of a submission's code, no grading needed."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from tools.grading import integrity
from tools.layout import NOTEBOOK, ROOT, SOLUTIONS, STUDENT
from tools.qa import notebooks


def _flags(source: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for flag in integrity.scan_code([("cell 1", source)]):
        found.setdefault(flag.code, []).append(flag.detail)
    return found


def _nb_flags(nb, shipped=None) -> list[str]:
    return integrity.flag_codes(integrity.scan_notebook(json.loads(nbformat.writes(nb)), shipped, NOTEBOOK))


@pytest.mark.parametrize(
    "source, code",
    [
        ('print(open("tests/design_ledger.py").read())', "reads_grader_files"),
        ('import glob\nglob.glob("./tests/*.py")', "reads_grader_files"),
        ('from pathlib import Path\nlist(Path("tests").iterdir())', "reads_grader_files"),
        ('import os\nos.listdir("../tests/")', "reads_grader_files"),
        ("from lab05_autograder import hidden", "reads_grader_files"),
        ("from lab05_reference import transistor_tax", "reads_grader_files"),
        ('import zipfile\nzipfile.ZipFile("../source/autograder.zip").namelist()', "reads_grader_files"),
        ("!cat tests/*.py", "reads_grader_files"),
        ("grader.check = lambda *a, **k: None", "patches_grader"),
        ("import otter\notter.Notebook = object", "patches_grader"),
        ("from otter.execute import Checker\nChecker.get_results = lambda: []", "patches_grader"),
        ("from lab05 import checks\nchecks.check_transistor_tax = lambda env: None", "patches_grader"),
        ("from lab05 import validate\nvalidate.validate_count = lambda *a: None", "patches_grader"),
        ('import lab05.ledger\nlab05.ledger.LAST_WRITTEN["text"] = "{}"', "patches_grader"),
        ('from lab05.ledger import LAST_WRITTEN\nLAST_WRITTEN.update(text="{}")', "patches_grader"),
        ("import lab05.ledger as h\nh.IMPORTED_AT = 0", "patches_grader"),
        ('from lab05.constants import ACTIVATION_TRANSISTORS\nACTIVATION_TRANSISTORS["gelu"] = 1', "patches_grader"),
        ("import numpy as np\nnp.isclose = lambda *a, **k: True", "patches_grader"),
        ('import numpy as np\nsetattr(np, "allclose", lambda *a, **k: True)', "patches_grader"),
        ("import builtins\nbuiltins.isinstance = lambda *a: True", "patches_grader"),
        ('from unittest import mock\nmock.patch("lab05.assertions.fail").start()', "patches_grader"),
        ('import sys\nsys.modules["lab05.checks"] = None', "patches_grader"),
        ("grader = None", "patches_grader"),
        ('import json\njson.dump({"score": 33}, open("results.json", "w"))', "writes_results"),
        ('import pickle\npickle.dump(None, open("results.pkl", "wb"))', "writes_results"),
        ('open(".OTTER_LOG", "wb").write(b"")', "writes_results"),
        ('exec("pr" + "int(1)")', "dynamic_code"),
        ('import importlib\nimportlib.import_module("lab0" + "5_hidden")', "dynamic_code"),
        ('import subprocess\nsubprocess.run(["ls"])', "dynamic_code"),
        ("%run helper.py", "dynamic_code"),
    ],
)
def test_each_kind_of_tampering_is_flagged(source, code):
    found = _flags(source)
    assert code in found, f"code {source!r}: expected flag {code!r}, got {found}"


@pytest.mark.parametrize(
    "source",
    [
        'import os\nos.environ["OMP_NUM_THREADS"] = "1"',
        'import sys\nsys.path.append(".")',
        'import matplotlib.pyplot as plt\nplt.rcParams["figure.dpi"] = 100',
        'print("all tests passed")  # the tests/ folder in a comment is fine',
        'results = {"a": 1}\nresults.update(b=2)',
        'grader = otter.Notebook("lab05_nn_compute.ipynb")',
        'grader.check("transistor_tax")',
        "from lab05.ledger import record_design\nrecord_design(training_memory=None)",
        "import numpy as np\nnp.random.seed(0)\nx = np.ones(3)\nx[0] = 2",
    ],
)
def test_ordinary_code_is_not_flagged(source):
    found = _flags(source)
    assert not found, f"ordinary code {source!r} was flagged: {found}"


def test_the_solution_and_the_blank_notebook_raise_no_tampering_flags():
    solution = nbformat.read(str(SOLUTIONS / NOTEBOOK), as_version=4)
    got = _nb_flags(solution, [NOTEBOOK, "design_ledger.json"])
    assert got == [], f"the executed solution notebook: expected no flags, got {got}"
    blank = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    got = _nb_flags(blank)
    assert got == ["run_order"], f"the never-run student notebook: expected only run_order, got {got}"


def test_a_cell_that_does_not_parse_is_scanned_with_regular_expressions():
    found = _flags('def broken(:\n    grader.check = None\n    open("tests/q1.py")')
    assert set(found) >= {"patches_grader", "reads_grader_files"}, f"unparsable cell: got {found}"
    assert all("regex scan" in d for details in found.values() for d in details), found


def _numbered(counts):
    nb = notebooks.solution()
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    for cell, count in zip(code, counts(len(code))):
        cell.execution_count = count
    return nb


@pytest.mark.parametrize(
    "label, counts, flagged",
    [
        ("restart and run all", lambda n: range(1, n + 1), False),
        ("export cell not run yet", lambda n: list(range(1, n)) + [None], False),
        ("never run", lambda n: [None] * n, True),
        ("run out of order", lambda n: [2, 1] + list(range(3, n + 1)), True),
        ("a cell re-run (gap)", lambda n: [1, 2, 4] + list(range(5, n + 2)), True),
        ("kernel not restarted", lambda n: range(10, n + 10), True),
        ("a cell skipped", lambda n: [1, None] + list(range(2, n)), True),
    ],
)
def test_run_order(label, counts, flagged):
    got = _nb_flags(_numbered(counts))
    assert ("run_order" in got) == flagged, (
        f"{label}: expected run_order {'flagged' if flagged else 'not flagged'}, got {got}"
    )


def test_code_files_shipped_beside_the_notebook_are_flagged():
    nb = notebooks.executed(notebooks.solution())
    assert _nb_flags(nb, [NOTEBOOK, "design_ledger.json"]) == [], "notebook and ledger only: no flags"
    for extra in ("numpy.py", "tests/q1.py", "sitecustomize.py", "lab05/checks.py"):
        got = _nb_flags(nb, [NOTEBOOK, "design_ledger.json", extra])
        assert got == ["extra_files"], f"shipping {extra}: expected extra_files, got {got}"


def test_command_line_reports_flags(tmp_path):
    nb = notebooks.append_after(
        notebooks.executed(notebooks.solution()), "def max_trainable_width", "grader.check = None"
    )
    path = notebooks.write(nb, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tools.grading.integrity", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "patches_grader" in done.stdout, (done.returncode, done.stdout, done.stderr)
