"""Hidden tests of Lab 05: each student function against the reference implementation.

Ships in the autograder bundle only. Each ``check_*`` function is one hidden test case. The
cases are the chapter's, edge cases (batch 1, FP16, every optimizer, thresholds that are exact
powers, budgets at and around the wall) and seeded random inputs, the same for every student.

Principles:
    * One mistake costs points once, in the question that owns it: while one function is
      tested, the other graded functions it may call are replaced by the reference ones, and
      answers computed from earlier functions (the batch-doubling ratio, the ledger) are
      accepted when they agree with the reference or with the student's own functions.
    * A failure message names the call, what came back and which behaviour was wrong, never
      the reference value of a hidden case.
"""

from __future__ import annotations

import contextlib
import math
import pathlib
from collections.abc import MutableMapping
from typing import Any, Callable, Iterable, Mapping

import numpy as np

import lab05_checks as checks
import lab05_helpers as helpers
import lab05_reference as ref
from lab05_checks import call, describe_call, expect_memory_dict, expect_number, expect_whole, fail, show

SEED = 5
#: Graded functions: while one is tested, the others are the reference's.
GRADED_FUNCTIONS = (
    "transistor_tax", "extra_transistors", "sigmoid_derivative", "gradient_bound", "stall_depth",
    "parameter_count", "layer_macs", "training_memory", "inference_memory", "max_trainable_width",
)
ANSWERS = {
    "act1_reflection_reason": "A",
    "act1_failure_mode": "silent",
    "act2_reflection": "B",
    "deployment_answer": "B",
}
#: Answers chosen from options: the checks read them with case and spaces ignored.
CHOICES = (*ANSWERS, "act1_prediction", "activation_choice")
MAX_REPORTED = 3


# ---------------------------------------------------------------------------------------------
# Machinery
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def isolated(env: dict, *under_test: str):
    """Replace every graded function except ``under_test`` by the reference one, then restore."""
    saved = {}
    for name in GRADED_FUNCTIONS:
        if name not in under_test and isinstance(env, MutableMapping):
            saved[name] = env.get(name, _MISSING)
            env[name] = getattr(ref, name)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                env.pop(name, None)
            else:
                env[name] = value


_MISSING = object()


def close(got: float, expected: float, rel: float = 1e-9, abs_tol: float = 1e-12) -> bool:
    return math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol)


