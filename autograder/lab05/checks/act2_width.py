"""Public checks of Act 2's walls: the widest trainable network, the reflection, doubling the batch."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from lab05 import assertions, constants
from lab05.assertions import (
    LETTERS,
    CallTooSlow,
    call,
    describe_call,
    expect_choice,
    expect_number,
    expect_whole,
    explain,
    fail,
    own,
    same,
    show,
    suspect,
    type_name,
)
from lab05.checks.act2_memory import memory_kwargs

#: Widths where the public check puts a budget's wall, one even and one odd (the second layer,
#: W // 2, is as wide for both), and the settings it moves the wall with.
WALL_WIDTHS = (100, 101)
WALL_SETTINGS = ({"batch_size": 8}, {"bytes_per_value": 2}, {"optimizer": "sgd"})
#: A budget far beyond any device here (64 TiB): the widest network is millions of units wide, so
#: a search that tries widths one at a time takes minutes, one that halves its range milliseconds.
LARGE_BUDGET_BYTES = 64 * 1024 * constants.BYTES_PER_GIB
LARGE_BUDGET_TEXT = "64 TiB"
#: The mistake of a width search that ignores one of its arguments, by argument.
IGNORED_ARGUMENT_MISTAKES = {
    "batch_size": "width-batch-size-ignored",
    "bytes_per_value": "width-precision-ignored",
    "optimizer": "width-optimizer-ignored",
}


def _bytes(value: float) -> str:
    """A number of bytes for a message: whole numbers in full, with thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() else show(value)


def training_total(env: Mapping, layers, batch: int, bpv: float = 4, optimizer: str = "adam") -> float:
    """The "total" of the student's training_memory (what their other functions read of it)."""
    kwargs = memory_kwargs(bpv, optimizer)
    text = describe_call("training_memory", (list(layers), batch), kwargs)
    value = call(env, "training_memory", list(layers), batch, **kwargs)
    if not isinstance(value, Mapping) or "total" not in value:
        fail(f"{text} returned {show(value)} ({type_name(value)}); expected a dict with the key 'total'.")
    return expect_number(value["total"], f"{text}['total']")


def _width_total(env: Mapping, width: int, settings: Mapping) -> float:
    """Training memory of the challenge's network of ``width`` by the student's own training_memory."""
    return training_total(
        env,
        constants.challenge_layer_sizes(width),
        settings.get("batch_size", constants.MNIST_BATCH_SIZE),
        settings.get("bytes_per_value", 4),
        settings.get("optimizer", "adam"),
    )


def width_call(env: Mapping, budget, settings: Mapping, text: str | None = None) -> tuple[str, int]:
    """The call's description and the width the student's max_trainable_width gives for ``budget``."""
    shown = int(budget) if isinstance(budget, float) and budget.is_integer() else budget  # bytes, not 1.4e+06
    text = text or describe_call("max_trainable_width", (shown,), settings)
    return text, expect_whole(call(env, "max_trainable_width", budget, **settings), text)


def _expect_widest(
    env: Mapping, budget, settings: Mapping, where: str, text: str | None = None, name_it: bool = True
) -> None:
    """max_trainable_width(budget, **settings) must be the widest network that fits by the student's
    own training_memory. ``where`` says what the budget is; with ``name_it`` false (a device's
    budget) no width but the student's answer is shown and no mistake named."""
    text, got = width_call(env, budget, settings, text)
    head = f"{text} returned {got}; the budget is {where}"
    total = functools.partial(_width_total, env, settings=settings)
    if total(2) > budget:
        if got != 0:
            explain(
                head,
                "not even the smallest network (W = 2) fits it by your training_memory, so the answer is 0",
                "width-nothing-fits-not-zero",
            )
        return
    if got < 2:
        fail(f"{head}, and by your training_memory the network of width 2 fits it: expected the widest that fits.")
    ignored = None
    if len(settings) == 1 and name_it:
        (argument,) = settings
        if own(lambda: width_call(env, budget, {})[1]) == got:
            ignored = argument
    if ignored:
        why, mistake = (
            f"the {ignored} argument seems to be ignored: the wall moves with it",
            IGNORED_ARGUMENT_MISTAKES[ignored],
        )
    needed = total(got)
    if needed > budget:
        if not ignored:
            why = "the answer is the largest width whose training memory is at most the budget"
            mistake = "width-does-not-fit" if name_it else None
        explain(
            f"{head}, but by your training_memory that width needs {_bytes(needed)} bytes: that width does not fit",
            why,
            mistake,
        )
    wider = total(got + 1)
    if wider <= budget:
        if not name_it:
            fail(
                f"{head}, and by your training_memory a wider network still fits it: the answer is the largest "
                "width whose training memory is at most the budget."
            )
        if ignored:
            pass
        elif wider == budget and (got + 1) % 2 == 0 and total(got + 2) > budget:
            why = (
                "a width whose training memory equals the budget exactly still fits: it must be at most the budget "
                "(<=), not strictly below it"
            )
            mistake = "width-strictly-below-budget"
        elif total(got + 2) > budget or ((got + 2) % 2 == 1 and total(got + 3) > budget):
            why, mistake = "check the edge of your search (every width counts, odd ones too)", "width-edge-of-search"
        else:
            why, mistake = "the answer is the largest width whose training memory is at most the budget", None
        explain(
            f"{head}, and by your training_memory the width {got + 1} still fits it ({_bytes(wider)} bytes)",
            why,
            mistake,
        )


