"""grade-one through the sandbox: a hostile notebook stays inside, results are validated, no silent fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from conftest import grade, possible_points

from tools.grading.grade_one import GradeError, bundle_questions, validate_results
from tools.grading.grade_one import grade as grade_one
from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, ROOT, SOLUTIONS
from tools.qa import notebooks

HOSTILE_CELL = """
import os, subprocess
for _target in {targets!r}:
    try:
        with open(_target, "w") as _f:
            _f.write("escaped")
    except OSError:
        pass
subprocess.Popen(["sh", "-c", "exec -a sleep-{token} sleep 1000"], start_new_session=True)
"""


def test_a_hostile_notebook_grades_normally_and_leaves_nothing_behind(tmp_path):
    token = uuid.uuid4().hex
    targets = [str(tmp_path / "escaped.txt"), str(ROOT / "escaped.txt"), os.path.expanduser("~/escaped.txt")]
    nb = notebooks.append_after(
        notebooks.solution(), "def max_trainable_width", HOSTILE_CELL.format(targets=targets, token=token)
    )
    _, scores = grade(notebooks.write(nb, tmp_path / "up"))
    possible = possible_points()
    assert scores == possible, f"input: the solution plus a hostile cell; expected full marks; got {scores}"
    escaped = [t for t in targets if os.path.exists(t)]
    assert not escaped, f"input: a cell writing to {targets}; expected no file outside the sandbox; got {escaped}"
    left = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if token.encode() in f.read():
                        left.append(entry.name)
            except OSError:
                pass
    assert not left, f"input: a cell starting a detached sleep; expected it gone after grading; got pids {left}"


@pytest.mark.parametrize(
    "results, words",
    [
        ({"tests": [{"name": "forged", "score": 1, "max_score": 1}]}, "not one of the bundle's questions"),
        ({"tests": [{"name": "deployment", "score": 3, "max_score": 2}]}, "0 <= score <= max_score"),
        ({"tests": [{"name": "deployment", "score": -1, "max_score": 2}]}, "0 <= score <= max_score"),
        ({"tests": [{"name": "deployment", "score": "2", "max_score": 2}]}, "expected numbers"),
        ({"tests": [{"name": "deployment", "score": 9, "max_score": 9}]}, "worth 9 in results.json but 2"),
        ({"tests": [{"name": "deployment", "score": 2, "max_score": 2}], "score": 33}, "not the sum of its tests"),
        ({"tests": "all passed"}, "list of tests"),
        ([], "list of tests"),
    ],
)
def test_results_that_are_not_the_bundles_are_errors(results, words):
    questions = bundle_questions(AUTOGRADER_ZIP)
    with pytest.raises(GradeError) as caught:
        validate_results(results, questions)
    assert words in str(caught.value), f"input: {results}; expected an error saying {words!r}; got {caught.value}"


def test_otters_own_results_are_valid(solution_grades):
    results, _ = solution_grades
    assert validate_results(results, bundle_questions(AUTOGRADER_ZIP)) is results


def _cli(tmp_path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    submission = tmp_path / NOTEBOOK
    submission.write_bytes((SOLUTIONS / NOTEBOOK).read_bytes())
    return subprocess.run(
        [sys.executable, "-m", "tools.grading.grade_one", str(submission), "--out", str(tmp_path / "out"), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_without_bwrap_grade_one_refuses_with_the_fix(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "UNSANDBOXED"}
    env["PATH"] = str(tmp_path)  # no bwrap on it
    proc = _cli(tmp_path, env)
    assert proc.returncode == 2, (
        f"input: no bwrap, no UNSANDBOXED; expected exit 2; got {proc.returncode}: {proc.stderr}"
    )
    for words in ("apt-get install bubblewrap", "UNSANDBOXED=1"):
        assert words in proc.stderr, f"expected the refusal to say {words!r}; got {proc.stderr!r}"
    assert not (tmp_path / "out").exists(), "nothing is written when grading is refused"


def test_unsandboxed_grading_says_so_in_the_output_and_scores(tmp_path):
    env = dict(os.environ, UNSANDBOXED="1", PATH=str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    proc = _cli(tmp_path, env, "--timeout", "300")
    assert proc.returncode == 0, proc.stderr
    assert "WITHOUT the sandbox" in proc.stderr and "WITHOUT the sandbox" in proc.stdout, (proc.stdout, proc.stderr)
    scores = (tmp_path / "out" / "scores.txt").read_text()
    assert "WITHOUT the sandbox" in scores, f"expected scores.txt to mark the run unsandboxed; got {scores!r}"
    total = sum(possible_points().values())
    assert f"{total:g} / {total:g}" in scores, scores
    assert json.loads((tmp_path / "out" / "results.json").read_text())["tests"]


def test_a_timeout_stops_grading(tmp_path):
    nb = notebooks.replace_cell(
        notebooks.solution(), "batch_doubling_ratio = ", "import time\nwhile True:\n    time.sleep(1)"
    )
    with pytest.raises(GradeError) as caught:
        grade_one(notebooks.write(nb, tmp_path), AUTOGRADER_ZIP, timeout=8)
    assert "did not finish within 8 s" in str(caught.value), str(caught.value)
