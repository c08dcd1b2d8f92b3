"""lab05.validate: the argument validators the notebook's functions call, and options named in any case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab05 import constants, validate


@pytest.mark.parametrize(
    "check, args",
    [
        (validate.validate_count, ("batch_size", True)),
        (validate.validate_count, ("batch_size", 2.5)),
        (validate.validate_count, ("batch_size", 0)),
        (validate.validate_positive, ("bytes_per_value", -4)),
        (validate.validate_positive, ("bytes_per_value", math.inf)),
        (validate.validate_fraction, ("threshold", 1)),
        (validate.validate_layer_sizes, ("784",)),
        (validate.validate_layer_sizes, ([784],)),
        (validate.validate_depths, (np.array([1, -2]),)),
        (validate.validate_depths, (1.5,)),
        (validate.validate_name, ("optimizer", "rmsprop", constants.OPTIMIZER_STATE_PER_PARAM)),
    ],
)
def test_argument_checks_reject_with_a_message_naming_what_is_accepted(check, args):
    with pytest.raises(ValueError) as info:
        check(*args)
    assert any(w in str(info.value) for w in ("must", "expected", "needs")), str(info.value)


def test_argument_checks_accept_numpy_integers_and_any_case_names():
    assert validate.validate_count("batch_size", np.int64(32)) == 32
    assert validate.validate_name("optimizer", " Adam ", constants.OPTIMIZER_STATE_PER_PARAM) == "adam"
    assert validate.validate_layer_sizes((784, np.int32(10))) == [784, 10]


@pytest.mark.parametrize(
    "value, options, expected",
    [
        (" ReLU ", ("relu", "sigmoid"), "relu"),
        ("b", ("A", "B", "C"), "B"),
        ("laptop gpu", ("H100", "Laptop GPU"), "Laptop GPU"),
        ("gelu", ("relu", "sigmoid"), None),
        (["relu"], ("relu",), None),
        (3, ("3",), None),
    ],
)
def test_an_option_is_named_with_case_and_spaces_ignored(value, options, expected):
    got = validate.matching_option(value, options)
    assert got == expected, f"matching_option({value!r}, {options}): expected {expected!r}, got {got!r}"
