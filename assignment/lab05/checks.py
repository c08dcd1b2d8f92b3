"""The checks behind ``grader.check(...)`` in Lab 05, and the machinery the graders share.

Public checks test the shape, type and sanity of each answer: that it is a number of the right
kind, that it behaves sensibly when an argument changes, that it agrees with the examples in the
docstrings and with the student's own other functions. They hold no reference values; the
autograder's hidden tests compare with the reference after submission.

Every student call runs under a time limit, so a loop that never ends fails its check with
"did not return within N s" instead of hanging the notebook or the autograder.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import pathlib
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

import lab05.ledger
from lab05 import constants, guards, validate

#: Seconds any one call of a student function may take.
TIME_LIMIT_S = 5.0

MEMORY_KEYS = ("weights", "gradients", "optimizer", "activations", "total")
LETTERS = tuple(constants.ACT1_PREDICTION_OPTIONS)
FAILURE_MODES = lab05.ledger.FAILURE_MODES


class CheckFailed(AssertionError):
    """A check failed; the message says what was called, what came back and what was expected."""


class CallBroken(CheckFailed):
    """The function could not be checked at all: missing, still a stub, or too slow to return.

    Further cases of the same test would fail the same way (and a slow function would spend the
    time limit once per case), so a test stops at the first one.
    """


class CallTooSlow(CallBroken):
    """The function did not return within its time limit."""


class CallRaised(CheckFailed):
    """The function raised an exception for this input."""


class CallWarned(CheckFailed):
    """The function produced a warning (an overflow, an invalid operation) for this input."""


def type_name(value) -> str:
    """The name of ``value``'s type, as the notebook knows it (a value trusted scoring could not
    receive as data keeps its type's name)."""
    try:
        name = getattr(value, "type_name", None)
    except Exception:  # noqa: BLE001 - a value's own attribute lookup that fails
        name = None
    return name if isinstance(name, str) else type(value).__name__


def fail(message: str):
    """Raise :class:`CheckFailed` with ``message``."""
    raise CheckFailed(message)


# ---------------------------------------------------------------------------------------------
# Describing and calling student code
# ---------------------------------------------------------------------------------------------
#: Grading tools read ``[mistake: <id>]`` at the end of a message as the mistake a check
#: recognised; text that comes from the student's code never reads as one.
_MISTAKE_MARK = re.compile(r"\[(\s*mistake\s*:)", re.IGNORECASE)


def quoted(text: str) -> str:
    """``text`` from the student's code (a value, an exception's message), safe to put in a message."""
    return _MISTAKE_MARK.sub(r"(\1", text)


