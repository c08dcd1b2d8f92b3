"""The reference module reproduces every figure of FACTS.md (the numbers the lab grades against)."""

import math
import re

import lab05_reference as ref
import numpy as np
import pytest

from lab05.constants import BYTES_PER_KIB, BYTES_PER_MIB, DEVICE_BUDGETS_BYTES, MNIST_LAYER_SIZES, challenge_layer_sizes
from tools.layout import ASSIGNMENT, HANDOUT, NOTEBOOK, SOLUTIONS

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


# ---------------------------------------------------------------------------------------------
# The executed solution states the figures students see (FACTS.md items 6 and 7, "Memory
# hierarchy"): each pinned in the printed output of the display cell that shows it.
# ---------------------------------------------------------------------------------------------
SOLUTION_NOTEBOOK = SOLUTIONS / NOTEBOOK


def printed_by(call: str) -> str:
    """What the executed solution printed in the one code cell that contains ``call``."""
    import nbformat

    nb = nbformat.read(str(SOLUTION_NOTEBOOK), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and call in c.source]
    assert len(cells) == 1, (
        f"input: {call!r}; expected one cell of {SOLUTION_NOTEBOOK.name} calling it, got {len(cells)}"
    )
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


SOLUTION_FIGURES = {
    "backward pass (item 6)": (
        "displays.compute_waterfall_figure(",
        [
            r"forward pass\s+6,987,776 FLOPs",
            r"backward pass\s+7,553,024 FLOPs  = 1\.08x forward",
            r"input gradients\s+565,248 FLOPs",
            r"total\s+15,634,660 FLOPs  = 2\.24x forward",
            r"layer 1's input gradient \(6,422,528 FLOPs\): a backward pass of 13,975,552 FLOPs \(2\.00x\)",
            r"Layer 1 does 91\.9% of the MACs",
            r"W =  4,096: layer 1 does 27\.6% of the MACs; backward 1\.72x forward",
        ],
    ),
    "like with like (item 7)": (
        "displays.gradient_decay_figure(",
        [r"at its best \(x = 0\)\s+0\.250\s+1\.000", r"saturated \(x = ±2\)\s+0\.105\s+0\.071"],
    ),
    "memory hierarchy": (
        "displays.memory_hierarchy_summary(",
        [
            r"L1 data cache\s+64 KiB\s+about 1 ns",
            r"L2 cache\s+512 KiB - 2 MiB\s+3-5 ns",
            r"L3 cache\s+8 MiB - 64 MiB\s+10-20 ns",
            r"main memory \(DRAM\)\s+GiBs\s+about 100 ns",
            r"Main memory answers 100x later than L1",
            r"activations of 784 → 128 → 64 → 10, batch 32\s+123\.25 KiB\s+L2 cache",
            r"all of its training state \(batch 32\)\s+1\.79 MiB\s+L2 or L3 cache",
            r"784 → 4096 → 2048 → 10\s+178\.25 MiB\s+main memory \(DRAM\)",
        ],
    ),
    "dying ReLU": ("displays.dying_relu_figure(", [r"10-40% of its 192 hidden units is about 19 to 77 units"]),
    "measured training step": (
        "displays.measured_training_step_figure(",
        [r"total\s+1,876,384 B\s+1,876,384 B\s+\+0 B", r"matches the arrays byte for byte"],
    ),
    "deep stacks": (
        "displays.depth_experiment_figure(",
        [
            r"sigmoid\s+loss [\d.]+ → [\d.]+ \(flat\)",
            r"every layer sits under the bound",
            r"your bound for 10 layers is 9\.54e-7",
        ],
    ),
    "batch doubling": ("displays.batch_scaling_figure(", [r"batch 32 → 64 grows training memory 1\.067x"]),
    "Act 2 anchor": ("displays.weights_anchor(", [r"take about 427 KiB"]),
    "Act 2 multiple": ("displays.act2_reveal(", [r"training takes 4\.29x", r"an upper bound"]),
}


@pytest.mark.parametrize("figure", sorted(SOLUTION_FIGURES))
def test_the_executed_solution_states_the_figure(figure):
    call, patterns = SOLUTION_FIGURES[figure]
    out = printed_by(call)
    for pattern in patterns:
        assert re.search(pattern, out), f"input: {figure} ({call}); expected a line matching {pattern!r}, got {out!r}"


@pytest.mark.parametrize("question", ["act1_reflection", "act2_reflection", "deployment"])
def test_the_executed_solution_explains_each_reflection(question):
    out = printed_by(f'displays.reflection_feedback("{question}"')
    assert "the best answer." in out and 'Why "' in out, f"input: {question}; expected the explanation, got {out!r}"


def test_the_handout_holds_no_instruction_to_run_checks_or_export():
    import nbformat

    nb = nbformat.read(str(SOLUTIONS / HANDOUT), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    found = [w for w in ("grader.check", "export", "Gradescope", "## Submit", "public checks") if w in text]
    assert not found, f"input: {HANDOUT}; expected no instruction to run checks or export, got {found}"
    master = nbformat.read(str(ASSIGNMENT / NOTEBOOK), as_version=4)
    tagged = [c for c in master.cells if "student-only" in c.metadata.get("tags", [])]
    assert len(tagged) == 3, f"expected the three student-only cells (checks, submit, export), got {len(tagged)}"
