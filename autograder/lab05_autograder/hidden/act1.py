"""Hidden tests of Act 1: the transistor tax, the sigmoid's slope, gradient decay, Act 1's choices."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import lab05_reference as ref
import numpy as np

from lab05 import assertions, constants
from lab05.assertions import call, describe_call, expect_number, expect_whole, fail, show

from .. import upstream
from .scaffold import Hint, array_call, choice, close, diagnose, explain, own_answer, rng, run_cases, tag


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
        except assertions.CallWarned as exc:
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
                f"{text} returned {show(got)} ({assertions.type_name(got)}); for an array it should "
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
    answers = [(case, own_answer(env, lambda case=case: _bound_call(env, *case)[1])) for case in BOUND_CASES]
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
                f"{text} returned {show(got)} ({assertions.type_name(got)}); for an array of depths "
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


def test_act1_reason(env: dict) -> None:
    choice(env, "act1_reflection_reason")


def test_act1_failure_mode(env: dict) -> None:
    choice(env, "act1_failure_mode")