def show(value: Any, limit: int = 80) -> str:
    """A short repr for messages: arrays as ``array([...])``, long reprs cut with an ellipsis."""
    if isinstance(value, np.ndarray):
        text = "array(" + np.array2string(value, threshold=6, separator=", ") + ")"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    text = quoted(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_call(name: str, args: tuple = (), kwargs: Mapping | None = None) -> str:
    """``describe_call("training_memory", ([784, 10], 32), {"optimizer": "sgd"})`` is
    ``"training_memory([784, 10], 32, optimizer='sgd')"``."""
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def student_function(env: Mapping, name: str):
    """The student's function ``name`` from the notebook's global environment."""
    fn = env.get(name)
    if fn is None:
        raise CallBroken(f"`{name}` is not defined: run the cell that defines it, then run this check again.")
    if not callable(fn):
        raise CallBroken(f"`{name}` should be a function, but it is a {type(fn).__name__}.")
    return fn


#: Longest part of an exception's message that a check repeats.
ERROR_TEXT_LIMIT = 160


def error_text(exc: BaseException, limit: int = ERROR_TEXT_LIMIT) -> str:
    """The first line of an exception's message, cut to ``limit`` characters.

    Messages are shown to the student at once; a long one (for example a file's contents
    carried in an exception) is never echoed whole.
    """
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a message that cannot be shown is not shown
        return ""
    lines = quoted(text).strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    if len(lines) > 1 or len(first) > limit:
        first = first[: limit - 3].rstrip() + "..."
    return first


def call(env: Mapping, name: str, *args, **kwargs):
    """Call the student's ``name(*args, **kwargs)`` under :data:`TIME_LIMIT_S`.

    Warnings raised inside the call (for example NumPy's overflow warnings) are collected and
    reported as a failure: the lab's functions must run cleanly.
    """
    fn = student_function(env, name)
    text = describe_call(name, args, kwargs)
    stub = (
        f"{text} raised NotImplementedError: `{name}` is still a stub. Replace the "
        "`raise NotImplementedError(...)` line with your code."
    )
    try:
        value, numeric = _call_reporting_warnings(fn, args, kwargs)
    except guards.CallTimedOut as exc:
        raise CallTooSlow(guards.failure_message(exc, text, stub)) from None
    except NotImplementedError as exc:
        raise CallBroken(guards.failure_message(exc, text, stub)) from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CallRaised(guards.failure_message(exc, text, stub, error_text)) from None
    if numeric:
        raise CallWarned(
            f"{text} produced a warning ({quoted(numeric[0])}); it should compute its "
            "answer without overflow or invalid operations."
        )
    return value


def _call_reporting_warnings(fn, args: tuple, kwargs: dict) -> tuple[Any, list[str]]:
    """``(fn(*args, **kwargs), messages of the RuntimeWarnings it raised)``, under the time limit."""
    if isinstance(fn, guards.RemoteCall):  # trusted scoring: the probe reports them as data
        return fn.call_reporting_warnings(args, kwargs, TIME_LIMIT_S)
    with warnings.catch_warnings(record=True) as caught:  # the kernel: one notebook, one thread
        warnings.simplefilter("always")
        value = guards.call_with_time_limit(fn, args, kwargs, TIME_LIMIT_S)
    return value, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def expect_value_error(env: Mapping, name: str, *args, **kwargs) -> None:
    """The call must raise ValueError (bad arguments are rejected with a clear message)."""
    fn = student_function(env, name)
    text = describe_call(name, args, kwargs)
    try:
        value = guards.call_with_time_limit(fn, args, kwargs, TIME_LIMIT_S)
    except ValueError:
        return
    except (NotImplementedError, guards.CallTimedOut) as exc:
        stub = f"{text} raised NotImplementedError: `{name}` is still a stub."
        raise CallBroken(guards.failure_message(exc, text, stub)) from None
    except Exception as exc:
        fail(
            f"{text} raised {type(exc).__name__}; expected ValueError for this argument. "
            "Keep the argument checks at the top of the function."
        )
    fail(
        f"{text} returned {show(value)}; expected ValueError for this argument. "
        "Keep the argument checks at the top of the function."
    )


# ---------------------------------------------------------------------------------------------
# Kinds of answer
# ---------------------------------------------------------------------------------------------
def expect_number(value: Any, text: str) -> float:
    """``value`` must be a finite real number (NumPy scalars welcome); returns it as a float."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(f"{text} {_verb(text)} {show(value)} ({type_name(value)}); expected a number.")
    as_float = float(value)
    if not math.isfinite(as_float):
        fail(f"{text} {_verb(text)} {show(value)}; expected a finite number.")
    return as_float


def _verb(text: str) -> str:
    """'returned' after a call (``f(x)``, ``f(x)['total']``), 'is' after a variable's name."""
    return "returned" if "(" in text else "is"


def expect_whole(value: Any, text: str) -> int:
    """``value`` must be a whole number (an int, a NumPy integer, or a float such as 8.0)."""
    as_float = expect_number(value, text)
    if not as_float.is_integer():
        fail(f"{text} {_verb(text)} {show(value)}; expected a whole number.")
    return int(as_float)


def expect_close(got: float, expected: float, text: str, what: str, rel: float = 1e-9) -> None:
    """``got`` must equal ``expected`` up to rounding; the message shows both (public use only)."""
    if not math.isclose(got, expected, rel_tol=rel, abs_tol=rel):
        fail(f"{text} returned {show(got)}; expected {show(expected)} ({what}).")


def expect_sequence(value: Any, length: int, text: str) -> list:
    """``value`` must be a list, tuple or 1-D array of ``length`` numbers; returns a list."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        fail(f"{text} returned {show(value)} ({type_name(value)}); expected a list of {length} numbers.")
    items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
    if len(items) != length:
        fail(f"{text} returned {len(items)} entr{'y' if len(items) == 1 else 'ies'}; expected {length}, one per layer.")
    return items


def expect_memory_dict(value: Any, text: str) -> dict:
    """``value`` must be a dict with exactly the five memory keys, each a number of bytes >= 0."""
    if not isinstance(value, Mapping):
        fail(f"{text} returned {show(value)} ({type_name(value)}); expected a dict with the keys {list(MEMORY_KEYS)}.")
    missing = [k for k in MEMORY_KEYS if k not in value]
    extra = [k for k in value if k not in MEMORY_KEYS]
    if missing or extra:
        fail(
            f"{text} returned a dict with keys {sorted(map(str, value))}; expected exactly "
            f"{list(MEMORY_KEYS)} (missing {missing}, unexpected {extra})."
        )
    out = {}
    for key in MEMORY_KEYS:
        out[key] = expect_number(value[key], f"{text}[{key!r}]")
        if out[key] < 0:
            fail(f"{text}[{key!r}] is {show(value[key])}; a number of bytes cannot be negative.")
    return out


def expect_choice(env: Mapping, variable: str, options) -> str:
    """The answer variable must hold one of ``options`` (case and spaces ignored)."""
    if variable not in env:
        fail(f"`{variable}` is not defined: run the cell where you set it.")
    value = env[variable]
    option = validate.matching_option(value, options)
    if option is None:
        fail(f"`{variable}` is {show(value)}; set it to one of {list(options)}.")
    return option


# ---------------------------------------------------------------------------------------------
# What a wrong answer suggests
# ---------------------------------------------------------------------------------------------
def tag(mistake: str | None) -> str:
    """`` [mistake: <id>]``: the end of a message that names a mistake the hidden tests name the
    same way (an id of their table of mistakes); "" for None."""
    return f" [mistake: {mistake}]" if mistake else ""


def explain(head: str, why: str, mistake: str | None = None) -> None:
    """Fail with ``head: why.``, tagged with ``mistake``."""
    fail(f"{head}: {why}.{tag(mistake)}")


def same(got: float, expected: float, rel: float = 1e-9) -> bool:
    """Whether two numbers agree up to rounding."""
    return math.isclose(got, expected, rel_tol=rel, abs_tol=1e-12)


def suspect(got: float, suspects, default: str) -> tuple[str, str | None]:
    """``(what to say, mistake id or None)`` about a wrong ``got``: the first of ``suspects``, each
    ``(the value a known mistake gives, what to say, its id)``, whose value ``got`` is; else ``default``."""
    for value, why, mistake in suspects:
        if value is not None and same(got, value):
            return why, mistake
    return default, None


def own(compute) -> Any:
    """What ``compute()`` gives with the student's own functions, or None if they fail. A check uses
    it only to accept an answer that agrees with the student's own other functions (one mistake
    costs points once, where it is made)."""
    try:
        return compute()
    except CheckFailed:
        return None


def scalar_call(env: Mapping, name: str, *args, **kwargs) -> float:
    """``name(*args, **kwargs)`` for a single number, which must give a single finite number."""
    text = describe_call(name, args, kwargs)
    value = call(env, name, *args, **kwargs)
    if np.ndim(value) != 0:
        fail(
            f"{text} returned {show(value)}; for a single number it should return a single number."
            + tag("number-returns-array")
        )
    return expect_number(value, text)


def array_call(env: Mapping, name: str, values: np.ndarray, what: str) -> np.ndarray:
    """``name(values)`` for an array, which must give an ndarray of the same shape, finite, one
    ``what`` per element."""
    text = describe_call(name, (values,))
    try:
        out = call(env, name, values.copy())
    except CallRaised as exc:
        fail(
            f"{str(exc).rstrip('.')}. For an array it should work elementwise: use NumPy functions (np.exp, "
            "np.abs, np.power, np.where) rather than math functions and if statements, which take one number."
            + tag("array-not-elementwise")
        )
    if not isinstance(out, np.ndarray) or out.shape != values.shape:
        fail(
            f"{text} returned {show(out)} ({type_name(out)}); for an array it should return an ndarray "
            f"of the same shape {values.shape}, one {what} per element." + tag("array-result-not-ndarray")
        )
    if not np.all(np.isfinite(out)):
        fail(f"{text} returned {show(out)}: every element should be a finite number." + tag("array-not-finite"))
    for x, y in zip(values.ravel(), out.ravel()):
        alone = scalar_call(env, name, x.item())
        if not same(float(y), alone):
            fail(
                f"{text} returned {show(out)}, but {describe_call(name, (x.item(),))} returned {show(alone)}: "
                f"each element should be the {what} of that element alone."
            )
    return out


# ---------------------------------------------------------------------------------------------
# Public checks, one per question
# ---------------------------------------------------------------------------------------------
#: extra_transistors(3, 2, "sigmoid") worked by hand: 3 x 2 = 6 units, each needing 2,500 - 50 = 2,450
#: transistors more than a ReLU unit (ACTIVATION_TRANSISTORS).
SMALL_EXTRA_TRANSISTORS = 14_700
SMALL_EXTRA_WORKING = "3 x 2 = 6 units, each needing 2,500 - 50 = 2,450 transistors more than a ReLU unit"


def check_transistor_tax(env: Mapping) -> None:
    """Public: transistor_tax is a ratio of two units' transistor counts; extra_transistors is the
    difference of the counts over every unit of every layer (the docstrings' examples, a case
    worked by hand, and swapping the two units)."""
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


def check_gradient_decay(env: Mapping) -> None:
    """Public: gradient_bound and stall_depth agree with their docstrings' examples, with cases
    worked by hand (an exact power among them) and with each other."""
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


def check_act1_reflection(env: Mapping) -> None:
    """Public: both reflection answers are set to one of their options."""
    expect_choice(env, "act1_reflection_reason", LETTERS)
    expect_choice(env, "act1_failure_mode", FAILURE_MODES)


#: A network small enough to work by hand: 4 inputs, 3 hidden units, 2 outputs.
SMALL_NET = (4, 3, 2)
#: Its parameters: 4 x 3 weights + 3 biases in the first layer, 3 x 2 weights + 2 biases in the second.
SMALL_NET_PARAMETERS = 23
SMALL_NET_WORKING = "4 x 3 + 3 = 15 in the first layer, 3 x 2 + 2 = 8 in the second"


def _parameter_suspects(weights_only: int, first_layer: int, input_widths: int, all_widths: int) -> list:
    return [
        (
            weights_only,
            "the biases are missing: every unit of every layer after the input has one",
            "params-biases-missing",
        ),
        (
            weights_only + input_widths,
            "the biases belong to each layer's outputs, not its inputs",
            "params-biases-on-inputs",
        ),
        (weights_only + all_widths, "the input layer has no biases", "params-input-layer-biases"),
        (
            first_layer,
            "only the first layer is counted: add up the weights and biases of every layer",
            "params-first-layer-only",
        ),
    ]


def check_parameters_and_macs(env: Mapping) -> None:
    """Public: parameter_count and layer_macs agree with their docstrings' examples and with a
    two-layer network worked by hand, for a list or a tuple of widths, one entry per layer."""
    text = describe_call("parameter_count", ([3, 2],))
    count = expect_whole(call(env, "parameter_count", [3, 2]), text)
    if count != 8:
        why, mistake = suspect(count, _parameter_suspects(6, 8, 3, 5), "it should count every weight and every bias")
        explain(f"{text} returned {count}; expected 8 (six weights and two biases)", why, mistake)
    small = list(SMALL_NET)
    text = describe_call("parameter_count", (small,))
    count = expect_whole(call(env, "parameter_count", small), text)
    if count != SMALL_NET_PARAMETERS:
        why, mistake = suspect(count, _parameter_suspects(18, 15, 7, 9), "it should count every weight and every bias")
        explain(
            f"{text} returned {count}; worked by hand it is {SMALL_NET_PARAMETERS} ({SMALL_NET_WORKING})", why, mistake
        )
    text = describe_call("parameter_count", (SMALL_NET,))
    as_tuple = expect_whole(call(env, "parameter_count", SMALL_NET), text)
    if as_tuple != count:
        fail(
            f"{text} returned {as_tuple} but parameter_count({small}) returned {count}: it should count a tuple "
            "of widths as it counts a list." + tag("params-tuple-differs")
        )
    mnist = list(constants.MNIST_LAYER_SIZES)
    expect_whole(call(env, "parameter_count", mnist), describe_call("parameter_count", (mnist,)))

    for layers, expected, working in (
        ([3, 2], [6], "two outputs, each a sum over three inputs"),
        (small, [12, 6], "4 x 3 in the first layer, 3 x 2 in the second"),
    ):
        text = describe_call("layer_macs", (layers,))
        macs = expect_sequence(call(env, "layer_macs", layers), len(expected), text)
        got = [expect_whole(m, f"{text}[{i}]") for i, m in enumerate(macs)]
        if got != expected:
            running = [sum(expected[: i + 1]) for i in range(len(expected))]
            with_bias = [m + n for m, n in zip(expected, layers[1:])]
            why, mistake = (
                ("each entry is that layer's own multiply-accumulates, not a running total of the layers so far", None)
                if got == running and running != expected
                else (
                    "a multiply-accumulate pairs one weight with one input; biases are added, not multiplied",
                    "macs-bias-counted",
                )
                if got == with_bias
                else ("each entry should be that layer's multiply-accumulates for one example", None)
            )
            explain(f"{text} returned {show(got)}; expected {expected} ({working})", why, mistake)
    text = describe_call("layer_macs", (mnist,))
    macs = expect_sequence(call(env, "layer_macs", mnist), len(mnist) - 1, text)
    for i, m in enumerate(macs):
        if expect_whole(m, f"{text}[{i}]") <= 0:
            fail(f"{text}[{i}] is {show(m)}; every layer does a positive number of MACs.")


def _memory_kwargs(bpv: float, optimizer: str) -> dict:
    """The keyword arguments of a training_memory call, defaults left out (as a student writes it)."""
    return {
        **({"bytes_per_value": bpv} if bpv != 4 else {}),
        **({"optimizer": optimizer} if optimizer != "adam" else {}),
    }


def _memory_call(env: Mapping, layers, batch: int, bpv: float = 4, optimizer: str = "adam") -> tuple[str, dict]:
    kwargs = _memory_kwargs(bpv, optimizer)
    text = describe_call("training_memory", (list(layers), batch), kwargs)
    return text, expect_memory_dict(call(env, "training_memory", list(layers), batch, **kwargs), text)


def _parameters_accepted(env: Mapping, layers, by_hand: int) -> list[int]:
    """The parameter counts a memory model of ``layers`` may use: the count worked by hand, and
    the student's own parameter_count's (whose mistakes cost points in their own question)."""
    counted = own(lambda: call(env, "parameter_count", list(layers)))
    return [by_hand] + ([counted] if type(counted) is int and counted != by_hand else [])


def _expect_total(mem: dict, text: str) -> None:
    parts = {k: mem[k] for k in MEMORY_KEYS[:-1]}
    if not same(mem["total"], sum(parts.values())):
        left_out = [k for k in parts if parts[k] and same(mem["total"], sum(parts.values()) - parts[k])]
        why, mistake = (
            (f"the total leaves out the {' or the '.join(left_out)}", "memory-total-leaves-out-a-part")
            if left_out
            else ("the total should be the sum of the weights, gradients, optimizer state and activations", None)
        )
        explain(
            f"{text}['total'] is {show(mem['total'])}, but its four parts add up to {show(sum(parts.values()))}",
            why,
            mistake,
        )


def _expect_part(mem: dict, key: str, text: str, expected: float, working: str, suspects) -> None:
    if not same(mem[key], expected):
        kib = [(expected / constants.BYTES_PER_KIB, "it should be in bytes, not KiB", "memory-in-kib")]
        why, mistake = suspect(mem[key], kib + suspects, f"worked by hand it is {show(expected)}")
        explain(f"{text}[{key!r}] is {show(mem[key])}; worked by hand it is {show(expected)} ({working})", why, mistake)


def _per_value(bpv: float) -> str:
    return "1 byte" if bpv == 1 else f"{bpv:g} bytes"


def _expect_parameter_parts(mem: dict, text: str, accepted: list[int], bpv: float, state: int, suspects) -> int:
    """Weights, gradients and optimizer state of one memory dict; returns the parameter count it used."""
    used = next((p for p in accepted if same(mem["weights"], p * bpv)), accepted[0])
    _expect_part(mem, "weights", text, used * bpv, f"{used} parameters x {_per_value(bpv)}", suspects["weights"])
    if not same(mem["gradients"], mem["weights"]):
        fail(
            f"{text} has weights {show(mem['weights'])} but gradients {show(mem['gradients'])}; there is one "
            "gradient per parameter."
        )
    _expect_part(
        mem,
        "optimizer",
        text,
        state * used * bpv,
        f"{used} parameters x {state} state value{'' if state == 1 else 's'} x {_per_value(bpv)}",
        suspects["optimizer"],
    )
    return used


def check_training_memory(env: Mapping) -> None:
    """Public: training_memory and inference_memory in bytes, against the docstring's example and a
    two-layer network worked by hand, and their invariants: doubling the batch changes only the
    activations, FP16 halves every part, the optimizer decides the state (SGD 0, momentum 1, Adam 2
    values per parameter), inference holds the weights and one batch of activations."""
    # The docstring's example: [3, 2], batch 1, 1 byte per value, SGD.
    text, tiny = _memory_call(env, [3, 2], 1, 1, "sgd")
    _expect_total(tiny, text)
    suspects = {
        "weights": [
            (6, "the biases are parameters too", "memory-biases-missing"),
            (32, "it should use bytes_per_value (FP16 values take 2 bytes)", "memory-fp32-hard-coded"),
        ],
        "optimizer": [
            (8, "plain SGD keeps no state", "memory-sgd-given-state"),
            (
                16,
                "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
                "memory-state-ignores-optimizer",
            ),
        ],
    }
    _expect_parameter_parts(tiny, text, _parameters_accepted(env, [3, 2], 8), 1, 0, suspects)
    _expect_part(
        tiny,
        "activations",
        text,
        5,
        "1 example x (3 + 2) values, the input layer's included, x 1 byte",
        [
            (2, "the input layer's activations must be stored too", "memory-input-activations-missing"),
            (3, "the output layer's activations must be stored too", "memory-output-activations-missing"),
            (20, "it should use bytes_per_value too (FP16 halves the activations)", "memory-fp32-hard-coded"),
        ],
    )

    # Worked by hand: [4, 3, 2], batch 5, FP32, Adam.
    text, full = _memory_call(env, SMALL_NET, 5)
    _expect_total(full, text)
    p = SMALL_NET_PARAMETERS
    suspects = {
        "weights": [
            (18 * 4, "the biases are parameters too", "memory-biases-missing"),
            (p, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
        "optimizer": [
            (
                p * 4,
                "Adam keeps two values per parameter (momentum and velocity), momentum one",
                "memory-adam-counted-once",
            ),
            (0, "this optimizer keeps state for every parameter", "memory-optimizer-state-missing"),
            (2 * p, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
    }
    params = _expect_parameter_parts(full, text, _parameters_accepted(env, SMALL_NET, p), 4, 2, suspects)
    _expect_part(
        full,
        "activations",
        text,
        180,
        "5 examples x (4 + 3 + 2) values, the input layer's included, x 4 bytes",
        [
            (100, "the input layer's activations must be stored too", "memory-input-activations-missing"),
            (140, "the output layer's activations must be stored too", "memory-output-activations-missing"),
            (
                36,
                "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
                "memory-activations-ignore-batch",
            ),
            (45, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
    )

    # The optimizer decides the state, and nothing else.
    for optimizer, values in (("momentum", 1), ("sgd", 0)):
        text, other = _memory_call(env, SMALL_NET, 5, optimizer=optimizer)
        if not same(other["optimizer"], values * full["weights"]):
            why, mistake = suspect(
                other["optimizer"],
                [
                    (0, "this optimizer keeps state for every parameter", "memory-optimizer-state-missing"),
                    (full["weights"], "plain SGD keeps no state", "memory-sgd-given-state"),
                    (
                        full["optimizer"],
                        "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
                        "memory-state-ignores-optimizer",
                    ),
                ],
                "see OPTIMIZER_STATE_PER_PARAM",
            )
            explain(
                f"{text}['optimizer'] is {show(other['optimizer'])}; {optimizer} keeps {values} value(s) per "
                f"parameter, so expected {values} x the weights ({show(full['weights'])})",
                why,
                mistake,
            )
        changed = [k for k in ("weights", "gradients", "activations") if not same(other[k], full[k])]
        if changed:
            fail(f"{text} changes the {' and the '.join(changed)}; the optimizer decides only the optimizer state.")

    # Doubling the batch changes only the activations.
    text, doubled = _memory_call(env, SMALL_NET, 10)
    if not same(doubled["activations"], 2 * full["activations"]):
        explain(
            f"{text}['activations'] is {show(doubled['activations'])}, and at batch 5 it is {show(full['activations'])}",
            "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
            "memory-activations-ignore-batch" if same(doubled["activations"], full["activations"]) else None,
        )
    changed = [k for k in ("weights", "gradients", "optimizer") if not same(doubled[k], full[k])]
    if changed:
        fail(
            f"{text} changes the {' and the '.join(changed)} from batch 5; doubling the batch changes only the "
            "activations (the weights, their gradients and the optimizer state are the same for any batch)."
        )

    # FP16 halves every part.
    text, half = _memory_call(env, SMALL_NET, 5, 2)
    for key in MEMORY_KEYS:
        if not same(half[key], full[key] / 2):
            explain(
                f"{text}[{key!r}] is {show(half[key])}, and at 4 bytes per value it is {show(full[key])}",
                "FP16 halves every part: it should use bytes_per_value (FP16 values take 2 bytes)",
                "memory-fp32-hard-coded" if same(half[key], full[key]) else None,
            )
    expect_value_error(env, "training_memory", list(SMALL_NET), 5, optimizer="rmsprop")
    expect_value_error(env, "training_memory", list(SMALL_NET), 0)
    _check_inference_memory(env, params)


def _check_inference_memory(env: Mapping, params: int) -> None:
    """inference_memory: the weights and the activations of one batch, in bytes, growing with the
    batch and following bytes_per_value."""
    weights = 4 * params
    cases = [
        ({}, weights + 36, "1 example x (4 + 3 + 2) values x 4 bytes"),
        ({"batch_size": 5}, weights + 180, "5 examples x (4 + 3 + 2) values x 4 bytes"),
        ({"bytes_per_value": 2}, weights / 2 + 18, "at 2 bytes per value, 1 example x (4 + 3 + 2) values x 2 bytes"),
    ]
    at_batch_1 = None
    for kwargs, by_hand, working in cases:
        text = describe_call("inference_memory", (list(SMALL_NET),), kwargs)
        got = expect_number(call(env, "inference_memory", list(SMALL_NET), **kwargs), text)
        batch, bpv = kwargs.get("batch_size", 1), kwargs.get("bytes_per_value", 4)
        mine = own(lambda: _memory_call(env, SMALL_NET, batch, bpv, "sgd")[1])  # noqa: B023 - used at once
        agrees = same(got, by_hand) or (mine is not None and same(got, mine["weights"] + mine["activations"]))
        if not agrees:
            w, a = weights * bpv / 4, by_hand - weights * bpv / 4
            why, mistake = suspect(
                got,
                [
                    (
                        at_batch_1 if batch != 1 else None,
                        "the activations should grow with batch_size",
                        "inference-batch-ignored",
                    ),
                    (at_batch_1 if bpv != 4 else None, "it should use bytes_per_value", "memory-fp32-hard-coded"),
                    (2 * w + a, "inference keeps no gradients", "inference-keeps-gradients"),
                    (w, "inference still holds the activations of the batch", "inference-no-activations"),
                    (a, "inference still holds the weights", "inference-no-weights"),
                    (by_hand / constants.BYTES_PER_KIB, "it should be in bytes, not KiB", None),
                ],
                "it should be the weights plus the activations of one batch, in bytes",
            )
            explain(
                f"{text} returned {show(got)}; worked by hand it is {show(by_hand)} ({params} parameters x "
                f"{bpv:g} bytes of weights + {working} of activations)",
                why,
                mistake,
            )
        if not kwargs:
            at_batch_1 = got


#: Widths where the public check puts a budget's wall, one even and one odd (the second layer,
#: W // 2, is as wide for both), and the settings it moves the wall with.
WALL_WIDTHS = (100, 101)
WALL_SETTINGS = ({"batch_size": 8}, {"bytes_per_value": 2}, {"optimizer": "sgd"})
#: A budget far beyond any device here (64 TiB): the widest network is millions of units wide, so
#: a search that tries widths one at a time takes minutes, one that halves its range milliseconds.
LARGE_BUDGET_BYTES = 64 * 1024 * constants.BYTES_PER_GIB
LARGE_BUDGET_TEXT = "64 TiB"
#: The mistake of a width search that ignores one of its arguments, by argument.
IGNORED_ARGUMENT_MISTAKES = {
    "batch_size": "width-batch-size-ignored",
    "bytes_per_value": "width-precision-ignored",
    "optimizer": "width-optimizer-ignored",
}


def _bytes(value: float) -> str:
    """A number of bytes for a message: whole numbers in full, with thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() else show(value)


