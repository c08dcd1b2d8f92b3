"""The closing section's displays: measure, don't only compute.

Two small NumPy experiments set what the lab computed against arrays that really exist:

* :func:`measured_training_step` trains the chapter's network for one Adam step in FP32 and
  counts the bytes (``nbytes``) of the arrays the step keeps: the weights, their gradients,
  Adam's two moments and the activations kept for the backward pass. The student's own
  ``training_memory`` is set beside each count.
* :func:`depth_experiment` trains a deep sigmoid stack and a deep ReLU stack side by side for a few
  steps: the sigmoid stack's loss stays flat without any error, and the gradient reaching each of
  its layers sits under the student's ``gradient_bound``.

:func:`weights_anchor` (Act 2's prediction) builds the same network's weights and prints their size.
Everything is seeded, runs in well under a second and needs nothing beyond NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from lab05.constants import BYTES_FP32, BYTES_PER_KIB, LEARNING_STALLS_BELOW, MNIST_BATCH_SIZE, MNIST_LAYER_SIZES
from lab05.constants import sigmoid as stable_sigmoid
from lab05.displays.common import (
    COMPONENT_COLOURS,
    COMPONENT_LABELS,
    FLAT_LOSS_BELOW,
    MEASURE_SEED,
    MEMORY_COMPONENTS,
    OKABE_ITO,
    STACK_BATCH,
    STACK_LEARNING_RATE,
    STACK_STEPS,
    STACK_WIDTH,
    PrintedDict,
    _binary_linear_axis,
    _finish,
    _memory,
    _number,
    _sci,
    plt,
)
from lab05.guards import display_guard
from lab05.validate import validate_count, validate_layer_sizes

#: NumPy's type for each number of bytes per value the measurement can use.
DTYPES = {BYTES_FP32: np.float32, 2: np.float16}
#: Adam's settings (PyTorch's defaults).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
ADAM_LEARNING_RATE = 1e-3


# ---------------------------------------------------------------------------------------------
# A fully connected network in NumPy
# ---------------------------------------------------------------------------------------------
def build_parameters(layer_sizes: Sequence[int], rng: np.random.Generator, dtype=np.float32) -> list[np.ndarray]:
    """The weights and biases of a fully connected network: [W1, b1, W2, b2, ...].

    Each W has shape (n_in, n_out), He-initialised (normal, variance 2 / n_in); each b is zeros
    of shape (n_out,).
    """
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        params.append(rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(dtype))
        params.append(np.zeros(n_out, dtype=dtype))
    return params


def _nbytes(arrays) -> int:
    return int(sum(a.nbytes for a in arrays))


def _softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``logits`` against integer ``labels``, and its gradient on the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(-np.mean(np.log(probs[rows, labels])))
    probs[rows, labels] -= 1.0
    return loss, probs / len(labels)


@display_guard
def weights_anchor(layer_sizes: Sequence[int] = MNIST_LAYER_SIZES):
    """Print the size of a network's weights and biases as FP32 NumPy arrays: Act 2's anchor.

    The size is rounded to whole KiB: an anchor for a prediction, not an answer to check a
    function against.

    Args:
        layer_sizes: widths of every layer, input first.

    Returns:
        dict: ``weights_kib``, the rounded size (KiB).
    """
    sizes = validate_layer_sizes(layer_sizes)
    params = build_parameters(sizes, np.random.default_rng(MEASURE_SEED))
    kib = round(_nbytes(params) / BYTES_PER_KIB)
    print(
        f"The weights and biases of {' → '.join(map(str, sizes))}, built as FP32 NumPy arrays, take about "
        f"{kib:,} KiB (the sum of their nbytes)."
    )
    return PrintedDict(weights_kib=kib)


# ---------------------------------------------------------------------------------------------
# One Adam step of the chapter's network, its arrays counted
# ---------------------------------------------------------------------------------------------
class MeasuredStep(NamedTuple):
    """One training step of a real network, its arrays counted: built by ``measured_training_step``.

    Attributes:
        layer_sizes: widths of every layer, input first.
        batch_size: examples in the step.
        measured: bytes of the arrays held for each of MEMORY_COMPONENTS ("weights", "gradients",
            "optimizer": Adam's two moments, "activations": kept by the forward pass for the
            backward pass), and "total".
        model: the student's training_memory for the same network, batch, FP32 and Adam.
        kept_for_backward: the name and shape of every array the forward pass kept.
        transient_bytes: the largest the backward pass's own temporary arrays got at once (bytes):
            freed as it goes, so no part of the ledger.
        loss_before: the batch's cross-entropy before the step.
        loss_after: the same after the step.
    """

    layer_sizes: tuple[int, ...]
    batch_size: int
    measured: dict
    model: dict
    kept_for_backward: tuple[tuple[str, tuple[int, ...]], ...]
    transient_bytes: int
    loss_before: float
    loss_after: float

    @property
    def differences(self) -> dict:
        """Measured minus modelled bytes, for each component and the total."""
        return {key: self.measured[key] - self.model[key] for key in self.measured}


def _relu_forward(params: list[np.ndarray], inputs: np.ndarray) -> list[np.ndarray]:
    """The forward pass of a ReLU network (a linear output layer): its input and every layer's output."""
    layers = len(params) // 2
    kept = [inputs]
    for i in range(layers):
        out = kept[-1] @ params[2 * i] + params[2 * i + 1]
        kept.append(np.maximum(out, 0) if i < layers - 1 else out)
    return kept