class Failures:
    """Collects failed behaviours of one test and reports the first few together."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    def check(self, fn: Callable[[], None]) -> None:
        """Run one sub-check; a failure is recorded and the test goes on."""
        try:
            fn()
        except checks.CallBroken:
            raise  # the same for every case: report it once, at once
        except checks.CheckFailed as exc:
            self.add(str(exc))

    def raise_if_any(self) -> None:
        if self.lines:
            more = len(self.lines) - MAX_REPORTED
            text = "\n- ".join(self.lines[:MAX_REPORTED])
            suffix = f"\n(and {more} more case{'s' if more > 1 else ''} like these)" if more > 0 else ""
            fail("- " + text + suffix)


def diagnose(got: float, expected: float, alternatives: Iterable[tuple[float, str]], default: str) -> str:
    """The first explanation whose wrong value matches ``got``; ``default`` if none does."""
    for wrong, why in alternatives:
        if wrong is not None and close(got, wrong) and not close(wrong, expected):
            return why
    return default


def array_call(env: dict, name: str, values: np.ndarray):
    """Call ``name`` on an array; a failure says the function must work elementwise on arrays."""
    try:
        return call(env, name, values.copy())
    except checks.CallBroken:
        raise
    except checks.CheckFailed as exc:
        fail(f"{str(exc).rstrip('.')}. For an array it should work elementwise: use NumPy functions (np.exp, np.abs, "
             "np.power, np.where) rather than math functions and if statements, which take one number.")


def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def random_layers(gen: np.random.Generator, count: int) -> list[list[int]]:
    layers = []
    for _ in range(count):
        depth = int(gen.integers(2, 7))
        layers.append([int(w) for w in gen.integers(1, 2049, size=depth)])
    return layers


# ---------------------------------------------------------------------------------------------
# Act 1
# ---------------------------------------------------------------------------------------------
def check_transistor_tax(env: dict) -> None:
    """transistor_tax agrees with the reference for every pair of activations."""
    fails = Failures()
    names = sorted(helpers.ACTIVATION_TRANSISTORS)
    with isolated(env, "transistor_tax"):
        for activation in names:
            for baseline in names:
                def one(activation=activation, baseline=baseline):
                    kwargs = {} if baseline == "relu" else {"baseline": baseline}
                    text = describe_call("transistor_tax", (activation,), kwargs)
                    got = expect_number(call(env, "transistor_tax", activation, **kwargs), text)
                    expected = ref.transistor_tax(activation, baseline)
                    if not close(got, expected):
                        why = diagnose(got, expected, [
                            (1 / expected, "the ratio looks inverted: it should say how many times MORE "
                                           "transistors the activation needs than the baseline"),
                            (ref.transistor_tax(activation), "the baseline argument seems to be ignored"),
                            (helpers.ACTIVATION_TRANSISTORS[activation], "it should be a ratio of two "
                                                                         "transistor counts, not a count"),
                            (helpers.ACTIVATION_TRANSISTORS[activation] // helpers.ACTIVATION_TRANSISTORS[baseline],
                             "integer division (//) drops the fraction: divide with /"),
                        ], "it should be the ratio of the two units' transistor counts")
                        fail(f"{text} returned {show(got)}: {why}.")
                fails.check(one)
    fails.raise_if_any()


def check_extra_transistors(env: dict) -> None:
    """extra_transistors agrees with the reference on the chapter's case and random networks."""
    gen = rng()
    names = sorted(helpers.ACTIVATION_TRANSISTORS)
    cases = [(1000, 10, "sigmoid", "relu"), (1, 1, "relu", "sigmoid")]
    for _ in range(12):
        cases.append((int(gen.integers(1, 5000)), int(gen.integers(1, 60)),
                      names[int(gen.integers(len(names)))], names[int(gen.integers(len(names)))]))
    fails = Failures()
    with isolated(env, "extra_transistors"):
        for n, layers, activation, baseline in cases:
            def one(n=n, layers=layers, activation=activation, baseline=baseline):
                kwargs = {} if baseline == "relu" else {"baseline": baseline}
                text = describe_call("extra_transistors", (n, layers, activation), kwargs)
                got = expect_number(call(env, "extra_transistors", n, layers, activation, **kwargs), text)
                expected = ref.extra_transistors(n, layers, activation, baseline)
                if not close(got, expected):
                    t = helpers.ACTIVATION_TRANSISTORS
                    why = diagnose(got, expected, [
                        (-expected, "the sign is flipped: it is the activation's transistors minus the "
                                    "baseline's, so it is negative only when the activation is cheaper"),
                        (n * layers * t[activation], "the baseline's transistors should be subtracted"),
                        (n * (t[activation] - t[baseline]), "it should count the units of every layer, "
                                                            "not one layer"),
                        (n * layers * (t[activation] - t["relu"]), "the baseline argument seems to be ignored"),
                        (n * layers * t[activation] / t[baseline], "it should be the number of extra transistors "
                                                                   "(a difference of counts), not a ratio"),
                    ], "it should count every unit of every layer times the extra transistors each "
                       "unit needs over the baseline")
                    fail(f"{text} returned {show(got)}: {why}.")
            fails.check(one)
    fails.raise_if_any()


def check_sigmoid_derivative_values(env: dict) -> None:
    """sigmoid_derivative matches the reference on scalars across the whole input range."""
    gen = rng()
    xs = [0, 2, -3] + list(np.linspace(-30.0, 30.0, 61)) + list(gen.normal(0.0, 8.0, 20))
    fails = Failures()
    with isolated(env, "sigmoid_derivative"):
        for x in xs:
            x = x if isinstance(x, int) else float(x)

            def one(x=x):
                text = describe_call("sigmoid_derivative", (x,))
                got = call(env, "sigmoid_derivative", x)
                if np.ndim(got) != 0:
                    fail(f"{text} returned {show(got)}; for a single number it should return a single number.")
                got = expect_number(got, text)
                expected = ref.sigmoid_derivative(x)
                if not close(got, expected, rel=1e-7, abs_tol=1e-12):
                    sig = helpers.sigmoid(x)
                    why = diagnose(got, expected, [
                        (sig, "it returned the sigmoid itself, not its slope"),
                        (sig * (1 + sig), "the product should use 1 minus the sigmoid"),
                        (1 - math.tanh(x) ** 2, "that is the slope of tanh; the sigmoid's slope is "
                                                "sigmoid(x) * (1 - sigmoid(x))"),
                    ], "it should be the sigmoid's slope at x")
                    fail(f"{text} returned {show(got)}: {why}.")
            fails.check(one)
    fails.raise_if_any()


