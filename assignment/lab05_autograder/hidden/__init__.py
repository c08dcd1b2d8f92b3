"""Hidden tests of Lab 05: each student function against the reference implementation.

Ships in the autograder bundle only. Each ``test_*`` function is one hidden test case (the public
checks students run are ``lab05.checks.check_*``; the bundle's test files call both, these as
``hidden.test_*(env)`` after ``from lab05_autograder import hidden``). The cases are the
chapter's, edge cases (batch 1, FP16, every optimizer, thresholds that are exact powers, budgets at
and around the wall) and seeded random inputs, the same for every student. One module per act, as
``lab05/displays/`` is split:

    ``mistakes.py``      the table of mistakes the tests name (:data:`MISTAKES`)
    ``scaffold.py``      what is graded, running cases, hints, the acceptance helpers
    ``act1.py``          transistor tax, sigmoid slope, gradient decay, Act 1's choices
    ``act2_compute.py``  parameter_count, layer_macs
    ``act2_memory.py``   training_memory, inference_memory, batch doubling, Act 2's choice
    ``act2_width.py``    max_trainable_width
    ``deployment.py``    the deployment question and the Design Ledger

Principles:
    * Only the notebook's own code earns points, and no reference value ever reaches it: every
      function is tested with the notebook's own other functions in place.
    * One mistake costs points once, in the question that owns it: an answer computed from another
      graded function (a training total from ``parameter_count``, a width from
      ``training_memory``, the batch-doubling ratio, the ledger) is accepted when it agrees with
      the reference or with what the student's own upstream function gives
      (:mod:`lab05_autograder.upstream` says which upstream mistakes that covers).
    * A failure message names the call, what came back and which behaviour was wrong, never
      the reference value of a hidden case.
    * A message that recognises a known mistake ends with its id, `` [mistake: <id>]``, one of
      :data:`MISTAKES`; the batch grader's mistakes report (``tools/grading/mistakes.py``) counts
      them.
"""

from __future__ import annotations

from .. import bundle

bundle.use_bundle_files()

from .act1 import (  # noqa: E402
    BOUND_CASES,
    test_act1_failure_mode,
    test_act1_reason,
    test_extra_transistors,
    test_gradient_bound,
    test_sigmoid_derivative_robust,
    test_sigmoid_derivative_values,
    test_stall_depth,
    test_transistor_tax,
)
from .act2_compute import network_cases, test_layer_macs, test_parameter_count  # noqa: E402
from .act2_memory import (  # noqa: E402
    memory_cases,
    test_act2_reflection,
    test_batch_doubling,
    test_inference_memory,
    test_training_memory_activations,
    test_training_memory_parameters,
    test_training_memory_total,
)
from .act2_width import test_max_width_devices, test_max_width_large_budget, test_max_width_settings  # noqa: E402
from .deployment import test_deployment, test_ledger_answers, test_ledger_computed  # noqa: E402
from .mistakes import MISTAKE_TAG, MISTAKES  # noqa: E402
from .scaffold import (  # noqa: E402
    ANSWERS,
    CHOICES,
    GRADED_FUNCTIONS,
    MAX_REPORTED,
    Failures,
    Hint,
    diagnose,
    explain,
    run_cases,
    tag,
)

__all__ = [
    "ANSWERS",
    "BOUND_CASES",
    "CHOICES",
    "GRADED_FUNCTIONS",
    "MAX_REPORTED",
    "MISTAKES",
    "MISTAKE_TAG",
    "Failures",
    "Hint",
    "diagnose",
    "explain",
    "memory_cases",
    "network_cases",
    "run_cases",
    "tag",
    "test_act1_failure_mode",
    "test_act1_reason",
    "test_act2_reflection",
    "test_batch_doubling",
    "test_deployment",
    "test_extra_transistors",
    "test_gradient_bound",
    "test_inference_memory",
    "test_layer_macs",
    "test_ledger_answers",
    "test_ledger_computed",
    "test_max_width_devices",
    "test_max_width_large_budget",
    "test_max_width_settings",
    "test_parameter_count",
    "test_sigmoid_derivative_robust",
    "test_sigmoid_derivative_values",
    "test_stall_depth",
    "test_training_memory_activations",
    "test_training_memory_parameters",
    "test_training_memory_total",
    "test_transistor_tax",
]
