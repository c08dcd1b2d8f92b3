"""Hidden tests of Lab 05: each student function against the reference implementation.

Ships in the autograder bundle only. Each ``test_*`` function is one hidden test case (the
public checks students run are ``lab05.checks.check_*``; the bundle's test files call both). The
cases are the chapter's, edge cases (batch 1, FP16, every optimizer, thresholds that are exact
powers, budgets at and around the wall) and seeded random inputs, the same for every student.

Principles:
    * Only the notebook's own code earns points, and no reference value ever reaches it: every
      function is tested with the notebook's own other functions in place.
    * One mistake costs points once, in the question that owns it: an answer computed from another
      graded function (a training total from ``parameter_count``, a width from
      ``training_memory``, the batch-doubling ratio, the ledger) is accepted when it agrees with
      the reference or with what the student's own upstream function gives (:mod:`lab05_upstream`
      says which upstream mistakes that covers).
    * A failure message names the call, what came back and which behaviour was wrong, never
      the reference value of a hidden case.
    * A message that recognises a known mistake ends with its id, `` [mistake: <id>]``, one of
      :data:`MISTAKES`; the batch grader's mistakes report counts them (tools/mistakes.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import lab05_reference as ref
import lab05_upstream as upstream
import numpy as np

import lab05.ledger
from lab05 import assertions as checks
from lab05 import constants, guards
from lab05.assertions import call, describe_call, expect_memory_dict, expect_number, expect_whole, fail, show

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

#: The mistakes the hidden tests recognise: id -> what the student did. A failure message that
#: recognises one ends with `` [mistake: <id>]``. The README's table of mistakes lists the same.
MISTAKES: dict[str, str] = {
    "tax-ratio-inverted": "transistor_tax divides the baseline's count by the activation's (the ratio inverted)",
    "tax-baseline-ignored": "transistor_tax ignores its baseline argument (always compares with ReLU)",
    "tax-count-not-ratio": "transistor_tax returns the activation's transistor count, not a ratio of two counts",
    "tax-integer-division": "transistor_tax divides with //, which drops the ratio's fraction",
    "extra-sign-flipped": "extra_transistors subtracts the activation's count from the baseline's (sign flipped)",
    "extra-baseline-not-subtracted": "extra_transistors does not subtract the baseline's transistors",
    "extra-one-layer-only": "extra_transistors counts the units of one layer, not of every layer",
    "extra-baseline-ignored": "extra_transistors ignores its baseline argument (always compares with ReLU)",
    "extra-ratio-not-difference": "extra_transistors uses the ratio of the two counts instead of their difference",
    "sigd-returns-sigmoid": "sigmoid_derivative returns the sigmoid itself, not its slope",
    "sigd-one-plus-sigmoid": "sigmoid_derivative computes sigmoid(x) * (1 + sigmoid(x))",
    "sigd-tanh-slope": "sigmoid_derivative returns the slope of tanh",
    "sigd-not-zero-far-out": "sigmoid_derivative is not (almost) 0 at extreme inputs such as 1,000",
    "sigd-overflows": "sigmoid_derivative overflows at extreme inputs such as -1,000 (a NumPy warning)",
    "array-not-finite": "an array of answers holds NaN or infinite elements (an overflow hidden, not avoided)",
    "array-not-elementwise": "the function fails on an array (math functions or if statements instead of NumPy)",
    "array-result-not-ndarray": "for an array it returns something other than an ndarray of the same shape",
    "number-returns-array": "for a single number it returns an array, not a number",
    "bound-max-derivative-ignored": "gradient_bound ignores its max_derivative argument (always 0.25)",
    "bound-one-layer-short": "gradient_bound multiplies one factor fewer than there are layers",
    "bound-one-layer-too-many": "gradient_bound multiplies one factor more than there are layers",
    "bound-adds-not-multiplies": "gradient_bound adds the layers' factors (max_derivative * depth), not multiplies",
    "stall-not-strict-at-exact-power": "stall_depth stops where the bound equals the threshold (<= at an exact power)",
    "stall-one-layer-early": "stall_depth returns the last depth before the bound falls below the threshold",
    "stall-one-layer-late": "stall_depth returns one depth after the first one below the threshold",
    "stall-none-below-one": "stall_depth returns None although max_derivative is below 1",
    "stall-not-none-at-or-above-one": "stall_depth returns a depth where the bound never falls (max_derivative >= 1)",
    "act1-reason-not-best": "act1_reflection_reason is not the best answer",
    "act1-failure-mode-not-best": "act1_failure_mode is not the best answer",
    "act2-reflection-not-best": "act2_reflection is not the best answer",
    "deployment-not-best": "deployment_answer is not the best answer",
    "params-biases-missing": "parameter_count forgets the biases",
    "params-biases-on-inputs": "parameter_count gives each layer biases for its inputs instead of its outputs",
    "params-input-layer-biases": "parameter_count gives the input layer biases too",
    "params-first-layer-only": "parameter_count counts the first layer only",
    "params-tuple-differs": "parameter_count counts a tuple of widths differently from a list",
    "macs-bias-counted": "layer_macs counts the bias additions as multiply-accumulates",
    "memory-in-kib": "training_memory answers in KiB instead of bytes",
    "memory-biases-missing": "training_memory's weights or gradients forget the biases",
    "memory-not-in-bytes": "training_memory counts values, not bytes (bytes_per_value left out)",
    "memory-fp32-hard-coded": "the memory model uses 4 bytes per value instead of bytes_per_value (FP16 ignored)",
    "memory-adam-counted-once": "training_memory keeps one state value per parameter for Adam instead of two",
    "memory-sgd-given-state": "training_memory gives plain SGD optimizer state",
    "memory-optimizer-state-missing": "training_memory keeps no state for an optimizer that has some",
    "memory-state-ignores-optimizer": "training_memory keeps Adam's two state values for every optimizer",
    "memory-input-activations-missing": "training_memory leaves the input layer out of the activations",
    "memory-output-activations-missing": "training_memory leaves the output layer out of the activations",
    "memory-activations-ignore-batch": "training_memory's activations do not grow with batch_size",
    "memory-total-leaves-out-a-part": "training_memory's total leaves out one of the four parts",
    "inference-keeps-gradients": "inference_memory counts gradients too",
    "inference-no-activations": "inference_memory counts the weights only, without the batch's activations",
    "inference-no-weights": "inference_memory counts the activations only, without the weights",
    "inference-batch-ignored": "inference_memory ignores batch_size",
    "width-batch-size-ignored": "max_trainable_width ignores its batch_size argument",
    "width-precision-ignored": "max_trainable_width ignores its bytes_per_value argument",
    "width-optimizer-ignored": "max_trainable_width ignores its optimizer argument",
    "width-does-not-fit": "max_trainable_width returns a width whose training memory exceeds the budget",
    "width-strictly-below-budget": "max_trainable_width rejects a width that fills the budget exactly (< for <=)",
    "width-edge-of-search": "max_trainable_width stops one or two widths short (the search's edge, or odd widths)",
    "width-nothing-fits-not-zero": "max_trainable_width does not return 0 when not even W = 2 fits",
    "batch-ratio-inverted": "batch_doubling_ratio divides the total at batch 32 by the total at batch 64",
    "batch-ratio-is-two": "batch_doubling_ratio is 2, as if all of training memory grew with the batch",
    "ledger-stale": "the ledger records values the notebook has since changed (or no longer has)",
    "ledger-width-at-default-batch": "the ledger's laptop-GPU width is at batch 32, not at the batch it records",
    "ledger-error-sign-flipped": "the ledger's estimate error is actual minus estimate (sign flipped)",
    "ledger-error-in-bytes": "the ledger's estimate error is in bytes, not KiB",
    "ledger-error-at-chosen-batch": "the ledger's estimate error is at batch_size_chosen, not batch 32",
}
#: How a message names its mistake; a student's own text is kept from looking like one
#: (:func:`lab05.checks.error_text`, :func:`lab05.checks.show`).
MISTAKE_TAG = re.compile(r" \[mistake: ([a-z0-9]+(?:-[a-z0-9]+)+)\]")


# ---------------------------------------------------------------------------------------------
# Machinery
# ---------------------------------------------------------------------------------------------
_MISSING = object()


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
        except checks.CallBroken:
            raise  # the same for every case: report it once, at once
        except checks.CheckFailed as exc:
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
    never ends fails at its first case (:class:`checks.CallBroken`)."""
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
    except checks.CallBroken:
        raise
    except checks.CheckFailed as exc:
        fail(
            f"{str(exc).rstrip('.')}. For an array it should work elementwise: use NumPy functions (np.exp, np.abs, "
            "np.power, np.where) rather than math functions and if statements, which take one number."
            + tag("array-not-elementwise" if isinstance(exc, checks.CallRaised) else None)
        )


