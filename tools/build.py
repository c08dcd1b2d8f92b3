"""Build the student distribution, the autograder bundle and the executed solution.

    python -m tools.build [--out DIR]

Reads ``assignment/`` and the lock (``requirements.txt``, ``requirements.in``). Writes, under DIR
(the repository root by default):

* ``solutions/lab05_reference.py``: the reference module extracted from the master notebook;
* ``student/``: the student notebook, the files it needs and ``requirements.txt``;
* ``autograder/``: Otter's autograder output with the bundle under the stable name
  ``autograder.zip``; its environment pins the versions of the lock (``requirements.txt``, see
  ``tools/pins.py``);
* ``solutions/lab05_nn_compute.ipynb``: the solution notebook, executed;
* ``solutions/lab05_nn_compute_handout.ipynb``: the same, without Otter's markers and cells, to
  hand out after the due date.

Everything written is normalised (fixed zip timestamps and entry order, predictable cell ids,
no execution metadata) so that building twice from the same source gives the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

from tools import layout, normalize, pins
from tools.handout import handout
from tools.layout import (
    ASSIGNMENT,
    AUTOGRADER,
    AUTOGRADER_ZIP,
    BUNDLE_REQUIREMENTS,
    HANDOUT,
    LEDGER,
    NAME,
    NOTEBOOK,
    PLUGIN,
    REFERENCE,
    ROOT,
    SOLUTIONS,
    STUDENT,
)
from tools.notebooks import copy_into
from tools.reference import reference_module_source

STUDENT_REQUIREMENTS = """\
# Everything needed to run the Lab 05 notebook and its checks on your own machine, JupyterLab included:
#   python -m pip install -r requirements.txt
#   jupyter lab lab05_nn_compute.ipynb
"""
#: What students install: JupyterLab (the front end the README's first commands start), Otter, a
#: kernel, widgets and what the notebook's modules import, at the lock's versions (pip resolves the
#: rest). The grading environment leaves JupyterLab out (``# test-only`` in requirements.in).
STUDENT_PACKAGES = ("jupyterlab", "otter-grader", "ipykernel", "ipywidgets", "numpy", "matplotlib", "jsonschema")
#: Seconds one cell of the solution may take (the whole notebook runs in about ten): past it, the
#: kernel is presumed stalled (a lost message) and the notebook is run once more in a fresh kernel.
EXECUTE_TIMEOUT_S = 180
EXECUTE_ATTEMPTS = 2
SEED_CELL = "import random\nrandom.seed(0)"


class BuildError(RuntimeError):
    """The build cannot go on; the message says why and what to fix."""


def _student_requirements(lock: dict[str, tuple[str, str]]) -> str:
    """Pins for students: Otter, Jupyter's kernel, widgets and the notebook's imports, from the lock."""
    lines = [f"{lock[pins.canonical(name)][0]}=={lock[pins.canonical(name)][1]}" for name in STUDENT_PACKAGES]
    return STUDENT_REQUIREMENTS + "\n".join(sorted(lines, key=str.lower)) + "\n"


def write_bundle_requirements(stage: pathlib.Path) -> None:
    """Write the grading environment's pins (the lock minus test-only packages) for Otter Assign."""
    from otter.version import __version__ as otter_version

    try:
        grading = pins.bundle_pins()
    except pins.PinError as exc:
        raise BuildError(str(exc)) from exc
    if grading.get(pins.OTTER) != otter_version:
        raise BuildError(
            f"Otter {otter_version} is running, but requirements.txt pins "
            f"{pins.OTTER}=={grading.get(pins.OTTER)}: run `make venv`"
        )
    if (stage / BUNDLE_REQUIREMENTS).exists():
        raise BuildError(
            f"assignment/{BUNDLE_REQUIREMENTS} is generated from requirements.txt: delete it "
            "and change requirements.in, then `make lock`"
        )
    (stage / BUNDLE_REQUIREMENTS).write_text(pins.bundle_requirements(grading), encoding="utf-8")


def pdf_requested() -> bool:
    """Whether PDFs are on for this build (``make PDF=1`` sets LAB05_PDF=1)."""
    return os.environ.get("LAB05_PDF", "").strip().lower() in {"1", "true", "yes", "on"}


def enable_pdfs(master: pathlib.Path) -> None:
    """Turn on PDFs in a staged master: the export cell adds one, and the autograder makes one."""
    import nbformat
    import yaml

    nb = nbformat.read(str(master), as_version=4)
    index, config = layout.config_cell(nb.cells)
    config.setdefault("generate", {})["pdf"] = True
    nb.cells[index].source = f"{layout.CONFIG_MARKER}\n" + yaml.safe_dump(config, sort_keys=False)
    exports = [c for c in nb.cells if c.cell_type == "code" and "export_submission(grader, pdf=False)" in c.source]
    if len(exports) != 1:
        raise BuildError("the master needs exactly one `export_submission(grader, pdf=False)` cell")
    exports[0].source = exports[0].source.replace("pdf=False", "pdf=True")
    nbformat.write(nb, str(master))


