"""Grading through the committed bundle, the same code path Gradescope runs."""

from __future__ import annotations

import json
import zipfile

import nbformat
from conftest import grade, possible_points
from lab05_autograder.hidden import ANSWERS, GRADED_FUNCTIONS
from nbclient import NotebookClient

from tools.grading.bundle import question_files
from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, STUDENT
from tools.qa import notebooks

MANUAL = {"batch_doubling_explanation"}


def test_reference_solution_earns_full_marks(solution_grades):
    _, scores = solution_grades
    possible = possible_points()
    assert set(scores) == set(possible), f"graded questions {sorted(scores)}, bundle has {sorted(possible)}"
    short = {q: f"{scores[q]:g}/{possible[q]:g}" for q in possible if scores[q] != possible[q]}
    assert not short, f"the solution lost points: {short}"


def test_blank_student_notebook_earns_zero_on_every_question(student_grades):
    _, scores = student_grades
    earned = {q: s for q, s in scores.items() if s}
    assert not earned, f"the untouched student notebook earned points: {earned}"


def test_every_question_has_explicit_points_per_test():
    for test_file in question_files(AUTOGRADER_ZIP):
        name, points, cases = test_file.path, test_file.points, test_file.cases
        assert isinstance(points, list) and len(points) == len(cases), (
            f"{name}: points {points!r} should list one value per test case ({len(cases)})"
        )
        assert [c.points for c in cases] == [None] * len(cases) or [c.points for c in cases] == points, (
            f"{name}: test points disagree with {points}"
        )


NUMPY_RESULTS = """
import functools as _functools

def _numpy_results(fn):
    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        if isinstance(out, dict):
            return {k: np.int64(v) for k, v in out.items()}
        if isinstance(out, list):
            return np.array(out, dtype=np.int64)
        if isinstance(out, bool) or out is None:
            return out
        if isinstance(out, int):
            return np.int64(out)
        if isinstance(out, float):
            return np.float64(out)
        return out
    return wrapper

for _name in GRADED_FUNCTIONS:
    globals()[_name] = _numpy_results(globals()[_name])
""".replace("GRADED_FUNCTIONS", repr(GRADED_FUNCTIONS))


def test_numpy_scalar_results_still_earn_full_marks(tmp_path):
    nb = notebooks.append_after(notebooks.solution(), "def max_trainable_width", NUMPY_RESULTS)
    nb = notebooks.replace_cell(
        nb, "batch_size_chosen = ", 'activation_choice = "gelu"\nbatch_size_chosen = np.int64(64)'
    )
    _, scores = grade(notebooks.write(nb, tmp_path))
    possible = possible_points()
    short = {q: f"{scores[q]:g}/{possible[q]:g}" for q in possible if scores[q] != possible[q]}
    assert not short, f"NumPy results lost points: {short}"


def test_a_ledger_the_notebook_did_not_write_earns_nothing(tmp_path):
    import lab05_reference as ref

    import lab05.ledger
    from lab05 import constants

    hand_made = lab05.ledger.build_ledger(
        activation_choice="relu",
        batch_size_chosen=64,
        max_trainable_width_laptop_gpu=ref.max_trainable_width(8 * constants.BYTES_PER_GIB, 64),
        training_memory_estimate_error_kib=900 - ref.training_memory([784, 128, 64, 10], 32)["total"] / 1024,
        act1_prediction="C",
        act2_estimate_kib=900,
        batch_doubling_ratio=1.067,
        batch_doubling_explanation="x",
        **ANSWERS,  # the best answer to each multiple-choice question
    )
    nb = notebooks.replace_cell(notebooks.solution(), "design_ledger = record_design(", "design_ledger = None")
    submission = notebooks.write(nb, tmp_path, {"design_ledger.json": json.dumps(hand_made)})
    _, scores = grade(submission)
    assert scores["design_ledger"] == 0, f"a hand-made ledger earned {scores['design_ledger']} points"
    others = {q: s for q, s in scores.items() if q != "design_ledger"}
    assert all(s > 0 for s in others.values()), f"other questions changed: {others}"


def test_a_function_that_never_returns_costs_only_its_question(tmp_path, solution_grades):
    looping = """
def stall_depth(threshold=1e-6, max_derivative=0.25):
    depth = 1
    while gradient_bound(depth, max_derivative) >= threshold or True:
        depth += 1
    return depth
"""
    _, scores = grade(
        notebooks.write(notebooks.replace_function(notebooks.solution(), "stall_depth", looping), tmp_path)
    )
    _, full = solution_grades
    changed = {q: (full[q], scores[q]) for q in full if scores[q] != full[q]}
    assert set(changed) == {"gradient_decay"}, f"questions that changed (full, got): {changed}"
    assert 0 < scores["gradient_decay"] < full["gradient_decay"], scores["gradient_decay"]


