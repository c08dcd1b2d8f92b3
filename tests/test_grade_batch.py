"""Batch grading (tools/grading/grade_batch.py, tools/grading/batch/): one mixed Gradescope export graded once, checked many ways.

The fixture submissions (tests/batch_export.py) are generated from the solution and student
notebooks: good ones, broken ones (corrupt, no notebook, two notebooks, another assignment),
misbehaving ones (a cell that raises, loops forever, kills its kernel, eats memory, prints 200 MB)
and one that tampers with the grader. They are graded together in ONE batch (module fixture) to
keep the suite fast.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import time

import pytest
from batch_export import EXPECTED, best_ledger, partial, write_export
from conftest import grade, possible_points
from leftovers import processes_mentioning

from tools.grading import grade_batch as gb
from tools.grading.batch import row as batch_row
from tools.layout import NOTEBOOK, ROOT, STUDENT
from tools.qa import notebooks

TIMEOUT = 60  # seconds: a normal submission grades in 4-10 s here
MEMORY = "3GiB"  # per worker and kernel; the gradual allocation stops here


def _tree_digest(folder: pathlib.Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    export, out = root / "export", root / "out"
    markers = {"loop": f"lab05-loop-token-{root.name}"}
    write_export(export, markers["loop"])
    before = _tree_digest(export)
    stream = io.StringIO()
    start = time.monotonic()
    result = gb.grade_batch(export, out, workers=2, timeout=TIMEOUT, memory_limit=MEMORY, stream=stream)
    elapsed = time.monotonic() - start
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        table = {row["submission"]: row for row in csv.DictReader(f)}
    return {
        "export": export,
        "out": out,
        "result": result,
        "rows": result.by_key,
        "csv": table,
        "before": before,
        "markers": markers,
        "progress": stream.getvalue(),
        "elapsed": elapsed,
    }


def _scores(row) -> dict[str, float]:
    return row.scores


def test_every_submission_gets_one_row_with_the_expected_status(mixed):
    got = {key: row.status for key, row in mixed["rows"].items()}
    assert sorted(got) == sorted(EXPECTED), f"rows: expected {sorted(EXPECTED)}, got {sorted(got)}"
    wrong = {
        k: f"expected {EXPECTED[k]}, got {got[k]} ({mixed['rows'][k].message})"
        for k in EXPECTED
        if got[k] != EXPECTED[k]
    }
    assert not wrong, f"statuses: {wrong}"
    assert sorted(mixed["csv"]) == sorted(EXPECTED), f"grades.csv rows: {sorted(mixed['csv'])}"


def test_good_submissions_score_exactly_as_when_graded_alone(mixed, solution_grades, student_grades, tmp_path):
    _, partial_alone = grade(notebooks.write(partial(), tmp_path, {"design_ledger.json": best_ledger()}))
    for key, alone in (
        ("submission_1001", solution_grades[1]),
        ("submission_1002", student_grades[1]),
        ("submission_1003", partial_alone),
    ):
        got = _scores(mixed["rows"][key])
        assert got == alone, f"{key}: graded alone {alone}, in the mixed batch {got}"
    assert partial_alone["transistor_tax"] < solution_grades[1]["transistor_tax"], partial_alone


def test_misbehaving_cells_that_do_not_stop_grading_cost_nothing_else(mixed, solution_grades):
    full = solution_grades[1]
    for key, what in (
        ("submission_1011", "a cell that raises"),
        ("submission_1015", "a cell printing 200 MB"),
        ("submission_1004", "no ledger uploaded"),
        ("submission_1005", "an uploaded ledger that is not JSON"),
    ):
        got = _scores(mixed["rows"][key])
        assert got == full, f"{key} ({what}): expected the solution's scores {full}, got {got}"


def test_a_notebook_that_writes_no_ledger_loses_only_the_ledger_question(mixed, solution_grades):
    full = solution_grades[1]
    for key in ("submission_1006", "submission_1018"):
        got = _scores(mixed["rows"][key])
        assert got["design_ledger"] == 0, f"{key}: design_ledger expected 0, got {got['design_ledger']}"
        others = {q: (full[q], s) for q, s in got.items() if q != "design_ledger" and s != full[q]}
        assert not others, f"{key}: other questions changed (solution, got): {others}"


def test_a_cell_that_kills_its_process_costs_that_cell_only(mixed, solution_grades):
    row = mixed["rows"]["submission_1013"]
    results = json.loads((mixed["out"] / "results" / "submission_1013" / "results.json").read_text())
    assert "ended the notebook's own process and was skipped" in (results.get("output") or ""), (
        f"input: a cell that kills its own process; expected the output to say it was skipped, got "
        f"{results.get('output')!r}"
    )
    lost = {q: (solution_grades[1][q], s) for q, s in row.scores.items() if s != solution_grades[1][q]}
    assert set(lost) <= {"max_trainable_width", "design_ledger"}, (
        f"input: the solution with os.kill in max_trainable_width's cell; expected only the questions that need "
        f"that cell to lose points, got (solution, got) {lost}"
    )


def test_rows_that_were_not_graded_earn_no_points(mixed):
    questions = list(possible_points())
    for key, row in mixed["csv"].items():
        if row["status"] == "ok":
            continue
        earned = {q: row[q] for q in questions if float(row[q]) != 0}
        assert not earned and float(row["total"]) == 0, f"{key} ({row['status']}) earned {earned}, total {row['total']}"
        assert row["message"], f"{key} ({row['status']}) has no message saying why"


@pytest.mark.parametrize(
    "key, words",
    [
        ("submission_1007", ["corrupt", "not valid JSON"]),
        ("submission_1008", ["holds no notebook"]),
        ("submission_1009", ["2 notebooks", "lab05_copy.ipynb"]),
        ("submission_1010", ["lab04_data_engineering", "lab05_nn_compute"]),
        ("submission_1012", ["stopped after 60s", "loop forever"]),
        ("submission_1017", ["not in the export folder"]),
        ("extra_upload", ["holds no notebook"]),
    ],
)
def test_messages_say_what_went_wrong(mixed, key, words):
    message = mixed["csv"][key]["message"]
    missing = [w for w in words if w not in message]
    assert not missing, f"{key}: message should mention {missing}; got {message!r}"


def test_a_timeout_kills_the_kernel_and_what_it_started(mixed):
    deadline = time.monotonic() + 10
    while processes_mentioning(mixed["markers"]["loop"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_mentioning(mixed["markers"]["loop"])
    assert not left, f"processes the timed-out submission started are still alive: {left}"
    row = mixed["rows"]["submission_1012"]
    assert TIMEOUT <= row.seconds < TIMEOUT + 30, f"the timed-out submission ran {row.seconds} s, timeout {TIMEOUT}"


def test_the_memory_limit_stops_a_gradual_allocation(mixed, solution_grades):
    """Without the limit the allocation loop would take the machine's memory; with it, a MemoryError."""
    row = mixed["rows"]["submission_1014"]
    assert row.status == "ok" and row.seconds < TIMEOUT, f"{row.status} {row.message} in {row.seconds} s"
    # Known: after the gradual allocation, trusted scoring's probe dies when the design ledger is
    # checked, so that question scores 0 (grade-one gives the same; a trusted-scoring issue).
    got = {q: s for q, s in row.scores.items() if q != "design_ledger"}
    full = {q: s for q, s in solution_grades[1].items() if q != "design_ledger"}
    assert got == full, f"cells that exhaust memory: expected the solution's scores {full}, got {got}"