def stage_sources(stage: pathlib.Path, pdf: bool = False) -> str:
    """Copy ``assignment/`` into ``stage`` and add the extracted reference module."""
    shutil.copytree(ASSIGNMENT, stage, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", LEDGER))
    if pdf:
        enable_pdfs(stage / NOTEBOOK)
    write_bundle_requirements(stage)
    reference = reference_module_source(stage / NOTEBOOK, f"assignment/{NOTEBOOK}")
    (stage / REFERENCE).write_text(reference, encoding="utf-8")
    # Otter Assign copies student_files from beside the master; the notebook writes the real one.
    (stage / LEDGER).write_text("{}\n", encoding="utf-8")
    return reference


def run_otter_assign(stage: pathlib.Path, dist: pathlib.Path) -> None:
    """Run Otter Assign; it also grades the solution through the new bundle and needs 100%."""
    from otter.assign import main as assign

    log = io.StringIO()
    sys.dont_write_bytecode = True  # the support package is copied from stage/ into the outputs
    sys.path.insert(0, str(stage))  # Otter imports the config's plugin, and the solution's grading runs it
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            assign(str(stage / NOTEBOOK), str(dist), no_pdfs=True)
    except Exception as exc:
        sys.stderr.write(log.getvalue())
        raise BuildError(f"otter assign failed: {exc}") from exc
    finally:
        sys.path.remove(str(stage))


def execute_solution(autograder_dir: pathlib.Path, files: list[pathlib.Path]) -> nbformat.NotebookNode:
    """Run the solution notebook top to bottom in a scratch folder holding the student files."""
    import matplotlib.font_manager  # noqa: F401 - builds matplotlib's font cache here, not in a
    import nbformat
    from nbclient import NotebookClient

    # cell of the solution (a fresh machine would otherwise print "building the font cache" there)
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for attempt in range(1, EXECUTE_ATTEMPTS + 1):
        nb = nbformat.read(str(autograder_dir / NOTEBOOK), as_version=4)
        # Otter cheers a passed check with a random emoji: seed it so that outputs are reproducible.
        nb.cells.insert(0, nbformat.v4.new_code_cell(SEED_CELL))
        with tempfile.TemporaryDirectory(prefix="lab05-solution-") as scratch:
            for f in [autograder_dir / NOTEBOOK, *files]:
                copy_into(f, pathlib.Path(scratch))
            client = NotebookClient(
                nb,
                timeout=EXECUTE_TIMEOUT_S,
                kernel_name="python3",
                resources={"metadata": {"path": scratch}},
                env={**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
            )
            try:
                client.execute()
                break
            except (CellTimeoutError, DeadKernelError) as exc:
                if attempt == EXECUTE_ATTEMPTS:
                    raise
                print(
                    f"executing the solution stalled ({type(exc).__name__}: {str(exc).strip()[:200]}); "
                    "running it again in a fresh kernel",
                    file=sys.stderr,
                )
    del nb.cells[0]
    for cell in nb.cells:
        if cell.cell_type == "code" and "export_submission(" in cell.source:
            cell.outputs = []  # names a zip after the time it was made
    return nb


def build(out: pathlib.Path, pdf: bool = False) -> None:
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="lab05-build-") as tmp:
        tmp = pathlib.Path(tmp)
        stage, dist = tmp / "stage", tmp / "dist"
        reference = stage_sources(stage, pdf)
        run_otter_assign(stage, dist)

        student_src, autograder_src = dist / "student", dist / "autograder"
        for leftover in (autograder_src / LEDGER, autograder_src / ".OTTER_LOG", student_src / ".OTTER_LOG"):
            leftover.unlink(missing_ok=True)

        # student/
        student_out = out / STUDENT.relative_to(ROOT)
        _replace_dir(student_out)
        for item in sorted(student_src.iterdir()):
            if item.suffix == ".ipynb":
                normalize.write_notebook(normalize.notebook(_read(item)), student_out / item.name)
            else:
                copy_into(item, student_out)
        (student_out / "requirements.txt").write_text(_student_requirements(pins.read_lock()), encoding="utf-8")

        # autograder/
        autograder_out = out / AUTOGRADER.relative_to(ROOT)
        _replace_dir(autograder_out)
        zips = sorted(autograder_src.glob(f"{NAME}-autograder_*.zip"))
        if len(zips) != 1:
            raise BuildError(f"expected one autograder zip from otter assign, found {[z.name for z in zips]}")
        # Gradescope runs run_otter.py from source/, the zip's top level: the plugin named in the
        # config must be importable from there (it loads trusted scoring from files/).
        plugin = (stage / PLUGIN).read_bytes()
        normalize.zip_file(zips[0], out / AUTOGRADER_ZIP.relative_to(ROOT), extra={PLUGIN: plugin})
        for item in sorted(autograder_src.iterdir()):
            if item in zips:
                continue
            target = autograder_out / item.name
            if item.is_dir():
                copy_into(item, autograder_out)
                for nested in sorted(target.rglob("*.ipynb")):
                    normalize.write_notebook(normalize.notebook(_read(nested)), nested)
            elif item.suffix == ".ipynb":
                normalize.write_notebook(normalize.notebook(_read(item)), target)
            else:
                shutil.copy(item, target)

        # solutions/
        solutions_out = out / SOLUTIONS.relative_to(ROOT)
        solutions_out.mkdir(parents=True, exist_ok=True)
        (solutions_out / REFERENCE).write_text(reference, encoding="utf-8")
        support = [p for p in sorted(stage.iterdir()) if p.name not in {NOTEBOOK, LEDGER}]
        executed = execute_solution(autograder_src, support)
        normalize.write_notebook(normalize.notebook(executed, keep_outputs=True), solutions_out / NOTEBOOK)
        normalize.write_notebook(normalize.notebook(handout(executed), keep_outputs=True), solutions_out / HANDOUT)


def _read(path: pathlib.Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def _replace_dir(path: pathlib.Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=ROOT,
        help="where to write student/, autograder/ and solutions/ (default: the repository root)",
    )
    parser.add_argument(
        "--pdf",
        action="store_true",
        default=pdf_requested(),
        help="students' export adds a PDF and the autograder makes one (needs pandoc and "
        "LaTeX wherever it runs); default from LAB05_PDF",
    )
    args = parser.parse_args(argv)
    try:
        build(args.out, args.pdf)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    print(f"built student/, autograder/ and solutions/ in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
