"""The public checks' corpus: plausible mistakes a student can make, and correct answers written differently.

``grader.check`` runs the public checks (``lab05.checks.check_<question>``) before submission; this
corpus says what they should catch. It holds every entry of the bundle's mutation corpus
(tools/qa/mutation_corpus.py: ``EXTENDED``) and the entries below, written in the same form (a
:class:`tools.qa.mutation_corpus.Mutant`; see that module for how an entry is injected). For the entries
below, ``says`` is a phrase the question's *public* failure message must contain, and ``mistake``
the id (``MISTAKES`` in assignment/lab05_autograder/hidden/mistakes.py) that message must end with where it names one.

``python -m tools.qa.public_mutation_runner`` runs the public checks on every entry, in-process, and prints
which are caught; ``tests/test_public_checks.py`` requires the catch rate of :data:`REQUIRED_RATE`,
no correct variant failed and no hidden case's reference value in any message.

Some mistakes cannot be caught before submission without giving the answer away: the
multiple-choice answers (:data:`NOT_PUBLIC`). They stay in the corpus and count as missed.
"""

from __future__ import annotations

from tools.qa.mutation_corpus import EXTENDED, LEDGER_CELL, OK, M

#: The share of the corpus's mistakes the public checks must catch.
REQUIRED_RATE = 0.90

#: Mistakes no public check may catch: a public check that did would reveal the best answer.
NOT_PUBLIC = ("act1_reason_wrong", "act1_failure_mode_wrong", "act2_reflection_wrong", "deployment_wrong")

_TAX = "return ACTIVATION_TRANSISTORS[activation] / ACTIVATION_TRANSISTORS[baseline]"
_UNITS = "units = neurons_per_layer * num_layers"
_PARAMS = "return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))"
_MACS = "return [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]"
_STATE = "OPTIMIZER_STATE_PER_PARAM[optimizer] * params"
_INFERENCE = 'return memory["weights"] + memory["activations"]'

