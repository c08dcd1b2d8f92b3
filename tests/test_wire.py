"""The wire format (``lab05_autograder.wire``) against a probe that chooses every byte it sends.

The probe runs the student's code, so whatever it sends is hostile until decoded: ``loads`` and
``decode`` raise nothing but ``WireError`` for any input; ``encode`` and ``dumps`` raise nothing
but ``WireError`` for any Python value (and ``encode`` nothing at all); a message decodes into at
most ``WIRE_MAX_VALUES`` values; and nothing the module keeps grows with what the probe sends.
The property-based tests are in tests/test_wire_properties.py; the inputs both use are in tests/wire_inputs.py.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest
from lab05_autograder import policy, wire
from wire_inputs import (
    HOSTILE_VALUES,
    HostileType,
    ItemsRaise,
    Liar,
    LyingStr,
    brief,
    module_state,
    nested,
    only_wire_errors,
    self_referencing_twice,
)


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
    "opaque of a deeply nested list": {"$opaque": [nested(5000), "x"]},
    "opaque of numbers": {"$opaque": [1, 2]},
    "tag whose __eq__ raises": {_RaisingEq(): []},
    "tag that is a tuple": {("$tuple",): []},
    "tuple body not a list": {"$tuple": 5},
    "list nested 5000 deep": nested(5000),
    "a set": {1, 2},
    "an object": object(),
}


@pytest.mark.parametrize("data", list(HOSTILE_DATA.values()), ids=list(HOSTILE_DATA))
def test_decode_raises_nothing_but_wire_errors(data):
    only_wire_errors(wire.decode, data, "decode")


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
    data = only_wire_errors(wire.loads, line, "loads")
    only_wire_errors(wire.decode, data, "decode")


@pytest.mark.parametrize("make", list(HOSTILE_VALUES.values()), ids=list(HOSTILE_VALUES))
def test_encode_never_raises_and_what_it_makes_decodes(make):
    value = make()
    try:
        data = wire.encode(value)
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(f"input: encode({brief(value)}); expected wire data; got {type(exc).__name__}: {brief(exc)}")
    line = only_wire_errors(wire.dumps, data, "dumps")
    assert line is not None, f"input: dumps(encode({brief(value)})); expected a line; got WireError"
    try:
        wire.decode(wire.loads(line))
    except BaseException as exc:  # noqa: BLE001
        pytest.fail(
            f"input: decode(loads(dumps(encode({brief(value)})))); expected a value (what encode makes always "
            f"decodes); got {type(exc).__name__}: {brief(exc)}"
        )


@pytest.mark.parametrize(
    "message",
    [object(), {"a": object()}, self_referencing_twice(), {1j: 1}, ItemsRaise(a=1), 10**5000, {"a": Liar()}],
    ids=["object", "dict of object", "recursive list", "complex key", "dict whose items raise", "huge int", "liar"],
)
def test_dumps_raises_nothing_but_wire_errors(message):
    only_wire_errors(wire.dumps, message, "dumps")


def test_short_and_safe_name_accept_anything():
    for value in (Liar(), LyingStr("a b"), HostileType(), None, 10**5000, b"\xff"):
        for fn in (wire.short, wire.safe_name):
            try:
                got = fn(value)
            except BaseException as exc:  # noqa: BLE001
                pytest.fail(f"input: {fn.__name__}({brief(value)}); expected a str; got {type(exc).__name__}")
            assert type(got) is str, f"input: {fn.__name__}({brief(value)}); expected a str; got {type(got)}"


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
    before = module_state()
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
    assert module_state() == before, f"expected the module's state unchanged; was {before}, got {module_state()}"


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
        pytest.fail(f"input: {brief(data, 80)}; expected WireError naming {limit_name}; got a value")
    assert limit_name in str(caught.value), (
        f"input: {brief(data, 80)}; expected WireError naming {limit_name}; got {str(caught.value)!r}"
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
        got = only_wire_errors(wire.decode, data, "decode")
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
    _too_many(nested(4), "WIRE_MAX_DEPTH")
    assert wire.decode(nested(3)) == nested(3), "input: 3 nested lists (3 allowed); expected them decoded"
    got = wire.decode(wire.encode(nested(6)))
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
