"""lab05.displays.measure: Act 2's anchor, and the closing section's NumPy measurements.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import lab05_reference as ref
import numpy as np
import pytest
from figures import CLEAN_FIGURES, check_figure

from lab05 import displays
from lab05.constants import LEARNING_STALLS_BELOW, MNIST_BATCH_SIZE, MNIST_LAYER_SIZES
from lab05.displays import common, measure

pytestmark = CLEAN_FIGURES


def test_weights_anchor_rounds_the_arrays_size_to_whole_kib(capsys):
    result = displays.weights_anchor.__wrapped__()
    out = capsys.readouterr().out
    assert result["weights_kib"] == 427, f"input: MNIST; expected about 427 KiB (437,544 B), got {result}"
    assert "about 427 KiB" in out and "427.29" not in out, f"expected the rounded anchor only, got {out!r}"


def test_measured_training_step_counts_what_the_ledger_models(tmp_path, capsys):
    fig = displays.measured_training_step_figure.__wrapped__(ref.training_memory)
    check_figure(fig, tmp_path, "measured_training_step_figure")
    out = capsys.readouterr().out
    step = measure.measured_training_step(ref.training_memory)
    expected = ref.training_memory(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    assert step.measured == expected, (
        f"input: MNIST, batch 32, FP32, Adam; expected nbytes {expected}, got {step.measured}"
    )
    shapes = [shape for _name, shape in step.kept_for_backward]
    assert shapes == [(32, 784), (32, 128), (32, 64), (32, 10)], (
        f"expected the input and every layer kept, got {shapes}"
    )
    assert step.transient_bytes == 4 * 32 * (64 + 128), (
        f"expected the largest pair of temporaries, got {step.transient_bytes}"
    )
    assert np.isfinite([step.loss_before, step.loss_after]).all() and step.loss_after < step.loss_before, (
        f"expected one Adam step to lower the batch's loss, got {step.loss_before} -> {step.loss_after}"
    )
    for text in ("1,876,384 B", "byte for byte", "never computed"):
        assert text in out, f"expected {text!r} printed, got {out!r}"


def test_measured_training_step_shows_where_a_model_differs():
    def no_input_activations(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
        memory = ref.training_memory(layer_sizes, batch_size, bytes_per_value, optimizer)
        memory["activations"] -= batch_size * layer_sizes[0] * bytes_per_value
        memory["total"] -= batch_size * layer_sizes[0] * bytes_per_value
        return memory

    step = measure.measured_training_step(no_input_activations)
    got = step.differences
    assert got["activations"] == 32 * 784 * 4 and got["weights"] == 0, (
        f"input: a model without the input's activations; expected +100,352 B of activations only, got {got}"
    )


def test_depth_experiment_sigmoid_stays_flat_under_the_bound(tmp_path, capsys):
    fig = displays.depth_experiment_figure.__wrapped__(ref.gradient_bound, ref.stall_depth)
    check_figure(fig, tmp_path, "depth_experiment_figure")
    out = capsys.readouterr().out
    experiment = measure.depth_experiment(ref.gradient_bound, 10)
    sigmoid, relu = experiment.sigmoid, experiment.relu
    assert abs(sigmoid.loss_change) < common.FLAT_LOSS_BELOW, f"expected a flat sigmoid loss, got {sigmoid.losses}"
    assert relu.loss_change < -0.1, f"expected the ReLU stack's loss at least 10% lower, got {relu.losses}"
    bound = [ref.gradient_bound(k) for k in range(1, 11)]
    assert np.all(sigmoid.gradient_ratios <= bound), (
        f"expected every sigmoid layer's gradient under 0.25^k, got {sigmoid.gradient_ratios} against {bound}"
    )
    assert experiment.under_bound and sigmoid.largest_stretch == pytest.approx(1.0), f"got {sigmoid.largest_stretch}"
    assert np.all(relu.gradient_ratios > 0.1), (
        f"expected the ReLU stack to pass its gradient on, got {relu.gradient_ratios}"
    )
    assert "sigmoid  loss" in out and "(flat)" in out and "every layer sits under the bound" in out, f"got {out!r}"


def test_the_depth_experiment_uses_the_students_stall_depth():
    calls = []

    def stall_depth(threshold=1e-6, max_derivative=0.25):
        calls.append(threshold)
        return 4

    fig = displays.depth_experiment_figure.__wrapped__(ref.gradient_bound, stall_depth)
    assert calls == [LEARNING_STALLS_BELOW], f"expected stall_depth(1e-6) called once, got {calls}"
    assert len(fig.axes[1].get_lines()[0].get_xdata()) == 4, "input: stall_depth 4; expected a 4-layer stack"
