"""Hidden tests of Act 2's counts: parameter_count and layer_macs."""

from __future__ import annotations

import lab05_reference as ref

from lab05 import assertions, constants
from lab05.assertions import call, describe_call, expect_whole, fail, show

from .scaffold import Hint, diagnose, explain, own_answer, random_layers, rng, run_cases, tag


def network_cases(count: int = 10) -> list[list[int]]:
    return [list(constants.MNIST_LAYER_SIZES), [3, 2], [1, 1]] + random_layers(rng(), count)


def test_parameter_count(env: dict) -> None:
    """parameter_count matches the reference on the MNIST network and random networks."""

    def one(layers):
        text = describe_call("parameter_count", (layers,))
        got = expect_whole(call(env, "parameter_count", list(layers)), text)
        expected = ref.parameter_count(layers)
        if got != expected:
            weights_only = sum(a * b for a, b in zip(layers[:-1], layers[1:]))
            why = diagnose(
                got,
                expected,
                [
                    (
                        weights_only,
                        "params-biases-missing",
                        "the biases are missing: every unit of every layer after the input has one",
                    ),
                    (
                        weights_only + sum(layers[:-1]),
                        "params-biases-on-inputs",
                        "the biases belong to each layer's outputs, not its inputs",
                    ),
                    (weights_only + sum(layers), "params-input-layer-biases", "the input layer has no biases"),
                    (
                        layers[0] * layers[1] + layers[1],
                        "params-first-layer-only",
                        "only the first layer is counted: add up the weights and biases of every layer",
                    ),
                ],
                "it should count every weight and every bias",
            )
            fail(explain(f"{text} returned {got}", why))

    def tuple_input():
        layers = (784, 128, 64, 10)
        text = describe_call("parameter_count", (layers,))
        got = expect_whole(call(env, "parameter_count", layers), text)
        # A count that is wrong for the list as well is reported by the cases above.
        if got != ref.parameter_count(layers) and got != own_answer(env, lambda: env["parameter_count"](list(layers))):
            fail(
                f"{text} gives a different count for a tuple than for a list of the same widths."
                + tag("params-tuple-differs")
            )

    run_cases(env, (one, network_cases()), (tuple_input, [()]))


def test_layer_macs(env: dict) -> None:
    """layer_macs matches the reference, one entry per layer."""

    def one(layers):
        text = describe_call("layer_macs", (layers,))
        got = assertions.expect_sequence(call(env, "layer_macs", list(layers)), len(layers) - 1, text)
        got = [expect_whole(g, f"{text}[{i}]") for i, g in enumerate(got)]
        expected = ref.layer_macs(layers)
        if got != expected:
            with_bias = [a * b + b for a, b in zip(layers[:-1], layers[1:])]
            why = (
                Hint(
                    "a multiply-accumulate pairs one weight with one input; biases are added, not multiplied",
                    "macs-bias-counted",
                )
                if got == with_bias
                else Hint("each entry should be that layer's multiply-accumulates for one example")
            )
            fail(explain(f"{text} returned {show(got)}", why))

    run_cases(env, (one, network_cases()))
