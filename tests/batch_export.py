"""The mixed Gradescope export the batch tests grade once (tests/test_grade_batch.py): what each submission is.

The submissions are generated from the solution and student notebooks: good ones, broken ones
(corrupt, no notebook, two notebooks, another assignment), misbehaving ones (a cell that raises,
loops forever, kills its kernel, eats memory, prints 200 MB) and one that tampers with the grader,
with Gradescope's ``submission_metadata.yml`` naming who submitted each. :data:`EXPECTED` is the
status each must get.
"""

from __future__ import annotations

import json
import math
import pathlib

from tools.grading import grade_batch as gb
from tools.layout import NOTEBOOK, STUDENT
from tools.qa import notebooks

LOOP_CELL = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", {token!r}], start_new_session=True)
while True:
    pass
"""
MEMORY_CELLS = (
    """
huge = bytearray(10**13)  # far more than the machine has: MemoryError
""",
    """
def eat():
    chunks = []
    try:
        while True:
            chunks.append(bytearray(b"x") * (64 * 2**20))  # touched pages: real memory
    except MemoryError:
        print("allocated", len(chunks) * 64 * 2**20)
        raise
eat()
""",
)
TAMPER_CELL = """
print(open("tests/design_ledger.py").read()[:100])
grader.check = lambda *args, **kwargs: None
import lab05.ledger
lab05.ledger.LAST_WRITTEN["text"] = "{}"
"""


def best_ledger() -> str:
    """A complete Design Ledger of the best answers, as JSON text."""
    import lab05_reference as ref
    from lab05_autograder.hidden import ANSWERS

    import lab05.ledger
    from lab05 import constants

    return json.dumps(
        lab05.ledger.build_ledger(
            activation_choice="relu",
            batch_size_chosen=64,
            max_trainable_width_laptop_gpu=ref.max_trainable_width(8 * constants.BYTES_PER_GIB, 64),
            training_memory_estimate_error_kib=1.0,
            act1_prediction="C",
            act2_estimate_kib=900,
            batch_doubling_ratio=1.067,
            batch_doubling_explanation="x",
            **ANSWERS,  # the best answer to each multiple-choice question
        )
    )


def partial():
    """The solution with ``transistor_tax`` wrong (a partial score)."""
    return notebooks.replace_function(
        notebooks.solution(), "transistor_tax", 'def transistor_tax(activation, baseline="relu"):\n    return 1.0\n'
    )


def _no_ledger_writer():
    return notebooks.replace_cell(notebooks.solution(), "design_ledger = record_design(", "design_ledger = None")


def _text(nb) -> str:
    import nbformat

    return nbformat.writes(nb)


def _folder(export: pathlib.Path, name: str, files: dict[str, str | bytes]) -> None:
    folder = export / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        (folder / file).write_bytes(content.encode() if isinstance(content, str) else content)


# What each fixture submission is, and the status it must get.
EXPECTED = {
    "submission_1001": "ok",  # solution, unzipped upload, run top to bottom
    "submission_1002": "ok",  # blank student notebook
    "submission_1003": "ok",  # partial solution, uploaded as the exported zip
    "submission_1004": "ok",  # no ledger in the upload; the notebook writes it
    "submission_1005": "ok",  # ledger that is not JSON; the notebook writes a new one
    "submission_1006": "ok",  # notebook does not write a ledger; uploaded one has wrong types and NaN
    "submission_1007": "error",  # corrupt notebook JSON
    "submission_1008": "invalid",  # zip without a notebook
    "submission_1009": "invalid",  # zip with two notebooks
    "submission_1010": "invalid",  # notebook of another assignment
    "submission_1011": "ok",  # a cell raises
    "submission_1012": "timeout",  # a cell loops forever (and starts a child process)
    "submission_1013": "ok",  # a cell kills its own process: that cell is skipped, the rest graded
    "submission_1014": "ok",  # cells that exhaust memory, at once and gradually
    "submission_1015": "ok",  # a cell prints 200 MB
    "submission_1016": "ok",  # reads the tests and patches the grader
    "submission_1017": "invalid",  # listed in the metadata, folder missing
    "submission_1018": "ok",  # notebook writes no ledger, none uploaded
    "extra_upload": "invalid",  # a folder the metadata does not list (holds only a text file)
}


def write_export(export: pathlib.Path, loop_token: str) -> None:
    """Every submission of :data:`EXPECTED` into ``export`` (a new folder), with the metadata;
    ``loop_token`` is in the command line of the child the looping submission starts."""
    export.mkdir()
    sol, answers = notebooks.solution(), best_ledger()
    _good(export, sol, answers)
    _broken(export, sol, answers)
    _misbehaving(export, sol, loop_token)
    _metadata(export)


def _good(export: pathlib.Path, sol, ledger: str) -> None:
    """The uploads that grade: whole, partial, zipped, with a ledger missing, broken or of wrong types."""
    _folder(export, "submission_1001", {NOTEBOOK: _text(notebooks.executed(sol)), "design_ledger.json": ledger})
    _folder(export, "submission_1002", {NOTEBOOK: (STUDENT / NOTEBOOK).read_text(encoding="utf-8")})
    (export / "submission_1003").mkdir()
    notebooks.write_zip(
        export / "submission_1003" / "lab05_nn_compute_2026.zip",
        {NOTEBOOK: _text(partial()), "design_ledger.json": ledger},
    )
    _folder(export, "submission_1004", {NOTEBOOK: _text(sol)})
    _folder(export, "submission_1005", {NOTEBOOK: _text(sol), "design_ledger.json": '{"activation_choice": "relu",'})
    bad_types = json.loads(ledger) | {
        "batch_size_chosen": "sixty-four",
        "act2_estimate_kib": math.nan,
        "activation_choice": 7,
    }
    _folder(
        export, "submission_1006", {NOTEBOOK: _text(_no_ledger_writer()), "design_ledger.json": json.dumps(bad_types)}
    )
    _folder(export, "submission_1018", {NOTEBOOK: _text(_no_ledger_writer())})


def _broken(export: pathlib.Path, sol, ledger: str) -> None:
    """The uploads that cannot be graded: corrupt, no notebook, two notebooks, another assignment, not listed."""
    _folder(export, "submission_1007", {NOTEBOOK: _text(sol)[:5000]})
    (export / "submission_1008").mkdir()
    notebooks.write_zip(export / "submission_1008" / "upload.zip", {"design_ledger.json": ledger})
    (export / "submission_1009").mkdir()
    notebooks.write_zip(
        export / "submission_1009" / "upload.zip",
        {NOTEBOOK: _text(sol), "lab05_copy.ipynb": _text(sol), "design_ledger.json": ledger},
    )
    _folder(export, "submission_1010", {NOTEBOOK: _text(notebooks.for_assignment(sol, "lab04_data_engineering"))})
    _folder(export, "extra_upload", {"notes.txt": "not a notebook"})


def _misbehaving(export: pathlib.Path, sol, loop_token: str) -> None:
    """The uploads whose cells misbehave: raise, loop forever, kill their process, eat memory, flood
    the output, tamper with the grader."""
    _folder(
        export,
        "submission_1011",
        {
            NOTEBOOK: _text(
                notebooks.append_after(sol, "def max_trainable_width", 'raise RuntimeError("a student bug")')
            )
        },
    )
    _folder(
        export,
        "submission_1012",
        {NOTEBOOK: _text(notebooks.append_after(sol, "def max_trainable_width", LOOP_CELL.format(token=loop_token)))},
    )
    _folder(
        export,
        "submission_1013",
        {NOTEBOOK: _text(notebooks.append_after(sol, "def max_trainable_width", "import os\nos.kill(os.getpid(), 9)"))},
    )
    memory = notebooks.append_after(sol, "def parameter_count", MEMORY_CELLS[1])
    _folder(
        export,
        "submission_1014",
        {NOTEBOOK: _text(notebooks.append_after(memory, "def max_trainable_width", MEMORY_CELLS[0]))},
    )
    _folder(
        export,
        "submission_1015",
        {NOTEBOOK: _text(notebooks.append_after(sol, "def max_trainable_width", 'print("x" * (200 * 2**20))'))},
    )
    _folder(
        export,
        "submission_1016",
        {NOTEBOOK: _text(notebooks.append_after(sol, "def max_trainable_width", TAMPER_CELL))},
    )


def _metadata(export: pathlib.Path) -> None:
    """Gradescope's submission_metadata.yml: one submitter each (two for 1002), 1017 listed without its folder."""
    people = {
        name: [{":name": f"Student {name[-4:]}", ":email": f"s{name[-4:]}@example.edu", ":sid": name[-4:]}]
        for name in EXPECTED
        if name.startswith("submission_")
    }
    people["submission_1002"].append({":name": "Partner 1002", ":email": "p1002@example.edu", ":sid": "9002"})
    metadata = "".join(
        f"{name}:\n  :submitters:\n"
        + "".join(f"  - :name: {p[':name']}\n    :email: {p[':email']}\n    :sid: '{p[':sid']}'\n" for p in who)
        + "  :created_at: 2026-10-01 12:00:00.000000000 -07:00\n  :score: 1.0\n"
        for name, who in people.items()
    )
    (export / gb.METADATA_FILE).write_text(metadata, encoding="utf-8")