def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def random_layers(gen: np.random.Generator, count: int) -> list[list[int]]:
    layers = []
    for _ in range(count):
        depth = int(gen.integers(2, 7))
        layers.append([int(w) for w in gen.integers(1, 2049, size=depth)])
    return layers


# ---------------------------------------------------------------------------------------------
# Act 1
# ---------------------------------------------------------------------------------------------
def test_transistor_tax(env: dict) -> None:
    """transistor_tax agrees with the reference for every pair of activations."""

    def one(activation, baseline):
        kwargs = {} if baseline == "relu" else {"baseline": baseline}
        text = describe_call("transistor_tax", (activation,), kwargs)
        got = expect_number(call(env, "transistor_tax", activation, **kwargs), text)
        expected = ref.transistor_tax(activation, baseline)
        if not close(got, expected):
            why = diagnose(
                got,
                expected,
                [
                    (
                        1 / expected,
                        "tax-ratio-inverted",
                        "the ratio looks inverted: it should say how "
                        "many times MORE transistors the activation needs than the baseline",
                    ),
                    (
                        ref.transistor_tax(activation),
                        "tax-baseline-ignored",
                        "the baseline argument seems to be ignored",
                    ),
                    (
                        constants.ACTIVATION_TRANSISTORS[activation],
                        "tax-count-not-ratio",
                        "it should be a ratio of two transistor counts, not a count",
                    ),
                    (
                        constants.ACTIVATION_TRANSISTORS[activation] // constants.ACTIVATION_TRANSISTORS[baseline],
                        "tax-integer-division",
                        "integer division (//) drops the fraction: divide with /",
                    ),
                ],
                "it should be the ratio of the two units' transistor counts",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    names = sorted(constants.ACTIVATION_TRANSISTORS)
    run_cases(env, (one, [(a, b) for a in names for b in names]))


def test_extra_transistors(env: dict) -> None:
    """extra_transistors agrees with the reference on the chapter's case and random networks."""
    gen = rng()
    names = sorted(constants.ACTIVATION_TRANSISTORS)
    cases = [(1000, 10, "sigmoid", "relu"), (1, 1, "relu", "sigmoid")]
    for _ in range(12):
        cases.append(
            (
                int(gen.integers(1, 5000)),
                int(gen.integers(1, 60)),
                names[int(gen.integers(len(names)))],
                names[int(gen.integers(len(names)))],
            )
        )

    def one(n, layers, activation, baseline):
        kwargs = {} if baseline == "relu" else {"baseline": baseline}
        text = describe_call("extra_transistors", (n, layers, activation), kwargs)
        got = expect_number(call(env, "extra_transistors", n, layers, activation, **kwargs), text)
        expected = ref.extra_transistors(n, layers, activation, baseline)
        if not close(got, expected):
            t = constants.ACTIVATION_TRANSISTORS
            why = diagnose(
                got,
                expected,
                [
                    (
                        -expected,
                        "extra-sign-flipped",
                        "the sign is flipped: it is the activation's "
                        "transistors minus the baseline's, so it is negative only when the activation is cheaper",
                    ),
                    (
                        n * layers * t[activation],
                        "extra-baseline-not-subtracted",
                        "the baseline's transistors should be subtracted",
                    ),
                    (
                        n * (t[activation] - t[baseline]),
                        "extra-one-layer-only",
                        "it should count the units of every layer, not one layer",
                    ),
                    (
                        n * layers * (t[activation] - t["relu"]),
                        "extra-baseline-ignored",
                        "the baseline argument seems to be ignored",
                    ),
                    (
                        n * layers * t[activation] / t[baseline],
                        "extra-ratio-not-difference",
                        "it should be the number of extra transistors (a difference of counts), not a ratio",
                    ),
                ],
                "it should count every unit of every layer times the extra transistors each "
                "unit needs over the baseline",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, cases))


