"""The public checks behind ``grader.check(...)`` in Lab 05, one per question.

Public checks test the shape, type and sanity of each answer: that it is a number of the right
kind, that it behaves sensibly when an argument changes, that it agrees with the examples in the
docstrings and with the student's own other functions. They hold no reference values; the
autograder's hidden tests compare with the reference after submission. Both build on
:mod:`lab05.assertions`, which calls the student's code under a time limit and words failures.

Modules, in the order of the notebook: :mod:`~lab05.checks.act1` (the transistor tax, the
sigmoid's derivative, gradient decay, the reflection), :mod:`~lab05.checks.act2_memory`
(parameters and MACs, training and inference memory), :mod:`~lab05.checks.act2_width` (the
widest trainable network, the reflection, doubling the batch), :mod:`~lab05.checks.closing`
(the deployment answer, the Design Ledger). The notebook's test cells call ``checks.check_<question>``
from here; ``TIME_LIMIT_S`` (defined in :mod:`lab05.assertions`) is the time limit each call of a
check gets, which trusted scoring reads from here too.
"""

from lab05.assertions import TIME_LIMIT_S
from lab05.checks.act1 import (
    check_act1_reflection,
    check_gradient_decay,
    check_sigmoid_derivative,
    check_transistor_tax,
)
from lab05.checks.act2_memory import check_parameters_and_macs, check_training_memory
from lab05.checks.act2_width import check_act2_reflection, check_batch_doubling, check_max_trainable_width
from lab05.checks.closing import check_deployment, check_design_ledger

__all__ = [
    "TIME_LIMIT_S",
    "check_act1_reflection",
    "check_act2_reflection",
    "check_batch_doubling",
    "check_deployment",
    "check_design_ledger",
    "check_gradient_decay",
    "check_max_trainable_width",
    "check_parameters_and_macs",
    "check_sigmoid_derivative",
    "check_training_memory",
    "check_transistor_tax",
]
