"""Public checks of Act 1: the transistor tax, the sigmoid's derivative, gradient decay, the reflection."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from lab05 import constants
from lab05.assertions import (
    FAILURE_MODES,
    LETTERS,
    CallWarned,
    array_call,
    call,
    describe_call,
    expect_choice,
    expect_number,
    expect_value_error,
    expect_whole,
    explain,
    fail,
    same,
    scalar_call,
    show,
    suspect,
    tag,
)

#: extra_transistors(3, 2, "sigmoid") worked by hand: 3 x 2 = 6 units, each needing 2,500 - 50 = 2,450
#: transistors more than a ReLU unit (ACTIVATION_TRANSISTORS).
SMALL_EXTRA_TRANSISTORS = 14_700
SMALL_EXTRA_WORKING = "3 x 2 = 6 units, each needing 2,500 - 50 = 2,450 transistors more than a ReLU unit"


def _check_tax_ratio(env: Mapping) -> None:
    """transistor_tax: 1 for a unit against itself, above 1 for sigmoid, inverted when the units swap."""
    counts = constants.ACTIVATION_TRANSISTORS
    text = describe_call("transistor_tax", ("relu",))
    itself = expect_number(call(env, "transistor_tax", "relu"), text)
    if not same(itself, 1.0):
        why, mistake = suspect(
            itself,
            [(counts["relu"], "it should be a ratio of two transistor counts, not a count", "tax-count-not-ratio")],
            "a unit compared with itself is exactly as expensive",
        )
        explain(f"{text} returned {show(itself)}; expected 1 (the docstring's example)", why, mistake)
    up_text = describe_call("transistor_tax", ("sigmoid",))
    up = expect_number(call(env, "transistor_tax", "sigmoid"), up_text)
    if not up > 1 or same(up, counts["sigmoid"]):
        why, mistake = suspect(
            up,
            [
                (
                    counts["relu"] / counts["sigmoid"],
                    "the ratio looks inverted: it should say how many times MORE transistors the activation "
                    "needs than the baseline",
                    "tax-ratio-inverted",
                ),
                (
                    counts["sigmoid"],
                    "it should be a ratio of two transistor counts, not a count",
                    "tax-count-not-ratio",
                ),
            ],
            "a sigmoid unit needs more transistors than a ReLU unit, so the ratio should be above 1",
        )
        explain(f"{up_text} returned {show(up)}", why, mistake)
    down_text = describe_call("transistor_tax", ("relu",), {"baseline": "sigmoid"})
    down = expect_number(call(env, "transistor_tax", "relu", baseline="sigmoid"), down_text)
    if not same(down * up, 1.0):
        why, mistake = suspect(
            down,
            [
                (itself, "the baseline argument seems to be ignored", "tax-baseline-ignored"),
                (0.0, "integer division (//) drops the fraction: divide with /", "tax-integer-division"),
            ],
            "swapping the two units should invert the ratio",
        )
        explain(f"{down_text} returned {show(down)} and {up_text} returned {show(up)}", why, mistake)
    expect_value_error(env, "transistor_tax", "swish")


def _check_extra_transistors(env: Mapping) -> None:
    """extra_transistors: 0 for ReLU over ReLU, the case worked by hand, its sign flipped when the units swap."""
    counts = constants.ACTIVATION_TRANSISTORS
    zero_text = describe_call("extra_transistors", (10, 2, "relu"))
    zero = expect_number(call(env, "extra_transistors", 10, 2, "relu"), zero_text)
    if not same(zero, 0.0):
        why, mistake = suspect(
            zero,
            [
                (
                    20 * counts["relu"],
                    "the baseline's transistors should be subtracted",
                    "extra-baseline-not-subtracted",
                ),
                (
                    20.0,
                    "it should be the number of extra transistors (a difference of counts), not a ratio",
                    "extra-ratio-not-difference",
                ),
            ],
            "ReLU instead of ReLU adds nothing",
        )
        explain(f"{zero_text} returned {show(zero)}; expected 0 (the docstring's example)", why, mistake)
    worked = f"worked by hand it is {SMALL_EXTRA_TRANSISTORS:,} ({SMALL_EXTRA_WORKING})"
    text = describe_call("extra_transistors", (3, 2, "sigmoid"))
    extra = expect_number(call(env, "extra_transistors", 3, 2, "sigmoid"), text)
    if not same(extra, SMALL_EXTRA_TRANSISTORS):
        per_unit = counts["sigmoid"] - counts["relu"]
        why, mistake = suspect(
            extra,
            [
                (
                    -SMALL_EXTRA_TRANSISTORS,
                    "the sign is flipped: it is the activation's transistors minus the baseline's, so it is "
                    "negative only when the activation is cheaper",
                    "extra-sign-flipped",
                ),
                (
                    6 * counts["sigmoid"],
                    "the baseline's transistors should be subtracted",
                    "extra-baseline-not-subtracted",
                ),
                (3 * per_unit, "it should count the units of every layer, not one layer", "extra-one-layer-only"),
                (
                    6 * counts["sigmoid"] / counts["relu"],
                    "it should be the number of extra transistors (a difference of counts), not a ratio",
                    "extra-ratio-not-difference",
                ),
            ],
            "it should count every unit of every layer times the extra transistors each unit needs over the baseline",
        )
        explain(f"{text} returned {show(extra)}; {worked}", why, mistake)
    text = describe_call("extra_transistors", (3, 2, "relu"), {"baseline": "sigmoid"})
    cheaper = expect_number(call(env, "extra_transistors", 3, 2, "relu", baseline="sigmoid"), text)
    if not same(cheaper, -SMALL_EXTRA_TRANSISTORS):
        why, mistake = suspect(
            cheaper,
            [
                (0.0, "the baseline argument seems to be ignored", "extra-baseline-ignored"),
                (
                    SMALL_EXTRA_TRANSISTORS,
                    "the sign is flipped: ReLU units are the cheaper ones, so using them instead of sigmoid "
                    "units saves transistors (a negative number)",
                    "extra-sign-flipped",
                ),
            ],
            "swapping the activation and the baseline should flip the sign",
        )
        explain(
            f"{text} returned {show(cheaper)}; expected -{SMALL_EXTRA_TRANSISTORS:,}, since "
            f"extra_transistors(3, 2, 'sigmoid') is {SMALL_EXTRA_TRANSISTORS:,}",
            why,
            mistake,
        )


def check_transistor_tax(env: Mapping) -> None:
    """Public: transistor_tax is a ratio of two units' transistor counts; extra_transistors is the
    difference of the counts over every unit of every layer (the docstrings' examples, a case
    worked by hand, and swapping the two units)."""
    _check_tax_ratio(env)
    _check_extra_transistors(env)


#: Where sigmoid_derivative is compared with the slope of the provided sigmoid, measured over a
#: small step either side (a central difference, accurate to about 1e-10 here).
SLOPE_POINTS = (1.25, -2.75)
SLOPE_STEP = 1e-5


def _sigmoid_suspects(x: float) -> list:
    s = float(constants.sigmoid(x))
    return [
        (s, "it returned the sigmoid itself, not its slope", "sigd-returns-sigmoid"),
        (s * (1 + s), "the product should use 1 minus the sigmoid", "sigd-one-plus-sigmoid"),
        (
            1 - math.tanh(x) ** 2,
            "that is the slope of tanh; the sigmoid's slope is sigmoid(x) * (1 - sigmoid(x))",
            "sigd-tanh-slope",
        ),
    ]


def check_sigmoid_derivative(env: Mapping) -> None:
    """Public: sigmoid_derivative is 0.25 at 0, symmetric, the measured slope of the provided sigmoid,
    (almost) 0 without warnings at +-1000, and works on arrays."""
    peak = scalar_call(env, "sigmoid_derivative", 0.0)
    if not same(peak, 0.25):
        why, mistake = suspect(peak, _sigmoid_suspects(0.0), "it should be the sigmoid's slope at 0")
        explain(
            f"sigmoid_derivative(0.0) returned {show(peak)}; expected 0.25, the largest slope of the sigmoid "
            "(sigmoid(0) = 0.5, and 0.5 x (1 - 0.5) = 0.25)",
            why,
            mistake,
        )
    for x in (1.0, 3.0):
        right = scalar_call(env, "sigmoid_derivative", x)
        left = scalar_call(env, "sigmoid_derivative", -x)
        if not math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-15):
            why, mistake = suspect(right, _sigmoid_suspects(x), "the sigmoid's slope is the same at x and -x")
            explain(
                f"sigmoid_derivative({x}) returned {show(right)} but sigmoid_derivative({-x}) returned {show(left)}",
                why,
                mistake,
            )
        if not 0 < right < peak:
            fail(
                f"sigmoid_derivative({x}) returned {show(right)}; expected a positive number below "
                f"the value at 0 ({show(peak)}), where the slope is largest."
            )
    for x in SLOPE_POINTS:
        got = scalar_call(env, "sigmoid_derivative", x)
        measured = (constants.sigmoid(x + SLOPE_STEP) - constants.sigmoid(x - SLOPE_STEP)) / (2 * SLOPE_STEP)
        if not math.isclose(got, measured, rel_tol=1e-6):
            why, mistake = suspect(got, _sigmoid_suspects(x), "it should be the sigmoid's slope at x, unrounded")
            explain(
                f"sigmoid_derivative({x}) returned {show(got)}; the slope of the provided sigmoid, measured "
                f"between x - {SLOPE_STEP:g} and x + {SLOPE_STEP:g}, is {measured:.6f}",
                why,
                mistake,
            )
    for x in (1000.0, -1000.0):
        try:
            value = scalar_call(env, "sigmoid_derivative", x)
        except CallWarned as exc:
            fail(str(exc) + tag("sigd-overflows"))
        if not 0 <= value < 1e-12:
            explain(
                f"sigmoid_derivative({x}) returned {show(value)}",
                "far from 0 the sigmoid is flat, so its slope should be (almost) exactly 0",
                "sigd-not-zero-far-out",
            )
    array_call(env, "sigmoid_derivative", np.array([[-2.0, 0.0], [2.0, 5.0]]), "slope")


def _stall_call(env: Mapping, threshold: float, max_derivative: float) -> tuple[str, int | None]:
    text = describe_call("stall_depth", (threshold, max_derivative))
    got = call(env, "stall_depth", threshold, max_derivative)
    return text, (None if got is None else expect_whole(got, text))


def _check_gradient_bound(env: Mapping) -> None:
    """gradient_bound: the docstring's example, three layers that each pass back half, and a bound that falls with depth."""
    text = describe_call("gradient_bound", (0,))
    none_lost = scalar_call(env, "gradient_bound", 0)
    if not same(none_lost, 1.0):
        why, mistake = suspect(
            none_lost,
            [
                (
                    4.0,
                    "it is one layer short: every one of the `depth` layers multiplies the bound",
                    "bound-one-layer-short",
                ),
                (0.25, "it has one layer too many", "bound-one-layer-too-many"),
                (0.0, "the layers' factors should multiply, not add up", "bound-adds-not-multiplies"),
            ],
            "no layers lose nothing",
        )
        explain(f"{text} returned {show(none_lost)}; expected 1 (the docstring's example)", why, mistake)
    text = describe_call("gradient_bound", (3, 0.5))
    halves = scalar_call(env, "gradient_bound", 3, 0.5)
    if not same(halves, 0.125):
        why, mistake = suspect(
            halves,
            [
                (0.25**3, "the max_derivative argument seems to be ignored", "bound-max-derivative-ignored"),
                (
                    0.25,
                    "it is one layer short: every one of the `depth` layers multiplies the bound",
                    "bound-one-layer-short",
                ),
                (0.0625, "it has one layer too many", "bound-one-layer-too-many"),
                (1.5, "the layers' factors should multiply, not add up", "bound-adds-not-multiplies"),
            ],
            "it should be the largest gradient left after `depth` layers",
        )
        explain(
            f"{text} returned {show(halves)}; expected 0.125: three layers that each pass back at most half "
            "leave 0.5 x 0.5 x 0.5",
            why,
            mistake,
        )
    bounds = array_call(env, "gradient_bound", np.arange(1, 6), "bound")
    if not np.all(np.diff(bounds) < 0):
        fail(
            f"gradient_bound(array([1, 2, 3, 4, 5])) returned {show(bounds)}; each extra sigmoid layer should make the bound smaller."
        )


