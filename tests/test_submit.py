"""lab05.submit: the export for Gradescope, whether the saved notebook is the one that ran, and unfinished
work."""

from __future__ import annotations

import json

import pytest
from conftest import complete_ledger

import lab05.ledger
import lab05.submit
from tools.layout import NOTEBOOK


class FakeGrader:
    def __init__(self, fail=False):
        self.fail = fail

    def export(self, nb_path, export_path, pdf, files, force_save):
        import zipfile

        with zipfile.ZipFile(export_path, "w") as zf:
            zf.writestr(nb_path, "{}")
            if self.fail:
                raise OSError("disk full")
            for f in files:
                zf.write(f)


@pytest.fixture
def notebook_folder(tmp_path, monkeypatch):
    """A folder holding a saved notebook (outside IPython, so nothing to compare it with)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / NOTEBOOK).write_text(json.dumps({"cells": [], "metadata": {}}))
    return tmp_path


def test_export_without_a_ledger_writes_the_notebook_and_says_what_is_missing(notebook_folder, capsys):
    path = lab05.submit.export_submission(FakeGrader())
    out = capsys.readouterr().out
    assert path is not None and path.exists(), out
    assert "design_ledger.json is missing" in out and "unfinished" in out, out


def test_export_removes_a_partial_zip(notebook_folder, capsys):
    (notebook_folder / lab05.ledger.LEDGER_FILENAME).write_text("{}")
    assert lab05.submit.export_submission(FakeGrader(fail=True)) is None
    assert not list(notebook_folder.glob("*.zip")), "a broken zip was left behind"
    assert "no zip was kept" in capsys.readouterr().out


def test_export_checks_and_keeps_a_good_zip(notebook_folder, tmp_path):
    text = lab05.ledger.write_ledger(complete_ledger()).read_text()
    path = lab05.submit.export_submission(FakeGrader())
    assert path is not None and path.exists() and path.name.startswith("lab05_nn_compute_"), path
    import zipfile

    with zipfile.ZipFile(path) as zf:
        assert zf.read(lab05.ledger.LEDGER_FILENAME).decode() == text


def test_export_refuses_when_the_saved_notebook_is_not_what_ran(notebook_folder, monkeypatch, capsys):
    nb = {
        "cells": [{"cell_type": "code", "execution_count": 1, "source": "answer = 'A'", "metadata": {}, "outputs": []}],
        "metadata": {},
    }
    (notebook_folder / NOTEBOOK).write_text(json.dumps(nb))
    monkeypatch.setattr(lab05.submit, "_kernel_history", lambda: (["", "answer = 'A'", "answer = 'B'", "export"], 3))
    assert lab05.submit.export_submission(FakeGrader()) is None
    out = capsys.readouterr().out
    assert not list(notebook_folder.glob("*.zip")), "a zip was written from an unsaved notebook"
    assert "File > Save" in out and "run this cell again" in out and "answer = 'B'" in out, out


# --- is the saved notebook the one that ran? -------------------------------------------------------
def saved(*cells):
    """Saved code cells from (execution_count, code) pairs."""
    return list(cells)


HISTORY = ["", "from lab05 import displays", "answer = 'A'", "x = 1", "export()"]


@pytest.mark.parametrize(
    "cells, history, current, expected",
    [
        # Restart and run all, save, export: the same code at the same counts.
        (saved((1, "from lab05 import displays"), (2, "answer = 'A'"), (3, "x = 1"), (4, "export()")), HISTORY, 4, []),
        # Saved before the export cell ran: it has no count on disk.
        (
            saved((1, "from lab05 import displays"), (2, "answer = 'A'"), (3, "x = 1"), (None, "export()")),
            HISTORY,
            4,
            [],
        ),
        # Whitespace and line endings do not count.
        (
            saved((1, "from lab05 import displays  \r\n"), (2, "\nanswer = 'A'\n\n"), (3, "x = 1"), (None, "export()")),
            HISTORY,
            4,
            [],
        ),
        # A cell run again unchanged after saving.
        (
            saved((1, "from lab05 import displays"), (2, "answer = 'A'"), (3, "x = 1"), (None, "export()")),
            HISTORY[:4] + ["answer = 'A'", "export()"],
            5,
            [],
        ),
        # Changed, run and saved: the old run is superseded by the saved one.
        (
            saved((1, "from lab05 import displays"), (4, "answer = 'B'"), (3, "x = 1"), (None, "export()")),
            ["", "from lab05 import displays", "answer = 'A'", "x = 1", "answer = 'B'", "export()"],
            5,
            [],
        ),
    ],
)
def test_a_saved_notebook_that_matches_the_kernel_passes(cells, history, current, expected):
    assert lab05.submit.unsaved_work(cells, history, current) == expected


@pytest.mark.parametrize(
    "cells, history, current, words",
    [
        # Answer changed and run after saving, not saved: the disk still holds "A" at count 2.
        (
            saved((1, "from lab05 import displays"), (2, "answer = 'A'"), (3, "x = 1")),
            HISTORY[:4] + ["answer = 'B'", "export()"],
            5,
            "[4] `answer = 'B'` ran after the notebook was last saved",
        ),
        # Never saved at all during this session: the disk has no counts, and "B" ran.
        (
            saved((None, "from lab05 import displays"), (None, "answer = 'A'"), (None, "x = 1")),
            ["", "from lab05 import displays", "answer = 'B'", "x = 1", "export()"],
            4,
            "`answer = 'B'` ran after",
        ),
        # Changed after it ran, then saved without running it: the disk holds code that never ran.
        (
            saved((1, "from lab05 import displays"), (2, "answer = 'C'"), (3, "x = 1")),
            HISTORY,
            4,
            "[2] `answer = 'C'` is not the code that ran as [2]",
        ),
        # Saved by an earlier kernel session with more cells than this one has run.
        (
            saved((1, "from lab05 import displays"), (12, "answer = 'A'")),
            ["", "from lab05 import displays", "export()"],
            2,
            "another kernel session",
        ),
        # Edited, run, then edited back without running and saved: the disk holds "A" at count 4, "B" ran there.
        (
            saved((1, "from lab05 import displays"), (4, "answer = 'A'"), (3, "x = 1")),
            HISTORY[:4] + ["answer = 'B'", "export()"],
            5,
            "[4] `answer = 'A'` is not the code that ran as [4]",
        ),
    ],
)
def test_a_saved_notebook_that_differs_from_the_kernel_is_named(cells, history, current, words):
    problems = lab05.submit.unsaved_work(cells, history, current)
    assert any(words in p for p in problems), f"input: {cells} vs {history}; expected {words!r}, got {problems}"


def test_saved_code_cells_reads_code_cells_with_their_counts(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# title"], "metadata": {}},
            {"cell_type": "code", "execution_count": 3, "source": ["a = 1\n", "b = 2"], "metadata": {}, "outputs": []},
            {"cell_type": "code", "execution_count": None, "source": "  \n", "metadata": {}, "outputs": []},
        ],
        "metadata": {},
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert lab05.submit.saved_code_cells(path) == [(3, "a = 1\nb = 2")]


def test_unfinished_work_names_stubs_and_unset_answers():
    namespace = {"__name__": "__main__"}
    exec("def transistor_tax(a):\n    raise NotImplementedError('x')\ndef layer_macs(s):\n    return [1]\n", namespace)
    namespace.update(activation_choice="relu", batch_doubling_ratio=Ellipsis, act1_prediction=None)
    found = " ".join(lab05.submit.unfinished_work(namespace))
    assert "transistor_tax" in found and "layer_macs" not in found, found
    assert "batch_doubling_ratio" in found and "act1_prediction" in found and "activation_choice" not in found, found