def _relu_backward(params: list[np.ndarray], kept: list[np.ndarray], labels: np.ndarray) -> tuple[float, list, int]:
    """The backward pass from the softmax cross-entropy of the logits ``kept[-1]``.

    Returns:
        The loss, the gradient of every parameter (as ``params``), and the most bytes the
        gradients flowing between layers held at once.
    """
    layers = len(params) // 2
    loss, grad = _softmax_cross_entropy(kept[-1], labels)
    grads: list = [None] * len(params)
    transient = grad.nbytes
    for i in reversed(range(layers)):
        grads[2 * i] = kept[i].T @ grad
        grads[2 * i + 1] = grad.sum(axis=0)
        if i == 0:
            break  # the first layer's input is the data: its gradient is never computed
        grad_in = grad @ params[2 * i].T
        grad_in *= kept[i] > 0  # ReLU's derivative, read from its output
        transient = max(transient, grad.nbytes + grad_in.nbytes)
        grad = grad_in
    return loss, grads, transient


def _adam_update(params: list[np.ndarray], grads: list[np.ndarray], moments: tuple[list, list]) -> None:
    """One Adam step (bias-corrected for the first step), in place on ``params`` and ``moments``."""
    (beta1, beta2), (first, second) = ADAM_BETAS, moments
    for p, g, m, v in zip(params, grads, first, second):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= ADAM_LEARNING_RATE * (m / (1 - beta1)) / (np.sqrt(v / (1 - beta2)) + ADAM_EPSILON)


def measured_training_step(
    training_memory: Callable,
    layer_sizes: Sequence[int] = MNIST_LAYER_SIZES,
    batch_size: int = MNIST_BATCH_SIZE,
    seed: int = MEASURE_SEED,
) -> MeasuredStep:
    """Train a ReLU network for one Adam step in FP32 and count the bytes it holds.

    The batch is seeded random inputs in [0, 1) with random labels; the forward pass keeps the
    input and the output of every layer (ReLU's derivative is read from its output, the softmax's
    from the logits), which is what the backward pass needs.

    Args:
        training_memory: the student's training_memory(layer_sizes, batch_size, bytes_per_value,
            optimizer).
        layer_sizes: widths of every layer, input first.
        batch_size: examples in the step (>= 1).
        seed: seeds the weights and the batch.

    Returns:
        MeasuredStep.

    Raises:
        ValueError: for invalid layer sizes or batch size.
        TypeError: for a training_memory that does not return the five byte counts.
    """
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    model = _memory(training_memory, sizes, batch_size, BYTES_FP32, "adam")
    dtype = DTYPES[BYTES_FP32]
    rng = np.random.default_rng(seed)
    params = build_parameters(sizes, rng, dtype)
    moments = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    inputs = rng.random((batch_size, sizes[0]), dtype=dtype)
    labels = rng.integers(0, sizes[-1], size=batch_size)
    with np.errstate(all="raise"):
        kept = _relu_forward(params, inputs)
        loss_before, grads, transient = _relu_backward(params, kept, labels)
        _adam_update(params, grads, moments)
        loss_after, _ = _softmax_cross_entropy(_relu_forward(params, inputs)[-1], labels)
    first, second = moments

    layers = len(sizes) - 1
    names = ["input"] + [f"layer {i} output" for i in range(1, layers)] + ["logits (output layer)"]
    measured = {
        "weights": _nbytes(params),
        "gradients": _nbytes(grads),
        "optimizer": _nbytes(first) + _nbytes(second),
        "activations": _nbytes(kept),
    }
    measured["total"] = sum(measured.values())
    return MeasuredStep(
        layer_sizes=tuple(sizes),
        batch_size=batch_size,
        measured=measured,
        model=model,
        kept_for_backward=tuple((name, a.shape) for name, a in zip(names, kept)),
        transient_bytes=int(transient),
        loss_before=loss_before,
        loss_after=loss_after,
    )


