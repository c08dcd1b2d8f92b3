"""lab05.displays as a whole: its own rules, silence while grading, and ``display_guard`` around the
student's code.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import pathlib
import time

import lab05_reference as ref
import matplotlib.pyplot as plt
import pytest
from figures import CLEAN_FIGURES, LAPTOP, Recorder

from lab05 import displays, guards
from lab05.constants import ACTIVATION_TRANSISTORS, BYTES_FP32, MNIST_LAYER_SIZES
from lab05.displays import act1_gradients, act2_compute, act2_scaling

pytestmark = CLEAN_FIGURES


def test_module_never_uses_the_reference_or_plt_show():
    modules = sorted(pathlib.Path(displays.__file__).parent.glob("*.py"))
    assert len(modules) >= 5, f"expected the display modules, got {modules}"
    for module in modules:
        source = module.read_text(encoding="utf-8")
        assert "lab05_reference" not in source, f"input: {module.name}; expected no reference import, got one"
        assert "plt.show(" not in source, f"input: {module.name}; expected no plt.show(), got one"
        assert "matplotlib.use(" not in source, f"input: {module.name}; expected no backend switch, got one"


DISPLAYS = {
    "activation_comparator": lambda f: displays.activation_comparator("C", ACTIVATION_TRANSISTORS),
    "act1_reveal": lambda f: displays.act1_reveal("C", f, f),
    "gradient_decay_figure": lambda f: displays.gradient_decay_figure(f, f, f),
    "dying_relu_figure": lambda f: displays.dying_relu_figure(),
    "math_peek_bounds": lambda f: displays.math_peek_bounds(f, f),
    "act2_reveal": lambda f: displays.act2_reveal(900, f, f),
    "memory_ledger_figure": lambda f: displays.memory_ledger_figure(
        f, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP
    ),
    "width_challenge_figure": lambda f: displays.width_challenge_figure(f, f),
    "layer_share_figure": lambda f: displays.layer_share_figure(f),
    "compute_waterfall_figure": lambda f: displays.compute_waterfall_figure(f, f, MNIST_LAYER_SIZES, 32),
    "batch_scaling_figure": lambda f: displays.batch_scaling_figure(f, MNIST_LAYER_SIZES, 2),
    "deployment_table": lambda f: displays.deployment_table(f, f, MNIST_LAYER_SIZES),
    "memory_hierarchy_summary": lambda f: displays.memory_hierarchy_summary(f, MNIST_LAYER_SIZES, 32),
    "weights_anchor": lambda f: displays.weights_anchor(),
    "reflection_feedback": lambda f: displays.reflection_feedback("act2_reflection", "B"),
    "measured_training_step_figure": lambda f: displays.measured_training_step_figure(f),
    "depth_experiment_figure": lambda f: displays.depth_experiment_figure(f, f),
}


@pytest.mark.parametrize("name", sorted(DISPLAYS))
def test_displays_are_skipped_while_the_autograder_runs(name, monkeypatch, capsys):
    monkeypatch.setattr(guards, "is_grading", lambda: True)
    student = Recorder()
    result = DISPLAYS[name](student)
    out = capsys.readouterr().out
    assert result is None, f"input: {name} while grading; expected None, got {result!r}"
    assert student.calls == [], f"input: {name} while grading; expected no student call, got {student.calls}"
    assert out == "(Figures and reveals are skipped while the autograder runs the notebook.)\n", (
        f"input: {name} while grading; expected the one skip line, got {out!r}"
    )
    assert plt.get_fignums() == [], f"input: {name} while grading; expected no figure, got {plt.get_fignums()}"


@pytest.mark.parametrize(
    "compute",
    [
        lambda f: act1_gradients.gradient_decay(f, ref.stall_depth, ref.sigmoid_derivative),
        lambda f: act2_scaling.width_challenge(ref.training_memory, f),
        lambda f: act2_scaling.batch_scaling(f, MNIST_LAYER_SIZES),
        lambda f: act2_compute.training_step_flops(ref.layer_macs, f, MNIST_LAYER_SIZES, 32),
    ],
    ids=["decay", "width", "scaling", "waterfall"],
)
def test_compute_functions_open_no_figure(compute):
    with pytest.raises(NotImplementedError):
        compute(stub)
    assert plt.get_fignums() == [], f"input: a stub; expected no figure opened, got {plt.get_fignums()}"


def stub(*args, **kwargs):
    raise NotImplementedError("training_memory: replace this line with your code")


def returns_none(*args, **kwargs):
    return None


def loops_forever(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize(
    "call",
    [
        lambda f: displays.memory_ledger_figure(f, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP),
        lambda f: displays.width_challenge_figure(f, ref.max_trainable_width),
        lambda f: displays.batch_scaling_figure(f, MNIST_LAYER_SIZES, 1.5),
        lambda f: displays.act2_reveal(900, f, ref.inference_memory),
        lambda f: displays.deployment_table(f, ref.inference_memory, MNIST_LAYER_SIZES),
        lambda f: displays.memory_hierarchy_summary(f, MNIST_LAYER_SIZES, 32),
        # A stub met after other student code has returned.
        lambda f: displays.width_challenge_figure(ref.training_memory, f),
        lambda f: displays.layer_share_figure(f),
    ],
    ids=["ledger", "width", "scaling", "act2", "deployment", "hierarchy", "width-max", "layer-share"],
)
def test_guard_turns_a_stub_into_one_line(call, capsys):
    assert call(stub) is None, "input: a NotImplementedError stub; expected None"
    out = capsys.readouterr().out
    assert "not implemented yet" in out and out.count("\n") == 1, (
        f"input: stub; expected one friendly line, got {out!r}"
    )
    assert plt.get_fignums() == [], f"input: stub; expected no figure left open, got {plt.get_fignums()}"


def test_guard_passes_the_printout_of_a_display_that_works(capsys):
    displays.layer_share_figure(ref.layer_macs, widths=(128,))
    out = capsys.readouterr().out
    assert "W =    128: layer 1 does" in out, f"input: reference layer_macs; expected the shares printed, got {out!r}"


def test_guard_names_a_missing_return(capsys):
    result = displays.memory_ledger_figure(returns_none, MNIST_LAYER_SIZES, 32, BYTES_FP32, "adam", LAPTOP)
    out = capsys.readouterr().out
    assert result is None, f"input: training_memory returning None; expected None, got {result!r}"
    assert "returned None" in out, f"input: training_memory returning None; expected it named, got {out!r}"


def test_guard_stops_a_loop_that_never_ends(monkeypatch, capsys):
    monkeypatch.setattr(guards, "DISPLAY_TIME_LIMIT_S", 0.5)
    start = time.perf_counter()
    result = displays.gradient_decay_figure(loops_forever, ref.stall_depth, ref.sigmoid_derivative)
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out
    assert result is None, f"input: a gradient_bound that never returns; expected None, got {result!r}"
    assert "did not return" in out, f"input: endless loop; expected 'did not return', got {out!r}"
    assert elapsed < 5, f"input: endless loop, limit 0.5 s; expected a quick stop, got {elapsed:.1f} s"


def test_printed_results_stay_quiet_in_notebooks():
    result = displays.math_peek_bounds.__wrapped__(ref.gradient_bound, ref.stall_depth)
    rows = displays.deployment_table.__wrapped__(ref.training_memory, ref.inference_memory, MNIST_LAYER_SIZES)
    for value in (result, rows):
        assert hasattr(value, "_ipython_display_"), f"expected a quiet notebook display, got {type(value)}"
        assert value._ipython_display_() is None
    assert isinstance(result, dict) and isinstance(rows, list), f"got {type(result)}, {type(rows)}"
