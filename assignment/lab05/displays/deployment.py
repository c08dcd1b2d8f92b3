"""The closing displays: two deployment contexts, and the memory hierarchy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from lab05.constants import (
    BYTES_FP32,
    DEVICE_BUDGETS_BYTES,
    DRAM_LATENCY_NS,
    L1_CACHE_BYTES,
    L1_LATENCY_NS,
    MEMORY_TIERS,
    MNIST_BATCH_SIZE,
    PRECISION_BYTES,
    MemoryTier,
    challenge_layer_sizes,
    fmt_bytes,
)
from lab05.displays.common import (
    HIERARCHY_WIDTHS,
    OKABE_ITO,
    PrintedList,
    _binary_log_axis,
    _finish,
    _memory,
    _number,
    plt,
)
from lab05.guards import display_guard
from lab05.validate import validate_count, validate_layer_sizes


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
    sizes = validate_layer_sizes(layer_sizes)
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


def landing_tiers(size_bytes: float, tiers: Sequence[MemoryTier] = MEMORY_TIERS) -> tuple[MemoryTier, MemoryTier]:
    """The tiers a working set of ``size_bytes`` lands in: on a machine with large caches, and with small ones.

    A working set lands in the fastest tier that holds it whole. Cache sizes vary between machines,
    so the answer is a pair: the fastest tier whose largest typical capacity holds it, and the
    fastest whose smallest typical capacity does. The last tier (main memory) holds anything.

    Args:
        size_bytes: the working set (bytes, >= 0).
        tiers: the hierarchy, fastest first (MEMORY_TIERS).

    Returns:
        (tier on a machine with large caches, tier on a machine with small caches).

    Example:
        landing_tiers(100 * 1024) lands in L2 either way; a 1.79 MiB set lands in L2 or L3.
    """

    def first(holds) -> MemoryTier:
        return next(t for t in tiers if t.capacity_bytes is None or holds(t.capacity_bytes))

    return first(lambda cap: size_bytes <= cap[1]), first(lambda cap: size_bytes <= cap[0])


class WorkingSet(NamedTuple):
    """One working set placed in the hierarchy.

    Attributes:
        label: what it is, as shown.
        size_bytes: its size (bytes), from the student's functions.
        large_caches: the tier it lands in on a machine with large caches.
        small_caches: the tier it lands in on a machine with small caches.
    """

    label: str
    size_bytes: float
    large_caches: MemoryTier
    small_caches: MemoryTier

    @property
    def where(self) -> str:
        """'L2 cache', or 'L2 or L3 cache' when the machine decides."""
        large, small = self.large_caches.name, self.small_caches.name
        if large == small:
            return large
        if large.endswith(" cache") and small.endswith(" cache"):
            large = large.removesuffix(" cache")
        return f"{large} or {small}"


class MemoryHierarchy(NamedTuple):
    """What the memory hierarchy instrument shows: built by ``memory_hierarchy``.

    Attributes:
        tiers: MEMORY_TIERS, fastest first.
        network: the lab's network in words ("784 → 128 → 64 → 10").
        batch_size: the training batch (examples per step); FP32 and Adam throughout.
        working_sets: the lab network's activations, weights and whole training state, then the
            whole training state of challenge_layer_sizes(W) for each W of HIERARCHY_WIDTHS.
    """

    tiers: tuple[MemoryTier, ...]
    network: str
    batch_size: int
    working_sets: tuple[WorkingSet, ...]

    @property
    def activations(self) -> WorkingSet:
        """The lab network's activations at ``batch_size``."""
        return self.working_sets[0]

    @property
    def training_state(self) -> WorkingSet:
        """The lab network's whole training state at ``batch_size``."""
        return self.working_sets[2]

    @property
    def latency_ratio(self) -> float:
        """Main memory's latency over L1's: the chapter's gap."""
        return DRAM_LATENCY_NS / L1_LATENCY_NS