def _total(env: Mapping, layers, batch: int, bpv: float = 4, optimizer: str = "adam") -> float:
    """The "total" of the student's training_memory (what their other functions read of it)."""
    kwargs = _memory_kwargs(bpv, optimizer)
    text = describe_call("training_memory", (list(layers), batch), kwargs)
    value = call(env, "training_memory", list(layers), batch, **kwargs)
    if not isinstance(value, Mapping) or "total" not in value:
        fail(f"{text} returned {show(value)} ({type_name(value)}); expected a dict with the key 'total'.")
    return expect_number(value["total"], f"{text}['total']")


def _width_total(env: Mapping, width: int, settings: Mapping) -> float:
    """Training memory of the challenge's network of ``width`` by the student's own training_memory."""
    return _total(
        env,
        constants.challenge_layer_sizes(width),
        settings.get("batch_size", constants.MNIST_BATCH_SIZE),
        settings.get("bytes_per_value", 4),
        settings.get("optimizer", "adam"),
    )


def _width_call(env: Mapping, budget, settings: Mapping, text: str | None = None) -> tuple[str, int]:
    shown = int(budget) if isinstance(budget, float) and budget.is_integer() else budget  # bytes, not 1.4e+06
    text = text or describe_call("max_trainable_width", (shown,), settings)
    return text, expect_whole(call(env, "max_trainable_width", budget, **settings), text)


