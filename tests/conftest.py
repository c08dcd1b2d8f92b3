"""Shared fixtures: import paths for the lab's modules, graded notebooks built once per run, and the sandbox's tests'
fixtures."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

import matplotlib
import matplotlib.pyplot as plt
import pytest

from tools import layout
from tools.layout import ASSIGNMENT, AUTOGRADER_ZIP, NOTEBOOK, ROOT, SOLUTIONS, STUDENT  # noqa: F401 (for tests)

matplotlib.use("Agg")
layout.import_lab_modules_from_the_project()


def grade(path: pathlib.Path, crosscheck: bool = False):
    """Grade a submission through the committed bundle (``crosscheck``: Otter's run in the kernel too);
    returns (results.json dict, {question: score})."""
    from tools.grading.grade_one import grade as grade_submission
    from tools.grading.results import question_scores

    results, _ = grade_submission(path, AUTOGRADER_ZIP, crosscheck=crosscheck)
    return results, {q: s for q, (s, _) in question_scores(results).items()}


def possible_points() -> dict[str, float]:
    """{question: max points} for the autograded questions, read from the bundle's tests."""
    from tools.grading.bundle import read_questions

    return read_questions(AUTOGRADER_ZIP)[1]


@pytest.fixture(autouse=True)
def close_figures():
    """Close every Matplotlib figure a test leaves open."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def solution_grades(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solution")
    shutil.copy(SOLUTIONS / NOTEBOOK, folder / NOTEBOOK)
    return grade(folder / NOTEBOOK, crosscheck=True)


@pytest.fixture(scope="session")
def student_grades(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    shutil.copy(STUDENT / NOTEBOOK, folder / NOTEBOOK)
    return grade(folder / NOTEBOOK)


def run_like_gradescope(root: pathlib.Path, submission_files: dict[str, bytes], cwd_first: bool = False) -> dict:
    """Lay out /autograder under ``root`` as Gradescope does and run the bundle's own entry point.

    ``cwd_first``: put the working directory (Otter works in the submission folder) first on
    ``sys.path`` instead of the script's folder, as `python -c` would: Otter then loads the plugin's
    copy in the submission folder.
    """
    source, submission, results = root / "source", root / "submission", root / "results"
    for folder in (source, submission, results):
        folder.mkdir(parents=True)
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        zf.extractall(source)
    for name, data in submission_files.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "assignment": {"title": "Lab 05"}}))
    # run_autograder activates Gradescope's conda env and runs run_otter.py against /autograder;
    # here the project's environment stands in for that env, and the folder for /autograder.
    entry = (source / "run_otter.py").read_text().replace('"/autograder"', repr(str(root)))
    # Gradescope runs `python /autograder/source/run_otter.py`: the script's folder, not the working
    # directory, is first on sys.path (with `-c` it would be the working directory, the submission).
    if not cwd_first:
        entry = f"import sys\nsys.path[0] = {str(source)!r}\n" + entry
    proc = subprocess.run([sys.executable, "-c", entry], cwd=source, capture_output=True, text=True, timeout=900)
    assert (results / "results.json").is_file(), f"no results.json; exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads((results / "results.json").read_text())


def read_json(path: pathlib.Path):
    return json.loads(path.read_text(encoding="utf-8"))


#: The notebook's answers a Design Ledger records, as a finished notebook sets them.
LEDGER_ANSWERS = dict(
    act1_prediction="C",
    act2_estimate_kib=900,
    act1_reflection_reason="A",
    act1_failure_mode="silent",
    act2_reflection="B",
    batch_doubling_ratio=1.067,
    batch_doubling_explanation="Only activations grow.",
    deployment_answer="B",
)


def complete_ledger(**overrides) -> dict:
    """A complete Design Ledger (lab05.ledger.build_ledger), with ``overrides`` in place of its fields."""
    import lab05.ledger

    fields = dict(
        activation_choice="relu",
        max_trainable_width_laptop_gpu=31_975,
        training_memory_estimate_error_kib=-932.4,
        batch_size_chosen=32,
        **LEDGER_ANSWERS,
    )
    fields.update(overrides)
    return lab05.ledger.build_ledger(**fields)


# The sandbox's tests (tests/test_sandbox_*.py, with tests/sandboxed.py)
@pytest.fixture(scope="module")
def bwrap_works():
    """Fails the module's tests, with the fix, where bubblewrap cannot run (no silent skip)."""
    from tools.grading import sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as exc:
        pytest.fail(f"the sandbox cannot run on this machine: {exc}")


@pytest.fixture
def scratch(tmp_path):
    """An empty folder to give a sandbox as its scratch."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.fixture(params=["cgroup-if-usable", "accounting"])
def enforcement(request, monkeypatch):
    """The memory enforcement a sandbox should report: this machine's cgroups if usable, or accounting
    (cgroups turned off, as where they are not writable)."""
    from tools.grading import sandbox

    if request.param == "accounting":
        monkeypatch.setattr(sandbox.cgroups, "USE_CGROUPS", False)
        return "accounting"
    found = sandbox.own_cgroups()
    return found[0] if found else "accounting"
