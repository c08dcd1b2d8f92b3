"""Act 2's memory displays: the training memory reveal and the memory ledger (figure and sliders)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from lab05 import guards
from lab05.constants import (
    BATCH_SIZE_CHOICES,
    BYTES_PER_MIB,
    DEVICE_BUDGETS_BYTES,
    LAPTOP_GPU,
    MNIST_BATCH_SIZE,
    MNIST_LAYER_SIZES,
    OPTIMIZER_STATE_PER_PARAM,
    PRECISION_BYTES,
    fmt_bytes,
    to_kib,
)
from lab05.displays.common import (
    ALARM_COLOUR,
    CHAPTER_QUOTED_RATIO,
    COMPONENT_COLOURS,
    COMPONENT_LABELS,
    DEVICE_COLOURS,
    MEMORY_COMPONENTS,
    MIX_LABEL_MIN_SHARE,
    OKABE_ITO,
    PrintedDict,
    _binary_linear_axis,
    _binary_log_axis,
    _draw_budget_lines,
    _finish,
    _memory,
    _number,
    _percent,
    _precision_name,
    _times,
    _validate_bytes_per_value,
    _validate_device,
    mpatches,
    plt,
    prediction_miss,
)
from lab05.guards import display_guard
from lab05.validate import locked_message, prediction_is_set, validate_count, validate_layer_sizes, validate_name


# ---------------------------------------------------------------------------------------------
# Act 2: the memory wall of training
# ---------------------------------------------------------------------------------------------
class TrainingMemoryReveal(NamedTuple):
    """What act2_reveal prints: built by ``training_memory_reveal``.

    Attributes:
        estimate_kib: the student's estimate of the training memory (KiB).
        memory: the student's training_memory of MNIST_LAYER_SIZES at MNIST_BATCH_SIZE, FP32,
            Adam: the four components and "total", in bytes.
        error_kib: the estimate minus the computed total (KiB).
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
        """The computed training memory (bytes)."""
        return self.memory["total"]

    @property
    def estimate_multiple(self) -> float:
        """The estimate as a multiple of the weights (the prediction's anchor)."""
        return self.estimate_kib / to_kib(self.memory["weights"])

    @property
    def training_multiple(self) -> float:
        """The training memory as a multiple of the weights."""
        return self.training_bytes / self.memory["weights"]

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
    miss = prediction_miss(estimate, total_kib)
    factor = miss.factor
    if miss.spot_on:
        verdict = f"you were within {abs(error_kib):,.2f} KiB ({_times(factor)}): spot on."
    else:
        verdict = f"you were off by {abs(error_kib):,.2f} KiB ({_times(factor)} {miss.direction})."
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
    if memory["weights"] > 0:
        print(
            f"As multiples of the weights ({to_kib(memory['weights']):,.2f} KiB): you predicted "
            f"{r.estimate_multiple:.2f}x, training takes {r.training_multiple:.2f}x."
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
    print(
        "Both inference figures keep every layer's activations, as your inference_memory counts them: an upper "
        "bound. Inference never goes back, so a framework can free each layer's input as soon as the next layer "
        "has used it."
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
        training_multiple_of_weights=r.training_multiple if memory["weights"] > 0 else math.nan,
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
        dict with the estimate and the computed totals (bytes, KiB, MiB), the error in KiB
        (estimate minus computed), the factor it was off by, each component in bytes, and the
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
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    bytes_per_value = _validate_bytes_per_value(bytes_per_value)
    optimizer = validate_name("optimizer", optimizer, OPTIMIZER_STATE_PER_PARAM)
    device = _validate_device(device)
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


def _bar_style(selected: bool, too_big: bool) -> dict:
    """The bar keywords of a batch: the selected one solid and outlined, one over budget hatched."""
    return dict(
        width=0.62,
        alpha=1.0 if selected else 0.55,
        edgecolor=ALARM_COLOUR if too_big else (OKABE_ITO["black"] if selected else "white"),
        linewidth=2.2 if (selected or too_big) else 0.6,
        hatch="///" if too_big else None,
        zorder=2,
    )


def _draw_composition(ax_mix, ledger: MemoryLedger, tick_labels: list[str]) -> None:
    """Left panel: what the memory of each batch is made of, stacked on a linear axis."""
    batches, ledgers, over, batch_size = ledger.batches, ledger.ledgers, ledger.over, ledger.batch_size
    for i, (b, memory, too_big) in enumerate(zip(batches, ledgers, over)):
        selected = b == batch_size
        bottom = 0.0
        for key in MEMORY_COMPONENTS:
            ax_mix.bar(i, memory[key], bottom=bottom, color=COMPONENT_COLOURS[key], **_bar_style(selected, too_big))
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


def _draw_totals(ax_tot, ledger: MemoryLedger, tick_labels: list[str]) -> None:
    """Right panel: each batch's total against the device budgets, on a log axis."""
    batches, ledgers, over, batch_size, device = (
        ledger.batches,
        ledger.ledgers,
        ledger.over,
        ledger.batch_size,
        ledger.device,
    )
    ax_tot.set_yscale("log")
    for i, (b, memory, too_big) in enumerate(zip(batches, ledgers, over)):
        selected = b == batch_size
        ax_tot.bar(
            i,
            memory["total"],
            color=ALARM_COLOUR if too_big else OKABE_ITO["black"],
            **{**_bar_style(selected, too_big), "alpha": 0.85 if selected else 0.4},
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
    ax_tot.set_xlabel("batch size (examples per training step)")
    ax_tot.set_ylabel("total training memory (bytes, log scale)")
    ax_tot.set_title("Totals against the device budgets (log scale)", fontsize=10.5)
    ax_tot.grid(True, axis="y", alpha=0.25)


def _title_verdict(fig, ax_tot, ledger: MemoryLedger) -> None:
    """Whether the selected setting fits the device: the figure's title, and a banner when it does not."""
    batch_size, device, budget, chosen = ledger.batch_size, ledger.device, ledger.budget_bytes, ledger.chosen
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


def _draw_component_legend(ax_mix, ledger: MemoryLedger) -> None:
    """The legend of the components at the selected batch, with their sizes and shares."""
    over, batch_size, device, chosen = ledger.over, ledger.batch_size, ledger.device, ledger.chosen
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


def draw_memory_ledger(ledger: MemoryLedger):
    """Draw the memory ledger figure: composition (linear) and totals against budgets (log).

    Args:
        ledger: from ``memory_ledger``.

    Returns:
        matplotlib.figure.Figure whose axes are [composition (linear), totals (log)].
    """
    batches, batch_size = ledger.batches, ledger.batch_size
    tick_labels = [f"{b}\n(selected)" if b == batch_size else f"{b}" for b in batches]

    fig, (ax_mix, ax_tot) = plt.subplots(
        1, 2, figsize=(14, 6.5), layout="constrained", gridspec_kw=dict(width_ratios=[1.1, 1.0])
    )
    _draw_composition(ax_mix, ledger, tick_labels)
    _draw_totals(ax_tot, ledger, tick_labels)
    for axis in (ax_mix, ax_tot):
        for label, b in zip(axis.get_xticklabels(), batches):
            if b == batch_size:
                label.set_fontweight("bold")
    _title_verdict(fig, ax_tot, ledger)
    _draw_component_legend(ax_mix, ledger)
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
    if ipywidgets is None or guards.is_grading():
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
