"""Argument validators shared by the lab's functions, and the prediction locks.

A ``validate_*`` function returns its argument in a canonical form, or raises ``ValueError`` with a
message that names the argument, what was given and what is accepted. The notebook's functions
call them first, so a wrong argument fails with that message instead of a wrong number.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


# ---------------------------------------------------------------------------------------------
# Argument checks shared by the lab's functions (given to students, not graded)
# ---------------------------------------------------------------------------------------------
def validate_name(kind: str, name: Any, table: Mapping[str, Any]) -> str:
    """Return ``name`` lower-cased if it is a key of ``table``.

    Raises:
        ValueError: naming the unknown value and every accepted one.
    """
    key = matching_option(name, table)
    if key is None:
        raise ValueError(f"unknown {kind} {name!r}: expected one of {sorted(table)}")
    return key


def matching_option(value: Any, options: Iterable) -> Any:
    """The option ``value`` names, case and surrounding spaces ignored; None if it names none."""
    if isinstance(value, str):
        key = value.strip().lower()
        for option in options:
            if str(option).lower() == key:
                return option
    return None


def validate_count(what: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum``.

    Raises:
        ValueError: for booleans, non-integers and numbers below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def validate_positive(what: str, value: Any) -> float:
    """Return ``value`` if it is a finite real number > 0.

    Raises:
        ValueError: for anything else (booleans included).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return value


def validate_layer_sizes(layer_sizes: Any) -> list:
    """Return layer widths (input first, at least two layers) as a list of ints.

    Raises:
        ValueError: for a non-sequence, fewer than two layers, or a width that is not >= 1.
    """
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise ValueError(f"layer_sizes must be a sequence of widths, input first; got {layer_sizes!r}")
    sizes = [validate_count("every layer width", n) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output width at least, got {layer_sizes!r}")
    return sizes


def validate_fraction(what: str, value: Any) -> float:
    """Return ``value`` if it is a real number strictly between 0 and 1.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{what} must be a number strictly between 0 and 1, got {value!r}")
    return value


def validate_depths(depth: Any) -> None:
    """Check that ``depth`` is a whole number >= 0, or an array of them.

    Raises:
        ValueError: for negative, fractional or non-numeric depths.
    """
    arr = np.asarray(depth)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"depth must be a whole number >= 0 (or an array of them), got {depth!r}")
    if np.any(arr < 0) or np.any(arr != np.floor(arr)):
        raise ValueError(f"depth must be a whole number >= 0 (or an array of them), got {depth!r}")


# ---------------------------------------------------------------------------------------------
# Predictions are locked before the instruments open
# ---------------------------------------------------------------------------------------------
def prediction_is_set(value: Any, options: Mapping[str, Any] | None = None) -> bool:
    """Whether a prediction variable holds an answer (one of ``options`` when they are given)."""
    if value is None or value is Ellipsis:
        return False
    if options is not None:
        return isinstance(value, str) and value.strip().upper() in options
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value)) and float(value) > 0


def locked_message(variable: str, how: str) -> str:
    """The friendly message an instrument cell prints while its prediction is not set."""
    return (
        f"🔒 This instrument opens once you commit to a prediction.\n"
        f"   Set `{variable}` {how} in the prediction cell above, run it, then run this cell again."
    )
