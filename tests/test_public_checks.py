"""The public checks catch the mistakes students make before they submit, and give nothing away.

tools/qa/public_mutation_runner.py runs every entry of the public corpus (tools/qa/public_mutation_corpus.py) through the
public checks alone (``lab05.checks.check_<question>``, in this process, as ``grader.check`` runs
them in a student's kernel); the tests below assert on that one report.
"""

from __future__ import annotations

import ast
import re
import tempfile

import pytest
from conftest import possible_points
from lab05_autograder import hidden

from lab05 import assertions, checks
from tools import layout
from tools.qa import mutation_corpus, public_mutation_corpus, public_mutation_runner

#: The mistakes the issue found the public checks passing, by their names in the corpus.
ONCE_PASSED = (
    "mem_adam_state_counted_once",
    "mem_input_activations_left_out",
    "mem_fp16_not_applied_to_activations",
    "mem_in_kib",
    "inference_weights_only",
    "inference_batch_ignored",
    "width_batch_size_ignored",
    "extra_one_layer_only",
    "macs_cumulative",
    "width_linear_search",
)


@pytest.fixture(scope="module")
def report() -> public_mutation_runner.Report:
    return public_mutation_runner.run()


def _rows(outcomes, describe) -> str:
    return "\n".join(
        f"  {o.name} (input: {o.mutant.function or ', '.join(o.mutant.variables) or o.mutant.cell}; expected to "
        f"fail: {o.mutant.question or 'nothing'}): {describe(o)}"
        for o in outcomes
    )


# ---------------------------------------------------------------------------------------------
# The corpus itself
# ---------------------------------------------------------------------------------------------
def test_the_corpus_holds_the_bundles_corpus_and_the_mistakes_the_public_checks_once_passed():
    names = [m.name for m in public_mutation_corpus.PUBLIC_CORPUS]
    assert len(set(names)) == len(names), f"duplicate names: {sorted({n for n in names if names.count(n) > 1})}"
    missing = sorted({m.name for m in mutation_corpus.EXTENDED} - set(names)) + sorted(set(ONCE_PASSED) - set(names))
    assert not missing, f"entries missing from the public corpus: {missing}"
    wrong = [m for m in public_mutation_corpus.PUBLIC_CORPUS if not m.correct]
    assert len(wrong) >= 90, f"the public corpus has {len(wrong)} mistakes; expected at least 90"
    assert sum(m.correct for m in public_mutation_corpus.PUBLIC_CORPUS) >= 20, "expected at least 20 correct variants"


def test_every_entry_of_its_own_is_well_formed():
    questions = set(possible_points())
    bad = []
    for m in public_mutation_corpus.MORE_PUBLIC_MUTANTS + public_mutation_corpus.MORE_PUBLIC_VARIANTS:
        if m.question is not None and m.question not in questions:
            bad.append(f"{m.name}: question {m.question!r} is not one of {sorted(questions)}")
        if not m.correct and not m.says:
            bad.append(f"{m.name}: a mistake needs the phrase its public failure message must contain")
        if m.mistake is not None and (m.correct or m.mistake not in hidden.MISTAKES):
            bad.append(f"{m.name}: {m.mistake!r} is not an id of MISTAKES (or a correct variant names one)")
    assert not bad, "malformed entries:\n" + "\n".join(bad)
    assert set(public_mutation_corpus.NOT_PUBLIC) <= {m.name for m in mutation_corpus.EXTENDED}, (
        public_mutation_corpus.NOT_PUBLIC
    )


def test_the_solution_passes_every_public_check():
    with tempfile.TemporaryDirectory() as folder:
        failed = public_mutation_runner.run_public_checks(public_mutation_runner.namespace(None, folder), folder)
    assert not failed, f"the solution fails public checks: {failed}"


def test_every_question_has_its_public_check():
    found = public_mutation_runner.public_checks()
    assert set(found) == set(possible_points()) - {"batch_doubling_explanation"}, found
    assert all(callable(getattr(checks, name, None)) for name in found.values()), found


# ---------------------------------------------------------------------------------------------
# What the public checks catch
# ---------------------------------------------------------------------------------------------
def test_at_least_90_percent_of_the_mistakes_are_caught(report):
    print(report.table())
    print(report.summary())
    assert report.catch_rate >= public_mutation_corpus.REQUIRED_RATE, (
        report.summary() + "\nmissed:\n" + _rows(report.missed, lambda o: "every public check passed")
    )


def test_only_the_multiple_choice_answers_are_missed(report):
    """A mistake the public checks could catch without giving the best answer away is caught."""
    missed = [o for o in report.missed if o.name not in public_mutation_corpus.NOT_PUBLIC]
    assert not missed, "mistakes the public checks pass:\n" + _rows(missed, lambda o: "every public check passed")
    caught_anyway = [name for name in public_mutation_corpus.NOT_PUBLIC if name not in {o.name for o in report.missed}]
    assert not caught_anyway, (
        f"a public check fails a multiple-choice answer, giving the best one away: {caught_anyway}"
    )


