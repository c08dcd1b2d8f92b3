"""Act 1's displays: the transistor tax and how gradients decay through sigmoid layers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from lab05.constants import (
    ACT1_PREDICTION_OPTIONS,
    ACTIVATION_PROFILES,
    ACTIVATION_TRANSISTORS,
    DYING_RELU_FRACTION,
    GELU_CYCLES_PER_MAC,
    GELU_EXTRA_MACS,
    GELU_TRANSISTORS_PER_MAC,
    LEARNING_STALLS_BELOW,
    MNIST_LAYER_SIZES,
    relu,
)
from lab05.displays.common import (
    ACTIVATION_COLOURS,
    ACTIVATION_CURVES,
    ALARM_COLOUR,
    CURVE_POINTS,
    CURVE_X_RANGE,
    DYING_RELU_BATCH,
    DYING_RELU_SEED,
    DYING_RELU_SHIFTS,
    EXAMPLE_NEURONS_PER_LAYER,
    EXAMPLE_NUM_LAYERS,
    FLAT_DERIVATIVE_BELOW,
    MAX_DEPTH_SHOWN,
    OKABE_ITO,
    PEEK_DEPTHS,
    SATURATED_INPUT,
    PrintedDict,
    _cycles_text,
    _finish,
    _number,
    _percent,
    _prediction_letter,
    _sci,
    _slope_text,
    _times,
    plt,
    prediction_miss,
    ticker,
)
from lab05.guards import display_guard
from lab05.validate import locked_message, prediction_is_set, validate_count


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
        notes: what to watch for with each activation, one per name.
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
    notes: tuple[str, ...]
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
        notes=tuple(profile["note"] for profile in profiles),
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
    for label, note in zip(c.labels, c.notes):
        print(f"{label}: {note}.")
    if "gelu" in c.names:
        print()
        print_gelu_estimate()
    return _finish(fig)


def print_gelu_estimate() -> None:
    """Print how this lab estimates GELU's cost (GELU is not in the chapter)."""
    tanh, gelu = ACTIVATION_PROFILES["tanh"], ACTIVATION_PROFILES["gelu"]
    macs = len(GELU_EXTRA_MACS)
    (t_low, t_high), (g_low, g_high) = tanh["cycles"], gelu["cycles"]
    print("GELU's estimate, step by step (this lab's reasoning, not the chapter's figures):")
    print("  GELU(x) ≈ 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))), the form most frameworks use:")
    print(
        f"  a tanh unit ({ACTIVATION_TRANSISTORS['tanh']:,} transistors, {_cycles_text(t_low, t_high)} cycles: the "
        f"chapter's figures) plus {macs} multiply-accumulates around it:"
    )
    print("    " + "; ".join(GELU_EXTRA_MACS) + " (the 0.5 is a shift: free)")
    print(
        f"  at an estimated {GELU_TRANSISTORS_PER_MAC} transistors and {GELU_CYCLES_PER_MAC} cycles per "
        f"multiply-accumulate (twice the chapter's {ACTIVATION_TRANSISTORS['relu']}-transistor ReLU unit):"
    )
    print(
        f"  {ACTIVATION_TRANSISTORS['tanh']:,} + {macs} x {GELU_TRANSISTORS_PER_MAC} = "
        f"{ACTIVATION_TRANSISTORS['gelu']:,} transistors, and {_cycles_text(t_low, t_high)} + {macs} x "
        f"{GELU_CYCLES_PER_MAC} = {_cycles_text(g_low, g_high)} cycles: more than sigmoid, because GELU contains a "
        f"tanh unit and adds arithmetic to it."
    )


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
    miss = prediction_miss(representative, ratio)
    off_by, spot_on = miss.factor, miss.spot_on
    if spot_on:
        verdict = "your prediction was spot on."
    else:
        verdict = f"your prediction was off by {_times(off_by)} ({miss.direction})."
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
        dict with the prediction, the sigmoid/ReLU ratio (the student's transistor_tax), ``off_by`` (a factor >= 1),
        and the chapter example's units and extra transistors; or None while the prediction
        is not set.
    """
    if not prediction_is_set(prediction, ACT1_PREDICTION_OPTIONS):
        print(locked_message("act1_prediction", 'to "A", "B", "C" or "D"'))
        return None
    return print_transistor_tax_reveal(transistor_tax_reveal(prediction, transistor_tax, extra_transistors))


class GradientDecay(NamedTuple):
    """What the gradient-decay figure shows: built by ``gradient_decay``.

    Sigmoid and tanh are compared like with like: each at its best input (x = 0, its largest
    slope) and each saturated (x = SATURATED_INPUT). Every line is the student's gradient_bound of
    that per-layer slope.

    Attributes:
        depth: the depth marked and annotated (layers, >= 1).
        max_slope: the largest slope of one sigmoid layer (the student's sigmoid_derivative(0.0)).
        depths: 1, 2, ..., last_depth (layers).
        bound: the student's gradient_bound at each of ``depths``, for ``max_slope`` (unitless).
        at_depth: the student's gradient_bound at ``depth``.
        stall: the student's stall_depth for LEARNING_STALLS_BELOW (layers), or None: never.
        relu_active: the slope of an active ReLU unit.
        tanh_peak: tanh's largest slope (at 0).
        sigmoid_saturated: the student's sigmoid_derivative(SATURATED_INPUT).
        tanh_saturated: tanh's slope at SATURATED_INPUT.
        tanh_bound: the student's gradient_bound at each of ``depths``, for ``tanh_peak``.
        sigmoid_saturated_bound: the same for ``sigmoid_saturated``.
        tanh_saturated_bound: the same for ``tanh_saturated``.
    """

    depth: int
    max_slope: float
    depths: np.ndarray
    bound: np.ndarray
    at_depth: float
    stall: int | None
    relu_active: float
    tanh_peak: float
    sigmoid_saturated: float
    tanh_saturated: float
    tanh_bound: np.ndarray
    sigmoid_saturated_bound: np.ndarray
    tanh_saturated_bound: np.ndarray

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
    depth = validate_count("depth", depth)
    max_slope = _number(sigmoid_derivative(0.0), "sigmoid_derivative(0.0)")
    sigmoid_saturated = _number(sigmoid_derivative(SATURATED_INPUT), f"sigmoid_derivative({SATURATED_INPUT:g})")
    tanh_peak = float(1.0 - np.tanh(0.0) ** 2)
    tanh_saturated = float(1.0 - np.tanh(SATURATED_INPUT) ** 2)
    depths = np.arange(1, max(MAX_DEPTH_SHOWN, depth) + 1)

    def bounds(slope: float) -> np.ndarray:
        values = np.asarray(gradient_bound(depths, slope), dtype=float)
        if values.shape != depths.shape:
            raise TypeError(
                f"gradient_bound(an array of {depths.size} depths, {slope:.3g}) returned shape "
                f"{values.shape}; expected one value per depth"
            )
        return values

    at_depth = _number(gradient_bound(depth, max_slope), f"gradient_bound({depth}, {max_slope:g})")
    stall = stall_depth(LEARNING_STALLS_BELOW, max_slope)
    if stall is not None:
        stall = int(_number(stall, "stall_depth"))
    return GradientDecay(
        depth=depth,
        max_slope=max_slope,
        depths=depths,
        bound=bounds(max_slope),
        at_depth=at_depth,
        stall=stall,
        relu_active=relu(2.0) - relu(1.0),
        tanh_peak=tanh_peak,
        sigmoid_saturated=sigmoid_saturated,
        tanh_saturated=tanh_saturated,
        tanh_bound=bounds(tanh_peak),
        sigmoid_saturated_bound=bounds(sigmoid_saturated),
        tanh_saturated_bound=bounds(tanh_saturated),
    )


def draw_gradient_decay(decay: GradientDecay):
    """Draw the gradient-decay figure, then print the per-layer slopes it compares.

    Args:
        decay: from ``gradient_decay``.

    Returns:
        matplotlib.figure.Figure.
    """
    d = decay
    depths, depth, at_depth, stall = d.depths, d.depth, d.at_depth, d.stall
    x_sat = f"x = ±{SATURATED_INPUT:g}"
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
        d.tanh_bound,
        color=OKABE_ITO["green"],
        linestyle=":",
        linewidth=2.5,
        label=f"tanh at its best (x = 0): ({_slope_text(d.tanh_peak)})^L, no decay",
    )
    ax.plot(
        depths,
        d.bound,
        "o-",
        color=OKABE_ITO["blue"],
        linewidth=2.2,
        markersize=5,
        label=f"sigmoid at its best (x = 0): ({_slope_text(d.max_slope)})^L, the bound",
    )
    ax.plot(
        depths,
        d.tanh_saturated_bound,
        color=OKABE_ITO["green"],
        linestyle="--",
        linewidth=1.8,
        label=f"tanh saturated ({x_sat}): ({d.tanh_saturated:.3f})^L",
    )
    ax.plot(
        depths,
        d.sigmoid_saturated_bound,
        color=OKABE_ITO["blue"],
        linestyle="--",
        linewidth=1.8,
        label=f"sigmoid saturated ({x_sat}): ({d.sigmoid_saturated:.3f})^L",
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
    # The saturated lines run off the bottom: the axis follows the sigmoid bound.
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

    print("Gradient passed back per layer (your gradient_bound of each slope), like with like:")
    print(f"  {'':<28}{'sigmoid':>10}{'tanh':>10}")
    print(f"  {'at its best (x = 0)':<28}{d.max_slope:>10.3f}{d.tanh_peak:>10.3f}")
    print(f"  {'saturated (' + x_sat + ')':<28}{d.sigmoid_saturated:>10.3f}{d.tanh_saturated:>10.3f}")
    print(
        f"At its best, tanh passes {d.tanh_peak / d.max_slope:.3g}x what sigmoid passes per layer; saturated, "
        f"both vanish, tanh a little faster. Only sigmoid decays even at its best input."
    )
    return _finish(fig)


@display_guard
def gradient_decay_figure(
    gradient_bound: Callable, stall_depth: Callable, sigmoid_derivative: Callable, depth: int = 10
):
    """Gradient magnitude against depth: sigmoid and tanh like with like, ReLU, and the stall line.

    Every line is the student's gradient_bound(depths, slope) of one per-layer slope: sigmoid's
    and tanh's at x = 0 (their largest) and at SATURATED_INPUT; the vertical line is the student's
    stall_depth for LEARNING_STALLS_BELOW at sigmoid's largest slope.

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
    bounds = {d: _number(gradient_bound(d), f"gradient_bound({d})") for d in PEEK_DEPTHS}
    stall = stall_depth(LEARNING_STALLS_BELOW)
    if stall is not None:
        stall = int(_number(stall, f"stall_depth({_sci(LEARNING_STALLS_BELOW)})"))

    width = max(len(str(d)) for d in PEEK_DEPTHS)
    for d, bound in bounds.items():
        print(f"gradient_bound({d}){'':<{width - len(str(d))}} = {_sci(bound)}")
    if stall is None:
        print(f"stall_depth({_sci(LEARNING_STALLS_BELOW)}) = None: the bound never falls below it.")
    else:
        print(
            f"stall_depth({_sci(LEARNING_STALLS_BELOW)}) = {stall}: the first depth whose bound "
            f"is below the {_sci(LEARNING_STALLS_BELOW)} line where learning stalls."
        )
    return PrintedDict(bounds=bounds, stall_depth=stall, threshold=LEARNING_STALLS_BELOW)


class DyingRelu(NamedTuple):
    """What the dying-ReLU instrument shows: built by ``dying_relu`` (no student code involved).

    A toy first layer of the chapter's network, fed a seeded batch, whose biases are pushed down
    as a too-large update would push them. A unit whose pre-activation is negative for every
    example of the batch outputs 0 for all of them and passes back no gradient: it is dead.

    Attributes:
        units: units of the toy layer (the chapter's first hidden layer).
        batch_size: examples in the batch.
        shifts: how far every bias is pushed down, in standard deviations of the pre-activations.
        dead_fraction: the share of dead units at each shift.
        chapter_range: DYING_RELU_FRACTION, the chapter's "extreme cases".
        hidden_units: the hidden units of the chapter's network (every layer between input and output).
    """

    units: int
    batch_size: int
    shifts: np.ndarray
    dead_fraction: np.ndarray
    chapter_range: tuple[float, float]
    hidden_units: int

    def first_shift_reaching(self, fraction: float) -> float | None:
        """The smallest shift at which at least ``fraction`` of the units are dead (None: none)."""
        hits = self.shifts[self.dead_fraction >= fraction]
        return float(hits[0]) if hits.size else None

    @property
    def dead_hidden_units(self) -> tuple[float, float]:
        """The chapter's range applied to the chapter network's hidden units (units)."""
        low, high = self.chapter_range
        return low * self.hidden_units, high * self.hidden_units


def dying_relu(seed: int = DYING_RELU_SEED) -> DyingRelu:
    """Dead units of a toy ReLU layer as its biases are pushed down.

    The layer is the chapter network's first, MNIST_LAYER_SIZES[0] -> MNIST_LAYER_SIZES[1],
    He-initialised (normal, variance 2 / fan-in), with zero biases; the batch is DYING_RELU_BATCH
    inputs drawn uniformly from [0, 1) (pixel intensities). Both come from NumPy's generator
    seeded with ``seed``.

    Returns:
        DyingRelu.
    """
    fan_in, units = MNIST_LAYER_SIZES[0], MNIST_LAYER_SIZES[1]
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, units))
    inputs = rng.random((DYING_RELU_BATCH, fan_in))
    pre = inputs @ weights
    spread = float(pre.std())
    shifts = np.array(DYING_RELU_SHIFTS)
    dead = np.array([np.mean(np.all(pre - shift * spread <= 0.0, axis=0)) for shift in shifts])
    return DyingRelu(
        units=units,
        batch_size=DYING_RELU_BATCH,
        shifts=shifts,
        dead_fraction=dead,
        chapter_range=DYING_RELU_FRACTION,
        hidden_units=sum(MNIST_LAYER_SIZES[1:-1]),
    )


