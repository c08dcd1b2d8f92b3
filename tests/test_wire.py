"""The wire format (``lab05_autograder.wire``) against a probe that chooses every byte it sends.

The probe runs the student's code, so whatever it sends is hostile until decoded: ``loads`` and
``decode`` raise nothing but ``WireError`` for any input; ``encode`` and ``dumps`` raise nothing
but ``WireError`` for any Python value (and ``encode`` nothing at all); a message decodes into at
most ``WIRE_MAX_VALUES`` values; and nothing the module keeps grows with what the probe sends.
The property-based tests run with a fixed seed (``derandomize``) so that CI sees the same examples.
"""

from __future__ import annotations

import gc
import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lab05_autograder import policy, wire

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROUND_TRIP = settings(FUZZ, max_examples=200)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _brief(value, limit: int = 200) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - hostile objects are described by their type
        text = f"<{type(value).__name__} without a repr>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _only_wire_errors(fn, value, what: str):
    """``fn(value)``, or None when it raised WireError; fails the test on any other exception."""
    try:
        return fn(value)
    except wire.WireError:
        return None
    except BaseException as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(
            f"input: {what}({_brief(value)}); expected a value or WireError; got {type(exc).__name__}: {_brief(exc)}"
        )


def _through_the_wire(value):
    return wire.decode(wire.loads(wire.dumps(wire.encode(value))))


def _module_state() -> dict:
    """Sizes of everything the module keeps that could grow: its containers, Opaque's subclasses."""
    state = {"Opaque subclasses": len(wire.Opaque.__subclasses__())}
    for name, value in vars(wire).items():
        if type(value) in (dict, list, set) and not name.startswith("__"):
            state[name] = len(value)
    return state


def _nested(depth: int, leaf=0):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


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


# ---------------------------------------------------------------------------------------------
# 1. Nothing but WireError, whatever the input
# ---------------------------------------------------------------------------------------------
class _RaisingEq:
    def __eq__(self, other):
        raise RuntimeError("__eq__ raised")

    def __hash__(self):
        return 1


HOSTILE_DATA = {
    "float scalar of a 400-digit int": {"$np": ["<f8", 10**400]},
    "int8 scalar of 1000": {"$np": ["<i1", 1000]},
    "uint64 scalar of -1": {"$np": ["<u8", -1]},
    "float16 scalar of 1e300": {"$np": ["<f2", 1e300]},
    "dtype <b2": {"$np": ["<b2", 1]},
    "dtype f1": {"$np": ["f1", 1.0]},
    "dtype not a string": {"$np": [["<f8"], 1.0]},
    "array of a 30-digit int": {"$nd": ["<i8", [2], [10**30, 1]]},
    "array of a 400-digit int as float": {"$nd": ["<f8", [2], [10**400, 1.0]]},
    "int8 array of 1000": {"$nd": ["<i1", [1], [1000]]},
    "float32 array of 1e300": {"$nd": ["<f4", [1], [1e300]]},
    "array with a googol-sized empty shape": {"$nd": ["<f8", [10**100, 0], []]},
    "array of 40 dimensions": {"$nd": ["<f8", [1] * 40, [1.0]]},
    "array shape of bools": {"$nd": ["<f8", [True], [1.0]]},
    "dict key unhashable": {"$dict": [[[1], 2]]},
    "dict with NaN keys": {"$dict": [[float("nan"), 1], [float("nan"), 2]]},
    "dict with a repeated key": {"$dict": [["a", 1], ["a", 2]]},
    "dict entry of three": {"$dict": [["a", 1, 2]]},
    "opaque of a deeply nested list": {"$opaque": [_nested(5000), "x"]},
    "opaque of numbers": {"$opaque": [1, 2]},
    "tag whose __eq__ raises": {_RaisingEq(): []},
    "tag that is a tuple": {("$tuple",): []},
    "tuple body not a list": {"$tuple": 5},
    "list nested 5000 deep": _nested(5000),
    "a set": {1, 2},
    "an object": object(),
}