def _expect_widest(
    env: Mapping, budget, settings: Mapping, where: str, text: str | None = None, name_it: bool = True
) -> None:
    """max_trainable_width(budget, **settings) must be the widest network that fits by the student's
    own training_memory. ``where`` says what the budget is; with ``name_it`` false (a device's
    budget) no width but the student's answer is shown and no mistake named."""
    text, got = _width_call(env, budget, settings, text)
    head = f"{text} returned {got}; the budget is {where}"
    total = functools.partial(_width_total, env, settings=settings)
    if total(2) > budget:
        if got != 0:
            explain(
                head,
                "not even the smallest network (W = 2) fits it by your training_memory, so the answer is 0",
                "width-nothing-fits-not-zero",
            )
        return
    if got < 2:
        fail(f"{head}, and by your training_memory the network of width 2 fits it: expected the widest that fits.")
    ignored = None
    if len(settings) == 1 and name_it:
        (argument,) = settings
        if own(lambda: _width_call(env, budget, {})[1]) == got:
            ignored = argument
    if ignored:
        why, mistake = (
            f"the {ignored} argument seems to be ignored: the wall moves with it",
            IGNORED_ARGUMENT_MISTAKES[ignored],
        )
    needed = total(got)
    if needed > budget:
        if not ignored:
            why = "the answer is the largest width whose training memory is at most the budget"
            mistake = "width-does-not-fit" if name_it else None
        explain(
            f"{head}, but by your training_memory that width needs {_bytes(needed)} bytes: that width does not fit",
            why,
            mistake,
        )
    wider = total(got + 1)
    if wider <= budget:
        if not name_it:
            fail(
                f"{head}, and by your training_memory a wider network still fits it: the answer is the largest "
                "width whose training memory is at most the budget."
            )
        if ignored:
            pass
        elif wider == budget and (got + 1) % 2 == 0 and total(got + 2) > budget:
            why = (
                "a width whose training memory equals the budget exactly still fits: it must be at most the budget "
                "(<=), not strictly below it"
            )
            mistake = "width-strictly-below-budget"
        elif total(got + 2) > budget or ((got + 2) % 2 == 1 and total(got + 3) > budget):
            why, mistake = "check the edge of your search (every width counts, odd ones too)", "width-edge-of-search"
        else:
            why, mistake = "the answer is the largest width whose training memory is at most the budget", None
        explain(
            f"{head}, and by your training_memory the width {got + 1} still fits it ({_bytes(wider)} bytes)",
            why,
            mistake,
        )


