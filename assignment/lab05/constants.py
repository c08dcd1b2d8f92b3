"""The lab's constants: units, devices and their memory budgets, the activation functions and
what they cost in silicon, and how byte counts are written.

Conventions used everywhere in the lab:
    * Memory is counted in bytes. KiB, MiB and GiB are binary (1 KiB = 1,024 bytes).
    * Device budgets are binary too (an "8 GiB" laptop GPU holds 8 * 1024**3 bytes).
    * Parameters include biases.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from lab05.validate import validate_count

# ---------------------------------------------------------------------------------------------
# Units and devices
# ---------------------------------------------------------------------------------------------
BYTES_PER_KIB = 1024
BYTES_PER_MIB = 1024**2
BYTES_PER_GIB = 1024**3
BYTES_FP32 = 4
BYTES_FP16 = 2
PRECISION_BYTES = {"fp32": BYTES_FP32, "fp16": BYTES_FP16}

#: Memory budgets of the four deployment targets, in bytes, largest first.
DEVICE_BUDGETS_BYTES = {
    "H100": 80 * BYTES_PER_GIB,
    "Laptop GPU": 8 * BYTES_PER_GIB,
    "Mobile GPU": 2 * BYTES_PER_GIB,
    "Microcontroller": 256 * BYTES_PER_KIB,
}
LAPTOP_GPU = "Laptop GPU"

#: Optimizer state kept per parameter, in values (not bytes).
OPTIMIZER_STATE_PER_PARAM = {"sgd": 0, "momentum": 1, "adam": 2}

#: The MNIST classifier of the chapter: widths of every layer, input first.
MNIST_LAYER_SIZES = (784, 128, 64, 10)
MNIST_BATCH_SIZE = 32
#: Batch sizes offered by the memory-ledger instrument.
BATCH_SIZE_CHOICES = (1, 8, 16, 32, 64, 128)
#: Hidden widths W explored by the width challenge ([784, W, W // 2, 10]).
WIDTH_CHALLENGE_RANGE = (64, 65536)

#: A typical per-core L1 data cache, and the chapter's latency figures (nanoseconds).
L1_CACHE_BYTES = 64 * BYTES_PER_KIB
L1_LATENCY_NS = 1
DRAM_LATENCY_NS = 100


class MemoryTier(NamedTuple):
    """One level of a typical machine's memory hierarchy.

    Attributes:
        name: the tier as shown.
        capacity_bytes: (smallest, largest) typical capacity in bytes; None for main memory, which
            holds whatever the caches do not.
        latency_ns: (low, high) typical time to answer, in nanoseconds.
    """

    name: str
    capacity_bytes: tuple[int, int] | None
    latency_ns: tuple[float, float]


#: The memory hierarchy of a typical machine, fastest first. L1 and main memory are the chapter's
#: figures (about 1 ns and 100 ns); L2 (per core) and L3 (shared) are typical ranges.
MEMORY_TIERS = (
    MemoryTier("L1 data cache", (L1_CACHE_BYTES, L1_CACHE_BYTES), (L1_LATENCY_NS, L1_LATENCY_NS)),
    MemoryTier("L2 cache", (BYTES_PER_MIB // 2, 2 * BYTES_PER_MIB), (3, 5)),
    MemoryTier("L3 cache", (8 * BYTES_PER_MIB, 64 * BYTES_PER_MIB), (10, 20)),
    MemoryTier("main memory (DRAM)", None, (DRAM_LATENCY_NS, DRAM_LATENCY_NS)),
)

#: Gradients below this are too small for learning to make progress (the chapter's line).
LEARNING_STALLS_BELOW = 1e-6

# ---------------------------------------------------------------------------------------------
# Act 1: the cost of activation functions in silicon
# ---------------------------------------------------------------------------------------------
#: Transistors per hardware activation unit, from the chapter (GELU is added below).
ACTIVATION_TRANSISTORS = {
    "relu": 50,
    "sigmoid": 2_500,
    "tanh": 2_500,
}

#: GELU is not in the chapter; this lab estimates its cost from the tanh form most frameworks use,
#: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))): a tanh unit (the chapter's figures)
#: plus the multiply-accumulates around it, listed here (the final 0.5 is a shift, free in hardware).
GELU_EXTRA_MACS = (
    "x * x",
    "0.044715 * x**2",
    "x + x * (0.044715 * x**2)",
    "sqrt(2 / pi) * (...)",
    "x + x * tanh(...)",
)
#: This lab's estimate of one multiply-accumulate unit: twice the chapter's ReLU unit (a comparator
#: and a multiplexer), and two cycles.
GELU_TRANSISTORS_PER_MAC = 100
GELU_CYCLES_PER_MAC = 2
ACTIVATION_TRANSISTORS["gelu"] = ACTIVATION_TRANSISTORS["tanh"] + len(GELU_EXTRA_MACS) * GELU_TRANSISTORS_PER_MAC

#: Dying ReLU: the share of a network's ReLU units that can end up dead (negative input for every
#: example, so zero output and zero gradient) in extreme cases, such as a too-large learning rate
#: (the chapter).
DYING_RELU_FRACTION = (0.10, 0.40)

_TANH_CYCLES = (20, 40)
#: Everything the cost comparator shows about each activation, with where each figure comes from.
ACTIVATION_PROFILES = {
    "relu": {
        "label": "ReLU",
        "cycles": (1, 1),
        "power_vs_relu": "1x",
        "source": "chapter",
        "note": (
            f"comparator + multiplexer; {DYING_RELU_FRACTION[0] * 100:.0f}-{DYING_RELU_FRACTION[1]:.0%} of units "
            "can die in extreme cases (zero output, zero gradient)"
        ),
    },
    "sigmoid": {
        "label": "Sigmoid",
        "cycles": (20, 40),
        "power_vs_relu": "10-100x",
        "source": "chapter",
        "note": "needs an exponential unit; saturates for large |x|",
    },
    "tanh": {
        "label": "Tanh",
        "cycles": _TANH_CYCLES,
        "power_vs_relu": "similar to sigmoid",
        "source": "chapter (cost similar to sigmoid)",
        "note": "zero-centred, but saturates like sigmoid",
    },
    "gelu": {
        "label": "GELU",
        "cycles": tuple(c + len(GELU_EXTRA_MACS) * GELU_CYCLES_PER_MAC for c in _TANH_CYCLES),
        "power_vs_relu": "estimate: similar to tanh",
        "source": "estimate (not in the chapter)",
        "note": "smooth; used by transformers; a tanh unit with arithmetic around it",
    },
}

#: Act 1 prediction options: what each letter claims the sigmoid/ReLU transistor ratio is.
ACT1_PREDICTION_OPTIONS = {
    "A": ("about the same (1-2x)", 1.5),
    "B": ("about 5x", 5.0),
    "C": ("about 20x", 20.0),
    "D": ("about 50x", 50.0),
}


def sigmoid(x):
    """Logistic sigmoid, numerically stable for any finite input.

    Computes 1 / (1 + e^-x) without ever exponentiating a large positive number: with
    z = e^-|x| (always in (0, 1]), sigmoid(x) = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0.

    Args:
        x: a real number or a NumPy array of them.

    Returns:
        A float for a scalar input, else an ndarray of the same shape.
    """
    x_arr = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x_arr))
    out = np.where(x_arr >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return float(out) if out.ndim == 0 else out


def relu(x):
    """max(0, x), elementwise; a float for a scalar input."""
    out = np.maximum(np.asarray(x, dtype=float), 0.0)
    return float(out) if out.ndim == 0 else out


def gelu(x):
    """GELU with the tanh approximation used by most frameworks; a float for a scalar input."""
    x_arr = np.asarray(x, dtype=float)
    out = 0.5 * x_arr * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x_arr + 0.044715 * x_arr**3)))
    return float(out) if out.ndim == 0 else out


def challenge_layer_sizes(width: int) -> list:
    """The width challenge's network: ``[784, W, W // 2, 10]``."""
    width = validate_count("width", width, minimum=2)
    return [MNIST_LAYER_SIZES[0], width, width // 2, MNIST_LAYER_SIZES[-1]]


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------
def fmt_bytes(n_bytes: float) -> str:
    """Format a byte count with a binary unit: ``fmt_bytes(1536) == '1.50 KiB'``."""
    n = float(n_bytes)
    for unit, size in (("GiB", BYTES_PER_GIB), ("MiB", BYTES_PER_MIB), ("KiB", BYTES_PER_KIB)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,.0f} B"


def to_kib(n_bytes: float) -> float:
    """Bytes to KiB."""
    return float(n_bytes) / BYTES_PER_KIB
