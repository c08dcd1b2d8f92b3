"""The scaffold of the hidden tests: what is graded, running cases, naming mistakes, accepting.

* :func:`run_cases` runs a test's cases and fails once, naming the first few failed ones
  (:class:`Failures`);
* :class:`Hint`, :func:`diagnose`, :func:`explain` and :func:`tag` say what a wrong answer
  suggests and name its mistake (one of :data:`~lab05_autograder.hidden.mistakes.MISTAKES`);
* :func:`own_answer` and :func:`own_number` are the acceptance helpers: what the student's own functions
  give, for answers built on them (one mistake costs points once);
* :func:`choice` grades a multiple-choice answer; :func:`rng` and :func:`random_layers` make the
  seeded inputs, the same for every student.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from lab05 import assertions, guards
from lab05.assertions import call, fail

from .mistakes import MISTAKE_TAG, MISTAKES

SEED = 5
#: Graded functions: the probe gives each back the last function the notebook bound to it.
GRADED_FUNCTIONS = (
    "transistor_tax",
    "extra_transistors",
    "sigmoid_derivative",
    "gradient_bound",
    "stall_depth",
    "parameter_count",
    "layer_macs",
    "training_memory",
    "inference_memory",
    "max_trainable_width",
)
ANSWERS = {
    "act1_reflection_reason": "A",
    "act1_failure_mode": "silent",
    "act2_reflection": "B",
    "deployment_answer": "B",
}
#: Answers chosen from options: the checks read them with case and spaces ignored.
CHOICES = (*ANSWERS, "act1_prediction", "activation_choice")
MAX_REPORTED = 3


MISSING = object()


def close(got: float, expected: float, rel: float = 1e-9, abs_tol: float = 1e-12) -> bool:
    return math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol)


@dataclasses.dataclass(frozen=True)
class Hint:
    """What a wrong answer suggests, for the student, and the id of the mistake it names
    (one of :data:`MISTAKES`; None where the tests cannot name it)."""

    text: str
    mistake: str | None = None

    def __post_init__(self):
        if self.mistake is not None and self.mistake not in MISTAKES:
            raise ValueError(f"{self.mistake!r} is not one of the MISTAKES")


def tag(mistake: str | None) -> str:
    """`` [mistake: <id>]``, the end of a message that names a mistake; "" for None."""
    return f" [mistake: {mistake}]" if mistake else ""


def explain(head: str, hint: Hint) -> str:
    """The failure message ``head: hint.``, tagged with the hint's mistake."""
    return f"{head}: {hint.text}.{tag(hint.mistake)}"


class Failures:
    """Collects failed behaviours of one test and reports the first few together."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    def check(self, fn: Callable[[], None]) -> None:
        """Run one sub-check; a failure is recorded and the test goes on."""
        try:
            fn()
        except assertions.CallBroken:
            raise  # the same for every case: report it once, at once
        except assertions.CheckFailed as exc:
            self.add(str(exc))

    def raise_if_any(self) -> None:
        """Fail with the first few lines; the mistakes the others name are tagged at the end."""
        if self.lines:
            more = len(self.lines) - MAX_REPORTED
            shown = self.lines[:MAX_REPORTED]
            text = "\n- ".join(shown)
            suffix = ""
            if more > 0:
                named = {m for line in shown for m in MISTAKE_TAG.findall(line)}
                unshown = [m for line in self.lines[MAX_REPORTED:] for m in MISTAKE_TAG.findall(line)]
                tags = "".join(tag(m) for m in dict.fromkeys(unshown) if m not in named)
                suffix = f"\n(and {more} more case{'s' if more > 1 else ''} like these){tags}"
            fail("- " + text + suffix)


def run_cases(env: dict, *groups: tuple[Callable[..., None], Iterable]) -> None:
    """The scaffold of a hidden test: ``test_one(*case)`` for every case of every ``(test_one,
    cases)`` group (a case that is not a tuple is one argument), with the notebook's own functions;
    then one failure naming the first few failed cases (:class:`Failures`). A stub or a loop that
    never ends fails at its first case (:class:`assertions.CallBroken`)."""
    fails = Failures()
    for test_one, cases in groups:
        for case in cases:
            fails.check(functools.partial(test_one, *(case if type(case) is tuple else (case,))))
    fails.raise_if_any()


def diagnose(got: float, expected: float, alternatives: Iterable[tuple[float, str, str]], default: str) -> Hint:
    """The first alternative ``(wrong value, mistake id, explanation)`` whose wrong value matches
    ``got``, as a :class:`Hint`; ``default`` (a mistake the tests cannot name) if none does."""
    for wrong, mistake, why in alternatives:
        if wrong is not None and close(got, wrong) and not close(wrong, expected):
            return Hint(why, mistake)
    return Hint(default)


def array_call(env: dict, name: str, values: np.ndarray):
    """Call ``name`` on an array; a failure says the function must work elementwise on arrays."""
    try:
        return call(env, name, values.copy())
    except assertions.CallBroken:
        raise
    except assertions.CheckFailed as exc:
        fail(
            f"{str(exc).rstrip('.')}. For an array it should work elementwise: use NumPy functions (np.exp, np.abs, "
            "np.power, np.where) rather than math functions and if statements, which take one number."
            + tag("array-not-elementwise" if isinstance(exc, assertions.CallRaised) else None)
        )


def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def random_layers(gen: np.random.Generator, count: int) -> list[list[int]]:
    layers = []
    for _ in range(count):
        depth = int(gen.integers(2, 7))
        layers.append([int(w) for w in gen.integers(1, 2049, size=depth)])
    return layers


def own_answer(env: Mapping, fn: Callable[[], Any]):
    """The value ``fn`` computes with the student's own functions, or None if they fail."""
    try:
        if getattr(env, "limits_calls", False):  # trusted scoring: each remote call has its own limit
            return fn()
        return guards.call_with_time_limit(fn, (), {}, assertions.TIME_LIMIT_S)
    except (Exception, guards.CallTimedOut):
        return None


def own_number(env: Mapping, fn: Callable[[], Any]) -> float | None:
    """Like :func:`own_answer`, for a finite number; None if the student's functions give anything else."""
    value = own_answer(env, fn)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


#: The mistake a choice that is not the best answer names, by variable.
CHOICE_MISTAKES = {
    "act1_reflection_reason": "act1-reason-not-best",
    "act1_failure_mode": "act1-failure-mode-not-best",
    "act2_reflection": "act2-reflection-not-best",
    "deployment_answer": "deployment-not-best",
}


def choice(env: Mapping, variable: str) -> None:
    answer = assertions.expect_choice(
        env, variable, assertions.FAILURE_MODES if variable == "act1_failure_mode" else assertions.LETTERS
    )
    if answer != ANSWERS[variable]:
        fail(
            f"`{variable}` is {env[variable]!r}, which is not the best answer. Reread the part of the "
            "lab it refers to and try again." + tag(CHOICE_MISTAKES[variable])
        )
