"""lab05.displays.feedback: explanations of the reflections, once answered.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import pytest
from figures import CLEAN_FIGURES
from lab05_autograder.hidden import ANSWERS

from lab05 import displays
from lab05.displays import feedback

pytestmark = CLEAN_FIGURES


def test_feedback_explains_the_answers_the_hidden_tests_grade():
    explained = feedback.decode_feedback()
    asked = {variable: options for answers in feedback.QUESTIONS.values() for variable, options in answers}
    assert set(explained) == set(asked) == set(ANSWERS), f"expected every graded reflection, got {sorted(explained)}"
    for variable, entry in explained.items():
        assert entry["best"] == ANSWERS[variable], (
            f"input: {variable}; expected the explanation of the graded answer {ANSWERS[variable]!r}, got {entry['best']!r}"
        )
        others = set(asked[variable]) - {entry["best"]}
        assert set(entry["options"]) == others and all(entry["options"].values()), (
            f"input: {variable}; expected a note on each other option {sorted(others)}, got {sorted(entry['options'])}"
        )
    assert feedback.decode_feedback(feedback.encode_feedback(explained)) == explained, "expected encode to undo decode"


@pytest.mark.parametrize(
    "question, answers, locked",
    [
        ("act1_reflection", (None, None), ["act1_reflection_reason", "act1_failure_mode"]),
        ("act1_reflection", ("A", "noisy"), ["act1_failure_mode"]),
        ("act2_reflection", ("E",), ["act2_reflection"]),
        ("deployment", (Ellipsis,), ["deployment_answer"]),
    ],
)
def test_feedback_stays_locked_until_every_answer_is_set(question, answers, locked, capsys):
    result = displays.reflection_feedback.__wrapped__(question, *answers)
    out = capsys.readouterr().out
    assert result is None, f"input: {question} {answers}; expected None while locked, got {result!r}"
    assert [v for v in locked if f"`{v}`" in out] == locked and "🔒" in out, f"input: {answers}; got {out!r}"
    assert "best answer" not in out and "Why" not in out, f"input: {answers}; expected nothing given away, got {out!r}"


@pytest.mark.parametrize("question", sorted(feedback.QUESTIONS))
def test_feedback_opens_once_answered_and_names_the_best_answer(question, capsys):
    asked = feedback.QUESTIONS[question]
    wrong = [next(o for o in options if o != ANSWERS[variable]) for variable, options in asked]
    result = displays.reflection_feedback.__wrapped__(question, *(w.lower() for w in wrong))
    out = capsys.readouterr().out
    for (variable, _options), choice in zip(asked, wrong):
        best = ANSWERS[variable]
        assert result[variable] == {"chosen": choice, "best": best, "is_best": False}, f"got {result[variable]}"
        for text in (f'you chose "{choice}"; the best answer is "{best}"', f'Why not "{choice}":', f'Why "{best}":'):
            assert text in out, f"input: {variable} = {choice!r}; expected {text!r}, got {out!r}"
    best = [ANSWERS[variable] for variable, _options in asked]
    result = displays.reflection_feedback.__wrapped__(question, *best)
    out = capsys.readouterr().out
    assert all(entry["is_best"] for entry in result.values()) and "Why not" not in out, f"input: {best}; got {out!r}"


def test_feedback_rejects_an_unknown_question_or_a_missing_answer():
    with pytest.raises(ValueError, match="act2_reflection"):
        displays.reflection_feedback.__wrapped__("act3", "A")
    with pytest.raises(ValueError, match="2 answers"):
        displays.reflection_feedback.__wrapped__("act1_reflection", "A")
