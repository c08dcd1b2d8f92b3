"""The checks behind ``grader.check(...)`` in Lab 05, and the machinery the graders share.

Public checks test the shape, type and sanity of each answer: that it is a number of the right
kind, that it behaves sensibly when an argument changes, that it agrees with the examples in the
docstrings and with the student's own other functions. They hold no reference values; the
autograder's hidden tests compare with the reference after submission.

Every student call runs under a time limit, so a loop that never ends fails its check with
"did not return within N s" instead of hanging the notebook or the autograder.
"""

from __future__ import annotations

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
    except (NotImplementedError, guards.CallTimedOut) as exc:
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
        fail(f"{text} returned {len(items)} entries; expected {length}, one per layer.")
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
# Public checks, one per question
# ---------------------------------------------------------------------------------------------
def check_transistor_tax(env: Mapping) -> None:
    """Public: transistor_tax and extra_transistors are numbers that behave like a cost ratio."""
    text = describe_call("transistor_tax", ("relu",))
    expect_close(expect_number(call(env, "transistor_tax", "relu"), text), 1.0, text, "a unit compared with itself")
    up = expect_number(call(env, "transistor_tax", "sigmoid"), describe_call("transistor_tax", ("sigmoid",)))
    if not up > 1:
        fail(
            f"transistor_tax('sigmoid') returned {show(up)}; a sigmoid unit needs more transistors "
            "than a ReLU unit, so the ratio should be above 1."
        )
    down_text = describe_call("transistor_tax", ("relu",), {"baseline": "sigmoid"})
    down = expect_number(call(env, "transistor_tax", "relu", baseline="sigmoid"), down_text)
    expect_close(
        down * up, 1.0, f"{down_text} times transistor_tax('sigmoid')", "swapping the two units should invert the ratio"
    )
    expect_value_error(env, "transistor_tax", "swish")

    zero_text = describe_call("extra_transistors", (10, 2, "relu"))
    expect_close(
        expect_number(call(env, "extra_transistors", 10, 2, "relu"), zero_text),
        0.0,
        zero_text,
        "ReLU instead of ReLU adds nothing",
    )
    one = expect_whole(
        call(env, "extra_transistors", 10, 2, "sigmoid"), describe_call("extra_transistors", (10, 2, "sigmoid"))
    )
    two = expect_whole(
        call(env, "extra_transistors", 20, 2, "sigmoid"), describe_call("extra_transistors", (20, 2, "sigmoid"))
    )
    if one <= 0 or two != 2 * one:
        fail(
            f"extra_transistors(10, 2, 'sigmoid') returned {one} and extra_transistors(20, 2, "
            f"'sigmoid') returned {two}; doubling the neurons per layer should double a positive "
            "number of extra transistors."
        )


def check_sigmoid_derivative(env: Mapping) -> None:
    """Public: sigmoid_derivative is symmetric, positive, finite at +-1000, and works on arrays."""
    peak = expect_number(call(env, "sigmoid_derivative", 0.0), "sigmoid_derivative(0.0)")
    for x in (1.0, 3.0):
        right = expect_number(call(env, "sigmoid_derivative", x), describe_call("sigmoid_derivative", (x,)))
        left = expect_number(call(env, "sigmoid_derivative", -x), describe_call("sigmoid_derivative", (-x,)))
        if not math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-15):
            fail(
                f"sigmoid_derivative({x}) returned {show(right)} but sigmoid_derivative({-x}) returned "
                f"{show(left)}; the sigmoid's slope is the same at x and -x."
            )
        if not 0 < right < peak:
            fail(
                f"sigmoid_derivative({x}) returned {show(right)}; expected a positive number below "
                f"the value at 0 ({show(peak)}), where the slope is largest."
            )
    for x in (1000.0, -1000.0):
        value = expect_number(call(env, "sigmoid_derivative", x), describe_call("sigmoid_derivative", (x,)))
        if not 0 <= value < 1e-12:
            fail(
                f"sigmoid_derivative({x}) returned {show(value)}; far from 0 the sigmoid is flat, "
                "so its derivative should be (almost) exactly 0."
            )
    xs = np.array([[-2.0, 0.0], [2.0, 5.0]])
    text = "sigmoid_derivative(array of shape (2, 2))"
    out = call(env, "sigmoid_derivative", xs)
    if not isinstance(out, np.ndarray) or out.shape != xs.shape:
        fail(
            f"{text} returned {show(out)} ({type_name(out)}); expected an ndarray of shape (2, 2), "
            "one derivative per element."
        )
    if not np.all(np.isfinite(out)):
        fail(f"{text} returned {show(out)}; expected finite numbers.")