def check_sigmoid_derivative_robust(env: dict) -> None:
    """sigmoid_derivative stays finite and warning-free at extreme inputs and works on arrays."""
    fails = Failures()
    with isolated(env, "sigmoid_derivative"):
        for x in (-1000.0, -745.0, -710.0, 710.0, 1000.0):
            def extreme(x=x):
                text = describe_call("sigmoid_derivative", (x,))
                got = expect_number(call(env, "sigmoid_derivative", x), text)
                if not close(got, ref.sigmoid_derivative(x), rel=1e-7, abs_tol=1e-12):
                    fail(f"{text} returned {show(got)}: far from 0 the slope should be (almost) 0.")
            fails.check(extreme)
        arrays = [np.linspace(-1000.0, 1000.0, 9), np.array([[-3.0, 0.0, 3.0], [40.0, -40.0, 1.5]]),
                  np.array([0.5])]
        for xs in arrays:
            def array(xs=xs):
                text = describe_call("sigmoid_derivative", (xs,))
                got = array_call(env, "sigmoid_derivative", xs)
                if not isinstance(got, np.ndarray) or got.shape != xs.shape:
                    fail(f"{text} returned {show(got)} ({type(got).__name__}); for an array it should "
                         f"return an ndarray of the same shape {xs.shape}, one slope per element.")
                if not np.all(np.isfinite(got)):
                    fail(f"{text} returned {show(got)}: every element should be a finite number.")
                if not np.allclose(got, ref.sigmoid_derivative(xs), rtol=1e-7, atol=1e-12):
                    fail(f"{text} returned {show(got)}: some elements are not the sigmoid's slope.")
            fails.check(array)
    fails.raise_if_any()


def check_gradient_bound(env: dict) -> None:
    """gradient_bound matches the reference for int depths and arrays of depths."""
    fails = Failures()
    with isolated(env, "gradient_bound"):
        for depth in (1, 2, 7, 10, 20, 33):
            for md in (0.25, 0.5, 0.9, 1.0, 1.3):
                def one(depth=depth, md=md):
                    kwargs = {} if md == 0.25 else {"max_derivative": md}
                    text = describe_call("gradient_bound", (depth,), kwargs)
                    got = call(env, "gradient_bound", depth, **kwargs)
                    if np.ndim(got) != 0:
                        fail(f"{text} returned {show(got)}; for one depth it should return one number.")
                    got = expect_number(got, text)
                    expected = ref.gradient_bound(depth, md)
                    if not close(got, expected, rel=1e-9, abs_tol=0):
                        why = diagnose(got, expected, [
                            (ref.gradient_bound(depth), "the max_derivative argument seems to be ignored"),
                            (ref.gradient_bound(depth - 1, md), "it is one layer short: every one of the "
                                                                "`depth` layers multiplies the bound"),
                            (ref.gradient_bound(depth + 1, md), "it has one layer too many"),
                            (md * depth, "the layers' factors should multiply, not add up"),
                        ], "it should be the largest gradient left after `depth` layers")
                        fail(f"{text} returned {show(got)}: {why}.")
                fails.check(one)
        for depths in (np.arange(0, 21), np.array([[1, 2], [3, 4]])):
            def array(depths=depths):
                text = describe_call("gradient_bound", (depths,))
                got = array_call(env, "gradient_bound", depths)
                if not isinstance(got, np.ndarray) or got.shape != depths.shape:
                    fail(f"{text} returned {show(got)} ({type(got).__name__}); for an array of depths "
                         f"it should return an ndarray of shape {depths.shape}, one bound per depth.")
                if not np.allclose(got, ref.gradient_bound(depths), rtol=1e-9, atol=0):
                    fail(f"{text} returned {show(got)}: some elements are not the bound at that depth.")
            fails.check(array)
    fails.raise_if_any()


def _ambiguous(threshold: float, md: float) -> bool:
    """Whether a threshold sits so close to a power of md that rounding could decide the answer."""
    k = math.log(threshold) / math.log(md)
    return abs(k - round(k)) < 1e-6


