"""Act 2's compute displays: which layer does the work, and the cost of a training step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from lab05.constants import challenge_layer_sizes
from lab05.displays.common import (
    ADAM_FLOPS_PER_PARAM,
    BACKWARD_PRODUCTS_PER_LAYER,
    FLOPS_PER_MAC,
    OKABE_ITO,
    PIE_LABEL_MIN_SHARE,
    _challenge_shape,
    _finish,
    _number,
    _percent,
    plt,
    ticker,
)
from lab05.guards import display_guard
from lab05.validate import validate_count, validate_layer_sizes


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
    widths = [validate_count("every width", w, minimum=2) for w in widths]
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
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
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
