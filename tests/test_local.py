"""Local grading's entry point (``lab05_autograder.local``): the only calls the grading tools make
into trusted scoring. The probe here runs in a plain process (the solution is trusted code)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import possible_points
from lab05_autograder import local, policy, scoring

from tools.grading.bundle import unpack
from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, SOLUTIONS


def _start_probe(argv, workdir):
    process = subprocess.Popen(
        argv,
        cwd=workdir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def kill():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.wait()

    return process, kill, "a plain process (test)"


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    return unpack(AUTOGRADER_ZIP, tmp_path_factory.mktemp("bundle") / "source")


@pytest.fixture(scope="module")
def solution_verdict(unpacked):
    local.prepare()
    notebook = json.loads((SOLUTIONS / NOTEBOOK).read_text(encoding="utf-8"))
    return local.score_notebook(notebook, unpacked, _start_probe, python=sys.executable)


def test_the_solutions_verdict_is_json_and_earns_every_point(solution_verdict, unpacked):
    data = json.loads(json.dumps(solution_verdict))  # crosses between processes as JSON text
    scored = local.read_verdict(data, unpacked)
    results, differ = local.results_json(scored, unpacked)
    earned = sum(t["score"] for t in results["tests"] if "max_score" in t)
    assert earned == sum(possible_points().values()), f"the solution earned {earned}: {scored.scores()}"
    assert differ == [] and scored.confined == "a plain process (test)" and not scored.faults, (
        f"expected no kernel run compared, the probe's place reported and no fault; got {differ}, "
        f"{scored.confined!r}, {scored.faults}"
    )


def test_a_kernel_run_that_differs_is_flagged(solution_verdict, unpacked):
    scored = local.read_verdict(solution_verdict, unpacked)
    kernel = {"tests": [{"name": "transistor_tax - 1", "score": 0, "max_score": 1}]}
    results, differ = local.results_json(scored, unpacked, kernel)
    assert "transistor_tax" in differ and policy.FLAG_KERNEL_RESULTS_DIFFER in results["output"], (
        f"input: a kernel run scoring transistor_tax 0; expected it named and flagged, got {differ}"
    )


@pytest.mark.parametrize(
    "data",
    [None, [], {"cases": []}, {"cases": {"transistor_tax": [["not a case", True, ""]]}}],
)
def test_a_verdict_that_does_not_fit_the_bundle_is_refused(data, unpacked):
    with pytest.raises(ValueError):
        local.read_verdict(data, unpacked)


def test_the_plugin_switch_and_the_timer_are_put_back(monkeypatch):
    monkeypatch.delenv(policy.EXTERNAL_ENV, raising=False)
    real_score = scoring.score
    with local.otter_plugin(trusted=False) as spent:
        assert os.environ.get(policy.EXTERNAL_ENV) == "external" and scoring.score is not real_score
    assert spent == [] and policy.EXTERNAL_ENV not in os.environ and scoring.score is real_score, (
        "after the block: expected no scoring timed, the plugin switched back on and score put back"
    )
