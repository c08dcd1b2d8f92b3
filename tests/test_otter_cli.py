"""Otter's own command grades with the bundle: ``otter run -a autograder/autograder.zip SUBMISSION``.

The bundle's config names its plugin ``lab05_otter.TrustedScoring``: on Gradescope that module sits
at the bundle's top level; in the project's environment ``make`` installs it. Either way it loads
the trusted scoring of the bundle being run. These tests run Otter's CLI as a TA would: from a
folder of its own, with no extra variables, as root and as an ordinary user, and with the
``MPLBACKEND=Agg`` that headless servers often set.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from conftest import run_like_gradescope

from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, SOLUTIONS

SOLUTION_POINTS = 33
OTTER = pathlib.Path(sys.executable).with_name("otter")
#: An ordinary user to run the CLI as, where the tests run as root.
ORDINARY_UID = 61_999


def _otter_run(folder: pathlib.Path, env: dict | None = None, user: int | None = None) -> tuple[dict, str]:
    shutil.copy(SOLUTIONS / NOTEBOOK, folder / NOTEBOOK)
    out = folder / "out"
    out.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    if user is not None:
        clean["HOME"] = str(folder)
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, user, user)

    def drop() -> None:  # pragma: no cover - runs in the child
        os.setgroups([])
        os.setgid(user)
        os.setuid(user)

    proc = subprocess.run(
        [str(OTTER), "run", "-a", str(AUTOGRADER_ZIP), "-o", "out", NOTEBOOK],
        cwd=folder,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=drop if user is not None else None,
    )
    results = out / "results.json"
    assert results.is_file(), f"otter run wrote no results.json; exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(results.read_text()), proc.stdout + proc.stderr


def _total(results: dict) -> float:
    return sum(t.get("score", 0) for t in results["tests"] if "max_score" in t)


@pytest.mark.parametrize("env", [{}, {"MPLBACKEND": "Agg"}], ids=["plain", "MPLBACKEND=Agg"])
def test_otters_own_run_gives_the_trusted_scores(tmp_path, env):
    results, log = _otter_run(tmp_path, env)
    assert _total(results) == SOLUTION_POINTS, (
        f"input: otter run -a autograder.zip on the solution with {env or 'no extra variables'}; expected "
        f"{SOLUTION_POINTS}, got {_total(results)}\n{log[-2000:]}"
    )
    assert "integrity flag" not in (results.get("output") or ""), f"the solution was flagged: {results.get('output')}"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start the CLI as another, ordinary user")
def test_otters_own_run_works_as_an_ordinary_user(tmp_path):
    tmp_path.chmod(0o755)
    for folder in tmp_path.parents:
        if folder == pathlib.Path("/tmp"):
            break
        folder.chmod(folder.stat().st_mode | 0o001)
    results, log = _otter_run(tmp_path, user=ORDINARY_UID)
    assert _total(results) == SOLUTION_POINTS, (
        f"input: otter run as uid {ORDINARY_UID}; expected {SOLUTION_POINTS}, got {_total(results)}\n{log[-2000:]}"
    )


def test_gradescopes_path_with_mplbackend_agg_set(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    results = run_like_gradescope(tmp_path / "autograder", {NOTEBOOK: (SOLUTIONS / NOTEBOOK).read_bytes()})
    assert _total(results) == SOLUTION_POINTS, f"input: MPLBACKEND=Agg on Gradescope's path; got {_total(results)}"


@pytest.mark.skipif(os.geteuid() != 0, reason="users of their own exist only where the grader is root")
def test_two_gradings_at_once_do_not_kill_each_others_kernels(tmp_path):
    """Each run kills every process of its kernel's user when it ends: two runs must not share one."""
    import concurrent.futures

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(_otter_run, folders))
    totals = [_total(results) for results, _ in outcomes]
    assert totals == [SOLUTION_POINTS, SOLUTION_POINTS], (
        f"input: the solution graded by two `otter run` at once; expected {SOLUTION_POINTS} twice, got {totals}"
    )
