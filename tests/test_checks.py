"""The public and hidden checks, called directly (without Otter) on reference and broken code."""

from __future__ import annotations

import inspect
import math

import lab05_reference as ref
import numpy as np
import pytest
from lab05_autograder import hidden

import lab05.ledger
from lab05 import assertions, checks, constants
from tools.build.reference import reference_environment

PUBLIC = [f for name, f in inspect.getmembers(checks, inspect.isfunction) if name.startswith("check_")]
HIDDEN = [f for name, f in inspect.getmembers(hidden, inspect.isfunction) if name.startswith("test_")]
ANSWERS = dict(
    act1_prediction="C",
    act2_estimate_kib=900,
    batch_doubling_explanation="Only activations grow.",
    activation_choice="relu",
    batch_size_chosen=64,
    **hidden.ANSWERS,  # the best answer to each multiple-choice question
)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A notebook namespace holding the reference answers, with its ledger written in tmp_path."""
    monkeypatch.chdir(tmp_path)
    namespace = reference_environment()
    namespace.update(ANSWERS)
    recorded = {k: v for k, v in namespace.items() if k not in hidden.GRADED_FUNCTIONS}
    assert lab05.ledger.record_design(
        training_memory=ref.training_memory, max_trainable_width=ref.max_trainable_width, **recorded
    )
    return namespace


@pytest.mark.parametrize("check", PUBLIC + HIDDEN, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_reference_answers_pass_every_check(env, check):
    check(env)


@pytest.mark.parametrize("check", PUBLIC, ids=lambda f: f.__name__)
def test_public_checks_fail_on_the_blank_notebook(env, check):
    for name in hidden.GRADED_FUNCTIONS:
        env[name] = _stub
    for name in ANSWERS:
        env[name] = None
    env["batch_doubling_ratio"] = Ellipsis
    lab05.ledger.LAST_WRITTEN.clear()
    with pytest.raises(assertions.CheckFailed):
        check(env)


def _stub(*args, **kwargs):
    raise NotImplementedError("your code here")


def test_a_stub_is_reported_once_as_a_stub(env):
    env["training_memory"] = _stub
    with pytest.raises(assertions.CallBroken) as info:
        hidden.test_training_memory_total(env)
    message = str(info.value)
    assert "still a stub" in message and message.count("\n") == 0, message


@pytest.mark.parametrize(
    "returned, words",
    [
        (None, "expected a number"),
        ("50", "expected a number"),
        (float("nan"), "finite"),
        (True, "expected a number"),
    ],
)
def test_a_wrong_kind_of_answer_names_the_call_and_what_came_back(env, returned, words):
    env["transistor_tax"] = lambda activation, baseline="relu": returned
    with pytest.raises(assertions.CheckFailed) as info:
        checks.check_transistor_tax(env)
    message = str(info.value)
    assert "transistor_tax('relu')" in message and words in message, message


@pytest.mark.parametrize(
    "returned, words",
    [
        ([1, 2], "expected 1, one per layer"),
        ({"weights": 1}, "missing"),
        ("lots", "expected a dict"),
    ],
)
def test_wrong_shapes_are_explained(env, returned, words):
    env["layer_macs"] = lambda sizes: returned
    env["training_memory"] = lambda *a, **k: returned
    check = checks.check_parameters_and_macs if isinstance(returned, list) else checks.check_training_memory
    with pytest.raises(assertions.CheckFailed) as info:
        check(env)
    assert words in str(info.value), str(info.value)


def test_a_loop_that_never_ends_is_called_once_and_reported(env, monkeypatch):
    monkeypatch.setattr(assertions, "TIME_LIMIT_S", 0.2)
    calls = []

    def stall_depth(threshold=1e-6, max_derivative=0.25):
        calls.append(threshold)
        while True:
            pass

    env["stall_depth"] = stall_depth
    with pytest.raises(assertions.CallBroken) as info:
        hidden.test_stall_depth(env)
    assert "did not return within 0.2 s" in str(info.value), str(info.value)
    assert len(calls) == 1, f"the looping function was called {len(calls)} times; expected once"


def test_overflow_warnings_fail_the_check(env):
    def naive(x):
        s = 1 / (1 + np.exp(-np.asarray(x, dtype=float)))
        return s * (1 - s)

    env["sigmoid_derivative"] = naive
    with pytest.raises(assertions.CheckFailed) as info:
        checks.check_sigmoid_derivative(env)
    assert "overflow" in str(info.value), str(info.value)


def test_a_mistake_in_one_function_does_not_fail_the_functions_that_call_it(env):
    env["parameter_count"] = lambda sizes: sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))  # no biases
    with pytest.raises(assertions.CheckFailed, match="biases"):
        hidden.test_parameter_count(env)
    # The student's training_memory and max_trainable_width look their callees up in the notebook.
    exec(
        "from lab05.constants import *\nfrom lab05.validate import *\n"
        + inspect.getsource(ref.training_memory)
        + "\n"
        + inspect.getsource(ref.max_trainable_width),
        env,
    )
    for check in (
        hidden.test_training_memory_parameters,
        hidden.test_training_memory_total,
        hidden.test_max_width_devices,
    ):
        check(env)
    mnist = list(constants.MNIST_LAYER_SIZES)
    assert env["parameter_count"](mnist) != ref.parameter_count(mnist), (
        "the hidden tests must leave the student's own function in place"
    )


def test_hidden_messages_describe_the_behaviour_without_the_reference_value(env):
    def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
        out = ref.training_memory(layer_sizes, batch_size, bytes_per_value, optimizer)
        out["activations"] = sum(layer_sizes[1:]) * batch_size * bytes_per_value  # input layer forgotten
        out["total"] = sum(v for k, v in out.items() if k != "total")
        return out

    env["training_memory"] = training_memory
    with pytest.raises(assertions.CheckFailed) as info:
        hidden.test_training_memory_activations(env)
    message = str(info.value)
    assert "input layer" in message, message
    expected = ref.training_memory(list(constants.MNIST_LAYER_SIZES), 1, 4, "sgd")["activations"]
    assert str(expected) not in message and f"{expected:,}" not in message, message


def test_a_ledger_left_from_another_session_is_refused(env):
    lab05.ledger.LAST_WRITTEN.clear()
    with pytest.raises(assertions.CheckFailed, match="not written by this run"):
        checks.check_design_ledger(env)


def test_a_stale_ledger_value_is_named(env):
    env["batch_size_chosen"] = 128
    with pytest.raises(assertions.CheckFailed, match="batch_size_chosen"):
        hidden.test_ledger_answers(env)


def test_reflections_accept_any_case_and_spacing(env):
    best = hidden.ANSWERS["act1_failure_mode"]
    env["act1_failure_mode"] = f"  {best.capitalize()} "
    hidden.test_act1_failure_mode(env)
    env["act1_failure_mode"] = next(mode for mode in assertions.FAILURE_MODES if mode != best)
    with pytest.raises(assertions.CheckFailed, match="not the best answer"):
        hidden.test_act1_failure_mode(env)


def test_batch_doubling_accepts_the_students_own_consistent_answer(env):
    def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
        out = ref.training_memory(layer_sizes, batch_size, bytes_per_value, optimizer)
        out["total"] += 1000  # a wrong memory model, already penalised in its own question
        return out

    env["training_memory"] = training_memory
    mnist = list(constants.MNIST_LAYER_SIZES)
    env["batch_doubling_ratio"] = training_memory(mnist, 64)["total"] / training_memory(mnist, 32)["total"]
    hidden.test_batch_doubling(env)
    env["batch_doubling_ratio"] = 2.0
    with pytest.raises(assertions.CheckFailed, match="compute it from training_memory"):
        hidden.test_batch_doubling(env)
    assert not math.isclose(env["batch_doubling_ratio"], 1.067)


@pytest.mark.parametrize("value, words", [(Ellipsis, "batch_doubling_ratio is Ellipsis"), (float("inf"), "is inf")])
def test_a_variable_is_described_as_holding_a_value_not_returning_it(env, value, words):
    env["batch_doubling_ratio"] = value
    for check in (checks.check_batch_doubling, hidden.test_batch_doubling):
        with pytest.raises(assertions.CheckFailed) as info:
            check(env)
        message = str(info.value)
        assert words in message and "returned" not in message, f"input: {value!r}; expected {words!r}, got {message!r}"


@pytest.mark.parametrize(
    "mistake, edit",
    [
        ("momentum keeps no state", ("OPTIMIZER_STATE_PER_PARAM[optimizer]", '(2 if optimizer == "adam" else 0)')),
        ("an answer in MiB", ("    return memory\n", "    return {k: v / 1024**2 for k, v in memory.items()}\n")),
        ("Adam counted once", ("OPTIMIZER_STATE_PER_PARAM[optimizer]", '(optimizer != "sgd")')),
    ],
)
def test_a_training_memory_mistake_costs_the_width_search_nothing(env, mistake, edit):
    """max_trainable_width built on the student's own training_memory is right for it (lab05_autograder.upstream)."""
    source = inspect.getsource(ref.training_memory)
    assert edit[0] in source, f"the reference's training_memory no longer holds {edit[0]!r}"
    exec(
        "from lab05.constants import *\nfrom lab05.validate import *\n"
        + source.replace(edit[0], edit[1])
        + "\n"
        + inspect.getsource(ref.max_trainable_width),
        env,
    )
    for check in (hidden.test_max_width_devices, hidden.test_max_width_settings, hidden.test_max_width_large_budget):
        try:
            check(env)
        except assertions.CheckFailed as exc:
            pytest.fail(f"input: a training_memory where {mistake}; {check.__name__} failed: {str(exc)[:300]}")
