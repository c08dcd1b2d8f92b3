"""Hidden tests of Act 2's width search: max_trainable_width on the devices, settings and large budgets.

A width that is right for the student's own training_memory (a model of it that fits its graded
answers, :mod:`lab05_autograder.upstream`) is accepted as well.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import lab05_reference as ref

from lab05 import constants
from lab05.assertions import call, describe_call, expect_whole, fail

from .. import upstream
from .act2_memory import own_memory_model
from .scaffold import Hint, explain, rng, run_cases


def width_call(env: dict, budget, batch: int = 32, bpv: float = 4, opt: str = "adam"):
    kwargs = {}
    if batch != 32:
        kwargs["batch_size"] = batch
    if bpv != 4:
        kwargs["bytes_per_value"] = bpv
    if opt != "adam":
        kwargs["optimizer"] = opt
    text = describe_call("max_trainable_width", (budget,), kwargs)
    return text, expect_whole(call(env, "max_trainable_width", budget, **kwargs), text)


#: The mistake of a width search that ignores one of its arguments, by argument.
IGNORED_ARGUMENT_MISTAKES = {
    "batch_size": "width-batch-size-ignored",
    "bytes_per_value": "width-precision-ignored",
    "optimizer": "width-optimizer-ignored",
}


def _width_hint(got: int, budget, batch, bpv, opt) -> Hint:
    expected = ref.max_trainable_width(budget, batch, bpv, opt)
    ignored = [
        name
        for name, value in (
            ("batch_size", ref.max_trainable_width(budget, 32, bpv, opt)),
            ("bytes_per_value", ref.max_trainable_width(budget, batch, 4, opt)),
            ("optimizer", ref.max_trainable_width(budget, batch, bpv, "adam")),
        )
        if got == value != expected
    ]
    if len(ignored) == 1:
        return Hint(
            f"the {ignored[0]} argument seems to be ignored: the wall moves with it",
            IGNORED_ARGUMENT_MISTAKES[ignored[0]],
        )
    if got > expected:
        return Hint(
            "that width does not fit: the answer is the largest width whose training memory is at most the budget",
            "width-does-not-fit",
        )
    if expected >= 2 and (got == expected - 1 or (got == expected - 2 and expected % 2 == 1)):
        at_wall = ref.training_memory(constants.challenge_layer_sizes(expected), batch, bpv, opt)["total"] == budget
        strict = (
            "a width whose training memory equals the budget exactly still fits: it must be at most "
            "the budget (<=), not strictly below it"
        )
        if at_wall and expected % 2 == 0 and got == expected - 1:
            return Hint(strict, "width-strictly-below-budget")
        if at_wall:
            return Hint(
                f"a wider network still fits: check the edge of your search ({strict}; and odd widths count too)",
                "width-edge-of-search",
            )
        return Hint(
            "a wider network still fits; check the edge of your search (every width counts, odd ones too)",
            "width-edge-of-search",
        )
    return Hint("a wider network still fits within this budget")


def _own_width_check(env: Mapping):
    """``right(got, budget, batch, bpv, opt)``: whether ``got`` is the width the reference's search
    gives on the student's own training_memory (a model of it that fits its graded answers), so that
    a training_memory mistake costs its own question once. Fitted once, on first use."""
    model = functools.cache(lambda: own_memory_model(env))

    def right(got, budget, batch=32, bpv=4, opt="adam") -> bool:
        return model() is not None and got == upstream.model_max_width(model(), budget, batch, bpv, opt)

    return right


def test_max_width_devices(env: dict) -> None:
    """max_trainable_width matches the reference for the four devices (batch 32, FP32, Adam), and for
    the laptop GPU at every batch size the lab offers (the ledger records one of them)."""
    own = _own_width_check(env)

    def one(budget, batch=32):
        text, got = width_call(env, budget, batch)
        if got != ref.max_trainable_width(budget, batch) and not own(got, budget, batch):
            fail(explain(f"{text} returned {got}", _width_hint(got, budget, batch, 4, "adam")))

    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    run_cases(
        env,
        (one, constants.DEVICE_BUDGETS_BYTES.values()),
        (one, [(laptop, b) for b in constants.BATCH_SIZE_CHOICES if b != constants.MNIST_BATCH_SIZE]),
    )


def test_max_width_settings(env: dict) -> None:
    """max_trainable_width follows batch size, precision and optimizer, and is exact at the wall."""
    gen = rng()
    cases = []
    for width in (4097, 1024, 255, 17, 3, 2):  # budgets exactly at, just under and just over walls
        for batch, bpv, opt in ((32, 4, "adam"), (1, 2, "sgd"), (256, 4, "momentum")):
            total = ref.training_memory(constants.challenge_layer_sizes(width), batch, bpv, opt)["total"]
            cases += [(total, batch, bpv, opt), (total - 1, batch, bpv, opt), (total + 1, batch, bpv, opt)]
    for _ in range(10):
        cases.append(
            (
                int(10 ** gen.uniform(4, 11)),
                int(gen.choice([1, 8, 64, 128, 1024])),
                int(gen.choice([2, 4])),
                str(gen.choice(["sgd", "momentum", "adam"])),
            )
        )
    cases.append((ref.training_memory([784, 2, 1, 10], 32)["total"] - 1, 32, 4, "adam"))  # nothing fits

    own = _own_width_check(env)

    def one(budget, batch, bpv, opt):
        text, got = width_call(env, budget, batch, bpv, opt)
        expected = ref.max_trainable_width(budget, batch, bpv, opt)
        if got != expected and not own(got, budget, batch, bpv, opt):
            why = (
                Hint(
                    "not even the smallest network (W = 2) fits this budget, so the answer is 0",
                    "width-nothing-fits-not-zero",
                )
                if expected == 0
                else _width_hint(got, budget, batch, bpv, opt)
            )
            fail(explain(f"{text} returned {got}", why))

    run_cases(env, (one, cases))


def test_max_width_large_budget(env: dict) -> None:
    """max_trainable_width answers within the time limit for budgets up to 1 TiB."""

    own = _own_width_check(env)

    def one(budget):
        text, got = width_call(env, budget)
        if got != ref.max_trainable_width(budget) and not own(got, budget):
            fail(explain(f"{text} returned {got}", _width_hint(got, budget, 32, 4, "adam")))

    run_cases(env, (one, (1024**4, 300 * constants.BYTES_PER_GIB)))
