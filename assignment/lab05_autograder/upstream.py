"""What a dependent function should answer, given the student's own upstream function.

Ships in the autograder bundle only. Trusted scoring tests every function with the notebook's own
other functions in place: nothing of the reference ever reaches the student's code. A function
that builds on a wrong upstream one (``training_memory`` on ``parameter_count``,
``max_trainable_width`` and ``inference_memory`` on ``training_memory``, ``stall_depth`` on
``gradient_bound``) would then lose its points too, although its own code is right. So a
dependent's answer is also accepted when it is what the reference's algorithm gives with the
student's upstream function in place of the reference's, computed here, in the grading process:

* ``parameter_count``'s answers are read for the very networks ``training_memory`` is tested
  on (and graded there too), so a wrong count costs its own question once;
* for ``training_memory`` and ``gradient_bound``, whose dependents ask them about inputs no test
  grades (every width of a search, every depth up to a stall), the student's answers on their
  own graded cases are matched with a family of models (:data:`PARAMETER_MODELS`,
  :data:`STATE_MODELS`, ... : the mistakes the hidden tests name, in every combination), and the
  dependent is scored against the model that fits. A student function that no model fits (a stub,
  a mistake the tests cannot name, a fake that answers anything) gives its dependents no second
  chance: they are scored against the reference alone.

Every answer used here comes from a call the tests grade, asked once per submission (trusted
scoring replies to a repeated request with its first answer), so the notebook cannot answer the
dependent's question differently from its own test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lab05 import constants

#: Parts of a training-memory dict, in the order the total adds them.
PARTS = ("weights", "gradients", "optimizer", "activations")
#: How far the widths a search tries may go before a model counts as one that never runs out.
MAX_MODEL_WIDTH = 2**40
#: How deep a stall depth may be before a model counts as one that never stalls.
MAX_MODEL_DEPTH = 100_000


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _weights(sizes: Sequence[int]) -> int:
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


#: How a training-memory function may count parameters: right, and the mistakes the tests name.
PARAMETER_MODELS: tuple[Callable[[Sequence[int]], float], ...] = (
    lambda s: _weights(s) + sum(s[1:]),  # right: a bias per unit after the input
    _weights,  # biases missing
    lambda s: _weights(s) + sum(s[:-1]),  # biases on each layer's inputs
    lambda s: _weights(s) + sum(s),  # the input layer given biases too
    lambda s: s[0] * s[1] + s[1],  # the first layer only
)
#: Bytes per stored value: bytes_per_value, always 4 (FP32 hard-coded), or 1 (values, not bytes).
BYTE_MODELS: tuple[Callable[[float], float], ...] = (lambda bpv: bpv, lambda bpv: 4, lambda bpv: 1)
#: Optimizer state per parameter: right, Adam counted once, SGD given state, none, Adam's for all,
#: momentum given none.
STATE_MODELS: tuple[Mapping[str, int], ...] = (
    constants.OPTIMIZER_STATE_PER_PARAM,
    {"sgd": 0, "momentum": 1, "adam": 1},
    {"sgd": 1, "momentum": 1, "adam": 2},
    {"sgd": 0, "momentum": 0, "adam": 0},
    {"sgd": 2, "momentum": 2, "adam": 2},
    {"sgd": 0, "momentum": 0, "adam": 2},
)
#: Which layers keep activations: all (right), all but the input, all but the output.
ACTIVATION_MODELS: tuple[Callable[[Sequence[int]], int], ...] = (sum, lambda s: sum(s[1:]), lambda s: sum(s[:-1]))
#: The unit of the answer: bytes (right), KiB or MiB.
UNITS = (1, constants.BYTES_PER_KIB, constants.BYTES_PER_KIB**2)

Case = tuple  # (layer_sizes, batch_size, bytes_per_value, optimizer)
PartModel = Callable[[Sequence[int], int, float, str], float]


def _part_models(part: str) -> Iterable[PartModel]:
    if part in ("weights", "gradients"):
        for p in PARAMETER_MODELS:
            for b in BYTE_MODELS:
                for u in UNITS:
                    yield lambda s, batch, bpv, opt, p=p, b=b, u=u: p(s) * b(bpv) / u
    elif part == "optimizer":
        for state in STATE_MODELS:
            for p in PARAMETER_MODELS:
                for b in BYTE_MODELS:
                    for u in UNITS:
                        yield lambda s, batch, bpv, opt, st=state, p=p, b=b, u=u: st[opt] * p(s) * b(bpv) / u
    else:
        for a in ACTIVATION_MODELS:
            for per_batch in (True, False):
                for b in BYTE_MODELS:
                    for u in UNITS:
                        yield (
                            lambda s, batch, bpv, opt, a=a, pb=per_batch, b=b, u=u: (
                                a(s) * (batch if pb else 1) * b(bpv) / u
                            )
                        )
    yield lambda s, batch, bpv, opt: 0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fit_training_memory(answers: Iterable[tuple[Case, Any]]) -> dict[str, PartModel] | None:
    """The model of a student's ``training_memory`` that gives every one of its ``answers`` (case ->
    the dict it returned), as ``{part: model, ..., "total": model}``; None if no model does.

    Cases whose answer is not a dict of numbers are left out; with no usable case, None.
    """
    usable = []
    for case, got in answers:
        if isinstance(got, dict) and all(_number(got.get(k)) is not None for k in (*PARTS, "total")):
            usable.append((case, {k: float(got[k]) for k in (*PARTS, "total")}))
    if not usable:
        return None
    model: dict[str, PartModel] = {}
    for part in PARTS:
        fitted = next((m for m in _part_models(part) if all(_close(m(*case), got[part]) for case, got in usable)), None)
        if fitted is None:
            return None
        model[part] = fitted
    # The total: the student's own parts added up, all of them or all but one.
    for left_out in (None, *PARTS):
        kept = [p for p in PARTS if p != left_out]
        if all(_close(sum(got[p] for p in kept), got["total"]) for _, got in usable):
            model["total"] = lambda *case, kept=tuple(kept): sum(model[p](*case) for p in kept)
            return model
    return None


def memory_with_parameters(params: int, layers: Sequence[int], batch: int, bpv: float, opt: str) -> dict:
    """The reference's training-memory model with ``params`` parameters (the student's own count):
    what a right training_memory gives on the student's parameter_count."""
    memory = {
        "weights": params * bpv,
        "gradients": params * bpv,
        "optimizer": constants.OPTIMIZER_STATE_PER_PARAM[opt] * params * bpv,
        "activations": batch * sum(layers) * bpv,
    }
    memory["total"] = sum(memory.values())
    return memory