@pytest.mark.parametrize("data", list(HOSTILE_DATA.values()), ids=list(HOSTILE_DATA))
def test_decode_raises_nothing_but_wire_errors(data):
    _only_wire_errors(wire.decode, data, "decode")


HOSTILE_LINES = {
    "100k nested brackets": b"[" * 100_000 + b"]" * 100_000,
    "100k nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "5000-digit integer": b"1" * 5000,
    "invalid UTF-8": b'"\xff\xfe"',
    "lone surrogate escape": b'"\\ud800"',
    "a str": '{"a": 1}',
    "None": None,
    "a list of bytes": [b"1"],
    "a memoryview": memoryview(b"[1, 2]"),
    "too large": b" " * (policy.WIRE_MESSAGE_BYTES + 1),
}


@pytest.mark.parametrize("line", list(HOSTILE_LINES.values()), ids=list(HOSTILE_LINES))
def test_loads_raises_nothing_but_wire_errors(line):
    data = _only_wire_errors(wire.loads, line, "loads")
    _only_wire_errors(wire.decode, data, "decode")


class _Meta(type):
    def __eq__(cls, other):
        raise RuntimeError("metaclass __eq__ raised")

    def __hash__(cls):
        raise RuntimeError("metaclass __hash__ raised")

    @property
    def __name__(cls):
        raise RuntimeError("metaclass __name__ raised")


class _HostileType(metaclass=_Meta):
    pass


class _Liar:
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


class _LyingStr(str):
    def __str__(self):
        raise ValueError("__str__ raised")

    def split(self, *args):
        raise ValueError("split raised")


class _ItemsRaise(dict):
    def items(self):
        raise KeyError("items raised")


def _self_referencing_twice():
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
    "object of a hostile metaclass": lambda: _HostileType(),
    "object whose dunders raise or lie": lambda: _Liar(),
    "object whose repr exits": lambda: _Exits(),
    "str subclass whose str raises": lambda: _LyingStr("x"),
    "dict keyed by a hostile object": lambda: {_HostileType(): 1},
    "list holding itself twice": _self_referencing_twice,
    "list that grows while encoded": _grows_while_encoded,
    "dict that changes while encoded": _dict_mutated_while_encoded,
    "5000-digit int": lambda: 10**5000,
    "dict keyed by a 5000-digit int": lambda: {10**5000: 1},
    "longdouble array": lambda: np.zeros(3, dtype=np.longdouble),
    "object array": lambda: np.array([object()], dtype=object),
    "complex scalar": lambda: np.complex128(1j),
    "datetime scalar": lambda: np.datetime64("2024-01-01"),
    "ndarray subclass": lambda: np.ma.masked_array([1, 2]),
    "list nested 5000 deep": lambda: _nested(5000),
    "list of 3 million zeros": lambda: [0] * 3_000_000,
}


@pytest.mark.parametrize("make", list(HOSTILE_VALUES.values()), ids=list(HOSTILE_VALUES))
def test_encode_never_raises_and_what_it_makes_decodes(make):
    value = make()
    try:
        data = wire.encode(value)
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"input: encode({_brief(value)}); expected wire data; got {type(exc).__name__}: {_brief(exc)}")
    line = _only_wire_errors(wire.dumps, data, "dumps")
    assert line is not None, f"input: dumps(encode({_brief(value)})); expected a line; got WireError"
    try:
        wire.decode(wire.loads(line))
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(
            f"input: decode(loads(dumps(encode({_brief(value)})))); expected a value (what encode makes always "
            f"decodes); got {type(exc).__name__}: {_brief(exc)}"
        )


