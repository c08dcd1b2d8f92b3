"""Hidden tests of the deployment question and of the Design Ledger the notebook writes."""

from __future__ import annotations

import lab05_reference as ref

import lab05.ledger
from lab05 import assertions, constants
from lab05.assertions import fail, show

from .act2_width import width_call
from .scaffold import CHOICES, MISSING, choice, close, own_answer, own_number, run_cases, tag


def test_deployment(env: dict) -> None:
    choice(env, "deployment_answer")


# ---------------------------------------------------------------------------------------------
# The Design Ledger
# ---------------------------------------------------------------------------------------------
def test_ledger_answers(env: dict) -> None:
    """The ledger records the notebook's own choices, predictions and reflections."""
    ledger = assertions.read_fresh_ledger(env=env)
    recorded = {
        "activation_choice": ledger["activation_choice"],
        "batch_size_chosen": ledger["batch_size_chosen"],
        "act1_prediction": ledger["predictions"]["act1_prediction"],
        "act2_estimate_kib": ledger["predictions"]["act2_estimate_kib"],
        **ledger["reflections"],
    }

    def same(variable, value):
        mine = env.get(variable, MISSING)
        if mine is MISSING:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook has no `{variable}`."
                + tag("ledger-stale")
            )
        try:
            mine_json = lab05.ledger.json_native(mine)
        except lab05.ledger.LedgerError:
            mine_json = mine
        if isinstance(value, float) and isinstance(mine_json, (int, float)):
            agree = close(value, float(mine_json))
        elif variable in CHOICES and isinstance(value, str) and isinstance(mine_json, str):
            agree = value.strip().lower() == mine_json.strip().lower()  # as expect_choice reads them
        else:
            agree = value == mine_json
        if not agree:
            fail(
                f"the ledger records {variable} = {show(value)}, but the notebook's `{variable}` is "
                f"{show(mine)}: the ledger is stale; run the cell that records your design again." + tag("ledger-stale")
            )

    run_cases(env, (same, recorded.items()))


def test_ledger_computed(env: dict) -> None:
    """The ledger's computed values agree with the reference (or the student's own functions)."""
    ledger = assertions.read_fresh_ledger(env=env)
    batch = ledger["batch_size_chosen"]
    budget = constants.DEVICE_BUDGETS_BYTES[constants.LAPTOP_GPU]

    def width():
        got = ledger["max_trainable_width_laptop_gpu"]
        expected = ref.max_trainable_width(budget, batch)
        # asked as test_max_width_devices asks it (and grades it): one answer for both
        own = own_answer(env, lambda: width_call(env, budget, batch)[1])
        if got != expected and got != own:
            default = batch != constants.MNIST_BATCH_SIZE and got in (
                ref.max_trainable_width(budget),
                own_answer(env, lambda: width_call(env, budget)[1]),
            )
            fail(
                f"the ledger's max_trainable_width_laptop_gpu is {got}, which is not the maximum width "
                f"for the laptop GPU at the batch size the ledger records ({batch}), FP32, Adam."
                + tag("ledger-width-at-default-batch" if default else None)
            )

    def estimate_error():
        got = ledger["training_memory_estimate_error_kib"]
        estimate = float(ledger["predictions"]["act2_estimate_kib"])
        mnist = list(constants.MNIST_LAYER_SIZES)
        actual = constants.to_kib(ref.training_memory(mnist, constants.MNIST_BATCH_SIZE)["total"])
        own_total = own_number(env, lambda: env["training_memory"](mnist, constants.MNIST_BATCH_SIZE)["total"])
        candidates = [estimate - actual]
        if own_total is not None:
            candidates.append(estimate - constants.to_kib(own_total))
        if any(close(got, c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            return
        if any(close(got, -c, rel=1e-9, abs_tol=1e-6) for c in candidates):
            fail(
                f"the ledger's training_memory_estimate_error_kib is {show(got)}: the sign is flipped; it "
                "is your estimate minus the actual training memory." + tag("ledger-error-sign-flipped")
            )
        if any(close(got, c * constants.BYTES_PER_KIB, rel=1e-9, abs_tol=1e-3) for c in candidates):
            fail(
                f"the ledger's training_memory_estimate_error_kib is {show(got)}: that is in bytes; the "
                "ledger wants KiB (1 KiB = 1,024 bytes), like your estimate." + tag("ledger-error-in-bytes")
            )
        if batch != constants.MNIST_BATCH_SIZE:
            at_batch = [
                ref.training_memory(mnist, batch)["total"],
                own_number(env, lambda: env["training_memory"](mnist, batch)["total"]),
            ]
            if any(
                t is not None and close(got, estimate - constants.to_kib(t), rel=1e-9, abs_tol=1e-6) for t in at_batch
            ):
                fail(
                    f"the ledger's training_memory_estimate_error_kib is {show(got)}: it compares your "
                    f"estimate with the training memory at batch_size_chosen ({batch}); it should use "
                    f"batch {constants.MNIST_BATCH_SIZE}, the setting your Act 2 estimate was about."
                    + tag("ledger-error-at-chosen-batch")
                )
        fail(
            f"the ledger's training_memory_estimate_error_kib is {show(got)}: it should be your estimate "
            "minus the training memory of the MNIST network at batch 32, FP32, Adam, both in KiB."
        )

    run_cases(env, (width, [()]), (estimate_error, [()]))