def draw_dying_relu(result: DyingRelu):
    """Draw the share of dead units against the bias shift, then print what it means.

    Args:
        result: from ``dying_relu``.

    Returns:
        matplotlib.figure.Figure.
    """
    r = result
    low, high = r.chapter_range
    fig, ax = plt.subplots(figsize=(10, 4.8), layout="constrained")
    ax.axhspan(
        low,
        high,
        color=ALARM_COLOUR,
        alpha=0.12,
        label=f"the chapter's extreme cases: {low * 100:.0f}-{high:.0%} of units dead",
    )
    ax.plot(
        r.shifts,
        r.dead_fraction,
        color=OKABE_ITO["orange"],
        linewidth=2.5,
        label=f"dead units of a {r.units}-unit ReLU layer (batch of {r.batch_size})",
    )
    ax.set_xlim(r.shifts[0], r.shifts[-1])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1))
    ax.set_xlabel("how far every bias was pushed down (in standard deviations of the pre-activations W·x + b)")
    ax.set_ylabel("units dead for the whole batch")
    ax.set_title("ReLU's own failure: units that output 0 for every example pass back no gradient")
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(True, alpha=0.25)

    print(
        f"Dead units of a toy {MNIST_LAYER_SIZES[0]} → {r.units} ReLU layer, batch of {r.batch_size} "
        f"(seeded inputs in [0, 1)):"
    )
    print(f"  with no push: {_percent(float(r.dead_fraction[0]))} (weights that happen to point away from the data)")
    for fraction in r.chapter_range:
        shift = r.first_shift_reaching(fraction)
        where = f"after a push of {shift:g} standard deviations" if shift is not None else "never on this chart"
        print(f"  {fraction:.0%} dead: {where}")
    few, many = r.dead_hidden_units
    print(
        f"In the chapter's network, {low * 100:.0f}-{high:.0%} of its {r.hidden_units} hidden units is about "
        f"{few:.0f} to {many:.0f} units that never learn again: their gradient is exactly 0, and nothing "
        f"reports it."
    )
    return _finish(fig)


@display_guard
def dying_relu_figure(seed: int = DYING_RELU_SEED):
    """ReLU's risk, shown: the share of dead units of a toy layer as its biases are pushed down.

    Args:
        seed: the seed of the toy layer's weights and inputs.

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_dying_relu(dying_relu(seed))
