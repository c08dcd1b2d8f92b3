"""The hidden tests catch the mistakes students really make, and never mark a correct answer wrong.

The corpus (tools/qa/mutation_corpus.py) is graded once per session through the real autograder bundle by
tools/qa/mutation_runner.py, through make grade-one's path and through the bundle's own entry point as
Gradescope runs it; the tests below assert on that one report.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import possible_points
from lab05_autograder import hidden

from tools.build.reference import reference_environment
from tools.qa import mutation_corpus, mutation_runner, notebooks

#: The graded functions of each question (a mutant of one must cost points there and nowhere else).
QUESTION_FUNCTIONS = {
    "transistor_tax": {"transistor_tax", "extra_transistors"},
    "sigmoid_derivative": {"sigmoid_derivative"},
    "gradient_decay": {"gradient_bound", "stall_depth"},
    "parameters_and_macs": {"parameter_count", "layer_macs"},
    "training_memory": {"training_memory", "inference_memory"},
    "max_trainable_width": {"max_trainable_width"},
}
#: Loops cost their time limits (about 5 s per test and 10 s per figure that calls them).
MAX_LOOPING_MUTANTS = 2


@pytest.fixture(scope="module")
def report() -> mutation_runner.Report:
    return mutation_runner.run(mutation_corpus.CORPUS, gradescope=True)


def test_a_failed_case_names_its_check_and_whether_it_is_hidden():
    output = (
        "    training_memory - 1 result:\n        ❌ Test case failed\n        Error at line 3 in test training_memory:\n"
        "              checks.check_training_memory(env)\n        CheckFailed: ...\n\n"
        "    training_memory - 2 result:\n        ❌ Test case failed\n        Error at line 4 in test training_memory:\n"
        "              hidden.test_training_memory(env)\n        CheckFailed: ...\n"
    )
    got = [(c.number, c.passed, c.check, c.hidden) for c in mutation_runner.case_results(output)]
    expected = [(1, False, "check_training_memory", False), (2, False, "test_training_memory", True)]
    assert got == expected, f"input: a public and a hidden failure; expected {expected}; got {got}"


def test_every_entry_gets_the_same_scores_on_gradescopes_path_as_through_grade_one(report):
    """What a TA sees with make grade-one is what Gradescope gives the same upload, question by question."""
    assert report.gradescope is not None and len(report.gradescope) == len(report.outcomes) + 1, (
        f"expected Gradescope's scores for the solution and {len(report.outcomes)} entries; got {report.gradescope}"
    )
    differ = report.gradescope_differences
    assert not differ, "grade-one and Gradescope's path differ:\n" + "\n".join(
        f"  {name}: grade-one {local}, Gradescope {got}" for name, (local, got) in sorted(differ.items())
    )


def _rows(outcomes, describe) -> str:
    return "\n".join(
        f"  {o.name} (expected to drop: {o.mutant.question or 'nothing'}): {describe(o)}" for o in outcomes
    )


# ---------------------------------------------------------------------------------------------
# The corpus itself (no grading)
# ---------------------------------------------------------------------------------------------
def test_the_corpus_is_large_and_every_entry_is_well_formed():
    bad = []
    questions = set(possible_points())
    for m in mutation_corpus.EXTENDED:
        if m.question is not None and m.question not in questions:
            bad.append(f"{m.name}: question {m.question!r} is not one of {sorted(questions)}")
        if not m.correct and not m.says:
            bad.append(f"{m.name}: a mutant needs the phrase its failure message must contain")
        if m.function and m.question in QUESTION_FUNCTIONS and m.function not in QUESTION_FUNCTIONS[m.question]:
            bad.append(f"{m.name}: {m.function} does not belong to question {m.question}")
        if m.mistake is not None and (m.correct or m.mistake not in hidden.MISTAKES):
            bad.append(
                f"{m.name}: mistake {m.mistake!r} is not an id of MISTAKES in lab05_autograder/hidden/mistakes.py"
                if not m.correct
                else f"{m.name}: a correct variant names no mistake"
            )
    names = [m.name for m in mutation_corpus.EXTENDED]
    assert len(set(names)) == len(names), f"duplicate names: {sorted({n for n in names if names.count(n) > 1})}"
    assert not bad, "malformed corpus entries:\n" + "\n".join(bad)
    core_mutants = [m for m in mutation_corpus.CORPUS if not m.correct]
    core_variants = [m for m in mutation_corpus.CORPUS if m.correct]
    assert len(core_mutants) >= 40, f"the corpus has {len(core_mutants)} mutants; expected at least 40"
    assert len(core_variants) >= 12, f"the corpus has {len(core_variants)} correct variants; expected at least 12"
    loops = [m.name for m in mutation_corpus.CORPUS if m.loops]
    assert 1 <= len(loops) <= MAX_LOOPING_MUTANTS, f"looping mutants in the corpus: {loops}"
    covered = {m.question for m in core_mutants}
    assert covered == questions, f"questions without a mutant: {sorted(questions - covered)}"
    named = [m for m in core_mutants if m.mistake]
    assert len(named) >= len(core_mutants) // 2, (
        f"{len(named)} of {len(core_mutants)} mutants name the mistake "
        "the hidden tests must recognise; expected at least half"
    )


def test_every_entry_injects_a_change_into_the_solution():
    solution = notebooks.solution()
    unchanged = []
    for m in mutation_corpus.EXTENDED:
        changed = mutation_runner.inject(solution, m)  # raises MutantError naming the entry
        if [c.source for c in changed.cells] == [c.source for c in solution.cells]:
            unchanged.append(m.name)
    assert not unchanged, f"entries that leave the notebook as it was: {unchanged}"


# ---------------------------------------------------------------------------------------------
# Grading the corpus through the bundle
# ---------------------------------------------------------------------------------------------
def test_the_solution_earns_full_marks_in_the_same_run(report):
    possible = possible_points()
    assert report.baseline.error is None, f"the solution could not be graded: {report.baseline.error}"
    short = {q: (report.baseline.scores.get(q), p) for q, p in possible.items() if report.baseline.scores.get(q) != p}
    assert not short, f"the solution lost points (got, possible): {short}" + _failures(report.baseline, short)


def test_every_mutant_loses_points_on_its_own_question(report):
    missed = [o for o in report.mutants if not o.caught]
    assert not missed, (
        f"catch rate {100 * report.catch_rate:.0f}%; mutants not caught:\n"
        + _rows(missed, lambda o: o.error or f"questions that changed: {o.changed or 'none'}")
        + "\n\n"
        + report.table()
    )


def _failures(outcome, questions) -> str:
    """The failed cases' text of ``questions``, so that a report says why a score changed."""
    texts = [c.text.strip() for q in questions for c in outcome.cases(q) if not c.passed]
    return "".join("\n      " + t.replace("\n", "\n      ") for t in texts)