def check_gradient_decay(env: Mapping) -> None:
    """Public: gradient_bound and stall_depth agree with their docstring examples and with each other."""
    expect_close(
        expect_number(call(env, "gradient_bound", 0), "gradient_bound(0)"),
        1.0,
        "gradient_bound(0)",
        "no layers lose nothing",
    )
    text = describe_call("gradient_bound", (3, 0.5))
    expect_close(
        expect_number(call(env, "gradient_bound", 3, 0.5), text),
        0.125,
        text,
        "three layers that each pass back at most half",
    )
    depths = np.arange(1, 6)
    out = call(env, "gradient_bound", depths)
    arr_text = "gradient_bound(np.arange(1, 6))"
    if not isinstance(out, np.ndarray) or out.shape != depths.shape:
        fail(f"{arr_text} returned {show(out)} ({type_name(out)}); expected an ndarray with one bound per depth.")
    if not np.all(np.diff(out) < 0):
        fail(f"{arr_text} returned {show(out)}; each extra sigmoid layer should make the bound smaller.")

    text = describe_call("stall_depth", (0.3, 0.5))
    depth = expect_whole(call(env, "stall_depth", 0.3, 0.5), text)
    if depth != 2:
        fail(f"{text} returned {depth}; expected 2 (the docstring's example).")
    default = expect_whole(call(env, "stall_depth"), "stall_depth()")
    bound = expect_number(call(env, "gradient_bound", default), f"gradient_bound({default})")
    before = expect_number(call(env, "gradient_bound", default - 1), f"gradient_bound({default - 1})")
    if not (bound < constants.LEARNING_STALLS_BELOW <= before):
        fail(
            f"stall_depth() returned {default}, but your gradient_bound gives {show(before)} one layer "
            f"earlier and {show(bound)} at that depth; the stall depth is the first depth whose bound "
            f"is strictly below {constants.LEARNING_STALLS_BELOW:g}."
        )
    never = call(env, "stall_depth", 1e-6, 1.0)
    if never is not None:
        fail(
            f"stall_depth(1e-06, 1.0) returned {show(never)}; expected None, because a bound of 1 "
            "per layer never falls."
        )
    expect_value_error(env, "stall_depth", 1.5)


def check_act1_reflection(env: Mapping) -> None:
    """Public: both reflection answers are set to one of their options."""
    expect_choice(env, "act1_reflection_reason", LETTERS)
    expect_choice(env, "act1_failure_mode", FAILURE_MODES)


def check_parameters_and_macs(env: Mapping) -> None:
    """Public: parameter_count and layer_macs agree with their examples and have the right shape."""
    text = describe_call("parameter_count", ([3, 2],))
    count = expect_whole(call(env, "parameter_count", [3, 2]), text)
    if count != 8:
        fail(f"{text} returned {count}; expected 8 (six weights and two biases).")
    mnist = list(constants.MNIST_LAYER_SIZES)
    expect_whole(call(env, "parameter_count", mnist), describe_call("parameter_count", (mnist,)))
    text = describe_call("layer_macs", ([3, 2],))
    macs = expect_sequence(call(env, "layer_macs", [3, 2]), 1, text)
    if expect_whole(macs[0], text + "[0]") != 6:
        fail(f"{text} returned {show(macs)}; expected [6] (two outputs, each a sum over three inputs).")
    text = describe_call("layer_macs", (mnist,))
    macs = expect_sequence(call(env, "layer_macs", mnist), len(mnist) - 1, text)
    for i, m in enumerate(macs):
        if expect_whole(m, f"{text}[{i}]") <= 0:
            fail(f"{text}[{i}] is {show(m)}; every layer does a positive number of MACs.")


