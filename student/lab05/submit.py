"""Export for Gradescope: the zip is made only from a saved notebook that this kernel ran."""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from lab05 import guards
from lab05.ledger import COMPUTED_LEDGER_VALUES, LAST_WRITTEN, LEDGER_FILENAME, build_ledger


# ---------------------------------------------------------------------------------------------
# Export: the saved notebook must be the one this kernel ran
# ---------------------------------------------------------------------------------------------
def normalise_code(source: str) -> str:
    """Cell code compared without trailing spaces, blank edge lines or line-ending differences."""
    lines = [line.rstrip() for line in source.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def saved_code_cells(notebook: os.PathLike) -> list[tuple[int | None, str]]:
    """``(execution_count, code)`` of every non-empty code cell of the notebook file, in order."""
    nb = json.loads(pathlib.Path(notebook).read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if normalise_code(source):
            cells.append((cell.get("execution_count"), source))
    return cells


def _first_line(code: str) -> str:
    line = normalise_code(code).split("\n", 1)[0]
    return line if len(line) <= 60 else line[:57] + "..."


def unsaved_work(saved_cells: list[tuple[int | None, str]], history: list[str], current: int) -> list[str]:
    """How the saved notebook differs from what this kernel ran; empty when they agree.

    Args:
        saved_cells: ``(execution_count, code)`` of the code cells on disk (``saved_code_cells``).
        history: the code this kernel ran, indexed by execution count (IPython's ``In``:
            ``history[n]`` is ``In[n]``; ``history[0]`` is unused).
        current: the execution count of the cell running now (the export cell), left out.

    The two agree when (1) every saved cell that records an execution count ``n`` holds the code
    that ran as ``In[n]`` (a cell changed after it ran, or saved by another kernel session,
    fails this), and (2) everything that ran after the last save (a count above every saved
    one) is code the saved notebook holds (a cell changed and run again, but not saved, fails
    this; running unchanged code again does not).
    """
    problems = []
    saved = {normalise_code(code) for _, code in saved_cells}
    recorded = [n for n, _ in saved_cells if isinstance(n, int)]
    for n, code in saved_cells:
        if not isinstance(n, int):
            continue
        if not 0 < n < len(history):
            problems.append(
                f"the saved cell [{n}] `{_first_line(code)}` was run by another kernel session, not this one"
            )
        elif normalise_code(history[n]) != normalise_code(code):
            problems.append(
                f"the saved cell [{n}] `{_first_line(code)}` is not the code that ran as [{n}]: it "
                "was changed after it ran"
            )
    last_saved = max(recorded, default=0)
    for k in range(last_saved + 1, len(history)):
        if k == current or not normalise_code(history[k]):
            continue
        if normalise_code(history[k]) not in saved:
            problems.append(
                f"cell [{k}] `{_first_line(history[k])}` ran after the notebook was last saved, "
                "and the saved notebook does not hold its code"
            )
    return problems


def _kernel_history() -> tuple[list[str], int] | None:
    """(this session's inputs by execution count, the running cell's count), or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "history_manager", None) is None:
        return None
    return list(shell.history_manager.input_hist_raw), shell.execution_count


def unfinished_work(namespace: Mapping[str, Any]) -> list[str]:
    """What the notebook's namespace shows as unfinished: stub functions and unset answers."""
    import inspect

    stubs = sorted(
        name
        for name, value in namespace.items()
        if inspect.isfunction(value)
        and getattr(value, "__module__", None) == "__main__"
        and "NotImplementedError" in value.__code__.co_names
    )
    answers = [
        name
        for name in inspect.signature(build_ledger).parameters
        if name not in ("max_trainable_width_laptop_gpu", "training_memory_estimate_error_kib")
    ]
    unset = [
        name
        for name in answers
        if name not in namespace
        or namespace[name] is None
        or namespace[name] is Ellipsis
        or (isinstance(namespace[name], str) and not namespace[name].strip())
    ]
    found = []
    if stubs:
        found.append("functions still to write: " + ", ".join(stubs))
    if unset:
        found.append("answers not set yet: " + ", ".join(unset))
    return found


def _ledger_state() -> list[str]:
    """What is wrong with design_ledger.json on disk, as warnings (empty when it is complete)."""
    path = pathlib.Path(LEDGER_FILENAME)
    if not path.is_file():
        return [
            f"{LEDGER_FILENAME} is missing (the cell that records your design says why), so the zip "
            "holds the notebook only; the Design Ledger question earns nothing until it is written"
        ]
    text = path.read_text(encoding="utf-8")
    if LAST_WRITTEN.get("text") != text:
        return [
            f"{LEDGER_FILENAME} was not written by this run of the notebook: run the cell that records "
            "your design (the autograder writes its own when it runs your notebook)"
        ]
    try:
        ledger = json.loads(text)
    except ValueError:
        return [f"{LEDGER_FILENAME} is not valid JSON"]
    values = {**ledger, **ledger.get("reflections", {})} if isinstance(ledger, dict) else {}
    nulls = [key for key in COMPUTED_LEDGER_VALUES if key in values and values[key] is None]
    return [f"the Design Ledger records null (not computed yet) for: {', '.join(nulls)}"] if nulls else []


def export_submission(grader, notebook: str = "lab05_nn_compute.ipynb", pdf: bool = False) -> pathlib.Path | None:
    """Write the submission zip (the notebook and ``design_ledger.json``) for Gradescope.

    First checks that the notebook saved on disk is the one this kernel ran (see
    :func:`unsaved_work`): the zip packs the file on disk, so unsaved changes would be lost
    silently. If they differ, nothing is written and the message says to save and run the cell
    again. Unfinished work is exported, with a list of what is unfinished. The zip is checked
    after writing: if anything goes wrong, the partial zip is removed and the reason printed, so
    a broken zip is never left behind to be uploaded by mistake.

    Returns:
        The zip's path, or ``None`` if no zip was written.
    """
    import zipfile

    if guards.is_grading():
        return None
    notebook_path = pathlib.Path(notebook)
    if not notebook_path.is_file():
        print(
            f"✋ {notebook} is not in this folder ({pathlib.Path.cwd()}): the export packs the saved "
            "notebook, so run this cell in the notebook beside it. No zip was written."
        )
        return None
    kernel = _kernel_history()
    if kernel is None:
        print(
            "(Not running in IPython: cannot check that the saved notebook is the one that ran; "
            "make sure you saved it.)"
        )
    else:
        history, current = kernel
        problems = unsaved_work(saved_code_cells(notebook_path), history, current)
        if problems:
            shown = problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5 else [])
            print(
                "✋ The notebook saved on disk is not the one this kernel ran, so the zip would not hold "
                "your latest work:\n  - " + "\n  - ".join(shown) + "\n"
                "Save the notebook (File > Save Notebook, or Ctrl+S / Cmd+S), then run this cell again. "
                "(If a cell was changed after it ran, run it, or Kernel > Restart Kernel and Run All "
                "Cells…, and save first.) No zip was written."
            )
            return None
    warnings_ = []
    if kernel is not None:
        from IPython import get_ipython

        warnings_ += unfinished_work(get_ipython().user_ns)
    warnings_ += _ledger_state()
    has_ledger = pathlib.Path(LEDGER_FILENAME).is_file()
    stamp = _dt.datetime.now().strftime("%Y_%m_%dT%H_%M_%S")
    path = pathlib.Path(f"{notebook_path.stem}_{stamp}.zip")
    try:
        files = [LEDGER_FILENAME] if has_ledger else []
        grader.export(notebook, export_path=str(path), pdf=pdf, files=files, force_save=False)
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            damaged = zf.testzip()
        missing = {notebook_path.name, *files} - names
        if damaged or missing:
            raise RuntimeError(f"the zip is incomplete (damaged: {damaged}, missing: {sorted(missing)})")
    except Exception as exc:
        path.unlink(missing_ok=True)
        print(f"✋ The export failed and no zip was kept: {type(exc).__name__}: {exc}")
        if pdf:
            print("   PDF export needs pandoc and LaTeX on this machine; ask your instructor.")
        return None
    if warnings_:
        print(
            f"⚠️ Wrote {path}, but your work is unfinished; the autograder gives points only for what "
            "works:\n  - " + "\n  - ".join(warnings_) + "\n"
            "You can upload this zip now and upload a new one when you have finished."
        )
    else:
        print(f"Wrote {path}: upload it to Gradescope.")
    return path