def check_max_trainable_width(env: Mapping) -> None:
    """Public: max_trainable_width is the edge of what fits by your own training_memory: at budgets
    set exactly at the walls of chosen widths (odd and even, for every setting it takes), when
    nothing fits, on the laptop GPU, and quickly even for a budget of 64 TiB."""
    _expect_widest(env, 1, {}, "1 byte")
    for width in WALL_WIDTHS:
        for settings in ({}, *WALL_SETTINGS) if width % 2 else ({},):
            narrower, budget, wider = (_width_total(env, w, settings) for w in (width - 1, width, width + 1))
            if not narrower < budget < wider:  # your training_memory does not grow with W: no wall to check
                continue
            mine = f"your training memory of the width {width} with the same settings"
            _expect_widest(env, budget, settings, f"{mine}, so {width} fits exactly")
            if narrower < budget - 1:  # in bytes, one byte less still fits the narrower network
                _expect_widest(env, budget - 1, settings, f"1 byte less than {mine}")
    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    _expect_widest(env, laptop, {}, f"the {constants.LAPTOP_GPU}'s {laptop:,} bytes", name_it=False)
    text = f"max_trainable_width({LARGE_BUDGET_BYTES}) ({LARGE_BUDGET_TEXT})"
    try:
        _expect_widest(env, LARGE_BUDGET_BYTES, {}, LARGE_BUDGET_TEXT, text=text, name_it=False)
    except CallTooSlow:
        fail(
            f"{text} did not return within {TIME_LIMIT_S:g} s. For a budget this large the widest network is "
            "millions of units wide, too many to try one at a time. Training memory grows with W, so the "
            "widths that fit form one unbroken range: double W until it no longer fits, then halve the range "
            "between the last width that fits and the first that does not until they meet."
        )


