"""Public checks of Act 2's counts: parameters and MACs, training memory, inference memory."""

from __future__ import annotations

from collections.abc import Mapping

from lab05 import constants
from lab05.assertions import (
    MEMORY_KEYS,
    call,
    describe_call,
    expect_memory_dict,
    expect_number,
    expect_sequence,
    expect_value_error,
    expect_whole,
    explain,
    fail,
    own,
    same,
    show,
    suspect,
    tag,
)

#: A network small enough to work by hand: 4 inputs, 3 hidden units, 2 outputs.
SMALL_NET = (4, 3, 2)
#: Its parameters: 4 x 3 weights + 3 biases in the first layer, 3 x 2 weights + 2 biases in the second.
SMALL_NET_PARAMETERS = 23
SMALL_NET_WORKING = "4 x 3 + 3 = 15 in the first layer, 3 x 2 + 2 = 8 in the second"


def _parameter_suspects(weights_only: int, first_layer: int, input_widths: int, all_widths: int) -> list:
    return [
        (
            weights_only,
            "the biases are missing: every unit of every layer after the input has one",
            "params-biases-missing",
        ),
        (
            weights_only + input_widths,
            "the biases belong to each layer's outputs, not its inputs",
            "params-biases-on-inputs",
        ),
        (weights_only + all_widths, "the input layer has no biases", "params-input-layer-biases"),
        (
            first_layer,
            "only the first layer is counted: add up the weights and biases of every layer",
            "params-first-layer-only",
        ),
    ]


def check_parameters_and_macs(env: Mapping) -> None:
    """Public: parameter_count and layer_macs agree with their docstrings' examples and with a
    two-layer network worked by hand, for a list or a tuple of widths, one entry per layer."""
    text = describe_call("parameter_count", ([3, 2],))
    count = expect_whole(call(env, "parameter_count", [3, 2]), text)
    if count != 8:
        why, mistake = suspect(count, _parameter_suspects(6, 8, 3, 5), "it should count every weight and every bias")
        explain(f"{text} returned {count}; expected 8 (six weights and two biases)", why, mistake)
    small = list(SMALL_NET)
    text = describe_call("parameter_count", (small,))
    count = expect_whole(call(env, "parameter_count", small), text)
    if count != SMALL_NET_PARAMETERS:
        why, mistake = suspect(count, _parameter_suspects(18, 15, 7, 9), "it should count every weight and every bias")
        explain(
            f"{text} returned {count}; worked by hand it is {SMALL_NET_PARAMETERS} ({SMALL_NET_WORKING})", why, mistake
        )
    text = describe_call("parameter_count", (SMALL_NET,))
    as_tuple = expect_whole(call(env, "parameter_count", SMALL_NET), text)
    if as_tuple != count:
        fail(
            f"{text} returned {as_tuple} but parameter_count({small}) returned {count}: it should count a tuple "
            "of widths as it counts a list." + tag("params-tuple-differs")
        )
    mnist = list(constants.MNIST_LAYER_SIZES)
    expect_whole(call(env, "parameter_count", mnist), describe_call("parameter_count", (mnist,)))

    for layers, expected, working in (
        ([3, 2], [6], "two outputs, each a sum over three inputs"),
        (small, [12, 6], "4 x 3 in the first layer, 3 x 2 in the second"),
    ):
        text = describe_call("layer_macs", (layers,))
        macs = expect_sequence(call(env, "layer_macs", layers), len(expected), text)
        got = [expect_whole(m, f"{text}[{i}]") for i, m in enumerate(macs)]
        if got != expected:
            running = [sum(expected[: i + 1]) for i in range(len(expected))]
            with_bias = [m + n for m, n in zip(expected, layers[1:])]
            why, mistake = (
                ("each entry is that layer's own multiply-accumulates, not a running total of the layers so far", None)
                if got == running and running != expected
                else (
                    "a multiply-accumulate pairs one weight with one input; biases are added, not multiplied",
                    "macs-bias-counted",
                )
                if got == with_bias
                else ("each entry should be that layer's multiply-accumulates for one example", None)
            )
            explain(f"{text} returned {show(got)}; expected {expected} ({working})", why, mistake)
    text = describe_call("layer_macs", (mnist,))
    macs = expect_sequence(call(env, "layer_macs", mnist), len(mnist) - 1, text)
    for i, m in enumerate(macs):
        if expect_whole(m, f"{text}[{i}]") <= 0:
            fail(f"{text}[{i}] is {show(m)}; every layer does a positive number of MACs.")


