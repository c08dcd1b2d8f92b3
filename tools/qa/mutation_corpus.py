"""The mutation corpus of Lab 05: mistakes students really make, and correct answers written differently.

Each entry is data: a name, the question whose score must drop (``None`` for a correct variant,
which must keep full marks on every question), how to inject it into the solution notebook, and
a phrase the question's failure output must contain (so the message names the behaviour that was
wrong, not just "wrong"). Where the hidden tests recognise the mistake, ``mistake`` is the id
(``MISTAKES`` in assignment/lab05_autograder/hidden/mistakes.py) the question's output must carry as
``[mistake: <id>]``, for the mistakes report.

How an entry is injected (tools/qa/mutation_runner.py, ``inject``), exactly one of:

* ``edit=(old, new)``: in the solution's function ``function``, the text ``old`` (found exactly
  once) becomes ``new``: a one-line slip in otherwise reference code;
* ``source`` with ``function``: the function is replaced by ``source`` (functions ``source``
  defines that the notebook also defines replace theirs; helper functions travel along);
* ``source`` with ``cell``: the first code cell containing ``cell`` is replaced by ``source``,
  where ``{cell}`` stands for that cell's original code;
* ``variables``: each ``name = expression`` is appended to the cell that assigns ``name``.

Two tiers, both graded by ``make mutants`` (``python -m tools.qa.mutation_runner``):

* ``CORPUS`` (``MUTANTS`` + ``VARIANTS``): graded by ``tests/test_mutants.py`` on every test run;
  sized to grade in a few minutes on 2 cores (one submission costs about 5 s of CPU);
* ``MORE_MUTANTS`` + ``MORE_VARIANTS``: more of the same, graded with ``--extended``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEDGER_CELL = "design_ledger = record_design("


@dataclass(frozen=True)
class Mutant:
    name: str
    question: str | None  # the question that must lose points; None: a correct variant (full marks)
    says: str = ""  # a phrase the question's output must contain when the mutant is caught
    mistake: str | None = None  # the id of the mistake the question's output must name, if the tests name it
    function: str | None = None
    edit: tuple[str, str] | None = None
    source: str | None = None
    cell: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    loops: bool = False  # never returns for some input: costs time limits when graded

    @property
    def correct(self) -> bool:
        return self.question is None

    @property
    def subject(self) -> str:
        """What a failure message must name: the function, the variable, or the ledger."""
        if self.function:
            return self.function
        if self.cell == LEDGER_CELL or self.question == "design_ledger":
            return "ledger"
        return next(iter(self.variables), "")


def M(name: str, question: str, says: str, **how) -> Mutant:
    """A mutant: ``question`` must lose points, and its output must contain ``says``."""
    return Mutant(name, question, says, **how)


def OK(name: str, **how) -> Mutant:
    """A correct variant: every question keeps full marks."""
    return Mutant(name, None, "", **how)


# =============================================================================================
# Mutants: plausible wrong answers (graded on every test run)
# =============================================================================================
MUTANTS = [
    # --- transistor_tax: transistor_tax, extra_transistors ----------------------------------
    M(
        "tax_ratio_inverted",
        "transistor_tax",
        "inverted",
        mistake="tax-ratio-inverted",
        function="transistor_tax",
        edit=(
            "ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS[baseline]",
            "ACTIVATION_TRANSISTORS[baseline] / ACTIVATION_TRANSISTORS[activation]",
        ),
    ),
    M(
        "tax_baseline_ignored",
        "transistor_tax",
        "baseline argument seems to be ignored",
        mistake="tax-baseline-ignored",
        function="transistor_tax",
        edit=("/ ACTIVATION_TRANSISTORS[baseline]", '/ ACTIVATION_TRANSISTORS["relu"]'),
    ),
    M(
        "tax_integer_division",
        "transistor_tax",
        "integer division",
        mistake="tax-integer-division",
        function="transistor_tax",
        edit=(
            "ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS",
            "ACTIVATION_TRANSISTORS[activation] // ACTIVATION_TRANSISTORS",
        ),
    ),
    M(
        "tax_returns_string",
        "transistor_tax",
        "expected a number",
        function="transistor_tax",
        edit=(
            "return ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS[baseline]",
            'return f"{ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS[baseline]:g}x"',
        ),
    ),
    M(
        "tax_loops_on_fractional_ratio",
        "transistor_tax",
        "did not return within",
        loops=True,
        function="transistor_tax",
        edit=(
            "return ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS[baseline]",
            "ratio = 1  # count up until ratio * baseline reaches the activation\n"
            "    while ratio * ACTIVATION_TRANSISTORS[baseline] != ACTIVATION_TRANSISTORS[activation]:\n"
            "        ratio += 1\n"
            "    return ratio",
        ),
    ),
    M(
        "extra_one_layer_only",
        "transistor_tax",
        "every layer",
        mistake="extra-one-layer-only",
        function="extra_transistors",
        edit=("units = neurons_per_layer * num_layers", "units = neurons_per_layer"),
    ),
    # --- sigmoid_derivative -------------------------------------------------------------------
    M(
        "sigd_naive_exp_overflows",
        "sigmoid_derivative",
        "overflow",
        mistake="sigd-overflows",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    e = np.exp(-x)
    return e / (1 + e) ** 2
""",
    ),
    M(
        "sigd_warnings_silenced_nan",
        "sigmoid_derivative",
        "finite",
        mistake="array-not-finite",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-np.asarray(x, dtype=float))
        out = e / (1 + e) ** 2
    return float(out) if out.ndim == 0 else out