def check_act2_reflection(env: Mapping) -> None:
    """Public: the reflection answer is one of the letters."""
    expect_choice(env, "act2_reflection", LETTERS)


def check_batch_doubling(env: Mapping) -> None:
    """Public: batch_doubling_ratio is the ratio of the training totals your training_memory gives
    at batch 64 and batch 32 (FP32, Adam)."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    mnist = list(constants.MNIST_LAYER_SIZES)
    totals = own(lambda: [_total(env, mnist, batch) for batch in (32, 64)])
    if totals is None or not totals[0] > 0:
        if not ratio > 1:
            fail(
                f"batch_doubling_ratio is {show(ratio)}; a larger batch needs more memory, so the ratio "
                "of the totals (batch 64 over batch 32) is above 1."
            )
        return
    mine = totals[1] / totals[0]
    if not same(ratio, mine, rel=1e-6):
        why, mistake = suspect(
            ratio,
            [
                (
                    1 / mine,
                    "the ratio is inverted; it should be the training total at batch 64 divided by the total at batch 32",
                    "batch-ratio-inverted",
                ),
                (
                    2.0,
                    "compute it from training_memory, which says how much of the total actually grows with the batch",
                    "batch-ratio-is-two",
                ),
            ],
            "it should be the training total at batch 64 divided by the total at batch 32 (FP32, Adam), as your "
            "training_memory gives them: compute it from training_memory",
        )
        explain(f"batch_doubling_ratio is {show(ratio)}", why, mistake)


def check_deployment(env: Mapping) -> None:
    """Public: the deployment answer is one of the letters."""
    expect_choice(env, "deployment_answer", LETTERS)


def read_ledger(path: pathlib.Path = pathlib.Path(lab05.ledger.LEDGER_FILENAME)) -> dict:
    """The ledger file as a dict, or a failure saying why it cannot be read."""
    if not path.is_file():
        fail(
            f"{path} does not exist: set activation_choice and batch_size_chosen, then run the "
            "cell that records your design."
        )
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(f"{path} is not valid JSON ({error_text(exc)}); run the cell that records your design again.")
    return ledger


def read_fresh_ledger(path: pathlib.Path = pathlib.Path(lab05.ledger.LEDGER_FILENAME), env: Any = None) -> dict:
    """The ledger, if this kernel wrote it (by running the cell that records the design).

    A file edited by hand, or left over from an earlier session, is not accepted. Under trusted
    scoring (``env`` reads files from the probe, which starts with no ledger) the ledger is the
    one the notebook's code wrote in the probe's run.
    """
    reader = getattr(env, "read_file", None)
    if reader is not None and type(env).__module__ == "lab05_trusted":
        text, written = reader(path.name)
        if text is None:
            fail(
                f"{path} was not written when the notebook ran: set activation_choice and batch_size_chosen, "
                "then run the cell that records your design."
            )
        if not written:
            fail(
                f"{path} was not written by this run of the notebook's cell that records your design (a file "
                "written by other code earns nothing): run that cell as it is given."
            )
        try:
            ledger = json.loads(text)
        except ValueError as exc:
            fail(f"{path} is not valid JSON ({error_text(exc)}); run the cell that records your design again.")
        problems = lab05.ledger.ledger_problems(ledger)
        if problems:
            fail(f"{path} does not match design_ledger.schema.json:\n  - " + quoted("\n  - ".join(problems[:5])))
        return ledger
    ledger = read_ledger(path)
    written = lab05.ledger.LAST_WRITTEN
    fresh = path.stat().st_mtime >= lab05.ledger.IMPORTED_AT - 1
    if not written or written.get("text") != path.read_text(encoding="utf-8") or not fresh:
        fail(
            f"{path} was not written by this run of the notebook. The ledger must come from running "
            "the cell that records your design (Kernel > Restart & Run All); a file edited by hand, "
            "or left over from an earlier session, earns nothing."
        )
    problems = lab05.ledger.ledger_problems(ledger)
    if problems:
        fail(f"{path} does not match design_ledger.schema.json:\n  - " + quoted("\n  - ".join(problems[:5])))
    return ledger


def check_design_ledger(env: Mapping) -> None:
    """Public: this run of the notebook wrote design_ledger.json, it matches its schema, it records
    the notebook's answers as they are now, and its numbers are what your own functions give."""
    ledger = read_fresh_ledger(env=env)
    recorded = {
        "activation_choice": ledger["activation_choice"],
        "batch_size_chosen": ledger["batch_size_chosen"],
        **ledger["predictions"],
        **ledger["reflections"],
    }
    for variable, value in recorded.items():
        mine = env.get(variable, _MISSING)
        if mine is _MISSING:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook has no `{variable}`."
                + tag("ledger-stale")
            )
        if not _recorded_as(value, mine):
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook's `{variable}` is {show(mine)}: "
                "the ledger is stale; run the cell that records your design again." + tag("ledger-stale")
            )
    _check_ledger_numbers(env, ledger)


