"""Public checks of the closing questions: the deployment answer and the Design Ledger."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lab05.ledger
from lab05 import constants
from lab05.assertions import LETTERS, expect_choice, explain, fail, own, read_fresh_ledger, same, show, suspect, tag
from lab05.checks.act2_width import training_total, width_call


def check_deployment(env: Mapping) -> None:
    """Public: the deployment answer is one of the letters."""
    expect_choice(env, "deployment_answer", LETTERS)


def check_design_ledger(env: Mapping) -> None:
    """Public: this run of the notebook wrote design_ledger.json, it matches its schema, it records
    the notebook's answers as they are now, and its numbers are what your own functions give."""
    ledger = read_fresh_ledger(env=env)
    recorded = {
        "activation_choice": ledger["activation_choice"],
        "batch_size_chosen": ledger["batch_size_chosen"],
        **ledger["predictions"],
        **ledger["reflections"],
    }
    for variable, value in recorded.items():
        mine = env.get(variable, _MISSING)
        if mine is _MISSING:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook has no `{variable}`."
                + tag("ledger-stale")
            )
        if not _recorded_as(value, mine):
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook's `{variable}` is {show(mine)}: "
                "the ledger is stale; run the cell that records your design again." + tag("ledger-stale")
            )
    _check_ledger_numbers(env, ledger)


_MISSING = object()


def _recorded_as(value: Any, mine: Any) -> bool:
    """Whether the ledger's ``value`` records the notebook's ``mine`` (as the ledger converts it)."""
    try:
        mine = lab05.ledger.json_native(mine)
    except lab05.ledger.LedgerError:
        return False
    if isinstance(value, (int, float)) and isinstance(mine, (int, float)) and not isinstance(mine, bool):
        return same(float(value), float(mine))
    if isinstance(value, str) and isinstance(mine, str):
        return value.strip().lower() == mine.strip().lower()  # choices are read with case and spaces ignored
    return value == mine


def _check_ledger_numbers(env: Mapping, ledger: dict) -> None:
    """The ledger's laptop-GPU width and estimate error are what the notebook's own functions give."""
    batch = ledger["batch_size_chosen"]
    laptop = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]
    at_batch = {} if batch == constants.MNIST_BATCH_SIZE else {"batch_size": batch}
    width = own(lambda: width_call(env, laptop, at_batch)[1])
    if width is not None and ledger["max_trainable_width_laptop_gpu"] != width:
        default = at_batch and own(lambda: width_call(env, laptop, {})[1]) == ledger["max_trainable_width_laptop_gpu"]
        fail(
            "the ledger's max_trainable_width_laptop_gpu is not the width your max_trainable_width gives for the "
            f"{constants.LAPTOP_GPU} at the batch size the ledger records ({batch}), FP32, Adam"
            + (
                f": it is the width at batch {constants.MNIST_BATCH_SIZE}." + tag("ledger-width-at-default-batch")
                if default
                else "."
            )
        )
    mnist = list(constants.MNIST_LAYER_SIZES)
    total = own(lambda: training_total(env, mnist, constants.MNIST_BATCH_SIZE))
    if total is None:
        return
    got = ledger["training_memory_estimate_error_kib"]
    estimate = float(ledger["predictions"]["act2_estimate_kib"])
    expected = estimate - constants.to_kib(total)
    if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6):
        at_chosen = own(lambda: training_total(env, mnist, batch)) if at_batch else None
        why, mistake = suspect(
            got,
            [
                (
                    -expected,
                    "the sign is flipped; it is your estimate minus the actual training memory",
                    "ledger-error-sign-flipped",
                ),
                (
                    expected * constants.BYTES_PER_KIB,
                    "that is in bytes; the ledger wants KiB (1 KiB = 1,024 bytes), like your estimate",
                    "ledger-error-in-bytes",
                ),
                (
                    None if at_chosen is None else estimate - constants.to_kib(at_chosen),
                    f"it compares your estimate with the training memory at batch_size_chosen ({batch}); it should "
                    f"use batch {constants.MNIST_BATCH_SIZE}, the setting your Act 2 estimate was about",
                    "ledger-error-at-chosen-batch",
                ),
            ],
            "it should be your estimate minus the training memory your training_memory gives for the MNIST network "
            f"at batch {constants.MNIST_BATCH_SIZE}, FP32, Adam, both in KiB",
        )
        explain(f"the ledger's training_memory_estimate_error_kib is {show(got)}", why, mistake)