def check_stall_depth(env: dict) -> None:
    """stall_depth matches the reference, including thresholds that are exact powers."""
    gen = rng()
    cases = [(1e-6, 0.25), (1e-3, 0.5), (0.3, 0.5), (0.2, 0.25)]
    cases += [(0.25 ** k, 0.25) for k in (1, 3, 10, 20)] + [(0.5 ** k, 0.5) for k in (2, 9, 30)]
    while len(cases) < 30:
        md, threshold = float(gen.uniform(0.05, 0.95)), float(10 ** gen.uniform(-12, -0.05))
        if not _ambiguous(threshold, md):
            cases.append((threshold, md))
    fails = Failures()
    with isolated(env, "stall_depth"):
        for threshold, md in cases:
            def one(threshold=threshold, md=md):
                text = describe_call("stall_depth", (threshold, md))
                got = call(env, "stall_depth", threshold, md)
                if got is None:
                    fail(f"{text} returned None: with a max_derivative below 1 the bound falls below "
                         "any threshold eventually.")
                got = expect_whole(got, text)
                expected = ref.stall_depth(threshold, md)
                if got != expected:
                    equal = ref.gradient_bound(expected - 1, md) == threshold
                    why = diagnose(got, expected, [
                        (expected - 1, "at that depth the bound is equal to the threshold, which is not "
                                       "strictly below it" if equal else "it is one layer too early: "
                                       "the bound there is not yet strictly below the threshold"),
                        (expected + 1, "it is one layer too late: the bound is already strictly below "
                                       "the threshold one layer earlier"),
                    ], "it should be the first depth whose bound is strictly below the threshold")
                    fail(f"{text} returned {got}: {why}.")
            fails.check(one)
        for md in (1.0, 1.5):
            def never(md=md):
                text = describe_call("stall_depth", (1e-6, md))
                got = call(env, "stall_depth", 1e-6, md)
                if got is not None:
                    fail(f"{text} returned {show(got)}: with max_derivative >= 1 the bound never falls, "
                         "so it should return None.")
            fails.check(never)
    fails.raise_if_any()


def _choice(env: Mapping, variable: str) -> None:
    answer = checks.expect_choice(env, variable, checks.FAILURE_MODES if variable == "act1_failure_mode"
                                  else checks.LETTERS)
    if answer != ANSWERS[variable]:
        fail(f"`{variable}` is {env[variable]!r}, which is not the best answer. Reread the part of the "
             "lab it refers to and try again.")


def check_act1_reason(env: dict) -> None:
    _choice(env, "act1_reflection_reason")


def check_act1_failure_mode(env: dict) -> None:
    _choice(env, "act1_failure_mode")


# ---------------------------------------------------------------------------------------------
# Act 2
# ---------------------------------------------------------------------------------------------
def _network_cases(count: int = 10) -> list[list[int]]:
    return [list(helpers.MNIST_LAYER_SIZES), [3, 2], [1, 1]] + random_layers(rng(), count)


def check_parameter_count(env: dict) -> None:
    """parameter_count matches the reference on the MNIST network and random networks."""
    fails = Failures()
    with isolated(env, "parameter_count"):
        for layers in _network_cases():
            def one(layers=layers):
                text = describe_call("parameter_count", (layers,))
                got = expect_whole(call(env, "parameter_count", list(layers)), text)
                expected = ref.parameter_count(layers)
                if got != expected:
                    weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
                    why = diagnose(got, expected, [
                        (weights_only, "the biases are missing: every unit of every layer after the "
                                       "input has one"),
                        (weights_only + sum(layers[:-1]), "the biases belong to each layer's outputs, "
                                                          "not its inputs"),
                        (weights_only + sum(layers), "the input layer has no biases"),
                        (layers[0] * layers[1] + layers[1], "only the first layer is counted: add up the "
                                                            "weights and biases of every layer"),
                    ], "it should count every weight and every bias")
                    fail(f"{text} returned {got}: {why}.")
            fails.check(one)
        def tuple_input():
            layers = (784, 128, 64, 10)
            text = describe_call("parameter_count", (layers,))
            if expect_whole(call(env, "parameter_count", layers), text) != ref.parameter_count(layers):
                fail(f"{text} gives a different count for a tuple than for a list of the same widths.")
        fails.check(tuple_input)
    fails.raise_if_any()