def memory_kwargs(bpv: float, optimizer: str) -> dict:
    """The keyword arguments of a training_memory call, defaults left out (as a student writes it)."""
    return {
        **({"bytes_per_value": bpv} if bpv != 4 else {}),
        **({"optimizer": optimizer} if optimizer != "adam" else {}),
    }


def _memory_call(env: Mapping, layers, batch: int, bpv: float = 4, optimizer: str = "adam") -> tuple[str, dict]:
    kwargs = memory_kwargs(bpv, optimizer)
    text = describe_call("training_memory", (list(layers), batch), kwargs)
    return text, expect_memory_dict(call(env, "training_memory", list(layers), batch, **kwargs), text)


def _parameters_accepted(env: Mapping, layers, by_hand: int) -> list[int]:
    """The parameter counts a memory model of ``layers`` may use: the count worked by hand, and
    the student's own parameter_count's (whose mistakes cost points in their own question)."""
    counted = own(lambda: call(env, "parameter_count", list(layers)))
    return [by_hand] + ([counted] if type(counted) is int and counted != by_hand else [])


def _expect_total(mem: dict, text: str) -> None:
    parts = {k: mem[k] for k in MEMORY_KEYS[:-1]}
    if not same(mem["total"], sum(parts.values())):
        left_out = [k for k in parts if parts[k] and same(mem["total"], sum(parts.values()) - parts[k])]
        why, mistake = (
            (f"the total leaves out the {' or the '.join(left_out)}", "memory-total-leaves-out-a-part")
            if left_out
            else ("the total should be the sum of the weights, gradients, optimizer state and activations", None)
        )
        explain(
            f"{text}['total'] is {show(mem['total'])}, but its four parts add up to {show(sum(parts.values()))}",
            why,
            mistake,
        )


def _expect_part(mem: dict, key: str, text: str, expected: float, working: str, suspects) -> None:
    if not same(mem[key], expected):
        kib = [(expected / constants.BYTES_PER_KIB, "it should be in bytes, not KiB", "memory-in-kib")]
        why, mistake = suspect(mem[key], kib + suspects, f"worked by hand it is {show(expected)}")
        explain(f"{text}[{key!r}] is {show(mem[key])}; worked by hand it is {show(expected)} ({working})", why, mistake)


def _per_value(bpv: float) -> str:
    return "1 byte" if bpv == 1 else f"{bpv:g} bytes"


def _expect_parameter_parts(mem: dict, text: str, accepted: list[int], bpv: float, state: int, suspects) -> int:
    """Weights, gradients and optimizer state of one memory dict; returns the parameter count it used."""
    used = next((p for p in accepted if same(mem["weights"], p * bpv)), accepted[0])
    _expect_part(mem, "weights", text, used * bpv, f"{used} parameters x {_per_value(bpv)}", suspects["weights"])
    if not same(mem["gradients"], mem["weights"]):
        fail(
            f"{text} has weights {show(mem['weights'])} but gradients {show(mem['gradients'])}; there is one "
            "gradient per parameter."
        )
    _expect_part(
        mem,
        "optimizer",
        text,
        state * used * bpv,
        f"{used} parameters x {state} state value{'' if state == 1 else 's'} x {_per_value(bpv)}",
        suspects["optimizer"],
    )
    return used


