"""Hidden tests of Act 2's memory: training_memory, inference_memory, batch doubling, Act 2's choice.

An answer built on the student's own upstream function is accepted as well (:mod:`lab05_autograder.upstream`):
training_memory on their parameter_count, inference_memory on a model of their training_memory.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import lab05_reference as ref

from lab05 import constants
from lab05.assertions import call, describe_call, expect_memory_dict, expect_number, fail, show

from .. import upstream
from .scaffold import Hint, choice, close, diagnose, explain, own_answer, own_number, random_layers, rng, run_cases, tag


def memory_cases() -> list[tuple[list[int], int, float, str]]:
    gen = rng()
    mnist = list(constants.MNIST_LAYER_SIZES)
    cases = [(mnist, b, bpv, opt) for b in (1, 32, 64) for bpv in (4, 2) for opt in ("sgd", "momentum", "adam")]
    for layers in random_layers(gen, 8):
        cases.append(
            (
                layers,
                int(gen.integers(1, 513)),
                (4, 2, 1)[int(gen.integers(3))],
                ("sgd", "momentum", "adam")[int(gen.integers(3))],
            )
        )
    return cases


def memory_call(env, layers, batch, bpv, opt):
    kwargs = {}
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("training_memory", (layers, batch), kwargs)
    return text, expect_memory_dict(call(env, "training_memory", list(layers), batch, **kwargs), text)


def own_parameter_count(env: Mapping, layers: list[int]) -> int | None:
    """The student's parameter_count of ``layers``, as its own test asks it (None if it fails)."""
    got = own_answer(env, lambda: call(env, "parameter_count", list(layers)))
    return got if type(got) is int else None


def _check_memory_keys(env: dict, keys: tuple[str, ...]) -> None:
    def one(layers, batch, bpv, opt):
        text, got = memory_call(env, layers, batch, bpv, opt)
        expected = ref.training_memory(layers, batch, bpv, opt)
        params = ref.parameter_count(layers)
        if any(not close(got[key], expected[key]) for key in keys):
            # Judged on the student's own parameter_count, whose mistakes cost its own question: what is
            # right for that count passes, and what is not is named as training_memory's own mistake.
            own_params = own_parameter_count(env, layers)
            if own_params is not None and own_params != params:
                params, expected = own_params, upstream.memory_with_parameters(own_params, layers, batch, bpv, opt)
        for key in keys:
            if not close(got[key], expected[key]):
                fail(
                    explain(
                        f"{text}[{key!r}] is {show(got[key])}",
                        _memory_hint(key, got, expected, layers, batch, bpv, opt, params),
                    )
                )

    run_cases(env, (one, memory_cases()))


def _memory_hint(key, got, expected, layers, batch, bpv, opt, params: int) -> Hint:
    """What is wrong with ``got[key]`` against ``expected`` (the model with ``params`` parameters)."""
    kib = [(expected[key] / constants.BYTES_PER_KIB, "memory-in-kib", "it should be in bytes, not KiB")]
    if key in ("weights", "gradients"):
        weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
        return diagnose(
            got[key],
            expected[key],
            kib
            + [
                (weights_only * bpv, "memory-biases-missing", "the biases are parameters too"),
                (params, "memory-not-in-bytes", "it should be in bytes: each value takes bytes_per_value bytes"),
                (params * 4, "memory-fp32-hard-coded", "it should use bytes_per_value (FP16 values take 2 bytes)"),
            ],
            f"the {key} should hold one value per parameter, at bytes_per_value bytes each",
        )
    if key == "optimizer":
        return _optimizer_hint(got[key], expected[key], kib, bpv, opt, params)
    if key == "activations":
        return _activations_hint(got[key], expected[key], kib, layers, batch, bpv)
    return _total_hint(got, expected, kib)


def _optimizer_hint(value, expected: float, kib: list, bpv, opt, params: int) -> Hint:
    """What is wrong with the optimizer state ``value`` (the model with ``params`` parameters)."""
    state = constants.OPTIMIZER_STATE_PER_PARAM[opt]
    one_value = (
        (
            params * bpv,
            "memory-adam-counted-once",
            "Adam keeps two values per parameter (momentum and velocity), momentum one",
        )
        if opt == "adam"
        else (params * bpv, "memory-sgd-given-state", "plain SGD keeps no state")
    )
    return diagnose(
        value,
        expected,
        kib
        + [
            one_value,
            (0, "memory-optimizer-state-missing", "this optimizer keeps state for every parameter"),
            (
                2 * params * bpv,
                "memory-state-ignores-optimizer",
                "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
            ),
            (
                state * params * 4,
                "memory-fp32-hard-coded",
                "it should use bytes_per_value (FP16 values take 2 bytes)",
            ),
        ],
        "it should hold the optimizer's state values for every parameter, at bytes_per_value bytes each",
    )


def _activations_hint(value, expected: float, kib: list, layers, batch, bpv) -> Hint:
    """What is wrong with the activations ``value``."""
    return diagnose(
        value,
        expected,
        kib
        + [
            (
                batch * sum(layers[1:]) * bpv,
                "memory-input-activations-missing",
                "the input layer's activations must be stored too",
            ),
            (
                sum(layers) * bpv,
                "memory-activations-ignore-batch",
                "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
            ),
            (
                batch * sum(layers) * 4,
                "memory-fp32-hard-coded",
                "it should use bytes_per_value too (FP16 halves the activations)",
            ),
            (
                batch * sum(layers),
                "memory-not-in-bytes",
                "it should be in bytes: each value takes bytes_per_value bytes",
            ),
            (
                batch * sum(layers[:-1]) * bpv,
                "memory-output-activations-missing",
                "the output layer's activations must be stored too",
            ),
        ],
        "it should hold every layer's outputs (input layer included) for every example in the "
        "batch, at bytes_per_value bytes each",
    )