def test_the_export_cell_writes_a_zip_that_grades_full_marks(tmp_path):
    """The student path end to end: run the notebook, export, grade the zip."""
    notebooks.copy_student_files(tmp_path)
    nbformat.write(notebooks.solution(), str(tmp_path / NOTEBOOK))
    nb = nbformat.read(str(tmp_path / NOTEBOOK), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    zips = sorted(tmp_path.glob("lab05_nn_compute_*.zip"))
    assert len(zips) == 1, f"expected one exported zip, found {[z.name for z in zips]}"
    with zipfile.ZipFile(zips[0]) as zf:
        names = set(zf.namelist())
    assert {NOTEBOOK, "design_ledger.json"} <= names, f"the export zip holds {sorted(names)}"
    _, scores = grade(zips[0])
    possible = possible_points()
    assert scores == {q: possible[q] for q in scores}, f"exported zip scored {scores}"


def _run_and_export(nb: nbformat.NotebookNode, folder) -> tuple[nbformat.NotebookNode, list]:
    """Save ``nb`` beside the student files in ``folder``, run it top to bottom, return it and the zips."""
    notebooks.copy_student_files(folder)
    nbformat.write(nb, str(folder / NOTEBOOK))
    nb = nbformat.read(str(folder / NOTEBOOK), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb, sorted(folder.glob("lab05_nn_compute_*.zip"))


def test_a_notebook_with_one_stub_exports_and_grades_to_its_partial_score(tmp_path):
    """Unfinished work is submitted: with max_trainable_width still the student's stub, the ledger
    records null for the width, the export warns and writes the zip, and the zip earns every point
    except the stub's own question. The ledger question keeps its points: the null agrees with
    what the notebook's own max_trainable_width computes (nothing), so the stub costs points once."""
    student = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    stub = notebooks.function_source(student, "max_trainable_width")
    assert "NotImplementedError" in stub, stub
    nb, zips = _run_and_export(notebooks.replace_function(notebooks.solution(), "max_trainable_width", stub), tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert len(zips) == 1, f"expected one exported zip, found {[z.name for z in zips]}; output ends {text[-600:]}"
    assert "unfinished" in text and "max_trainable_width" in text.split("unfinished", 1)[1], text[-800:]
    with zipfile.ZipFile(zips[0]) as zf:
        ledger = json.loads(zf.read("design_ledger.json"))
    import lab05.ledger

    assert ledger["max_trainable_width_laptop_gpu"] is None and lab05.ledger.ledger_problems(ledger) == [], ledger
    _, scores = grade(zips[0])
    possible = possible_points()
    expected = {q: (0 if q == "max_trainable_width" else possible[q]) for q in possible}
    assert scores == expected, (
        f"input: max_trainable_width a stub; expected {sum(expected.values()):g}/"
        f"{sum(possible.values()):g} {expected}, got {sum(scores.values()):g} {scores}"
    )


def test_a_cell_that_never_finishes_is_stopped_and_grading_goes_on(tmp_path, solution_grades):
    """Otter has no per-cell time limit; the notebook sets one while it is graded."""
    nb = notebooks.replace_cell(
        notebooks.solution(), "batch_doubling_ratio = ", "batch_doubling_ratio = 1.0\nwhile True:\n    pass"
    )
    setup = next(c.source for c in nb.cells if "= limit_cell_time_while_grading()" in c.source)
    nb = notebooks.replace_cell(
        nb, setup, setup.replace("limit_cell_time_while_grading()", "limit_cell_time_while_grading(3)")
    )
    results, scores = grade(notebooks.write(nb, tmp_path))
    _, full = solution_grades
    changed = {q: (full[q], scores[q]) for q in full if scores[q] != full[q]}
    assert set(changed) <= {"batch_doubling", "design_ledger"} and "batch_doubling" in changed, (
        f"questions that changed (full, got): {changed}; expected batch_doubling (and the ledger that records it)"
    )


def test_the_untouched_student_notebook_runs_top_to_bottom_without_an_error(tmp_path):
    """A student who runs everything before writing any code sees messages, not tracebacks."""
    notebooks.copy_student_files(tmp_path, notebook=True)
    nb = nbformat.read(str(tmp_path / NOTEBOOK), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [
        (i, o.get("ename"))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"cells that raised (index, exception): {errors}"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "This instrument opens once you commit to a prediction" in text, "the locked instruments said nothing"
    # Unfinished work exports: the notebook alone (no ledger yet), with a list of what is unfinished.
    zips = list(tmp_path.glob("*.zip"))
    assert len(zips) == 1, f"expected the export to write one zip, got {zips}"
    with zipfile.ZipFile(zips[0]) as zf:
        names = zf.namelist()
    assert NOTEBOOK in names and "design_ledger.json" not in names, f"expected the notebook, no ledger: {names}"
    assert "unfinished" in text and "functions still to write" in text, f"the export did not warn: {text[-800:]}"
    assert "False" not in [
        o.get("data", {}).get("text/plain") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    ], "a cell shows a stray False"