def test_sigmoid_derivative_values(env: dict) -> None:
    """sigmoid_derivative matches the reference on scalars across the whole input range."""
    gen = rng()
    xs = [0, 2, -3] + list(np.linspace(-30.0, 30.0, 61)) + list(gen.normal(0.0, 8.0, 20))

    def one(x):
        text = describe_call("sigmoid_derivative", (x,))
        got = call(env, "sigmoid_derivative", x)
        if np.ndim(got) != 0:
            fail(
                f"{text} returned {show(got)}; for a single number it should return a single number."
                + tag("number-returns-array")
            )
        got = expect_number(got, text)
        expected = ref.sigmoid_derivative(x)
        if not close(got, expected, rel=1e-7, abs_tol=1e-12):
            sig = constants.sigmoid(x)
            why = diagnose(
                got,
                expected,
                [
                    (sig, "sigd-returns-sigmoid", "it returned the sigmoid itself, not its slope"),
                    (sig * (1 + sig), "sigd-one-plus-sigmoid", "the product should use 1 minus the sigmoid"),
                    (
                        1 - math.tanh(x) ** 2,
                        "sigd-tanh-slope",
                        "that is the slope of tanh; the sigmoid's slope is sigmoid(x) * (1 - sigmoid(x))",
                    ),
                ],
                "it should be the sigmoid's slope at x",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, [x if isinstance(x, int) else float(x) for x in xs]))


def test_sigmoid_derivative_robust(env: dict) -> None:
    """sigmoid_derivative stays finite and warning-free at extreme inputs and works on arrays."""

    def extreme(x):
        text = describe_call("sigmoid_derivative", (x,))
        try:
            got = expect_number(call(env, "sigmoid_derivative", x), text)
        except checks.CallWarned as exc:
            fail(str(exc) + tag("sigd-overflows"))
        if not close(got, ref.sigmoid_derivative(x), rel=1e-7, abs_tol=1e-12):
            fail(
                explain(
                    f"{text} returned {show(got)}",
                    Hint("far from 0 the slope should be (almost) 0", "sigd-not-zero-far-out"),
                )
            )

    def array(xs):
        text = describe_call("sigmoid_derivative", (xs,))
        got = array_call(env, "sigmoid_derivative", xs)
        if not isinstance(got, np.ndarray) or got.shape != xs.shape:
            fail(
                f"{text} returned {show(got)} ({checks.type_name(got)}); for an array it should "
                f"return an ndarray of the same shape {xs.shape}, one slope per element."
                + tag("array-result-not-ndarray")
            )
        if not np.all(np.isfinite(got)):
            fail(
                explain(
                    f"{text} returned {show(got)}", Hint("every element should be a finite number", "array-not-finite")
                )
            )
        if not np.allclose(got, ref.sigmoid_derivative(xs), rtol=1e-7, atol=1e-12):
            fail(f"{text} returned {show(got)}: some elements are not the sigmoid's slope.")

    arrays = [np.linspace(-1000.0, 1000.0, 9), np.array([[-3.0, 0.0, 3.0], [40.0, -40.0, 1.5]]), np.array([0.5])]
    run_cases(env, (extreme, (-1000.0, -745.0, -710.0, 710.0, 1000.0)), (array, arrays))


#: The (depth, max_derivative) cases gradient_bound is graded on (stall_depth's upstream model too).
BOUND_CASES = tuple((depth, md) for depth in (1, 2, 7, 10, 20, 33) for md in (0.25, 0.5, 0.9, 1.0, 1.3))


def _bound_call(env: dict, depth, md):
    kwargs = {} if md == 0.25 else {"max_derivative": md}
    return describe_call("gradient_bound", (depth,), kwargs), call(env, "gradient_bound", depth, **kwargs)


def _own_bound_model(env: Mapping):
    """The model of the student's gradient_bound that fits its graded answers (or None)."""
    answers = [(case, _own(env, lambda case=case: _bound_call(env, *case)[1])) for case in BOUND_CASES]
    return upstream.fit_gradient_bound(answers)


