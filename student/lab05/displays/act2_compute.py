"""Act 2's compute displays: which layer does the work, and the cost of a training step.

The chapter's rule of thumb says the backward pass costs about twice the forward pass (two
products per layer), so a training step costs about three forward passes. ``backward_pass_flops``
counts what a framework really computes: the weight gradient of every layer, and the input
gradient of every layer but the first, whose input is the data. For the chapter's network, whose
first layer does most of the work, that is far less than twice the forward pass; as the network
widens, the first layer's share falls and the rule of thumb returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from lab05.constants import WIDTH_CHALLENGE_RANGE, challenge_layer_sizes
from lab05.displays.common import (
    ADAM_FLOPS_PER_PARAM,
    BACKWARD_PRODUCTS_PER_LAYER,
    BACKWARD_WIDTHS_PRINTED,
    FLOPS_PER_MAC,
    OKABE_ITO,
    PIE_LABEL_MIN_SHARE,
    WIDTH_POINTS,
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


class BackwardFlops(NamedTuple):
    """The FLOPs of one backward pass, split as a framework computes it: built by ``backward_pass_flops``.

    Attributes:
        weight_gradients: one product per layer, the size of its forward product (FLOPs).
        input_gradients: one more product for every layer but the first (FLOPs).
        skipped: the first layer's input gradient, which nothing needs: its input is the data, so
            no framework computes it (FLOPs).
    """

    weight_gradients: float
    input_gradients: float
    skipped: float

    @property
    def total(self) -> float:
        """The backward pass: weight gradients plus input gradients (FLOPs)."""
        return self.weight_gradients + self.input_gradients

    @property
    def chapter_rule(self) -> float:
        """What the rule of thumb counts: every product, the skipped one included (FLOPs)."""
        return self.total + self.skipped


def backward_pass_flops(macs_per_layer: Sequence[float], batch_size: int) -> BackwardFlops:
    """The backward pass of a fully connected network, product by product.

    For each layer, the weight gradient (its output gradient times its input, over the batch) costs
    as many MACs as the forward product. The input gradient (the weights times the output
    gradient) costs as many again, but only for layers whose input is another layer's output: the
    first layer's input is the data. PyTorch's FlopCounterMode counts exactly this.

    Args:
        macs_per_layer: multiply-accumulates per example, one per layer, input side first.
        batch_size: examples per training step (>= 1).

    Returns:
        BackwardFlops.

    Raises:
        ValueError: for no layers or a batch size that is not a whole number >= 1.

    Example:
        backward_pass_flops([6], 1) == BackwardFlops(12, 0, 12): one layer, so no input gradient.
    """
    batch_size = validate_count("batch_size", batch_size)
    macs = list(macs_per_layer)
    if not macs:
        raise ValueError("macs_per_layer must hold one count per layer, got none")
    per_mac = FLOPS_PER_MAC * batch_size
    return BackwardFlops(
        weight_gradients=per_mac * sum(macs),
        input_gradients=per_mac * sum(macs[1:]),
        skipped=per_mac * macs[0],
    )


class TrainingStepFlops(NamedTuple):
    """The FLOPs of one training step: built by ``training_step_flops``.

    Attributes:
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step.
        layer_macs: the student's layer_macs (MACs per example, one per layer).
        params: the student's parameter_count.
        forward: FLOPS_PER_MAC * sum(layer_macs) * batch_size (FLOPs).
        backward: the backward pass, product by product (``backward_pass_flops``).
        update: ADAM_FLOPS_PER_PARAM * params (FLOPs, this lab's estimate for Adam).
    """

    layer_sizes: tuple[int, ...]
    batch_size: int
    layer_macs: tuple[float, ...]
    params: float
    forward: float
    backward: BackwardFlops
    update: float

    @property
    def macs(self) -> float:
        """Multiply-accumulates per example, every layer together."""
        return sum(self.layer_macs)

    @property
    def first_layer_share(self) -> float:
        """The first layer's share of the multiply-accumulates."""
        return self.layer_macs[0] / self.macs

    @property
    def total(self) -> float:
        """Forward, backward and update together (FLOPs)."""
        return self.forward + self.backward.total + self.update

    @property
    def backward_ratio(self) -> float:
        """The backward pass as a multiple of the forward pass."""
        return self.backward.total / self.forward

    @property
    def passes_ratio(self) -> float:
        """Forward and backward passes together, as a multiple of the forward pass (the rule of thumb's 3x)."""
        return (self.forward + self.backward.total) / self.forward

    @property
    def step_ratio(self) -> float:
        """The whole step (forward, backward, update) as a multiple of the forward pass."""
        return self.total / self.forward

    @property
    def rule_step_ratio(self) -> float:
        """The whole step by the rule of thumb (backward = BACKWARD_PRODUCTS_PER_LAYER x forward)."""
        return (self.forward * (1 + BACKWARD_PRODUCTS_PER_LAYER) + self.update) / self.forward


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
    macs = tuple(_number(m, f"layer_macs({sizes}) entry") for m in layer_macs(sizes))
    if not macs or sum(macs) <= 0:
        raise ValueError(f"layer_macs({sizes}) returned {list(macs)}; expected positive counts, one per layer")
    params = _number(parameter_count(sizes), f"parameter_count({sizes})")
    return TrainingStepFlops(
        layer_sizes=tuple(sizes),
        batch_size=batch_size,
        layer_macs=macs,
        params=params,
        forward=FLOPS_PER_MAC * sum(macs) * batch_size,
        backward=backward_pass_flops(macs, batch_size),
        update=ADAM_FLOPS_PER_PARAM * params,
    )


class TrainingStepCost(NamedTuple):
    """What the compute instrument shows: built by ``training_step_cost``.

    Attributes:
        step: the FLOPs of one training step of the network asked for.
        widths: hidden widths W of [784, W, W // 2, 10], ascending (WIDTH_CHALLENGE_RANGE, and
            every width of BACKWARD_WIDTHS_PRINTED).
        widened: the FLOPs of one training step of each of those networks, at the same batch.
        printed: the widths of BACKWARD_WIDTHS_PRINTED, whose multiples are printed.
    """

    step: TrainingStepFlops
    widths: np.ndarray
    widened: tuple[TrainingStepFlops, ...]
    printed: tuple[int, ...]

    def at_width(self, width: int) -> TrainingStepFlops:
        """The training step of [784, width, width // 2, 10] (a width of ``widths``)."""
        return self.widened[list(self.widths).index(width)]


def training_step_cost(
    layer_macs: Callable, parameter_count: Callable, layer_sizes: Sequence[int], batch_size: int
) -> TrainingStepCost:
    """One training step's FLOPs, and how its backward pass grows as the network widens.

    Args:
        layer_macs: the student's layer_macs(layer_sizes).
        parameter_count: the student's parameter_count(layer_sizes).
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).
        batch_size: examples per training step (>= 1).

    Returns:
        TrainingStepCost.

    Raises:
        ValueError, TypeError: as ``training_step_flops``.
    """
    step = training_step_flops(layer_macs, parameter_count, layer_sizes, batch_size)
    low, high = WIDTH_CHALLENGE_RANGE
    grid = np.geomspace(low, high, WIDTH_POINTS).round().astype(int)
    widths = np.unique(np.concatenate([grid, BACKWARD_WIDTHS_PRINTED]))
    widths = widths[widths >= 2]
    widened = tuple(
        training_step_flops(layer_macs, parameter_count, challenge_layer_sizes(int(w)), step.batch_size) for w in widths
    )
    return TrainingStepCost(step=step, widths=widths, widened=widened, printed=tuple(BACKWARD_WIDTHS_PRINTED))


def _draw_step_bars(ax, step: TrainingStepFlops) -> tuple[list, int]:
    """Left panel: the waterfall of forward, both parts of backward, the update and the total.

    Returns:
        The bars drawn, as (name, bottom, height, colour), and the index of the input-gradient bar.
    """
    forward, backward, update, total = step.forward, step.backward, step.update, step.total
    bars = [
        ("Forward", 0.0, forward, OKABE_ITO["blue"]),
        ("Backward:\nweight gradients", forward, backward.weight_gradients, OKABE_ITO["orange"]),
        (
            "Backward:\ninput gradients\n(layers 2+)",
            forward + backward.weight_gradients,
            backward.input_gradients,
            OKABE_ITO["yellow"],
        ),
        ("Update (Adam,\nthis lab's estimate)", forward + backward.total, update, OKABE_ITO["green"]),
        ("Total", 0.0, total, "0.45"),
    ]
    ghost = 2  # the input-gradient bar: the skipped product is drawn on top of it
    for i, (_name, start, height, colour) in enumerate(bars):
        ax.bar(i, height, bottom=start, width=0.6, color=colour, edgecolor=OKABE_ITO["black"])
        on_top = backward.skipped if i == ghost else 0.0
        ax.annotate(
            f"{height / forward:.2f}x forward\n{height:,.0f} FLOPs",
            (i, start + height + on_top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
        if i < len(bars) - 1:
            level = start + height
            ax.plot([i + 0.3, i + 0.7], [level, level], color="0.4", linestyle=":", linewidth=1.2)
    return bars, ghost


def _draw_skipped_product_and_rule(ax, step: TrainingStepFlops, bars: list, ghost: int) -> None:
    """The first layer's input gradient, never computed, as an empty outline on the ``ghost`` bar; the rule of
    thumb's total; the left panel's axes."""
    forward, backward, total, network = step.forward, step.backward, step.total, " → ".join(map(str, step.layer_sizes))
    ghost_bottom = forward + backward.total
    ax.bar(
        ghost,
        backward.skipped,
        bottom=ghost_bottom,
        width=0.6,
        fill=False,
        edgecolor=OKABE_ITO["vermillion"],
        linestyle="--",
        hatch="//",
        linewidth=1.2,
        label=f"layer 1's input gradient: never computed, its input is the data ({backward.skipped:,.0f} FLOPs)",
    )
    ax.text(
        ghost,
        ghost_bottom + backward.skipped / 2,
        "layer 1's input\ngradient:\nnot computed",
        ha="center",
        va="center",
        fontsize=8.5,
        color=OKABE_ITO["vermillion"],
        bbox=dict(boxstyle="round", facecolor="white", edgecolor="none", alpha=0.9),
    )
    rule_total = forward * (1 + BACKWARD_PRODUCTS_PER_LAYER)
    ax.axhline(
        rule_total,
        color="0.3",
        linestyle="--",
        linewidth=1.3,
        label=f"the rule of thumb: forward + {BACKWARD_PRODUCTS_PER_LAYER}x backward = "
        f"{1 + BACKWARD_PRODUCTS_PER_LAYER}x forward, before the update",
    )
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=9)
    ax.set_ylim(0, max(total, ghost_bottom + backward.skipped, rule_total) * 1.4)
    ax.yaxis.set_major_formatter(ticker.EngFormatter(sep=" "))
    ax.set_xlabel("part of one training step")
    ax.set_ylabel("FLOPs per training step")
    ax.set_title(f"One training step of {network} at batch {step.batch_size}: {step.step_ratio:.2f}x the forward pass")
    ax.legend(loc="upper left", fontsize=8.5)
    ax.grid(True, axis="y", alpha=0.25)


def _draw_multiples_against_width(ax_w, cost: TrainingStepCost) -> None:
    """Right panel: the backward pass and forward + backward as multiples of forward, against the hidden width."""
    widths = cost.widths
    ax_w.set_xscale("log", base=2)
    ax_w.plot(
        widths,
        [s.backward_ratio for s in cost.widened],
        color=OKABE_ITO["orange"],
        linewidth=2.4,
        label="backward / forward",
    )
    ax_w.plot(
        widths,
        [s.passes_ratio for s in cost.widened],
        color="0.35",
        linewidth=2.4,
        label="(forward + backward) / forward",
    )
    rules = ((BACKWARD_PRODUCTS_PER_LAYER, "backward"), (1 + BACKWARD_PRODUCTS_PER_LAYER, "forward + backward"))
    for level, text in rules:
        ax_w.axhline(level, color="0.5", linestyle="--", linewidth=1.1)
        ax_w.text(widths[0], level - 0.04, f" rule of thumb: {text} {level}x", va="top", fontsize=9, color="0.3")
    for width in cost.printed:
        s = cost.at_width(width)
        ax_w.plot([width], [s.backward_ratio], "o", color=OKABE_ITO["orange"], markeredgecolor="black", zorder=5)
        ax_w.annotate(
            f"W = {width:,}\nlayer 1: {_percent(s.first_layer_share)}",
            (width, s.backward_ratio),
            xytext=(0, -30),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8.5,
        )
    ax_w.set_ylim(0, 1 + BACKWARD_PRODUCTS_PER_LAYER + 0.6)
    ax_w.xaxis.set_major_locator(ticker.FixedLocator([float(4**k) for k in range(3, 9)]))
    ax_w.xaxis.set_minor_locator(ticker.NullLocator())
    ax_w.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax_w.set_xlabel(f"hidden width W (network {_challenge_shape()}, log scale)")
    ax_w.set_ylabel("multiple of the forward pass")
    ax_w.set_title("As layer 1's share falls, the rule of thumb returns")
    ax_w.legend(loc="lower right", fontsize=9)
    ax_w.grid(True, alpha=0.25)


def _print_step_cost(cost: TrainingStepCost) -> None:
    """Print the rule of thumb, the step's FLOPs part by part, and how the backward multiple grows with W."""
    step = cost.step
    forward, backward, update, total = step.forward, step.backward, step.update, step.total
    network = " → ".join(map(str, step.layer_sizes))
    print(
        f"The rule of thumb: the backward pass computes {BACKWARD_PRODUCTS_PER_LAYER} products per layer, so it "
        f"costs about {BACKWARD_PRODUCTS_PER_LAYER}x the forward pass and a step about "
        f"{1 + BACKWARD_PRODUCTS_PER_LAYER}x."
    )
    print(f"What {network} computes at batch {step.batch_size} (from your layer_macs and parameter_count):")
    print(
        f"  forward pass       {forward:>14,.0f} FLOPs  ({FLOPS_PER_MAC} per MAC x {step.macs:,.0f} MACs "
        f"x batch {step.batch_size})"
    )
    print(f"  backward pass      {backward.total:>14,.0f} FLOPs  = {step.backward_ratio:.2f}x forward, made of")
    print(f"    weight gradients {backward.weight_gradients:>14,.0f} FLOPs  (every layer)")
    print(f"    input gradients  {backward.input_gradients:>14,.0f} FLOPs  (layers 2 to {len(step.layer_macs)})")
    print(
        f"  Adam update        {update:>14,.0f} FLOPs  ({ADAM_FLOPS_PER_PARAM} per parameter x {step.params:,.0f} "
        f"parameters, this lab's estimate)"
    )
    print(f"  total              {total:>14,.0f} FLOPs  = {step.step_ratio:.2f}x forward")
    print(
        f"The rule of thumb also counts layer 1's input gradient ({backward.skipped:,.0f} FLOPs): a backward pass "
        f"of {backward.chapter_rule:,.0f} FLOPs ({backward.chapter_rule / forward:.2f}x) and a step of "
        f"{step.rule_step_ratio:.2f}x."
    )
    print(
        f"No framework computes that product: layer 1's input is the data, which needs no gradient. Layer 1 does "
        f"{_percent(step.first_layer_share)} of the MACs, so the product it skips is most of a forward pass."
    )
    print(f"As {_challenge_shape()} widens (batch {step.batch_size}), layer 1's share falls and the rule returns:")
    for width in cost.printed:
        s = cost.at_width(width)
        print(
            f"  W = {width:>6,}: layer 1 does {_percent(s.first_layer_share):>5} of the MACs; backward "
            f"{s.backward_ratio:.2f}x forward, forward + backward {s.passes_ratio:.2f}x (with the update "
            f"{s.step_ratio:.2f}x)"
        )


def draw_training_step_cost(cost: TrainingStepCost):
    """Draw the step's waterfall and the backward pass against width, then print both.

    Args:
        cost: from ``training_step_cost``.

    Returns:
        matplotlib.figure.Figure whose axes are [the waterfall, the multiples against W].
    """
    step = cost.step
    fig, (ax, ax_w) = plt.subplots(
        1, 2, figsize=(14, 6), layout="constrained", gridspec_kw=dict(width_ratios=[1.15, 1.0])
    )
    bars, ghost = _draw_step_bars(ax, step)
    _draw_skipped_product_and_rule(ax, step, bars, ghost)
    _draw_multiples_against_width(ax_w, cost)
    _print_step_cost(cost)
    return _finish(fig)


@display_guard
def compute_waterfall_figure(
    layer_macs: Callable, parameter_count: Callable, layer_sizes: Sequence[int], batch_size: int
):
    """FLOPs of one training step as a waterfall, and the backward pass against width.

    Forward = FLOPS_PER_MAC * sum(layer_macs) * batch_size; the backward pass as
    ``backward_pass_flops`` counts it (the first layer's input gradient is never computed); update
    = ADAM_FLOPS_PER_PARAM * parameter_count (this lab's estimate for Adam). The second panel
    repeats the count for [784, W, W // 2, 10] over WIDTH_CHALLENGE_RANGE.

    Args:
        layer_macs: the student's layer_macs(layer_sizes).
        parameter_count: the student's parameter_count(layer_sizes).
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step (>= 1).

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_training_step_cost(training_step_cost(layer_macs, parameter_count, layer_sizes, batch_size))