def check_training_memory(env: Mapping) -> None:
    """Public: training_memory returns the five components in bytes, consistently."""
    mnist = list(constants.MNIST_LAYER_SIZES)
    text = describe_call("training_memory", (mnist, 32))
    mem = expect_memory_dict(call(env, "training_memory", mnist, 32), text)
    parts = sum(mem[k] for k in MEMORY_KEYS[:-1])
    expect_close(mem["total"], parts, f"{text}['total']", "the sum of the other four entries")
    if mem["gradients"] != mem["weights"]:
        fail(
            f"{text} has weights {show(mem['weights'])} but gradients {show(mem['gradients'])}; "
            "there is one gradient per parameter."
        )
    sgd_text = describe_call("training_memory", (mnist, 32), {"optimizer": "sgd"})
    sgd = expect_memory_dict(call(env, "training_memory", mnist, 32, optimizer="sgd"), sgd_text)
    if sgd["optimizer"] != 0:
        fail(f"{sgd_text}['optimizer'] is {show(sgd['optimizer'])}; plain SGD keeps no optimizer state.")
    expect_value_error(env, "training_memory", mnist, 32, optimizer="rmsprop")
    expect_value_error(env, "training_memory", mnist, 0)
    inf_text = describe_call("inference_memory", (mnist,))
    inference = expect_number(call(env, "inference_memory", mnist), inf_text)
    if not 0 < inference < mem["total"]:
        fail(
            f"{inf_text} returned {show(inference)}; expected a positive number of bytes, smaller "
            f"than the training memory your training_memory reports ({show(mem['total'])})."
        )


def check_max_trainable_width(env: Mapping) -> None:
    """Public: max_trainable_width is the edge of what fits, by your own training_memory."""
    budget = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    text = describe_call("max_trainable_width", (budget,))
    width = expect_whole(call(env, "max_trainable_width", budget), text)
    if width < 2:
        fail(f"{text} returned {width}; an 8 GiB GPU fits far more than the smallest network.")
    for w, should_fit in ((width, True), (width + 1, False)):
        layers = constants.challenge_layer_sizes(w)
        total = expect_memory_dict(
            call(env, "training_memory", layers, 32), describe_call("training_memory", (layers, 32))
        )["total"]
        if (total <= budget) != should_fit:
            verdict = "does not fit" if should_fit else "still fits"
            fail(
                f"{text} returned {width}, but by your training_memory the width {w} {verdict} "
                f"in {budget:,} bytes ({show(total)} bytes needed). The answer is the largest "
                "width that fits."
            )
    tiny = expect_whole(call(env, "max_trainable_width", 1), "max_trainable_width(1)")
    if tiny != 0:
        fail(f"max_trainable_width(1) returned {tiny}; with a budget of one byte nothing fits, so expected 0.")


def check_act2_reflection(env: Mapping) -> None:
    """Public: the reflection answer is one of the letters."""
    expect_choice(env, "act2_reflection", LETTERS)


def check_batch_doubling(env: Mapping) -> None:
    """Public: batch_doubling_ratio is a ratio of memories, above 1."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    if not ratio > 1:
        mnist = list(constants.MNIST_LAYER_SIZES)
        try:
            own = [
                expect_memory_dict(call(env, "training_memory", mnist, b), f"training_memory({mnist}, {b})")
                for b in (32, 64)
            ]
        except CheckFailed:
            own = None
        if own and own[0]["total"] == own[1]["total"]:
            fail(
                f"batch_doubling_ratio is {show(ratio)} because your training_memory gives the same total at "
                "batch 64 as at batch 32: fix training_memory first (every example in a batch keeps its "
                "own activations)."
            )
        fail(
            f"batch_doubling_ratio is {show(ratio)}; a larger batch needs more memory, so the ratio "
            "of the totals (batch 64 over batch 32) is above 1."
        )


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
    """Public: this run of the notebook wrote design_ledger.json, and it matches its schema."""
    read_fresh_ledger(env=env)