@pytest.mark.parametrize(
    "message",
    [object(), {"a": object()}, _self_referencing_twice(), {1j: 1}, _ItemsRaise(a=1), 10**5000, {"a": _Liar()}],
    ids=["object", "dict of object", "recursive list", "complex key", "dict whose items raise", "huge int", "liar"],
)
def test_dumps_raises_nothing_but_wire_errors(message):
    _only_wire_errors(wire.dumps, message, "dumps")


def test_short_and_safe_name_accept_anything():
    for value in (_Liar(), _LyingStr("a b"), _HostileType(), None, 10**5000, b"\xff"):
        for fn in (wire.short, wire.safe_name):
            try:
                got = fn(value)
            except BaseException as exc:  # noqa: BLE001
                pytest.fail(f"input: {fn.__name__}({_brief(value)}); expected a str; got {type(exc).__name__}")
            assert type(got) is str, f"input: {fn.__name__}({_brief(value)}); expected a str; got {type(got)}"


def test_short_of_a_huge_text_is_short():
    text = "word " * 2_000_000
    got = wire.short(text)
    assert got == ("word " * 60)[: policy.WIRE_TEXT_CHARS - 3] + "...", f"input: 2M words; got {got!r}"
    got = wire.short("  a \n b\t")
    assert got == "a b", f"input: '  a \\n b\\t'; expected 'a b'; got {got!r}"


# ---------------------------------------------------------------------------------------------
# 2. One Opaque class; nothing kept per name
# ---------------------------------------------------------------------------------------------
def test_an_opaque_value_keeps_its_type_name_and_text_but_equals_nothing():
    got = wire.decode({"$opaque": ["pandas.DataFrame", "   a\n  frame  "]})
    assert type(got) is wire.Opaque, f"input: an $opaque DataFrame; expected type Opaque; got {type(got).__name__}"
    assert got.type_name == "pandas.DataFrame", f"input: type name pandas.DataFrame; got {got.type_name!r}"
    assert repr(got) == "a frame", f"input: text '   a\\n  frame  '; expected repr 'a frame'; got {repr(got)!r}"
    for other in ("a frame", "pandas.DataFrame", 0, 0.0, 1, None, np.float64(0)):
        assert got != other and not (got == other), f"input: {got!r}; expected it unequal to {other!r}; it was equal"
    assert wire.Opaque("(a note)").type_name == "object", "Opaque(text) should default its type name to 'object'"
    again = wire.decode(wire.loads(wire.dumps(wire.encode(got))))
    assert (type(again), again.type_name, repr(again)) == (wire.Opaque, "pandas.DataFrame", "a frame"), (
        f"input: an Opaque sent on; expected the same type name and text; got {again.type_name!r}, {again!r}"
    )


def test_a_flood_of_opaque_type_names_leaves_nothing_behind():
    """200,000 distinct type names (in 200 messages of 1,000): no class per name, little memory."""
    bound = 64 * policy.MiB
    lines = [wire.dumps([{"$opaque": [f"pkg.T{b}_{i}", "x"]} for i in range(1000)]) for b in range(200)]
    gc.collect()
    before = _module_state()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for batch, line in enumerate(lines):
            values = wire.decode(wire.loads(line))
            assert values[-1].type_name == f"pkg.T{batch}_999", f"expected pkg.T{batch}_999; got {values[-1]!r}"
            del values
        gc.collect()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept, grew = (end - start) / policy.MiB, (peak - start) / policy.MiB
    assert end - start < bound and peak - start < bound, (
        f"input: 200,000 opaque type names; expected memory growth under {bound // policy.MiB} MiB; "
        f"got {kept:.1f} MiB kept, {grew:.1f} MiB at the peak"
    )
    classes = [
        c for c in gc.get_objects() if isinstance(c, type) and issubclass(c, wire.Opaque) and c is not wire.Opaque
    ]
    assert not classes, f"input: 200,000 opaque type names; expected no class per name; got {len(classes)} classes"
    assert _module_state() == before, f"expected the module's state unchanged; was {before}, got {_module_state()}"