def draw_measured_training_step(step: MeasuredStep):
    """Draw measured bytes beside the student's model, component by component, then print both.

    Args:
        step: from ``measured_training_step``.

    Returns:
        matplotlib.figure.Figure.
    """
    keys = list(MEMORY_COMPONENTS) + ["total"]
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(11, 5), layout="constrained")
    colours = [COMPONENT_COLOURS.get(k, "0.45") for k in keys]
    ax.bar(x - 0.2, [step.measured[k] for k in keys], width=0.38, color=colours, edgecolor="black", label="measured")
    ax.bar(
        x + 0.2,
        [step.model[k] for k in keys],
        width=0.38,
        color="white",
        edgecolor=colours,
        hatch="//",
        linewidth=1.5,
        label="your training_memory",
    )
    top = max(max(step.measured.values()), max(step.model.values()))
    _binary_linear_axis(ax.yaxis, top * 1.15)
    ax.set_ylim(0, top * 1.15)
    ax.set_xticks(x, [COMPONENT_LABELS.get(k, k) for k in keys])
    ax.set_xlabel("what the training step holds")
    ax.set_ylabel("bytes (linear scale)")
    network = " → ".join(map(str, step.layer_sizes))
    ax.set_title(f"One Adam step of {network}, batch {step.batch_size}, FP32: arrays counted against your model")
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(True, axis="y", alpha=0.25)

    print(f"One Adam step of {network} at batch {step.batch_size} in FP32, every array counted with nbytes:")
    print(f"  {'':<18}{'measured':>14}{'your model':>14}{'difference':>12}")
    for key in keys:
        label = COMPONENT_LABELS.get(key, key)
        diff = step.differences[key]
        print(f"  {label:<18}{step.measured[key]:>12,.0f} B{step.model[key]:>12,.0f} B{diff:>+10,.0f} B")
    kept = ", ".join(f"{name} {shape[0]}x{shape[1]}" for name, shape in step.kept_for_backward)
    print(f"Kept by the forward pass for the backward pass: {kept}.")
    print(
        f"Not in the ledger: the backward pass's temporary gradients, at most {step.transient_bytes:,} B at once, "
        f"freed as it goes (and layer 1's input gradient, never computed)."
    )
    print(f"The step ran without an error: loss {step.loss_before:.4f} before it, {step.loss_after:.4f} after.")
    if all(value == 0 for value in step.differences.values()):
        print("Your training_memory matches the arrays byte for byte.")
    else:
        print("Where the difference is not 0, your model and the arrays disagree: look at that component.")
    return _finish(fig)


@display_guard
def measured_training_step_figure(
    training_memory: Callable,
    layer_sizes: Sequence[int] = MNIST_LAYER_SIZES,
    batch_size: int = MNIST_BATCH_SIZE,
):
    """One Adam step of a real NumPy network: its arrays' bytes beside the student's training_memory.

    Args:
        training_memory: the student's training_memory.
        layer_sizes: widths of every layer, input first.
        batch_size: examples in the step (>= 1).

    Returns:
        matplotlib.figure.Figure.
    """
    return draw_measured_training_step(measured_training_step(training_memory, layer_sizes, batch_size))


# ---------------------------------------------------------------------------------------------
# A deep sigmoid stack against a deep ReLU stack
# ---------------------------------------------------------------------------------------------
class StackRun(NamedTuple):
    """A few SGD steps of one deep stack.

    Attributes:
        activation: "sigmoid" or "relu".
        losses: the mean squared error before each step.
        gradient_ratios: at the first step, the gradient reaching the input of the layer k layers
            below the top, over the gradient leaving the top of the stack, for k = 1 .. depth.
        largest_stretch: the largest spectral norm (stretch) of the stack's weight matrices at the
            first step.
    """

    activation: str
    losses: np.ndarray
    gradient_ratios: np.ndarray
    largest_stretch: float

    @property
    def loss_change(self) -> float:
        """The loss after the last step relative to before the first, minus 1 (-0.25: 25% lower)."""
        return float(self.losses[-1] / self.losses[0] - 1)