def test_integrity_flags_reach_the_gradebook_and_summary(mixed):
    flags = {key: row["flags"] for key, row in mixed["csv"].items()}
    assert flags["submission_1001"] == "", (
        f"solution run top to bottom: expected no flags, got {flags['submission_1001']!r}"
    )
    assert flags["submission_1002"] == "run_order", f"never-run blank notebook: got {flags['submission_1002']!r}"
    tamper = set(flags["submission_1016"].split(";"))
    assert {"reads_grader_files", "patches_grader"} <= tamper, f"tampering notebook flagged {tamper}"
    assert "tests/design_ledger.py" in mixed["csv"]["submission_1016"]["flag_details"], mixed["csv"]["submission_1016"][
        "flag_details"
    ]
    assert "run_order" in flags["submission_1012"], f"a timed-out row keeps its flags, got {flags['submission_1012']!r}"
    summary = (mixed["out"] / "summary.txt").read_text()
    assert "reads_grader_files 1" in summary and "patches_grader 1" in summary, summary


def test_identity_comes_from_gradescope_metadata(mixed):
    row = mixed["csv"]["submission_1001"]
    got = (row["name"], row["email"], row["sid"])
    assert got == ("Student 1001", "s1001@example.edu", "1001"), f"submission_1001 identity: got {got}"
    assert mixed["csv"]["submission_1002"]["name"] == "Student 1002; Partner 1002", mixed["csv"]["submission_1002"]
    assert mixed["csv"]["extra_upload"]["name"] == "extra_upload", mixed["csv"]["extra_upload"]
    assert mixed["csv"]["submission_1001"]["gradescope_score"] == "1.0", mixed["csv"]["submission_1001"]


