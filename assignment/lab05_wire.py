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

This module holds no reference value: it is shipped to the probe.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Largest message either side accepts, in bytes of JSON text.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Deepest nesting of lists, tuples and dicts in one value.
MAX_DEPTH = 24
#: Most elements in one array.
MAX_ARRAY_ELEMENTS = 1_000_000
#: Longest text kept from a repr or an exception message.
MAX_TEXT = 300
#: NumPy dtype kinds that cross the wire: booleans, signed and unsigned integers, floats.
ARRAY_KINDS = "biuf"


class WireError(ValueError):
    """A message that is not valid on the wire; the text says what was wrong."""


def short(text: Any, limit: int = MAX_TEXT) -> str:
    """``text`` as one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_name(text: Any, limit: int = 60) -> str:
    """A type or exception name reduced to identifier characters (it is shown in messages)."""
    name = re.sub(r"[^A-Za-z0-9_.]", "", str(text))[:limit]
    return name or "object"


# ---------------------------------------------------------------------------------------------
# Encoding (used on both sides)
# ---------------------------------------------------------------------------------------------
def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data; anything unknown becomes an ``$opaque`` description."""
    if depth > MAX_DEPTH:
        return {"$opaque": ["object", "(nested too deeply)"]}
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"$tuple": [encode(v, depth + 1) for v in value]}
    if kind is dict:
        items = []
        for k, v in value.items():
            if type(k) not in (str, int, float, bool) and k is not None:
                return {"$opaque": ["dict", _repr(value)]}
            items.append([k, encode(v, depth + 1)])
        return {"$dict": items}
    np = _numpy()
    if np is not None:
        if kind is np.ndarray and value.dtype.kind in ARRAY_KINDS and value.size <= MAX_ARRAY_ELEMENTS:
            return {"$nd": [value.dtype.str, list(value.shape), value.ravel().tolist()]}
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in ARRAY_KINDS:
            return {"$np": [value.dtype.str, value.item()]}
    return {"$opaque": [safe_name(getattr(kind, "__name__", "object")), _repr(value)]}


def _repr(value: Any) -> str:
    try:
        return short(repr(value))
    except BaseException:  # noqa: BLE001 - a repr that raises is still described
        return "(no repr)"


def _numpy():
    try:
        import numpy
    except ImportError:  # pragma: no cover - NumPy is always there in this lab
        return None
    return numpy


def dumps(message: Any) -> bytes:
    """One line of JSON (NaN and infinities allowed) for the wire."""
    data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8") + b"\n"
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data):,} bytes is larger than the {MAX_MESSAGE_BYTES:,} allowed")
    return data


# ---------------------------------------------------------------------------------------------
# Decoding (the grader's side decides what a value is)
# ---------------------------------------------------------------------------------------------
class Opaque:
    """A value the probe could not send as data: only its type name and a short repr are known."""

    type_name = "object"

    def __init__(self, text: str):
        self._text = short(text)

    def __repr__(self) -> str:
        return self._text


_OPAQUE_TYPES: dict[str, type] = {}


def _opaque(type_name: str, text: str) -> Opaque:
    name = safe_name(type_name)
    cls = _OPAQUE_TYPES.get(name)
    if cls is None:
        cls = _OPAQUE_TYPES[name] = type(name.split(".")[-1] or "object", (Opaque,), {"type_name": name})
    return cls(text)


def loads(line: bytes) -> Any:
    """Parse one line of the wire into plain JSON data (tags not yet decoded)."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(line):,} bytes is larger than the {MAX_MESSAGE_BYTES:,} allowed")
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"not a JSON message ({short(exc, 120)})") from None


def decode(data: Any, depth: int = 0) -> Any:
    """Rebuild a value from its wire form, with exact built-in types; raises WireError."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise WireError(f"unexpected {kind.__name__} on the wire")
    ((tag, body),) = data.items()
    if tag == "$tuple" and type(body) is list:
        return tuple(decode(v, depth + 1) for v in body)
    if tag == "$dict" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a dict entry is not a [key, value] pair")
            key = pair[0]
            if key is not None and type(key) not in (str, int, float, bool):
                raise WireError(f"a dict key of type {type(key).__name__}")
            out[key] = decode(pair[1], depth + 1)
        return out
    if tag == "$nd" and type(body) is list and len(body) == 3:
        return _array(*body)
    if tag == "$np" and type(body) is list and len(body) == 2:
        np = _numpy()
        dtype = _dtype(body[0])
        if type(body[1]) not in (bool, int, float):
            raise WireError("a NumPy scalar whose value is not a number")
        return np.array(body[1], dtype=dtype)[()]
    if tag == "$opaque" and type(body) is list and len(body) == 2:
        return _opaque(str(body[0]), str(body[1]))
    raise WireError(f"unknown tag {short(tag, 40)!r}")


def _dtype(text: Any):
    np = _numpy()
    if type(text) is not str or not re.fullmatch(r"[<>|=]?[biuf][1248]", text):
        raise WireError(f"unsupported array type {short(text, 40)!r}")
    return np.dtype(text)


def _array(dtype: Any, shape: Any, values: Any):
    np = _numpy()
    dtype = _dtype(dtype)
    if type(shape) is not list or not all(type(n) is int and 0 <= n for n in shape) or len(shape) > 32:
        raise WireError("an array shape that is not a list of sizes")
    count = math.prod(shape)
    if count > MAX_ARRAY_ELEMENTS:
        raise WireError(f"an array of {count:,} elements is larger than the {MAX_ARRAY_ELEMENTS:,} allowed")
    if type(values) is not list or len(values) != count or not all(type(v) in (bool, int, float) for v in values):
        raise WireError("array values that do not match the shape")
    try:
        return np.array(values, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise WireError(f"array values that do not fit {dtype} ({short(exc, 80)})") from None
