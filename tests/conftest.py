"""Shared fixtures: import paths for the lab's modules, graded notebooks built once per run, and the sandbox's tests'
fixtures."""

from __future__ import annotations

import json
import pathlib
import shutil

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
    """The bundle's own entry point on ``submission_files``, under ``root`` laid out as Gradescope's
    /autograder (``tools.qa.gradescope``); fails the test when it leaves no results.json."""
    from tools.qa.gradescope import GradescopeRunError
    from tools.qa.gradescope import run_like_gradescope as run

    try:
        return run(root, submission_files, cwd_first)
    except GradescopeRunError as exc:
        pytest.fail(str(exc))


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