def test_gradient_bound(env: dict) -> None:
    """gradient_bound matches the reference for int depths and arrays of depths."""

    def one(depth, md):
        text, got = _bound_call(env, depth, md)
        if np.ndim(got) != 0:
            fail(
                f"{text} returned {show(got)}; for one depth it should return one number." + tag("number-returns-array")
            )
        got = expect_number(got, text)
        expected = ref.gradient_bound(depth, md)
        if not close(got, expected, rel=1e-9, abs_tol=0):
            why = diagnose(
                got,
                expected,
                [
                    (
                        ref.gradient_bound(depth),
                        "bound-max-derivative-ignored",
                        "the max_derivative argument seems to be ignored",
                    ),
                    (
                        ref.gradient_bound(depth - 1, md),
                        "bound-one-layer-short",
                        "it is one layer short: every one of the `depth` layers multiplies the bound",
                    ),
                    (ref.gradient_bound(depth + 1, md), "bound-one-layer-too-many", "it has one layer too many"),
                    (md * depth, "bound-adds-not-multiplies", "the layers' factors should multiply, not add up"),
                ],
                "it should be the largest gradient left after `depth` layers",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    def array(depths):
        text = describe_call("gradient_bound", (depths,))
        got = array_call(env, "gradient_bound", depths)
        if not isinstance(got, np.ndarray) or got.shape != depths.shape:
            fail(
                f"{text} returned {show(got)} ({checks.type_name(got)}); for an array of depths "
                f"it should return an ndarray of shape {depths.shape}, one bound per depth."
                + tag("array-result-not-ndarray")
            )
        if not np.allclose(got, ref.gradient_bound(depths), rtol=1e-9, atol=0):
            fail(f"{text} returned {show(got)}: some elements are not the bound at that depth.")

    run_cases(env, (one, BOUND_CASES), (array, (np.arange(0, 21), np.array([[1, 2], [3, 4]]))))


def _ambiguous(threshold: float, md: float) -> bool:
    """Whether a threshold sits so close to a power of md that rounding could decide the answer."""
    k = math.log(threshold) / math.log(md)
    return abs(k - round(k)) < 1e-6


def test_stall_depth(env: dict) -> None:
    """stall_depth matches the reference, including thresholds that are exact powers."""
    gen = rng()
    cases = [(1e-6, 0.25), (1e-3, 0.5), (0.3, 0.5), (0.2, 0.25)]
    cases += [(0.25**k, 0.25) for k in (1, 3, 10, 20)] + [(0.5**k, 0.5) for k in (2, 9, 30)]
    while len(cases) < 30:
        md, threshold = float(gen.uniform(0.05, 0.95)), float(10 ** gen.uniform(-12, -0.05))
        if not _ambiguous(threshold, md):
            cases.append((threshold, md))
    # A stall depth that is right for the student's own gradient_bound costs nothing more here.
    own_bound = functools.cache(lambda: _own_bound_model(env))

    def one(threshold, md):
        text = describe_call("stall_depth", (threshold, md))
        got = call(env, "stall_depth", threshold, md)
        if got is None:
            fail(
                f"{text} returned None: with a max_derivative below 1 the bound falls below "
                "any threshold eventually." + tag("stall-none-below-one")
            )
        got = expect_whole(got, text)
        expected = ref.stall_depth(threshold, md)
        bound = own_bound()
        if got != expected and (bound is None or got != upstream.model_stall_depth(bound, threshold, md)):
            early = (
                (
                    expected - 1,
                    "stall-not-strict-at-exact-power",
                    "at that depth the bound is equal to the threshold, which is not strictly below it",
                )
                if ref.gradient_bound(expected - 1, md) == threshold
                else (
                    expected - 1,
                    "stall-one-layer-early",
                    "it is one layer too early: the bound there is not yet strictly below the threshold",
                )
            )
            why = diagnose(
                got,
                expected,
                [
                    early,
                    (
                        expected + 1,
                        "stall-one-layer-late",
                        "it is one layer too late: the bound is already strictly below the threshold one layer earlier",
                    ),
                ],
                "it should be the first depth whose bound is strictly below the threshold",
            )
            fail(explain(f"{text} returned {got}", why))

    def never(md):
        text = describe_call("stall_depth", (1e-6, md))
        got = call(env, "stall_depth", 1e-6, md)
        if got is not None:
            fail(
                f"{text} returned {show(got)}: with max_derivative >= 1 the bound never falls, "
                "so it should return None." + tag("stall-not-none-at-or-above-one")
            )

    run_cases(env, (one, cases), (never, (1.0, 1.5)))


#: The mistake a choice that is not the best answer names, by variable.
CHOICE_MISTAKES = {
    "act1_reflection_reason": "act1-reason-not-best",
    "act1_failure_mode": "act1-failure-mode-not-best",
    "act2_reflection": "act2-reflection-not-best",
    "deployment_answer": "deployment-not-best",
}


def _choice(env: Mapping, variable: str) -> None:
    answer = checks.expect_choice(
        env, variable, checks.FAILURE_MODES if variable == "act1_failure_mode" else checks.LETTERS
    )
    if answer != ANSWERS[variable]:
        fail(
            f"`{variable}` is {env[variable]!r}, which is not the best answer. Reread the part of the "
            "lab it refers to and try again." + tag(CHOICE_MISTAKES[variable])
        )


def test_act1_reason(env: dict) -> None:
    _choice(env, "act1_reflection_reason")


def test_act1_failure_mode(env: dict) -> None:
    _choice(env, "act1_failure_mode")


# ---------------------------------------------------------------------------------------------
# Act 2
# ---------------------------------------------------------------------------------------------
def _network_cases(count: int = 10) -> list[list[int]]:
    return [list(constants.MNIST_LAYER_SIZES), [3, 2], [1, 1]] + random_layers(rng(), count)


def test_parameter_count(env: dict) -> None:
    """parameter_count matches the reference on the MNIST network and random networks."""

    def one(layers):
        text = describe_call("parameter_count", (layers,))
        got = expect_whole(call(env, "parameter_count", list(layers)), text)
        expected = ref.parameter_count(layers)
        if got != expected:
            weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
            why = diagnose(
                got,
                expected,
                [
                    (
                        weights_only,
                        "params-biases-missing",
                        "the biases are missing: every unit of every layer after the input has one",
                    ),
                    (
                        weights_only + sum(layers[:-1]),
                        "params-biases-on-inputs",
                        "the biases belong to each layer's outputs, not its inputs",
                    ),
                    (weights_only + sum(layers), "params-input-layer-biases", "the input layer has no biases"),
                    (
                        layers[0] * layers[1] + layers[1],
                        "params-first-layer-only",
                        "only the first layer is counted: add up the weights and biases of every layer",
                    ),
                ],
                "it should count every weight and every bias",
            )
            fail(explain(f"{text} returned {got}", why))

    def tuple_input():
        layers = (784, 128, 64, 10)
        text = describe_call("parameter_count", (layers,))
        got = expect_whole(call(env, "parameter_count", layers), text)
        # A count that is wrong for the list as well is reported by the cases above.
        if got != ref.parameter_count(layers) and got != _own(env, lambda: env["parameter_count"](list(layers))):
            fail(
                f"{text} gives a different count for a tuple than for a list of the same widths."
                + tag("params-tuple-differs")
            )

    run_cases(env, (one, _network_cases()), (tuple_input, [()]))


def test_layer_macs(env: dict) -> None:
    """layer_macs matches the reference, one entry per layer."""

    def one(layers):
        text = describe_call("layer_macs", (layers,))
        got = checks.expect_sequence(call(env, "layer_macs", list(layers)), len(layers) - 1, text)
        got = [expect_whole(g, f"{text}[{i}]") for i, g in enumerate(got)]
        expected = ref.layer_macs(layers)
        if got != expected:
            with_bias = [a * b + b for a, b in zip(layers[:-1], layers[1:])]
            why = (
                Hint(
                    "a multiply-accumulate pairs one weight with one input; biases are added, not multiplied",
                    "macs-bias-counted",
                )
                if got == with_bias
                else Hint("each entry should be that layer's multiply-accumulates for one example")
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, _network_cases()))


