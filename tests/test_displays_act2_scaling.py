"""lab05.displays.act2_scaling: the width challenge and how training memory grows with the batch.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import re

import lab05_reference as ref
import numpy as np
import pytest
from figures import CLEAN_FIGURES, H100, LAPTOP, MICRO, MOBILE, Recorder, check_figure, line_by_label, line_labels

from lab05 import constants, displays
from lab05.constants import DEVICE_BUDGETS_BYTES, MNIST_BATCH_SIZE, MNIST_LAYER_SIZES, fmt_bytes
from lab05.displays import act2_scaling, common

pytestmark = CLEAN_FIGURES


def test_width_challenge_figure(tmp_path, capsys):
    fig = displays.width_challenge_figure.__wrapped__(ref.training_memory, ref.max_trainable_width)
    check_figure(fig, tmp_path, "width_challenge_figure")
    out = capsys.readouterr().out
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log", (
        f"expected log axes, got {ax.get_xscale(), ax.get_yscale()}"
    )
    facts = {H100: 102_822, LAPTOP: 31_975, MOBILE: 15_601, MICRO: 12}
    low, high = constants.WIDTH_CHALLENGE_RANGE
    for device, budget in DEVICE_BUDGETS_BYTES.items():
        line_by_label(ax, f"{device} budget ({fmt_bytes(budget)})")
        expected = ref.max_trainable_width(budget, MNIST_BATCH_SIZE)
        assert expected == facts[device], f"input: {device}; expected FACTS width {facts[device]}, got {expected}"
        printed = re.search(rf"{re.escape(device)}\b.*?W = ([\d,]+)", out)
        assert printed, f"input: {device}; expected its width printed, got {out!r}"
        assert int(printed.group(1).replace(",", "")) == expected, (
            f"input: {device}; expected W = {expected:,} printed, got {printed.group(0)!r}"
        )
        label = f"{device}: W = {expected:,}"
        if low <= expected <= high:
            marker = line_by_label(ax, label)
            assert marker.get_xdata()[0] == expected, (
                f"input: {device}; expected the marker at {expected}, got {marker.get_xdata()[0]}"
            )
            total = ref.training_memory(constants.challenge_layer_sizes(expected), MNIST_BATCH_SIZE)["total"]
            assert marker.get_ydata()[0] == total, (
                f"input: {device}; expected the marker at {total} B, got {marker.get_ydata()[0]}"
            )
        else:
            assert label not in line_labels(ax), f"input: {device}; expected no marker off the chart, got {label!r}"


def test_width_challenge_figure_follows_the_batch(capsys):
    displays.width_challenge_figure.__wrapped__(ref.training_memory, ref.max_trainable_width, batch_size=1024)
    out = capsys.readouterr().out
    expected = ref.max_trainable_width(DEVICE_BUDGETS_BYTES[LAPTOP], 1024)
    assert f"W = {expected:,}" in out, f"input: batch 1024; expected Laptop GPU W = {expected:,}, got {out!r}"


def test_batch_scaling_figure(tmp_path, capsys):
    fig = displays.batch_scaling_figure.__wrapped__(ref.training_memory, MNIST_LAYER_SIZES, 2)
    check_figure(fig, tmp_path, "batch_scaling_figure")
    out = capsys.readouterr().out
    ax = fig.axes[0]
    assert line_by_label(ax, "2x (activations dominate)").get_ydata()[0] == 2.0, "expected the 2x line at 2.0"
    assert ax.get_xlabel().startswith("batch size B"), f"expected 'batch size B', got {ax.get_xlabel()!r}"
    assert ax.get_ylabel() == "memory(2B) / memory(B)", f"expected 'memory(2B) / memory(B)', got {ax.get_ylabel()!r}"

    def ratio(b):
        return (
            ref.training_memory(MNIST_LAYER_SIZES, 2 * b)["total"] / ref.training_memory(MNIST_LAYER_SIZES, b)["total"]
        )

    assert f"{ratio(32):.3f}x" == "1.067x" and "1.067x" in out, f"expected 1.067x printed, got {out!r}"
    assert "You predicted 2x for batch 32 → 64: off by 1.87x (too high)." in out, (
        f"input: prediction 2; expected the verdict against 1.067x, got {out!r}"
    )
    assert line_by_label(ax, "your prediction: 2x").get_ydata()[0] == 2, "expected the prediction drawn at 2x"
    first = next(b for b in common.SCALING_BATCHES if ratio(b) > common.NEAR_DOUBLING_RATIO)
    assert f"first exceeds 1.9x at batch {first:,}" in out, f"expected first batch {first:,} printed, got {out!r}"


@pytest.mark.parametrize("prediction", [None, Ellipsis, 0, -1, "2", float("inf")])
def test_batch_scaling_figure_locked_without_a_prediction(prediction, capsys):
    student = Recorder()
    result = displays.batch_scaling_figure.__wrapped__(student, MNIST_LAYER_SIZES, prediction)
    out = capsys.readouterr().out
    assert result is None and student.calls == [], f"input: {prediction!r}; expected locked, got {result!r}"
    assert "`batch_doubling_prediction`" in out, f"input: {prediction!r}; expected the locked message, got {out!r}"


@pytest.mark.parametrize("batch_size", [1, MNIST_BATCH_SIZE, 1024])
def test_width_challenge_numbers_are_the_students(batch_size):
    challenge = act2_scaling.width_challenge(ref.training_memory, ref.max_trainable_width, batch_size)
    low, high = constants.WIDTH_CHALLENGE_RANGE
    assert challenge.widths[0] >= max(low, 2) and challenge.widths[-1] <= high, f"got widths {challenge.widths}"
    expected_totals = [
        ref.training_memory(constants.challenge_layer_sizes(int(w)), batch_size)["total"] for w in challenge.widths
    ]
    assert challenge.totals.tolist() == expected_totals, f"input: batch {batch_size}; got {challenge.totals}"
    assert [entry.device for entry in challenge.devices] == list(DEVICE_BUDGETS_BYTES), "expected every device once"
    for entry in challenge.devices:
        width = ref.max_trainable_width(entry.budget_bytes, batch_size)
        where = f"input: {entry.device}, batch {batch_size}"
        assert entry.width == width, f"{where}; expected W = {width}, got {entry.width}"
        if low <= width <= high:
            total = ref.training_memory(constants.challenge_layer_sizes(width), batch_size)["total"]
            expected = (total, None, f"W = {width:,}")
            assert (entry.total_bytes, entry.note, entry.where) == expected, f"{where}; got {entry}"
        else:
            assert entry.total_bytes is None and entry.note, f"{where}: expected a note off the chart, got {entry}"


def test_draw_width_challenge_writes_off_chart_widths_by_their_budget_line(capsys):
    # A result built by hand: no student function is involved in drawing.
    low, high = constants.WIDTH_CHALLENGE_RANGE
    devices = (
        act2_scaling.DeviceWidth(
            H100, DEVICE_BUDGETS_BYTES[H100], 2 * high, None, "W = far right", f"{H100}: W = far →"
        ),
        act2_scaling.DeviceWidth(
            MICRO, DEVICE_BUDGETS_BYTES[MICRO], 1, None, "not even W = 2 fits", f"{MICRO}: nothing fits"
        ),
        act2_scaling.DeviceWidth(LAPTOP, DEVICE_BUDGETS_BYTES[LAPTOP], 1024, 2.0**30, "W = 1,024", None),
    )
    widths = np.array([low, 1024, high])
    challenge = act2_scaling.WidthChallenge(
        batch_size=8, widths=widths, totals=np.array([2.0**20, 2.0**30, 2.0**40]), devices=devices
    )
    fig = act2_scaling.draw_width_challenge(challenge)
    ax = fig.axes[0]
    texts = {t.get_text(): t for t in ax.texts}
    for entry in devices[:2]:
        assert entry.note in texts, f"input: {entry.device} off the chart; expected {entry.note!r}, got {list(texts)}"
        assert texts[entry.note].get_position()[1] == entry.budget_bytes, f"expected {entry.note!r} at its budget"
    assert line_by_label(ax, f"{LAPTOP}: W = 1,024").get_ydata()[0] == 2.0**30, "expected the marker at its total"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Widest") and "batch 8" in out[0], f"expected the header first, got {out}"
    assert [line.split(":", 1)[1].strip() for line in out[1:]] == [e.where for e in devices], (
        f"expected one line per device, in order, after the header; got {out}"
    )


def test_batch_scaling_ratios_are_the_students():
    scaling = act2_scaling.batch_scaling(ref.training_memory, MNIST_LAYER_SIZES)
    wide = constants.challenge_layer_sizes(common.SCALING_WIDE_WIDTH)

    def ratios(layers):
        return [
            ref.training_memory(layers, 2 * b)["total"] / ref.training_memory(layers, b)["total"]
            for b in common.SCALING_BATCHES
        ]

    assert scaling.ratios.tolist() == ratios(MNIST_LAYER_SIZES), f"got {scaling.ratios}"
    assert scaling.wide_ratios.tolist() == ratios(wide), f"got {scaling.wide_ratios}"
    assert (scaling.marked, round(scaling.at_marked, 3)) == (MNIST_BATCH_SIZE, 1.067), (
        f"expected batch 32 marked at 1.067x, got {scaling.marked}, {scaling.at_marked}"
    )
    first = next(b for b, r in zip(common.SCALING_BATCHES, ratios(MNIST_LAYER_SIZES)) if r > common.NEAR_DOUBLING_RATIO)
    assert scaling.first_above == first, f"expected {first}, got {scaling.first_above}"
    assert scaling.wide_first_above is None, f"expected the wide network never near 2x, got {scaling.wide_first_above}"
