"""The wire format between the grader and the process that runs a student's code.

Trusted scoring runs the student's notebook again in a separate, confined process (the probe)
and talks to it in newline-delimited JSON. Everything that crosses this boundary is data: no
pickles, no objects, only JSON values with a few tagged shapes, each decoded with exact types:

    ``{"$nd": [dtype, shape, flat values]}``   a NumPy array of booleans or numbers
    ``{"$np": [dtype, value]}``                a NumPy scalar of those kinds
    ``{"$tuple": [...]}``                      a tuple
    ``{"$dict": [[key, value], ...]}``         a dict (keys: str, int, float, bool or None)
    ``{"$opaque": [type name, short repr]}``   anything else, kept only to be named in messages

The probe decides what it sends; the grader decides what it believes. So the decoder accepts
nothing it cannot rebuild from plain JSON, caps sizes and depth, and turns every value into a
built-in (or NumPy) type: an answer that claims to be a string is a real ``str``.

Whatever it is given, :func:`loads` and :func:`decode` raise only :class:`WireError`, and so do
:func:`dumps` and :func:`encode` (which describes what it cannot send instead of raising). The
limits are :mod:`lab05_autograder.policy`'s, read when used: a message of at most ``WIRE_MESSAGE_BYTES``
bytes, nested at most ``WIRE_MAX_DEPTH`` deep, arrays of at most ``WIRE_ARRAY_ELEMENTS``
elements, and at most ``WIRE_MAX_VALUES`` values in all. Values are counted so (see
:func:`_text_cost`): each list, tuple, dict, array, NumPy scalar, opaque stand-in, number, bool
and None is one; each array element is one; a string (a dict key or an opaque text too) is one
plus one per ``TEXT_CHARS_PER_VALUE`` characters, about the memory of one number. Nothing this
module keeps grows with what it decodes.

This module holds no reference value: it is shipped to the probe (with :mod:`lab05_autograder.policy`).
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from . import policy

#: Largest message either side accepts, in bytes of JSON text (an alias of the policy's limit).
MAX_MESSAGE_BYTES = policy.WIRE_MESSAGE_BYTES
#: Deepest nesting of lists, tuples and dicts in one value.
MAX_DEPTH = policy.WIRE_MAX_DEPTH
#: Most elements in one array.
MAX_ARRAY_ELEMENTS = policy.WIRE_ARRAY_ELEMENTS
#: Longest text kept from a repr or an exception message.
MAX_TEXT = policy.WIRE_TEXT_CHARS
#: NumPy dtype kinds that cross the wire: booleans, signed and unsigned integers, floats.
ARRAY_KINDS = "biuf"
#: A string counts as one value plus one per this many characters (see the module's docstring).
TEXT_CHARS_PER_VALUE = 8

#: The dtypes that cross the wire (a byte order, then bool, int, unsigned or float of a NumPy size).
_DTYPE = re.compile(r"[<>|=]?(?:b1|[iu][1248]|f[248])")
_WORD = re.compile(r"\S+")
_NAME_PART = re.compile(r"[A-Za-z0-9_.]+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.]")
_TYPE_NAME = type.__dict__["__name__"]  # a class's own name, whatever its metaclass claims
# Identities of the built-in types that array values may have (compared as ids: never hashing a type).
_BOOLS = frozenset({id(bool)})
_INTS = frozenset({id(int), id(bool)})
_NUMBERS = frozenset({id(int), id(float), id(bool)})
_SCALARS = frozenset({id(int), id(float), id(bool), id(type(None))})
_TAGS = frozenset({"$nd", "$np", "$tuple", "$dict", "$opaque"})


class WireError(ValueError):
    """A message that is not valid on the wire; the text says what was wrong."""


def _as_text(text: Any) -> str:
    """``str(text)`` as an exact ``str``, or a placeholder when converting it fails."""
    if type(text) is str:
        return text
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 - a value whose str raises is still described
        return "(no text)"
    return text if type(text) is str else "".join([text])


def short(text: Any, limit: int | None = None) -> str:
    """``text`` as one line of at most ``limit`` characters (``WIRE_TEXT_CHARS`` by default)."""
    if limit is None:
        limit = policy.WIRE_TEXT_CHARS
    text = _as_text(text)
    if len(text) <= 4 * limit + 64:
        text = " ".join(text.split())
    else:  # only the words shown are read: a huge text costs no more than a short one
        words: list[str] = []
        size = -1
        for match in _WORD.finditer(text):
            words.append(match.group())
            size += 1 + len(words[-1])
            if size > limit:
                break
        text = " ".join(words)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_name(text: Any, limit: int = 60) -> str:
    """A type or exception name reduced to identifier characters (it is shown in messages)."""
    text = _as_text(text)
    if len(text) <= 4 * limit + 64:
        return _NOT_NAME.sub("", text)[:limit] or "object"
    parts: list[str] = []  # only the characters kept are read, as in short()
    size = 0
    for match in _NAME_PART.finditer(text):
        parts.append(match.group())
        size += len(parts[-1])
        if size >= limit:
            break
    return "".join(parts)[:limit] or "object"


def _type_name(kind: type) -> str:
    """The name of a class, read without running any of its (or its metaclass's) code."""
    try:
        return safe_name(_TYPE_NAME.__get__(kind))
    except Exception:  # noqa: BLE001 - not a class after all
        return "object"


def _text_cost(text: str) -> int:
    """Values a string counts for in a message's budget: one, plus one per TEXT_CHARS_PER_VALUE characters."""
    return 1 + len(text) // TEXT_CHARS_PER_VALUE


class _Budget:
    """The values one message may still hold (``WIRE_MAX_VALUES`` at first), and, while encoding,
    the ids of the containers being encoded (to describe a container that holds itself)."""

    __slots__ = ("left", "open")

    def __init__(self) -> None:
        self.left = policy.WIRE_MAX_VALUES
        self.open: set[int] = set()

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise WireError(f"a message of more values than the {policy.WIRE_MAX_VALUES:,} allowed (WIRE_MAX_VALUES)")


def _numpy():
    try:
        import numpy
    except ImportError:  # pragma: no cover - NumPy is always there in this lab
        return None
    return numpy


def _numpy_scalar_types(np) -> tuple:
    """NumPy's scalar classes of the kinds that cross the wire (``np.longlong`` as well as ``np.int64``)."""
    return tuple(np.dtype(code).type for code in "?bBhHiIlLqQefd")


def _int_fits(value: int) -> bool:
    """Whether ``value`` has few enough digits for JSON text (Python's limit on int-to-str conversion)."""
    digits = sys.get_int_max_str_digits() or sys.int_info.default_max_str_digits
    return value.bit_length() * 0.30103 < digits - 1


# ---------------------------------------------------------------------------------------------
# Encoding (used on both sides)
# ---------------------------------------------------------------------------------------------
class _TooDeep(Exception):
    """Raised inside the encoder to describe a value that is nested too deeply."""


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data; anything unknown becomes an ``$opaque`` description.

    Never raises: a value too large for ``WIRE_MAX_VALUES`` or too deeply nested is described as
    a whole, and what encode returns always decodes.
    """
    budget = _Budget()
    try:
        return _encode(value, depth, budget)
    except WireError:
        text = f"(too large to send: more than {policy.WIRE_MAX_VALUES:,} values)"
    except (_TooDeep, RecursionError):
        text = "(nested too deeply)"
    except Exception:  # noqa: BLE001 - whatever went wrong, the value is described, not sent
        text = "(could not be described)"
    return {"$opaque": [_type_name(type(value)), text]}


def _opaque_data(type_name: str, text: str, budget: _Budget) -> dict:
    budget.take(1 + _text_cost(type_name) + _text_cost(text))
    return {"$opaque": [type_name, text]}


def _encode(value: Any, depth: int, budget: _Budget) -> Any:
    if depth > policy.WIRE_MAX_DEPTH:
        raise _TooDeep
    kind = type(value)  # compared by identity only: a class's __eq__ and __hash__ are its own code
    if value is None or kind is bool or kind is float:
        budget.take(1)
        return value
    if kind is int:
        if not _int_fits(value):
            return _opaque_data("int", f"(an integer of {value.bit_length():,} bits)", budget)
        budget.take(1)
        return value
    if kind is str:
        budget.take(_text_cost(value))
        return value
    if kind is list or kind is tuple or kind is dict:
        if value and depth >= policy.WIRE_MAX_DEPTH:  # its items would be too deep to decode
            return _opaque_data(kind.__name__, "(nested too deeply)", budget)
        if id(value) in budget.open:
            return _opaque_data(kind.__name__, f"(a {kind.__name__} that contains itself)", budget)
        if len(value) > budget.left:
            raise WireError("too many values")
        budget.take(1)
        budget.open.add(id(value))
        try:
            return _container(value, kind, depth, budget)
        finally:
            budget.open.discard(id(value))
    if kind is Opaque:
        return _opaque_data(value.type_name, value._text, budget)
    np = _numpy()
    if np is not None:
        if kind is np.ndarray:
            if value.dtype.kind in ARRAY_KINDS and _DTYPE.fullmatch(value.dtype.str):
                if value.size > policy.WIRE_ARRAY_ELEMENTS:
                    text = f"(an array of {value.size:,} elements, more than the {policy.WIRE_ARRAY_ELEMENTS:,} sent)"
                    return _opaque_data("ndarray", text, budget)
                budget.take(1 + value.size)
                return {"$nd": [value.dtype.str, list(value.shape), value.ravel().tolist()]}
        elif any(kind is t for t in _numpy_scalar_types(np)) and _DTYPE.fullmatch(value.dtype.str):
            budget.take(1)
            return {"$np": [value.dtype.str, value.item()]}
    return _opaque_data(_type_name(kind), _repr(value), budget)


def _container(value: list | tuple | dict, kind: type, depth: int, budget: _Budget) -> Any:
    if kind is list:
        return [_encode(v, depth + 1, budget) for v in list(value)]  # a copy: a repr may change the list
    if kind is tuple:
        return {"$tuple": [_encode(v, depth + 1, budget) for v in value]}
    items = []
    for k, v in list(value.items()):  # a copy, as for a list
        key_kind = type(k)
        if not (k is None or key_kind is str or key_kind is float or key_kind is bool or key_kind is int):
            return _opaque_data("dict", _repr(value), budget)
        if key_kind is int and not _int_fits(k):
            return _opaque_data("dict", _repr(value), budget)
        budget.take(_text_cost(k) if key_kind is str else 1)
        items.append([k, _encode(v, depth + 1, budget)])
    return {"$dict": items}


def _repr(value: Any) -> str:
    try:
        return short(repr(value))
    except BaseException:  # noqa: BLE001 - a repr that raises is still described
        return "(no repr)"


def _unsendable(value: Any):
    raise WireError(f"a {_type_name(type(value))} is not wire data (encode it first)")


def dumps(message: Any) -> bytes:
    """One line of JSON (NaN and infinities allowed) for the wire; raises WireError."""
    try:
        text = json.dumps(message, allow_nan=True, separators=(",", ":"), default=_unsendable)
    except WireError:
        raise
    except RecursionError:
        raise WireError("a message nested too deeply for JSON") from None
    except Exception as exc:  # noqa: BLE001 - TypeError, ValueError (circular, too many digits), MemoryError...
        raise WireError(f"a message that is not JSON data ({_type_name(type(exc))}: {short(exc, 120)})") from None
    data = text.encode("utf-8") + b"\n"  # ASCII: json.dumps escapes the rest
    if len(data) > policy.WIRE_MESSAGE_BYTES:
        raise WireError(
            f"message of {len(data):,} bytes is larger than the {policy.WIRE_MESSAGE_BYTES:,} allowed (WIRE_MESSAGE_BYTES)"
        )
    return data


# ---------------------------------------------------------------------------------------------
# Decoding (the grader's side decides what a value is)
# ---------------------------------------------------------------------------------------------
class Opaque:
    """A value the probe could not send as data: only its type name and a short repr are known.

    One class for every type name (the name is an attribute, not a class: nothing is created or
    kept per name). It equals only itself, so it never passes for an answer.
    """

    __slots__ = ("type_name", "_text")

    def __init__(self, text: Any, type_name: Any = "object"):
        self._text = short(text)
        self.type_name = safe_name(type_name)

    def __repr__(self) -> str:
        return self._text


def loads(line: Any) -> Any:
    """Parse one line of the wire into plain JSON data (tags not yet decoded); raises WireError."""
    kind = type(line)
    if kind is not bytes and kind is not bytearray and kind is not memoryview:
        raise WireError(f"a message that is {_type_name(kind)}, not bytes")
    try:
        size = line.nbytes if kind is memoryview else len(line)
        if size > policy.WIRE_MESSAGE_BYTES:
            raise WireError(
                f"message of {size:,} bytes is larger than the {policy.WIRE_MESSAGE_BYTES:,} allowed (WIRE_MESSAGE_BYTES)"
            )
        return json.loads(bytes(line).decode("utf-8"))
    except WireError:
        raise
    except RecursionError:
        raise WireError("a message nested too deeply for JSON") from None
    except MemoryError:
        raise WireError("a message too large to parse") from None
    except Exception as exc:  # noqa: BLE001 - UnicodeDecodeError, JSONDecodeError, too many digits...
        raise WireError(f"not a JSON message ({short(exc, 120)})") from None


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild a value from its wire form, with exact built-in types; raises WireError only."""
    try:
        return _decode(data, depth, _Budget())
    except WireError:
        raise
    except RecursionError:
        raise WireError(f"value nested more than {policy.WIRE_MAX_DEPTH} deep (WIRE_MAX_DEPTH)") from None
    except MemoryError:
        raise WireError("a value too large to rebuild") from None
    except Exception as exc:  # noqa: BLE001 - a safety net: every case known is refused above with its reason
        raise WireError(f"a value that could not be rebuilt ({_type_name(type(exc))})") from None


def _brief(value: Any) -> str:
    """A description of untrusted wire data for an error message (never its whole repr)."""
    return repr(short(value, 40)) if type(value) is str else f"a value of type {_type_name(type(value))}"


def _decode(data: Any, depth: int, budget: _Budget) -> Any:
    if depth > policy.WIRE_MAX_DEPTH:
        raise WireError(f"value nested more than {policy.WIRE_MAX_DEPTH} deep (WIRE_MAX_DEPTH)")
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is float:
        budget.take(1)
        return data
    if kind is str:
        budget.take(_text_cost(data))
        return data
    if kind is list:
        budget.take(1)
        if depth < policy.WIRE_MAX_DEPTH and set(map(id, map(type, data))) <= _SCALARS:
            budget.take(len(data))  # numbers, bools and None only (or nothing): each is one value, as it is
            return list(data)
        return [_decode(v, depth + 1, budget) for v in data]
    if kind is not dict or len(data) != 1:
        raise WireError(f"unexpected {_type_name(kind)} on the wire")
    ((tag, body),) = data.items()
    if type(tag) is not str or tag not in _TAGS:
        raise WireError(f"unknown tag {_brief(tag)}")
    if type(body) is not list:
        raise WireError(f"the body of the tag {_brief(tag)} is not a list but {_brief(body)}")
    if tag == "$tuple":
        budget.take(1)
        return tuple([_decode(v, depth + 1, budget) for v in body])
    if tag == "$dict":
        return _dict(body, depth, budget)
    if tag == "$nd" and len(body) == 3:
        return _array(body[0], body[1], body[2], budget)
    if tag == "$np" and len(body) == 2:
        budget.take(1)
        return _numbers(body[0], [body[1]], "a NumPy scalar")[0]
    if tag == "$opaque" and len(body) == 2:
        type_name, text = body
        if type(type_name) is not str or type(text) is not str:
            raise WireError("an opaque value whose type name or text is not a string")
        budget.take(1 + _text_cost(type_name) + _text_cost(text))
        return Opaque(text, type_name)
    expected = 3 if tag == "$nd" else 2
    raise WireError(f"the tag {_brief(tag)} with {len(body)} items in its body, not {expected}")


def _dict(body: list, depth: int, budget: _Budget) -> dict:
    budget.take(1)
    out: dict = {}
    for pair in body:
        if type(pair) is not list or len(pair) != 2:
            raise WireError("a dict entry is not a [key, value] pair")
        key, value = pair
        key_kind = type(key)
        if key_kind is str:
            budget.take(_text_cost(key))
        elif key is None or key_kind is int or key_kind is float or key_kind is bool:
            budget.take(1)
        else:
            raise WireError(f"a dict key of type {_type_name(key_kind)}")
        if key in out:  # exact built-ins: hashing and comparing them runs no foreign code
            raise WireError(f"a dict key that repeats ({_brief(key)})")
        out[key] = _decode(value, depth + 1, budget)
    return out


def _dtype(text: Any):
    if type(text) is not str or not _DTYPE.fullmatch(text):
        raise WireError(f"unsupported array type {_brief(text)}")
    return _numpy().dtype(text)


def _numbers(dtype_text: Any, values: list, what: str):
    """``values`` (a list from the wire) as a 1-d array of the dtype, each checked to fit it exactly."""
    np = _numpy()
    dtype = _dtype(dtype_text)
    kinds = set(map(id, map(type, values)))
    if dtype.kind == "b":
        allowed = _BOOLS
    elif dtype.kind in "iu":
        allowed = _INTS
    else:
        allowed = _NUMBERS
    if not kinds <= allowed:
        expected = "booleans" if allowed is _BOOLS else "integers" if allowed is _INTS else "numbers"
        raise WireError(f"{what} of type {dtype} with values that are not all {expected}")
    if not values:
        return np.zeros(0, dtype=dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = min(values), max(values)
        if low < int(info.min) or high > int(info.max):
            raise WireError(f"{what} with values out of the range of {dtype}")
        return np.array(values, dtype=dtype)
    if dtype.kind == "f":
        try:
            wide = np.array(values, dtype=np.float64)
        except OverflowError:
            raise WireError(f"{what} with an integer too large for {dtype}") from None
        if dtype.itemsize < 8:
            finite = np.abs(wide[np.isfinite(wide)])
            if finite.size and finite.max() > np.finfo(dtype).max:
                raise WireError(f"{what} with values too large for {dtype}")
        return wide.astype(dtype, copy=False)
    return np.array(values, dtype=dtype)


def _array(dtype_text: Any, shape: Any, values: Any, budget: _Budget):
    limit = policy.WIRE_ARRAY_ELEMENTS
    if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("an array shape that is not a list of sizes")  # (exact ints: no bools)
    if any(n > limit for n in shape):  # (the product of huge sizes is not worth computing)
        raise WireError(f"an array dimension larger than the {limit:,} elements allowed (WIRE_ARRAY_ELEMENTS)")
    count = math.prod(shape)
    if count > limit:
        raise WireError(f"an array of {count:,} elements is larger than the {limit:,} allowed (WIRE_ARRAY_ELEMENTS)")
    if type(values) is not list or len(values) != count:
        raise WireError("array values that do not match the shape")
    budget.take(1 + count)
    return _numbers(dtype_text, values, "an array").reshape(shape)
