"""Tests of assignment/lab05/displays/, the lab's figures and printed summaries.

The reference implementations stand in for the student's functions. Figure functions are
called through ``fn.__wrapped__`` (bypassing ``display_guard``) so that real errors surface;
the guard itself is tested separately. The compute functions behind the displays (``memory_ledger``,
``width_challenge`` ...) are checked number by number against the reference, and their draw
functions on results built by hand, with no student function anywhere.
"""

import pathlib
import re
import sys
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Wedge  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
for _folder in (ROOT / "solutions", ROOT / "assignment"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import lab05_reference as ref  # noqa: E402
from lab05_autograder.hidden import ANSWERS  # noqa: E402

from lab05 import constants, displays, guards  # noqa: E402
from lab05.constants import (  # noqa: E402
    ACTIVATION_TRANSISTORS,
    BYTES_FP16,
    BYTES_FP32,
    DEVICE_BUDGETS_BYTES,
    LEARNING_STALLS_BELOW,
    MNIST_BATCH_SIZE,
    MNIST_LAYER_SIZES,
    fmt_bytes,
)
from lab05.displays import act1, act2_compute, act2_memory, common, deployment, feedback, measure  # noqa: E402

# Matplotlib or NumPy complaining means a figure students see is not clean.
pytestmark = [
    pytest.mark.filterwarnings("error::UserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

MICRO, LAPTOP, MOBILE, H100 = "Microcontroller", "Laptop GPU", "Mobile GPU", "H100"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------------------------
def check_figure(fig, tmp_path, name):
    """The figure renders to a non-empty PNG and every non-pie axis has both labels."""
    assert fig is not None, f"{name}: expected a Figure, got None"
    assert isinstance(fig, matplotlib.figure.Figure), f"{name}: expected a Figure, got {type(fig)}"
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.stat().st_size > 0, f"{name}: expected a non-empty PNG, got {path.stat().st_size} bytes"
    for ax in fig.axes:
        if any(isinstance(p, Wedge) for p in ax.patches):
            assert ax.get_title(), f"{name}: expected a title on every pie, got none"
            continue
        where = f"{name}, axes titled {ax.get_title()!r}"
        assert ax.get_xlabel().strip(), f"{where}: expected an x label, got {ax.get_xlabel()!r}"
        assert ax.get_ylabel().strip(), f"{where}: expected a y label, got {ax.get_ylabel()!r}"
    assert not plt.fignum_exists(fig.number), (
        f"{name}: expected the returned figure detached from pyplot (shown once in Jupyter), "
        "got a figure still open in pyplot"
    )


def line_labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def line_by_label(ax, label):
    for line in ax.get_lines():
        if line.get_label() == label:
            return line
    raise AssertionError(f"expected a line labelled {label!r}, got {line_labels(ax)}")


def all_texts(fig):
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    texts += [ax.get_title() for ax in fig.axes] + [fig.get_suptitle()]
    return texts


def ledger(device, bytes_per_value=BYTES_FP32, batch_size=MNIST_BATCH_SIZE, optimizer="adam"):
    return displays.memory_ledger_figure.__wrapped__(
        ref.training_memory, MNIST_LAYER_SIZES, batch_size, bytes_per_value, optimizer, device
    )


# ---------------------------------------------------------------------------------------------
# The module's own rules
# ---------------------------------------------------------------------------------------------
def test_module_never_uses_the_reference_or_plt_show():
    modules = sorted(pathlib.Path(displays.__file__).parent.glob("*.py"))
    assert len(modules) >= 5, f"expected the display modules, got {modules}"
    for module in modules:
        source = module.read_text(encoding="utf-8")
        assert "lab05_reference" not in source, f"input: {module.name}; expected no reference import, got one"
        assert "plt.show(" not in source, f"input: {module.name}; expected no plt.show(), got one"
        assert "matplotlib.use(" not in source, f"input: {module.name}; expected no backend switch, got one"


class Recorder:
    """Stands in for every student function a display needs, and records being called."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append(args)
        raise AssertionError("a display called student code while the autograder runs")


DISPLAYS = {
    "activation_comparator": lambda f: displays.activation_comparator("C", ACTIVATION_TRANSISTORS),
    "act1_reveal": lambda f: displays.act1_reveal("C", f, f),
    "gradient_decay_figure": lambda f: displays.gradient_decay_figure(f, f, f),
    "dying_relu_figure": lambda f: displays.dying_relu_figure(),
    "math_peek_bounds": lambda f: displays.math_peek_bounds(f, f),
    "act2_reveal": lambda f: displays.act2_reveal(900, f, f),
    "memory_ledger_figure": lambda f: displays.memory_ledger_figure(
        f, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP
    ),
    "width_challenge_figure": lambda f: displays.width_challenge_figure(f, f),
    "layer_share_figure": lambda f: displays.layer_share_figure(f),
    "compute_waterfall_figure": lambda f: displays.compute_waterfall_figure(f, f, MNIST_LAYER_SIZES, 32),
    "batch_scaling_figure": lambda f: displays.batch_scaling_figure(f, MNIST_LAYER_SIZES, 2),
    "deployment_table": lambda f: displays.deployment_table(f, f, MNIST_LAYER_SIZES),
    "memory_hierarchy_summary": lambda f: displays.memory_hierarchy_summary(f, MNIST_LAYER_SIZES, 32),
    "weights_anchor": lambda f: displays.weights_anchor(),
    "reflection_feedback": lambda f: displays.reflection_feedback("act2_reflection", "B"),
    "measured_training_step_figure": lambda f: displays.measured_training_step_figure(f),
    "depth_experiment_figure": lambda f: displays.depth_experiment_figure(f, f),
}


@pytest.mark.parametrize("name", sorted(DISPLAYS))
def test_displays_are_skipped_while_the_autograder_runs(name, monkeypatch, capsys):
    monkeypatch.setattr(guards, "is_grading", lambda: True)
    student = Recorder()
    result = DISPLAYS[name](student)
    out = capsys.readouterr().out
    assert result is None, f"input: {name} while grading; expected None, got {result!r}"
    assert student.calls == [], f"input: {name} while grading; expected no student call, got {student.calls}"
    assert out == "(Figures and reveals are skipped while the autograder runs the notebook.)\n", (
        f"input: {name} while grading; expected the one skip line, got {out!r}"
    )
    assert plt.get_fignums() == [], f"input: {name} while grading; expected no figure, got {plt.get_fignums()}"


# ---------------------------------------------------------------------------------------------
# Act 1
# ---------------------------------------------------------------------------------------------
def test_show_options_prints_every_letter(capsys):
    displays.show_options(constants.ACT1_PREDICTION_OPTIONS)
    out = capsys.readouterr().out
    for letter, (label, _) in constants.ACT1_PREDICTION_OPTIONS.items():
        assert f'"{letter}"' in out and label in out, f"input: option {letter}; expected {label!r} printed, got {out!r}"


def test_show_source_prints_the_sigmoid(capsys):
    displays.show_source(constants.sigmoid)
    out = capsys.readouterr().out
    assert "def sigmoid" in out, f"input: constants.sigmoid; expected its source, got {out[:200]!r}"


def test_activation_comparator(tmp_path, capsys):
    fig = displays.activation_comparator.__wrapped__("c", ACTIVATION_TRANSISTORS)
    check_figure(fig, tmp_path, "activation_comparator")
    out = capsys.readouterr().out
    assert "You predicted C (about 20x)." in out, f"input: 'c'; expected the prediction echoed, got {out!r}"
    assert "estimate (not in the chapter)" in out, f"input: 'c'; expected GELU's source printed, got {out!r}"
    assert "10-40% of units can die" in out, f"input: 'c'; expected ReLU's dying-unit risk printed, got {out!r}"
    assert "= 3,000 transistors" in out, f"input: 'c'; expected GELU's estimate worked out, got {out!r}"
    assert len(fig.axes) == 10, f"input: 'c'; expected 2 cost panels + 4 curves + 4 derivatives, got {len(fig.axes)}"
    cost = fig.axes[0]
    assert cost.get_yscale() == "log", f"input: transistors panel; expected a log y axis, got {cost.get_yscale()}"
    ticks = [t.get_text() for t in cost.get_xticklabels()]
    assert any("GELU" in t and "estimate" in t for t in ticks), f"expected GELU labelled as an estimate, got {ticks}"
    hatches = [p.get_hatch() for p in cost.patches]
    assert hatches.count("//") == 1, f"expected exactly the GELU bar hatched, got hatches {hatches}"
    heights = sorted(p.get_height() for p in cost.patches)
    assert heights == sorted(ACTIVATION_TRANSISTORS.values()), (
        f"expected bar heights {sorted(ACTIVATION_TRANSISTORS.values())}, got {heights}"
    )


@pytest.mark.parametrize("prediction", [None, Ellipsis, "E", "", 3])
def test_act1_instruments_locked_without_a_prediction(prediction, capsys):
    fig = displays.activation_comparator.__wrapped__(prediction, ACTIVATION_TRANSISTORS)
    reveal = displays.act1_reveal.__wrapped__(prediction, ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert fig is None and reveal is None, f"input: {prediction!r}; expected None twice, got {fig!r}, {reveal!r}"
    assert out.count("`act1_prediction`") == 2, f"input: {prediction!r}; expected two locked messages, got {out!r}"
    assert plt.get_fignums() == [], f"input: {prediction!r}; expected no figure, got {plt.get_fignums()}"


def test_act1_reveal_off_by(capsys):
    result = displays.act1_reveal.__wrapped__("C", ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert isinstance(result, dict), f"input: 'C'; expected a dict, got {type(result)}"
    assert result["ratio"] == 50, f"input: 'C'; expected ratio 50, got {result['ratio']}"
    assert result["off_by"] == pytest.approx(2.5), f"input: 'C'; expected off by 2.5, got {result['off_by']}"
    assert "off by 2.5x (too low)" in out, f"input: 'C'; expected 'off by 2.5x (too low)', got {out!r}"
    assert "24,500,000" in out, f"input: 'C'; expected 24,500,000 extra transistors, got {out!r}"
    assert "2,450" in out, f"input: 'C'; expected 2,450 extra per unit, got {out!r}"
    assert result["extra_transistors"] == 24_500_000, f"expected 24,500,000, got {result['extra_transistors']}"


@pytest.mark.parametrize("letter, off_by, phrase", [("A", 50 / 1.5, "too low"), ("D", 1.0, "spot on")])
def test_act1_reveal_other_letters(letter, off_by, phrase, capsys):
    result = displays.act1_reveal.__wrapped__(letter, ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert result["off_by"] == pytest.approx(off_by), f"input: {letter!r}; expected {off_by}, got {result['off_by']}"
    assert phrase in out, f"input: {letter!r}; expected {phrase!r} in the output, got {out!r}"


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


# ---------------------------------------------------------------------------------------------
# Act 2
# ---------------------------------------------------------------------------------------------
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


def test_layer_share_figure(tmp_path, capsys):
    fig = displays.layer_share_figure.__wrapped__(ref.layer_macs)
    check_figure(fig, tmp_path, "layer_share_figure")
    out = capsys.readouterr().out
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "W = 128",
        "W = 1,024",
        "W = 4,096",
        "W = 32,768",
    ], f"expected one titled pie per width, got {titles}"
    assert re.search(r"W =\s+128: layer 1 does 91\.9%", out), f"input: W = 128; expected 91.9% printed, got {out!r}"
    assert re.search(r"W =\s+4,096: layer 1 does 27\.6%", out), f"input: W = 4096; expected 27.6% printed, got {out!r}"
    wedge_texts = [t.get_text() for t in fig.axes[0].texts]
    assert "layer 1" in wedge_texts and "91.9%" in wedge_texts, (
        f"input: W = 128; expected labelled wedges, got {wedge_texts}"
    )


def test_compute_waterfall_figure(tmp_path, capsys):
    fig = displays.compute_waterfall_figure.__wrapped__(
        ref.layer_macs, ref.parameter_count, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE
    )
    check_figure(fig, tmp_path, "compute_waterfall_figure")
    out = capsys.readouterr().out
    # FACTS.md, the Act 2 table and item 6: what a framework computes, and what the rule of thumb counts.
    facts = {
        "forward": "6,987,776 FLOPs",
        "backward": "7,553,024 FLOPs  = 1.08x forward",
        "input gradients": "565,248 FLOPs",
        "update": "1,093,860 FLOPs",
        "total": "15,634,660 FLOPs  = 2.24x forward",
        "skipped": "layer 1's input gradient (6,422,528 FLOPs)",
        "rule": "a backward pass of 13,975,552 FLOPs (2.00x) and a step of 3.16x",
        "W = 128": "W =    128: layer 1 does 91.9% of the MACs; backward 1.08x forward",
        "W = 4096": "W =  4,096: layer 1 does 27.6% of the MACs; backward 1.72x forward, forward + backward 2.72x",
    }
    for what, text in facts.items():
        assert text in out, f"input: MNIST, batch 32; expected the {what} printed as {text!r}, got {out!r}"
    waterfall, widened = fig.axes
    notes = " ".join(t.get_text() for t in waterfall.texts)
    for multiple in ("1.00x", "1.00x forward\n6,987,776", "0.08x", "2.24x"):
        assert multiple in notes, f"input: MNIST; expected the bar note {multiple!r}, got {notes!r}"
    filled = [p for p in waterfall.patches if p.get_fill()]
    heights = [p.get_height() for p in filled]
    assert heights[-1] == pytest.approx(sum(heights[:-1])), f"expected the total bar to be the sum, got {heights}"
    ghosts = [p for p in waterfall.patches if not p.get_fill()]
    assert [g.get_height() for g in ghosts] == [6_422_528], f"expected one outline of the skipped product, got {ghosts}"
    assert ghosts[0].get_y() + ghosts[0].get_height() == 3 * 6_987_776, (
        "expected the skipped product to reach the rule of thumb's 3x forward"
    )
    backward = line_by_label(widened, "backward / forward")
    ratios = backward.get_ydata()
    assert all(a < b for a, b in zip(ratios, ratios[1:])) and ratios[-1] < 2, (
        f"expected backward / forward to climb towards 2x as W grows, got {ratios}"
    )


def test_the_backward_pass_skips_the_first_layers_input_gradient():
    got = act2_compute.backward_pass_flops(ref.layer_macs(MNIST_LAYER_SIZES), MNIST_BATCH_SIZE)
    expected = (6_987_776, 565_248, 6_422_528)
    assert tuple(got) == expected, f"input: MNIST MACs, batch 32; expected {expected}, got {tuple(got)}"
    assert got.total == 7_553_024, (
        f"input: MNIST, batch 32; expected 7,553,024 FLOPs (PyTorch's count), got {got.total:,}"
    )
    assert got.chapter_rule == 2 * 6_987_776, f"expected the rule of thumb's 2x forward, got {got.chapter_rule:,}"
    one_layer = act2_compute.backward_pass_flops([6], 1)
    assert tuple(one_layer) == (12, 0, 12), f"input: [6], batch 1; expected (12, 0, 12), got {tuple(one_layer)}"


@pytest.mark.parametrize("width", [64, 128, 4096, 65536])
def test_the_backward_multiple_is_two_minus_the_first_layers_share(width):
    sizes = constants.challenge_layer_sizes(width)
    step = act2_compute.training_step_flops(ref.layer_macs, ref.parameter_count, sizes, 32)
    macs = ref.layer_macs(sizes)
    expected = 2 - macs[0] / sum(macs)
    assert step.backward_ratio == pytest.approx(expected), (
        f"input: W = {width}; expected backward / forward = 2 - layer 1's share = {expected:.4f}, "
        f"got {step.backward_ratio:.4f}"
    )


@pytest.mark.parametrize("macs, batch_size", [([], 1), ([6], 0)])
def test_backward_pass_flops_rejects_what_is_not_a_network(macs, batch_size):
    with pytest.raises(ValueError):
        act2_compute.backward_pass_flops(macs, batch_size)


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


def test_deployment_table(capsys):
    rows = displays.deployment_table.__wrapped__(ref.training_memory, ref.inference_memory, MNIST_LAYER_SIZES)
    out = capsys.readouterr().out
    assert len(rows) == len(DEVICE_BUDGETS_BYTES) * len(constants.PRECISION_BYTES), f"expected 8 rows, got {len(rows)}"
    keys = {
        "device",
        "precision",
        "inference_bytes",
        "inference_fits",
        "training_bytes",
        "training_fits",
    }
    assert all(set(row) == keys for row in rows), f"expected keys {sorted(keys)}, got {[sorted(r) for r in rows][:1]}"
    table = {(r["device"], r["precision"]): r for r in rows}
    micro16, micro32 = table[(MICRO, "fp16")], table[(MICRO, "fp32")]
    assert micro16["inference_bytes"] == 220_744 and micro16["inference_fits"], f"FP16 micro inference: got {micro16}"
    assert micro16["training_bytes"] == 938_192 and not micro16["training_fits"], f"FP16 micro training: got {micro16}"
    assert micro32["inference_bytes"] == 441_488 and not micro32["inference_fits"], (
        f"FP32 micro inference: got {micro32}"
    )
    for precision in constants.PRECISION_BYTES:
        mobile = table[(MOBILE, precision)]
        assert mobile["inference_fits"] and mobile["training_fits"], (
            f"input: mobile GPU {precision}; expected both fit, got {mobile}"
        )
    assert "DOES NOT FIT" in out and "Microcontroller" in out, f"expected a printed table, got {out!r}"


def test_memory_hierarchy_summary(tmp_path, capsys):
    fig = displays.memory_hierarchy_summary.__wrapped__(ref.training_memory, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    check_figure(fig, tmp_path, "memory_hierarchy_summary")
    out = capsys.readouterr().out
    # FACTS.md, "Memory hierarchy": the tiers, and where each network lands.
    rows = {
        "L1": r"L1 data cache\s+64 KiB\s+about 1 ns",
        "L2": r"L2 cache\s+512 KiB - 2 MiB\s+3-5 ns",
        "L3": r"L3 cache\s+8 MiB - 64 MiB\s+10-20 ns",
        "DRAM": r"main memory \(DRAM\)\s+GiBs\s+about 100 ns",
        "activations": r"activations of 784 → 128 → 64 → 10, batch 32\s+123\.25 KiB\s+L2 cache",
        "training state": r"all of its training state \(batch 32\)\s+1\.79 MiB\s+L2 or L3 cache",
        "W = 4096": r"784 → 4096 → 2048 → 10\s+178\.25 MiB\s+main memory \(DRAM\)",
    }
    for what, row in rows.items():
        assert re.search(row, out), f"input: MNIST, batch 32; expected the {what} row {row!r}, got {out!r}"
    for text in ("1.93x a 64.00 KiB L1", "100x"):
        assert text in out, f"expected {text!r} printed, got {out!r}"


@pytest.mark.parametrize(
    "size, large, small",
    [
        (64 * 1024, "L1 data cache", "L1 data cache"),
        (64 * 1024 + 1, "L2 cache", "L2 cache"),
        (1_876_384, "L2 cache", "L3 cache"),
        (2 * 1024**2 + 1, "L3 cache", "L3 cache"),
        (20 * 1024**2, "L3 cache", "main memory (DRAM)"),
        (178 * 1024**2, "main memory (DRAM)", "main memory (DRAM)"),
    ],
)
def test_a_working_set_lands_in_the_fastest_tier_that_holds_it(size, large, small):
    got = tuple(t.name for t in deployment.landing_tiers(size))
    assert got == (large, small), (
        f"input: {size:,} B; expected {(large, small)} (large caches, small caches), got {got}"
    )


def test_memory_hierarchy_places_the_students_numbers():
    hierarchy = deployment.memory_hierarchy(ref.training_memory, MNIST_LAYER_SIZES, 32, widths=(4096,))
    memory = ref.training_memory(MNIST_LAYER_SIZES, 32)
    got = [w.size_bytes for w in hierarchy.working_sets]
    wide = ref.training_memory(constants.challenge_layer_sizes(4096), 32)["total"]
    expected = [memory["activations"], memory["weights"], memory["total"], wide]
    assert got == expected, f"input: MNIST, batch 32, W = 4096; expected {expected}, got {got}"
    assert hierarchy.training_state.where == "L2 or L3 cache", f"got {hierarchy.training_state.where!r}"
    assert hierarchy.latency_ratio == 100, f"expected the chapter's 100x gap, got {hierarchy.latency_ratio}"


# ---------------------------------------------------------------------------------------------
# Feedback on the reflections
# ---------------------------------------------------------------------------------------------
def test_feedback_explains_the_answers_the_hidden_tests_grade():
    explained = feedback.decode_feedback()
    asked = {variable: options for answers in feedback.QUESTIONS.values() for variable, options in answers}
    assert set(explained) == set(asked) == set(ANSWERS), f"expected every graded reflection, got {sorted(explained)}"
    for variable, entry in explained.items():
        assert entry["best"] == ANSWERS[variable], (
            f"input: {variable}; expected the explanation of the graded answer {ANSWERS[variable]!r}, got {entry['best']!r}"
        )
        others = set(asked[variable]) - {entry["best"]}
        assert set(entry["options"]) == others and all(entry["options"].values()), (
            f"input: {variable}; expected a note on each other option {sorted(others)}, got {sorted(entry['options'])}"
        )
    assert feedback.decode_feedback(feedback.encode_feedback(explained)) == explained, "expected encode to undo decode"


@pytest.mark.parametrize(
    "question, answers, locked",
    [
        ("act1_reflection", (None, None), ["act1_reflection_reason", "act1_failure_mode"]),
        ("act1_reflection", ("A", "noisy"), ["act1_failure_mode"]),
        ("act2_reflection", ("E",), ["act2_reflection"]),
        ("deployment", (Ellipsis,), ["deployment_answer"]),
    ],
)
def test_feedback_stays_locked_until_every_answer_is_set(question, answers, locked, capsys):
    result = displays.reflection_feedback.__wrapped__(question, *answers)
    out = capsys.readouterr().out
    assert result is None, f"input: {question} {answers}; expected None while locked, got {result!r}"
    assert [v for v in locked if f"`{v}`" in out] == locked and "🔒" in out, f"input: {answers}; got {out!r}"
    assert "best answer" not in out and "Why" not in out, f"input: {answers}; expected nothing given away, got {out!r}"


@pytest.mark.parametrize("question", sorted(feedback.QUESTIONS))
def test_feedback_opens_once_answered_and_names_the_best_answer(question, capsys):
    asked = feedback.QUESTIONS[question]
    wrong = [next(o for o in options if o != ANSWERS[variable]) for variable, options in asked]
    result = displays.reflection_feedback.__wrapped__(question, *(w.lower() for w in wrong))
    out = capsys.readouterr().out
    for (variable, _options), choice in zip(asked, wrong):
        best = ANSWERS[variable]
        assert result[variable] == {"chosen": choice, "best": best, "is_best": False}, f"got {result[variable]}"
        for text in (f'you chose "{choice}"; the best answer is "{best}"', f'Why not "{choice}":', f'Why "{best}":'):
            assert text in out, f"input: {variable} = {choice!r}; expected {text!r}, got {out!r}"
    best = [ANSWERS[variable] for variable, _options in asked]
    result = displays.reflection_feedback.__wrapped__(question, *best)
    out = capsys.readouterr().out
    assert all(entry["is_best"] for entry in result.values()) and "Why not" not in out, f"input: {best}; got {out!r}"


def test_feedback_rejects_an_unknown_question_or_a_missing_answer():
    with pytest.raises(ValueError, match="act2_reflection"):
        displays.reflection_feedback.__wrapped__("act3", "A")
    with pytest.raises(ValueError, match="2 answers"):
        displays.reflection_feedback.__wrapped__("act1_reflection", "A")


# ---------------------------------------------------------------------------------------------
# Measure, don't only compute (the closing section)
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Compute functions: the numbers behind each display, against the reference
# ---------------------------------------------------------------------------------------------
def test_activation_comparison_lists_the_table_and_every_curve():
    comparison = act1.activation_comparison(" c", ACTIVATION_TRANSISTORS)
    assert (comparison.letter, comparison.label) == ("C", "about 20x"), f"input: ' c'; got {comparison.letter!r}"
    assert comparison.transistors == tuple(ACTIVATION_TRANSISTORS[n] for n in comparison.names), (
        f"expected the table's transistors in the order of the names {comparison.names}, got {comparison.transistors}"
    )
    assert comparison.estimates == {"gelu"}, f"expected only GELU marked as an estimate, got {comparison.estimates}"
    assert comparison.relu_transistors == ACTIVATION_TRANSISTORS["relu"], f"got {comparison.relu_transistors}"
    peaks = {curve.name: curve.peak for curve in comparison.curves}
    assert peaks["sigmoid"] == pytest.approx(0.25, abs=1e-3) and peaks["relu"] == pytest.approx(1.0), (
        f"expected the largest slopes 1/4 (sigmoid) and 1 (ReLU), got {peaks}"
    )
    sigmoid = next(curve for curve in comparison.curves if curve.name == "sigmoid")
    assert sigmoid.ys == pytest.approx(constants.sigmoid(sigmoid.xs)), "expected the provided sigmoid's values"


@pytest.mark.parametrize("depth", [1, 10, 25])
def test_gradient_decay_numbers_are_the_students(depth):
    decay = act1.gradient_decay(ref.gradient_bound, ref.stall_depth, ref.sigmoid_derivative, depth=depth)
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


def test_gelu_estimate_is_a_tanh_unit_plus_its_arithmetic(capsys):
    macs = len(constants.GELU_EXTRA_MACS)
    expected = ACTIVATION_TRANSISTORS["tanh"] + macs * constants.GELU_TRANSISTORS_PER_MAC
    assert ACTIVATION_TRANSISTORS["gelu"] == expected == 3_000, f"expected 2,500 + 5 x 100 = 3,000, got {expected}"
    cycles = constants.ACTIVATION_PROFILES["gelu"]["cycles"]
    assert cycles == (30, 50), f"expected tanh's 20-40 cycles + 5 x 2, got {cycles}"
    act1.print_gelu_estimate()
    out = capsys.readouterr().out
    for text in ("2,500 + 5 x 100 = 3,000 transistors", "20-40 + 5 x 2 = 30-50 cycles", "this lab's reasoning"):
        assert text in out, f"expected {text!r} in GELU's reasoning, got {out!r}"


def test_dying_relu_reaches_the_chapters_range(tmp_path, capsys):
    fig = displays.dying_relu_figure.__wrapped__()
    check_figure(fig, tmp_path, "dying_relu_figure")
    out = capsys.readouterr().out
    result = act1.dying_relu()
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
    again = act1.dying_relu()
    assert np.array_equal(again.dead_fraction, fractions), "expected the same curve from the same seed"


def test_gradient_decay_keeps_a_stall_depth_of_none():
    decay = act1.gradient_decay(ref.gradient_bound, lambda threshold, slope: None, ref.sigmoid_derivative)
    assert decay.stall is None, f"input: stall_depth returning None; got {decay.stall!r}"
    fig = act1.draw_gradient_decay(decay)
    assert fig.axes[0].get_title() == "Sigmoid's gradient bound never falls below the stall line", (
        f"input: no stall depth; got the title {fig.axes[0].get_title()!r}"
    )


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


@pytest.mark.parametrize("batch_size", [1, MNIST_BATCH_SIZE, 1024])
def test_width_challenge_numbers_are_the_students(batch_size):
    challenge = act2_memory.width_challenge(ref.training_memory, ref.max_trainable_width, batch_size)
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
        act2_memory.DeviceWidth(
            H100, DEVICE_BUDGETS_BYTES[H100], 2 * high, None, "W = far right", f"{H100}: W = far →"
        ),
        act2_memory.DeviceWidth(
            MICRO, DEVICE_BUDGETS_BYTES[MICRO], 1, None, "not even W = 2 fits", f"{MICRO}: nothing fits"
        ),
        act2_memory.DeviceWidth(LAPTOP, DEVICE_BUDGETS_BYTES[LAPTOP], 1024, 2.0**30, "W = 1,024", None),
    )
    widths = np.array([low, 1024, high])
    challenge = act2_memory.WidthChallenge(
        batch_size=8, widths=widths, totals=np.array([2.0**20, 2.0**30, 2.0**40]), devices=devices
    )
    fig = act2_memory.draw_width_challenge(challenge)
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


def test_layer_shares_are_the_students_macs():
    shares = act2_compute.layer_shares(ref.layer_macs, widths=(128, 4096))
    assert [s.width for s in shares] == [128, 4096], f"got {[s.width for s in shares]}"
    for share in shares:
        macs = ref.layer_macs(constants.challenge_layer_sizes(share.width))
        assert share.macs == tuple(macs), f"input: W = {share.width}; expected {macs}, got {share.macs}"
        assert sum(share.shares) == pytest.approx(1.0), f"input: W = {share.width}; got shares {share.shares}"
    assert round(shares[0].shares[0], 3) == 0.919, f"input: W = 128; expected layer 1 at 91.9%, got {shares[0].shares}"


@pytest.mark.parametrize("widths, accepted", [((), "at least one"), ((128, 1), ">= 2")])
def test_layer_shares_checks_the_widths_before_calling_the_student(widths, accepted):
    student = Recorder()
    with pytest.raises(ValueError, match=accepted):
        act2_compute.layer_shares(student, widths)
    assert student.calls == [], f"input: widths {widths}; expected no call of layer_macs, got {student.calls}"


@pytest.mark.parametrize("layer_sizes, batch_size", [(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE), ([784, 10], 1)])
def test_training_step_flops_are_the_students(layer_sizes, batch_size):
    flops = act2_compute.training_step_flops(ref.layer_macs, ref.parameter_count, layer_sizes, batch_size)
    macs = ref.layer_macs(layer_sizes)
    forward = common.FLOPS_PER_MAC * sum(macs) * batch_size
    backward = forward + common.FLOPS_PER_MAC * sum(macs[1:]) * batch_size
    update = common.ADAM_FLOPS_PER_PARAM * ref.parameter_count(layer_sizes)
    where = f"input: {layer_sizes}, batch {batch_size}"
    got = (flops.forward, flops.backward.total, flops.update)
    assert got == (forward, backward, update), f"{where}; expected {(forward, backward, update)}, got {got}"
    assert flops.total == forward + backward + update, f"{where}; got total {flops.total}"


def test_training_step_cost_widens_the_challenge_network():
    cost = act2_compute.training_step_cost(ref.layer_macs, ref.parameter_count, MNIST_LAYER_SIZES, 32)
    assert set(common.BACKWARD_WIDTHS_PRINTED) <= set(cost.widths.tolist()), f"got widths {cost.widths}"
    at_4096 = cost.at_width(4096)
    assert at_4096.layer_sizes == tuple(constants.challenge_layer_sizes(4096)), f"got {at_4096.layer_sizes}"
    assert round(at_4096.first_layer_share, 3) == 0.276 and round(at_4096.backward_ratio, 2) == 1.72, (
        f"input: W = 4096; expected layer 1 at 27.6% and backward 1.72x (FACTS item 6), got "
        f"{at_4096.first_layer_share:.3f}, {at_4096.backward_ratio:.3f}"
    )


def test_batch_scaling_ratios_are_the_students():
    scaling = act2_memory.batch_scaling(ref.training_memory, MNIST_LAYER_SIZES)
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


def test_transistor_tax_reveal_numbers_are_the_students():
    reveal = act1.transistor_tax_reveal("a", ref.transistor_tax, ref.extra_transistors)
    assert reveal.ratio == ref.transistor_tax("sigmoid"), f"got ratio {reveal.ratio}"
    assert reveal.extra_transistors == ref.extra_transistors(1000, 10, "sigmoid"), f"got {reveal.extra_transistors}"
    assert (reveal.prediction, reveal.spot_on) == ("A", False), f"input: 'a'; got {reveal.prediction}, {reveal.spot_on}"
    assert reveal.verdict == f"your prediction was off by {reveal.off_by:.3g}x (too low).", f"got {reveal.verdict!r}"


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


@pytest.mark.parametrize(
    "compute",
    [
        lambda f: act1.gradient_decay(f, ref.stall_depth, ref.sigmoid_derivative),
        lambda f: act2_memory.width_challenge(ref.training_memory, f),
        lambda f: act2_memory.batch_scaling(f, MNIST_LAYER_SIZES),
        lambda f: act2_compute.training_step_flops(ref.layer_macs, f, MNIST_LAYER_SIZES, 32),
    ],
    ids=["decay", "width", "scaling", "waterfall"],
)
def test_compute_functions_open_no_figure(compute):
    with pytest.raises(NotImplementedError):
        compute(stub)
    assert plt.get_fignums() == [], f"input: a stub; expected no figure opened, got {plt.get_fignums()}"


# ---------------------------------------------------------------------------------------------
# display_guard: stubs, errors and endless loops in the student's code
# ---------------------------------------------------------------------------------------------
def stub(*args, **kwargs):
    raise NotImplementedError("training_memory: replace this line with your code")


def returns_none(*args, **kwargs):
    return None


def loops_forever(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize(
    "call",
    [
        lambda f: displays.memory_ledger_figure(f, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP),
        lambda f: displays.width_challenge_figure(f, ref.max_trainable_width),
        lambda f: displays.batch_scaling_figure(f, MNIST_LAYER_SIZES, 1.5),
        lambda f: displays.act2_reveal(900, f, ref.inference_memory),
        lambda f: displays.deployment_table(f, ref.inference_memory, MNIST_LAYER_SIZES),
        lambda f: displays.memory_hierarchy_summary(f, MNIST_LAYER_SIZES, 32),
        # A stub met after other student code has returned.
        lambda f: displays.width_challenge_figure(ref.training_memory, f),
        lambda f: displays.layer_share_figure(f),
    ],
    ids=["ledger", "width", "scaling", "act2", "deployment", "hierarchy", "width-max", "layer-share"],
)
def test_guard_turns_a_stub_into_one_line(call, capsys):
    assert call(stub) is None, "input: a NotImplementedError stub; expected None"
    out = capsys.readouterr().out
    assert "not implemented yet" in out and out.count("\n") == 1, (
        f"input: stub; expected one friendly line, got {out!r}"
    )
    assert plt.get_fignums() == [], f"input: stub; expected no figure left open, got {plt.get_fignums()}"


def test_guard_passes_the_printout_of_a_display_that_works(capsys):
    displays.layer_share_figure(ref.layer_macs, widths=(128,))
    out = capsys.readouterr().out
    assert "W =    128: layer 1 does" in out, f"input: reference layer_macs; expected the shares printed, got {out!r}"


def test_guard_names_a_missing_return(capsys):
    result = displays.memory_ledger_figure(returns_none, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP)
    out = capsys.readouterr().out
    assert result is None, f"input: training_memory returning None; expected None, got {result!r}"
    assert "returned None" in out, f"input: training_memory returning None; expected it named, got {out!r}"


def test_guard_stops_a_loop_that_never_ends(monkeypatch, capsys):
    monkeypatch.setattr(guards, "DISPLAY_TIME_LIMIT_S", 0.5)
    start = time.perf_counter()
    result = displays.gradient_decay_figure(loops_forever, ref.stall_depth, ref.sigmoid_derivative)
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out
    assert result is None, f"input: a gradient_bound that never returns; expected None, got {result!r}"
    assert "did not return" in out, f"input: endless loop; expected 'did not return', got {out!r}"
    assert elapsed < 5, f"input: endless loop, limit 0.5 s; expected a quick stop, got {elapsed:.1f} s"


def test_printed_results_stay_quiet_in_notebooks():
    result = displays.math_peek_bounds.__wrapped__(ref.gradient_bound, ref.stall_depth)
    rows = displays.deployment_table.__wrapped__(ref.training_memory, ref.inference_memory, MNIST_LAYER_SIZES)
    for value in (result, rows):
        assert hasattr(value, "_ipython_display_"), f"expected a quiet notebook display, got {type(value)}"
        assert value._ipython_display_() is None
    assert isinstance(result, dict) and isinstance(rows, list), f"got {type(result)}, {type(rows)}"
