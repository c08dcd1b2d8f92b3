"""Lab 05's figures and printed summaries: the display code students do not write.

Every display receives the student's own functions as arguments, so a figure starts working as
soon as the functions it needs are filled in. Nothing here computes a graded quantity itself:
every number shown comes from the student's functions or from :mod:`lab05.constants`, or is
measured on seeded NumPy arrays (the dying-ReLU toy layer, and the closing section's networks,
whose counts are set beside the student's functions).

Conventions:
    * Memory is in bytes and shown in binary units (KiB, MiB, GiB) with ``fmt_bytes``.
    * Figures are built with Matplotlib's object API and returned. Each one is detached from
      pyplot (``plt.close(fig)``) before it is returned, so Jupyter shows it exactly once, as
      the cell's result: a figure still registered with pyplot would be shown a second time by
      the inline backend at the end of the cell. Detached figures can still be saved or shown
      (``fig.savefig(...)``, ``display(fig)``).
    * Functions that print return the numbers they printed, as a dict (or a list of dicts)
      whose notebook display is empty: the numbers are already on screen above it.
    * Display functions that call student code are wrapped with ``display_guard``: a stub, an
      exception or a loop that never ends prints one friendly line and returns ``None``. The
      undecorated function is available as ``fn.__wrapped__`` (the tests use it).
    * A display with more than a few numbers is three functions. A compute function (named
      after what it returns: ``memory_ledger`` returns a ``MemoryLedger``) checks the arguments,
      calls the student's functions and returns a NamedTuple of the numbers, labels and verdicts
      shown (NamedTuples, not dataclasses: defining one costs the graded import almost nothing).
      A draw function (``draw_memory_ledger``; ``print_...`` for a printed reveal) takes only
      that result: it draws, then prints, and never calls student code. The guarded display the
      notebook calls (``memory_ledger_figure``) calls one, then the other.

Modules, in the order of the notebook: :mod:`~lab05.displays.act1_tax` (the transistor tax),
:mod:`~lab05.displays.act1_gradients` (gradient decay, dying ReLU),
:mod:`~lab05.displays.act2_memory` (the training memory reveal and ledger),
:mod:`~lab05.displays.act2_scaling` (the width challenge, the batch),
:mod:`~lab05.displays.act2_compute` (which layer does the work, a training step's FLOPs),
:mod:`~lab05.displays.deployment` (two deployment contexts, the memory hierarchy),
:mod:`~lab05.displays.feedback` (explanations of the reflections, once answered),
:mod:`~lab05.displays.measure` (Act 2's anchor, and the closing section's NumPy measurements);
what they share is in :mod:`~lab05.displays.common`. The displays the notebook calls are
importable from here.
"""

from lab05.displays.act1_gradients import dying_relu_figure, gradient_decay_figure, math_peek_bounds
from lab05.displays.act1_tax import act1_reveal, activation_comparator, show_options, show_source
from lab05.displays.act2_compute import compute_waterfall_figure, layer_share_figure
from lab05.displays.act2_memory import act2_reveal, explore_memory_ledger, memory_ledger_figure
from lab05.displays.act2_scaling import batch_scaling_figure, width_challenge_figure
from lab05.displays.deployment import deployment_table, memory_hierarchy_summary
from lab05.displays.feedback import reflection_feedback
from lab05.displays.measure import depth_experiment_figure, measured_training_step_figure, weights_anchor

__all__ = [
    "act1_reveal",
    "act2_reveal",
    "activation_comparator",
    "batch_scaling_figure",
    "compute_waterfall_figure",
    "deployment_table",
    "depth_experiment_figure",
    "dying_relu_figure",
    "explore_memory_ledger",
    "gradient_decay_figure",
    "layer_share_figure",
    "math_peek_bounds",
    "measured_training_step_figure",
    "memory_hierarchy_summary",
    "memory_ledger_figure",
    "reflection_feedback",
    "show_options",
    "show_source",
    "weights_anchor",
    "width_challenge_figure",
]