def memory_hierarchy(
    training_memory: Callable, layer_sizes: Sequence[int], batch_size: int, widths: Sequence[int] = HIERARCHY_WIDTHS
) -> MemoryHierarchy:
    """Where the working sets of one training step land in a typical memory hierarchy.

    Args:
        training_memory: the student's training_memory (used at FP32, Adam).
        layer_sizes: widths of every layer, input first (the MNIST network in the lab).
        batch_size: examples per training step (>= 1).
        widths: hidden widths W of the width challenge's networks to place as well (each >= 2).

    Returns:
        MemoryHierarchy.

    Raises:
        ValueError: for invalid layer sizes, batch size or widths.
        TypeError: for a training_memory that does not return the five byte counts.
    """
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    widths = [validate_count("every width", w, minimum=2) for w in widths]
    network = " → ".join(map(str, sizes))

    def placed(label: str, size: float) -> WorkingSet:
        return WorkingSet(label, size, *landing_tiers(size))

    memory = _memory(training_memory, sizes, batch_size, BYTES_FP32, "adam")
    sets = [
        placed(f"activations of {network}, batch {batch_size}", memory["activations"]),
        placed(f"weights of {network}", memory["weights"]),
        placed(f"all of its training state (batch {batch_size})", memory["total"]),
    ]
    for width in widths:
        wide = challenge_layer_sizes(width)
        total = _memory(training_memory, wide, batch_size, BYTES_FP32, "adam")["total"]
        sets.append(placed(f"all training state of {' → '.join(map(str, wide))}", total))
    return MemoryHierarchy(tiers=MEMORY_TIERS, network=network, batch_size=batch_size, working_sets=tuple(sets))


def _capacity_text(tier: MemoryTier) -> str:
    if tier.capacity_bytes is None:
        return "GiBs"
    low, high = (fmt_bytes(c).replace(".00 ", " ") for c in tier.capacity_bytes)
    return low if low == high else f"{low} - {high}"


def _latency_text(tier: MemoryTier) -> str:
    low, high = tier.latency_ns
    return f"about {low:g} ns" if low == high else f"{low:g}-{high:g} ns"


def _draw_tiers(ax, h: MemoryHierarchy, colours: dict, left: float, right: float) -> None:
    """One row per tier: its capacity (hatched where machines differ) and its latency."""
    for row, tier in enumerate(h.tiers):
        colour = colours[tier]
        if tier.capacity_bytes is None:
            ax.barh(row, right - left, left=left, height=0.6, color=colour, alpha=0.35)
            note = "holds the rest"
        else:
            low, high = tier.capacity_bytes
            ax.barh(row, low - left, left=left, height=0.6, color=colour, alpha=0.55)
            if high > low:
                ax.barh(row, high - low, left=low, height=0.6, color=colour, alpha=0.25, hatch="//", edgecolor="white")
            note = _capacity_text(tier)
        ax.text(left * 1.15, row, f"{note}, {_latency_text(tier)}", va="center", fontsize=9, fontweight="bold")


def _draw_working_sets(ax, h: MemoryHierarchy, colours: dict, left: float, right: float) -> None:
    """One row per working set below the tiers: its size, and the tier it lands in."""
    ax.axhline(len(h.tiers), color="0.6", linewidth=0.8)
    for k, ws in enumerate(h.working_sets):
        row = len(h.tiers) + 1 + k
        colour = colours.get(ws.large_caches, OKABE_ITO["black"])
        ax.axvline(ws.size_bytes, ymin=0, ymax=1, color="0.55", linestyle=":", linewidth=1)
        ax.plot([ws.size_bytes], [row], "D", markersize=9, color=colour, markeredgecolor=OKABE_ITO["black"])
        on_left = ws.size_bytes > left * (right / left) ** 0.6
        ax.annotate(
            f"{fmt_bytes(ws.size_bytes)} → {ws.where}",
            (ws.size_bytes, row),
            xytext=(-10 if on_left else 10, 0),
            textcoords="offset points",
            ha="right" if on_left else "left",
            va="center",
            fontsize=9,
        )


