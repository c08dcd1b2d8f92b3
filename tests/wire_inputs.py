"""What the wire format's tests (tests/test_wire.py, tests/test_wire_properties.py) send through it.

The hostile Python values a probe's reply could be built from (:data:`HOSTILE_VALUES`: objects whose
dunders raise, lie or exit, values that change while they are encoded, sizes past every limit), and
the checks both files make: a call that may raise nothing but ``WireError``, a value sent through
the whole wire, the module's own state.
"""

from __future__ import annotations

import numpy as np
import pytest
from lab05_autograder import wire


def brief(value, limit: int = 200) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - hostile objects are described by their type
        text = f"<{type(value).__name__} without a repr>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def only_wire_errors(fn, value, what: str):
    """``fn(value)``, or None when it raised WireError; fails the test on any other exception."""
    try:
        return fn(value)
    except wire.WireError:
        return None
    except BaseException as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(
            f"input: {what}({brief(value)}); expected a value or WireError; got {type(exc).__name__}: {brief(exc)}"
        )


def through_the_wire(value):
    return wire.decode(wire.loads(wire.dumps(wire.encode(value))))


def module_state() -> dict:
    """Sizes of everything the module keeps that could grow: its containers, Opaque's subclasses."""
    state = {"Opaque subclasses": len(wire.Opaque.__subclasses__())}
    for name, value in vars(wire).items():
        if type(value) in (dict, list, set) and not name.startswith("__"):
            state[name] = len(value)
    return state


def nested(depth: int, leaf=0):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


class _Meta(type):
    def __eq__(cls, other):
        raise RuntimeError("metaclass __eq__ raised")

    def __hash__(cls):
        raise RuntimeError("metaclass __hash__ raised")

    @property
    def __name__(cls):
        raise RuntimeError("metaclass __name__ raised")


class HostileType(metaclass=_Meta):
    pass


class Liar:
    def __repr__(self):
        raise ValueError("__repr__ raised")

    def __eq__(self, other):
        raise ValueError("__eq__ raised")

    def __hash__(self):
        raise ValueError("__hash__ raised")

    def __len__(self):
        return -1


class _Exits:
    def __repr__(self):
        raise SystemExit("repr exits")


class LyingStr(str):
    def __str__(self):
        raise ValueError("__str__ raised")

    def split(self, *args):
        raise ValueError("split raised")


class ItemsRaise(dict):
    def items(self):
        raise KeyError("items raised")


def self_referencing_twice():
    value = []
    value.append(value)
    value.append(value)
    return value


def _grows_while_encoded():
    """A list whose element's repr appends to it: encoding it must still end."""
    outer = []

    class Grower:
        def __repr__(self):
            outer.append(Grower())
            return "grower"

    outer.append(Grower())
    return outer


def _dict_mutated_while_encoded():
    d = {}

    class Mutator:
        def __repr__(self):
            d[len(d) + 100] = 1
            return "mutator"

    d.update({1: Mutator(), 2: Mutator()})
    return d


HOSTILE_VALUES = {
    "object of a hostile metaclass": lambda: HostileType(),
    "object whose dunders raise or lie": lambda: Liar(),
    "object whose repr exits": lambda: _Exits(),
    "str subclass whose str raises": lambda: LyingStr("x"),
    "dict keyed by a hostile object": lambda: {HostileType(): 1},
    "list holding itself twice": self_referencing_twice,
    "list that grows while encoded": _grows_while_encoded,
    "dict that changes while encoded": _dict_mutated_while_encoded,
    "5000-digit int": lambda: 10**5000,
    "dict keyed by a 5000-digit int": lambda: {10**5000: 1},
    "longdouble array": lambda: np.zeros(3, dtype=np.longdouble),
    "object array": lambda: np.array([object()], dtype=object),
    "complex scalar": lambda: np.complex128(1j),
    "datetime scalar": lambda: np.datetime64("2024-01-01"),
    "ndarray subclass": lambda: np.ma.masked_array([1, 2]),
    "list nested 5000 deep": lambda: nested(5000),
    "list of 3 million zeros": lambda: [0] * 3_000_000,
}
