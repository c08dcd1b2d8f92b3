"""lab05.displays.act2_memory: the training memory reveal and the memory ledger (figure and sliders).

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import sys
import time

import lab05_reference as ref
import matplotlib.pyplot as plt
import pytest
from figures import CLEAN_FIGURES, H100, LAPTOP, MICRO, Recorder, all_texts, check_figure, line_by_label, line_labels

from lab05 import constants, displays, guards
from lab05.constants import BYTES_FP16, BYTES_FP32, DEVICE_BUDGETS_BYTES, MNIST_BATCH_SIZE, MNIST_LAYER_SIZES, fmt_bytes
from lab05.displays import act2_memory, common

pytestmark = CLEAN_FIGURES


def ledger(device, bytes_per_value=BYTES_FP32, batch_size=MNIST_BATCH_SIZE, optimizer="adam"):
    return displays.memory_ledger_figure.__wrapped__(
        ref.training_memory, MNIST_LAYER_SIZES, batch_size, bytes_per_value, optimizer, device
    )


def test_act2_reveal(capsys):
    result = displays.act2_reveal.__wrapped__(900, ref.training_memory, ref.inference_memory)
    out = capsys.readouterr().out
    assert result["training_bytes"] == 1_876_384, f"expected 1,876,384 B, got {result['training_bytes']}"
    assert result["inference_batch1_bytes"] == 441_488, f"expected 441,488 B, got {result['inference_batch1_bytes']}"
    assert result["ratio_batch1"] == pytest.approx(4.25, abs=0.005), f"expected 4.25x, got {result['ratio_batch1']}"
    assert result["ratio_equal_batch"] == pytest.approx(3.33, abs=0.005), (
        f"expected 3.33x, got {result['ratio_equal_batch']}"
    )
    assert result["error_kib"] == pytest.approx(900 - 1_876_384 / 1024), (
        f"expected estimate - actual, got {result['error_kib']}"
    )
    for text in ("1,832.41 KiB", "too low", "4.25x", "3.33x", '"4.3x"', "854.58 KiB", "123.25 KiB", "upper bound"):
        assert text in out, f"input: 900 KiB; expected {text!r} printed, got {out!r}"
    assert "you predicted 2.11x, training takes 4.29x" in out, f"input: 900 KiB; expected the multiples, got {out!r}"
    assert result["training_multiple_of_weights"] == pytest.approx(1_876_384 / 437_544), f"got {result}"


def test_act2_reveal_too_high(capsys):
    displays.act2_reveal.__wrapped__(10_000, ref.training_memory, ref.inference_memory)
    out = capsys.readouterr().out
    assert "too high" in out, f"input: 10,000 KiB; expected 'too high', got {out!r}"


@pytest.mark.parametrize("estimate", [None, Ellipsis, -5, 0, float("nan"), "900", True])
def test_act2_reveal_locked(estimate, capsys):
    result = displays.act2_reveal.__wrapped__(estimate, ref.training_memory, ref.inference_memory)
    out = capsys.readouterr().out
    assert result is None, f"input: {estimate!r}; expected None, got {result!r}"
    assert "`act2_estimate_kib`" in out and "KiB" in out, (
        f"input: {estimate!r}; expected the locked message, got {out!r}"
    )


def test_memory_ledger_figure_fits_laptop(tmp_path):
    fig = ledger(LAPTOP)
    check_figure(fig, tmp_path, "memory_ledger_laptop")
    mix, ax = fig.axes
    assert mix.get_yscale() == "linear", f"expected the composition on a linear axis, got {mix.get_yscale()}"
    assert ax.get_yscale() == "log", f"expected the totals on a log y axis, got {ax.get_yscale()}"
    labels = line_labels(ax)
    for device, budget in DEVICE_BUDGETS_BYTES.items():
        label = f"{device} budget ({fmt_bytes(budget)})"
        line = line_by_label(ax, label)
        assert line.get_ydata()[0] == budget, (
            f"input: {device}; expected its line at {budget}, got {line.get_ydata()[0]}"
        )
    assert "Laptop GPU budget (8.00 GiB)" in labels, f"expected the brief's label format, got {labels}"
    low, high = ax.get_ylim()
    assert 0 < low < min(DEVICE_BUDGETS_BYTES.values()) and high > max(DEVICE_BUDGETS_BYTES.values()), (
        f"expected the y range to show every budget, got {low, high}"
    )
    texts = all_texts(fig)
    assert not any("OUT OF MEMORY" in t for t in texts), f"input: Laptop GPU, FP32; expected no OOM, got {texts}"
    assert fig.get_suptitle().startswith("Fits the Laptop GPU"), f"expected a 'fits' title, got {fig.get_suptitle()!r}"
    assert not any(p.get_hatch() for a in fig.axes for p in a.patches), (
        "input: Laptop GPU; expected no bar over budget, got hatched bars"
    )
    selected = line_by_label(ax, "Laptop GPU budget (8.00 GiB)").get_linewidth()
    other = line_by_label(ax, "H100 budget (80.00 GiB)").get_linewidth()
    assert selected > other, f"expected the selected device's line bolder, got {selected} vs {other}"


def test_memory_ledger_figure_shows_true_shares_on_a_linear_axis():
    fig = ledger(LAPTOP)
    mix = fig.axes[0]
    memory = ref.training_memory(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    batches = sorted(constants.BATCH_SIZE_CHOICES)
    at = batches.index(MNIST_BATCH_SIZE)
    segments = [p for p in mix.patches if round(p.get_x() + p.get_width() / 2) == at]
    heights = [p.get_height() for p in segments]
    expected = [memory[k] for k in common.MEMORY_COMPONENTS]
    assert heights == expected, f"input: batch 32; expected segment heights {expected} (bytes), got {heights}"
    texts = [t.get_text() for t in mix.texts]
    for key in common.MEMORY_COMPONENTS:
        share = common._percent(memory[key] / memory["total"])
        assert share in texts, f"input: {key}; expected its share {share} on the selected bar, got {texts}"
    # Adam's state is the largest term, and the tallest segment shows it.
    assert max(expected) == memory["optimizer"] and heights[common.MEMORY_COMPONENTS.index("optimizer")] == max(heights)


def test_memory_ledger_figure_out_of_memory_on_microcontroller(tmp_path):
    fig = ledger(MICRO)
    check_figure(fig, tmp_path, "memory_ledger_micro")
    mix, ax = fig.axes
    banner = [t for t in ax.texts if "OUT OF MEMORY: training does not fit Microcontroller" in t.get_text()]
    assert banner, f"input: Microcontroller, FP32; expected the OOM banner, got {all_texts(fig)}"
    assert "OUT OF MEMORY" in fig.get_suptitle(), f"expected the title to say OUT OF MEMORY, got {fig.get_suptitle()!r}"
    for axis in (mix, ax):
        hatched = [p for p in axis.patches if p.get_hatch()]
        assert hatched, f"input: Microcontroller, FP32; expected over-budget bars hatched in {axis.get_title()!r}"


def test_memory_ledger_figure_adds_an_unlisted_batch(tmp_path):
    fig = ledger(LAPTOP, batch_size=48)
    for axis in fig.axes:
        ticks = [t.get_text() for t in axis.get_xticklabels()]
        assert any(t.startswith("48") and "selected" in t for t in ticks), (
            f"input: batch 48; expected a selected 48 bar, got {ticks}"
        )


def test_memory_ledger_figure_fp16_sgd_microcontroller_still_out_of_memory():
    # FP16 + SGD: weights + gradients alone are 427.29 KiB > 256 KiB.
    fig = ledger(MICRO, bytes_per_value=BYTES_FP16, optimizer="sgd", batch_size=1)
    assert any("OUT OF MEMORY" in t for t in all_texts(fig)), (
        "input: Microcontroller, FP16, SGD; expected OOM, got none"
    )


@pytest.mark.parametrize(
    "kwargs, accepted",
    [
        (dict(device="Phone"), "Laptop GPU"),
        (dict(optimizer="rmsprop"), "adam"),
        (dict(batch_size=0), ">= 1"),
        (dict(batch_size=2.5), ">= 1"),
        (dict(bytes_per_value=-4), "FP32 = 4"),
    ],
)
def test_memory_ledger_figure_rejects_bad_arguments(kwargs, accepted, capsys):
    args = dict(device=LAPTOP, optimizer="adam", batch_size=32, bytes_per_value=BYTES_FP32)
    args.update(kwargs)
    call = (
        ref.training_memory,
        MNIST_LAYER_SIZES,
        args["batch_size"],
        args["bytes_per_value"],
        args["optimizer"],
        args["device"],
    )
    with pytest.raises(ValueError) as info:
        displays.memory_ledger_figure.__wrapped__(*call)
    assert accepted in str(info.value), f"input: {kwargs}; expected {accepted!r} in the message, got {info.value}"
    assert plt.get_fignums() == [], f"input: {kwargs}; expected the error before drawing, got open figures"
    # Through the guard, the same mistake prints one line instead of a traceback.
    assert displays.memory_ledger_figure(*call) is None, f"input: {kwargs}; expected None through the guard"
    out = capsys.readouterr().out
    assert "ValueError" in out and accepted in out, f"input: {kwargs}; expected a one-line message, got {out!r}"


def test_memory_ledger_figure_accepts_device_names_in_any_case():
    fig = ledger("laptop gpu")
    assert fig.get_suptitle().startswith("Fits the Laptop GPU"), f"input: 'laptop gpu'; got {fig.get_suptitle()!r}"


def test_explore_memory_ledger_off_while_grading(monkeypatch, capsys):
    monkeypatch.setattr(guards, "is_grading", lambda: True)
    start = time.perf_counter()
    result = displays.explore_memory_ledger(ref.training_memory, MNIST_LAYER_SIZES)
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out
    assert result is None, f"input: grading; expected None, got {result!r}"
    assert elapsed < 5, f"input: grading; expected an immediate return, got {elapsed:.1f} s"
    assert "autograder" in out and "static figure" in out, f"input: grading; expected one explaining line, got {out!r}"


def test_explore_memory_ledger_without_ipywidgets(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    monkeypatch.setattr(guards, "is_grading", lambda: False)
    assert displays.explore_memory_ledger(ref.training_memory, MNIST_LAYER_SIZES) is None
    out = capsys.readouterr().out
    assert "ipywidgets" in out, f"input: no ipywidgets; expected a line naming it, got {out!r}"


def test_explore_memory_ledger_with_widgets_does_not_block(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(guards, "is_grading", lambda: False)
    start = time.perf_counter()
    result = displays.explore_memory_ledger(ref.training_memory, MNIST_LAYER_SIZES)
    elapsed = time.perf_counter() - start
    assert result is None, f"input: widgets; expected None, got {result!r}"
    assert elapsed < 10, f"input: widgets; expected a quick return, got {elapsed:.1f} s"
    assert plt.get_fignums() == [], f"expected no figure left open in pyplot, got {plt.get_fignums()}"


@pytest.mark.parametrize(
    "device, bytes_per_value, optimizer, batch_size",
    [(LAPTOP, BYTES_FP32, "adam", 32), (MICRO, BYTES_FP16, "sgd", 1), (H100, 3, "momentum", 48)],
)
def test_memory_ledger_numbers_are_the_students(device, bytes_per_value, optimizer, batch_size):
    ledger_ = act2_memory.memory_ledger(
        ref.training_memory, MNIST_LAYER_SIZES, batch_size, bytes_per_value, optimizer, device.upper()
    )
    where = f"input: {device}, {bytes_per_value} B/value, {optimizer}, batch {batch_size}"
    batches = tuple(sorted(set(constants.BATCH_SIZE_CHOICES) | {batch_size}))
    assert ledger_.batches == batches, f"{where}; expected {batches}, got {ledger_.batches}"
    for b, memory in zip(ledger_.batches, ledger_.ledgers):
        expected = ref.training_memory(MNIST_LAYER_SIZES, b, bytes_per_value, optimizer)
        assert memory == expected, f"{where}: at batch {b} expected {expected}, got {memory}"
    budget = DEVICE_BUDGETS_BYTES[device]
    assert (ledger_.device, ledger_.budget_bytes) == (device, budget), f"{where}; got {ledger_.device!r}"
    assert ledger_.over == tuple(m["total"] > budget for m in ledger_.ledgers), f"{where}; got {ledger_.over}"
    assert ledger_.chosen == ref.training_memory(MNIST_LAYER_SIZES, batch_size, bytes_per_value, optimizer), where
    precision = {4: "FP32", 2: "FP16", 3: "3 bytes/value"}[bytes_per_value]
    assert ledger_.precision == precision, f"{where}; expected {precision!r}, got {ledger_.precision!r}"


def test_memory_ledger_checks_the_arguments_before_calling_the_student():
    student = Recorder()
    with pytest.raises(ValueError, match="rmsprop"):
        act2_memory.memory_ledger(student, MNIST_LAYER_SIZES, 32, BYTES_FP32, "rmsprop", LAPTOP)
    assert student.calls == [], f"input: optimizer 'rmsprop'; expected no call of training_memory, got {student.calls}"


def test_training_memory_reveal_numbers_are_the_students():
    reveal = act2_memory.training_memory_reveal(900, ref.training_memory, ref.inference_memory)
    assert reveal.memory == ref.training_memory(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE), f"got {reveal.memory}"
    inference_1 = ref.inference_memory(MNIST_LAYER_SIZES)
    inference_b = ref.inference_memory(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    assert (reveal.inference_batch1_bytes, reveal.inference_equal_batch_bytes) == (inference_1, inference_b), (
        f"got {reveal.inference_batch1_bytes}, {reveal.inference_equal_batch_bytes}"
    )
    assert reveal.ratio_batch1 == reveal.training_bytes / inference_1, f"got {reveal.ratio_batch1}"
    assert reveal.verdict.startswith("you were off by") and reveal.verdict.endswith("too low)."), (
        f"input: 900 KiB; got the verdict {reveal.verdict!r}"
    )