def _memory_cases() -> list[tuple[list[int], int, float, str]]:
    gen = rng()
    mnist = list(constants.MNIST_LAYER_SIZES)
    cases = [(mnist, b, bpv, opt) for b in (1, 32, 64) for bpv in (4, 2) for opt in ("sgd", "momentum", "adam")]
    for layers in random_layers(gen, 8):
        cases.append(
            (
                layers,
                int(gen.integers(1, 513)),
                (4, 2, 1)[int(gen.integers(3))],
                ("sgd", "momentum", "adam")[int(gen.integers(3))],
            )
        )
    return cases


def _memory_call(env, layers, batch, bpv, opt):
    kwargs = {}
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("training_memory", (layers, batch), kwargs)
    return text, expect_memory_dict(call(env, "training_memory", list(layers), batch, **kwargs), text)


def _own_parameter_count(env: Mapping, layers: list[int]) -> int | None:
    """The student's parameter_count of ``layers``, as its own test asks it (None if it fails)."""
    got = _own(env, lambda: call(env, "parameter_count", list(layers)))
    return got if type(got) is int else None


def _check_memory_keys(env: dict, keys: tuple[str, ...]) -> None:
    def one(layers, batch, bpv, opt):
        text, got = _memory_call(env, layers, batch, bpv, opt)
        expected = ref.training_memory(layers, batch, bpv, opt)
        params = ref.parameter_count(layers)
        if any(not close(got[key], expected[key]) for key in keys):
            # Judged on the student's own parameter_count, whose mistakes cost its own question: what is
            # right for that count passes, and what is not is named as training_memory's own mistake.
            own_params = _own_parameter_count(env, layers)
            if own_params is not None and own_params != params:
                params, expected = own_params, upstream.memory_with_parameters(own_params, layers, batch, bpv, opt)
        for key in keys:
            if not close(got[key], expected[key]):
                fail(
                    explain(
                        f"{text}[{key!r}] is {show(got[key])}",
                        _memory_hint(key, got, expected, layers, batch, bpv, opt, params),
                    )
                )

    run_cases(env, (one, _memory_cases()))


