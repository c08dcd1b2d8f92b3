"""Lab 05 figures and printed summaries: the display code students do not write.

Every function here receives the student's own functions as arguments, so a figure starts
working as soon as the functions it needs are filled in. Nothing in this module computes a
graded quantity itself: every number shown comes from the student's functions or from the
constants in ``lab05_helpers``.

Conventions:
    * Memory is in bytes and shown in binary units (KiB, MiB, GiB) with ``fmt_bytes``.
    * Figures are built with Matplotlib's object API and returned. Each one is detached from
      pyplot (``plt.close(fig)``) before it is returned, so Jupyter shows it exactly once, as
      the cell's result: a figure still registered with pyplot would be shown a second time by
      the inline backend at the end of the cell. Detached figures can still be saved or shown
      (``fig.savefig(...)``, ``display(fig)``).
    * Functions that print return the numbers they printed, as a dict (or a list of dicts)
      whose notebook display is empty: the numbers are already on screen above it.
    * Display functions that call student code are wrapped with ``display_guard``: a stub, an
      exception or a loop that never ends prints one friendly line and returns ``None``. The
      undecorated function is available as ``fn.__wrapped__`` (the tests use it).
    * A display with more than a few numbers is three functions. A compute function (named
      after what it returns: ``memory_ledger`` returns a ``MemoryLedger``) checks the arguments,
      calls the student's functions and returns a NamedTuple of the numbers, labels and verdicts
      shown (NamedTuples, not dataclasses: defining one costs the graded import almost nothing).
      A draw function (``draw_memory_ledger``; ``print_...`` for a printed reveal) takes only
      that result: it draws, then prints, and never calls student code. The guarded display the
      notebook calls (``memory_ledger_figure``) calls one, then the other.

Sections: the displays' constants; what the displays return and checks of what the student's
functions return; formatting; axes shared by several figures; then the displays in the order of
the notebook (Act 1, Act 2, deployment and the memory hierarchy).
"""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import lab05_helpers as _helpers
import numpy as np
from lab05_helpers import (
    ACT1_PREDICTION_OPTIONS,
    ACTIVATION_PROFILES,
    ACTIVATION_TRANSISTORS,
    BATCH_SIZE_CHOICES,
    BYTES_FP32,
    BYTES_PER_GIB,
    BYTES_PER_KIB,
    BYTES_PER_MIB,
    DEVICE_BUDGETS_BYTES,
    DRAM_LATENCY_NS,
    L1_CACHE_BYTES,
    L1_LATENCY_NS,
    LAPTOP_GPU,
    LEARNING_STALLS_BELOW,
    MNIST_BATCH_SIZE,
    MNIST_LAYER_SIZES,
    OPTIMIZER_STATE_PER_PARAM,
    PRECISION_BYTES,
    WIDTH_CHALLENGE_RANGE,
    challenge_layer_sizes,
    check_count,
    check_layer_sizes,
    check_name,
    check_positive,
    display_guard,
    fmt_bytes,
    gelu,
    locked_message,
    prediction_is_set,
    relu,
    sigmoid,
    to_kib,
)


class _LazyModule:
    """A module imported on first use: grading runs the notebook without drawing anything, and
    importing matplotlib would cost every graded submission most of a second."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


plt = _LazyModule("matplotlib.pyplot")
ticker = _LazyModule("matplotlib.ticker")
mpatches = _LazyModule("matplotlib.patches")

# ---------------------------------------------------------------------------------------------
# Constants of the displays (figures shown to students, not graded)
# ---------------------------------------------------------------------------------------------
#: FLOPs per multiply-accumulate: one multiply and one add.
FLOPS_PER_MAC = 2
#: The backward pass computes two matrix products per layer (the gradient for the weights and
#: the gradient for the layer's input), each the size of the forward product.
BACKWARD_PRODUCTS_PER_LAYER = 2
#: FLOPs per parameter for one Adam update. This lab's estimate, not a chapter figure: two
#: moment updates, bias corrections, a square root, a division and the step itself.
ADAM_FLOPS_PER_PARAM = 10

#: The chapter's example network for the transistor tax: 1,000 neurons in each of 10 layers.
EXAMPLE_NEURONS_PER_LAYER = 1_000
EXAMPLE_NUM_LAYERS = 10
#: A prediction within this factor of the measured ratio is reported as spot on.
SPOT_ON_WITHIN = 1.25
#: The training/inference ratio the chapter quotes, explained by act2_reveal.
CHAPTER_QUOTED_RATIO = 4.3

#: Inputs over which the activation curves are drawn.
CURVE_X_RANGE = (-6.0, 6.0)
CURVE_POINTS = 1_201
#: A derivative below this blocks the gradient for practical purposes; shaded in the curves.
FLAT_DERIVATIVE_BELOW = 0.01
#: Depths shown by the gradient-decay figure (1 .. this), and the depths the math peek prints.
MAX_DEPTH_SHOWN = 20
PEEK_DEPTHS = (9, 10, 20)
#: Input at which the dashed "saturated tanh" line evaluates tanh'.
TANH_SATURATED_INPUT = 2.0

#: Segments of the memory ledger's selected bar smaller than this share carry no label.
MIX_LABEL_MIN_SHARE = 0.04
#: Pie wedges smaller than this share carry no label (their share is listed under the pie).
PIE_LABEL_MIN_SHARE = 0.06
#: Points on the width challenge's W axis.
WIDTH_POINTS = 60
#: Batch sizes of the batch-scaling figure: 1, 2, 4, ..., 8192.
SCALING_BATCHES = tuple(2**k for k in range(14))
#: The wide network of the batch-scaling figure: challenge_layer_sizes(this).
SCALING_WIDE_WIDTH = 4096
#: The batch-scaling figure reports the first batch whose doubling ratio exceeds this.
NEAR_DOUBLING_RATIO = 1.9

#: Okabe-Ito colours, distinguishable with the common forms of colour blindness.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
ALARM_COLOUR = OKABE_ITO["vermillion"]
#: Colours of the four training-memory components (the keys of training_memory's dict).
COMPONENT_COLOURS = {
    "weights": OKABE_ITO["blue"],
    "gradients": OKABE_ITO["sky_blue"],
    "optimizer": OKABE_ITO["green"],
    "activations": OKABE_ITO["orange"],
}
COMPONENT_LABELS = {
    "weights": "weights",
    "gradients": "gradients",
    "optimizer": "optimizer state",
    "activations": "activations",
}
MEMORY_COMPONENTS = tuple(COMPONENT_COLOURS)
#: Budget-line colours (Paul Tol's muted scheme: dark, distinct from the component colours).
DEVICE_COLOURS = {
    "H100": "#882255",
    "Laptop GPU": "#332288",
    "Mobile GPU": "#117733",
    "Microcontroller": "#999933",
}
ACTIVATION_COLOURS = {
    "relu": OKABE_ITO["orange"],
    "sigmoid": OKABE_ITO["blue"],
    "tanh": OKABE_ITO["green"],
    "gelu": OKABE_ITO["purple"],
}
#: The activation functions drawn by the comparator (all provided, none written by students).
ACTIVATION_CURVES = {"relu": relu, "sigmoid": sigmoid, "tanh": np.tanh, "gelu": gelu}


# ---------------------------------------------------------------------------------------------
# What the displays return, and checks of what the student's functions return
# ---------------------------------------------------------------------------------------------
class PrintedDict(dict):
    """A dict of numbers that were just printed: it shows nothing more in a notebook."""

    def _ipython_display_(self):
        pass


class PrintedList(list):
    """A list of rows that were just printed: it shows nothing more in a notebook."""

    def _ipython_display_(self):
        pass


def _finish(fig):
    """Detach ``fig`` from pyplot (so Jupyter shows it once, as the result) and return it."""
    plt.close(fig)
    return fig


def _number(value: Any, what: str):
    """``value`` (NumPy scalars as Python numbers) if it is a finite real number.

    Raises:
        TypeError: naming ``what`` (the student's call) and the value it returned.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{what} returned {value!r}; expected a finite number")
    return value.item() if isinstance(value, np.generic) else value


def _memory(training_memory: Callable, *args) -> dict:
    """Call the student's ``training_memory`` and check it returned the five byte counts."""
    result = training_memory(*args)
    shown = ", ".join(repr(a) for a in args)
    if not isinstance(result, Mapping):
        raise TypeError(
            f"training_memory({shown}) returned {result!r}; expected a dict with the keys "
            f"{list(MEMORY_COMPONENTS) + ['total']}"
        )
    out = {}
    for key in MEMORY_COMPONENTS + ("total",):
        if key not in result:
            raise TypeError(f"training_memory({shown}) returned a dict without the key {key!r}")
        out[key] = _number(result[key], f"training_memory({shown})[{key!r}]")
    return out


def _check_device(device: Any) -> str:
    """The key of DEVICE_BUDGETS_BYTES that ``device`` names (case-insensitive).

    Raises:
        ValueError: naming every accepted device.
    """
    name = _helpers.matching_option(device, DEVICE_BUDGETS_BYTES)
    if name is not None:
        return name
    raise ValueError(f"unknown device {device!r}: expected one of {list(DEVICE_BUDGETS_BYTES)}")


def _check_bytes_per_value(value: Any) -> float:
    """``value`` if it is a positive number of bytes, else a ValueError naming the usual ones."""
    usual = ", ".join(f"{name.upper()} = {size}" for name, size in PRECISION_BYTES.items())
    try:
        return check_positive("bytes_per_value", value)
    except ValueError:
        raise ValueError(f"bytes_per_value must be a positive number of bytes ({usual}), got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Formatting: numbers and labels as the displays show them
# ---------------------------------------------------------------------------------------------
def _precision_name(bytes_per_value: float) -> str:
    """'FP32' for 4 bytes, 'FP16' for 2, else 'N bytes/value'."""
    for name, size in PRECISION_BYTES.items():
        if bytes_per_value == size:
            return name.upper()
    return f"{bytes_per_value:g} bytes/value"


def _sci(value: float, digits: int = 3) -> str:
    """Scientific notation without padded exponents: 9.54e-7, 1e-6."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _slope_text(value: float) -> str:
    """A per-layer factor as a simple fraction when it is one (1/4), else 3 significant digits."""
    fraction = Fraction(value).limit_denominator(16)
    if fraction.denominator > 1 and math.isclose(float(fraction), value, rel_tol=1e-9):
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:.3g}"


def _percent(share: float) -> str:
    """A share as '91.9%', or '<0.1%' when it would round to zero."""
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def _cycles_text(low: int, high: int) -> str:
    """A range of cycles as '1' or '10-20'."""
    return f"{low}" if low == high else f"{low}-{high}"


def _times(value: float) -> str:
    """A ratio as '2.5x', '50x', '33.3x'."""
    return f"{value:.3g}x"


def _budget_label(device: str) -> str:
    """'Laptop GPU budget (8.00 GiB)'."""
    return f"{device} budget ({fmt_bytes(DEVICE_BUDGETS_BYTES[device])})"


def _challenge_shape() -> str:
    """The width challenge's network in words: '784 → W → W // 2 → 10'."""
    sizes = challenge_layer_sizes(2)
    return f"{sizes[0]} → W → W // 2 → {sizes[-1]}"


def _prediction_letter(prediction: Any) -> str:
    """A prediction as its option's letter: ' c' -> 'C'."""
    return prediction.strip().upper()


# ---------------------------------------------------------------------------------------------
# Axes and lines shared by several figures
# ---------------------------------------------------------------------------------------------
def _byte_tick(value: float, _pos=None) -> str:
    """Tick label in binary units, from fmt_bytes without trailing '.00' (e.g. '32 KiB')."""
    return fmt_bytes(value).replace(".00 ", " ")


def _binary_log_axis(axis, low: float, high: float) -> None:
    """Put byte ticks at powers of two (at most nine of them) on an already log-scaled axis."""
    first, last = math.floor(math.log2(low)), math.ceil(math.log2(high))
    for step in (1, 2, 5, 10, 20):
        exponents = [e for e in range(first, last + 1) if e % step == 0]
        if len(exponents) <= 9:
            break
    axis.set_major_locator(ticker.FixedLocator([2.0**e for e in exponents]))
    axis.set_minor_locator(ticker.NullLocator())
    axis.set_major_formatter(ticker.FuncFormatter(_byte_tick))


def _binary_linear_axis(axis, high: float) -> None:
    """Byte ticks at round numbers of one binary unit (0, 0.5, 1, 1.5 MiB ...) on a linear axis."""
    unit, name = 1, "B"
    for size, label in ((BYTES_PER_GIB, "GiB"), (BYTES_PER_MIB, "MiB"), (BYTES_PER_KIB, "KiB")):
        if high >= size:
            unit, name = size, label
            break
    ticks = ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0, high / unit)
    axis.set_major_locator(ticker.FixedLocator([t * unit for t in ticks if 0 <= t * unit <= high]))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v / unit:g} {name}" if v else "0"))


