"""The closing displays: two deployment contexts, and the memory hierarchy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lab05.constants import (
    BYTES_FP32,
    DEVICE_BUDGETS_BYTES,
    DRAM_LATENCY_NS,
    L1_CACHE_BYTES,
    L1_LATENCY_NS,
    MNIST_BATCH_SIZE,
    PRECISION_BYTES,
    fmt_bytes,
)
from lab05.displays.common import PrintedDict, PrintedList, _memory, _number
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
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
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
