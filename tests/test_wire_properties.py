"""The wire format (``lab05_autograder.wire``), property-based: hostile data decodes or raises ``WireError``,
valid values cross the wire unchanged, and any Python value encodes into data that decodes.

The tests run with a fixed seed (``derandomize``) so that CI sees the same examples; the hostile
values they mix in are tests/wire_inputs.py's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lab05_autograder import policy, wire
from wire_inputs import HOSTILE_VALUES, brief, module_state, nested, only_wire_errors, through_the_wire

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROUND_TRIP = settings(FUZZ, max_examples=200)


def _same(a, b) -> bool:
    """Equal value and the same type, all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is np.ndarray:
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if type(a) is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is list or type(a) is tuple:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return [(type(k), k) for k in a] == [(type(k), k) for k in b] and all(_same(a[k], b[k]) for k in a)
    return a == b


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**64, 2**63, -(2**63) - 1, -1, 1000, 65520]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "$nd", "$np", "x" * 5000]),
)
_dtypes = st.one_of(
    st.sampled_from(
        ["<f8", "|b1", "<i1", "<u8", ">f4", "<f2", "=i4", "|O", "<c16", "<M8", "<f16", "<b2", "f1", "<U3", "", "<i8x"]
    ),
    st.text(max_size=5),
    _scalars,
)
_tags = st.sampled_from(["$nd", "$np", "$tuple", "$dict", "$opaque", "$exec", "", "nd"])
_deep = st.integers(min_value=20, max_value=3000).map(nested)


def _tagged(children):
    shapes = st.one_of(
        st.lists(st.one_of(st.integers(min_value=-2, max_value=6), st.sampled_from([10**30, 2**63, True])), max_size=4),
        children,
    )
    items = st.one_of(st.lists(_scalars, max_size=12), children)
    pairs = st.lists(st.one_of(st.tuples(children, children).map(list), children), max_size=4)
    return st.one_of(
        st.lists(children, max_size=5),
        st.builds(lambda d, s, v: {"$nd": [d, s, v]}, _dtypes, shapes, items),
        st.builds(lambda d, v: {"$np": [d, v]}, _dtypes, children),
        st.builds(lambda v: {"$tuple": v}, st.one_of(st.lists(children, max_size=4), children)),
        st.builds(lambda v: {"$dict": v}, st.one_of(pairs, children)),
        st.builds(lambda n, t: {"$opaque": [n, t]}, children, children),
        st.builds(lambda t, b: {t: b}, _tags, children),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
    )


_hostile = st.recursive(st.one_of(_scalars, _deep), _tagged, max_leaves=25)


@FUZZ
@given(_hostile)
def test_hostile_data_decodes_or_raises_wire_error(data):
    before = module_state()
    only_wire_errors(wire.decode, data, "decode")
    try:
        line = json.dumps(data, allow_nan=True).encode()
    except (ValueError, RecursionError):  # more digits than Python prints, or deeper than json goes
        line = None
    if line is not None:
        only_wire_errors(lambda b: wire.decode(wire.loads(b)), line, "decode(loads())")
    after = module_state()
    assert after == before, f"input: {brief(data)}; expected the module's state unchanged ({before}); got {after}"


_json_pieces = st.sampled_from(
    [b"[", b"]", b"{", b"}", b'"', b"\\", b",", b":", b"1", b"-", b"e400", b"NaN", b"Infinity", b'"$nd"', b'"$np"']
    + [b'"$dict"', b'"$opaque"', b'"<i1"', b"true", b"null", b"\xff", b"\x00", b"\\ud800", b" ", b"9" * 30]
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.lists(_json_pieces, max_size=60).map(b"".join)))
def test_random_bytes_load_or_raise_wire_error(line):
    data = only_wire_errors(wire.loads, line, "loads")
    only_wire_errors(wire.decode, data, "decode")


_ARRAY_DTYPES = ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", ">f8", ">i4"]
_arrays = st.sampled_from(_ARRAY_DTYPES).flatmap(
    lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
)
_numpy_scalars = st.sampled_from(_ARRAY_DTYPES).flatmap(
    lambda d: hnp.from_dtype(np.dtype(d)).map(lambda v, d=d: np.dtype(d).type(v))
)
_keys = st.one_of(st.text(max_size=10), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
_valid = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**300), max_value=10**300),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        _arrays,
        _numpy_scalars,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=20,
)


def _depth(value, cap: int = 100) -> int:
    """How deeply lists, tuples and dicts nest in ``value`` (counted up to ``cap``)."""
    if cap == 0:
        return 0
    if type(value) is list or type(value) is tuple:  # `is`: a hostile metaclass's __eq__ raises
        return 1 + max((_depth(v, cap - 1) for v in value), default=0)
    if type(value) is dict:
        return 1 + max((_depth(v, cap - 1) for v in value.values()), default=0)
    return 0


@ROUND_TRIP
@given(_valid)
def test_valid_values_cross_the_wire_unchanged(value):
    if _depth(value) > policy.WIRE_MAX_DEPTH:
        return
    got = through_the_wire(value)
    assert _same(got, value), f"input: {brief(value)}; expected the same value and types back; got {brief(got)}"


class _Make:
    """A placeholder for one of HOSTILE_VALUES, built by the test (Hypothesis never touches the objects)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<{self.name}>"


def _build(value):
    if type(value) is _Make:
        return HOSTILE_VALUES[value.name]()
    if type(value) is list or type(value) is tuple:
        return type(value)(_build(v) for v in value)
    if type(value) is dict:
        return {k: _build(v) for k, v in value.items()}
    return value


_SLOW = {"list holding itself twice", "list of 3 million zeros"}  # a second each: tested once in test_wire.py
_anything = st.recursive(
    st.one_of(_valid, st.sampled_from([_Make(name) for name in HOSTILE_VALUES if name not in _SLOW])),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.lists(children, max_size=4).map(tuple), st.dictionaries(_keys, children)
    ),
    max_leaves=12,
)


@FUZZ
@given(recipe=_anything)
def test_any_python_value_encodes_into_data_that_decodes(recipe):
    value = _build(recipe)
    before = module_state()
    try:
        got = through_the_wire(value)
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"input: {brief(value)}; expected a value back; got {type(exc).__name__}: {brief(exc)}")
    if _depth(value) <= policy.WIRE_MAX_DEPTH:
        assert type(got) is type(value) or type(got) is wire.Opaque, (
            f"input: {brief(value)}; expected a {brief(type(value))} or an Opaque; got {brief(type(got))}"
        )
    assert module_state() == before, f"input: {brief(value)}; expected the module's state unchanged"