# ---------------------------------------------------------------------------------------------
# 3. A budget of values per message; every limit read from the policy
# ---------------------------------------------------------------------------------------------
def test_the_old_limit_names_are_the_policys():
    pairs = {
        "MAX_MESSAGE_BYTES": policy.WIRE_MESSAGE_BYTES,
        "MAX_DEPTH": policy.WIRE_MAX_DEPTH,
        "MAX_ARRAY_ELEMENTS": policy.WIRE_ARRAY_ELEMENTS,
        "MAX_TEXT": policy.WIRE_TEXT_CHARS,
    }
    for name, expected in pairs.items():
        got = getattr(wire, name, None)
        assert got == expected, f"wire.{name}: expected the policy's {expected!r}; got {got!r}"
    assert wire.policy is policy, "the wire should read its limits from the policy module itself"


def _too_many(data, limit_name: str):
    with pytest.raises(wire.WireError) as caught:
        wire.decode(data)
        pytest.fail(f"input: {_brief(data, 80)}; expected WireError naming {limit_name}; got a value")
    assert limit_name in str(caught.value), (
        f"input: {_brief(data, 80)}; expected WireError naming {limit_name}; got {str(caught.value)!r}"
    )


def test_a_message_decodes_into_at_most_wire_max_values():
    limit = policy.WIRE_MAX_VALUES
    _too_many([0] * limit, "WIRE_MAX_VALUES")  # the list itself is one value more
    leaves = 0
    for _ in range(22):  # 4 million leaves, from 22 list objects that share their items
        leaves = [leaves, leaves]
    _too_many(leaves, "WIRE_MAX_VALUES")
    elements = policy.WIRE_ARRAY_ELEMENTS  # three arrays as large as allowed: more values than allowed
    array = {"$nd": ["<f8", [elements], [0.5] * elements]}
    _too_many([array, array, array], "WIRE_MAX_VALUES")
    text = "x" * policy.WIRE_MESSAGE_BYTES
    _too_many([text] * 3, "WIRE_MAX_VALUES")
    got = wire.decode([0] * (limit - 1))
    assert len(got) == limit - 1, f"input: {limit - 1:,} zeros in a list; expected them decoded; got {len(got):,}"


def test_what_counts_as_a_value(monkeypatch):
    """Each container, scalar, string (dict keys too) and array element is one value, and a string one more per
    8 characters: with 10 allowed, each input of ``fits`` holds exactly 10, each of ``too_many`` 11."""
    monkeypatch.setattr(wire.policy, "WIRE_MAX_VALUES", 10)
    fits = {
        "list of 9": [0] * 9,
        "tuple of 3 pairs": {"$tuple": [[1, 2], [3, 4], [5, 6]]},
        "array of 9": {"$nd": ["<i8", [3, 3], list(range(9))]},
        "dict of 2 entries + list of 5": {"$dict": [["a", 1], ["b", [1, 2, 3, 4, 5]]]},
        "string of 79 characters": "y" * 79,
        "opaque": {"$opaque": ["T", "x" * 63]},
    }
    for what, data in fits.items():
        got = _only_wire_errors(wire.decode, data, "decode")
        assert got is not None, f"input: {what} (10 values at most); expected it decoded; got WireError"
    too_many = {
        "list of 10": [0] * 10,
        "array of 10": {"$nd": ["<i8", [10], list(range(10))]},
        "string of 80 characters": "y" * 80,
        "dict of 3 entries + list of 4": {"$dict": [["a", 1], ["b", 2], ["c", [1, 2, 3, 4]]]},
        "scalars": [{"$np": ["<f8", 1.0]}] * 10,
    }
    for data in too_many.values():
        _too_many(data, "WIRE_MAX_VALUES")