def _draw_budget_lines(ax, selected: str | None = None) -> list:
    """One labelled horizontal line per device budget; the selected device's line is bold."""
    lines = []
    for device, budget in DEVICE_BUDGETS_BYTES.items():
        bold = device == selected
        lines.append(
            ax.axhline(
                budget,
                color=DEVICE_COLOURS.get(device, OKABE_ITO["black"]),
                linestyle="-" if bold else "--",
                linewidth=2.8 if bold else 1.3,
                label=_budget_label(device),
                zorder=4 if bold else 3,
            )
        )
    return lines


# ---------------------------------------------------------------------------------------------
# Act 1: the transistor tax
# ---------------------------------------------------------------------------------------------
def show_options(options: Mapping[str, Sequence]) -> None:
    """Print the letters and labels of a prediction's options.

    Args:
        options: letter -> (label, representative value), like ACT1_PREDICTION_OPTIONS.

    Returns:
        None. The options are printed, one per line.
    """
    for letter, option in options.items():
        label = option[0] if isinstance(option, (tuple, list)) else option
        print(f'  "{letter}"  {label}')


def show_source(fn: Callable) -> None:
    """Print the source code of a function.

    Args:
        fn: a function defined in Python (not a builtin).

    Returns:
        None. The source is printed.
    """
    try:
        print(inspect.getsource(fn))
    except (OSError, TypeError):
        print(f"The source of {getattr(fn, '__name__', fn)!r} is not available.")


class ActivationCurve(NamedTuple):
    """One activation over CURVE_X_RANGE and its numerical derivative (np.gradient).

    Attributes:
        name: key of ACTIVATION_CURVES ("relu", "sigmoid", ...).
        label: the name shown ("ReLU", "Sigmoid", ...).
        xs: inputs, CURVE_POINTS of them.
        ys: the activation at ``xs``.
        slope: its derivative at ``xs``.
    """

    name: str
    label: str
    xs: np.ndarray
    ys: np.ndarray
    slope: np.ndarray

    @property
    def peak(self) -> float:
        """The largest slope."""
        return float(np.max(self.slope))


class ActivationComparison(NamedTuple):
    """What the activation cost comparator shows: built by ``activation_comparison``.

    Attributes:
        letter: the student's prediction, upper case ("C").
        label: that option's label ("about 20x").
        predicted_ratio: that option's representative sigmoid/ReLU ratio.
        names: the activations of the transistor table, in ACTIVATION_PROFILES order.
        labels: their names as shown ("ReLU", ...), one per name.
        estimates: the names whose figures are this lab's estimate, not the chapter's.
        transistors: transistors per unit, one per name.
        cycles: (low, high) cycles per evaluation, one per name.
        power_vs_relu: the power column of the printed table, one per name.
        sources: where each row's figures come from, one per name.
        relu_transistors: the table's ReLU entry (None without one): the prediction line's base.
        curves: every curve of ACTIVATION_CURVES with its derivative.
    """

    letter: str
    label: str
    predicted_ratio: float
    names: tuple[str, ...]
    labels: tuple[str, ...]
    estimates: frozenset[str]
    transistors: tuple[int, ...]
    cycles: tuple[tuple[int, int], ...]
    power_vs_relu: tuple[str, ...]
    sources: tuple[str, ...]
    relu_transistors: int | None
    curves: tuple[ActivationCurve, ...]


def activation_comparison(prediction: Any, transistor_table: Mapping[str, int]) -> ActivationComparison:
    """The numbers and labels of the activation cost comparator (no student code involved).

    Args:
        prediction: a letter of ACT1_PREDICTION_OPTIONS (any case; ``prediction_is_set``).
        transistor_table: activation name -> transistors per hardware unit (ACTIVATION_TRANSISTORS).

    Returns:
        ActivationComparison.
    """
    letter = _prediction_letter(prediction)
    label, predicted_ratio = ACT1_PREDICTION_OPTIONS[letter]
    names = tuple(name for name in ACTIVATION_PROFILES if name in transistor_table)
    profiles = [ACTIVATION_PROFILES[name] for name in names]
    # The derivative is numerical: no student code here.
    xs = np.linspace(*CURVE_X_RANGE, CURVE_POINTS)
    curves = []
    for name, fn in ACTIVATION_CURVES.items():
        ys = np.asarray(fn(xs), dtype=float)
        shown = ACTIVATION_PROFILES[name]["label"] if name in ACTIVATION_PROFILES else name
        curves.append(ActivationCurve(name, shown, xs, ys, np.gradient(ys, xs)))
    return ActivationComparison(
        letter=letter,
        label=label,
        predicted_ratio=predicted_ratio,
        names=names,
        labels=tuple(profile["label"] for profile in profiles),
        estimates=frozenset(n for n, p in zip(names, profiles) if p["source"].startswith("estimate")),
        transistors=tuple(transistor_table[name] for name in names),
        cycles=tuple(tuple(profile["cycles"]) for profile in profiles),
        power_vs_relu=tuple(profile["power_vs_relu"] for profile in profiles),
        sources=tuple(profile["source"] for profile in profiles),
        relu_transistors=transistor_table.get("relu"),
        curves=tuple(curves),
    )