def _memory_hint(key, got, expected, layers, batch, bpv, opt, params: int) -> Hint:
    """What is wrong with ``got[key]`` against ``expected`` (the model with ``params`` parameters)."""
    weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
    state = constants.OPTIMIZER_STATE_PER_PARAM[opt]
    value = got[key]
    kib = [(expected[key] / constants.BYTES_PER_KIB, "memory-in-kib", "it should be in bytes, not KiB")]
    if key in ("weights", "gradients"):
        return diagnose(
            value,
            expected[key],
            kib
            + [
                (weights_only * bpv, "memory-biases-missing", "the biases are parameters too"),
                (params, "memory-not-in-bytes", "it should be in bytes: each value takes bytes_per_value bytes"),
                (params * 4, "memory-fp32-hard-coded", "it should use bytes_per_value (FP16 values take 2 bytes)"),
            ],
            f"the {key} should hold one value per parameter, at bytes_per_value bytes each",
        )
    if key == "optimizer":
        one_value = (
            (
                params * bpv,
                "memory-adam-counted-once",
                "Adam keeps two values per parameter (momentum and velocity), momentum one",
            )
            if opt == "adam"
            else (params * bpv, "memory-sgd-given-state", "plain SGD keeps no state")
        )
        return diagnose(
            value,
            expected[key],
            kib
            + [
                one_value,
                (0, "memory-optimizer-state-missing", "this optimizer keeps state for every parameter"),
                (
                    2 * params * bpv,
                    "memory-state-ignores-optimizer",
                    "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
                ),
                (
                    state * params * 4,
                    "memory-fp32-hard-coded",
                    "it should use bytes_per_value (FP16 values take 2 bytes)",
                ),
            ],
            "it should hold the optimizer's state values for every parameter, at bytes_per_value bytes each",
        )
    if key == "activations":
        return diagnose(
            value,
            expected[key],
            kib
            + [
                (
                    batch * sum(layers[1:]) * bpv,
                    "memory-input-activations-missing",
                    "the input layer's activations must be stored too",
                ),
                (
                    sum(layers) * bpv,
                    "memory-activations-ignore-batch",
                    "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
                ),
                (
                    batch * sum(layers) * 4,
                    "memory-fp32-hard-coded",
                    "it should use bytes_per_value too (FP16 halves the activations)",
                ),
                (
                    batch * sum(layers),
                    "memory-not-in-bytes",
                    "it should be in bytes: each value takes bytes_per_value bytes",
                ),
                (
                    batch * sum(layers[:-1]) * bpv,
                    "memory-output-activations-missing",
                    "the output layer's activations must be stored too",
                ),
            ],
            "it should hold every layer's outputs (input layer included) for every example in the "
            "batch, at bytes_per_value bytes each",
        )
    parts = {k: got[k] for k in ("weights", "gradients", "optimizer", "activations")}
    if close(value, sum(parts.values())):
        wrong = [k if k != "optimizer" else "optimizer state" for k in parts if not close(got[k], expected[k])]
        return Hint(
            f"it adds up your components, but your {' and '.join(wrong)} "
            f"{'is' if wrong == ['optimizer state'] else 'are'} not right (see this question's other tests)"
        )
    left_out = [k for k in parts if parts[k] and close(value, sum(parts.values()) - parts[k])]
    if left_out:
        return Hint(f"the total leaves out the {' or the '.join(left_out)}", "memory-total-leaves-out-a-part")
    return diagnose(
        value,
        expected[key],
        kib,
        "the total should be the sum of the weights, gradients, optimizer state and activations",
    )


def test_training_memory_parameters(env: dict) -> None:
    """Weights, gradients and optimizer state match the reference for every optimizer and precision."""
    _check_memory_keys(env, ("weights", "gradients", "optimizer"))


def test_training_memory_activations(env: dict) -> None:
    """Activations match the reference across batch sizes and precisions."""
    _check_memory_keys(env, ("activations",))


def test_training_memory_total(env: dict) -> None:
    """Totals match the reference."""
    _check_memory_keys(env, ("total",))


def _own_memory_model(env: Mapping):
    """The model of the student's training_memory that fits its graded answers (or None)."""
    answers = [(case, _own(env, lambda case=case: _memory_call(env, *case)[1])) for case in _memory_cases()]
    return upstream.fit_training_memory(answers)


def test_inference_memory(env: dict) -> None:
    """inference_memory matches the reference: weights plus one batch of activations."""
    cases = [
        (list(constants.MNIST_LAYER_SIZES), 1, 4),
        (list(constants.MNIST_LAYER_SIZES), 1, 2),
        (list(constants.MNIST_LAYER_SIZES), 32, 4),
    ] + [(layers, b, bpv) for layers, b, bpv, _ in _memory_cases()[-6:]]
    # Right for the student's own training_memory (whose mistakes cost their own tests)?
    own_memory = functools.cache(lambda: _own_memory_model(env))

    def one(layers, batch, bpv):
        kwargs = {}
        if batch != 1:
            kwargs["batch_size"] = batch
        if bpv != 4:
            kwargs["bytes_per_value"] = bpv
        text = describe_call("inference_memory", (layers,), kwargs)
        got = expect_number(call(env, "inference_memory", list(layers), **kwargs), text)
        expected = ref.inference_memory(layers, batch, bpv)
        model = own_memory() if not close(got, expected) else None
        if not close(got, expected) and (
            model is None or not close(got, upstream.model_inference_memory(model, layers, batch, bpv))
        ):
            t = ref.training_memory(layers, batch, bpv, "sgd")
            why = diagnose(
                got,
                expected,
                [
                    (
                        t["weights"] + t["gradients"] + t["activations"],
                        "inference-keeps-gradients",
                        "inference keeps no gradients",
                    ),
                    (t["weights"], "inference-no-activations", "inference still holds the activations of the batch"),
                    (t["activations"], "inference-no-weights", "inference still holds the weights"),
                    (
                        ref.inference_memory(layers, 1, bpv),
                        "inference-batch-ignored",
                        "the activations should grow with batch_size",
                    ),
                    (ref.inference_memory(layers, batch, 4), "memory-fp32-hard-coded", "it should use bytes_per_value"),
                ],
                "it should be the weights plus the activations of one batch, in bytes",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, cases))


def _width_call(env: dict, budget, batch: int = 32, bpv: float = 4, opt: str = "adam"):
    kwargs = {}
    if batch != 32:
        kwargs["batch_size"] = batch
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("max_trainable_width", (budget,), kwargs)
    return text, expect_whole(call(env, "max_trainable_width", budget, **kwargs), text)


#: The mistake of a width search that ignores one of its arguments, by argument.
IGNORED_ARGUMENT_MISTAKES = {
    "batch_size": "width-batch-size-ignored",
    "bytes_per_value": "width-precision-ignored",
    "optimizer": "width-optimizer-ignored",
}