def test_every_limit_is_read_from_the_policy(monkeypatch):
    monkeypatch.setattr(wire.policy, "WIRE_MAX_DEPTH", 3)
    _too_many(_nested(4), "WIRE_MAX_DEPTH")
    assert wire.decode(_nested(3)) == _nested(3), "input: 3 nested lists (3 allowed); expected them decoded"
    got = wire.decode(wire.encode(_nested(6)))
    assert type(got[0][0][0]) is wire.Opaque, (
        f"input: encode of 6 nested lists, 3 allowed; expected an Opaque at depth 3; got {got!r}"
    )
    monkeypatch.setattr(wire.policy, "WIRE_ARRAY_ELEMENTS", 4)
    _too_many({"$nd": ["<f8", [5], [0.0] * 5]}, "WIRE_ARRAY_ELEMENTS")
    assert type(wire.decode(wire.encode(np.zeros(5)))) is wire.Opaque, "encode should describe a too-large array"
    monkeypatch.setattr(wire.policy, "WIRE_MESSAGE_BYTES", 10)
    with pytest.raises(wire.WireError, match="WIRE_MESSAGE_BYTES"):
        wire.loads(b"[1,2,3,4,5,6]")
        pytest.fail("input: 13 bytes, 10 allowed; expected WireError naming WIRE_MESSAGE_BYTES; got a value")
    with pytest.raises(wire.WireError, match="WIRE_MESSAGE_BYTES"):
        wire.dumps([1, 2, 3, 4, 5, 6])
        pytest.fail("input: dumps of 13 bytes, 10 allowed; expected WireError naming WIRE_MESSAGE_BYTES; got a line")
    monkeypatch.setattr(wire.policy, "WIRE_TEXT_CHARS", 10)
    got = repr(wire.decode({"$opaque": ["T", "abcdefghijklmnop"]}))
    assert got == "abcdefg...", f"input: a 16-character opaque text, 10 kept; expected 'abcdefg...'; got {got!r}"


# ---------------------------------------------------------------------------------------------
# Property-based: hostile data decodes or raises WireError; valid values round-trip
# ---------------------------------------------------------------------------------------------
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
_deep = st.integers(min_value=20, max_value=3000).map(_nested)


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
    before = _module_state()
    _only_wire_errors(wire.decode, data, "decode")
    try:
        line = json.dumps(data, allow_nan=True).encode()
    except (ValueError, RecursionError):  # more digits than Python prints, or deeper than json goes
        line = None
    if line is not None:
        _only_wire_errors(lambda b: wire.decode(wire.loads(b)), line, "decode(loads())")
    after = _module_state()
    assert after == before, f"input: {_brief(data)}; expected the module's state unchanged ({before}); got {after}"


_json_pieces = st.sampled_from(
    [b"[", b"]", b"{", b"}", b'"', b"\\", b",", b":", b"1", b"-", b"e400", b"NaN", b"Infinity", b'"$nd"', b'"$np"']
    + [b'"$dict"', b'"$opaque"', b'"<i1"', b"true", b"null", b"\xff", b"\x00", b"\\ud800", b" ", b"9" * 30]
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.lists(_json_pieces, max_size=60).map(b"".join)))
def test_random_bytes_load_or_raise_wire_error(line):
    data = _only_wire_errors(wire.loads, line, "loads")
    _only_wire_errors(wire.decode, data, "decode")


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
    got = _through_the_wire(value)
    assert _same(got, value), f"input: {_brief(value)}; expected the same value and types back; got {_brief(got)}"


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


_SLOW = {"list holding itself twice", "list of 3 million zeros"}  # a second each: tested once above
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
    before = _module_state()
    try:
        got = _through_the_wire(value)
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"input: {_brief(value)}; expected a value back; got {type(exc).__name__}: {_brief(exc)}")
    if _depth(value) <= policy.WIRE_MAX_DEPTH:
        assert type(got) is type(value) or type(got) is wire.Opaque, (
            f"input: {_brief(value)}; expected a {_brief(type(value))} or an Opaque; got {_brief(type(got))}"
        )
    assert _module_state() == before, f"input: {_brief(value)}; expected the module's state unchanged"
