"""The assertion library of Lab 05's checks: calling student code, and judging what it returns.

The public checks (:mod:`lab05.checks`) and the autograder's hidden tests both build on it. Every
student call runs under a time limit (:data:`TIME_LIMIT_S`), so a loop that never ends fails its
check with "did not return within N s" instead of hanging the notebook or the autograder. A
failure raises :class:`CheckFailed` (or one of its kinds) with a message that says what was
called, what came back and what was expected; a message that recognises a known mistake ends
with its id (:func:`tag`).

Sections: describing and calling student code (:func:`call`, :func:`describe_call`,
:func:`show`), kinds of answer (``expect_*``), what a wrong answer suggests (:func:`explain`,
:func:`suspect`), and reading the Design Ledger this run wrote (:func:`read_fresh_ledger`).
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
    if reader is not None and getattr(type(env), "trusted_scoring", False) is True:
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
