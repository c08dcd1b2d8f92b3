"""Trusted scoring earns only what the notebook's own code earns, on every path that grades.

Each case plants a careless or hostile notebook (tests/attacks.py) and grades it through
``make grade-one``'s code (tools.grading.grade_one), Gradescope's own entry point (run_otter.py in an
``/autograder``-shaped folder) and, for the whole set, ``make grade``'s batch.
"""

from __future__ import annotations

import json
import pathlib

import attacks
import lab05_reference as ref
import nbformat
from conftest import grade, run_like_gradescope

from lab05 import constants
from tools.layout import NOTEBOOK
from tools.qa import notebooks

SOLUTION_POINTS = 33


def _scores(results: dict) -> dict[str, float]:
    scores: dict[str, float] = {}
    for test in results["tests"]:
        if "max_score" in test:
            question = test["name"].split(" - ")[0].strip()
            scores[question] = scores.get(question, 0.0) + float(test["score"])
    return scores


def _grade_both(nb, tmp_path: pathlib.Path, crosscheck: bool = False) -> list[tuple[str, dict]]:
    """``[(path, results.json)]`` of ``nb`` graded by grade-one's code (``crosscheck``: with Otter's
    run in the kernel) and by Gradescope's."""
    folder = tmp_path / "grade-one"
    folder.mkdir()
    (folder / NOTEBOOK).write_text(nbformat.writes(nb), encoding="utf-8")
    local, _ = grade(folder / NOTEBOOK, crosscheck=crosscheck)
    gradescope = run_like_gradescope(tmp_path / "autograder", {NOTEBOOK: nbformat.writes(nb).encode()})
    return [("grade-one", local), ("gradescope", gradescope)]


def test_shadowing_graded_functions_with_values_after_defining_them_costs_nothing(tmp_path):
    nb = attacks.appended(notebooks.executed(notebooks.solution()), *attacks.CARELESS_SHADOWING)
    for path, results in _grade_both(nb, tmp_path):
        total = sum(_scores(results).values())
        assert total == SOLUTION_POINTS, (
            f"{path}: input: the solution plus {attacks.CARELESS_SHADOWING}; expected what the solution "
            f"earns without those lines ({SOLUTION_POINTS}), got {total}: {_scores(results)}"
        )


def test_shadowing_unwritten_functions_earns_nothing(tmp_path):
    nb = attacks.appended(attacks.blank(), *attacks.CARELESS_SHADOWING)
    for path, results in _grade_both(nb, tmp_path):
        earned = {q: s for q, s in _scores(results).items() if s}
        assert not earned, (
            f"{path}: input: the blank notebook plus {attacks.CARELESS_SHADOWING}; expected 0, got {earned}"
        )


def test_unreadable_replies_fail_closed_with_a_flag(tmp_path):
    nb = attacks.appended(notebooks.executed(notebooks.solution()), attacks.HOSTILE_REPLIES)
    for path, results in _grade_both(nb, tmp_path):
        hidden = {
            t["name"]: t["score"] for t in results["tests"] if "max_score" in t and t.get("visibility") != "visible"
        }
        assert "scoring_error" in (results.get("output") or ""), (
            f"{path}: input: a probe whose every reply is unreadable; expected the flag scoring_error, "
            f"got output {results.get('output')!r}"
        )
        total = sum(_scores(results).values())
        assert total < SOLUTION_POINTS, f"{path}: unreadable replies still earned every point ({total}): {hidden}"


