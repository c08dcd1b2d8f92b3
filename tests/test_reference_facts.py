"""The reference module reproduces every figure of FACTS.md (the numbers the lab grades against)."""

import math

import lab05_reference as ref
import numpy as np
import pytest

from lab05.constants import BYTES_PER_KIB, BYTES_PER_MIB, DEVICE_BUDGETS_BYTES, MNIST_LAYER_SIZES, challenge_layer_sizes

MNIST = list(MNIST_LAYER_SIZES)


def kib(n_bytes):
    return n_bytes / BYTES_PER_KIB


def test_sigmoid_costs_fifty_relus_in_transistors():
    got = ref.transistor_tax("sigmoid")
    assert got == 50.0, f"transistor_tax('sigmoid'): expected 50.0, got {got!r}"
    assert ref.transistor_tax("tanh") == ref.transistor_tax("sigmoid"), "tanh costs about as much as sigmoid"


def test_chapter_network_pays_24_5_million_extra_transistors_for_sigmoid():
    got = ref.extra_transistors(1000, 10, "sigmoid")
    assert got == 24_500_000, f"extra_transistors(1000, 10, 'sigmoid'): expected 24,500,000, got {got:,}"


@pytest.mark.parametrize("depth, expected", [(9, 3.81e-6), (10, 9.54e-7), (20, 9.09e-13)])
def test_sigmoid_gradient_bound_quarters_each_layer(depth, expected):
    got = ref.gradient_bound(depth)
    assert math.isclose(got, expected, rel_tol=2e-3), f"gradient_bound({depth}): expected {expected}, got {got}"


def test_learning_stalls_at_depth_ten():
    assert ref.stall_depth() == 10, f"stall_depth(): expected 10, got {ref.stall_depth()}"


def test_a_bound_equal_to_the_threshold_has_not_stalled_yet():
    got = ref.stall_depth(0.25**10)
    assert got == 11, f"stall_depth(0.25**10): expected 11 (strictly below), got {got}"


def test_tanh_has_no_quarter_bound():
    assert ref.stall_depth(1e-6, max_derivative=1.0) is None, "max derivative 1 (tanh at 0) never stalls"


def test_sigmoid_derivative_peaks_at_a_quarter_and_is_finite_at_1000():
    assert ref.sigmoid_derivative(0.0) == 0.25
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = ref.sigmoid_derivative(np.array([-1000.0, 1000.0]))
    assert np.all(np.isfinite(values)) and np.all(values == 0.0), f"got {values}"


def test_mnist_parameters_and_macs():
    assert ref.parameter_count(MNIST) == 109_386, ref.parameter_count(MNIST)
    macs = ref.layer_macs(MNIST)
    assert macs == [100_352, 8_192, 640], macs
    assert sum(macs) == 109_184
    share = macs[0] / sum(macs)
    assert round(share * 100, 1) == 91.9, f"layer 1 share: expected 91.9%, got {share:.2%}"
    forward_flops = 2 * sum(macs) * 32
    assert forward_flops == 6_987_776, forward_flops


def test_mnist_training_memory_ledger():
    got = ref.training_memory(MNIST, 32)
    expected = {
        "weights": 437_544,
        "gradients": 437_544,
        "optimizer": 875_088,
        "activations": 126_208,
        "total": 1_876_384,
    }
    assert got == expected, f"training_memory(MNIST, 32): expected {expected}, got {got}"
    assert round(kib(got["weights"]), 2) == 427.29
    assert round(kib(got["optimizer"]), 2) == 854.58
    assert round(kib(got["activations"]), 2) == 123.25
    assert round(kib(got["total"]), 2) == 1_832.41
    assert round(got["total"] / BYTES_PER_MIB, 1) == 1.8


def test_training_needs_4_25x_inference_at_batch_one_and_3_33x_at_equal_batch():
    inference = ref.inference_memory(MNIST)
    assert inference == 441_488 and round(kib(inference), 2) == 431.14, inference
    total = ref.training_memory(MNIST, 32)["total"]
    assert round(total / inference, 2) == 4.25
    assert round(total / ref.inference_memory(MNIST, 32), 2) == 3.33


def test_doubling_the_batch_grows_memory_1_067x_not_2x():
    ratio = ref.training_memory(MNIST, 64)["total"] / ref.training_memory(MNIST, 32)["total"]
    assert round(ratio, 3) == 1.067, f"expected 1.067, got {ratio}"
    assert round(kib(ref.training_memory(MNIST, 64)["activations"]), 1) == 246.5


@pytest.mark.parametrize(
    "device, width", [("H100", 102_822), ("Laptop GPU", 31_975), ("Mobile GPU", 15_601), ("Microcontroller", 12)]
)
def test_max_trainable_width_per_device(device, width):
    got = ref.max_trainable_width(DEVICE_BUDGETS_BYTES[device])
    assert got == width, f"max_trainable_width({device}): expected {width:,}, got {got:,}"


def test_width_4096_needs_only_178_mib():
    total = ref.training_memory(challenge_layer_sizes(4096), 32)["total"]
    assert round(total / BYTES_PER_MIB) == 178, total / BYTES_PER_MIB


def test_layer_two_takes_over_as_the_network_widens():
    macs = ref.layer_macs(challenge_layer_sizes(4096))
    share = macs[0] / sum(macs)
    assert 0.27 < share < 0.29, f"layer 1 share at W=4096: expected about 28%, got {share:.1%}"


def test_fp16_microcontroller_runs_inference_but_cannot_train():
    budget = DEVICE_BUDGETS_BYTES["Microcontroller"]
    inference, training = ref.inference_memory(MNIST, 1, 2), ref.training_memory(MNIST, 32, 2)["total"]
    assert (inference, training) == (220_744, 938_192)
    assert inference <= budget < training
    assert ref.inference_memory(MNIST) > budget, "at FP32 even inference does not fit 256 KiB"
    mobile = DEVICE_BUDGETS_BYTES["Mobile GPU"]
    assert ref.training_memory(MNIST, 32)["total"] < mobile, "the mobile GPU trains this network"


def test_max_trainable_width_is_the_edge_for_random_budgets():
    rng = np.random.default_rng(0)
    for budget in (10 ** rng.uniform(5, 12, 25)).astype(np.int64):
        width = ref.max_trainable_width(int(budget))

        def fits(w, budget=budget):
            return ref.training_memory(challenge_layer_sizes(w), 32)["total"] <= budget

        assert width == 0 or fits(width), f"budget {budget}: width {width} does not fit"
        assert not fits(max(width + 1, 2)), f"budget {budget}: width {width + 1} also fits"


def test_max_trainable_width_answers_a_terabyte():
    assert ref.max_trainable_width(1024**4) > 300_000


@pytest.mark.parametrize(
    "call",
    [
        lambda: ref.transistor_tax("swish"),
        lambda: ref.training_memory(MNIST, 0),
        lambda: ref.training_memory(MNIST, 32, bytes_per_value=0),
        lambda: ref.training_memory(MNIST, 32, optimizer="rmsprop"),
        lambda: ref.training_memory([784, -1, 10], 32),
        lambda: ref.parameter_count([784]),
        lambda: ref.stall_depth(1.0),
        lambda: ref.stall_depth(0.0),
        lambda: ref.gradient_bound(-1),
        lambda: ref.max_trainable_width(-5),
    ],
)
def test_bad_arguments_raise_value_error_naming_what_is_accepted(call):
    with pytest.raises(ValueError) as info:
        call()
    assert any(word in str(info.value) for word in ("expected", "must", "needs")), str(info.value)
