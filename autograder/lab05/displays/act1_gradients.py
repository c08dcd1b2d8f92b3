"""Act 1's gradient displays: how gradients decay through sigmoid layers, the math peek, dying ReLU."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from lab05.constants import (
    DYING_RELU_FRACTION,
    LEARNING_STALLS_BELOW,
    MNIST_LAYER_SIZES,
    relu,
)
from lab05.displays.common import (
    ALARM_COLOUR,
    DYING_RELU_BATCH,
    DYING_RELU_SEED,
    DYING_RELU_SHIFTS,
    MAX_DEPTH_SHOWN,
    OKABE_ITO,
    PEEK_DEPTHS,
    SATURATED_INPUT,
    PrintedDict,
    _finish,
    _number,
    _percent,
    _sci,
    _slope_text,
    plt,
    ticker,
)
from lab05.guards import display_guard
from lab05.validate import validate_count


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


def _draw_gradient_lines(ax, d: GradientDecay, x_sat: str) -> None:
    """ReLU, tanh and sigmoid, at their best and saturated, against the line where learning stalls."""
    depths = d.depths
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


def _mark_depths(ax, d: GradientDecay) -> None:
    """The stall depth, and the bound at the depth the student explores."""
    depth, at_depth, stall = d.depth, d.at_depth, d.stall
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


def _set_gradient_axes(ax, d: GradientDecay) -> None:
    """Log axis down to below the sigmoid bound, the stall zone shaded, labels, title and legend."""
    stall = d.stall
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


def _print_slopes(d: GradientDecay, x_sat: str) -> None:
    """Print the per-layer slopes the figure compares, sigmoid beside tanh."""
    print("Gradient passed back per layer (your gradient_bound of each slope), like with like:")
    print(f"  {'':<28}{'sigmoid':>10}{'tanh':>10}")
    print(f"  {'at its best (x = 0)':<28}{d.max_slope:>10.3f}{d.tanh_peak:>10.3f}")
    print(f"  {'saturated (' + x_sat + ')':<28}{d.sigmoid_saturated:>10.3f}{d.tanh_saturated:>10.3f}")
    print(
        f"At its best, tanh passes {d.tanh_peak / d.max_slope:.3g}x what sigmoid passes per layer; saturated, "
        f"both vanish, tanh a little faster. Only sigmoid decays even at its best input."
    )


def draw_gradient_decay(decay: GradientDecay):
    """Draw the gradient-decay figure, then print the per-layer slopes it compares.

    Args:
        decay: from ``gradient_decay``.

    Returns:
        matplotlib.figure.Figure.
    """
    d = decay
    x_sat = f"x = ±{SATURATED_INPUT:g}"
    fig, ax = plt.subplots(figsize=(12, 6), layout="constrained")
    _draw_gradient_lines(ax, d, x_sat)
    _mark_depths(ax, d)
    _set_gradient_axes(ax, d)
    _print_slopes(d, x_sat)
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
