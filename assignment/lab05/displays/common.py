"""What every display shares: its constants and colours, the types displays return, checks of
what the student's functions return, number formatting and axes used by several figures.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from lab05.constants import (
    BYTES_PER_GIB,
    BYTES_PER_KIB,
    BYTES_PER_MIB,
    DEVICE_BUDGETS_BYTES,
    PRECISION_BYTES,
    challenge_layer_sizes,
    fmt_bytes,
    gelu,
    relu,
    sigmoid,
)
from lab05.validate import matching_option, validate_positive


class _LazyModule:
    """A module imported on first use: grading runs the notebook without drawing anything, and
    importing matplotlib would cost every graded submission most of a second."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


plt = _LazyModule("matplotlib.pyplot")
ticker = _LazyModule("matplotlib.ticker")
mpatches = _LazyModule("matplotlib.patches")

# ---------------------------------------------------------------------------------------------
# Constants of the displays (figures shown to students, not graded)
# ---------------------------------------------------------------------------------------------
#: FLOPs per multiply-accumulate: one multiply and one add.
FLOPS_PER_MAC = 2
#: The chapter's rule of thumb: the backward pass computes two matrix products per layer, each
#: the size of the forward product (the gradient for the weights and the gradient for the
#: layer's input), so it costs about twice the forward pass. The first layer's input is the data,
#: which needs no gradient: no framework computes that product (``backward_pass_flops``).
BACKWARD_PRODUCTS_PER_LAYER = 2
#: Hidden widths W of [784, W, W // 2, 10] at which the compute instrument prints the backward
#: pass's multiple of the forward pass (the chapter's W = 128 first).
BACKWARD_WIDTHS_PRINTED = (128, 1024, 4096, 32768)
#: FLOPs per parameter for one Adam update. This lab's estimate, not a chapter figure: two
#: moment updates, bias corrections, a square root, a division and the step itself.
ADAM_FLOPS_PER_PARAM = 10

#: The chapter's example network for the transistor tax: 1,000 neurons in each of 10 layers.
EXAMPLE_NEURONS_PER_LAYER = 1_000
EXAMPLE_NUM_LAYERS = 10
#: A prediction within this factor of the computed value is reported as spot on.
SPOT_ON_WITHIN = 1.25
#: The training/inference ratio the chapter quotes, explained by act2_reveal.
CHAPTER_QUOTED_RATIO = 4.3

#: Inputs over which the activation curves are drawn.
CURVE_X_RANGE = (-6.0, 6.0)
CURVE_POINTS = 1_201
#: A derivative below this blocks the gradient for practical purposes; shaded in the curves.
FLAT_DERIVATIVE_BELOW = 0.01
#: Depths shown by the gradient-decay figure (1 .. this), and the depths the math peek prints.
MAX_DEPTH_SHOWN = 20
PEEK_DEPTHS = (9, 10, 20)
#: Input at which the gradient-decay figure evaluates both saturated slopes (sigmoid' and tanh'),
#: beside their best case at x = 0: like is compared with like.
SATURATED_INPUT = 2.0
#: The dying-ReLU instrument: a toy first layer of the chapter's network (its widths), He-initialised,
#: fed a seeded batch of inputs in [0, 1) (pixel intensities), its biases pushed down by a shift
#: measured in standard deviations of the pre-activations (a too-large update).
DYING_RELU_BATCH = 256
DYING_RELU_SHIFTS = tuple(round(0.05 * k, 2) for k in range(61))  # 0, 0.05, ..., 3 spreads
DYING_RELU_SEED = 5

#: Hidden widths W of the width challenge's networks that the memory hierarchy places beside the
#: chapter's network.
HIERARCHY_WIDTHS = (1024, 4096)

#: The closing "measure" section: seeds of the NumPy networks it trains.
MEASURE_SEED = 0
#: The deep stacks of the closing section: width of every layer, examples per batch, SGD steps and
#: learning rate. Their weights are orthogonal (largest stretch 1, so each sigmoid layer passes back
#: at most max sigmoid' of the gradient); ReLU's are scaled by sqrt(2) (He), as usual for ReLU.
STACK_WIDTH = 32
STACK_BATCH = 256
STACK_STEPS = 60
STACK_LEARNING_RATE = 0.02
#: A loss that changes by less than this share over the steps is reported as flat.
FLAT_LOSS_BELOW = 0.01

