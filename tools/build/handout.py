"""The solution notebook to hand out after the due date: executed, without Otter's machinery.

``solutions/lab05_nn_compute.ipynb`` is the executed solution as the autograder sees it: its code
still carries Otter Assign's markers (``# BEGIN SOLUTION NO PROMPT``, the ``\"\"\" # BEGIN PROMPT``
blocks holding the students' stubs, ``# SOLUTION`` line ends) and its Otter cells (the
``otter.Notebook`` set-up, ``grader.check`` and the export). :func:`handout` turns it into a notebook
to give students: the same executed cells and outputs, with the markers, the stubs and the Otter
cells removed, and without the markdown cells tagged ``student-only`` (the instructions to run the
checks, to submit and to export). Markers are comments and the stubs are unreachable string
literals, so removing them changes no output.
"""

from __future__ import annotations

import copy
import re

import nbformat

#: Lines of code that are only Otter Assign markers.
_MARKER_LINE = re.compile(r"^\s*#\s*(BEGIN|END) SOLUTION( NO PROMPT)?\s*$")
_PROMPT_BEGIN = re.compile(r'^\s*"""\s*#\s*BEGIN PROMPT\s*$')
_PROMPT_END = re.compile(r'^\s*"""\s*#\s*END PROMPT\s*$')
_SOLUTION_SUFFIX = re.compile(r"\s*#\s*SOLUTION\s*$")
#: Otter's comments around questions in markdown cells.
_QUESTION_COMMENT = re.compile(r"^\s*<!--\s*(BEGIN|END) QUESTION\s*-->\s*$")
#: Code cells that only make sense with Otter (its set-up, checks and the export).
_OTTER_CELL = re.compile(r"^\s*(# Initialize Otter|grader\.check\(|.*export_submission\(grader)", re.M)
#: The tag of the master's markdown cells that only students need (running checks, submitting).
STUDENT_ONLY_TAG = "student-only"


def clean_code(source: str) -> str:
    """``source`` without marker lines, prompt blocks and ``# SOLUTION`` line ends."""
    out, in_prompt = [], False
    for line in source.split("\n"):
        if _PROMPT_BEGIN.match(line):
            in_prompt = True
            continue
        if in_prompt:
            in_prompt = not _PROMPT_END.match(line)
            continue
        if _MARKER_LINE.match(line):
            continue
        out.append(_SOLUTION_SUFFIX.sub("", line))
    text = "\n".join(out).strip("\n")
    return re.sub(r"\n{3,}(?=\S)", "\n\n\n", text)  # never more than two blank lines


def clean_markdown(source: str) -> str:
    """``source`` without Otter's question comments."""
    return "\n".join(line for line in source.split("\n") if not _QUESTION_COMMENT.match(line)).strip("\n")


def handout(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the executed solution ``nb`` fit to hand out (see the module's docstring)."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if STUDENT_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            if _OTTER_CELL.search(cell.source):
                continue
            cell.source = clean_code(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source)
        if cell.source.strip():
            cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("otter", None)
    return nb