# =============================================================================================
# Mistakes the bundle's corpus does not have
# =============================================================================================
MORE_PUBLIC_MUTANTS = [
    # --- transistor_tax ---------------------------------------------------------------------
    M(
        "tax_count_not_ratio",
        "transistor_tax",
        "not a count",
        mistake="tax-count-not-ratio",
        function="transistor_tax",
        edit=(_TAX, "return ACTIVATION_TRANSISTORS[activation]"),
    ),
    M(
        "tax_difference_not_ratio",
        "transistor_tax",
        "expected 1",
        function="transistor_tax",
        edit=(_TAX, "return ACTIVATION_TRANSISTORS[activation] - ACTIVATION_TRANSISTORS[baseline]"),
    ),
    M(
        "extra_baseline_ignored",
        "transistor_tax",
        "baseline argument seems to be ignored",
        mistake="extra-baseline-ignored",
        function="extra_transistors",
        edit=("- ACTIVATION_TRANSISTORS[baseline])", '- ACTIVATION_TRANSISTORS["relu"])'),
    ),
    M(
        "extra_units_added",
        "transistor_tax",
        "units",
        function="extra_transistors",
        edit=(_UNITS, "units = neurons_per_layer + num_layers"),
    ),
    M(
        "extra_one_unit",
        "transistor_tax",
        "units",
        function="extra_transistors",
        edit=(_UNITS, "units = 1  # per unit"),
    ),
    # --- sigmoid_derivative ---------------------------------------------------------------------
    M(
        "sigd_forward_difference",
        "sigmoid_derivative",
        "slope",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    step = 1e-4
    return (sigmoid(x + step) - sigmoid(x)) / step
""",
    ),
    M(
        "sigd_rounded",
        "sigmoid_derivative",
        "slope of the provided sigmoid",
        function="sigmoid_derivative",
        edit=("return s * (1.0 - s)", "return np.round(s * (1.0 - s), 4)"),
    ),
    M(
        "sigd_list_for_arrays",
        "sigmoid_derivative",
        "ndarray",
        mistake="array-result-not-ndarray",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    if np.ndim(x) == 0:
        s = sigmoid(x)
        return s * (1 - s)
    return [sigmoid(v) * (1 - sigmoid(v)) for v in np.ravel(x)]
""",
    ),
    M(
        "sigd_number_as_array",
        "sigmoid_derivative",
        "single number",
        mistake="number-returns-array",
        function="sigmoid_derivative",
        edit=("return s * (1.0 - s)", "return np.atleast_1d(s * (1.0 - s))"),
    ),
    # --- gradient_decay -------------------------------------------------------------------------
    M(
        "bound_one_layer_too_many",
        "gradient_decay",
        "one layer too many",
        mistake="bound-one-layer-too-many",
        function="gradient_bound",
        edit=("np.asarray(depth, dtype=float)", "np.asarray(depth, dtype=float) + 1"),
    ),
    M(
        "stall_one_layer_late",
        "gradient_decay",
        "one layer too late",
        mistake="stall-one-layer-late",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    if max_derivative >= 1:
        return None
    depth = 1
    while gradient_bound(depth, max_derivative) >= threshold:
        depth += 1
    return depth + 1
""",
    ),
    M(
        "stall_gives_up_after_100_layers",
        "gradient_decay",
        "eventually",
        mistake="stall-none-below-one",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    for depth in range(1, 101):  # no network is deeper than this
        if gradient_bound(depth, max_derivative) < threshold:
            return depth
    return None
""",
    ),
    M(
        "stall_caps_the_search",
        "gradient_decay",
        "never falls",
        mistake="stall-not-none-at-or-above-one",
        function="stall_depth",
        source="""
def stall_depth(threshold=1e-6, max_derivative=0.25):
    threshold = validate_fraction("threshold", threshold)
    max_derivative = validate_positive("max_derivative", max_derivative)
    depth = 1
    while gradient_bound(depth, max_derivative) >= threshold and depth < 10_000:
        depth += 1
    return depth
""",
    ),
    # --- parameters_and_macs --------------------------------------------------------------------
    M(
        "params_input_layer_biases",
        "parameters_and_macs",
        "input layer has no biases",
        mistake="params-input-layer-biases",
        function="parameter_count",
        edit=(_PARAMS, "return sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])) + sum(sizes)"),
    ),
    M(
        "params_list_only",
        "parameters_and_macs",
        "raised AttributeError",
        function="parameter_count",
        source="""
def parameter_count(layer_sizes):
    sizes = layer_sizes.copy()  # keep the caller's list as it is
    validate_layer_sizes(sizes)
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
""",
    ),
    M(
        "macs_cumulative",
        "parameters_and_macs",
        "running total",
        function="layer_macs",
        source="""
def layer_macs(layer_sizes):
    sizes = validate_layer_sizes(layer_sizes)
    macs, total = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        total += n_in * n_out
        macs.append(total)
    return macs
""",
    ),
    # --- training_memory ------------------------------------------------------------------------
    M(
        "mem_not_in_bytes",
        "training_memory",
        "each value takes bytes_per_value bytes",
        mistake="memory-not-in-bytes",
        function="training_memory",
        source="""
def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
    sizes = validate_layer_sizes(layer_sizes)
    batch_size = validate_count("batch_size", batch_size)
    bytes_per_value = validate_positive("bytes_per_value", bytes_per_value)
    optimizer = validate_name("optimizer", optimizer, OPTIMIZER_STATE_PER_PARAM)
    params = parameter_count(sizes)
    memory = {
        "weights": params,
        "gradients": params,
        "optimizer": OPTIMIZER_STATE_PER_PARAM[optimizer] * params,
        "activations": batch_size * sum(sizes),
    }
    memory["total"] = sum(memory.values())
    return memory
""",
    ),
    M(
        "mem_output_activations_left_out",
        "training_memory",
        "output layer's activations",
        mistake="memory-output-activations-missing",
        function="training_memory",
        edit=("batch_size * sum(sizes)", "batch_size * sum(sizes[:-1])"),
    ),
    M(
        "mem_state_ignores_optimizer",
        "training_memory",
        "depends on the optimizer",
        mistake="memory-state-ignores-optimizer",
        function="training_memory",
        edit=(_STATE, "2 * params"),
    ),
    M(
        "mem_momentum_keeps_no_state",
        "training_memory",
        "keeps state for every parameter",
        mistake="memory-optimizer-state-missing",
        function="training_memory",
        edit=(_STATE, '(2 if optimizer == "adam" else 0) * params'),
    ),
    M(
        "mem_total_leaves_out_activations",
        "training_memory",
        "leaves out the activations",
        mistake="memory-total-leaves-out-a-part",
        function="training_memory",
        edit=(
            'memory["total"] = sum(memory.values())',
            'memory["total"] = memory["weights"] + memory["gradients"] + memory["optimizer"]',
        ),
    ),
    M(
        "mem_weights_always_fp32",
        "training_memory",
        "bytes_per_value",
        mistake="memory-fp32-hard-coded",
        function="training_memory",
        edit=('"weights": params * bytes_per_value', '"weights": params * BYTES_FP32'),
    ),
    M(
        "mem_in_mib",
        "training_memory",
        "bytes",
        function="training_memory",
        edit=("    return memory\n", "    return {key: value / BYTES_PER_KIB**2 for key, value in memory.items()}\n"),
    ),
    M(
        "inference_activations_only",
        "training_memory",
        "inference still holds the weights",
        mistake="inference-no-weights",
        function="inference_memory",
        edit=(_INFERENCE, 'return memory["activations"]'),
    ),
    M(
        "inference_always_fp32",
        "training_memory",
        "bytes_per_value",
        mistake="memory-fp32-hard-coded",
        function="inference_memory",
        edit=("training_memory(sizes, batch_size, bytes_per_value,", "training_memory(sizes, batch_size,"),
    ),
    M(
        "inference_is_the_training_total",
        "training_memory",
        "weights plus the activations",
        function="inference_memory",
        edit=(_INFERENCE, 'return training_memory(sizes, batch_size, bytes_per_value)["total"]'),
    ),
    # --- max_trainable_width --------------------------------------------------------------------
    M(
        "width_linear_search",
        "max_trainable_width",
        "one at a time",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    budget_bytes = validate_positive("budget_bytes", budget_bytes)
    def fits(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"] <= budget_bytes

    if not fits(2):
        return 0
    width = 2
    while fits(width + 1):
        width += 1
    return width
""",
    ),
    M(
        "width_doubling_without_bisection",
        "max_trainable_width",
        "still fits",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    def fits(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"] <= budget_bytes

    if not fits(2):
        return 0
    width = 2
    while fits(2 * width):
        width *= 2
    return width
""",
    ),
    M(
        "width_every_setting_ignored",
        "max_trainable_width",
        "seems to be ignored",
        function="max_trainable_width",
        edit=("training_memory(layers, batch_size, bytes_per_value, optimizer)", "training_memory(layers, 32)"),
    ),
    # --- batch_doubling -------------------------------------------------------------------------
    M(
        "batch_ratio_is_a_difference",
        "batch_doubling",
        "divided by",
        variables={
            "batch_doubling_ratio": (
                'training_memory(MNIST_LAYER_SIZES, 64)["total"] - training_memory(MNIST_LAYER_SIZES, 32)["total"]'
            )
        },
    ),
    M(
        "batch_ratio_typed_by_hand",
        "batch_doubling",
        "compute it from training_memory",
        variables={"batch_doubling_ratio": "1.07"},
    ),
    # --- design_ledger --------------------------------------------------------------------------
    M(
        "ledger_error_left_at_zero",
        "design_ledger",
        "training_memory_estimate_error_kib",
        cell=LEDGER_CELL,
        source="""{cell}
design_ledger["training_memory_estimate_error_kib"] = 0.0
from lab05.ledger import write_ledger
write_ledger(design_ledger)
""",
    ),
]

# =============================================================================================
# Correct answers the bundle's corpus does not have
# =============================================================================================
MORE_PUBLIC_VARIANTS = [
    OK(
        "extra_numpy_integer",
        function="extra_transistors",
        edit=("return units * (", "return np.int64(units) * ("),
    ),
    OK(
        "sigd_logaddexp",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    x = np.asarray(x, dtype=float)
    out = np.exp(-np.logaddexp(0.0, x) - np.logaddexp(0.0, -x))
    return float(out) if out.ndim == 0 else out
""",
    ),
    OK(
        "sigd_through_tanh",
        function="sigmoid_derivative",
        source="""
def sigmoid_derivative(x):
    return 0.25 * (1.0 - np.tanh(np.asarray(x, dtype=float) / 2.0) ** 2) if np.ndim(x) else 0.25 * (1.0 - math.tanh(x / 2) ** 2)
""",
    ),
    OK(
        "bound_float_power",
        function="gradient_bound",
        source="""
def gradient_bound(depth, max_derivative=0.25):
    max_derivative = validate_positive("max_derivative", max_derivative)
    validate_depths(depth)
    return np.float_power(max_derivative, depth)
""",
    ),
    OK(
        "params_and_macs_loops",
        function="parameter_count",
        source="""
def parameter_count(layer_sizes):
    sizes = validate_layer_sizes(layer_sizes)
    count = 0
    for i in range(len(sizes) - 1):
        count += sizes[i] * sizes[i + 1]  # weights
        count += sizes[i + 1]  # biases
    return count

def layer_macs(layer_sizes):
    sizes = validate_layer_sizes(layer_sizes)
    return tuple(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
""",
    ),
    OK(
        "mem_own_parameter_count",
        function="training_memory",
        edit=("params = parameter_count(sizes)", "params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))"),
    ),
    OK(
        "width_bisect_the_whole_budget",
        function="max_trainable_width",
        source="""
def max_trainable_width(budget_bytes, batch_size=32, bytes_per_value=4, optimizer="adam"):
    budget_bytes = validate_positive("budget_bytes", budget_bytes)
    def fits(width):
        return training_memory(challenge_layer_sizes(width), batch_size, bytes_per_value, optimizer)["total"] <= budget_bytes

    if not fits(2):
        return 0
    low, high = 2, int(budget_bytes) + 2  # the weights alone take more than a byte per unit of width
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low
""",
    ),
]

PUBLIC_CORPUS = EXTENDED + MORE_PUBLIC_MUTANTS + MORE_PUBLIC_VARIANTS