_MISSING = object()


def _recorded_as(value: Any, mine: Any) -> bool:
    """Whether the ledger's ``value`` records the notebook's ``mine`` (as the ledger converts it)."""
    try:
        mine = lab05.ledger.json_native(mine)
    except lab05.ledger.LedgerError:
        return False
    if isinstance(value, (int, float)) and isinstance(mine, (int, float)) and not isinstance(mine, bool):
        return same(float(value), float(mine))
    if isinstance(value, str) and isinstance(mine, str):
        return value.strip().lower() == mine.strip().lower()  # choices are read with case and spaces ignored
    return value == mine


def _check_ledger_numbers(env: Mapping, ledger: dict) -> None:
    """The ledger's laptop-GPU width and estimate error are what the notebook's own functions give."""
    batch = ledger["batch_size_chosen"]
    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    at_batch = {} if batch == constants.MNIST_BATCH_SIZE else {"batch_size": batch}
    width = own(lambda: _width_call(env, laptop, at_batch)[1])
    if width is not None and ledger["max_trainable_width_laptop_gpu"] != width:
        default = at_batch and own(lambda: _width_call(env, laptop, {})[1]) == ledger["max_trainable_width_laptop_gpu"]
        fail(
            "the ledger's max_trainable_width_laptop_gpu is not the width your max_trainable_width gives for the "
            f"{constants.LAPTOP_GPU} at the batch size the ledger records ({batch}), FP32, Adam"
            + (
                f": it is the width at batch {constants.MNIST_BATCH_SIZE}." + tag("ledger-width-at-default-batch")
                if default
                else "."
            )
        )
    mnist = list(constants.MNIST_LAYER_SIZES)
    total = own(lambda: _total(env, mnist, constants.MNIST_BATCH_SIZE))
    if total is None:
        return
    got = ledger["training_memory_estimate_error_kb"]
    estimate = float(ledger["predictions"]["act2_estimate_kib"])
    expected = estimate - constants.to_kib(total)
    if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6):
        at_chosen = own(lambda: _total(env, mnist, batch)) if at_batch else None
        why, mistake = suspect(
            got,
            [
                (
                    -expected,
                    "the sign is flipped; it is your estimate minus the actual training memory",
                    "ledger-error-sign-flipped",
                ),
                (
                    expected * constants.BYTES_PER_KIB,
                    "that is in bytes; the ledger wants KiB (1 KiB = 1,024 bytes), like your estimate",
                    "ledger-error-in-bytes",
                ),
                (
                    None if at_chosen is None else estimate - constants.to_kib(at_chosen),
                    f"it compares your estimate with the training memory at batch_size_chosen ({batch}); it should "
                    f"use batch {constants.MNIST_BATCH_SIZE}, the setting your Act 2 estimate was about",
                    "ledger-error-at-chosen-batch",
                ),
            ],
            "it should be your estimate minus the training memory your training_memory gives for the MNIST network "
            f"at batch {constants.MNIST_BATCH_SIZE}, FP32, Adam, both in KiB",
        )
        explain(f"the ledger's training_memory_estimate_error_kb is {show(got)}", why, mistake)