def check_layer_macs(env: dict) -> None:
    """layer_macs matches the reference, one entry per layer."""
    fails = Failures()
    with isolated(env, "layer_macs"):
        for layers in _network_cases():
            def one(layers=layers):
                text = describe_call("layer_macs", (layers,))
                got = checks.expect_sequence(call(env, "layer_macs", list(layers)), len(layers) - 1, text)
                got = [expect_whole(g, f"{text}[{i}]") for i, g in enumerate(got)]
                expected = ref.layer_macs(layers)
                if got != expected:
                    with_bias = [a * b + b for a, b in zip(layers[:-1], layers[1:])]
                    why = ("a multiply-accumulate pairs one weight with one input; biases are added, "
                           "not multiplied" if got == with_bias else
                           "each entry should be that layer's multiply-accumulates for one example")
                    fail(f"{text} returned {show(got)}: {why}.")
            fails.check(one)
    fails.raise_if_any()


def _memory_cases() -> list[tuple[list[int], int, float, str]]:
    gen = rng()
    mnist = list(helpers.MNIST_LAYER_SIZES)
    cases = [(mnist, b, bpv, opt) for b in (1, 32, 64) for bpv in (4, 2) for opt in ("sgd", "momentum", "adam")]
    for layers in random_layers(gen, 8):
        cases.append((layers, int(gen.integers(1, 513)), (4, 2, 1)[int(gen.integers(3))],
                      ("sgd", "momentum", "adam")[int(gen.integers(3))]))
    return cases


def _memory_call(env, layers, batch, bpv, opt):
    kwargs = {}
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("training_memory", (layers, batch), kwargs)
    return text, expect_memory_dict(call(env, "training_memory", list(layers), batch, **kwargs), text)


def _check_memory_keys(env: dict, keys: tuple[str, ...]) -> None:
    fails = Failures()
    with isolated(env, "training_memory"):
        for layers, batch, bpv, opt in _memory_cases():
            def one(layers=layers, batch=batch, bpv=bpv, opt=opt):
                text, got = _memory_call(env, layers, batch, bpv, opt)
                expected = ref.training_memory(layers, batch, bpv, opt)
                for key in keys:
                    if not close(got[key], expected[key]):
                        fail(f"{text}[{key!r}] is {show(got[key])}: {_memory_hint(key, got, expected, layers, batch, bpv, opt)}.")
            fails.check(one)
    fails.raise_if_any()


def _memory_hint(key, got, expected, layers, batch, bpv, opt) -> str:
    params = ref.parameter_count(layers)
    weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
    state = helpers.OPTIMIZER_STATE_PER_PARAM[opt]
    value = got[key]
    kib = [(expected[key] / helpers.BYTES_PER_KIB, "it should be in bytes, not KiB")]
    if key in ("weights", "gradients"):
        return diagnose(value, expected[key], kib + [
            (weights_only * bpv, "the biases are parameters too"),
            (params, "it should be in bytes: each value takes bytes_per_value bytes"),
            (params * 4, "it should use bytes_per_value (FP16 values take 2 bytes)"),
        ], f"the {key} should hold one value per parameter, at bytes_per_value bytes each")
    if key == "optimizer":
        return diagnose(value, expected[key], kib + [
            (params * bpv, "Adam keeps two values per parameter (momentum and velocity), momentum one"
             if opt == "adam" else "plain SGD keeps no state"),
            (0, "this optimizer keeps state for every parameter"),
            (2 * params * bpv, "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM"),
            (state * params * 4, "it should use bytes_per_value (FP16 values take 2 bytes)"),
        ], "it should hold the optimizer's state values for every parameter, at bytes_per_value bytes each")
    if key == "activations":
        return diagnose(value, expected[key], kib + [
            (batch * sum(layers[1:]) * bpv, "the input layer's activations must be stored too"),
            (sum(layers) * bpv, "it should grow in proportion to batch_size: every example in the "
                                "batch keeps its own activations"),
            (batch * sum(layers) * 4, "it should use bytes_per_value too (FP16 halves the activations)"),
            (batch * sum(layers), "it should be in bytes: each value takes bytes_per_value bytes"),
            (batch * sum(layers[:-1]) * bpv, "the output layer's activations must be stored too"),
        ], "it should hold every layer's outputs (input layer included) for every example in the "
           "batch, at bytes_per_value bytes each")
    parts = {k: got[k] for k in ("weights", "gradients", "optimizer", "activations")}
    if close(value, sum(parts.values())):
        wrong = [k if k != "optimizer" else "optimizer state" for k in parts if not close(got[k], expected[k])]
        return (f"it adds up your components, but your {' and '.join(wrong)} "
                f"{'is' if wrong == ['optimizer state'] else 'are'} not right (see this question's other tests)")
    left_out = [k for k in parts if parts[k] and close(value, sum(parts.values()) - parts[k])]
    if left_out:
        return f"the total leaves out the {' or the '.join(left_out)}"
    return diagnose(value, expected[key], kib,
                    "the total should be the sum of the weights, gradients, optimizer state and activations")


