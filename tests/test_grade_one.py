"""grade-one (tools/grading/grade_one.py) through the sandbox: a hostile notebook stays inside, no silent fallback,
another assignment refused, a command line that keeps what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from conftest import grade, possible_points

from tools.grading.grade_one import grade as grade_one
from tools.grading.results import GradeError
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


def test_grade_one_refuses_another_assignment_as_otter_does(tmp_path):
    """Without Otter's run (the default), grade-one makes Otter's check itself: a notebook whose
    metadata names another assignment is refused, naming both."""
    path = notebooks.write(notebooks.for_assignment(notebooks.solution(), "lab04_data_engineering"), tmp_path)
    with pytest.raises(GradeError) as caught:
        grade_one(path, AUTOGRADER_ZIP)
    text = str(caught.value)
    assert caught.value.status == "invalid", (
        f"input: a lab04 notebook; expected status invalid, got {caught.value.status}"
    )
    assert "lab04_data_engineering" in text and "lab05_nn_compute" in text, (
        f"input: a lab04 notebook; expected a message naming both assignments, got {text!r}"
    )


def test_grade_one_prints_scores_and_keeps_existing_results(tmp_path):
    submission = tmp_path / NOTEBOOK
    shutil.copy(SOLUTIONS / NOTEBOOK, submission)
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "tools.grading.grade_one", str(submission), "--out", str(out)]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    total = sum(possible_points().values())
    assert "total" in first.stdout and f"{total:g} / {total:g}" in first.stdout, first.stdout
    results = json.loads((out / "results.json").read_text())
    assert any(t.get("name") == "design_ledger" for t in results["tests"]), results
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert second.returncode == 2 and "already exists" in second.stderr, (second.returncode, second.stderr)
    forced = subprocess.run(cmd + ["--force"], cwd=ROOT, capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize("bad, message", [("missing.zip", "does not exist"), ("notes.txt", "is not a submission")])
def test_grade_one_rejects_what_it_cannot_grade(tmp_path, bad, message):
    path = tmp_path / bad
    if bad.endswith(".txt"):
        path.write_text("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.grading.grade_one", str(path), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and message in proc.stderr, (proc.returncode, proc.stderr)