def model_inference_memory(model: Mapping[str, PartModel], layers, batch: int, bpv: float) -> float:
    """What the reference's inference_memory gives on ``model`` instead of its training_memory:
    the weights plus the activations of one batch."""
    return model["weights"](layers, batch, bpv, "sgd") + model["activations"](layers, batch, bpv, "sgd")


def model_max_width(model: Mapping[str, PartModel], budget: float, batch: int, bpv: float, opt: str) -> int | None:
    """What the reference's width search gives on ``model`` instead of its training_memory: the
    largest W >= 2 whose challenge network fits ``budget``, 0 if none does; None if the model never
    runs out (every width fits)."""

    def fits(width: int) -> bool:
        return model["total"](constants.challenge_layer_sizes(width), batch, bpv, opt) <= budget

    if not fits(2):
        return 0
    low, high = 2, 4
    while fits(high):
        low, high = high, high * 2
        if high > MAX_MODEL_WIDTH:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


#: How a gradient bound may be computed: right, one layer short or too many, max_derivative
#: ignored, factors added instead of multiplied.
BOUND_MODELS: tuple[Callable[[int, float], float], ...] = (
    lambda d, md: md**d,
    lambda d, md: md ** (d - 1),
    lambda d, md: md ** (d + 1),
    lambda d, md: 0.25**d,
    lambda d, md: md * d,
)


def fit_gradient_bound(answers: Iterable[tuple[tuple[int, float], Any]]) -> Callable[[int, float], float] | None:
    """The model of a student's ``gradient_bound`` that gives every one of its ``answers`` ((depth,
    max_derivative) -> the number it returned); None if no model does."""
    usable = [(case, _number(got)) for case, got in answers]
    usable = [(case, got) for case, got in usable if got is not None]
    if not usable:
        return None
    for bound in BOUND_MODELS:
        try:
            if all(math.isclose(bound(*case), got, rel_tol=1e-9, abs_tol=0) for case, got in usable):
                return bound
        except (OverflowError, ZeroDivisionError):
            continue
    return None


def model_stall_depth(bound: Callable[[int, float], float], threshold: float, md: float) -> int | None:
    """What the reference's stall search gives on ``bound`` instead of its gradient_bound: the first
    depth >= 1 whose bound is strictly below ``threshold``; None if there is none."""
    for depth in range(1, MAX_MODEL_DEPTH):
        try:
            if bound(depth, md) < threshold:
                return depth
        except (OverflowError, ZeroDivisionError):
            return None
    return None