""",
    ),
    M(
        "sigd_scalar_only",
        "sigmoid_derivative",
        "NumPy",
        mistake="array-not-elementwise",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    z = math.exp(-abs(x))
    s = 1 / (1 + z) if x >= 0 else z / (1 + z)
    return s * (1 - s)
""",
    ),
    M(
        "sigd_tanh_slope",
        "sigmoid_derivative",
        "slope of tanh",
        mistake="sigd-tanh-slope",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    return 1 - np.tanh(x) ** 2
""",
    ),
    M(
        "sigd_forgot_return",
        "sigmoid_derivative",
        "returned None",
        function="sigmoid_derivative",
        edit=("return s * (1.0 - s)", "s * (1.0 - s)"),
    ),
    # --- gradient_decay: gradient_bound, stall_depth --------------------------------------------
    M(
        "bound_depth_off_by_one",
        "gradient_decay",
        "one layer short",
        mistake="bound-one-layer-short",
        function="gradient_bound",
        edit=("np.asarray(depth, dtype=float)", "np.asarray(depth, dtype=float) - 1"),
    ),
    M(
        "bound_returns_list",
        "gradient_decay",
        "ndarray",
        mistake="array-result-not-ndarray",
        function="gradient_bound",
        source="""
def gradient_bound(depth, max_derivative=0.25):
    max_derivative = validate_positive("max_derivative", max_derivative)
    validate_depths(depth)
    if np.ndim(depth) == 0:
        return max_derivative ** depth
    return [max_derivative ** d for d in depth]
""",
    ),
    M(
        "stall_less_or_equal_at_exact_power",
        "gradient_decay",
        "not strictly below",
        mistake="stall-not-strict-at-exact-power",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    depth = 1
    while gradient_bound(depth, max_derivative) > threshold:
        depth += 1
    return depth
""",
    ),
    M(
        "stall_naive_closed_form",
        "gradient_decay",
        "strictly below",
        mistake="stall-not-strict-at-exact-power",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    return max(1, math.ceil(math.log(threshold) / math.log(max_derivative)))
""",
    ),
    M(
        "stall_loops_when_bound_never_falls",
        "gradient_decay",
        "did not return within",
        loops=True,
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    depth = 1
    while gradient_bound(depth, max_derivative) >= threshold:
        depth += 1
    return depth
""",
    ),
    # --- act1_reflection -------------------------------------------------------------------------
    M(
        "act1_reason_wrong",
        "act1_reflection",
        "not the best answer",
        mistake="act1-reason-not-best",
        variables={"act1_reflection_reason": '"C"'},
    ),
    # --- parameters_and_macs: parameter_count, layer_macs ---------------------------------------
    M(
        "params_biases_forgotten",
        "parameters_and_macs",
        "biases are missing",
        mistake="params-biases-missing",
        function="parameter_count",
        edit=("n_in * n_out + n_out for", "n_in * n_out for"),
    ),
    M(
        "params_first_layer_only",
        "parameters_and_macs",
        "only the first layer",
        mistake="params-first-layer-only",
        function="parameter_count",
        edit=(
            "return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))",
            "return sizes[0] * sizes[1] + sizes[1]",
        ),
    ),
    M(
        "macs_bias_counted",
        "parameters_and_macs",
        "biases are added, not multiplied",
        mistake="macs-bias-counted",
        function="layer_macs",
        edit=("[n_in * n_out for", "[n_in * n_out + n_out for"),
    ),
    M(
        "macs_index_error",
        "parameters_and_macs",
        "raised IndexError",
        function="layer_macs",
        edit=(
            "return [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]",
            "return [sizes[i] * sizes[i + 1] for i in range(len(sizes))]",
        ),
    ),
    M(
        "macs_last_layer_dropped",
        "parameters_and_macs",
        "one per layer",
        function="layer_macs",
        edit=(
            "return [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]",
            "return [sizes[i] * sizes[i + 1] for i in range(len(sizes) - 2)]",
        ),
    ),
    # --- training_memory: training_memory, inference_memory -------------------------------------
    M(
        "mem_adam_state_counted_once",
        "training_memory",
        "Adam keeps two values",
        mistake="memory-adam-counted-once",
        function="training_memory",
        edit=("OPTIMIZER_STATE_PER_PARAM[optimizer] * params", '(optimizer != "sgd") * params'),
    ),
    M(
        "mem_sgd_given_state",
        "training_memory",
        "plain SGD keeps no state",
        mistake="memory-sgd-given-state",
        function="training_memory",
        edit=("OPTIMIZER_STATE_PER_PARAM[optimizer] * params", "(OPTIMIZER_STATE_PER_PARAM[optimizer] or 1) * params"),
    ),
    M(
        "mem_input_activations_left_out",
        "training_memory",
        "input layer's activations",
        mistake="memory-input-activations-missing",
        function="training_memory",
        edit=("batch_size * sum(sizes)", "batch_size * sum(sizes[1:])"),
    ),
    M(
        "mem_activations_not_scaled_by_batch",
        "training_memory",
        "grow in proportion to batch_size",
        mistake="memory-activations-ignore-batch",
        function="training_memory",
        edit=("batch_size * sum(sizes) * bytes_per_value", "sum(sizes) * bytes_per_value"),
    ),
    M(
        "mem_fp16_not_applied_to_activations",
        "training_memory",
        "FP16 halves the activations",
        mistake="memory-fp32-hard-coded",
        function="training_memory",
        edit=("batch_size * sum(sizes) * bytes_per_value", "batch_size * sum(sizes) * BYTES_FP32"),
    ),
    M(
        "mem_total_leaves_out_optimizer",
        "training_memory",
        "leaves out the optimizer",
        mistake="memory-total-leaves-out-a-part",
        function="training_memory",
        edit=(
            'memory["total"] = sum(memory.values())',
            'memory["total"] = memory["weights"] + memory["gradients"] + memory["activations"]',
        ),
    ),
    M(
        "mem_in_kib",
        "training_memory",
        "in bytes, not KiB",
        mistake="memory-in-kib",
        function="training_memory",
        edit=("    return memory\n", "    return {key: value / BYTES_PER_KIB for key, value in memory.items()}\n"),
    ),
    M(
        "mem_sgd_dict_missing_optimizer_key",
        "training_memory",
        "missing ['optimizer']",
        function="training_memory",
        edit=(
            '    memory["total"] = sum(memory.values())',
            '    if optimizer == "sgd":\n        del memory["optimizer"]  # SGD keeps no state\n'
            '    memory["total"] = sum(memory.values())',
        ),
    ),
    M(
        "inference_keeps_gradients",
        "training_memory",
        "inference keeps no gradients",
        mistake="inference-keeps-gradients",
        function="inference_memory",
        edit=(
            'memory["weights"] + memory["activations"]',
            'memory["weights"] + memory["gradients"] + memory["activations"]',
        ),
    ),
    # --- max_trainable_width --------------------------------------------------------------------
    M(
        "width_batch_size_ignored",
        "max_trainable_width",
        "batch_size argument seems to be ignored",
        mistake="width-batch-size-ignored",
        function="max_trainable_width",
        edit=("training_memory(layers, batch_size,", "training_memory(layers, MNIST_BATCH_SIZE,"),
    ),
    M(
        "width_optimizer_ignored",
        "max_trainable_width",
        "optimizer argument seems to be ignored",
        mistake="width-optimizer-ignored",
        function="max_trainable_width",
        edit=('bytes_per_value, optimizer)["total"]', 'bytes_per_value)["total"]'),
    ),
    M(
        "width_first_that_does_not_fit",
        "max_trainable_width",
        "that width does not fit",
        mistake="width-does-not-fit",
        function="max_trainable_width",
        edit=("    return low\n", "    return high\n"),
    ),
    M(
        "width_strictly_below_budget",
        "max_trainable_width",
        "equals the budget exactly",
        mistake="width-strictly-below-budget",
        function="max_trainable_width",
        edit=('["total"] <= budget_bytes', '["total"] < budget_bytes'),
    ),
    M(
        "width_even_widths_only",
        "max_trainable_width",
        "odd",
        mistake="width-edge-of-search",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    def fits(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"] <= budget_bytes

    if not fits(2):
        return 0
    low, high = 1, 2  # search k; the width is 2k, since the second layer is W // 2
    while fits(2 * high):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(2 * mid) else (low, mid)
    return 2 * low
""",
    ),
    M(
        "width_nothing_fits_returns_smallest",
        "max_trainable_width",
        "W = 2",
        mistake="width-nothing-fits-not-zero",
        function="max_trainable_width",
        edit=("    if not fits(2):\n        return 0", "    if not fits(2):\n        return 2"),
    ),
    # --- questions answered with a variable ----------------------------------------------------
    M(
        "act2_reflection_wrong",
        "act2_reflection",
        "not the best answer",
        mistake="act2-reflection-not-best",
        variables={"act2_reflection": '"A"'},
    ),
    M(
        "batch_ratio_assumed_double",
        "batch_doubling",
        "compute it from training_memory",
        mistake="batch-ratio-is-two",
        variables={"batch_doubling_ratio": "2.0"},
    ),
    M(
        "batch_ratio_inverted",
        "batch_doubling",
        "inverted",
        mistake="batch-ratio-inverted",
        variables={
            "batch_doubling_ratio": (
                'training_memory(MNIST_LAYER_SIZES, 32)["total"] / training_memory(MNIST_LAYER_SIZES, 64)["total"]'
            )
        },
    ),
    M(
        "deployment_wrong",
        "deployment",
        "not the best answer",
        mistake="deployment-not-best",
        variables={"deployment_answer": '"A"'},
    ),
    # --- design_ledger: the cell that records the design ----------------------------------------
    M(
        "ledger_written_by_hand",
        "design_ledger",
        "was not written by this run",
        cell=LEDGER_CELL,
        source="""{cell}
import json
design_ledger["training_memory_estimate_error_kib"] = round(design_ledger["training_memory_estimate_error_kib"], 1)
with open("design_ledger.json", "w") as f:
    json.dump(design_ledger, f, indent=2)
""",
    ),
    M(
        "ledger_key_missing",
        "design_ledger",
        "'batch_size_chosen' is a required property",
        cell=LEDGER_CELL,
        source="""{cell}
del design_ledger["batch_size_chosen"]  # it is in the notebook already
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_width_as_text",
        "design_ledger",
        "is not of type 'integer",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["max_trainable_width_laptop_gpu"] = f"{design_ledger['max_trainable_width_laptop_gpu']:,}"
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_error_sign_flipped",
        "design_ledger",
        "sign is flipped",
        mistake="ledger-error-sign-flipped",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["training_memory_estimate_error_kib"] = -design_ledger["training_memory_estimate_error_kib"]
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_error_not_a_number",
        "design_ledger",
        "not a finite number",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["training_memory_estimate_error_kib"] = float("nan")  # TODO fill in
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_width_at_default_batch",
        "design_ledger",
        "batch size the ledger records",
        mistake="ledger-width-at-default-batch",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["max_trainable_width_laptop_gpu"] = max_trainable_width(DEVICE_BUDGETS_BYTES[LAPTOP_GPU])
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_stale_after_changing_choice",
        "design_ledger",
        "the ledger is stale",
        mistake="ledger-stale",
        cell=LEDGER_CELL,
        source="""{cell}
activation_choice = "gelu"  # changed my mind after recording
""",
    ),
]