def check_training_memory_parameters(env: dict) -> None:
    """Weights, gradients and optimizer state match the reference for every optimizer and precision."""
    _check_memory_keys(env, ("weights", "gradients", "optimizer"))


def check_training_memory_activations(env: dict) -> None:
    """Activations match the reference across batch sizes and precisions."""
    _check_memory_keys(env, ("activations",))


def check_training_memory_total(env: dict) -> None:
    """Totals match the reference."""
    _check_memory_keys(env, ("total",))


def check_inference_memory(env: dict) -> None:
    """inference_memory matches the reference: weights plus one batch of activations."""
    fails = Failures()
    cases = [(list(helpers.MNIST_LAYER_SIZES), 1, 4), (list(helpers.MNIST_LAYER_SIZES), 1, 2),
             (list(helpers.MNIST_LAYER_SIZES), 32, 4)] + [(l, b, bpv) for l, b, bpv, _ in _memory_cases()[-6:]]
    with isolated(env, "inference_memory"):
        for layers, batch, bpv in cases:
            def one(layers=layers, batch=batch, bpv=bpv):
                kwargs = {}
                if batch != 1:
                    kwargs["batch_size"] = batch
                if bpv != 4:
                    kwargs["bytes_per_value"] = bpv
                text = describe_call("inference_memory", (layers,), kwargs)
                got = expect_number(call(env, "inference_memory", list(layers), **kwargs), text)
                expected = ref.inference_memory(layers, batch, bpv)
                if not close(got, expected):
                    t = ref.training_memory(layers, batch, bpv, "sgd")
                    why = diagnose(got, expected, [
                        (t["weights"] + t["gradients"] + t["activations"], "inference keeps no gradients"),
                        (t["weights"], "inference still holds the activations of the batch"),
                        (t["activations"], "inference still holds the weights"),
                        (ref.inference_memory(layers, 1, bpv), "the activations should grow with batch_size"),
                        (ref.inference_memory(layers, batch, 4), "it should use bytes_per_value"),
                    ], "it should be the weights plus the activations of one batch, in bytes")
                    fail(f"{text} returned {show(got)}: {why}.")
            fails.check(one)
    fails.raise_if_any()


def _width_call(env: dict, budget, batch: int = 32, bpv: float = 4, opt: str = "adam"):
    kwargs = {}
    if batch != 32:
        kwargs["batch_size"] = batch
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("max_trainable_width", (budget,), kwargs)
    return text, expect_whole(call(env, "max_trainable_width", budget, **kwargs), text)


def _width_hint(got: int, budget, batch, bpv, opt) -> str:
    expected = ref.max_trainable_width(budget, batch, bpv, opt)
    ignored = [name for name, value in (("batch_size", ref.max_trainable_width(budget, 32, bpv, opt)),
                                        ("bytes_per_value", ref.max_trainable_width(budget, batch, 4, opt)),
                                        ("optimizer", ref.max_trainable_width(budget, batch, bpv, "adam")))
               if got == value != expected]
    if len(ignored) == 1:
        return f"the {ignored[0]} argument seems to be ignored: the wall moves with it"
    if got > expected:
        return ("that width does not fit: the answer is the largest width whose training memory is at "
                "most the budget")
    if expected >= 2 and (got == expected - 1 or (got == expected - 2 and expected % 2 == 1)):
        at_wall = ref.training_memory(helpers.challenge_layer_sizes(expected), batch, bpv, opt)["total"] == budget
        strict = ("a width whose training memory equals the budget exactly still fits: it must be at most "
                  "the budget (<=), not strictly below it")
        if at_wall and expected % 2 == 0 and got == expected - 1:
            return strict
        if at_wall:
            return f"a wider network still fits: check the edge of your search ({strict}; and odd widths count too)"
        return "a wider network still fits; check the edge of your search (every width counts, odd ones too)"
    return "a wider network still fits within this budget"


def check_max_width_devices(env: dict) -> None:
    """max_trainable_width matches the reference for the four devices (batch 32, FP32, Adam)."""
    fails = Failures()
    with isolated(env, "max_trainable_width"):
        for device, budget in helpers.DEVICE_BUDGETS_BYTES.items():
            def one(budget=budget):
                text, got = _width_call(env, budget)
                if got != ref.max_trainable_width(budget):
                    fail(f"{text} returned {got}: {_width_hint(got, budget, 32, 4, 'adam')}.")
            fails.check(one)
    fails.raise_if_any()