def test_no_mutant_changes_another_question(report):
    leaks = [o for o in report.mutants if o.elsewhere]
    assert not leaks, "mutants that changed questions they do not own (solution's score, got):\n" + _rows(
        leaks, lambda o: str(o.elsewhere) + _failures(o, o.elsewhere)
    )


def test_no_correct_variant_loses_points(report):
    wrong = [o for o in report.variants if o.changed or o.error]
    assert not wrong, "correct variants marked wrong (solution's score, got):\n" + _rows(
        wrong, lambda o: o.error or str(o.changed) + _failures(o, o.changed)
    )


def test_every_mutant_is_caught_by_a_hidden_test(report):
    """A student who passes the hidden tests has no mistake of the corpus, public checks aside."""
    only_public = [o for o in report.mutants if o.caught and not any(c.hidden and not c.passed for c in o.cases())]
    assert not only_public, "mutants that only the public checks catch:\n" + _rows(
        only_public, lambda o: ", ".join(c.check for c in o.cases() if not c.passed)
    )


def test_each_mistake_the_tests_recognise_is_named_in_its_question(report):
    """The mistakes report counts ids: a mutant whose entry names its mistake must carry that id."""
    unnamed = [o for o in report.mutants if o.caught and not o.names_its_mistake]
    assert not unnamed, "mutants whose question's output does not carry the id of their mistake:\n" + "\n".join(
        f"  {o.name} ({o.mutant.question}): expected [mistake: {o.mutant.mistake}], got ids "
        f"{sorted(o.mistakes) or 'none'}{_failure_lines(o.outputs.get(o.mutant.question, ''))}"
        for o in unnamed
    )