def _width_hint(got: int, budget, batch, bpv, opt) -> Hint:
    expected = ref.max_trainable_width(budget, batch, bpv, opt)
    ignored = [
        name
        for name, value in (
            ("batch_size", ref.max_trainable_width(budget, 32, bpv, opt)),
            ("bytes_per_value", ref.max_trainable_width(budget, batch, 4, opt)),
            ("optimizer", ref.max_trainable_width(budget, batch, bpv, "adam")),
        )
        if got == value != expected
    ]
    if len(ignored) == 1:
        return Hint(
            f"the {ignored[0]} argument seems to be ignored: the wall moves with it",
            IGNORED_ARGUMENT_MISTAKES[ignored[0]],
        )
    if got > expected:
        return Hint(
            "that width does not fit: the answer is the largest width whose training memory is at most the budget",
            "width-does-not-fit",
        )
    if expected >= 2 and (got == expected - 1 or (got == expected - 2 and expected % 2 == 1)):
        at_wall = ref.training_memory(constants.challenge_layer_sizes(expected), batch, bpv, opt)["total"] == budget
        strict = (
            "a width whose training memory equals the budget exactly still fits: it must be at most "
            "the budget (<=), not strictly below it"
        )
        if at_wall and expected % 2 == 0 and got == expected - 1:
            return Hint(strict, "width-strictly-below-budget")
        if at_wall:
            return Hint(
                f"a wider network still fits: check the edge of your search ({strict}; and odd widths count too)",
                "width-edge-of-search",
            )
        return Hint(
            "a wider network still fits; check the edge of your search (every width counts, odd ones too)",
            "width-edge-of-search",
        )
    return Hint("a wider network still fits within this budget")


def _own_width_check(env: Mapping):
    """``right(got, budget, batch, bpv, opt)``: whether ``got`` is the width the reference's search
    gives on the student's own training_memory (a model of it that fits its graded answers), so that
    a training_memory mistake costs its own question once. Fitted once, on first use."""
    model = functools.cache(lambda: _own_memory_model(env))

    def right(got, budget, batch=32, bpv=4, opt="adam") -> bool:
        return model() is not None and got == upstream.model_max_width(model(), budget, batch, bpv, opt)

    return right


def test_max_width_devices(env: dict) -> None:
    """max_trainable_width matches the reference for the four devices (batch 32, FP32, Adam), and for
    the laptop GPU at every batch size the lab offers (the ledger records one of them)."""
    own = _own_width_check(env)

    def one(budget, batch=32):
        text, got = _width_call(env, budget, batch)
        if got != ref.max_trainable_width(budget, batch) and not own(got, budget, batch):
            fail(explain(f"{text} returned {got}", _width_hint(got, budget, batch, 4, "adam")))

    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    run_cases(
        env,
        (one, constants.DEVICE_BUDGETS_BYTES.values()),
        (one, [(laptop, b) for b in constants.BATCH_SIZE_CHOICES if b != constants.MNIST_BATCH_SIZE]),
    )


def test_max_width_settings(env: dict) -> None:
    """max_trainable_width follows batch size, precision and optimizer, and is exact at the wall."""
    gen = rng()
    cases = []
    for width in (4097, 1024, 255, 17, 3, 2):  # budgets exactly at, just under and just over walls
        for batch, bpv, opt in ((32, 4, "adam"), (1, 2, "sgd"), (256, 4, "momentum")):
            total = ref.training_memory(constants.challenge_layer_sizes(width), batch, bpv, opt)["total"]
            cases += [(total, batch, bpv, opt), (total - 1, batch, bpv, opt), (total + 1, batch, bpv, opt)]
    for _ in range(10):
        cases.append(
            (
                int(10 ** gen.uniform(4, 11)),
                int(gen.choice([1, 8, 64, 128, 1024])),
                int(gen.choice([2, 4])),
                str(gen.choice(["sgd", "momentum", "adam"])),
            )
        )
    cases.append((ref.training_memory([784, 2, 1, 10], 32)["total"] - 1, 32, 4, "adam"))  # nothing fits

    own = _own_width_check(env)

    def one(budget, batch, bpv, opt):
        text, got = _width_call(env, budget, batch, bpv, opt)
        expected = ref.max_trainable_width(budget, batch, bpv, opt)
        if got != expected and not own(got, budget, batch, bpv, opt):
            why = (
                Hint(
                    "not even the smallest network (W = 2) fits this budget, so the answer is 0",
                    "width-nothing-fits-not-zero",
                )
                if expected == 0
                else _width_hint(got, budget, batch, bpv, opt)
            )
            fail(explain(f"{text} returned {got}", why))

    run_cases(env, (one, cases))


def test_max_width_large_budget(env: dict) -> None:
    """max_trainable_width answers within the time limit for budgets up to 1 TiB."""

    own = _own_width_check(env)

    def one(budget):
        text, got = _width_call(env, budget)
        if got != ref.max_trainable_width(budget) and not own(got, budget):
            fail(explain(f"{text} returned {got}", _width_hint(got, budget, 32, 4, "adam")))

    run_cases(env, (one, (1024**4, 300 * constants.BYTES_PER_GIB)))


def test_act2_reflection(env: dict) -> None:
    _choice(env, "act2_reflection")


def test_deployment(env: dict) -> None:
    _choice(env, "deployment_answer")


def _own(env: Mapping, fn: Callable[[], Any]):
    """The value ``fn`` computes with the student's own functions, or None if they fail."""
    try:
        if getattr(env, "limits_calls", False):  # trusted scoring: each remote call has its own limit
            return fn()
        return guards.call_with_time_limit(fn, (), {}, checks.TIME_LIMIT_S)
    except (Exception, guards.CallTimedOut):
        return None