def check_max_width_settings(env: dict) -> None:
    """max_trainable_width follows batch size, precision and optimizer, and is exact at the wall."""
    gen = rng()
    cases = []
    for width in (4097, 1024, 255, 17, 3, 2):  # budgets exactly at, just under and just over walls
        for batch, bpv, opt in ((32, 4, "adam"), (1, 2, "sgd"), (256, 4, "momentum")):
            total = ref.training_memory(helpers.challenge_layer_sizes(width), batch, bpv, opt)["total"]
            cases += [(total, batch, bpv, opt), (total - 1, batch, bpv, opt), (total + 1, batch, bpv, opt)]
    for _ in range(10):
        cases.append((int(10 ** gen.uniform(4, 11)), int(gen.choice([1, 8, 64, 128, 1024])),
                      int(gen.choice([2, 4])), str(gen.choice(["sgd", "momentum", "adam"]))))
    cases.append((ref.training_memory([784, 2, 1, 10], 32)["total"] - 1, 32, 4, "adam"))  # nothing fits
    fails = Failures()
    with isolated(env, "max_trainable_width"):
        for budget, batch, bpv, opt in cases:
            def one(budget=budget, batch=batch, bpv=bpv, opt=opt):
                text, got = _width_call(env, budget, batch, bpv, opt)
                expected = ref.max_trainable_width(budget, batch, bpv, opt)
                if got != expected:
                    why = ("not even the smallest network (W = 2) fits this budget, so the answer is 0"
                           if expected == 0 else _width_hint(got, budget, batch, bpv, opt))
                    fail(f"{text} returned {got}: {why}.")
            fails.check(one)
    fails.raise_if_any()


def check_max_width_large_budget(env: dict) -> None:
    """max_trainable_width answers within the time limit for budgets up to 1 TiB."""
    fails = Failures()
    with isolated(env, "max_trainable_width"):
        for budget in (1024 ** 4, 300 * helpers.BYTES_PER_GIB):
            def one(budget=budget):
                text, got = _width_call(env, budget)
                if got != ref.max_trainable_width(budget):
                    fail(f"{text} returned {got}: {_width_hint(got, budget, 32, 4, 'adam')}.")
            fails.check(one)
    fails.raise_if_any()


def check_act2_reflection(env: dict) -> None:
    _choice(env, "act2_reflection")


def check_deployment(env: dict) -> None:
    _choice(env, "deployment_answer")


def _own(env: Mapping, fn: Callable[[], Any]):
    """The value ``fn`` computes with the student's own functions, or None if they fail."""
    try:
        if getattr(env, "limits_calls", False):  # trusted scoring: each remote call has its own limit
            return fn()
        return helpers.call_with_time_limit(fn, (), {}, checks.TIME_LIMIT_S)
    except (Exception, helpers.CallTimedOut):
        return None