def _print_memory_hierarchy(h: MemoryHierarchy) -> None:
    """Print the tiers, where each working set lands, and what that means for the activations and the state."""
    print("A typical machine's memory hierarchy (L1 and main memory: the chapter's latencies; L2, L3: typical ranges):")
    width = max(len(t.name) for t in h.tiers)
    for tier in h.tiers:
        print(f"  {tier.name:<{width}}  {_capacity_text(tier):>16}  {_latency_text(tier)}")
    print(f"Main memory answers {h.latency_ratio:g}x later than L1. Where each working set lands:")
    label_width = max(len(w.label) for w in h.working_sets)
    for ws in h.working_sets:
        print(f"  {ws.label:<{label_width}}  {fmt_bytes(ws.size_bytes):>11}  {ws.where}")
    acts, state, widest = h.activations, h.training_state, h.working_sets[-1]
    fastest = min(state.large_caches.latency_ns[0], state.small_caches.latency_ns[0])
    slowest = max(state.large_caches.latency_ns[1], state.small_caches.latency_ns[1])
    print(
        f"The activations ({fmt_bytes(acts.size_bytes)}) are {acts.size_bytes / L1_CACHE_BYTES:.2f}x a "
        f"{fmt_bytes(L1_CACHE_BYTES)} L1: they spill to the {acts.where}, not to main memory."
    )
    print(
        f"All of {h.network}'s training state ({fmt_bytes(state.size_bytes)}) fits in the {state.where}, "
        f"answering in {fastest:g}-{slowest:g} ns: the {h.latency_ratio:g}x gap of main memory is not its problem."
    )
    print(
        f"The training state of {widest.label.removeprefix('all training state of ')} "
        f"({fmt_bytes(widest.size_bytes)}) lands in {widest.where}: that step meets the gap."
    )


def draw_memory_hierarchy(hierarchy: MemoryHierarchy):
    """Draw the tiers' capacities and each working set on one byte axis, then print where each lands.

    Args:
        hierarchy: from ``memory_hierarchy``.

    Returns:
        matplotlib.figure.Figure.
    """
    h = hierarchy
    sizes = [w.size_bytes for w in h.working_sets]
    caches = [t.capacity_bytes for t in h.tiers if t.capacity_bytes is not None]
    left = min(min(sizes), min(c[0] for c in caches)) / 4
    right = max(max(sizes), max(c[1] for c in caches)) * 16
    colours = dict(
        zip(h.tiers, [OKABE_ITO["green"], OKABE_ITO["sky_blue"], OKABE_ITO["blue"], OKABE_ITO["vermillion"]])
    )
    rows = len(h.tiers) + len(h.working_sets) + 1
    fig, ax = plt.subplots(figsize=(12, 0.55 * rows + 2), layout="constrained")
    ax.set_xscale("log")
    _draw_tiers(ax, h, colours, left, right)
    _draw_working_sets(ax, h, colours, left, right)
    labels = [tier.name for tier in h.tiers] + [""] + [ws.label for ws in h.working_sets]
    ax.set_yticks(range(rows), labels, fontsize=9)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(left, right)
    _binary_log_axis(ax.xaxis, left, right)
    ax.set_xlabel("bytes (log scale); hatched: cache sizes some machines have and others do not")
    ax.set_ylabel("tier (top) and working set (below)")
    ax.set_title(f"Where a training step's data lives (FP32, Adam, batch {h.batch_size})")
    ax.grid(True, axis="x", alpha=0.25)

    _print_memory_hierarchy(h)
    return _finish(fig)


@display_guard
def memory_hierarchy_summary(
    training_memory: Callable, layer_sizes: Sequence[int], batch_size: int, widths: Sequence[int] = HIERARCHY_WIDTHS
):
    """The memory hierarchy's tiers, and where each working set of a training step lands.

    Args:
        training_memory: the student's training_memory (FP32, Adam).
        layer_sizes: widths of every layer, input first.
        batch_size: examples per training step (>= 1).
        widths: hidden widths W of the width challenge's networks to place as well.

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_memory_hierarchy(memory_hierarchy(training_memory, layer_sizes, batch_size, widths))