def _total_hint(got: dict, expected: dict, kib: list) -> Hint:
    """What is wrong with the total ``got["total"]``, judged against the student's own parts."""
    value = got["total"]
    parts = {k: got[k] for k in ("weights", "gradients", "optimizer", "activations")}
    if close(value, sum(parts.values())):
        wrong = [k if k != "optimizer" else "optimizer state" for k in parts if not close(got[k], expected[k])]
        return Hint(
            f"it adds up your components, but your {' and '.join(wrong)} "
            f"{'is' if wrong == ['optimizer state'] else 'are'} not right (see this question's other tests)"
        )
    left_out = [k for k in parts if parts[k] and close(value, sum(parts.values()) - parts[k])]
    if left_out:
        return Hint(f"the total leaves out the {' or the '.join(left_out)}", "memory-total-leaves-out-a-part")
    return diagnose(
        value,
        expected["total"],
        kib,
        "the total should be the sum of the weights, gradients, optimizer state and activations",
    )


def test_training_memory_parameters(env: dict) -> None:
    """Weights, gradients and optimizer state match the reference for every optimizer and precision."""
    _check_memory_keys(env, ("weights", "gradients", "optimizer"))


def test_training_memory_activations(env: dict) -> None:
    """Activations match the reference across batch sizes and precisions."""
    _check_memory_keys(env, ("activations",))


def test_training_memory_total(env: dict) -> None:
    """Totals match the reference."""
    _check_memory_keys(env, ("total",))


def own_memory_model(env: Mapping):
    """The model of the student's training_memory that fits its graded answers (or None)."""
    answers = [(case, own_answer(env, lambda case=case: memory_call(env, *case)[1])) for case in memory_cases()]
    return upstream.fit_training_memory(answers)


def test_inference_memory(env: dict) -> None:
    """inference_memory matches the reference: weights plus one batch of activations."""
    cases = [
        (list(constants.MNIST_LAYER_SIZES), 1, 4),
        (list(constants.MNIST_LAYER_SIZES), 1, 2),
        (list(constants.MNIST_LAYER_SIZES), 32, 4),
    ] + [(layers, b, bpv) for layers, b, bpv, _ in memory_cases()[-6:]]
    # Right for the student's own training_memory (whose mistakes cost their own tests)?
    own_memory = functools.cache(lambda: own_memory_model(env))

    def one(layers, batch, bpv):
        kwargs = {}
        if batch != 1:
            kwargs["batch_size"] = batch
        if bpv != 4:
            kwargs["bytes_per_value"] = bpv
        text = describe_call("inference_memory", (layers,), kwargs)
        got = expect_number(call(env, "inference_memory", list(layers), **kwargs), text)
        expected = ref.inference_memory(layers, batch, bpv)
        model = own_memory() if not close(got, expected) else None
        if not close(got, expected) and (
            model is None or not close(got, upstream.model_inference_memory(model, layers, batch, bpv))
        ):
            t = ref.training_memory(layers, batch, bpv, "sgd")
            why = diagnose(
                got,
                expected,
                [
                    (
                        t["weights"] + t["gradients"] + t["activations"],
                        "inference-keeps-gradients",
                        "inference keeps no gradients",
                    ),
                    (t["weights"], "inference-no-activations", "inference still holds the activations of the batch"),
                    (t["activations"], "inference-no-weights", "inference still holds the weights"),
                    (
                        ref.inference_memory(layers, 1, bpv),
                        "inference-batch-ignored",
                        "the activations should grow with batch_size",
                    ),
                    (ref.inference_memory(layers, batch, 4), "memory-fp32-hard-coded", "it should use bytes_per_value"),
                ],
                "it should be the weights plus the activations of one batch, in bytes",
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, cases))


def test_act2_reflection(env: dict) -> None:
    choice(env, "act2_reflection")


def test_batch_doubling(env: dict) -> None:
    """batch_doubling_ratio is the ratio of the training totals at batch 64 and 32."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    mnist = list(constants.MNIST_LAYER_SIZES)
    expected = ref.training_memory(mnist, 64)["total"] / ref.training_memory(mnist, 32)["total"]
    # The ratio your own training_memory gives is right here, even where that function is wrong
    # (which costs points once, in its own question: these are two of the cases it is graded on).
    own = own_number(
        env, lambda: env["training_memory"](mnist, 64)["total"] / env["training_memory"](mnist, 32)["total"]
    )
    if close(ratio, expected, rel=1e-6) or (own is not None and close(ratio, own, rel=1e-6)):
        return
    if close(ratio, 1 / expected, rel=1e-6) or (own and close(ratio, 1 / own, rel=1e-6)):
        fail(
            f"batch_doubling_ratio is {show(ratio)}: the ratio is inverted; it should be the training "
            "total at batch 64 divided by the total at batch 32." + tag("batch-ratio-inverted")
        )
    if close(ratio, 2.0, rel=1e-3):
        fail(
            f"batch_doubling_ratio is {show(ratio)}: compute it from training_memory, which says how much "
            "of the total actually grows with the batch." + tag("batch-ratio-is-two")
        )
    fail(
        f"batch_doubling_ratio is {show(ratio)}: it should be the training total at batch 64 divided "
        "by the total at batch 32 (FP32, Adam)."
    )