def draw_activation_comparator(comparison: ActivationComparison):
    """Draw the comparator's figure, then print the prediction and the table of costs.

    Args:
        comparison: from ``activation_comparison``.

    Returns:
        matplotlib.figure.Figure.
    """
    c = comparison
    mosaic = [
        ["transistors", "transistors", "cycles", "cycles"],
        [f"curve_{curve.name}" for curve in c.curves],
        [f"slope_{curve.name}" for curve in c.curves],
    ]
    fig, axd = plt.subplot_mosaic(mosaic, figsize=(12, 8.5), layout="constrained", height_ratios=[1.25, 1, 1])
    ticks = [f"{text}\n(estimate)" if n in c.estimates else text for n, text in zip(c.names, c.labels)]

    # (a) Transistors per unit, log axis.
    ax = axd["transistors"]
    x = np.arange(len(c.names))
    counts = list(c.transistors)
    bars = ax.bar(
        x,
        counts,
        color=[ACTIVATION_COLOURS.get(n, OKABE_ITO["black"]) for n in c.names],
        edgecolor=OKABE_ITO["black"],
        hatch=["//" if n in c.estimates else "" for n in c.names],
    )
    for bar, n, count in zip(bars, c.names, counts):
        note = f"{count:,}\n(estimate)" if n in c.estimates else f"{count:,}"
        ax.annotate(
            note,
            (bar.get_x() + bar.get_width() / 2, count),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_yscale("log")
    baseline = c.relu_transistors
    if baseline:
        ax.axhline(
            baseline * c.predicted_ratio,
            color=OKABE_ITO["black"],
            linestyle=":",
            linewidth=1.5,
            label=f"your prediction for sigmoid: {c.letter}, {c.label} "
            f"({baseline * c.predicted_ratio:,.0f} transistors)",
        )
        ax.legend(loc="upper left", fontsize=8.5)
    ax.set_ylim(min(counts) / 2, max(counts) * 8)
    ax.set_xticks(x, ticks)
    ax.set_xlabel("activation unit")
    ax.set_ylabel("transistors per unit (log scale)")
    ax.set_title("Silicon per unit")

    # (b) Cycles per evaluation, a low-high range per activation.
    ax = axd["cycles"]
    for i, (n, (low, high)) in enumerate(zip(c.names, c.cycles)):
        colour = ACTIVATION_COLOURS.get(n, OKABE_ITO["black"])
        ax.bar(
            i,
            high - low,
            bottom=low,
            width=0.5,
            color=colour,
            edgecolor=OKABE_ITO["black"],
            hatch="//" if n in c.estimates else "",
        )
        ax.plot([i - 0.25, i + 0.25], [low, low], color=OKABE_ITO["black"], linewidth=2)
        ax.plot([i - 0.25, i + 0.25], [high, high], color=OKABE_ITO["black"], linewidth=2)
        ax.annotate(
            _cycles_text(low, high),
            (i, high),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    top = max(high for _low, high in c.cycles)
    ax.set_ylim(0, top * 1.2)
    ax.set_xticks(range(len(c.names)), ticks)
    ax.set_xlabel("activation unit")
    ax.set_ylabel("cycles per evaluation (range)")
    ax.set_title("Time per evaluation")

    # Each curve above its derivative.
    for curve in c.curves:
        colour = ACTIVATION_COLOURS[curve.name]
        top_ax, bottom_ax = axd[f"curve_{curve.name}"], axd[f"slope_{curve.name}"]
        top_ax.plot(curve.xs, curve.ys, color=colour, linewidth=2)
        top_ax.set_title(curve.label)
        top_ax.set_xlabel("input x")
        top_ax.set_ylabel(f"{curve.label}(x)")
        bottom_ax.plot(curve.xs, curve.slope, color=colour, linewidth=2)
        bottom_ax.fill_between(
            curve.xs,
            0,
            1,
            where=np.abs(curve.slope) < FLAT_DERIVATIVE_BELOW,
            transform=bottom_ax.get_xaxis_transform(),
            color="0.85",
            label=f"slope < {FLAT_DERIVATIVE_BELOW:g}: gradient blocked",
        )
        bottom_ax.set_ylim(-0.15, 1.25)
        bottom_ax.set_title(f"its derivative: at most {curve.peak:.2f}", fontsize=10)
        bottom_ax.set_xlabel("input x")
        bottom_ax.set_ylabel("derivative")
        for a in (top_ax, bottom_ax):
            a.axvline(0, color="0.6", linewidth=0.8)
    axd["slope_relu"].legend(loc="center right", fontsize=8.5)
    fig.suptitle("What an activation costs in silicon, and what its derivative passes back", fontsize=13)

    # The printed table: what the figure cannot show (power and where each figure comes from).
    print(f"You predicted {c.letter} ({c.label}).")
    header = f"{'activation':<11}{'transistors':>12}  {'cycles':<8}{'power vs ReLU':<27}source"
    print()
    print(header)
    print("-" * len(header))
    for row in zip(c.labels, c.transistors, c.cycles, c.power_vs_relu, c.sources):
        label, count, (low, high), power, source = row
        print(f"{label:<11}{count:>12,}  {_cycles_text(low, high):<8}{power:<27}{source}")
    print()
    return _finish(fig)


@display_guard
def activation_comparator(prediction: Any, transistor_table: Mapping[str, int]):
    """The activation cost comparator: silicon, cycles, and each curve above its derivative.

    Locked until ``prediction`` is one of the letters of ACT1_PREDICTION_OPTIONS. Draws the
    transistors per unit (log axis; GELU hatched and labelled as this lab's estimate), the cycles
    per evaluation (low-high range from ACTIVATION_PROFILES), then ReLU, sigmoid, tanh and GELU
    over x in CURVE_X_RANGE with their numerical derivatives (np.gradient) directly beneath.
    Prints power relative to ReLU and the source of every figure.

    Args:
        prediction: the student's letter, e.g. "C".
        transistor_table: activation name -> transistors per hardware unit (ACTIVATION_TRANSISTORS).

    Returns:
        matplotlib.figure.Figure, or None while the prediction is not set.
    """
    if not prediction_is_set(prediction, ACT1_PREDICTION_OPTIONS):
        print(locked_message("act1_prediction", 'to "A", "B", "C" or "D"'))
        return None
    return draw_activation_comparator(activation_comparison(prediction, transistor_table))


class TransistorTaxReveal(NamedTuple):
    """What act1_reveal prints: built by ``transistor_tax_reveal``.

    Attributes:
        prediction: the student's letter, upper case.
        label: that option's label ("about 20x").
        representative_ratio: that option's representative sigmoid/ReLU ratio.
        ratio: the student's transistor_tax("sigmoid") (sigmoid's transistors / ReLU's).
        off_by: how far the prediction was from ``ratio``, as a factor >= 1.
        spot_on: whether ``off_by`` is below SPOT_ON_WITHIN.
        verdict: the printed verdict ("your prediction was off by 1.5x (too high).").
        neurons_per_layer, num_layers: the chapter's example network.
        units: its activation units (neurons_per_layer * num_layers).
        extra_per_unit: transistors a sigmoid unit needs beyond a ReLU unit.
        extra_transistors: the student's extra_transistors for the example network, sigmoid.
    """

    prediction: str
    label: str
    representative_ratio: float
    ratio: float
    off_by: float
    spot_on: bool
    verdict: str
    neurons_per_layer: int
    num_layers: int
    units: int
    extra_per_unit: int
    extra_transistors: float


def transistor_tax_reveal(
    prediction: Any, transistor_tax: Callable, extra_transistors: Callable
) -> TransistorTaxReveal:
    """The Act 1 prediction against the student's transistor_tax, and the example network's cost.

    Args:
        prediction: a letter of ACT1_PREDICTION_OPTIONS (any case; ``prediction_is_set``).
        transistor_tax: the student's transistor_tax(activation, baseline="relu").
        extra_transistors: the student's extra_transistors(neurons_per_layer, num_layers,
            activation, baseline="relu").

    Returns:
        TransistorTaxReveal.

    Raises:
        ValueError: for a ratio that is not positive.
        TypeError: for a student function that did not return a finite number.
    """
    letter = _prediction_letter(prediction)
    label, representative = ACT1_PREDICTION_OPTIONS[letter]
    ratio = _number(transistor_tax("sigmoid"), 'transistor_tax("sigmoid")')
    if ratio <= 0:
        raise ValueError(f'transistor_tax("sigmoid") returned {ratio!r}; expected a positive ratio')
    off_by = max(ratio / representative, representative / ratio)
    spot_on = off_by < SPOT_ON_WITHIN
    if spot_on:
        verdict = "your prediction was spot on."
    else:
        direction = "too low" if representative < ratio else "too high"
        verdict = f"your prediction was off by {_times(off_by)} ({direction})."
    neurons, layers = EXAMPLE_NEURONS_PER_LAYER, EXAMPLE_NUM_LAYERS
    extra = _number(
        extra_transistors(neurons, layers, "sigmoid"),
        f'extra_transistors({neurons}, {layers}, "sigmoid")',
    )
    return TransistorTaxReveal(
        prediction=letter,
        label=label,
        representative_ratio=representative,
        ratio=ratio,
        off_by=off_by,
        spot_on=spot_on,
        verdict=verdict,
        neurons_per_layer=neurons,
        num_layers=layers,
        units=neurons * layers,
        extra_per_unit=ACTIVATION_TRANSISTORS["sigmoid"] - ACTIVATION_TRANSISTORS["relu"],
        extra_transistors=extra,
    )


def print_transistor_tax_reveal(reveal: TransistorTaxReveal) -> PrintedDict:
    """Print the Act 1 reveal.

    Args:
        reveal: from ``transistor_tax_reveal``.

    Returns:
        dict of the numbers printed: every attribute of ``reveal`` but the verdict.
    """
    r = reveal
    print(
        f"You predicted {r.prediction} ({r.label}). The silicon cost ratio of sigmoid to ReLU is "
        f"{r.ratio:g}x: {r.verdict}"
    )
    print()
    print(
        f"The chapter's example: {r.neurons_per_layer:,} neurons per layer x {r.num_layers} layers "
        f"= {r.units:,} activation units. A sigmoid unit needs {r.extra_per_unit:,} more transistors "
        f"than a ReLU unit, so building the whole network with sigmoid costs {r.extra_transistors:,.0f} "
        f"extra transistors (your extra_transistors), for the nonlinearity alone."
    )
    return PrintedDict(
        prediction=r.prediction,
        label=r.label,
        representative_ratio=r.representative_ratio,
        ratio=r.ratio,
        off_by=r.off_by,
        spot_on=r.spot_on,
        neurons_per_layer=r.neurons_per_layer,
        num_layers=r.num_layers,
        units=r.units,
        extra_per_unit=r.extra_per_unit,
        extra_transistors=r.extra_transistors,
    )


@display_guard
def act1_reveal(prediction: Any, transistor_tax: Callable, extra_transistors: Callable):
    """Compare the Act 1 prediction with the student's transistor_tax and scale it to a network.

    Args:
        prediction: the student's letter, e.g. "C".
        transistor_tax: the student's transistor_tax(activation, baseline="relu").
        extra_transistors: the student's extra_transistors(neurons_per_layer, num_layers,
            activation, baseline="relu").

    Returns:
        dict with the prediction, the measured sigmoid/ReLU ratio, ``off_by`` (a factor >= 1),
        and the chapter example's units and extra transistors; or None while the prediction
        is not set.
    """
    if not prediction_is_set(prediction, ACT1_PREDICTION_OPTIONS):
        print(locked_message("act1_prediction", 'to "A", "B", "C" or "D"'))
        return None
    return print_transistor_tax_reveal(transistor_tax_reveal(prediction, transistor_tax, extra_transistors))


class GradientDecay(NamedTuple):
    """What the gradient-decay figure shows: built by ``gradient_decay``.

    Attributes:
        depth: the depth marked and annotated (layers, >= 1).
        max_slope: the largest slope of one sigmoid layer (the student's sigmoid_derivative(0.0)).
        depths: 1, 2, ..., last_depth (layers).
        bound: the student's gradient_bound at each of ``depths`` (unitless).
        at_depth: the student's gradient_bound at ``depth``.
        stall: the student's stall_depth for LEARNING_STALLS_BELOW (layers), or None: never.
        relu_active: the slope of an active ReLU unit.
        tanh_peak: tanh's largest slope (at 0).
        tanh_saturated: tanh's slope at TANH_SATURATED_INPUT.
    """

    depth: int
    max_slope: float
    depths: np.ndarray
    bound: np.ndarray
    at_depth: float
    stall: int | None
    relu_active: float
    tanh_peak: float
    tanh_saturated: float

    @property
    def last_depth(self) -> int:
        """The deepest depth shown: MAX_DEPTH_SHOWN, or ``depth`` when it is deeper."""
        return max(MAX_DEPTH_SHOWN, self.depth)


def gradient_decay(
    gradient_bound: Callable, stall_depth: Callable, sigmoid_derivative: Callable, depth: int = 10
) -> GradientDecay:
    """The numbers of the gradient-decay figure, from the student's functions.

    Args:
        gradient_bound: the student's gradient_bound(depth, max_derivative).
        stall_depth: the student's stall_depth(threshold, max_derivative).
        sigmoid_derivative: the student's sigmoid_derivative(x).
        depth: the depth (number of layers, >= 1) to mark and annotate.

    Returns:
        GradientDecay.

    Raises:
        ValueError: for a depth that is not a whole number >= 1.
        TypeError: for a student function that returned something other than the numbers expected.
    """
    depth = check_count("depth", depth)
    max_slope = _number(sigmoid_derivative(0.0), "sigmoid_derivative(0.0)")
    depths = np.arange(1, max(MAX_DEPTH_SHOWN, depth) + 1)
    bound = np.asarray(gradient_bound(depths, max_slope), dtype=float)
    if bound.shape != depths.shape:
        raise TypeError(
            f"gradient_bound(an array of {depths.size} depths, {max_slope:g}) returned shape "
            f"{bound.shape}; expected one value per depth"
        )
    at_depth = _number(gradient_bound(depth, max_slope), f"gradient_bound({depth}, {max_slope:g})")
    stall = stall_depth(LEARNING_STALLS_BELOW, max_slope)
    if stall is not None:
        stall = int(_number(stall, "stall_depth"))
    return GradientDecay(
        depth=depth,
        max_slope=max_slope,
        depths=depths,
        bound=bound,
        at_depth=at_depth,
        stall=stall,
        relu_active=relu(2.0) - relu(1.0),
        tanh_peak=1.0 - np.tanh(0.0) ** 2,
        tanh_saturated=1.0 - np.tanh(TANH_SATURATED_INPUT) ** 2,
    )


def draw_gradient_decay(decay: GradientDecay):
    """Draw the gradient-decay figure.

    Args:
        decay: from ``gradient_decay``.

    Returns:
        matplotlib.figure.Figure.
    """
    d = decay
    depths, depth, at_depth, stall = d.depths, d.depth, d.at_depth, d.stall
    fig, ax = plt.subplots(figsize=(12, 6), layout="constrained")
    ax.plot(
        depths,
        np.full(depths.shape, d.relu_active),
        color=OKABE_ITO["orange"],
        linewidth=5,
        alpha=0.6,
        label=f"ReLU (active units): {d.relu_active:g} per layer",
    )
    ax.plot(
        depths,
        d.tanh_peak**depths,
        color=OKABE_ITO["green"],
        linestyle=":",
        linewidth=2.5,
        label=f"tanh: no ({_slope_text(d.max_slope)})^L bound — vanishes only by saturation",
    )
    ax.plot(
        depths,
        d.tanh_saturated**depths,
        color=OKABE_ITO["green"],
        linestyle="--",
        linewidth=1.8,
        label=f"tanh, units saturated at x = ±{TANH_SATURATED_INPUT:g}: ({d.tanh_saturated:.3f})^L",
    )
    ax.plot(
        depths,
        d.bound,
        "o-",
        color=OKABE_ITO["blue"],
        linewidth=2.2,
        markersize=5,
        label=f"sigmoid: bound ({_slope_text(d.max_slope)})^L (your gradient_bound)",
    )
    ax.axhline(
        LEARNING_STALLS_BELOW,
        color=ALARM_COLOUR,
        linestyle="--",
        linewidth=2,
        label=f"learning stalls ({_sci(LEARNING_STALLS_BELOW)})",
    )
    if stall is not None:
        ax.axvline(
            stall,
            color=OKABE_ITO["black"],
            linestyle="-.",
            linewidth=1.4,
            label=f"stall depth = {stall}",
        )
    ax.plot(
        [depth],
        [at_depth],
        marker="*",
        markersize=18,
        color=OKABE_ITO["yellow"],
        markeredgecolor=OKABE_ITO["black"],
        linestyle="none",
        zorder=6,
        label=f"depth {depth}: bound {_sci(at_depth)}",
    )
    ax.annotate(
        f"depth {depth}:\nbound {_sci(at_depth)}",
        (depth, at_depth),
        xytext=(18, 30),
        textcoords="offset points",
        fontsize=10,
        arrowprops=dict(arrowstyle="->", color=OKABE_ITO["black"]),
        bbox=dict(boxstyle="round", facecolor="white", edgecolor="0.6"),
    )

    ax.set_yscale("log")
    # The saturated-tanh line may run off the bottom: the axis follows the sigmoid bound.
    positive = d.bound[d.bound > 0]
    floor = min(float(positive.min()) if positive.size else 1.0, LEARNING_STALLS_BELOW) / 100
    ax.set_ylim(floor, 10)
    ax.axhspan(floor, LEARNING_STALLS_BELOW, color=ALARM_COLOUR, alpha=0.06, zorder=0)
    ax.set_xlim(0.5, d.last_depth + 0.5)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("depth L (layers the gradient passes back through)")
    ax.set_ylabel("gradient magnitude (log scale)")
    if stall is not None:
        title = f"Sigmoid's gradient bound falls below {_sci(LEARNING_STALLS_BELOW)} at depth {stall}"
    else:
        title = "Sigmoid's gradient bound never falls below the stall line"
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    ax.grid(True, which="major", axis="y", alpha=0.3)
    return _finish(fig)


@display_guard
def gradient_decay_figure(
    gradient_bound: Callable, stall_depth: Callable, sigmoid_derivative: Callable, depth: int = 10
):
    """Gradient magnitude against depth: sigmoid's bound, ReLU, tanh, and the stall line.

    The sigmoid line is the student's gradient_bound(depths, sigmoid_derivative(0.0)); the
    vertical line is the student's stall_depth for LEARNING_STALLS_BELOW at the same slope.

    Args:
        gradient_bound: the student's gradient_bound(depth, max_derivative).
        stall_depth: the student's stall_depth(threshold, max_derivative).
        sigmoid_derivative: the student's sigmoid_derivative(x); its value at 0 is the
            largest slope of one sigmoid layer.
        depth: the depth (number of layers, >= 1) to mark and annotate.

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_gradient_decay(gradient_decay(gradient_bound, stall_depth, sigmoid_derivative, depth))


@display_guard
def math_peek_bounds(gradient_bound: Callable, stall_depth: Callable):
    """Print the sigmoid gradient bound at a few depths, and where learning stalls.

    Args:
        gradient_bound: the student's gradient_bound(depth, max_derivative=0.25).
        stall_depth: the student's stall_depth(threshold=1e-6, max_derivative=0.25).

    Returns:
        dict: ``bounds`` (depth -> bound, unitless) and ``stall_depth`` (layers).
    """
    bounds = {}
    width = max(len(str(d)) for d in PEEK_DEPTHS)
    for d in PEEK_DEPTHS:
        bounds[d] = _number(gradient_bound(d), f"gradient_bound({d})")
        print(f"gradient_bound({d}){'':<{width - len(str(d))}} = {_sci(bounds[d])}")
    stall = stall_depth(LEARNING_STALLS_BELOW)
    if stall is None:
        print(f"stall_depth({_sci(LEARNING_STALLS_BELOW)}) = None: the bound never falls below it.")
    else:
        stall = int(_number(stall, f"stall_depth({_sci(LEARNING_STALLS_BELOW)})"))
        print(
            f"stall_depth({_sci(LEARNING_STALLS_BELOW)}) = {stall}: the first depth whose bound "
            f"is below the {_sci(LEARNING_STALLS_BELOW)} line where learning stalls."
        )
    return PrintedDict(bounds=bounds, stall_depth=stall, threshold=LEARNING_STALLS_BELOW)


# ---------------------------------------------------------------------------------------------
# Act 2: the memory wall of training
# ---------------------------------------------------------------------------------------------
class TrainingMemoryReveal(NamedTuple):
    """What act2_reveal prints: built by ``training_memory_reveal``.

    Attributes:
        estimate_kib: the student's estimate of the training memory (KiB).
        memory: the student's training_memory of MNIST_LAYER_SIZES at MNIST_BATCH_SIZE, FP32,
            Adam: the four components and "total", in bytes.
        error_kib: the estimate minus the measured total (KiB).
        off_by: how far the estimate was from the total, as a factor >= 1.
        verdict: the printed verdict ("you were off by 100.00 KiB (1.25x too high).").
        inference_batch1_bytes: the student's inference_memory at batch 1.
        inference_equal_batch_bytes: the student's inference_memory at MNIST_BATCH_SIZE.
    """

    estimate_kib: float
    memory: dict
    error_kib: float
    off_by: float
    verdict: str
    inference_batch1_bytes: float
    inference_equal_batch_bytes: float

    @property
    def training_bytes(self) -> float:
        """The measured training memory (bytes)."""
        return self.memory["total"]

    @property
    def ratio_batch1(self) -> float:
        """Training (batch MNIST_BATCH_SIZE) / inference (batch 1): the chapter's ratio."""
        return self.training_bytes / self.inference_batch1_bytes

    @property
    def ratio_equal_batch(self) -> float:
        """Training / inference, both at MNIST_BATCH_SIZE."""
        return self.training_bytes / self.inference_equal_batch_bytes


def training_memory_reveal(
    estimate_kib: Any, training_memory: Callable, inference_memory: Callable
) -> TrainingMemoryReveal:
    """The Act 2 estimate against the student's training ledger, and inference for comparison.

    Args:
        estimate_kib: the student's estimate, a positive number of KiB (``prediction_is_set``).
        training_memory: the student's training_memory(layer_sizes, batch_size, ...).
        inference_memory: the student's inference_memory(layer_sizes, batch_size=1, ...).

    Returns:
        TrainingMemoryReveal.

    Raises:
        TypeError: for a student function that did not return the numbers expected.
    """
    estimate = float(estimate_kib)
    memory = _memory(training_memory, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    total_kib = to_kib(memory["total"])
    error_kib = estimate - total_kib
    factor = max(estimate / total_kib, total_kib / estimate)
    if factor < SPOT_ON_WITHIN:
        verdict = f"you were within {abs(error_kib):,.2f} KiB ({_times(factor)}): spot on."
    else:
        direction = "too low" if estimate < total_kib else "too high"
        verdict = f"you were off by {abs(error_kib):,.2f} KiB ({_times(factor)} {direction})."
    inference_1 = _number(inference_memory(MNIST_LAYER_SIZES), "inference_memory(MNIST_LAYER_SIZES)")
    inference_b = _number(
        inference_memory(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE),
        f"inference_memory(MNIST_LAYER_SIZES, {MNIST_BATCH_SIZE})",
    )
    return TrainingMemoryReveal(
        estimate_kib=estimate,
        memory=memory,
        error_kib=error_kib,
        off_by=factor,
        verdict=verdict,
        inference_batch1_bytes=inference_1,
        inference_equal_batch_bytes=inference_b,
    )


def print_training_memory_reveal(reveal: TrainingMemoryReveal) -> PrintedDict:
    """Print the Act 2 reveal: the verdict, the ledger, and training against inference.

    Args:
        reveal: from ``training_memory_reveal``.

    Returns:
        dict of the numbers printed (bytes, KiB, MiB and ratios; see ``act2_reveal``).
    """
    r, memory = reveal, reveal.memory
    total = memory["total"]
    total_kib, total_mib = to_kib(total), total / BYTES_PER_MIB
    inference_1, inference_b = r.inference_batch1_bytes, r.inference_equal_batch_bytes
    ratio_1, ratio_b = r.ratio_batch1, r.ratio_equal_batch
    print(
        f"You estimated {r.estimate_kib:,g} KiB. Training takes {total_kib:,.2f} KiB "
        f"({total_mib:,.2f} MiB): {r.verdict}"
    )

    print()
    print(
        f"The ledger of {' → '.join(map(str, MNIST_LAYER_SIZES))} at batch {MNIST_BATCH_SIZE}, "
        f"FP32, Adam (from your training_memory):"
    )
    for key in MEMORY_COMPONENTS:
        share = memory[key] / total if total else math.nan
        print(f"  {COMPONENT_LABELS[key]:<16}{to_kib(memory[key]):>12,.2f} KiB  {share:>6.1%}")
    print(f"  {'total':<16}{total_kib:>12,.2f} KiB  {1:>6.1%}")

    print()
    print(
        f"Inference at batch 1 needs {to_kib(inference_1):,.2f} KiB: training (batch "
        f"{MNIST_BATCH_SIZE}) / inference (batch 1) = {ratio_1:.2f}x."
    )
    print(
        f"Inference at batch {MNIST_BATCH_SIZE} needs {to_kib(inference_b):,.2f} KiB: at equal "
        f"batch, training / inference = {ratio_b:.2f}x."
    )
    print(
        f'The chapter\'s "{CHAPTER_QUOTED_RATIO:g}x" is the first ratio: it compares training at '
        f"batch {MNIST_BATCH_SIZE} with inference at batch 1, not the same batch."
    )
    return PrintedDict(
        estimate_kib=r.estimate_kib,
        training_bytes=total,
        training_kib=total_kib,
        training_mib=total_mib,
        components_bytes={key: memory[key] for key in MEMORY_COMPONENTS},
        error_kib=r.error_kib,
        off_by=r.off_by,
        inference_batch1_bytes=inference_1,
        inference_equal_batch_bytes=inference_b,
        ratio_batch1=ratio_1,
        ratio_equal_batch=ratio_b,
    )


@display_guard
def act2_reveal(estimate_kib: Any, training_memory: Callable, inference_memory: Callable):
    """Compare the Act 2 estimate with the student's training ledger of the MNIST network.

    Uses MNIST_LAYER_SIZES at MNIST_BATCH_SIZE, FP32 and Adam (the functions' defaults) for
    training, and batch 1 (then MNIST_BATCH_SIZE) for inference.

    Args:
        estimate_kib: the student's estimate of the training memory, in KiB.
        training_memory: the student's training_memory(layer_sizes, batch_size, ...).
        inference_memory: the student's inference_memory(layer_sizes, batch_size=1, ...).

    Returns:
        dict with the estimate and the measured totals (bytes, KiB, MiB), the error in KiB
        (estimate minus measured), the factor it was off by, each component in bytes, and the
        training/inference ratios at batch 1 and at equal batch; or None while the estimate
        is not set.
    """
    if not prediction_is_set(estimate_kib):
        print(locked_message("act2_estimate_kib", "to a positive number of KiB"))
        return None
    return print_training_memory_reveal(training_memory_reveal(estimate_kib, training_memory, inference_memory))


class MemoryLedger(NamedTuple):
    """What the memory ledger figure shows: built by ``memory_ledger``.

    Attributes:
        batch_size: the selected batch size (examples per step).
        precision: the selected precision as shown ("FP32", "FP16", "3 bytes/value").
        optimizer: the selected optimizer, a key of OPTIMIZER_STATE_PER_PARAM.
        device: the selected device, a key of DEVICE_BUDGETS_BYTES.
        budget_bytes: that device's budget.
        batches: every batch size drawn, ascending (BATCH_SIZE_CHOICES and ``batch_size``).
        ledgers: the student's training_memory at each of ``batches``: the four components and
            "total", in bytes.
        over: for each of ``batches``, whether its total exceeds ``budget_bytes``.
    """

    batch_size: int
    precision: str
    optimizer: str
    device: str
    budget_bytes: int
    batches: tuple[int, ...]
    ledgers: tuple[dict, ...]
    over: tuple[bool, ...]

    @property
    def chosen(self) -> dict:
        """The selected batch size's ledger (bytes)."""
        return self.ledgers[self.batches.index(self.batch_size)]


def memory_ledger(
    training_memory: Callable,
    layer_sizes: Sequence[int],
    batch_size: int,
    bytes_per_value: float,
    optimizer: str,
    device: str,
) -> MemoryLedger:
    """The numbers of the memory ledger figure, from the student's training_memory.

    Args:
        training_memory: the student's training_memory(layer_sizes, batch_size,
            bytes_per_value, optimizer).
        layer_sizes: widths of every layer, input first.
        batch_size: the selected batch size (examples per step, >= 1).
        bytes_per_value: bytes per stored value (any positive number).
        optimizer: a key of OPTIMIZER_STATE_PER_PARAM.
        device: a key of DEVICE_BUDGETS_BYTES, in any case.

    Returns:
        MemoryLedger.

    Raises:
        ValueError: for an argument outside the accepted values (named in the message).
        TypeError: for a training_memory that does not return the five byte counts.
    """
    sizes = check_layer_sizes(layer_sizes)
    batch_size = check_count("batch_size", batch_size)
    bytes_per_value = _check_bytes_per_value(bytes_per_value)
    optimizer = check_name("optimizer", optimizer, OPTIMIZER_STATE_PER_PARAM)
    device = _check_device(device)
    budget = DEVICE_BUDGETS_BYTES[device]
    batches = tuple(sorted(set(BATCH_SIZE_CHOICES) | {batch_size}))
    ledgers = tuple(_memory(training_memory, sizes, b, bytes_per_value, optimizer) for b in batches)
    return MemoryLedger(
        batch_size=batch_size,
        precision=_precision_name(bytes_per_value),
        optimizer=optimizer,
        device=device,
        budget_bytes=budget,
        batches=batches,
        ledgers=ledgers,
        over=tuple(ledger["total"] > budget for ledger in ledgers),
    )


def draw_memory_ledger(ledger: MemoryLedger):
    """Draw the memory ledger figure: composition (linear) and totals against budgets (log).

    Args:
        ledger: from ``memory_ledger``.

    Returns:
        matplotlib.figure.Figure whose axes are [composition (linear), totals (log)].
    """
    batches, ledgers, over = ledger.batches, ledger.ledgers, ledger.over
    batch_size, device, budget, chosen = ledger.batch_size, ledger.device, ledger.budget_bytes, ledger.chosen
    tick_labels = [f"{b}\n(selected)" if b == batch_size else f"{b}" for b in batches]

    fig, (ax_mix, ax_tot) = plt.subplots(
        1, 2, figsize=(14, 6.5), layout="constrained", gridspec_kw=dict(width_ratios=[1.1, 1.0])
    )

    def bar_style(selected: bool, too_big: bool) -> dict:
        return dict(
            width=0.62,
            alpha=1.0 if selected else 0.55,
            edgecolor=ALARM_COLOUR if too_big else (OKABE_ITO["black"] if selected else "white"),
            linewidth=2.2 if (selected or too_big) else 0.6,
            hatch="///" if too_big else None,
            zorder=2,
        )

    # Left: what the memory is made of, on a linear axis.
    for i, (b, memory, too_big) in enumerate(zip(batches, ledgers, over)):
        selected = b == batch_size
        bottom = 0.0
        for key in MEMORY_COMPONENTS:
            ax_mix.bar(i, memory[key], bottom=bottom, color=COMPONENT_COLOURS[key], **bar_style(selected, too_big))
            share = memory[key] / memory["total"] if memory["total"] > 0 else 0.0
            if selected and share >= MIX_LABEL_MIN_SHARE:
                ax_mix.text(
                    i,
                    bottom + memory[key] / 2,
                    _percent(share),
                    ha="center",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                    color="white" if key in ("weights", "optimizer") else "black",
                    zorder=5,
                )
            bottom += memory[key]
        ax_mix.annotate(
            fmt_bytes(memory["total"]),
            (i, memory["total"]),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            rotation=90 if len(batches) > 7 else 0,
            fontweight="bold" if selected else "normal",
            color=ALARM_COLOUR if too_big else OKABE_ITO["black"],
        )
    top = max(memory["total"] for memory in ledgers)
    ax_mix.set_ylim(0, top * 1.18 if top > 0 else 1)
    _binary_linear_axis(ax_mix.yaxis, top * 1.18 if top > 0 else 1)
    ax_mix.set_xticks(range(len(batches)), tick_labels)
    ax_mix.set_xlabel("batch size (examples per training step)")
    ax_mix.set_ylabel("training memory (bytes, linear scale)")
    ax_mix.set_title(
        f"What it is made of: heights are true shares\n(shares of the selected batch, {batch_size})", fontsize=10.5
    )
    ax_mix.grid(True, axis="y", alpha=0.25)

    # Right: the totals against the device budgets, on a log axis.
    ax_tot.set_yscale("log")
    for i, (b, memory, too_big) in enumerate(zip(batches, ledgers, over)):
        selected = b == batch_size
        ax_tot.bar(
            i,
            memory["total"],
            color=ALARM_COLOUR if too_big else OKABE_ITO["black"],
            **{**bar_style(selected, too_big), "alpha": 0.85 if selected else 0.4},
        )
    _draw_budget_lines(ax_tot, selected=device)
    label_x = len(batches) - 0.3  # the budget labels get a column of their own, right of the bars
    for name, size in DEVICE_BUDGETS_BYTES.items():
        ax_tot.text(
            label_x,
            size,
            f"{name}\n{fmt_bytes(size)}",
            ha="left",
            va="bottom",
            fontsize=9,
            color=DEVICE_COLOURS.get(name, "black"),
            fontweight="bold" if name == device else "normal",
        )
    positives = [memory["total"] for memory in ledgers if memory["total"] > 0]
    low = min(min(positives, default=1.0), min(DEVICE_BUDGETS_BYTES.values())) / 2
    high = max(max(positives, default=1.0), max(DEVICE_BUDGETS_BYTES.values())) * 4
    ax_tot.set_ylim(low, high)
    _binary_log_axis(ax_tot.yaxis, low, high)
    ax_tot.set_xlim(-0.6, len(batches) + 1.4)
    ax_tot.set_xticks(range(len(batches)), tick_labels)
    for axis in (ax_mix, ax_tot):
        for label, b in zip(axis.get_xticklabels(), batches):
            if b == batch_size:
                label.set_fontweight("bold")
    ax_tot.set_xlabel("batch size (examples per training step)")
    ax_tot.set_ylabel("total training memory (bytes, log scale)")
    ax_tot.set_title("Totals against the device budgets (log scale)", fontsize=10.5)
    ax_tot.grid(True, axis="y", alpha=0.25)

    setting = f"{ledger.precision}, {ledger.optimizer}, batch {batch_size}"
    if chosen["total"] > budget:
        ax_tot.text(
            0.47,
            0.5,
            f"OUT OF MEMORY: training does not fit {device}\n"
            f"needs {fmt_bytes(chosen['total'])}, the budget is {fmt_bytes(budget)}",
            transform=ax_tot.transAxes,
            ha="center",
            va="center",
            fontsize=11.5,
            fontweight="bold",
            color="white",
            zorder=10,
            bbox=dict(boxstyle="round,pad=0.6", facecolor=ALARM_COLOUR, edgecolor="black"),
        )
        fig.suptitle(
            f"OUT OF MEMORY on the {device} ({setting}): {fmt_bytes(chosen['total'])} > {fmt_bytes(budget)}",
            color=ALARM_COLOUR,
            fontweight="bold",
        )
    else:
        headroom = budget - chosen["total"]
        fig.suptitle(
            f"Fits the {device} ({setting}): {fmt_bytes(chosen['total'])} of {fmt_bytes(budget)} "
            f"({chosen['total'] / budget:.2%} of it), headroom {fmt_bytes(headroom)}"
        )

    handles = [
        mpatches.Patch(
            facecolor=COMPONENT_COLOURS[k],
            edgecolor="black",
            label=f"{COMPONENT_LABELS[k]}: {fmt_bytes(chosen[k])} ({_percent(chosen[k] / chosen['total'])})"
            if chosen["total"] > 0
            else f"{COMPONENT_LABELS[k]}: {fmt_bytes(chosen[k])}",
        )
        for k in MEMORY_COMPONENTS
    ]
    if any(over):
        handles.append(
            mpatches.Patch(facecolor="white", edgecolor=ALARM_COLOUR, hatch="///", label=f"over the {device} budget")
        )
    ax_mix.legend(
        handles=handles,
        loc="upper left",
        fontsize=8.5,
        title=f"at batch {batch_size}",
        title_fontsize=8.5,
        framealpha=0.92,
    )
    return _finish(fig)


@display_guard
def memory_ledger_figure(
    training_memory: Callable,
    layer_sizes: Sequence[int],
    batch_size: int,
    bytes_per_value: float,
    optimizer: str,
    device: str,
):
    """The training memory ledger, in two panels.

    Left, on a linear axis (so each segment's height is its true share): one stacked bar
    (weights, gradients, optimizer state, activations) per batch size in BATCH_SIZE_CHOICES
    (plus ``batch_size``), the selected one emphasised and its segments labelled with their
    shares. Right, on a log axis (the budgets span six orders of magnitude): each batch size's
    total against all four device budgets. Bars over the selected device's budget are hatched
    in red in both panels, and an out-of-memory selection gets a red banner and title.

    Args:
        training_memory: the student's training_memory(layer_sizes, batch_size,
            bytes_per_value, optimizer).
        layer_sizes: widths of every layer, input first.
        batch_size: the selected batch size (examples per step, >= 1).
        bytes_per_value: bytes per stored value (BYTES_FP32 or BYTES_FP16, or any positive number).
        optimizer: a key of OPTIMIZER_STATE_PER_PARAM.
        device: a key of DEVICE_BUDGETS_BYTES.

    Returns:
        matplotlib.figure.Figure whose axes are [composition (linear), totals (log)].

    Raises:
        ValueError: for an argument outside the accepted values (named in the message).
    """
    ledger = memory_ledger(training_memory, layer_sizes, batch_size, bytes_per_value, optimizer, device)
    return draw_memory_ledger(ledger)


def explore_memory_ledger(training_memory: Callable, layer_sizes: Sequence[int]) -> None:
    """Sliders for the memory ledger: batch size, precision, optimizer and device.

    Needs ipywidgets and is off while the autograder runs the notebook; then it prints one line
    and returns. It never blocks: the widgets redraw the figure when they change.

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first.

    Returns:
        None.
    """
    try:
        import ipywidgets
    except ImportError:
        ipywidgets = None
    if ipywidgets is None or _helpers.is_grading():
        why = (
            "the sliders need ipywidgets, which is not installed"
            if ipywidgets is None
            else "the sliders are off while the autograder runs"
        )
        print(f"({why}: the static figure above works without them; change its settings and run it again.)")
        return None

    print(
        '(After reopening a saved notebook the sliders show "model not found": run this cell again to bring them back.)'
    )

    def draw(batch_size, precision, optimizer, device):
        # memory_ledger_figure detaches each figure from pyplot, so redraws never pile up.
        return memory_ledger_figure(
            training_memory, layer_sizes, batch_size, PRECISION_BYTES[precision], optimizer, device
        )

    ipywidgets.interact(
        draw,
        batch_size=ipywidgets.SelectionSlider(
            options=list(BATCH_SIZE_CHOICES), value=MNIST_BATCH_SIZE, description="batch size"
        ),
        precision=ipywidgets.ToggleButtons(options=list(PRECISION_BYTES), value="fp32", description="precision"),
        optimizer=ipywidgets.Dropdown(options=list(OPTIMIZER_STATE_PER_PARAM), value="adam", description="optimizer"),
        device=ipywidgets.Dropdown(options=list(DEVICE_BUDGETS_BYTES), value=LAPTOP_GPU, description="device"),
    )
    return None


class DeviceWidth(NamedTuple):
    """One device's widest trainable network in the width challenge.

    Attributes:
        device: a key of DEVICE_BUDGETS_BYTES.
        budget_bytes: its budget.
        width: the student's max_trainable_width for that budget (hidden width W).
        total_bytes: the student's training_memory at ``width``, when ``width`` is on the chart
            (inside WIDTH_CHALLENGE_RANGE); else None.
        where: the printed verdict, e.g. "W = 1,024" or "not even W = 2 fits".
        note: for a width off the chart, the text written by the device's budget line
            (starting with "←" when the width is left of the chart); else None.
    """

    device: str
    budget_bytes: int
    width: int
    total_bytes: float | None
    where: str
    note: str | None


class WidthChallenge(NamedTuple):
    """What the width challenge figure shows: built by ``width_challenge``.

    Attributes:
        batch_size: training batch size (examples per step); FP32 and Adam throughout.
        widths: hidden widths W on the chart, ascending, inside WIDTH_CHALLENGE_RANGE.
        totals: the student's training_memory of challenge_layer_sizes(W) at each of ``widths``
            (bytes).
        devices: every device of DEVICE_BUDGETS_BYTES with its widest trainable W.
    """

    batch_size: int
    widths: np.ndarray
    totals: np.ndarray
    devices: tuple[DeviceWidth, ...]


def width_challenge(
    training_memory: Callable, max_trainable_width: Callable, batch_size: int = MNIST_BATCH_SIZE
) -> WidthChallenge:
    """The numbers and verdicts of the width challenge figure, from the student's functions.

    Args:
        training_memory: the student's training_memory.
        max_trainable_width: the student's max_trainable_width(budget_bytes, batch_size,
            bytes_per_value, optimizer).
        batch_size: training batch size (examples per step, >= 1).

    Returns:
        WidthChallenge.

    Raises:
        ValueError: for a batch size that is not a whole number >= 1.
        TypeError: for a student function that returned something other than the numbers expected.
    """
    batch_size = check_count("batch_size", batch_size)
    lo, hi = WIDTH_CHALLENGE_RANGE
    widths = np.unique(np.geomspace(lo, hi, WIDTH_POINTS).round().astype(int))
    widths = widths[widths >= 2]

    def total_at(width) -> float:
        return _memory(training_memory, challenge_layer_sizes(int(width)), batch_size, BYTES_FP32, "adam")["total"]

    totals = np.array([total_at(w) for w in widths])
    devices = []
    for device, budget in DEVICE_BUDGETS_BYTES.items():
        width = max_trainable_width(budget, batch_size, BYTES_FP32, "adam")
        width = int(_number(width, f"max_trainable_width({budget}, {batch_size})"))
        total, note = None, None
        if width < 2:
            where = "not even W = 2 fits"
            note = f"{device}: nothing fits"
        elif width < lo:
            where = f"W = {width:,} (left of the chart, which starts at W = {lo:,})"
            note = f"← {device}: W = {width:,}"
        elif width > hi:
            where = f"W = {width:,} (right of the chart, which ends at W = {hi:,})"
            note = f"{device}: W = {width:,} →"
        else:
            where = f"W = {width:,}"
            total = total_at(width)
        devices.append(DeviceWidth(device, budget, width, total, where, note))
    return WidthChallenge(batch_size=batch_size, widths=widths, totals=totals, devices=tuple(devices))


def draw_width_challenge(challenge: WidthChallenge):
    """Draw the width challenge figure, then print every device's widest W.

    Args:
        challenge: from ``width_challenge``.

    Returns:
        matplotlib.figure.Figure.
    """
    batch_size, widths, totals = challenge.batch_size, challenge.widths, challenge.totals
    lo, hi = WIDTH_CHALLENGE_RANGE
    fig, ax = plt.subplots(figsize=(12, 6.5), layout="constrained")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.plot(
        widths,
        totals,
        color=OKABE_ITO["blue"],
        linewidth=2.5,
        label=f"training memory (your training_memory; batch {batch_size}, FP32, Adam)",
    )
    _draw_budget_lines(ax)

    for entry in challenge.devices:
        device, width, total, note = entry.device, entry.width, entry.total_bytes, entry.note
        colour = DEVICE_COLOURS.get(device, OKABE_ITO["black"])
        if total is not None:
            ax.plot(
                [width],
                [total],
                marker="o",
                markersize=10,
                color=colour,
                markeredgecolor=OKABE_ITO["black"],
                linestyle="none",
                zorder=6,
                label=f"{device}: W = {width:,}",
            )
            ax.annotate(
                f"{device}: W = {width:,}",
                (width, total),
                xytext=(-12, 12),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=10,
                fontweight="bold",
                color=colour,
                bbox=dict(boxstyle="round", facecolor="white", edgecolor=colour),
            )
        if note:
            left = note.startswith("←")
            ax.text(
                0.01 if left else 0.99,
                entry.budget_bytes,
                note,
                transform=ax.get_yaxis_transform(),
                ha="left" if left else "right",
                va="bottom",
                fontsize=10,
                color=colour,
                fontweight="bold",
            )

    low = min(float(totals.min()), min(DEVICE_BUDGETS_BYTES.values())) / 3
    high = max(float(totals.max()), max(DEVICE_BUDGETS_BYTES.values())) * 4
    ax.set_ylim(low, high)
    _binary_log_axis(ax.yaxis, low, high)
    ax.set_xlim(lo / 1.15, hi * 1.15)
    ax.xaxis.set_major_locator(ticker.FixedLocator([float(4**k) for k in range(3, 9) if lo <= 4**k <= hi]))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_xlabel(f"hidden width W (network {_challenge_shape()}, log scale)")
    ax.set_ylabel("training memory (bytes, log scale)")
    ax.set_title(f"How wide can you train? Walls at batch {batch_size}, FP32, Adam")
    ax.grid(True, alpha=0.25)
    ax.legend(loc="lower right", fontsize=9)

    print(f"Widest {_challenge_shape()} that trains at batch {batch_size}, FP32, Adam (your max_trainable_width):")
    for entry in challenge.devices:
        print(f"  {entry.device:<16} budget {fmt_bytes(entry.budget_bytes):>10}: {entry.where}")
    return _finish(fig)


@display_guard
def width_challenge_figure(
    training_memory: Callable, max_trainable_width: Callable, batch_size: int = MNIST_BATCH_SIZE
):
    """Training memory of [784, W, W // 2, 10] against W, with each device's widest W.

    Totals are the student's training_memory at ``batch_size``, FP32, Adam. Each device gets a
    marker at the student's max_trainable_width for its budget when that width is inside
    WIDTH_CHALLENGE_RANGE; every device's width is printed.

    Args:
        training_memory: the student's training_memory.
        max_trainable_width: the student's max_trainable_width(budget_bytes, batch_size,
            bytes_per_value, optimizer).
        batch_size: training batch size (examples per step, >= 1).

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_width_challenge(width_challenge(training_memory, max_trainable_width, batch_size))


class LayerShare(NamedTuple):
    """How the multiply-accumulates of challenge_layer_sizes(width) split between its layers.

    Attributes:
        width: the hidden width W.
        macs: the student's layer_macs for that network: MACs per example, one per layer.
        shares: each layer's share of their sum (fractions adding up to 1).
    """

    width: int
    macs: tuple[float, ...]
    shares: tuple[float, ...]


def layer_shares(layer_macs: Callable, widths: Sequence[int] = (128, 1024, 4096, 32768)) -> tuple[LayerShare, ...]:
    """Each layer's share of the multiply-accumulates of [784, W, W // 2, 10], for each W.

    Args:
        layer_macs: the student's layer_macs(layer_sizes) (MACs per example, per layer).
        widths: hidden widths W to compare (each >= 2).

    Returns:
        tuple of LayerShare, one per width, in the order given.

    Raises:
        ValueError: for no widths or a width below 2, and for counts that do not add up to a
            positive number.
        TypeError: for a count that is not a finite number.
    """
    widths = [check_count("every width", w, minimum=2) for w in widths]
    if not widths:
        raise ValueError("widths must name at least one hidden width W >= 2")
    out = []
    for width in widths:
        sizes = challenge_layer_sizes(width)
        macs = [_number(m, f"layer_macs({sizes}) entry") for m in layer_macs(sizes)]
        total = sum(macs)
        if total <= 0:
            raise ValueError(f"layer_macs({sizes}) returned {macs}; expected positive counts")
        out.append(LayerShare(width, tuple(macs), tuple(m / total for m in macs)))
    return tuple(out)


def draw_layer_shares(shares: Sequence[LayerShare]):
    """Draw one pie per width, then print layer 1's share of each.

    Args:
        shares: from ``layer_shares``.

    Returns:
        matplotlib.figure.Figure.
    """
    fig, axes = plt.subplots(
        1, len(shares), figsize=(3.1 * len(shares) + 0.6, 4.6), layout="constrained", squeeze=False
    )
    # Light colours, so the black percentages stay readable on every wedge.
    colours = [
        OKABE_ITO["sky_blue"],
        OKABE_ITO["orange"],
        OKABE_ITO["green"],
        OKABE_ITO["purple"],
        OKABE_ITO["yellow"],
    ]
    for ax, network in zip(axes[0], shares):
        labels = [f"layer {i}" if s >= PIE_LABEL_MIN_SHARE else "" for i, s in enumerate(network.shares, start=1)]
        ax.pie(
            list(network.macs),
            labels=labels,
            colors=[colours[i % len(colours)] for i in range(len(network.macs))],
            autopct=lambda p: f"{p:.1f}%" if p >= 100 * PIE_LABEL_MIN_SHARE else "",
            startangle=90,
            counterclock=False,
            wedgeprops=dict(edgecolor="white", linewidth=1.2),
            textprops=dict(fontsize=10),
            pctdistance=0.65,
        )
        ax.set_title(f"W = {network.width:,}", fontsize=12, fontweight="bold")
        ax.text(
            0.5,
            -0.04,
            "\n".join(f"layer {i}: {_percent(s)}" for i, s in enumerate(network.shares, start=1)),
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9,
        )
    fig.suptitle(f"Share of multiply-accumulates per layer, network {_challenge_shape()}", fontsize=12)
    print("Layer 1's share of the multiply-accumulates (from your layer_macs):")
    for network in shares:
        print(f"  W = {network.width:>6,}: layer 1 does {_percent(network.shares[0])} of the MACs")
    return _finish(fig)


@display_guard
def layer_share_figure(layer_macs: Callable, widths: Sequence[int] = (128, 1024, 4096, 32768)):
    """Pies of each layer's share of the multiply-accumulates of [784, W, W // 2, 10].

    Args:
        layer_macs: the student's layer_macs(layer_sizes) (MACs per example, per layer).
        widths: hidden widths W to compare (each >= 2).

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_layer_shares(layer_shares(layer_macs, widths))


class TrainingStepFlops(NamedTuple):
    """The FLOPs of one training step: built by ``training_step_flops``.

    Attributes:
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step.
        macs: the sum of the student's layer_macs (MACs per example).
        params: the student's parameter_count.
        forward: FLOPS_PER_MAC * macs * batch_size (FLOPs).
        backward: BACKWARD_PRODUCTS_PER_LAYER * forward (FLOPs).
        update: ADAM_FLOPS_PER_PARAM * params (FLOPs, this lab's estimate for Adam).
    """

    layer_sizes: tuple[int, ...]
    batch_size: int
    macs: float
    params: float
    forward: float
    backward: float
    update: float

    @property
    def total(self) -> float:
        """Forward, backward and update together (FLOPs)."""
        return self.forward + self.backward + self.update


def training_step_flops(
    layer_macs: Callable, parameter_count: Callable, layer_sizes: Sequence[int], batch_size: int
) -> TrainingStepFlops:
    """The FLOPs of one training step, from the student's layer_macs and parameter_count.

    Args:
        layer_macs: the student's layer_macs(layer_sizes).
        parameter_count: the student's parameter_count(layer_sizes).
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step (>= 1).

    Returns:
        TrainingStepFlops.

    Raises:
        ValueError: for invalid layer sizes or batch size, and for MACs that do not add up to a
            positive count.
        TypeError: for a count that is not a finite number.
    """
    sizes = check_layer_sizes(layer_sizes)
    batch_size = check_count("batch_size", batch_size)
    macs = sum(_number(m, f"layer_macs({sizes}) entry") for m in layer_macs(sizes))
    params = _number(parameter_count(sizes), f"parameter_count({sizes})")
    forward = FLOPS_PER_MAC * macs * batch_size
    if forward <= 0:
        raise ValueError(f"layer_macs({sizes}) sums to {macs:g}; expected a positive count")
    return TrainingStepFlops(
        layer_sizes=tuple(sizes),
        batch_size=batch_size,
        macs=macs,
        params=params,
        forward=forward,
        backward=BACKWARD_PRODUCTS_PER_LAYER * forward,
        update=ADAM_FLOPS_PER_PARAM * params,
    )


def draw_compute_waterfall(flops: TrainingStepFlops):
    """Draw the waterfall of one training step's FLOPs, then print each part.

    Args:
        flops: from ``training_step_flops``.

    Returns:
        matplotlib.figure.Figure.
    """
    forward, backward, update, total = flops.forward, flops.backward, flops.update, flops.total
    steps = [
        ("Forward", 0.0, forward, OKABE_ITO["blue"]),
        ("Backward", forward, backward, OKABE_ITO["orange"]),
        ("Update (Adam,\nthis lab's estimate)", forward + backward, update, OKABE_ITO["green"]),
        ("Total", 0.0, total, "0.45"),
    ]

    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    for i, (_name, start, height, colour) in enumerate(steps):
        ax.bar(i, height, bottom=start, width=0.6, color=colour, edgecolor=OKABE_ITO["black"])
        ax.annotate(
            f"{height / forward:.2f}x forward\n{height:,.0f} FLOPs",
            (i, start + height),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9.5,
        )
        if i < len(steps) - 1:
            level = start + height
            ax.plot([i + 0.3, i + 0.7], [level, level], color="0.4", linestyle=":", linewidth=1.2)
    ax.set_xticks(range(len(steps)), [s[0] for s in steps])
    ax.set_ylim(0, total * 1.18)
    ax.yaxis.set_major_formatter(ticker.EngFormatter(sep=" "))
    ax.set_xlabel("part of one training step")
    ax.set_ylabel("FLOPs per training step")
    ax.set_title(
        f"One training step of {' → '.join(map(str, flops.layer_sizes))} at batch {flops.batch_size}: "
        f"{total / forward:.2f}x the forward pass"
    )
    ax.grid(True, axis="y", alpha=0.25)

    print(
        f"Forward pass:  {forward:>16,.0f} FLOPs ({FLOPS_PER_MAC} per MAC x {flops.macs:,.0f} MACs "
        f"x batch {flops.batch_size})"
    )
    print(
        f"Backward pass: {backward:>16,.0f} FLOPs ({BACKWARD_PRODUCTS_PER_LAYER} products per "
        f"layer: {BACKWARD_PRODUCTS_PER_LAYER}x forward)"
    )
    print(
        f"Adam update:   {update:>16,.0f} FLOPs ({ADAM_FLOPS_PER_PARAM} per parameter, this "
        f"lab's estimate, x {flops.params:,.0f} parameters)"
    )
    print(f"Total:         {total:>16,.0f} FLOPs = {total / forward:.2f}x the forward pass")
    return _finish(fig)


@display_guard
def compute_waterfall_figure(
    layer_macs: Callable, parameter_count: Callable, layer_sizes: Sequence[int], batch_size: int
):
    """FLOPs of one training step as a waterfall: forward, backward, update, total.

    Forward = FLOPS_PER_MAC * sum(layer_macs) * batch_size; backward =
    BACKWARD_PRODUCTS_PER_LAYER * forward; update = ADAM_FLOPS_PER_PARAM * parameter_count
    (this lab's estimate for Adam).

    Args:
        layer_macs: the student's layer_macs(layer_sizes).
        parameter_count: the student's parameter_count(layer_sizes).
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step (>= 1).

    Returns:
        matplotlib.figure.Figure.
    """
    flops = training_step_flops(layer_macs, parameter_count, layer_sizes, batch_size)
    return draw_compute_waterfall(flops)


class BatchScaling(NamedTuple):
    """What the batch-scaling figure shows: built by ``batch_scaling``.

    Attributes:
        batches: the batch sizes B, SCALING_BATCHES.
        network: the lab's network in words ("784 → 128 → 64 → 10").
        ratios: its training_memory(2B)["total"] / training_memory(B)["total"] at each B
            (FP32, Adam; unitless).
        wide_network: the wide network challenge_layer_sizes(SCALING_WIDE_WIDTH) in words.
        wide_ratios: the same ratios for the wide network.
        marked: the batch marked on the chart (MNIST_BATCH_SIZE when it is one of ``batches``).
        first_above: the first B whose ratio exceeds NEAR_DOUBLING_RATIO, or None: none does.
        wide_first_above: the same for the wide network.
    """

    batches: np.ndarray
    network: str
    ratios: np.ndarray
    wide_network: str
    wide_ratios: np.ndarray
    marked: int
    first_above: int | None
    wide_first_above: int | None

    @property
    def at_marked(self) -> float:
        """The lab network's ratio at the marked batch."""
        return float(self.ratios[list(self.batches).index(self.marked)])


def batch_scaling(training_memory: Callable, layer_sizes: Sequence[int]) -> BatchScaling:
    """The doubling ratios of the batch-scaling figure, from the student's training_memory.

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).

    Returns:
        BatchScaling.

    Raises:
        ValueError: for layer sizes that are not at least two whole numbers >= 1.
        TypeError: for a training_memory that does not return the five byte counts.
    """
    sizes = check_layer_sizes(layer_sizes)
    wide = challenge_layer_sizes(SCALING_WIDE_WIDTH)
    batches = np.array(SCALING_BATCHES)

    def ratios(layers):
        return np.array(
            [
                _memory(training_memory, layers, 2 * int(b), BYTES_FP32, "adam")["total"]
                / _memory(training_memory, layers, int(b), BYTES_FP32, "adam")["total"]
                for b in batches
            ]
        )

    def first_above(values):
        hits = [int(b) for b, r in zip(batches, values) if r > NEAR_DOUBLING_RATIO]
        return hits[0] if hits else None

    mine, wide_ratios = ratios(sizes), ratios(wide)
    return BatchScaling(
        batches=batches,
        network=" → ".join(map(str, sizes)),
        ratios=mine,
        wide_network=" → ".join(map(str, wide)),
        wide_ratios=wide_ratios,
        marked=MNIST_BATCH_SIZE if MNIST_BATCH_SIZE in SCALING_BATCHES else int(batches[0]),
        first_above=first_above(mine),
        wide_first_above=first_above(wide_ratios),
    )


def draw_batch_scaling(scaling: BatchScaling):
    """Draw the batch-scaling figure, then print the marked ratio and where doubling nears 2x.

    Args:
        scaling: from ``batch_scaling``.

    Returns:
        matplotlib.figure.Figure.
    """
    batches, name, wide_name = scaling.batches, scaling.network, scaling.wide_network
    marked, at_marked = scaling.marked, scaling.at_marked
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")
    ax.set_xscale("log", base=2)
    ax.plot(batches, scaling.ratios, "o-", color=OKABE_ITO["blue"], linewidth=2.2, label=f"{name} (this lab)")
    ax.plot(
        batches,
        scaling.wide_ratios,
        "s--",
        color=OKABE_ITO["orange"],
        linewidth=2,
        label=f"wider network {wide_name} (more weights per stored activation)",
    )
    ax.axhline(2.0, color=ALARM_COLOUR, linestyle="--", linewidth=1.8, label="2x (activations dominate)")
    ax.axhline(
        1.0,
        color="0.5",
        linestyle=":",
        linewidth=1.2,
        label="1x (weights, gradients and optimizer state dominate)",
    )
    ax.plot(
        [marked],
        [at_marked],
        marker="*",
        markersize=18,
        color=OKABE_ITO["yellow"],
        markeredgecolor="black",
        linestyle="none",
        zorder=6,
    )
    ax.annotate(
        f"batch {marked} → {2 * marked}: {at_marked:.3f}x",
        (marked, at_marked),
        xytext=(-20, 45),
        textcoords="offset points",
        ha="right",
        fontsize=10,
        arrowprops=dict(arrowstyle="->"),
        bbox=dict(boxstyle="round", facecolor="white", edgecolor="0.6"),
    )
    ax.set_ylim(0.9, 2.1)
    ax.xaxis.set_major_locator(ticker.FixedLocator([float(b) for b in batches[::2]]))
    ax.xaxis.set_minor_locator(ticker.FixedLocator([float(b) for b in batches[1::2]]))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel("memory(2B) / memory(B)")
    ax.set_title("Doubling the batch doubles only the activations (FP32, Adam)")
    ax.grid(True, alpha=0.25)
    ax.legend(loc="center left", fontsize=9)

    print(f"{name}: batch {marked} → {2 * marked} grows training memory {at_marked:.3f}x.")
    for label, first in ((name, scaling.first_above), (wide_name, scaling.wide_first_above)):
        if first is None:
            print(f"{label}: doubling stays below {NEAR_DOUBLING_RATIO:g}x for every batch up to {int(batches[-1]):,}.")
        else:
            print(f"{label}: doubling first exceeds {NEAR_DOUBLING_RATIO:g}x at batch {first:,} (→ {2 * first:,}).")
    return _finish(fig)


@display_guard
def batch_scaling_figure(training_memory: Callable, layer_sizes: Sequence[int]):
    """How much training memory grows when the batch doubles, for batches 1 to 8,192.

    Plots training_memory(layers, 2B)["total"] / training_memory(layers, B)["total"] (FP32,
    Adam) for ``layer_sizes`` and for the wide network challenge_layer_sizes(SCALING_WIDE_WIDTH).

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_batch_scaling(batch_scaling(training_memory, layer_sizes))


# ---------------------------------------------------------------------------------------------
# Deployment and the memory hierarchy
# ---------------------------------------------------------------------------------------------
@display_guard
def deployment_table(training_memory: Callable, inference_memory: Callable, layer_sizes: Sequence[int]):
    """Which devices can run inference (batch 1) and training (MNIST_BATCH_SIZE, Adam).

    Args:
        training_memory: the student's training_memory.
        inference_memory: the student's inference_memory(layer_sizes, batch_size, bytes_per_value).
        layer_sizes: widths of every layer, input first.

    Returns:
        list of dicts with the keys device, precision, inference_bytes, inference_fits,
        training_bytes, training_fits (bytes; fits means at most the device's budget).
    """
    sizes = check_layer_sizes(layer_sizes)
    rows = PrintedList()
    for precision, size in PRECISION_BYTES.items():
        inference = _number(inference_memory(sizes, 1, size), f"inference_memory({sizes}, 1, {size})")
        training = _memory(training_memory, sizes, MNIST_BATCH_SIZE, size, "adam")["total"]
        for device, budget in DEVICE_BUDGETS_BYTES.items():
            rows.append(
                dict(
                    device=device,
                    precision=precision,
                    inference_bytes=inference,
                    inference_fits=inference <= budget,
                    training_bytes=training,
                    training_fits=training <= budget,
                )
            )
    rows.sort(
        key=lambda r: (
            list(DEVICE_BUDGETS_BYTES).index(r["device"]),
            list(PRECISION_BYTES).index(r["precision"]),
        )
    )

    def verdict(fits):
        return "fits" if fits else "DOES NOT FIT"

    header = (
        f"{'device':<16}{'budget':>11}  {'precision':<11}{'inference (batch 1)':<26}"
        f"training (batch {MNIST_BATCH_SIZE}, Adam)"
    )
    lines = []
    for row in rows:
        budget = fmt_bytes(DEVICE_BUDGETS_BYTES[row["device"]])
        inference = f"{fmt_bytes(row['inference_bytes']):>11}  {verdict(row['inference_fits'])}"
        training = f"{fmt_bytes(row['training_bytes']):>11}  {verdict(row['training_fits'])}"
        lines.append(f"{row['device']:<16}{budget:>11}  {row['precision'].upper():<11}{inference:<26}{training}")
    print(header)
    print("-" * max(len(line) for line in [header] + lines))
    print("\n".join(lines))
    return rows


@display_guard
def memory_hierarchy_summary(training_memory: Callable, layer_sizes: Sequence[int], batch_size: int):
    """Print the activations of one training step against the L1 cache, and the latency gap.

    Args:
        training_memory: the student's training_memory (FP32, Adam).
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step (>= 1).

    Returns:
        dict: ``activations_bytes``, ``l1_bytes``, ``times_l1`` (activations / L1) and
        ``latency_ratio`` (DRAM latency / L1 latency).
    """
    sizes = check_layer_sizes(layer_sizes)
    batch_size = check_count("batch_size", batch_size)
    activations = _memory(training_memory, sizes, batch_size, BYTES_FP32, "adam")["activations"]
    times = activations / L1_CACHE_BYTES
    latency_ratio = DRAM_LATENCY_NS / L1_LATENCY_NS
    print(
        f"Activations stored at batch {batch_size}: {activations:,.0f} B "
        f"= {fmt_bytes(activations)}, "
        f"{times:.2f}x the {fmt_bytes(L1_CACHE_BYTES)} of a typical L1 data cache."
    )
    print(
        f"L1 answers in about {L1_LATENCY_NS:g} ns, main memory (DRAM) in about "
        f"{DRAM_LATENCY_NS:g} ns: a {latency_ratio:g}x gap."
    )
    if times > 1:
        print(
            "So the activations cannot all stay in L1 between the forward and backward passes: "
            "whatever spills is fetched again from slower memory, and where data lives can cost "
            "as much time as the arithmetic."
        )
    else:
        print(
            "So this step's activations fit in L1 and are served at L1 speed; a larger batch or "
            "a wider network would spill them to slower memory."
        )
    return PrintedDict(
        activations_bytes=activations,
        l1_bytes=L1_CACHE_BYTES,
        times_l1=times,
        latency_ratio=latency_ratio,
    )
