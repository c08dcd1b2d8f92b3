"""Act 2's scaling displays: the width challenge and how training memory grows with the batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from lab05.constants import (
    BYTES_FP32,
    DEVICE_BUDGETS_BYTES,
    MNIST_BATCH_SIZE,
    WIDTH_CHALLENGE_RANGE,
    challenge_layer_sizes,
    fmt_bytes,
)
from lab05.displays.common import (
    ALARM_COLOUR,
    DEVICE_COLOURS,
    NEAR_DOUBLING_RATIO,
    OKABE_ITO,
    SCALING_BATCHES,
    SCALING_WIDE_WIDTH,
    WIDTH_POINTS,
    _binary_log_axis,
    _challenge_shape,
    _draw_budget_lines,
    _finish,
    _memory,
    _number,
    _times,
    plt,
    prediction_miss,
    ticker,
)
from lab05.guards import display_guard
from lab05.validate import locked_message, prediction_is_set, validate_count, validate_layer_sizes


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
    batch_size = validate_count("batch_size", batch_size)
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


def _mark_device_widths(ax, challenge: WidthChallenge) -> None:
    """Each device's widest network on the curve, or a note by its budget line when it is off the chart."""
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


def _set_width_axes(ax, challenge: WidthChallenge) -> None:
    """Log axes over the challenge's widths and every budget, labels, title and legend."""
    lo, hi = WIDTH_CHALLENGE_RANGE
    batch_size, totals = challenge.batch_size, challenge.totals
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


def draw_width_challenge(challenge: WidthChallenge):
    """Draw the width challenge figure, then print every device's widest W.

    Args:
        challenge: from ``width_challenge``.

    Returns:
        matplotlib.figure.Figure.
    """
    batch_size, widths, totals = challenge.batch_size, challenge.widths, challenge.totals
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
    _mark_device_widths(ax, challenge)
    _set_width_axes(ax, challenge)
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
        prediction: the student's predicted ratio for the marked batch, or None: none given.
    """

    batches: np.ndarray
    network: str
    ratios: np.ndarray
    wide_network: str
    wide_ratios: np.ndarray
    marked: int
    first_above: int | None
    wide_first_above: int | None
    prediction: float | None = None

    @property
    def at_marked(self) -> float:
        """The lab network's ratio at the marked batch."""
        return float(self.ratios[list(self.batches).index(self.marked)])


def batch_scaling(
    training_memory: Callable, layer_sizes: Sequence[int], prediction: float | None = None
) -> BatchScaling:
    """The doubling ratios of the batch-scaling figure, from the student's training_memory.

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).
        prediction: the student's predicted ratio at the marked batch (a positive number), or None.

    Returns:
        BatchScaling.

    Raises:
        ValueError: for layer sizes that are not at least two whole numbers >= 1.
        TypeError: for a training_memory that does not return the five byte counts.
    """
    sizes = validate_layer_sizes(layer_sizes)
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
        prediction=None if prediction is None else float(prediction),
    )


def _draw_ratio_lines(ax, scaling: BatchScaling) -> None:
    """The two networks' growth ratios against the 1x and 2x lines."""
    batches, name, wide_name = scaling.batches, scaling.network, scaling.wide_network
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


def _mark_batch_and_prediction(ax, scaling: BatchScaling) -> None:
    """The marked batch's ratio, and the student's prediction beside it."""
    marked, at_marked = scaling.marked, scaling.at_marked
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
    if scaling.prediction is not None:
        ax.plot(
            [marked],
            [scaling.prediction],
            marker="P",
            markersize=13,
            color=OKABE_ITO["purple"],
            markeredgecolor="black",
            linestyle="none",
            zorder=6,
            label=f"your prediction: {scaling.prediction:g}x",
        )


def _set_batch_axes(ax, scaling: BatchScaling) -> None:
    """Axes that hold every ratio and the prediction, batch ticks, labels, title and legend."""
    batches = scaling.batches
    top = max(2.1, 1.05 * scaling.prediction) if scaling.prediction is not None else 2.1
    ax.set_ylim(min(0.9, 0.95 * scaling.prediction) if scaling.prediction is not None else 0.9, top)
    ax.xaxis.set_major_locator(ticker.FixedLocator([float(b) for b in batches[::2]]))
    ax.xaxis.set_minor_locator(ticker.FixedLocator([float(b) for b in batches[1::2]]))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel("memory(2B) / memory(B)")
    ax.set_title("Doubling the batch doubles only the activations (FP32, Adam)")
    ax.grid(True, alpha=0.25)
    ax.legend(loc="center left", fontsize=9)


def _print_batch_scaling(scaling: BatchScaling) -> None:
    """Print the verdict on the prediction, the marked ratio and where each network's doubling nears 2x."""
    batches, name, wide_name, marked, at_marked = (
        scaling.batches,
        scaling.network,
        scaling.wide_network,
        scaling.marked,
        scaling.at_marked,
    )
    if scaling.prediction is not None:
        miss = prediction_miss(scaling.prediction, at_marked)
        verdict = "spot on" if miss.spot_on else f"off by {_times(miss.factor)} ({miss.direction})"
        print(f"You predicted {scaling.prediction:g}x for batch {marked} → {2 * marked}: {verdict}.")
    print(f"{name}: batch {marked} → {2 * marked} grows training memory {at_marked:.3f}x.")
    for label, first in ((name, scaling.first_above), (wide_name, scaling.wide_first_above)):
        if first is None:
            print(f"{label}: doubling stays below {NEAR_DOUBLING_RATIO:g}x for every batch up to {int(batches[-1]):,}.")
        else:
            print(f"{label}: doubling first exceeds {NEAR_DOUBLING_RATIO:g}x at batch {first:,} (→ {2 * first:,}).")


def draw_batch_scaling(scaling: BatchScaling):
    """Draw the batch-scaling figure, then print the marked ratio and where doubling nears 2x.

    Args:
        scaling: from ``batch_scaling``.

    Returns:
        matplotlib.figure.Figure.
    """
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")
    ax.set_xscale("log", base=2)
    _draw_ratio_lines(ax, scaling)
    _mark_batch_and_prediction(ax, scaling)
    _set_batch_axes(ax, scaling)
    _print_batch_scaling(scaling)
    return _finish(fig)


@display_guard
def batch_scaling_figure(training_memory: Callable, layer_sizes: Sequence[int], prediction: Any):
    """How much training memory grows when the batch doubles, for batches 1 to 8,192.

    Locked until ``prediction`` is a positive number. Plots training_memory(layers, 2B)["total"] /
    training_memory(layers, B)["total"] (FP32, Adam) for ``layer_sizes`` and for the wide network
    challenge_layer_sizes(SCALING_WIDE_WIDTH), with the prediction at the marked batch.

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).
        prediction: the student's predicted ratio for batch MNIST_BATCH_SIZE → twice that.

    Returns:
        matplotlib.figure.Figure, or None while the prediction is not set.
    """
    if not prediction_is_set(prediction):
        print(locked_message("batch_doubling_prediction", "to a positive number (your predicted ratio)"))
        return None
    return draw_batch_scaling(batch_scaling(training_memory, layer_sizes, prediction))