# =============================================================================================
# Correct variants: right answers written differently; each must keep full marks everywhere
# =============================================================================================
VARIANTS = [
    OK(
        "tax_numpy_float",
        function="transistor_tax",
        source="""
def transistor_tax(activation, baseline="relu"):
    counts = {name.upper(): np.float64(n) for name, n in ACTIVATION_TRANSISTORS.items()}
    validate_name("activation", activation, ACTIVATION_TRANSISTORS)
    validate_name("baseline", baseline, ACTIVATION_TRANSISTORS)
    return counts[activation.strip().upper()] / counts[baseline.strip().upper()]
""",
    ),
    OK(
        "extra_through_tax_rounded",
        function="extra_transistors",
        source="""
def extra_transistors(neurons_per_layer, num_layers, activation, baseline="relu"):
    neurons_per_layer = validate_count("neurons_per_layer", neurons_per_layer)
    num_layers = validate_count("num_layers", num_layers)
    base = ACTIVATION_TRANSISTORS[validate_name("baseline", baseline, ACTIVATION_TRANSISTORS)]
    per_unit = base * (transistor_tax(activation, baseline) - 1)
    return round(neurons_per_layer * num_layers * per_unit)
""",
    ),
    OK(
        "sigd_exp_of_minus_abs",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    z = np.exp(-np.abs(np.asarray(x, dtype=float)))
    out = z / (1 + z) ** 2
    return float(out) if out.ndim == 0 else out
""",
    ),
    OK(
        "sigd_scalar_code_vectorized",
        function="sigmoid_derivative",
        source="""
def _slope(x):
    z = math.exp(-abs(x))
    return z / (1 + z) ** 2

def sigmoid_derivative(x):
    if np.ndim(x) == 0:
        return _slope(float(x))
    return np.vectorize(_slope, otypes=[float])(x)
""",
    ),
    OK(
        "bound_repeated_product",
        function="gradient_bound",
        source="""
def gradient_bound(depth, max_derivative=0.25):
    max_derivative = validate_positive("max_derivative", max_derivative)
    validate_depths(depth)
    def one(d):
        bound = 1.0
        for _ in range(int(d)):
            bound *= max_derivative
        return bound
    if np.ndim(depth) == 0:
        return one(depth)
    return np.array([one(d) for d in np.ravel(depth)]).reshape(np.shape(depth))
""",
    ),
    OK(
        "stall_linear_search",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    depth = 1
    while not max_derivative ** depth < threshold:
        depth += 1
    return np.int64(depth)
""",
    ),
    OK(
        "stall_careful_closed_form",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    depth = max(1, math.floor(math.log(threshold) / math.log(max_derivative)) + 1)
    if gradient_bound(depth, max_derivative) >= threshold:  # log rounding put us one short
        depth += 1
    elif depth > 1 and gradient_bound(depth - 1, max_derivative) < threshold:  # or one too far
        depth -= 1
    return depth
""",
    ),
    OK(
        "params_and_macs_numpy",
        function="parameter_count",
        source="""
def parameter_count(layer_sizes):
    sizes = np.array(validate_layer_sizes(layer_sizes), dtype=np.int64)
    return np.sum(sizes[:-1] * sizes[1:] + sizes[1:])

def layer_macs(layer_sizes):
    sizes = np.array(validate_layer_sizes(layer_sizes), dtype=np.int64)
    return sizes[:-1] * sizes[1:]
""",
    ),
    OK(
        "mem_explicit_loops",
        function="training_memory",
        source="""
def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    bytes_per_value = validate_positive("bytes_per_value", bytes_per_value)
    optimizer = validate_name("optimizer", optimizer, OPTIMIZER_STATE_PER_PARAM)
    params = 0
    for i in range(1, len(sizes)):
        params += sizes[i - 1] * sizes[i] + sizes[i]
    values = {"weights": params, "gradients": params,
              "optimizer": OPTIMIZER_STATE_PER_PARAM[optimizer] * params, "activations": 0}
    for width in sizes:
        values["activations"] += batch_size * width
    memory = {key: float(count * bytes_per_value) for key, count in values.items()}
    memory["total"] = memory["weights"] + memory["gradients"] + memory["optimizer"] + memory["activations"]
    return memory

def inference_memory(layer_sizes, batch_size=1, bytes_per_value=4):
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    bytes_per_value = validate_positive("bytes_per_value", bytes_per_value)
    params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    return (params + batch_size * sum(sizes)) * bytes_per_value
""",
    ),
    OK(
        "mem_numpy_integers",
        function="training_memory",
        source="""
def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
    sizes = np.asarray(validate_layer_sizes(layer_sizes), dtype=np.int64)
    batch_size = validate_count("batch_size", batch_size)
    bytes_per_value = validate_positive("bytes_per_value", bytes_per_value)
    state = OPTIMIZER_STATE_PER_PARAM[validate_name("optimizer", optimizer, OPTIMIZER_STATE_PER_PARAM)]
    params = np.sum(sizes[:-1] * sizes[1:] + sizes[1:])
    parts = np.array([params, params, state * params, batch_size * sizes.sum()]) * bytes_per_value
    return dict(zip(["weights", "gradients", "optimizer", "activations", "total"], [*parts, parts.sum()]))
""",
    ),
    OK(
        "width_closed_form_then_adjust",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    budget_bytes = validate_positive("budget_bytes", budget_bytes)
    def total(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"]
    if total(2) > budget_bytes:
        return 0
    # total(W) is about a*W**2 + b*W + c: fit it through three widths, solve, then step to the exact edge
    t1, t2, t3 = total(1000), total(2000), total(3000)
    a = (t3 - 2 * t2 + t1) / (2 * 1000 ** 2)
    b = (t2 - t1) / 1000 - a * 3000
    c = t1 - a * 1000 ** 2 - b * 1000
    width = max(2, int((-b + math.sqrt(b * b - 4 * a * (c - budget_bytes))) / (2 * a)))
    while width > 2 and total(width) > budget_bytes:
        width -= 1
    while total(width + 1) <= budget_bytes:
        width += 1
    return width
""",
    ),
    OK(
        "width_bisect_module",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    import bisect
    budget_bytes = validate_positive("budget_bytes", budget_bytes)
    def too_big(width):
        layers = challenge_layer_sizes(max(width, 2))
        return training_memory(layers, batch_size, bytes_per_value, optimizer)["total"] > budget_bytes
    upper = 4
    while not too_big(upper):
        upper *= 4
    first_too_big = bisect.bisect_left(range(upper + 1), True, lo=2, key=too_big)
    return first_too_big - 1 if first_too_big > 2 else 0
""",
    ),
    OK(
        "batch_ratio_from_parts_numpy",
        variables={
            "batch_doubling_ratio": (
                'np.float64(sum(v for k, v in training_memory(list(MNIST_LAYER_SIZES), 64).items() if k != "total")) / '
                'sum(v for k, v in training_memory(list(MNIST_LAYER_SIZES), 32).items() if k != "total")'
            )
        },
    ),
    OK("ledger_other_choices", variables={"activation_choice": '"gelu"', "batch_size_chosen": "1"}),
    OK(
        "answers_in_other_case_and_spacing",
        variables={
            "act1_reflection_reason": '"a"',
            "act1_failure_mode": '" Silent "',
            "act2_reflection": '"b "',
            "deployment_answer": '" B"',
            "activation_choice": '"ReLU"',
        },
    ),
]


# =============================================================================================
# The extended corpus (python -m tools.qa.mutation_runner --extended; make mutants EXTENDED=1)
# =============================================================================================
MORE_MUTANTS = [
    M(
        "extra_sign_flipped",
        "transistor_tax",
        "sign is flipped",
        mistake="extra-sign-flipped",
        function="extra_transistors",
        edit=(
            "ACTIVATION_TRANSISTORS[activation] - ACTIVATION_TRANSISTORS[baseline]",
            "ACTIVATION_TRANSISTORS[baseline] - ACTIVATION_TRANSISTORS[activation]",
        ),
    ),
    M(
        "extra_baseline_not_subtracted",
        "transistor_tax",
        "baseline's transistors should be subtracted",
        mistake="extra-baseline-not-subtracted",
        function="extra_transistors",
        edit=(" - ACTIVATION_TRANSISTORS[baseline]", ""),
    ),
    M(
        "extra_ratio_not_difference",
        "transistor_tax",
        "not a ratio",
        mistake="extra-ratio-not-difference",
        function="extra_transistors",
        edit=(
            "units * (ACTIVATION_TRANSISTORS[activation] - ACTIVATION_TRANSISTORS[baseline])",
            "units * transistor_tax(activation, baseline)",
        ),
    ),
    M(
        "sigd_returns_sigmoid",
        "sigmoid_derivative",
        "sigmoid itself",
        mistake="sigd-returns-sigmoid",
        function="sigmoid_derivative",
        edit=("return s * (1.0 - s)", "return s"),
    ),
    M(
        "sigd_one_plus_sigmoid",
        "sigmoid_derivative",
        "1 minus the sigmoid",
        mistake="sigd-one-plus-sigmoid",
        function="sigmoid_derivative",
        edit=("return s * (1.0 - s)", "return s * (1.0 + s)"),
    ),
    M(
        "bound_max_derivative_ignored",
        "gradient_decay",
        "max_derivative argument seems to be ignored",
        mistake="bound-max-derivative-ignored",
        function="gradient_bound",
        edit=("np.power(float(max_derivative),", "np.power(0.25,"),
    ),
    # The bound never falls, so the notebook's own stall_depth loops in a figure and a check: ~20 s.
    M(
        "bound_adds_instead_of_multiplying",
        "gradient_decay",
        "multiply, not add up",
        mistake="bound-adds-not-multiplies",
        function="gradient_bound",
        loops=True,
        edit=(
            "np.power(float(max_derivative), np.asarray(depth, dtype=float))",
            "float(max_derivative) * np.asarray(depth, dtype=float)",
        ),
    ),
    M(
        "bound_scalar_only",
        "gradient_decay",
        "NumPy",
        mistake="array-not-elementwise",
        function="gradient_bound",
        source="""
def gradient_bound(depth, max_derivative=0.25):
    max_derivative = validate_positive("max_derivative", max_derivative)
    validate_depths(depth)
    return math.pow(max_derivative, depth)
""",
    ),
    M(
        "stall_last_depth_before_stall",
        "gradient_decay",
        "one layer too early",
        mistake="stall-one-layer-early",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    depth = 1
    while gradient_bound(depth + 1, max_derivative) >= threshold:
        depth += 1
    return depth
""",
    ),
    M(
        "act1_failure_mode_wrong",
        "act1_reflection",
        "not the best answer",
        mistake="act1-failure-mode-not-best",
        variables={"act1_failure_mode": '"gradual"'},
    ),
    M(
        "params_biases_on_inputs",
        "parameters_and_macs",
        "outputs, not its inputs",
        mistake="params-biases-on-inputs",
        function="parameter_count",
        edit=("n_in * n_out + n_out for", "n_in * n_out + n_in for"),
    ),
    M(
        "macs_one_total",
        "parameters_and_macs",
        "one per layer",
        function="layer_macs",
        edit=(
            "return [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]",
            "return [sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))]",
        ),
    ),
    M(
        "mem_biases_forgotten",
        "training_memory",
        "biases are parameters too",
        mistake="memory-biases-missing",
        function="training_memory",
        edit=("params = parameter_count(sizes)", "params = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))"),
    ),
    M(
        "inference_batch_ignored",
        "training_memory",
        "grow with batch_size",
        mistake="inference-batch-ignored",
        function="inference_memory",
        edit=("training_memory(sizes, batch_size,", "training_memory(sizes, 1,"),
    ),
    M(
        "inference_weights_only",
        "training_memory",
        "activations of the batch",
        mistake="inference-no-activations",
        function="inference_memory",
        edit=('return memory["weights"] + memory["activations"]', 'return memory["weights"]'),
    ),
    M(
        "width_precision_ignored",
        "max_trainable_width",
        "bytes_per_value argument seems to be ignored",
        mistake="width-precision-ignored",
        function="max_trainable_width",
        edit=("batch_size, bytes_per_value, optimizer)", "batch_size, optimizer=optimizer)"),
    ),
    M(
        "width_searches_a_grid_of_64",
        "max_trainable_width",
        "still fits",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    def fits(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"] <= budget_bytes

    width = 64  # the challenge's widths: 64, 128, 192, ...
    while fits(width + 64):
        width += 64
    return width
""",
    ),
    M(
        "batch_ratio_of_activations",
        "batch_doubling",
        "compute it from training_memory",
        mistake="batch-ratio-is-two",
        variables={
            "batch_doubling_ratio": (
                'training_memory(MNIST_LAYER_SIZES, 64)["activations"] / training_memory(MNIST_LAYER_SIZES, 32)["activations"]'
            )
        },
    ),
    M(
        "ledger_error_in_bytes",
        "design_ledger",
        "that is in bytes",
        mistake="ledger-error-in-bytes",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["training_memory_estimate_error_kib"] = act2_estimate_kib * BYTES_PER_KIB - training_memory(MNIST_LAYER_SIZES, 32)["total"]
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M(
        "ledger_error_at_chosen_batch",
        "design_ledger",
        "at batch_size_chosen",
        mistake="ledger-error-at-chosen-batch",
        cell=LEDGER_CELL,
        source="""{cell}
chosen = training_memory(MNIST_LAYER_SIZES, batch_size_chosen)["total"] / BYTES_PER_KIB
design_ledger["training_memory_estimate_error_kib"] = act2_estimate_kib - chosen
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
    M("ledger_batch_size_as_text", "design_ledger", "does not exist", variables={"batch_size_chosen": '"64"'}),
]

MORE_VARIANTS = [
    OK(
        "sigd_clipped_input",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    s = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
    return s * (1 - s)
""",
    ),
]

CORPUS = MUTANTS + VARIANTS
EXTENDED = MUTANTS + MORE_MUTANTS + VARIANTS + MORE_VARIANTS
