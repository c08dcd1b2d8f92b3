"""The built distributions exist, match the source, and leak nothing to students."""

from __future__ import annotations

import ast
import filecmp
import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from lab05_autograder.hidden import GRADED_FUNCTIONS

from tools import layout
from tools.build import pipeline
from tools.build.reference import reference_module_source
from tools.layout import (
    ASSIGNMENT,
    AUTOGRADER,
    AUTOGRADER_ZIP,
    BUNDLE_FILES,
    HANDOUT,
    NOTEBOOK,
    REFERENCE,
    ROOT,
    SOLUTIONS,
    STUDENT,
)

GENERATED = tuple(str(folder.relative_to(ROOT)) for folder in (STUDENT, AUTOGRADER, SOLUTIONS))


def student_files():
    return sorted(p for p in STUDENT.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """A fresh build from assignment/ into a temporary folder."""
    out = tmp_path_factory.mktemp("rebuild")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.build", "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"tools.build failed:\n{proc.stderr[-3000:]}"
    return out


def test_every_output_is_present():
    for path in (
        AUTOGRADER_ZIP,
        STUDENT / NOTEBOOK,
        STUDENT / "requirements.txt",
        *(STUDENT / name for name in layout.support_file_names()),
        SOLUTIONS / NOTEBOOK,
        SOLUTIONS / REFERENCE,
    ):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make`"


def test_reference_module_is_extracted_from_the_master_notebook():
    expected = reference_module_source(ASSIGNMENT / NOTEBOOK, f"assignment/{NOTEBOOK}")
    got = (SOLUTIONS / REFERENCE).read_text(encoding="utf-8")
    assert got == expected, "solutions/lab05_reference.py differs from the master notebook: run `make`"


def test_reference_module_defines_every_graded_function():
    tree = ast.parse((SOLUTIONS / REFERENCE).read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = set(GRADED_FUNCTIONS) - defined
    assert not missing, f"reference module lacks {sorted(missing)}"


def test_committed_outputs_match_a_fresh_build(rebuilt):
    """`make` twice gives the same bytes, and what is committed is what the source builds."""
    for folder in GENERATED:
        ours, fresh = ROOT / folder, rebuilt / folder
        names = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file())
        committed = sorted(
            str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
        assert committed == names, f"{folder}/ holds {committed}, a fresh build holds {names}: run `make`"
        _, mismatch, errors = filecmp.cmpfiles(ours, fresh, names, shallow=False)
        assert not mismatch and not errors, (
            f"{folder}/: {mismatch + errors} differ from a fresh build of assignment/: run `make` and commit"
        )


def test_autograder_zip_is_reproducible_and_complete():
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names), "zip entries are not in a fixed order"
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}, "zip entries carry build times"
        autograder_only = [n for n in layout.autograder_only_files() if n != layout.BUNDLE_REQUIREMENTS]
        shipped = [
            f"{BUNDLE_FILES}/{name}"
            for name in layout.support_file_names() + layout.file_names(autograder_only, ASSIGNMENT)
        ]
        for required in (
            "run_autograder",
            "run_otter.py",
            "setup.sh",
            "environment.yml",
            "otter_config.json",
            *shipped,
        ):
            assert required in names, f"{required} missing from autograder.zip (has {names})"
        env = zf.read("environment.yml").decode()
        config = json.loads(zf.read("otter_config.json"))
    assert "python=3.11" in env, f"the bundle's Python is not pinned to 3.11:\n{env}"
    assert "otter-grader[grading,plugins]==7.0.0" in env, env
    assert config.get("pdf") is False, config


def test_notebooks_carry_no_execution_metadata_and_stable_ids():
    for path in (STUDENT / NOTEBOOK, SOLUTIONS / NOTEBOOK, SOLUTIONS / HANDOUT, AUTOGRADER / NOTEBOOK):
        nb = nbformat.read(str(path), as_version=4)
        ids = [c.id for c in nb.cells]
        assert ids == [f"cell-{i:03d}" for i in range(len(ids))], f"{path}: unstable cell ids"
        assert not any("execution" in c.metadata for c in nb.cells), f"{path}: execution metadata left in"


def test_student_notebook_has_no_outputs():
    nb = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    with_output = [c.id for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert not with_output, f"student notebook cells with outputs: {with_output}"


def _function_bodies(source: str) -> dict[str, list[str]]:
    """The statements of each graded function after its given argument checks, as source lines."""
    bodies = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in GRADED_FUNCTIONS:
            statements = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            solution = [
                ast.unparse(s) for s in statements if "validate_" not in ast.unparse(s)
            ]  # argument checks are given to students
            bodies[node.name] = solution
    return bodies


def test_student_notebook_holds_no_solution_code():
    reference = _function_bodies((SOLUTIONS / REFERENCE).read_text())
    student_bodies = _function_bodies(_cells_as_module(STUDENT / NOTEBOOK))
    for name, lines in reference.items():
        assert name in student_bodies, f"the student notebook does not define {name}"
        leaked = [line for line in lines if line in student_bodies[name] and "NotImplementedError" not in line]
        assert not leaked, f"{name}: solution lines in the student notebook: {leaked}"
        assert any("NotImplementedError" in line for line in student_bodies[name]), (
            f"{name}: the student stub should raise NotImplementedError"
        )


def _cells_as_module(path: pathlib.Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    code = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.source.lstrip().startswith(("%", "!")):
            code.append("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%")))
    return "\n\n".join(code)


def test_the_handout_solution_is_executed_and_free_of_otter_markers():
    from tools.build import leakcheck

    nb = nbformat.read(str(SOLUTIONS / HANDOUT), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    code_text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    markers = [m for m in leakcheck.MARKERS + ("<!-- BEGIN QUESTION",) if m in text]
    markers += [m for m in ("grader.", "otter") if m in code_text]
    assert not markers, f"{HANDOUT} still holds Otter's {markers}"
    assert "otter" not in nb.metadata, f"{HANDOUT} metadata: {sorted(nb.metadata)}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{HANDOUT}: expected every cell run in order, got {counts}"
    errors = [c.source[:40] for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{HANDOUT}: cells with errors {errors}"
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    solution = nbformat.read(str(SOLUTIONS / NOTEBOOK), as_version=4)
    expected = sum("image/png" in o.get("data", {}) for c in solution.cells if c.cell_type == "code" for o in c.outputs)
    assert figures == expected > 0, f"{HANDOUT}: expected the solution's {expected} figures, got {figures}"
    # The graded functions are the reference's, statement for statement.
    reference = _function_bodies((SOLUTIONS / REFERENCE).read_text())
    handed_out = _function_bodies(_cells_as_module(SOLUTIONS / HANDOUT))
    assert handed_out == reference, "the handout's functions differ from solutions/lab05_reference.py"


def test_handout_cleaning_removes_markers_and_stubs_but_keeps_the_code():
    from tools.build.handout import clean_code

    source = (
        'def f(x):\n    """Doc."""\n    check(x)\n    # BEGIN SOLUTION NO PROMPT\n    return x + 1\n'
        '    # END SOLUTION\n    """ # BEGIN PROMPT\n    raise NotImplementedError("f")\n    """ # END PROMPT\n'
    )
    assert clean_code(source) == 'def f(x):\n    """Doc."""\n    check(x)\n    return x + 1'
    assert clean_code("ratio = a / b  # SOLUTION") == "ratio = a / b"
    assert (
        clean_code(
            '""" # BEGIN PROMPT\nanswer = None\n""" # END PROMPT\n# BEGIN SOLUTION NO PROMPT\n'
            'answer = "B"\n# END SOLUTION'
        )
        == 'answer = "B"'
    )


def test_student_distribution_passes_the_leak_scan():
    from tools.build import leakcheck

    problems = leakcheck.scan(STUDENT)
    assert not problems, "the student distribution leaks:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "planted, reported",
    [
        ("    params = parameter_count(sizes)", "solution code of training_memory"),
        ("# BEGIN SOLUTION", "Otter marker"),
        ("hidden.test_stall_depth(env)", "hidden test 'test_stall_depth'"),
        ("from lab05_autograder import hidden", "hidden test 'lab05_autograder'"),
        ("total = 1,876,384", "reference value 1,876,384"),
        ("weights = 437544", "reference value 437,544"),
    ],
)
def test_the_leak_scan_finds_what_is_planted(tmp_path, planted, reported):
    from tools.build import leakcheck

    shutil.copytree(STUDENT, tmp_path / "student")
    with open(tmp_path / "student" / "lab05" / "displays" / "act1.py", "a", encoding="utf-8") as f:
        f.write("\n" + planted + "\n")
    problems = leakcheck.scan(tmp_path / "student")
    assert any(reported in p for p in problems), (
        f"planted {planted!r}; expected a report with {reported!r}; got {problems}"
    )


@pytest.mark.parametrize("name", layout.autograder_only_files())
def test_the_leak_scan_flags_autograder_only_files(tmp_path, name):
    from tools.build import leakcheck

    shutil.copytree(STUDENT, tmp_path / "student")
    (tmp_path / "student" / name).write_text("# only the autograder may hold this file\n", encoding="utf-8")
    problems = leakcheck.scan(tmp_path / "student")
    assert f"{name}: autograder-only file" in problems, (
        f"planted {name} in student/; expected it reported; got {problems}"
    )


def test_generated_outputs_are_committed():
    """What `make` built here is what the repository holds (run after `make` in CI)."""
    proc = subprocess.run(["git", "status", "--porcelain", "--", *GENERATED], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"git status failed: {proc.stderr}"
    assert proc.stdout == "", (
        "generated files differ from the commit: run `make`, review, and commit them\n" + proc.stdout
    )


def test_make_with_nothing_changed_does_no_work():
    proc = subprocess.run(["make", "--question", "all"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"`make` would rebuild although nothing changed:\n{proc.stdout}{proc.stderr}"


def test_a_stalled_solution_run_is_retried_once_in_a_fresh_kernel(monkeypatch, capsys):
    """A kernel that stops answering (a lost message) costs one more run of the solution, not the build."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    original, calls = NotebookClient.execute, []

    def stalls_once(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 1:
            raise CellTimeoutError("A cell timed out while it was being executed, after 180 seconds.")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NotebookClient, "execute", stalls_once)
    support = [STUDENT / name for name in layout.support_files()]
    nb = pipeline.execute_solution(AUTOGRADER, support)
    assert len(calls) == 2, f"execute was called {len(calls)} times for one stall; expected 2"
    assert "running it again in a fresh kernel" in capsys.readouterr().err
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    assert executed, "the second run executed no cell"
    assert not any(o.get("output_type") == "error" for c in executed for o in c.outputs), "the second run raised"


def test_a_solution_that_stalls_every_time_fails_the_build(monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    calls = []

    def always_stalls(self, *args, **kwargs):
        calls.append(self)
        raise CellTimeoutError("A cell timed out while it was being executed, after 180 seconds.")

    monkeypatch.setattr(NotebookClient, "execute", always_stalls)
    with pytest.raises(CellTimeoutError):
        pipeline.execute_solution(AUTOGRADER, [STUDENT / name for name in layout.support_files()])
    assert len(calls) == pipeline.EXECUTE_ATTEMPTS, f"{len(calls)} attempts; expected {pipeline.EXECUTE_ATTEMPTS}"


def test_pdfs_on_changes_the_config_and_the_export_cell_only(tmp_path):
    import json

    master = tmp_path / NOTEBOOK
    shutil.copy(layout.ASSIGNMENT / NOTEBOOK, master)
    before = json.loads(master.read_text(encoding="utf-8"))
    pipeline.enable_pdfs(master)
    after = json.loads(master.read_text(encoding="utf-8"))
    index, config = layout.config_cell(after["cells"])
    assert config["generate"]["pdf"] is True, f"input: make PDF=1; expected generate.pdf true, got {config['generate']}"
    _, original = layout.config_cell(before["cells"])
    original["generate"]["pdf"] = True
    assert config == original, f"expected only generate.pdf changed; got {config}"
    changed = [
        i
        for i, (a, b) in enumerate(zip(before["cells"], after["cells"]))
        if "".join(a["source"]) != "".join(b["source"])
    ]
    exports = [i for i, c in enumerate(after["cells"]) if "export_submission(grader, pdf=True)" in "".join(c["source"])]
    assert len(exports) == 1 and sorted(changed) == sorted([index, *exports]), (
        f"expected the config cell and one export cell changed; got cells {changed} (exports {exports})"
    )


def test_pdfs_on_needs_the_export_cell(tmp_path):
    import nbformat

    nb = nbformat.read(str(layout.ASSIGNMENT / NOTEBOOK), as_version=4)
    nb.cells = [c for c in nb.cells if "export_submission(" not in c.source]
    master = tmp_path / NOTEBOOK
    nbformat.write(nb, str(master))
    with pytest.raises(pipeline.BuildError, match="exactly one `export_submission"):
        pipeline.enable_pdfs(master)