def _check_memory_docstring_example(env: Mapping) -> None:
    """The docstring's example: [3, 2], batch 1, 1 byte per value, SGD."""
    text, tiny = _memory_call(env, [3, 2], 1, 1, "sgd")
    _expect_total(tiny, text)
    suspects = {
        "weights": [
            (6, "the biases are parameters too", "memory-biases-missing"),
            (32, "it should use bytes_per_value (FP16 values take 2 bytes)", "memory-fp32-hard-coded"),
        ],
        "optimizer": [
            (8, "plain SGD keeps no state", "memory-sgd-given-state"),
            (
                16,
                "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
                "memory-state-ignores-optimizer",
            ),
        ],
    }
    _expect_parameter_parts(tiny, text, _parameters_accepted(env, [3, 2], 8), 1, 0, suspects)
    _expect_part(
        tiny,
        "activations",
        text,
        5,
        "1 example x (3 + 2) values, the input layer's included, x 1 byte",
        [
            (2, "the input layer's activations must be stored too", "memory-input-activations-missing"),
            (3, "the output layer's activations must be stored too", "memory-output-activations-missing"),
            (20, "it should use bytes_per_value too (FP16 halves the activations)", "memory-fp32-hard-coded"),
        ],
    )


def _check_memory_by_hand(env: Mapping) -> tuple[dict, int]:
    """Worked by hand: [4, 3, 2], batch 5, FP32, Adam.

    Returns:
        The student's answer for it, and the parameter count its parts were accepted with.
    """
    text, full = _memory_call(env, SMALL_NET, 5)
    _expect_total(full, text)
    p = SMALL_NET_PARAMETERS
    suspects = {
        "weights": [
            (18 * 4, "the biases are parameters too", "memory-biases-missing"),
            (p, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
        "optimizer": [
            (
                p * 4,
                "Adam keeps two values per parameter (momentum and velocity), momentum one",
                "memory-adam-counted-once",
            ),
            (0, "this optimizer keeps state for every parameter", "memory-optimizer-state-missing"),
            (2 * p, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
    }
    params = _expect_parameter_parts(full, text, _parameters_accepted(env, SMALL_NET, p), 4, 2, suspects)
    _expect_part(
        full,
        "activations",
        text,
        180,
        "5 examples x (4 + 3 + 2) values, the input layer's included, x 4 bytes",
        [
            (100, "the input layer's activations must be stored too", "memory-input-activations-missing"),
            (140, "the output layer's activations must be stored too", "memory-output-activations-missing"),
            (
                36,
                "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
                "memory-activations-ignore-batch",
            ),
            (45, "it should be in bytes: each value takes bytes_per_value bytes", "memory-not-in-bytes"),
        ],
    )
    return full, params


def _check_memory_optimizers(env: Mapping, full: dict) -> None:
    """The optimizer decides the state, and nothing else (``full``: the answer at Adam)."""
    for optimizer, values in (("momentum", 1), ("sgd", 0)):
        text, other = _memory_call(env, SMALL_NET, 5, optimizer=optimizer)
        if not same(other["optimizer"], values * full["weights"]):
            why, mistake = suspect(
                other["optimizer"],
                [
                    (0, "this optimizer keeps state for every parameter", "memory-optimizer-state-missing"),
                    (full["weights"], "plain SGD keeps no state", "memory-sgd-given-state"),
                    (
                        full["optimizer"],
                        "the state per parameter depends on the optimizer: see OPTIMIZER_STATE_PER_PARAM",
                        "memory-state-ignores-optimizer",
                    ),
                ],
                "see OPTIMIZER_STATE_PER_PARAM",
            )
            explain(
                f"{text}['optimizer'] is {show(other['optimizer'])}; {optimizer} keeps {values} value(s) per "
                f"parameter, so expected {values} x the weights ({show(full['weights'])})",
                why,
                mistake,
            )
        changed = [k for k in ("weights", "gradients", "activations") if not same(other[k], full[k])]
        if changed:
            fail(f"{text} changes the {' and the '.join(changed)}; the optimizer decides only the optimizer state.")


def _check_memory_doubled_batch(env: Mapping, full: dict) -> None:
    """Doubling the batch changes only the activations (``full``: the answer at batch 5)."""
    text, doubled = _memory_call(env, SMALL_NET, 10)
    if not same(doubled["activations"], 2 * full["activations"]):
        explain(
            f"{text}['activations'] is {show(doubled['activations'])}, and at batch 5 it is {show(full['activations'])}",
            "it should grow in proportion to batch_size: every example in the batch keeps its own activations",
            "memory-activations-ignore-batch" if same(doubled["activations"], full["activations"]) else None,
        )
    changed = [k for k in ("weights", "gradients", "optimizer") if not same(doubled[k], full[k])]
    if changed:
        fail(
            f"{text} changes the {' and the '.join(changed)} from batch 5; doubling the batch changes only the "
            "activations (the weights, their gradients and the optimizer state are the same for any batch)."
        )


def _check_memory_fp16(env: Mapping, full: dict) -> None:
    """FP16 halves every part (``full``: the answer at FP32)."""
    text, half = _memory_call(env, SMALL_NET, 5, 2)
    for key in MEMORY_KEYS:
        if not same(half[key], full[key] / 2):
            explain(
                f"{text}[{key!r}] is {show(half[key])}, and at 4 bytes per value it is {show(full[key])}",
                "FP16 halves every part: it should use bytes_per_value (FP16 values take 2 bytes)",
                "memory-fp32-hard-coded" if same(half[key], full[key]) else None,
            )


def check_training_memory(env: Mapping) -> None:
    """Public: training_memory and inference_memory in bytes, against the docstring's example and a
    two-layer network worked by hand, and their invariants: doubling the batch changes only the
    activations, FP16 halves every part, the optimizer decides the state (SGD 0, momentum 1, Adam 2
    values per parameter), inference holds the weights and one batch of activations."""
    _check_memory_docstring_example(env)
    full, params = _check_memory_by_hand(env)
    _check_memory_optimizers(env, full)
    _check_memory_doubled_batch(env, full)
    _check_memory_fp16(env, full)
    expect_value_error(env, "training_memory", list(SMALL_NET), 5, optimizer="rmsprop")
    expect_value_error(env, "training_memory", list(SMALL_NET), 0)
    _check_inference_memory(env, params)


def _check_inference_memory(env: Mapping, params: int) -> None:
    """inference_memory: the weights and the activations of one batch, in bytes, growing with the
    batch and following bytes_per_value."""
    weights = 4 * params
    cases = [
        ({}, weights + 36, "1 example x (4 + 3 + 2) values x 4 bytes"),
        ({"batch_size": 5}, weights + 180, "5 examples x (4 + 3 + 2) values x 4 bytes"),
        ({"bytes_per_value": 2}, weights / 2 + 18, "at 2 bytes per value, 1 example x (4 + 3 + 2) values x 2 bytes"),
    ]
    at_batch_1 = None
    for kwargs, by_hand, working in cases:
        text = describe_call("inference_memory", (list(SMALL_NET),), kwargs)
        got = expect_number(call(env, "inference_memory", list(SMALL_NET), **kwargs), text)
        batch, bpv = kwargs.get("batch_size", 1), kwargs.get("bytes_per_value", 4)
        mine = own(lambda: _memory_call(env, SMALL_NET, batch, bpv, "sgd")[1])  # noqa: B023 - used at once
        agrees = same(got, by_hand) or (mine is not None and same(got, mine["weights"] + mine["activations"]))
        if not agrees:
            w, a = weights * bpv / 4, by_hand - weights * bpv / 4
            why, mistake = suspect(
                got,
                [
                    (
                        at_batch_1 if batch != 1 else None,
                        "the activations should grow with batch_size",
                        "inference-batch-ignored",
                    ),
                    (at_batch_1 if bpv != 4 else None, "it should use bytes_per_value", "memory-fp32-hard-coded"),
                    (2 * w + a, "inference keeps no gradients", "inference-keeps-gradients"),
                    (w, "inference still holds the activations of the batch", "inference-no-activations"),
                    (a, "inference still holds the weights", "inference-no-weights"),
                    (by_hand / constants.BYTES_PER_KIB, "it should be in bytes, not KiB", None),
                ],
                "it should be the weights plus the activations of one batch, in bytes",
            )
            explain(
                f"{text} returned {show(got)}; worked by hand it is {show(by_hand)} ({params} parameters x "
                f"{bpv:g} bytes of weights + {working} of activations)",
                why,
                mistake,
            )
        if not kwargs:
            at_batch_1 = got