def _own_number(env: Mapping, fn: Callable[[], Any]) -> float | None:
    """Like :func:`_own`, for a finite number; None if the student's functions give anything else."""
    value = _own(env, fn)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def check_batch_doubling(env: dict) -> None:
    """batch_doubling_ratio is the ratio of the training totals at batch 64 and 32."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    mnist = list(helpers.MNIST_LAYER_SIZES)
    expected = ref.training_memory(mnist, 64)["total"] / ref.training_memory(mnist, 32)["total"]
    # The ratio your own training_memory gives is right here, even where that function is wrong
    # (which costs points once, in its own question).
    own = _own_number(env, lambda: env["training_memory"](mnist, 64)["total"] / env["training_memory"](mnist, 32)["total"])
    if close(ratio, expected, rel=1e-6) or (own is not None and close(ratio, own, rel=1e-6)):
        return
    if close(ratio, 1 / expected, rel=1e-6) or (own and close(ratio, 1 / own, rel=1e-6)):
        fail(f"batch_doubling_ratio is {show(ratio)}: the ratio is inverted; it should be the training "
             "total at batch 64 divided by the total at batch 32.")
    if close(ratio, 2.0, rel=1e-3):
        fail(f"batch_doubling_ratio is {show(ratio)}: compute it from training_memory, which says how much "
             "of the total actually grows with the batch.")
    fail(f"batch_doubling_ratio is {show(ratio)}: it should be the training total at batch 64 divided "
         "by the total at batch 32 (FP32, Adam).")


# ---------------------------------------------------------------------------------------------
# The Design Ledger
# ---------------------------------------------------------------------------------------------
def check_ledger_answers(env: dict) -> None:
    """The ledger records the notebook's own choices, predictions and reflections."""
    ledger = checks.read_fresh_ledger(env=env)
    fails = Failures()
    recorded = {
        "activation_choice": ledger["activation_choice"],
        "batch_size_chosen": ledger["batch_size_chosen"],
        "act1_prediction": ledger["predictions"]["act1_prediction"],
        "act2_estimate_kib": ledger["predictions"]["act2_estimate_kib"],
        **ledger["reflections"],
    }
    for variable, value in recorded.items():
        def same(variable=variable, value=value):
            mine = env.get(variable, _MISSING)
            if mine is _MISSING:
                fail(f"the ledger records {variable} = {show(value)}, but the notebook has no `{variable}`.")
            try:
                mine_json = helpers.json_native(mine)
            except helpers.LedgerError:
                mine_json = mine
            if isinstance(value, float) and isinstance(mine_json, (int, float)):
                agree = close(value, float(mine_json))
            elif variable in CHOICES and isinstance(value, str) and isinstance(mine_json, str):
                agree = value.strip().lower() == mine_json.strip().lower()  # as expect_choice reads them
            else:
                agree = value == mine_json
            if not agree:
                fail(f"the ledger records {variable} = {show(value)}, but the notebook's `{variable}` is "
                     f"{show(mine)}: the ledger is stale; run the cell that records your design again.")
        fails.check(same)
    fails.raise_if_any()


def check_ledger_computed(env: dict) -> None:
    """The ledger's computed values agree with the reference (or the student's own functions)."""
    ledger = checks.read_fresh_ledger(env=env)
    fails = Failures()
    batch = ledger["batch_size_chosen"]
    budget = helpers.DEVICE_BUDGETS_BYTES[helpers.LAPTOP_GPU]

    def width():
        got = ledger["max_trainable_width_laptop_gpu"]
        expected = ref.max_trainable_width(budget, batch)
        own = _own(env, lambda: env["max_trainable_width"](budget, batch))
        if got != expected and got != own:
            fail(f"the ledger's max_trainable_width_laptop_gpu is {got}, which is not the maximum width "
                 f"for the laptop GPU at the batch size the ledger records ({batch}), FP32, Adam.")
    fails.check(width)

    def estimate_error():
        got = ledger["training_memory_estimate_error_kb"]
        estimate = float(ledger["predictions"]["act2_estimate_kib"])
        mnist = list(helpers.MNIST_LAYER_SIZES)
        actual = helpers.to_kib(ref.training_memory(mnist, helpers.MNIST_BATCH_SIZE)["total"])
        own_total = _own_number(env, lambda: env["training_memory"](mnist, helpers.MNIST_BATCH_SIZE)["total"])
        candidates = [estimate - actual]
        if own_total is not None:
            candidates.append(estimate - helpers.to_kib(own_total))
        if any(close(got, c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            return
        if any(close(got, -c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            fail(f"the ledger's training_memory_estimate_error_kb is {show(got)}: the sign is flipped; it "
                 "is your estimate minus the actual training memory.")
        if any(close(got, c * helpers.BYTES_PER_KIB, rel=1e-9, abs_tol=1e-3) for c in candidates):
            fail(f"the ledger's training_memory_estimate_error_kb is {show(got)}: that is in bytes; the "
                 "ledger wants KiB (1 KiB = 1,024 bytes), like your estimate.")
        if batch != helpers.MNIST_BATCH_SIZE:
            at_batch = [ref.training_memory(mnist, batch)["total"],
                        _own_number(env, lambda: env["training_memory"](mnist, batch)["total"])]
            if any(t is not None and close(got, estimate - helpers.to_kib(t), rel=1e-9, abs_tol=1e-6)
                   for t in at_batch):
                fail(f"the ledger's training_memory_estimate_error_kb is {show(got)}: it compares your "
                     f"estimate with the training memory at batch_size_chosen ({batch}); it should use "
                     f"batch {helpers.MNIST_BATCH_SIZE}, the setting your Act 2 estimate was about.")
        fail(f"the ledger's training_memory_estimate_error_kb is {show(got)}: it should be your estimate "
             "minus the training memory of the MNIST network at batch 32, FP32, Adam, both in KiB.")
    fails.check(estimate_error)
    fails.raise_if_any()