def check_max_trainable_width(env: Mapping) -> None:
    """Public: max_trainable_width is the edge of what fits by your own training_memory: at budgets
    set exactly at the walls of chosen widths (odd and even, for every setting it takes), when
    nothing fits, on the laptop GPU, and quickly even for a budget of 64 TiB."""
    _expect_widest(env, 1, {}, "1 byte")
    for width in WALL_WIDTHS:
        for settings in ({}, *WALL_SETTINGS) if width % 2 else ({},):
            narrower, budget, wider = (_width_total(env, w, settings) for w in (width - 1, width, width + 1))
            if not narrower < budget < wider:  # your training_memory does not grow with W: no wall to check
                continue
            mine = f"your training memory of the width {width} with the same settings"
            _expect_widest(env, budget, settings, f"{mine}, so {width} fits exactly")
            if narrower < budget - 1:  # in bytes, one byte less still fits the narrower network
                _expect_widest(env, budget - 1, settings, f"1 byte less than {mine}")
    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    _expect_widest(env, laptop, {}, f"the {constants.LAPTOP_GPU}'s {laptop:,} bytes", name_it=False)
    text = f"max_trainable_width({LARGE_BUDGET_BYTES}) ({LARGE_BUDGET_TEXT})"
    try:
        _expect_widest(env, LARGE_BUDGET_BYTES, {}, LARGE_BUDGET_TEXT, text=text, name_it=False)
    except CallTooSlow:
        fail(
            f"{text} did not return within {assertions.TIME_LIMIT_S:g} s. For a budget this large the widest network is "
            "millions of units wide, too many to try one at a time. Training memory grows with W, so the "
            "widths that fit form one unbroken range: double W until it no longer fits, then halve the range "
            "between the last width that fits and the first that does not until they meet."
        )


def check_act2_reflection(env: Mapping) -> None:
    """Public: the reflection answer is one of the letters."""
    expect_choice(env, "act2_reflection", LETTERS)


def check_batch_doubling(env: Mapping) -> None:
    """Public: batch_doubling_ratio is the ratio of the training totals your training_memory gives
    at batch 64 and batch 32 (FP32, Adam)."""
    if "batch_doubling_ratio" not in env:
        fail("`batch_doubling_ratio` is not defined: run the cell where you compute it.")
    ratio = expect_number(env["batch_doubling_ratio"], "batch_doubling_ratio")
    mnist = list(constants.MNIST_LAYER_SIZES)
    totals = own(lambda: [training_total(env, mnist, batch) for batch in (32, 64)])
    if totals is None or not totals[0] > 0:
        if not ratio > 1:
            fail(
                f"batch_doubling_ratio is {show(ratio)}; a larger batch needs more memory, so the ratio "
                "of the totals (batch 64 over batch 32) is above 1."
            )
        return
    mine = totals[1] / totals[0]
    if not same(ratio, mine, rel=1e-6):
        why, mistake = suspect(
            ratio,
            [
                (
                    1 / mine,
                    "the ratio is inverted; it should be the training total at batch 64 divided by the total at batch 32",
                    "batch-ratio-inverted",
                ),
                (
                    2.0,
                    "compute it from training_memory, which says how much of the total actually grows with the batch",
                    "batch-ratio-is-two",
                ),
            ],
            "it should be the training total at batch 64 divided by the total at batch 32 (FP32, Adam), as your "
            "training_memory gives them: compute it from training_memory",
        )
        explain(f"batch_doubling_ratio is {show(ratio)}", why, mistake)
