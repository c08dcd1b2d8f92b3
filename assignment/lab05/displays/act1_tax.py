"""Act 1's transistor-tax displays: the options, the activation comparator, the GELU estimate and the
reveal."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from lab05.constants import (
    ACT1_PREDICTION_OPTIONS,
    ACTIVATION_PROFILES,
    ACTIVATION_TRANSISTORS,
    GELU_CYCLES_PER_MAC,
    GELU_EXTRA_MACS,
    GELU_TRANSISTORS_PER_MAC,
)
from lab05.displays.common import (
    ACTIVATION_COLOURS,
    ACTIVATION_CURVES,
    CURVE_POINTS,
    CURVE_X_RANGE,
    EXAMPLE_NEURONS_PER_LAYER,
    EXAMPLE_NUM_LAYERS,
    FLAT_DERIVATIVE_BELOW,
    OKABE_ITO,
    PrintedDict,
    _cycles_text,
    _finish,
    _number,
    _prediction_letter,
    _times,
    plt,
    prediction_miss,
)
from lab05.guards import display_guard
from lab05.validate import locked_message, prediction_is_set


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


def _draw_transistor_bars(ax, c: ActivationComparison, ticks: list[str]) -> None:
    """Panel (a): transistors per unit on a log axis, estimates hatched, with the student's prediction."""
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


def _draw_cycle_ranges(ax, c: ActivationComparison, ticks: list[str]) -> None:
    """Panel (b): cycles per evaluation, a low-high range per activation."""
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


def _draw_curves_and_slopes(axd, c: ActivationComparison) -> None:
    """The lower panels: each activation's curve above its derivative, flat stretches shaded."""
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


def _print_cost_table(c: ActivationComparison) -> None:
    """Print the prediction and the table of costs: what the figure cannot show (power, sources)."""
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

    _draw_transistor_bars(axd["transistors"], c, ticks)
    _draw_cycle_ranges(axd["cycles"], c, ticks)
    _draw_curves_and_slopes(axd, c)
    axd["slope_relu"].legend(loc="center right", fontsize=8.5)
    fig.suptitle("What an activation costs in silicon, and what its derivative passes back", fontsize=13)
    _print_cost_table(c)
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