def test_the_probe_learns_no_reference_value_to_print(tmp_path):
    nb = attacks.with_cells(attacks.ORACLE_PROBE)
    budgets = [*constants.DEVICE_BUDGETS_BYTES.values(), 1024**4]
    answers = [ref.max_trainable_width(b) for b in budgets] + [ref.parameter_count(list(constants.MNIST_LAYER_SIZES))]
    secrets = {form for n in answers if n >= 1000 for form in (str(n), f"{n:,}")}  # too short to tell by chance
    for path, results in _grade_both(nb, tmp_path):
        text = json.dumps(results)
        assert "LEAK" in text or "transistor_tax" in text, f"{path}: the attack's output is missing: {text[:500]}"
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{path}: reference answers of hidden cases appear in what the student sees: {leaked}"
        earned = {q: s for q, s in _scores(results).items() if s}
        assert not earned, f"{path}: input: functions that only record and replay; expected 0, got {earned}"


def test_a_function_cannot_answer_a_dependent_question_differently_from_its_own_test(tmp_path):
    nb = attacks.appended(notebooks.executed(notebooks.solution()), attacks.FIRST_ANSWER_FAKE)
    for path, results in _grade_both(nb, tmp_path):
        scores = _scores(results)
        total = sum(scores.values())
        assert total <= SOLUTION_POINTS - 1, (
            f"{path}: input: a training_memory that answers a fake the first time and a batch-doubling ratio "
            f"of 2.0 that matches it; expected at most {SOLUTION_POINTS - 1} (training_memory or batch_doubling "
            f"lost), got {total}: {scores}"
        )


def test_functions_defined_through_each_other_earn_nothing(tmp_path):
    nb = attacks.with_cells(attacks.MUTUAL_DEFINITIONS)
    for path, results in _grade_both(nb, tmp_path):
        got = _scores(results).get("parameters_and_macs")
        assert got == 0, f"{path}: parameter_count and layer_macs defined through each other earned {got}, expected 0"


def test_a_kernel_that_dies_keeps_the_trusted_verdict_with_a_flag(tmp_path):
    nb = attacks.appended(notebooks.executed(notebooks.solution()), attacks.KERNEL_EXIT)
    for path, results in _grade_both(nb, tmp_path, crosscheck=True):
        total = sum(_scores(results).values())
        assert total == SOLUTION_POINTS, (
            f"{path}: the solution plus os._exit(0) earned {total}, expected {SOLUTION_POINTS}"
        )
        assert "kernel_died" in (results.get("output") or ""), (
            f"{path}: expected the flag kernel_died; got output {results.get('output')!r}"
        )


def test_the_cases_a_dependent_accepts_are_graded_cases_of_its_upstream_function():
    """What 'agrees with your own function' reads must be what that function is graded on."""
    from lab05_autograder import hidden

    network_cases = [list(layers) for layers in hidden.network_cases()]
    memory_layers = [list(case[0]) for case in hidden.memory_cases()]
    missing = [layers for layers in memory_layers if layers not in network_cases]
    assert not missing, f"training_memory's networks that parameter_count is not graded on: {missing[:2]}"
    memory_cases = [(list(c[0]), c[1], c[2], c[3]) for c in hidden.memory_cases()]
    mnist = list(constants.MNIST_LAYER_SIZES)
    for batch in (32, 64):
        assert (mnist, batch, 4, "adam") in memory_cases, (
            f"batch_doubling reads training_memory({mnist}, {batch}); it is not one of training_memory's cases"
        )


def _rss_bytes() -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_a_flood_of_replies_is_held_by_the_scoring_process_not_the_grader(tmp_path):
    """Trusted scoring runs in a process of its own per submission: a flood stays there."""
    from lab05_autograder import policy

    folder = tmp_path / "flood"
    folder.mkdir()
    (folder / NOTEBOOK).write_text(nbformat.writes(attacks.with_cells(attacks.OPAQUE_FLOOD)), encoding="utf-8")
    before = _rss_bytes()
    results, scores = grade(folder / NOTEBOOK)
    grown = _rss_bytes() - before
    assert grown < 128 * policy.MiB, f"input: replies of 60,000 opaque values each; the grader grew by {grown:,} bytes"
    earned = {q: s for q, s in scores.items() if s}
    assert not earned, f"input: functions that answer a flood; expected 0, got {earned}"
