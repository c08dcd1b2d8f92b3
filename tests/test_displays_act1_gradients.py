"""lab05.displays.act1_gradients: gradient decay, the math peek and dying ReLU.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import re

import lab05_reference as ref
import numpy as np
import pytest
from figures import CLEAN_FIGURES, check_figure, line_by_label, line_labels

from lab05 import constants, displays
from lab05.constants import LEARNING_STALLS_BELOW
from lab05.displays import act1_gradients, common

pytestmark = CLEAN_FIGURES


def test_gradient_decay_figure(tmp_path):
    fig = displays.gradient_decay_figure.__wrapped__(ref.gradient_bound, ref.stall_depth, ref.sigmoid_derivative)
    check_figure(fig, tmp_path, "gradient_decay_figure")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log", f"expected a log y axis, got {ax.get_yscale()}"
    stall_line = line_by_label(ax, "learning stalls (1e-6)")
    assert stall_line.get_ydata()[0] == LEARNING_STALLS_BELOW, (
        f"expected the stall line at {LEARNING_STALLS_BELOW}, got {stall_line.get_ydata()[0]}"
    )
    depth_line = line_by_label(ax, "stall depth = 10")
    assert depth_line.get_xdata()[0] == 10, f"expected the stall depth line at 10, got {depth_line.get_xdata()[0]}"
    marker = line_by_label(ax, "depth 10: bound 9.54e-7")
    assert marker.get_ydata()[0] == pytest.approx(0.25**10), f"expected 0.25**10, got {marker.get_ydata()[0]}"
    labels = line_labels(ax)
    assert any(label.startswith("ReLU (active units)") for label in labels), f"expected a ReLU line, got {labels}"
    sigmoid_line = line_by_label(ax, "sigmoid at its best (x = 0): (1/4)^L, the bound")
    assert sigmoid_line.get_ydata()[-1] == pytest.approx(0.25**20), (
        f"expected the sigmoid bound at depth 20 to be 0.25**20, got {sigmoid_line.get_ydata()[-1]}"
    )
    # Like with like (FACTS.md item 7): both at their best input, and both saturated at x = 2.
    pairs = {
        "tanh at its best (x = 0): (1)^L, no decay": 1.0,
        "tanh saturated (x = ±2): (0.071)^L": 1 - np.tanh(2.0) ** 2,
        "sigmoid saturated (x = ±2): (0.105)^L": ref.sigmoid_derivative(2.0),
    }
    for label, slope in pairs.items():
        got = line_by_label(ax, label).get_ydata()[:3]
        assert got == pytest.approx([slope, slope**2, slope**3]), (
            f"input: {label!r}; expected powers of {slope}, got {got}"
        )


def test_gradient_decay_figure_moves_the_marker(tmp_path):
    fig = displays.gradient_decay_figure.__wrapped__(
        ref.gradient_bound, ref.stall_depth, ref.sigmoid_derivative, depth=25
    )
    ax = fig.axes[0]
    marker = line_by_label(ax, f"depth 25: bound {common._sci(0.25**25)}")
    assert marker.get_xdata()[0] == 25, f"input: depth=25; expected the marker at 25, got {marker.get_xdata()[0]}"
    assert ax.get_xlim()[1] >= 25, f"input: depth=25; expected the x axis to reach 25, got {ax.get_xlim()}"


def test_math_peek_bounds(capsys):
    result = displays.math_peek_bounds.__wrapped__(ref.gradient_bound, ref.stall_depth)
    out = capsys.readouterr().out
    for text in ("3.81e-6", "9.54e-7", "9.09e-13"):
        assert text in out, f"input: depths 9, 10, 20; expected {text} printed, got {out!r}"
    assert result["stall_depth"] == 10, f"expected stall depth 10, got {result['stall_depth']}"
    assert "= 10" in out, f"expected the stall depth 10 printed, got {out!r}"


@pytest.mark.parametrize("depth", [1, 10, 25])
def test_gradient_decay_numbers_are_the_students(depth):
    decay = act1_gradients.gradient_decay(ref.gradient_bound, ref.stall_depth, ref.sigmoid_derivative, depth=depth)
    last = max(common.MAX_DEPTH_SHOWN, depth)
    assert decay.depths.tolist() == list(range(1, last + 1)), f"input: depth={depth}; got {decay.depths}"
    expected = [ref.gradient_bound(d, 0.25) for d in range(1, last + 1)]
    assert decay.bound == pytest.approx(expected, rel=1e-12), f"input: depth={depth}; got {decay.bound}"
    assert decay.at_depth == pytest.approx(ref.gradient_bound(depth, 0.25)), f"input: depth={depth}"
    assert decay.stall == ref.stall_depth(LEARNING_STALLS_BELOW, 0.25) == 10, f"got stall {decay.stall}"
    assert (decay.relu_active, decay.tanh_peak) == (1.0, 1.0), f"got {decay.relu_active}, {decay.tanh_peak}"
    saturated = (round(decay.sigmoid_saturated, 3), round(decay.tanh_saturated, 3))
    assert saturated == (0.105, 0.071), f"input: x = 2; expected sigmoid' 0.105 and tanh' 0.071, got {saturated}"
    expected = [ref.gradient_bound(d, decay.sigmoid_saturated) for d in range(1, last + 1)]
    assert decay.sigmoid_saturated_bound == pytest.approx(expected), f"got {decay.sigmoid_saturated_bound}"


def test_gradient_decay_prints_both_activations_at_both_inputs(capsys):
    displays.gradient_decay_figure.__wrapped__(ref.gradient_bound, ref.stall_depth, ref.sigmoid_derivative)
    out = capsys.readouterr().out
    for row in (r"at its best \(x = 0\)\s+0\.250\s+1\.000", r"saturated \(x = ±2\)\s+0\.105\s+0\.071"):
        assert re.search(row, out), f"expected the row {row!r} (sigmoid, then tanh), got {out!r}"
    assert "tanh passes 4x what sigmoid passes" in out, f"expected tanh's best against sigmoid's best, got {out!r}"


def test_dying_relu_reaches_the_chapters_range(tmp_path, capsys):
    fig = displays.dying_relu_figure.__wrapped__()
    check_figure(fig, tmp_path, "dying_relu_figure")
    out = capsys.readouterr().out
    result = act1_gradients.dying_relu()
    fractions = result.dead_fraction
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), (
        f"expected more dead units as biases fall, got {fractions}"
    )
    low, high = constants.DYING_RELU_FRACTION
    assert (low, high) == (0.10, 0.40), f"expected the chapter's 10-40%, got {(low, high)}"
    assert fractions[0] < low and fractions[-1] > high, f"expected the curve to cross the whole range, got {fractions}"
    assert result.hidden_units == 192, f"expected 128 + 64 hidden units, got {result.hidden_units}"
    assert "about 19 to 77 units" in out, f"expected 10-40% of 192 units printed, got {out!r}"
    for fraction in (low, high):
        shift = result.first_shift_reaching(fraction)
        assert f"{fraction:.0%} dead: after a push of {shift:g} standard deviations" in out, f"got {out!r}"
    again = act1_gradients.dying_relu()
    assert np.array_equal(again.dead_fraction, fractions), "expected the same curve from the same seed"


def test_gradient_decay_keeps_a_stall_depth_of_none():
    decay = act1_gradients.gradient_decay(ref.gradient_bound, lambda threshold, slope: None, ref.sigmoid_derivative)
    assert decay.stall is None, f"input: stall_depth returning None; got {decay.stall!r}"
    fig = act1_gradients.draw_gradient_decay(decay)
    assert fig.axes[0].get_title() == "Sigmoid's gradient bound never falls below the stall line", (
        f"input: no stall depth; got the title {fig.axes[0].get_title()!r}"
    )