def _own_number(env: Mapping, fn: Callable[[], Any]) -> float | None:
    """Like :func:`_own`, for a finite number; None if the student's functions give anything else."""
    value = _own(env, fn)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def test_batch_doubling(env: dict) -> None:
    """batch_doubling_ratio is the ratio of the training totals at batch 64 and 32."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    mnist = list(constants.MNIST_LAYER_SIZES)
    expected = ref.training_memory(mnist, 64)["total"] / ref.training_memory(mnist, 32)["total"]
    # The ratio your own training_memory gives is right here, even where that function is wrong
    # (which costs points once, in its own question: these are two of the cases it is graded on).
    own = _own_number(
        env, lambda: env["training_memory"](mnist, 64)["total"] / env["training_memory"](mnist, 32)["total"]
    )
    if close(ratio, expected, rel=1e-6) or (own is not None and close(ratio, own, rel=1e-6)):
        return
    if close(ratio, 1 / expected, rel=1e-6) or (own and close(ratio, 1 / own, rel=1e-6)):
        fail(
            f"batch_doubling_ratio is {show(ratio)}: the ratio is inverted; it should be the training "
            "total at batch 64 divided by the total at batch 32." + tag("batch-ratio-inverted")
        )
    if close(ratio, 2.0, rel=1e-3):
        fail(
            f"batch_doubling_ratio is {show(ratio)}: compute it from training_memory, which says how much "
            "of the total actually grows with the batch." + tag("batch-ratio-is-two")
        )
    fail(
        f"batch_doubling_ratio is {show(ratio)}: it should be the training total at batch 64 divided "
        "by the total at batch 32 (FP32, Adam)."
    )


# ---------------------------------------------------------------------------------------------
# The Design Ledger
# ---------------------------------------------------------------------------------------------
def test_ledger_answers(env: dict) -> None:
    """The ledger records the notebook's own choices, predictions and reflections."""
    ledger = checks.read_fresh_ledger(env=env)
    recorded = {
        "activation_choice": ledger["activation_choice"],
        "batch_size_chosen": ledger["batch_size_chosen"],
        "act1_prediction": ledger["predictions"]["act1_prediction"],
        "act2_estimate_kib": ledger["predictions"]["act2_estimate_kib"],
        **ledger["reflections"],
    }

    def same(variable, value):
        mine = env.get(variable, _MISSING)
        if mine is _MISSING:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook has no `{variable}`."
                + tag("ledger-stale")
            )
        try:
            mine_json = lab05.ledger.json_native(mine)
        except lab05.ledger.LedgerError:
            mine_json = mine
        if isinstance(value, float) and isinstance(mine_json, (int, float)):
            agree = close(value, float(mine_json))
        elif variable in CHOICES and isinstance(value, str) and isinstance(mine_json, str):
            agree = value.strip().lower() == mine_json.strip().lower()  # as expect_choice reads them
        else:
            agree = value == mine_json
        if not agree:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook's `{variable}` is "
                f"{show(mine)}: the ledger is stale; run the cell that records your design again." + tag("ledger-stale")
            )

    run_cases(env, (same, recorded.items()))


def test_ledger_computed(env: dict) -> None:
    """The ledger's computed values agree with the reference (or the student's own functions)."""
    ledger = checks.read_fresh_ledger(env=env)
    batch = ledger["batch_size_chosen"]
    budget = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]

    def width():
        got = ledger["max_trainable_width_laptop_gpu"]
        expected = ref.max_trainable_width(budget, batch)
        # asked as test_max_width_devices asks it (and grades it): one answer for both
        own = _own(env, lambda: _width_call(env, budget, batch)[1])
        if got != expected and got != own:
            default = batch != constants.MNIST_BATCH_SIZE and got in (
                ref.max_trainable_width(budget),
                _own(env, lambda: _width_call(env, budget)[1]),
            )
            fail(
                f"the ledger's max_trainable_width_laptop_gpu is {got}, which is not the maximum width "
                f"for the laptop GPU at the batch size the ledger records ({batch}), FP32, Adam."
                + tag("ledger-width-at-default-batch" if default else None)
            )

    def estimate_error():
        got = ledger["training_memory_estimate_error_kib"]
        estimate = float(ledger["predictions"]["act2_estimate_kib"])
        mnist = list(constants.MNIST_LAYER_SIZES)
        actual = constants.to_kib(ref.training_memory(mnist, constants.MNIST_BATCH_SIZE)["total"])
        own_total = _own_number(env, lambda: env["training_memory"](mnist, constants.MNIST_BATCH_SIZE)["total"])
        candidates = [estimate - actual]
        if own_total is not None:
            candidates.append(estimate - constants.to_kib(own_total))
        if any(close(got, c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            return
        if any(close(got, -c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            fail(
                f"the ledger's training_memory_estimate_error_kib is {show(got)}: the sign is flipped; it "
                "is your estimate minus the actual training memory." + tag("ledger-error-sign-flipped")
            )
        if any(close(got, c * constants.BYTES_PER_KIB, rel=1e-9, abs_tol=1e-3) for c in candidates):
            fail(
                f"the ledger's training_memory_estimate_error_kib is {show(got)}: that is in bytes; the "
                "ledger wants KiB (1 KiB = 1,024 bytes), like your estimate." + tag("ledger-error-in-bytes")
            )
        if batch != constants.MNIST_BATCH_SIZE:
            at_batch = [
                ref.training_memory(mnist, batch)["total"],
                _own_number(env, lambda: env["training_memory"](mnist, batch)["total"]),
            ]
            if any(
                t is not None and close(got, estimate - constants.to_kib(t), rel=1e-9, abs_tol=1e-6) for t in at_batch
            ):
                fail(
                    f"the ledger's training_memory_estimate_error_kib is {show(got)}: it compares your "
                    f"estimate with the training memory at batch_size_chosen ({batch}); it should use "
                    f"batch {constants.MNIST_BATCH_SIZE}, the setting your Act 2 estimate was about."
                    + tag("ledger-error-at-chosen-batch")
                )
        fail(
            f"the ledger's training_memory_estimate_error_kib is {show(got)}: it should be your estimate "
            "minus the training memory of the MNIST network at batch 32, FP32, Adam, both in KiB."
        )

    run_cases(env, (width, [()]), (estimate_error, [()]))