def _check_stall_depth(env: Mapping) -> None:
    """stall_depth: cases worked by hand (an exact power among them), agreement with gradient_bound, None at slope 1."""
    none_left = "with a max_derivative below 1 the bound falls below any threshold eventually"
    for threshold, md, expected, working in (
        (0.3, 0.5, 2, "the docstring's example: 0.5 is not below 0.3, 0.25 is"),
        (0.125, 0.5, 4, "0.5 ** 3 = 0.125 equals the threshold, which is not strictly below it; 0.5 ** 4 is"),
    ):
        text, got = _stall_call(env, threshold, md)
        if got is None:
            explain(f"{text} returned None; expected {expected} ({working})", none_left, "stall-none-below-one")
        if got != expected:
            exact = md ** (expected - 1) == threshold
            why, mistake = suspect(
                got,
                [
                    (
                        expected - 1,
                        "at that depth the bound is equal to the threshold, which is not strictly below it"
                        if exact
                        else "it is one layer too early: the bound there is not yet strictly below the threshold",
                        "stall-not-strict-at-exact-power" if exact else "stall-one-layer-early",
                    ),
                    (
                        expected + 1,
                        "it is one layer too late: the bound is already strictly below the threshold one layer earlier",
                        "stall-one-layer-late",
                    ),
                ],
                "it should be the first depth whose bound is strictly below the threshold",
            )
            explain(f"{text} returned {got}; expected {expected} ({working})", why, mistake)
    # Deeper: the default threshold, and a slope of 0.9 that needs more than a hundred layers.
    for args in ((), (1e-6, 0.9)):
        threshold, md = args or (constants.LEARNING_STALLS_BELOW, 0.25)
        text = describe_call("stall_depth", args)
        got = call(env, "stall_depth", *args)
        if got is None:
            explain(f"{text} returned None", none_left, "stall-none-below-one")
        got = expect_whole(got, text)
        if got < 1:
            fail(f"{text} returned {got}; the stall depth counts layers, so it is at least 1.")
        kwargs = {"max_derivative": md} if args else {}
        bound = scalar_call(env, "gradient_bound", got, **kwargs)
        before = scalar_call(env, "gradient_bound", got - 1, **kwargs)
        if not bound < threshold <= before:
            fail(
                f"{text} returned {got}, but your {describe_call('gradient_bound', (got - 1,), kwargs)} is "
                f"{show(before)} and {describe_call('gradient_bound', (got,), kwargs)} is {show(bound)}; the stall "
                f"depth is the first depth whose bound is strictly below {threshold:g}."
            )
    text, never = _stall_call(env, 1e-6, 1.0)
    if never is not None:
        explain(
            f"{text} returned {show(never)}",
            "with max_derivative >= 1 the bound never falls, so it should return None",
            "stall-not-none-at-or-above-one",
        )
    expect_value_error(env, "stall_depth", 1.5)


def check_gradient_decay(env: Mapping) -> None:
    """Public: gradient_bound and stall_depth agree with their docstrings' examples, with cases
    worked by hand (an exact power among them) and with each other."""
    _check_gradient_bound(env)
    _check_stall_depth(env)


def check_act1_reflection(env: Mapping) -> None:
    """Public: both reflection answers are set to one of their options."""
    expect_choice(env, "act1_reflection_reason", LETTERS)
    expect_choice(env, "act1_failure_mode", FAILURE_MODES)