def train_stack(activation: str, depth: int, seed: int = MEASURE_SEED) -> StackRun:
    """Train a stack of ``depth`` square layers and a linear head with SGD on a seeded regression.

    The inputs are standard normal, STACK_WIDTH wide; the target is a fixed random linear function of
    them. Every layer is orthogonal (sigmoid) or orthogonal times sqrt(2) (ReLU, He's scale); the
    head's bias starts at the average target, so both stacks start from the best constant guess.
    Runs under ``np.errstate(all="raise")``: an overflow or a NaN would raise, not pass silently.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(STACK_BATCH, STACK_WIDTH))
    targets = inputs @ (rng.normal(size=(STACK_WIDTH, 1)) / math.sqrt(STACK_WIDTH))
    gain = math.sqrt(2.0) if activation == "relu" else 1.0
    weights = [gain * np.linalg.qr(rng.normal(size=(STACK_WIDTH, STACK_WIDTH)))[0] for _ in range(depth)]
    biases = [np.zeros(STACK_WIDTH) for _ in range(depth)]
    head = rng.normal(size=(STACK_WIDTH, 1)) / math.sqrt(STACK_WIDTH)
    head_bias = None
    stretch = max(float(np.linalg.norm(w, 2)) for w in weights)
    losses, ratios = [], None
    with np.errstate(all="raise"):
        for _ in range(STACK_STEPS):
            outs, pres = [inputs], []
            for w, b in zip(weights, biases):
                pres.append(outs[-1] @ w + b)
                outs.append(stable_sigmoid(pres[-1]) if activation == "sigmoid" else np.maximum(pres[-1], 0.0))
            if head_bias is None:
                head_bias = targets.mean(axis=0) - (outs[-1] @ head).mean(axis=0)
            error = outs[-1] @ head + head_bias - targets
            losses.append(float(np.mean(error**2)))
            grad_out = 2.0 * error / STACK_BATCH
            grad = grad_out @ head.T  # the gradient leaving the top of the stack
            top = float(np.linalg.norm(grad))
            norms = []
            grad_w, grad_b = [None] * depth, [None] * depth
            for i in reversed(range(depth)):
                if activation == "sigmoid":
                    s = outs[i + 1]
                    grad_pre = grad * s * (1.0 - s)
                else:
                    grad_pre = grad * (pres[i] > 0)
                grad_w[i], grad_b[i] = outs[i].T @ grad_pre, grad_pre.sum(axis=0)
                grad = grad_pre @ weights[i].T
                norms.append(float(np.linalg.norm(grad)) / top)
            if ratios is None:
                ratios = np.array(norms)
            for i in range(depth):
                weights[i] -= STACK_LEARNING_RATE * grad_w[i]
                biases[i] -= STACK_LEARNING_RATE * grad_b[i]
            head -= STACK_LEARNING_RATE * (outs[-1].T @ grad_out)
            head_bias -= STACK_LEARNING_RATE * grad_out.sum(axis=0)
    return StackRun(activation, np.array(losses), ratios, stretch)


class DepthExperiment(NamedTuple):
    """A deep sigmoid stack against a deep ReLU stack: built by ``depth_experiment``.

    Attributes:
        depth: layers in each stack (the student's stall_depth in the notebook).
        max_slope: the per-layer factor of the bound (sigmoid's largest slope, 1/4).
        bound: the student's gradient_bound(k, max_slope) for k = 1 .. depth.
        sigmoid: the sigmoid stack's run.
        relu: the ReLU stack's run.
    """

    depth: int
    max_slope: float
    bound: np.ndarray
    sigmoid: StackRun
    relu: StackRun

    @property
    def under_bound(self) -> bool:
        """Whether every sigmoid layer's gradient ratio is at most the bound."""
        return bool(np.all(self.sigmoid.gradient_ratios <= self.bound))


def depth_experiment(gradient_bound: Callable, depth: int, max_slope: float = 0.25) -> DepthExperiment:
    """Train the two stacks and set the sigmoid stack's gradients against the student's bound.

    Args:
        gradient_bound: the student's gradient_bound(depth, max_derivative).
        depth: layers in each stack (>= 1).
        max_slope: the per-layer factor of the bound (sigmoid's largest slope).

    Returns:
        DepthExperiment.

    Raises:
        ValueError: for a depth that is not a whole number >= 1.
        TypeError: for a gradient_bound that does not return one number per depth.
    """
    depth = validate_count("depth", depth)
    ks = np.arange(1, depth + 1)
    bound = np.array([_number(gradient_bound(int(k), max_slope), f"gradient_bound({k}, {max_slope:g})") for k in ks])
    return DepthExperiment(
        depth=depth,
        max_slope=max_slope,
        bound=bound,
        sigmoid=train_stack("sigmoid", depth),
        relu=train_stack("relu", depth),
    )


def draw_depth_experiment(experiment: DepthExperiment):
    """Draw both stacks' losses and their gradients layer by layer, then print the verdicts.

    Args:
        experiment: from ``depth_experiment``.

    Returns:
        matplotlib.figure.Figure whose axes are [losses, gradient ratios].
    """
    e = experiment
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    steps = np.arange(len(e.sigmoid.losses))
    runs = ((e.sigmoid, OKABE_ITO["blue"], "sigmoid"), (e.relu, OKABE_ITO["orange"], "ReLU"))
    for run, colour, name in runs:
        ax_loss.plot(steps, run.losses, color=colour, linewidth=2.3, label=f"{e.depth} {name} layers")
    ax_loss.set_xlabel("SGD step")
    ax_loss.set_ylabel("loss (mean squared error)")
    ax_loss.set_title("The sigmoid stack's loss stays flat, with no error")
    ax_loss.legend(fontsize=9)
    ax_loss.grid(True, alpha=0.25)

    ks = np.arange(1, e.depth + 1)
    ax_grad.set_yscale("log")
    for run, colour, name in runs:
        ax_grad.plot(ks, run.gradient_ratios, "o-", color=colour, linewidth=2, label=f"{name} stack, measured")
    ax_grad.plot(
        ks, e.bound, "--", color=OKABE_ITO["black"], linewidth=1.6, label=f"your gradient_bound(k, {e.max_slope:g})"
    )
    ax_grad.axhline(LEARNING_STALLS_BELOW, color=OKABE_ITO["vermillion"], linestyle=":", label="learning stalls")
    ax_grad.set_xlabel("layers below the top of the stack, k")
    ax_grad.set_ylabel("gradient reaching that layer / gradient at the top")
    ax_grad.set_title("Measured at the first step: sigmoid sits under the bound")
    ax_grad.legend(fontsize=9)
    ax_grad.grid(True, alpha=0.25)

    print(
        f"Two stacks of {e.depth} layers ({STACK_WIDTH} wide), {STACK_STEPS} SGD steps each on the same seeded data; "
        f"no exception, overflow or NaN in either:"
    )
    for run, _colour, name in runs:
        change = run.loss_change
        verdict = (
            "flat" if abs(change) < FLAT_LOSS_BELOW else f"{abs(change):.0%} {'lower' if change < 0 else 'higher'}"
        )
        print(f"  {name:<8} loss {run.losses[0]:.4f} → {run.losses[-1]:.4f} ({verdict})")
    deepest = e.sigmoid.gradient_ratios[-1]
    print(
        f"At the first step the gradient reaching the sigmoid stack's bottom layer is {_sci(deepest)} of the one at "
        f"its top; your bound for {e.depth} layers is {_sci(e.bound[-1])}."
    )
    verdict = (
        "every layer sits under the bound" if e.under_bound else "some layer is above the bound: check gradient_bound"
    )
    print(
        f"Layer by layer, {verdict} (the weights are orthogonal, largest stretch {e.sigmoid.largest_stretch:.3f}, so "
        f"only the activations' slopes shrink the gradient). The ReLU stack passes "
        f"{_sci(e.relu.gradient_ratios[-1])} of it to its bottom layer."
    )
    return _finish(fig)


@display_guard
def depth_experiment_figure(gradient_bound: Callable, stall_depth: Callable):
    """A deep sigmoid stack against a deep ReLU stack, as deep as the student's stall_depth.

    Args:
        gradient_bound: the student's gradient_bound(depth, max_derivative).
        stall_depth: the student's stall_depth(threshold, max_derivative): the stacks' depth.

    Returns:
        matplotlib.figure.Figure.
    """
    depth = stall_depth(LEARNING_STALLS_BELOW)
    if depth is None:
        raise ValueError(f"stall_depth({_sci(LEARNING_STALLS_BELOW)}) returned None; expected a depth for sigmoid")
    return draw_depth_experiment(depth_experiment(gradient_bound, int(_number(depth, "stall_depth"))))