def test_gradebook_columns_and_totals(mixed):
    possible = possible_points()
    with open(mixed["out"] / "grades.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    questions = [h for h in header if h in possible]
    assert sorted(questions) == sorted(possible), f"question columns {questions}, bundle questions {sorted(possible)}"
    assert questions[0] == "transistor_tax", f"questions should follow the notebook's order, got {questions}"
    for column in ("submission", "name", "email", "sid", "status", "total", "possible", "flags", "message"):
        assert column in header, f"grades.csv has no {column!r} column: {header}"
    for key, row in mixed["csv"].items():
        total = sum(float(row[q]) for q in questions)
        assert math.isclose(total, float(row["total"])), f"{key}: questions sum to {total}, total says {row['total']}"
        assert float(row["possible"]) == sum(possible.values()), f"{key}: possible {row['possible']}"


def test_otter_results_are_kept_for_each_graded_submission(mixed):
    for key, row in mixed["rows"].items():
        folder = mixed["out"] / "results" / key
        if row.status == "ok":
            results = json.loads((folder / "results.json").read_text())
            names = {t["name"] for t in results["tests"]}
            assert set(possible_points()) <= names, f"{key}: results.json tests {sorted(names)}"
    summary = (mixed["out"] / "summary.txt").read_text()
    for part in ("status: ok 12, error 1, timeout 1, invalid 5", "mean score per question", "slowest submissions"):
        assert part in summary, f"summary.txt should contain {part!r}:\n{summary}"
    png = (mixed["out"] / "summary.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, f"summary.png: {len(png)} bytes, header {png[:8]!r}"


def test_the_submissions_folder_is_never_changed(mixed):
    after = _tree_digest(mixed["export"])
    changed = sorted(set(after) ^ set(mixed["before"]) | {k for k in after if mixed["before"].get(k) != after[k]})
    assert not changed, f"files added, removed or changed in the submissions folder: {changed}"


def test_progress_is_one_line_per_submission_without_a_terminal(mixed):
    lines = [line for line in mixed["progress"].splitlines() if line.strip()]
    graded = mixed["result"].graded
    assert len(lines) == graded, f"expected {graded} progress lines, got {len(lines)}:\n{mixed['progress']}"
    assert "\r" not in mixed["progress"], "progress without a terminal must not redraw with carriage returns"


def test_a_rerun_reuses_what_was_graded(mixed):
    again = gb.grade_batch(
        mixed["export"], mixed["out"], workers=2, timeout=TIMEOUT, memory_limit=MEMORY, progress=False
    )
    assert again.graded == 0, f"a re-run graded {again.graded} submissions again; expected 0 (all reused)"
    first = {r.submission: (r.status, r.total, r.flags) for r in mixed["result"].rows}
    second = {r.submission: (r.status, r.total, r.flags) for r in again.rows}
    assert first == second, f"re-run rows differ: first {first}, second {second}"


def test_loose_folder_regrade_and_progress_bar(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    (folder / "alice.ipynb").write_text((STUDENT / NOTEBOOK).read_text(encoding="utf-8"), encoding="utf-8")
    notebooks.write_zip(folder / "bob.zip", {"design_ledger.json": "{}"})
    (folder / "notes.txt").write_text("not a submission")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    first = gb.grade_batch(folder, out, workers=1, timeout=TIMEOUT, stream=terminal)
    rows = first.by_key
    assert {k: r.status for k, r in rows.items()} == {"alice": "ok", "bob": "invalid"}, rows
    assert rows["alice"].name == "alice.ipynb", f"identity falls back to the file name, got {rows['alice'].name}"
    assert first.ignored == ["notes.txt"], f"ignored entries: {first.ignored}"
    assert "\r[" in terminal.getvalue() and "2/2" in terminal.getvalue(), f"progress bar: {terminal.getvalue()!r}"
    stamp = json.loads((out / "results" / "alice" / gb.ROW_FILE).read_text())["graded_at"]
    second = gb.grade_batch(folder, out, workers=1, timeout=TIMEOUT, progress=False)
    assert second.graded == 0, f"without --regrade nothing is graded again, got {second.graded}"
    time.sleep(1.1)
    third = gb.grade_batch(folder, out, workers=1, timeout=TIMEOUT, progress=False, regrade=True)
    assert third.graded == 2, f"--regrade grades every submission again, got {third.graded}"
    restamp = json.loads((out / "results" / "alice" / gb.ROW_FILE).read_text())["graded_at"]
    assert restamp != stamp, f"regraded row kept its old time {stamp}"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.grading.grade_batch", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda t: [str(t / "nowhere")], "does not exist"),
        (lambda t: [str(t / "file.zip")], "is a file"),
        (lambda t: [str(t / "empty")], "no submissions found"),
        (lambda t: [str(t / "class"), "--workers", "0"], "accepted: a whole number >= 1"),
        (lambda t: [str(t / "class"), "--workers", "two"], "not a whole number"),
        (lambda t: [str(t / "class"), "--timeout", "0"], "accepted: a number of seconds > 0"),
        (lambda t: [str(t / "class"), "--memory-limit", "lots"], "accepted: a number of bytes"),
        (lambda t: [str(t / "class"), "--out", str(t / "class" / "grades")], "inside the submissions folder"),
        (lambda t: [str(t / "class"), "--autograder", str(t / "missing.zip")], "does not exist"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path, make_args, expected):
    (tmp_path / "file.zip").write_bytes(b"PK")
    (tmp_path / "empty").mkdir()
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.ipynb").write_text("{}")
    args = make_args(tmp_path)
    done = _cli(*args, "--out", str(tmp_path / "out")) if "--out" not in args else _cli(*args)
    assert done.returncode == 2, f"{args}: expected exit 2, got {done.returncode}\n{done.stderr}"
    assert expected in done.stderr, f"{args}: expected {expected!r} in the error, got {done.stderr!r}"
    assert not (tmp_path / "class" / "grades").exists(), "nothing may be written into the submissions folder"


def test_make_grade_passes_every_setting():
    done = subprocess.run(
        [
            "make",
            "-n",
            "grade",
            "SUBMISSIONS=export dir",
            "WORKERS=3",
            "TIMEOUT=90",
            "OUT=somewhere",
            "REGRADE=1",
            "MEMORY=2GiB",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    line = next((ln for ln in done.stdout.splitlines() if "tools.grading.grade_batch" in ln), "")
    for part in (
        '"export dir"',
        "--workers 3",
        "--timeout 90",
        '--out "somewhere"',
        "--regrade",
        "--memory-limit 2GiB",
    ):
        assert part in line, f"make grade should pass {part!r}; the command is {line!r} ({done.stderr})"
    usage = subprocess.run(["make", "-n", "grade"], cwd=ROOT, capture_output=True, text=True)
    assert "SUBMISSIONS=" in usage.stdout + usage.stderr, f"make grade without SUBMISSIONS: {usage.stdout}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4GiB", 4 * 1024**3),
        ("512M", 512 * 1024**2),
        ("0", 0),
        ("1.5G", int(1.5 * 1024**3)),
        (str(2 * 1024**3), 2 * 1024**3),
    ],
)
def test_memory_sizes(text, expected):
    assert gb.parse_size(text) == expected, f"parse_size({text!r}): expected {expected}, got {gb.parse_size(text)}"


def test_metadata_with_plain_keys_and_missing_fields(tmp_path):
    (tmp_path / "submission_1").mkdir()
    (tmp_path / "submission_2").mkdir()
    (tmp_path / gb.METADATA_FILE).write_text(
        "submission_1:\n  submitters:\n  - name: Ada\n    email: ada@example.edu\n    sid: 7\n"
        "submission_2:\n  :created_at: 2026-10-01\n",
        encoding="utf-8",
    )
    subs, _ = gb.discover(tmp_path)
    got = {s.key: (s.name, s.email, s.sid) for s in subs}
    assert got == {"submission_1": ("Ada", "ada@example.edu", "7"), "submission_2": ("", "", "")}, got


# ---------------------------------------------------------------------------------------------
# The row kept for resuming is data: a tampered row.json cannot inject a score
# ---------------------------------------------------------------------------------------------
def _good_row() -> dict:
    return {
        "submission": "s",
        "status": "ok",
        "questions": [["transistor_tax", 1.0, 3.0]],
        "total": 1.0,
        "possible": 33.0,
        "flags": ["run_order"],
        "flag_details": ["run_order: x"],
        "message": "",
        "seconds": 4.2,
        "check_order": ["transistor_tax"],
        "differ": [],
        "unsandboxed": False,
        "autograder_sha256": "ab",
        "graded_at": "2026-01-01T00:00:00",
    }


@pytest.mark.parametrize(
    "change, why",
    [
        ({"questions": [["transistor_tax", 4.0, 4.0]], "total": 4.0}, "the bundle gives 3"),
        ({"questions": [["transistor_tax", 3.0, 2.0]], "total": 3.0}, "score 3 of 2"),
        ({"questions": [["bonus", 1.0, 1.0]]}, "not one of the bundle's"),
        ({"questions": [["transistor_tax", 1.0, 3.0], ["transistor_tax", 1.0, 3.0]], "total": 2.0}, "appears twice"),
        ({"total": 33.0}, "not the sum"),
        ({"status": "timeout"}, "has points"),
        ({"status": "great"}, "not one of ok"),
        ({"questions": [["transistor_tax", "3", 3.0]]}, "not a finite number"),
        ({"questions": [["transistor_tax", float("nan"), 3.0]]}, "not a finite number"),
        ({"total": True}, "not a finite number"),
        ({"flags": ["gold_star"]}, "unknown flags"),
        ({"unsandboxed": "no"}, "not true/false"),
        ({"possible": 1000.0}, "not the bundle's"),
        ({"extra": 1}, "unknown fields"),
        ({"check_order": ["bonus"]}, "questions the bundle does not have"),
    ],
)
def test_a_row_read_back_is_checked_against_the_bundle(change, why):
    questions = possible_points()
    assert batch_row.Row.from_json(_good_row(), questions).total == 1.0
    with pytest.raises(batch_row.RowError) as caught:
        batch_row.Row.from_json(_good_row() | change, questions)
    assert why in str(caught.value), f"{change}: expected {why!r} in {caught.value}"


def test_a_tampered_row_is_graded_again_not_reused(mixed, tmp_path):
    out = tmp_path / "out"
    import shutil

    shutil.copytree(mixed["out"], out)
    saved = out / "results" / "submission_1002" / gb.ROW_FILE
    forged = json.loads(saved.read_text()) | {
        "questions": [[q, p, p] for q, p in possible_points().items()],
        "total": sum(possible_points().values()),
    }
    saved.write_text(json.dumps(forged))
    foreign = out / "results" / "submission_1013" / gb.ROW_FILE  # another submission's (valid) row
    foreign.write_text((out / "results" / "submission_1001" / gb.ROW_FILE).read_text())
    again = gb.grade_batch(mixed["export"], out, workers=2, timeout=TIMEOUT, memory_limit=MEMORY, progress=False)
    rows = again.by_key
    assert again.graded == 2, f"the two altered rows should be graded again, {again.graded} were"
    assert rows["submission_1002"].total == 0 and not rows["submission_1002"].reused, rows["submission_1002"]
    assert rows["submission_1013"].status == "ok" and not rows["submission_1013"].reused, rows["submission_1013"]
    summary = (out / "summary.txt").read_text()
    assert "submission_1002: the kept row.json was not used" in summary, summary
    assert "scores are not those of its results.json" in summary, summary


def test_without_bubblewrap_the_batch_refuses_and_unsandboxed_marks_every_row(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    folder.mkdir()
    (folder / "alice.ipynb").write_text((STUDENT / NOTEBOOK).read_text(encoding="utf-8"), encoding="utf-8")
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "UNSANDBOXED"} | {"PATH": str(empty)}
    args = [sys.executable, "-m", "tools.grading.grade_batch", str(folder), "--out", str(out), "--no-progress"]
    refused = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "bwrap (bubblewrap) is not installed" in refused.stderr, refused.stderr
    assert "UNSANDBOXED=1" in refused.stderr, refused.stderr
    assert not (out / "grades.csv").exists(), "nothing is graded when the sandbox cannot run"
    done = subprocess.run(args, cwd=ROOT, env=env | {"UNSANDBOXED": "1"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "WITHOUT the sandbox" in done.stderr, done.stderr
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert "unsandboxed" in row["flags"].split(";") and row["status"] == "ok", row
    assert "WITHOUT the sandbox" in (out / "summary.txt").read_text()
    assert json.loads((out / "results" / "alice" / gb.ROW_FILE).read_text())["unsandboxed"] is True
