"""Hostile uploads in a batch: each tries to reach the grader, the bundle, the project, a classmate
or the gradebook, or to earn points it did not. One batch (module fixture) holds honest
submissions and the attacks together; every attack starts from the blank student notebook, so
any point it gets is unearned.

The attacks know everything a careful cheater could learn (the absolute paths of the project,
the export folder and the output folder are written into their code): the sandbox, not secrecy,
has to stop them.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import time
import zipfile

import attacks
import nbformat
import pytest
from leftovers import processes_mentioning

from tools.grading import grade_batch as gb
from tools.layout import ASSIGNMENT, AUTOGRADER, AUTOGRADER_ZIP, NOTEBOOK, ROOT, SOLUTIONS, STUDENT
from tools.qa import notebooks

TIMEOUT = 90

REWRITE_BUNDLE = """
import glob, os, re
_targets = [{committed!r}] + glob.glob("/tmp/**/autograder.zip", recursive=True)
for _pid in os.listdir("/proc"):  # Otter's own command line names its bundle
    try:
        _argv = open(f"/proc/{{_pid}}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    _targets += [a.decode() for a in _argv if a.endswith(b".zip")]
for _path in set(_targets):
    try:
        with open(_path, "r+b") as _f:
            _f.write(b"PK\\x05\\x06" + b"\\0" * 18)
    except OSError:
        pass
for _path in glob.glob("/tmp/**/tests/*.py", recursive=True) + glob.glob("tests/*.py"):
    try:
        with open(_path, "a") as _f:
            _f.write("\\n# tampered\\n")
    except OSError:
        pass
"""

IPYTHON_STARTUP = """
import os, pathlib
_evil = "import lab05_reference as _r\\nglobals().update({{n: getattr(_r, n) for n in dir(_r) if not n.startswith('_')}})\\n"
for _home in (os.path.expanduser("~"), {real_home!r}):
    _folder = pathlib.Path(_home, ".ipython", "profile_default", "startup")
    try:
        _folder.mkdir(parents=True, exist_ok=True)
        (_folder / "00-{token}.py").write_text(_evil)
    except OSError:
        pass
"""

OVERWRITE_CLASSMATE = """
import glob, shutil
for _path in [{classmate!r}] + glob.glob("/tmp/**/classmate.zip", recursive=True):
    try:
        with open(_path, "wb") as _f:
            _f.write(b"overwritten")
    except OSError:
        pass
"""

DETACHED_EDITOR = '''
import subprocess, sys
_code = """
import os, time
for _ in range(1200):
    time.sleep(0.25)
    try:
        with open({csv!r}, "a") as f:
            f.write("forged,row,33\\\\n")
    except OSError:
        pass
"""
subprocess.Popen([sys.executable, "-c", _code, {token!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''

STOP_COORDINATOR = """
import os, signal
def _cmd(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""
_marks = (b"pytest", b"grade_batch", b"tools.grading.batch")
for _entry in os.listdir("/proc"):
    if _entry.isdigit() and int(_entry) != os.getpid() and any(m in _cmd(_entry) for m in _marks):
        for _sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(int(_entry), _sig)
            except OSError:
                pass
_pid = os.getppid()
while _pid > 1:
    if any(m in _cmd(_pid) for m in _marks):
        try:
            os.kill(_pid, signal.SIGSTOP)
        except OSError:
            pass
    try:
        _pid = int(open(f"/proc/{_pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
"""


def _text(nb) -> str:
    return nbformat.writes(nb)


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: pathlib.Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _git_status() -> str:
    """git status of the bundle and the lab's sources, and every untracked file in the project."""

    def status(*args):
        return subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout

    untracked = [line for line in status().splitlines() if line.startswith("??")]
    folders = (str(f.relative_to(ROOT)) for f in (AUTOGRADER, ASSIGNMENT, STUDENT, SOLUTIONS))
    return status("--", *folders) + "\n".join(untracked)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    export, out = root / "export", root / "out"
    export.mkdir()
    token = f"lab05-attack-{root.name}"
    real_home = os.path.expanduser("~")
    startup = pathlib.Path(real_home, ".ipython", "profile_default", "startup", f"00-{token}.py")
    marker = root / "pickle-ran"
    sol = notebooks.solution()
    notebooks.write_zip(export / "classmate.zip", {NOTEBOOK: _text(sol)})
    (export / "honest_solution.ipynb").write_text(_text(sol), encoding="utf-8")
    (export / "honest_blank.ipynb").write_text(_text(attacks.blank()), encoding="utf-8")
    cells = {
        "attack_bundle": REWRITE_BUNDLE.format(committed=str(AUTOGRADER_ZIP)) + attacks.REWRITE_TESTS,
        "attack_startup": IPYTHON_STARTUP.format(real_home=real_home, token=token),
        "attack_classmate": OVERWRITE_CLASSMATE.format(classmate=str(export / "classmate.zip")),
        "attack_detached": DETACHED_EDITOR.format(csv=str(out / "grades.csv"), token=token),
        "attack_coordinator": STOP_COORDINATOR,
        "attack_pickle": attacks.pickle_payload(str(marker)),
        "attack_checker": attacks.CHECKER_FORGE,
        "attack_oracle": attacks.ORACLE_PROBE,
        "attack_mutual": attacks.MUTUAL_DEFINITIONS,
    }
    for name, source in cells.items():
        (export / f"{name}.ipynb").write_text(_text(attacks.with_cells(source)), encoding="utf-8")
    (export / "attack_shadowing.ipynb").write_text(
        _text(attacks.appended(attacks.blank(), *attacks.CARELESS_SHADOWING)), encoding="utf-8"
    )
    executed = notebooks.executed(sol)
    for name, sources in {
        "careless_solution": attacks.CARELESS_SHADOWING,
        "dying_solution": [attacks.KERNEL_EXIT],
        "unreadable_solution": [attacks.HOSTILE_REPLIES],
    }.items():
        (export / f"{name}.ipynb").write_text(_text(attacks.appended(executed, *sources)), encoding="utf-8")
    notebooks.write_zip(
        export / "attack_otter_log.zip",
        {NOTEBOOK: _text(attacks.blank()), ".OTTER_LOG": attacks.otter_log_payload(str(marker))},
    )
    with zipfile.ZipFile(export / "attack_entry_name.zip", "w") as zf:  # the real notebook under another name
        zf.writestr(NOTEBOOK, _text(attacks.blank()))
        zf.writestr("./" + NOTEBOOK, _text(sol))
    before = {"export": _tree(export), "bundle": _digest(AUTOGRADER_ZIP), "git": _git_status()}
    try:
        result = gb.grade_batch(export, out, workers=2, timeout=TIMEOUT, progress=False, crosscheck=True)
        csv_right_after = _digest(out / "grades.csv")
        time.sleep(3)  # a detached editor would have written by now
        yield {
            "result": result,
            "rows": result.by_key,
            "export": export,
            "out": out,
            "root": root,
            "token": token,
            "before": before,
            "startup": startup,
            "marker": marker,
            "csv_right_after": csv_right_after,
        }
    finally:
        if startup.exists():  # only if the sandbox failed: do not leave it for later kernels
            startup.unlink()


EXPECTED = {
    "classmate": "ok",
    "honest_solution": "ok",
    "honest_blank": "ok",
    "attack_bundle": "ok",
    "attack_startup": "ok",
    "attack_classmate": "ok",
    "attack_detached": "ok",
    "attack_coordinator": "ok",
    "attack_pickle": "ok",
    "attack_checker": "ok",
    "attack_oracle": "ok",
    "attack_mutual": "ok",
    "attack_shadowing": "ok",
    "careless_solution": "ok",
    "dying_solution": "ok",
    "unreadable_solution": "ok",
    "attack_otter_log": "ok",
    "attack_entry_name": "invalid",
}


def test_every_submission_has_a_row(hostile):
    got = {k: r.status for k, r in hostile["rows"].items()}
    assert got == EXPECTED, {
        k: (got.get(k), EXPECTED.get(k), hostile["rows"][k].message if k in hostile["rows"] else "")
        for k in set(got) | set(EXPECTED)
        if got.get(k) != EXPECTED.get(k)
    }


def test_no_attack_earns_a_point(hostile):
    earned = {k: r.total for k, r in hostile["rows"].items() if k.startswith("attack_") and r.total}
    assert not earned, f"attacks that started from the blank notebook earned points: {earned}"


def test_honest_rows_are_untouched_by_the_attacks(hostile, solution_grades, student_grades):
    rows = hostile["rows"]
    for key, expected in (
        ("classmate", solution_grades[1]),
        ("honest_solution", solution_grades[1]),
        ("honest_blank", student_grades[1]),
    ):
        assert rows[key].scores == expected, f"{key}: expected {expected}, got {rows[key].scores}"
        assert "kernel_results_differ" not in rows[key].flags, f"{key}: {rows[key].flag_details}"


def test_careless_lines_cost_nothing_and_a_dying_kernel_keeps_the_verdict(hostile, solution_grades):
    rows = hostile["rows"]
    for key in ("careless_solution", "dying_solution"):
        assert rows[key].scores == solution_grades[1], (
            f"{key}: expected the solution's scores {solution_grades[1]}, got {rows[key].scores}"
        )
    assert "kernel_died" in rows["dying_solution"].flags, (
        f"dying_solution: expected the flag kernel_died, got {rows['dying_solution'].flag_details}"
    )


def test_unreadable_replies_score_nothing_and_raise_the_scoring_flag(hostile):
    row = hostile["rows"]["unreadable_solution"]
    assert "scoring_error" in row.flags, f"unreadable_solution: expected the flag scoring_error, got {row.flags}"
    assert row.total < row.possible, f"unreadable_solution: unreadable answers still earned {row.total}"


def test_a_forged_kernel_only_raises_the_flag(hostile):
    row = hostile["rows"]["attack_checker"]
    assert "kernel_results_differ" in row.flags and row.differ, f"flags {row.flags}, differ {row.differ}"
    detail = next(d for d in row.flag_details if d.startswith("kernel_results_differ"))
    assert "transistor_tax" in detail, detail
    summary = (hostile["out"] / "summary.txt").read_text()
    assert "kernel_results_differ" in summary and "attack_checker [" in summary, summary


def test_the_bundle_the_project_and_the_uploads_are_unchanged(hostile):
    assert _digest(AUTOGRADER_ZIP) == hostile["before"]["bundle"], "autograder/autograder.zip changed"
    assert _git_status() == hostile["before"]["git"], f"git status changed:\n{_git_status()}"
    assert _tree(hostile["export"]) == hostile["before"]["export"], "the export folder changed"


def test_no_startup_file_and_no_pickle_ran_outside_the_sandbox(hostile):
    assert not hostile["startup"].exists(), f"an IPython startup file was planted on the host: {hostile['startup']}"
    assert not hostile["marker"].exists(), "a pickle payload ran outside the sandbox"
    removed = (hostile["out"] / "results" / "attack_otter_log" / "grading_log.txt").read_text()
    assert ".OTTER_LOG" in removed, "staging should say it dropped the .OTTER_LOG"


def test_nothing_edits_the_gradebook_after_the_batch_and_no_process_is_left(hostile):
    assert _digest(hostile["out"] / "grades.csv") == hostile["csv_right_after"], "grades.csv changed after the batch"
    assert "forged" not in (hostile["out"] / "grades.csv").read_text()
    left = processes_mentioning(hostile["token"], str(hostile["root"]))
    assert not left, f"processes left behind: {left}"


def test_a_non_canonical_entry_name_refuses_the_upload(hostile):
    row = hostile["rows"]["attack_entry_name"]
    assert row.status == "invalid" and row.total == 0, (row.status, row.message)