#: Segments of the memory ledger's selected bar smaller than this share carry no label.
MIX_LABEL_MIN_SHARE = 0.04
#: Pie wedges smaller than this share carry no label (their share is listed under the pie).
PIE_LABEL_MIN_SHARE = 0.06
#: Points on the width challenge's W axis.
WIDTH_POINTS = 60
#: Batch sizes of the batch-scaling figure: 1, 2, 4, ..., 8192.
SCALING_BATCHES = tuple(2**k for k in range(14))
#: The wide network of the batch-scaling figure: challenge_layer_sizes(this).
SCALING_WIDE_WIDTH = 4096
#: The batch-scaling figure reports the first batch whose doubling ratio exceeds this.
NEAR_DOUBLING_RATIO = 1.9

#: Okabe-Ito colours, distinguishable with the common forms of colour blindness.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
ALARM_COLOUR = OKABE_ITO["vermillion"]
#: Colours of the four training-memory components (the keys of training_memory's dict).
COMPONENT_COLOURS = {
    "weights": OKABE_ITO["blue"],
    "gradients": OKABE_ITO["sky_blue"],
    "optimizer": OKABE_ITO["green"],
    "activations": OKABE_ITO["orange"],
}
COMPONENT_LABELS = {
    "weights": "weights",
    "gradients": "gradients",
    "optimizer": "optimizer state",
    "activations": "activations",
}
MEMORY_COMPONENTS = tuple(COMPONENT_COLOURS)
#: Budget-line colours (Paul Tol's muted scheme: dark, distinct from the component colours).
DEVICE_COLOURS = {
    "H100": "#882255",
    "Laptop GPU": "#332288",
    "Mobile GPU": "#117733",
    "Microcontroller": "#999933",
}
ACTIVATION_COLOURS = {
    "relu": OKABE_ITO["orange"],
    "sigmoid": OKABE_ITO["blue"],
    "tanh": OKABE_ITO["green"],
    "gelu": OKABE_ITO["purple"],
}
#: The activation functions drawn by the comparator (all provided, none written by students).
ACTIVATION_CURVES = {"relu": relu, "sigmoid": sigmoid, "tanh": np.tanh, "gelu": gelu}


# ---------------------------------------------------------------------------------------------
# What the displays return, and checks of what the student's functions return
# ---------------------------------------------------------------------------------------------
class PrintedDict(dict):
    """A dict of numbers that were just printed: it shows nothing more in a notebook."""

    def _ipython_display_(self):
        pass


class PrintedList(list):
    """A list of rows that were just printed: it shows nothing more in a notebook."""

    def _ipython_display_(self):
        pass


def _finish(fig):
    """Detach ``fig`` from pyplot (so Jupyter shows it once, as the result) and return it."""
    plt.close(fig)
    return fig


def _number(value: Any, what: str):
    """``value`` (NumPy scalars as Python numbers) if it is a finite real number.

    Raises:
        TypeError: naming ``what`` (the student's call) and the value it returned.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{what} returned {value!r}; expected a finite number")
    return value.item() if isinstance(value, np.generic) else value


def _memory(training_memory: Callable, *args) -> dict:
    """Call the student's ``training_memory`` and check it returned the five byte counts."""
    result = training_memory(*args)
    shown = ", ".join(repr(a) for a in args)
    if not isinstance(result, Mapping):
        raise TypeError(
            f"training_memory({shown}) returned {result!r}; expected a dict with the keys "
            f"{list(MEMORY_COMPONENTS) + ['total']}"
        )
    out = {}
    for key in MEMORY_COMPONENTS + ("total",):
        if key not in result:
            raise TypeError(f"training_memory({shown}) returned a dict without the key {key!r}")
        out[key] = _number(result[key], f"training_memory({shown})[{key!r}]")
    return out


def _validate_device(device: Any) -> str:
    """The key of DEVICE_BUDGETS_BYTES that ``device`` names (case-insensitive).

    Raises:
        ValueError: naming every accepted device.
    """
    name = matching_option(device, DEVICE_BUDGETS_BYTES)
    if name is not None:
        return name
    raise ValueError(f"unknown device {device!r}: expected one of {list(DEVICE_BUDGETS_BYTES)}")


