"""The mistakes the hidden tests recognise, by id: the table the class report counts.

A failure message that recognises one ends with `` [mistake: <id>]`` (:data:`MISTAKE_TAG`). The
README's table of mistakes lists the same ids, in the same order, with the same words; the batch
grader's report (``tools/grading/mistakes.py``) reads this table from the bundle without running it, so it
stays a literal dict.
"""

from __future__ import annotations

import re

#: The mistakes the hidden tests recognise: id -> what the student did. A failure message that
#: recognises one ends with `` [mistake: <id>]``. The README's table of mistakes lists the same.
MISTAKES: dict[str, str] = {
    "tax-ratio-inverted": "transistor_tax divides the baseline's count by the activation's (the ratio inverted)",
    "tax-baseline-ignored": "transistor_tax ignores its baseline argument (always compares with ReLU)",
    "tax-count-not-ratio": "transistor_tax returns the activation's transistor count, not a ratio of two counts",
    "tax-integer-division": "transistor_tax divides with //, which drops the ratio's fraction",
    "extra-sign-flipped": "extra_transistors subtracts the activation's count from the baseline's (sign flipped)",
    "extra-baseline-not-subtracted": "extra_transistors does not subtract the baseline's transistors",
    "extra-one-layer-only": "extra_transistors counts the units of one layer, not of every layer",
    "extra-baseline-ignored": "extra_transistors ignores its baseline argument (always compares with ReLU)",
    "extra-ratio-not-difference": "extra_transistors uses the ratio of the two counts instead of their difference",
    "sigd-returns-sigmoid": "sigmoid_derivative returns the sigmoid itself, not its slope",
    "sigd-one-plus-sigmoid": "sigmoid_derivative computes sigmoid(x) * (1 + sigmoid(x))",
    "sigd-tanh-slope": "sigmoid_derivative returns the slope of tanh",
    "sigd-not-zero-far-out": "sigmoid_derivative is not (almost) 0 at extreme inputs such as 1,000",
    "sigd-overflows": "sigmoid_derivative overflows at extreme inputs such as -1,000 (a NumPy warning)",
    "array-not-finite": "an array of answers holds NaN or infinite elements (an overflow hidden, not avoided)",
    "array-not-elementwise": "the function fails on an array (math functions or if statements instead of NumPy)",
    "array-result-not-ndarray": "for an array it returns something other than an ndarray of the same shape",
    "number-returns-array": "for a single number it returns an array, not a number",
    "bound-max-derivative-ignored": "gradient_bound ignores its max_derivative argument (always 0.25)",
    "bound-one-layer-short": "gradient_bound multiplies one factor fewer than there are layers",
    "bound-one-layer-too-many": "gradient_bound multiplies one factor more than there are layers",
    "bound-adds-not-multiplies": "gradient_bound adds the layers' factors (max_derivative * depth), not multiplies",
    "stall-not-strict-at-exact-power": "stall_depth stops where the bound equals the threshold (<= at an exact power)",
    "stall-one-layer-early": "stall_depth returns the last depth before the bound falls below the threshold",
    "stall-one-layer-late": "stall_depth returns one depth after the first one below the threshold",
    "stall-none-below-one": "stall_depth returns None although max_derivative is below 1",
    "stall-not-none-at-or-above-one": "stall_depth returns a depth where the bound never falls (max_derivative >= 1)",
    "act1-reason-not-best": "act1_reflection_reason is not the best answer",
    "act1-failure-mode-not-best": "act1_failure_mode is not the best answer",
    "act2-reflection-not-best": "act2_reflection is not the best answer",
    "deployment-not-best": "deployment_answer is not the best answer",
    "params-biases-missing": "parameter_count forgets the biases",
    "params-biases-on-inputs": "parameter_count gives each layer biases for its inputs instead of its outputs",
    "params-input-layer-biases": "parameter_count gives the input layer biases too",
    "params-first-layer-only": "parameter_count counts the first layer only",
    "params-tuple-differs": "parameter_count counts a tuple of widths differently from a list",
    "macs-bias-counted": "layer_macs counts the bias additions as multiply-accumulates",
    "memory-in-kib": "training_memory answers in KiB instead of bytes",
    "memory-biases-missing": "training_memory's weights or gradients forget the biases",
    "memory-not-in-bytes": "training_memory counts values, not bytes (bytes_per_value left out)",
    "memory-fp32-hard-coded": "the memory model uses 4 bytes per value instead of bytes_per_value (FP16 ignored)",
    "memory-adam-counted-once": "training_memory keeps one state value per parameter for Adam instead of two",
    "memory-sgd-given-state": "training_memory gives plain SGD optimizer state",
    "memory-optimizer-state-missing": "training_memory keeps no state for an optimizer that has some",
    "memory-state-ignores-optimizer": "training_memory keeps Adam's two state values for every optimizer",
    "memory-input-activations-missing": "training_memory leaves the input layer out of the activations",
    "memory-output-activations-missing": "training_memory leaves the output layer out of the activations",
    "memory-activations-ignore-batch": "training_memory's activations do not grow with batch_size",
    "memory-total-leaves-out-a-part": "training_memory's total leaves out one of the four parts",
    "inference-keeps-gradients": "inference_memory counts gradients too",
    "inference-no-activations": "inference_memory counts the weights only, without the batch's activations",
    "inference-no-weights": "inference_memory counts the activations only, without the weights",
    "inference-batch-ignored": "inference_memory ignores batch_size",
    "width-batch-size-ignored": "max_trainable_width ignores its batch_size argument",
    "width-precision-ignored": "max_trainable_width ignores its bytes_per_value argument",
    "width-optimizer-ignored": "max_trainable_width ignores its optimizer argument",
    "width-does-not-fit": "max_trainable_width returns a width whose training memory exceeds the budget",
    "width-strictly-below-budget": "max_trainable_width rejects a width that fills the budget exactly (< for <=)",
    "width-edge-of-search": "max_trainable_width stops one or two widths short (the search's edge, or odd widths)",
    "width-nothing-fits-not-zero": "max_trainable_width does not return 0 when not even W = 2 fits",
    "batch-ratio-inverted": "batch_doubling_ratio divides the total at batch 32 by the total at batch 64",
    "batch-ratio-is-two": "batch_doubling_ratio is 2, as if all of training memory grew with the batch",
    "ledger-stale": "the ledger records values the notebook has since changed (or no longer has)",
    "ledger-width-at-default-batch": "the ledger's laptop-GPU width is at batch 32, not at the batch it records",
    "ledger-error-sign-flipped": "the ledger's estimate error is actual minus estimate (sign flipped)",
    "ledger-error-in-bytes": "the ledger's estimate error is in bytes, not KiB",
    "ledger-error-at-chosen-batch": "the ledger's estimate error is at batch_size_chosen, not batch 32",
}
#: How a message names its mistake; a student's own text is kept from looking like one
#: (:func:`lab05.assertions.error_text`, :func:`lab05.assertions.show`).
MISTAKE_TAG = re.compile(r" \[mistake: ([a-z0-9]+(?:-[a-z0-9]+)+)\]")