def test_the_mistakes_the_public_checks_once_passed_are_caught(report):
    outcomes = {o.name: o for o in report.outcomes}
    missed = [outcomes[name] for name in ONCE_PASSED if not outcomes[name].caught]
    assert not missed, _rows(missed, lambda o: f"passed {o.mutant.question}'s public check")


def test_a_linear_width_search_is_caught_by_the_checks_time_limit(report):
    outcome = next(o for o in report.outcomes if o.name == "width_linear_search")
    expected = f"did not return within {assertions.TIME_LIMIT_S:g} s"
    assert expected in outcome.message, f"input: a linear width search; expected {expected!r}, got {outcome.message!r}"


def test_no_correct_variant_fails_a_public_check(report):
    wrong = [o for o in report.variants if o.failed]
    assert not wrong, "correct variants that fail public checks:\n" + _rows(wrong, lambda o: str(o.failed))


def test_a_mistake_fails_no_other_questions_public_check(report):
    """One mistake costs points once: the public checks of dependent questions use the student's own
    upstream functions."""
    leaks = [o for o in report.mutants if o.elsewhere]
    assert not leaks, "mistakes that fail another question's public check:\n" + _rows(
        leaks, lambda o: "; ".join(f"{q}: {o.failed[q]}" for q in o.elsewhere)
    )


# ---------------------------------------------------------------------------------------------
# What the messages say
# ---------------------------------------------------------------------------------------------
def test_messages_say_what_the_entry_expects(report):
    own = {m.name for m in public_mutation_corpus.MORE_PUBLIC_MUTANTS}
    vague = [o for o in report.mutants if o.name in own and o.caught and o.mutant.says not in o.message]
    assert not vague, "public messages without the expected phrase:\n" + _rows(
        vague, lambda o: f"expected {o.mutant.says!r}, got {o.message!r}"
    )


def test_messages_name_the_mistake_as_the_hidden_tests_do(report):
    wrong = []
    for o in report.mutants:
        unknown = [t for t in o.tags if t not in hidden.MISTAKES]
        if unknown:
            wrong.append((o, f"ids not in MISTAKES: {unknown}"))
        elif o.mutant.mistake and o.tags and o.mutant.mistake not in o.tags:
            wrong.append((o, f"expected [mistake: {o.mutant.mistake}], got {o.tags}"))
        elif o.name in {m.name for m in public_mutation_corpus.MORE_PUBLIC_MUTANTS} and o.mutant.mistake and not o.tags:
            wrong.append((o, f"expected [mistake: {o.mutant.mistake}], got no id"))
    assert not wrong, "\n".join(f"  {o.name}: {why}\n      {o.message}" for o, why in wrong)
    named = sum(bool(o.tags) for o in report.mutants if o.caught)
    assert named >= 0.6 * len(report.mutants), f"only {named} of {len(report.mutants)} caught mistakes are named"


def test_every_mistake_id_the_public_checks_use_is_one_of_the_hidden_tests():
    sources = [
        layout.ASSIGNMENT / "lab05" / "assertions.py",
        *sorted((layout.ASSIGNMENT / "lab05" / "checks").glob("*.py")),
    ]
    used = set()
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        encodings = {id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "encoding"}
        used |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", node.value)
            and id(node) not in encodings
        }
    assert len(used) >= 40, f"expected the public checks to name most mistakes, found {sorted(used)}"
    unknown = sorted(used - set(hidden.MISTAKES))
    assert not unknown, f"ids in lab05/checks/ that MISTAKES does not have: {unknown}"


def test_no_message_shows_a_hidden_cases_reference_value(report):
    leaks = [o for o in report.outcomes if o.leaks]
    assert not leaks, "public messages that show a hidden case's reference value:\n" + _rows(
        leaks, lambda o: f"{o.leaks} in {list(o.failed.values())}"
    )


def test_the_scan_finds_a_hidden_value_the_notebook_does_not_give():
    """The scan itself: the laptop GPU's width shows in a message of a notebook whose search is wrong."""
    layout.import_lab_modules_from_the_project()
    import lab05_reference as ref

    from lab05 import constants

    width = ref.max_trainable_width(constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU])
    right = {"max_trainable_width": ref.max_trainable_width}
    wrong = {"max_trainable_width": lambda *args, **kwargs: ref.max_trainable_width(*args, **kwargs) - 1}
    message = f"the width {width:,} still fits"
    assert public_mutation_runner.hidden_values_shown(message, wrong), f"input: {message!r}; expected a leak, got none"
    assert not public_mutation_runner.hidden_values_shown(message, right), (
        f"input: {message!r} from the notebook's own answer"
    )