def _validate_bytes_per_value(value: Any) -> float:
    """``value`` if it is a positive number of bytes, else a ValueError naming the usual ones."""
    usual = ", ".join(f"{name.upper()} = {size}" for name, size in PRECISION_BYTES.items())
    try:
        return validate_positive("bytes_per_value", value)
    except ValueError:
        raise ValueError(f"bytes_per_value must be a positive number of bytes ({usual}), got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Formatting: numbers and labels as the displays show them
# ---------------------------------------------------------------------------------------------
def _precision_name(bytes_per_value: float) -> str:
    """'FP32' for 4 bytes, 'FP16' for 2, else 'N bytes/value'."""
    for name, size in PRECISION_BYTES.items():
        if bytes_per_value == size:
            return name.upper()
    return f"{bytes_per_value:g} bytes/value"


def _sci(value: float, digits: int = 3) -> str:
    """Scientific notation without padded exponents: 9.54e-7, 1e-6."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _slope_text(value: float) -> str:
    """A per-layer factor as a simple fraction when it is one (1/4), else 3 significant digits."""
    fraction = Fraction(value).limit_denominator(16)
    if fraction.denominator > 1 and math.isclose(float(fraction), value, rel_tol=1e-9):
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:.3g}"


def _percent(share: float) -> str:
    """A share as '91.9%', or '<0.1%' when it would round to zero."""
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def _cycles_text(low: int, high: int) -> str:
    """A range of cycles as '1' or '10-20'."""
    return f"{low}" if low == high else f"{low}-{high}"


class Miss(NamedTuple):
    """How far a prediction landed from the computed value."""

    factor: float  # at least 1: the larger of predicted/actual and actual/predicted
    spot_on: bool  # within SPOT_ON_WITHIN of the computed value
    direction: str  # "too low" or "too high"


def prediction_miss(predicted: float, actual: float) -> Miss:
    """The verdict on a prediction (both values positive): by what factor it missed, and which way."""
    factor = max(predicted / actual, actual / predicted)
    return Miss(factor, factor < SPOT_ON_WITHIN, "too low" if predicted < actual else "too high")


def _times(value: float) -> str:
    """A ratio as '2.5x', '50x', '33.3x'."""
    return f"{value:.3g}x"


def _budget_label(device: str) -> str:
    """'Laptop GPU budget (8.00 GiB)'."""
    return f"{device} budget ({fmt_bytes(DEVICE_BUDGETS_BYTES[device])})"


def _challenge_shape() -> str:
    """The width challenge's network in words: '784 → W → W // 2 → 10'."""
    sizes = challenge_layer_sizes(2)
    return f"{sizes[0]} → W → W // 2 → {sizes[-1]}"


def _prediction_letter(prediction: Any) -> str:
    """A prediction as its option's letter: ' c' -> 'C'."""
    return prediction.strip().upper()


# ---------------------------------------------------------------------------------------------
# Axes and lines shared by several figures
# ---------------------------------------------------------------------------------------------
def _byte_tick(value: float, _pos=None) -> str:
    """Tick label in binary units, from fmt_bytes without trailing '.00' (e.g. '32 KiB')."""
    return fmt_bytes(value).replace(".00 ", " ")


def _binary_log_axis(axis, low: float, high: float) -> None:
    """Put byte ticks at powers of two (at most nine of them) on an already log-scaled axis."""
    first, last = math.floor(math.log2(low)), math.ceil(math.log2(high))
    for step in (1, 2, 5, 10, 20):
        exponents = [e for e in range(first, last + 1) if e % step == 0]
        if len(exponents) <= 9:
            break
    axis.set_major_locator(ticker.FixedLocator([2.0**e for e in exponents]))
    axis.set_minor_locator(ticker.NullLocator())
    axis.set_major_formatter(ticker.FuncFormatter(_byte_tick))


def _binary_linear_axis(axis, high: float) -> None:
    """Byte ticks at round numbers of one binary unit (0, 0.5, 1, 1.5 MiB ...) on a linear axis."""
    unit, name = 1, "B"
    for size, label in ((BYTES_PER_GIB, "GiB"), (BYTES_PER_MIB, "MiB"), (BYTES_PER_KIB, "KiB")):
        if high >= size:
            unit, name = size, label
            break
    ticks = ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0, high / unit)
    axis.set_major_locator(ticker.FixedLocator([t * unit for t in ticks if 0 <= t * unit <= high]))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v / unit:g} {name}" if v else "0"))


def _draw_budget_lines(ax, selected: str | None = None) -> list:
    """One labelled horizontal line per device budget; the selected device's line is bold."""
    lines = []
    for device, budget in DEVICE_BUDGETS_BYTES.items():
        bold = device == selected
        lines.append(
            ax.axhline(
                budget,
                color=DEVICE_COLOURS.get(device, OKABE_ITO["black"]),
                linestyle="-" if bold else "--",
                linewidth=2.8 if bold else 1.3,
                label=_budget_label(device),
                zorder=4 if bold else 3,
            )
        )
    return lines