def test_failure_messages_name_the_call_and_the_behaviour(report):
    vague = []
    for o in report.mutants:
        if not o.caught:
            continue
        text = o.outputs.get(o.mutant.question, "")
        hidden = "\n".join(c.text for c in o.cases() if c.hidden and not c.passed)
        if o.mutant.subject not in hidden:
            vague.append((o, f"the hidden failure output does not name {o.mutant.subject!r}"))
        if o.mutant.says not in text:
            vague.append((o, f"the output does not say {o.mutant.says!r}:\n{_failure_lines(text)}"))
    assert not vague, "failure messages that do not explain the mistake:\n" + "\n".join(
        f"  {o.name} ({o.mutant.question}): {why}" for o, why in vague
    )


def _failure_lines(text: str) -> str:
    return "\n".join(
        "      " + line.strip()
        for line in text.splitlines()
        if line.strip().startswith(("CheckFailed", "CallBroken", "- "))
    )[:1500]


# ---------------------------------------------------------------------------------------------
# Hidden messages never show the reference answer of a hidden case
# ---------------------------------------------------------------------------------------------
#: What a message shows of the student's own answer: "returned <value>:", "[key] is <value>:",
#: "records x = <value>, but". These are blanked before looking for reference values.
_STUDENT_VALUE = re.compile(r"(returned|\bis|=) .*?(?=: |; |, but|, which|\.\s|\.$|$)", re.MULTILINE)
#: A schema problem shows the ledger's own value: "- max_trainable_width_laptop_gpu: '31,963' is not ...".
_LEDGER_VALUE = re.compile(r"^(\s*- [\w.]+: ).*?(?= is not | is a required|$)", re.MULTILINE)


def _reference_answers() -> set[str]:
    """Every reference answer the hidden checks compare with, as the messages would print it.

    The hidden checks are run on the reference functions, wrapped to record what they return.
    Only numbers of five digits or more are kept: smaller ones are not distinctive.
    """
    import lab05_reference as ref
    from lab05_autograder import hidden

    from lab05 import constants

    seen: list = []

    def recording(fn):
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            seen.append(out)
            return out

        return wrapper

    env = reference_environment(recording)
    mnist = list(constants.MNIST_LAYER_SIZES)
    for name in dir(hidden):
        if name.startswith("test_") and "ledger" not in name:
            getattr(hidden, name)(env)
    for batch in constants.BATCH_SIZE_CHOICES:  # what the ledger checks compare with
        seen.append(ref.max_trainable_width(constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU], batch))
    seen.append(ref.training_memory(mnist, constants.MNIST_BATCH_SIZE)["total"])

    numbers = []
    for value in seen:
        if isinstance(value, dict):
            numbers += list(value.values())
        elif isinstance(value, (list, tuple, np.ndarray)):
            numbers += list(np.ravel(value))
        else:
            numbers.append(value)
    texts = set()
    for n in numbers:
        if n is None or isinstance(n, (str, bool)) or not math.isfinite(float(n)) or abs(float(n)) < 10_000:
            continue
        n = float(n)
        if n.is_integer():
            texts |= {str(int(n)), f"{int(n):,}"}
        texts.add(f"{n:.6g}")
    return texts


def test_hidden_messages_never_show_a_reference_value(report):
    answers = _reference_answers()
    assert {"1876384", "1,876,384", "109386", "31975", "24500000"} <= answers, "the recorded answers are incomplete"
    leaks = []
    for o in report.outcomes:
        text = _STUDENT_VALUE.sub(r"\1 <the student's value>", o.hidden_failure_text())
        text = _LEDGER_VALUE.sub(r"\1<the ledger's value>", text)
        found = sorted(a for a in answers if re.search(rf"(?<![\d.,]){re.escape(a)}(?![\d]|,\d)", text))
        if found:
            lines = [line.strip() for line in text.splitlines() if any(a in line for a in found)]
            leaks.append(f"  {o.name}: shows {found} in:\n" + "\n".join(f"      {line}" for line in lines[:3]))
    assert not leaks, "hidden test messages that show a reference answer:\n" + "\n".join(leaks)
