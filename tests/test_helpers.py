"""The helper module students get: time limits, argument checks and the Design Ledger."""

from __future__ import annotations

import datetime as dt
import json
import math
import time

import lab05_reference as ref
import numpy as np
import pytest

import lab05.ledger
import lab05.submit
from lab05 import constants, guards, validate
from tools.layout import NOTEBOOK

ANSWERS = dict(
    act1_prediction="C",
    act2_estimate_kib=900,
    act1_reflection_reason="A",
    act1_failure_mode="silent",
    act2_reflection="B",
    batch_doubling_ratio=1.067,
    batch_doubling_explanation="Only activations grow.",
    deployment_answer="B",
)


def ledger(**overrides):
    fields = dict(
        activation_choice="relu",
        max_trainable_width_laptop_gpu=31_975,
        training_memory_estimate_error_kib=-932.4,
        batch_size_chosen=32,
        **ANSWERS,
    )
    fields.update(overrides)
    return lab05.ledger.build_ledger(**fields)


# --- time limits ------------------------------------------------------------------------------
def test_a_call_that_never_returns_is_stopped():
    def forever():
        while True:
            pass

    start = time.monotonic()
    with pytest.raises(guards.CallTimedOut) as info:
        guards.call_with_time_limit(forever, seconds=0.3)
    assert "did not return within 0.3 s" in str(info.value), str(info.value)
    assert time.monotonic() - start < 30, "the limit did not stop the loop"


def test_a_loop_that_swallows_exceptions_is_still_stopped():
    def stubborn():
        while True:
            try:
                while True:
                    pass
            except Exception:
                continue

    with pytest.raises(guards.CallTimedOut):
        guards.call_with_time_limit(stubborn, seconds=0.3)


def test_time_limit_passes_results_and_errors_through_and_restores_the_alarm():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    assert guards.call_with_time_limit(lambda x: x * 2, (21,)) == 42
    with pytest.raises(ZeroDivisionError):
        guards.call_with_time_limit(lambda: 1 / 0)
    assert signal.getsignal(signal.SIGALRM) is before, "the previous SIGALRM handler was not restored"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "a timer was left running"


def test_time_limit_works_outside_the_main_thread():
    import threading

    outcome = {}

    def worker():
        try:
            guards.call_with_time_limit(lambda: time.sleep(5), seconds=0.2)
        except guards.CallTimedOut as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert "did not return" in outcome.get("error", ""), outcome


def test_display_guard_prints_one_line_for_a_stub(capsys):
    @guards.display_guard
    def figure():
        raise NotImplementedError("training_memory")

    assert figure() is None
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "Traceback" not in out, out


# --- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "check, args",
    [
        (validate.validate_count, ("batch_size", True)),
        (validate.validate_count, ("batch_size", 2.5)),
        (validate.validate_count, ("batch_size", 0)),
        (validate.validate_positive, ("bytes_per_value", -4)),
        (validate.validate_positive, ("bytes_per_value", math.inf)),
        (validate.validate_fraction, ("threshold", 1)),
        (validate.validate_layer_sizes, ("784",)),
        (validate.validate_layer_sizes, ([784],)),
        (validate.validate_depths, (np.array([1, -2]),)),
        (validate.validate_depths, (1.5,)),
        (validate.validate_name, ("optimizer", "rmsprop", constants.OPTIMIZER_STATE_PER_PARAM)),
    ],
)
def test_argument_checks_reject_with_a_message_naming_what_is_accepted(check, args):
    with pytest.raises(ValueError) as info:
        check(*args)
    assert any(w in str(info.value) for w in ("must", "expected", "needs")), str(info.value)


def test_argument_checks_accept_numpy_integers_and_any_case_names():
    assert validate.validate_count("batch_size", np.int64(32)) == 32
    assert validate.validate_name("optimizer", " Adam ", constants.OPTIMIZER_STATE_PER_PARAM) == "adam"
    assert validate.validate_layer_sizes((784, np.int32(10))) == [784, 10]


@pytest.mark.parametrize(
    "value, options, expected",
    [
        (" ReLU ", ("relu", "sigmoid"), "relu"),
        ("b", ("A", "B", "C"), "B"),
        ("laptop gpu", ("H100", "Laptop GPU"), "Laptop GPU"),
        ("gelu", ("relu", "sigmoid"), None),
        (["relu"], ("relu",), None),
        (3, ("3",), None),
    ],
)
def test_an_option_is_named_with_case_and_spaces_ignored(value, options, expected):
    got = validate.matching_option(value, options)
    assert got == expected, f"matching_option({value!r}, {options}): expected {expected!r}, got {got!r}"


def test_stable_sigmoid_is_finite_and_warning_free_at_the_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = constants.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert values.tolist() == [0.0, 0.5, 1.0], values
    assert isinstance(constants.sigmoid(0), float)


def test_fmt_bytes_uses_binary_units():
    assert constants.fmt_bytes(437_544) == "427.29 KiB"
    assert constants.fmt_bytes(8 * constants.BYTES_PER_GIB) == "8.00 GiB"
    assert constants.fmt_bytes(512) == "512 B"


# --- the Design Ledger ------------------------------------------------------------------------
def test_ledger_holds_plain_json_values_even_from_numpy():
    got = ledger(
        max_trainable_width_laptop_gpu=np.int64(31_975),
        training_memory_estimate_error_kib=np.float64(-1.5),
        batch_size_chosen=np.int32(32),
    )
    assert type(got["max_trainable_width_laptop_gpu"]) is int and type(got["batch_size_chosen"]) is int, got
    assert type(got["training_memory_estimate_error_kib"]) is float, got
    assert json.loads(json.dumps(got)) == got
    assert lab05.ledger.ledger_problems(got) == []


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"activation_choice": "swish"}, "activation_choice"),
        ({"batch_size_chosen": 0}, "batch_size_chosen"),
        ({"batch_size_chosen": "32"}, "batch_size_chosen"),
        ({"act1_prediction": None}, "act1_prediction"),
        ({"act1_failure_mode": "quiet"}, "act1_failure_mode"),
    ],
)
def test_an_incomplete_ledger_is_refused_naming_the_field(overrides, problem):
    with pytest.raises(lab05.ledger.LedgerError) as info:
        ledger(**overrides)
    assert problem in str(info.value), str(info.value)


def test_nan_never_reaches_the_ledger():
    with pytest.raises(lab05.ledger.LedgerError) as info:
        ledger(training_memory_estimate_error_kib=float("nan"))
    assert "NaN" in str(info.value), str(info.value)
    bad = ledger()
    bad["training_memory_estimate_error_kib"] = float("nan")
    assert any("finite" in p for p in lab05.ledger.ledger_problems(bad)), lab05.ledger.ledger_problems(bad)


def test_schema_rejects_missing_and_unknown_keys():
    good = ledger()
    missing = {k: v for k, v in good.items() if k != "chapter"}
    assert any("chapter" in p for p in lab05.ledger.ledger_problems(missing)), lab05.ledger.ledger_problems(missing)
    extra = {**good, "notes": "hi"}
    assert any("notes" in p for p in lab05.ledger.ledger_problems(extra)), lab05.ledger.ledger_problems(extra)


def test_record_design_writes_the_ledger_computed_with_the_given_functions(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    got = lab05.ledger.record_design(
        training_memory=ref.training_memory,
        max_trainable_width=ref.max_trainable_width,
        activation_choice="relu",
        batch_size_chosen=64,
        **ANSWERS,
    )
    written = json.loads((tmp_path / lab05.ledger.LEDGER_FILENAME).read_text())
    assert written == got, (written, got)
    assert got["max_trainable_width_laptop_gpu"] == ref.max_trainable_width(8 * constants.BYTES_PER_GIB, 64)
    expected_error = 900 - ref.training_memory([784, 128, 64, 10], 32)["total"] / 1024
    assert math.isclose(got["training_memory_estimate_error_kib"], expected_error), got
    assert lab05.ledger.LAST_WRITTEN["text"] == (tmp_path / lab05.ledger.LEDGER_FILENAME).read_text()


def test_record_design_writes_nothing_until_the_answers_are_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    answers = {**ANSWERS, "act2_estimate_kib": None}
    got = lab05.ledger.record_design(
        training_memory=ref.training_memory,
        max_trainable_width=ref.max_trainable_width,
        activation_choice=None,
        batch_size_chosen=None,
        **answers,
    )
    assert got is None and not (tmp_path / lab05.ledger.LEDGER_FILENAME).exists()
    out = capsys.readouterr().out
    for name in ("activation_choice", "batch_size_chosen", "act2_estimate_kib"):
        assert name in out, f"the message should name {name}: {out}"


def test_record_design_survives_a_stub(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def stub(*args, **kwargs):
        raise NotImplementedError

    got = lab05.ledger.record_design(
        training_memory=stub,
        max_trainable_width=ref.max_trainable_width,
        activation_choice="relu",
        batch_size_chosen=32,
        **ANSWERS,
    )
    out = capsys.readouterr().out
    assert "not implemented yet" in out, out
    assert got is not None and got["training_memory_estimate_error_kib"] is None, got
    assert got["max_trainable_width_laptop_gpu"] == ref.max_trainable_width(8 * constants.BYTES_PER_GIB, 32), got
    assert "Unfinished" in out and "training_memory_estimate_error_kib" in out, out


@pytest.mark.parametrize(
    "broken, key",
    [
        ("max_trainable_width", "max_trainable_width_laptop_gpu"),
        ("training_memory", "training_memory_estimate_error_kib"),
    ],
)
def test_partial_work_writes_a_schema_valid_ledger_with_null_for_what_is_not_computed(
    tmp_path, monkeypatch, capsys, broken, key
):
    monkeypatch.chdir(tmp_path)

    def stub(*args, **kwargs):
        raise NotImplementedError(f"{broken}: replace this line with your code")

    functions = dict(training_memory=ref.training_memory, max_trainable_width=ref.max_trainable_width)
    functions[broken] = stub
    got = lab05.ledger.record_design(
        **functions, activation_choice="relu", batch_size_chosen=32, **{**ANSWERS, "batch_doubling_ratio": Ellipsis}
    )
    written = json.loads((tmp_path / lab05.ledger.LEDGER_FILENAME).read_text())
    assert written == got and lab05.ledger.ledger_problems(written) == [], lab05.ledger.ledger_problems(written)
    assert written[key] is None, f"input: {broken} a stub; expected {key} null, got {written[key]!r}"
    assert written["reflections"]["batch_doubling_ratio"] is None, written["reflections"]
    assert written["predictions"]["act1_prediction"] == "C", "an answer that is set was not recorded"
    out = capsys.readouterr().out
    assert f"{key} = null" in out.replace("  ", "") or "null (not computed yet)" in out, out
    assert "batch_doubling_ratio is Ellipsis" in out, out


def test_schema_accepts_null_only_for_computed_values():
    complete = ledger()
    for key in ("max_trainable_width_laptop_gpu", "training_memory_estimate_error_kib"):
        assert lab05.ledger.ledger_problems({**complete, key: None}) == [], key
    reflections = {**complete["reflections"], "batch_doubling_ratio": None}
    assert lab05.ledger.ledger_problems({**complete, "reflections": reflections}) == []
    for key in ("activation_choice", "batch_size_chosen"):
        assert lab05.ledger.ledger_problems({**complete, key: None}), f"input: {key} null; expected a problem, got none"
    answers = {**complete["predictions"], "act1_prediction": None}
    assert lab05.ledger.ledger_problems({**complete, "predictions": answers}), "input: act1_prediction null"


# --- the textbook's shared ledger ---------------------------------------------------------------
def test_textbook_ledger_keeps_other_chapters(tmp_path):
    path = tmp_path / ".mlsys" / "ledger.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"track": "edge", "current_chapter": 8, "history": {"8": {"chapter": 8}}}))
    when = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    assert lab05.ledger.save_to_textbook_ledger(ledger(), path, now=when) == path
    book = json.loads(path.read_text())
    assert book["history"]["8"] == {"chapter": 8}, "another chapter's entry was lost"
    assert book["history"]["5"]["activation_choice"] == "relu"
    assert book["history"]["5"].get("max_trainable_width_laptop_gpu") == 31_975
    assert book["current_chapter"] == 8 and book["track"] == "edge" and book["last_updated"].startswith("2026-11-22")


def test_textbook_ledger_is_created_when_absent(tmp_path):
    path = tmp_path / "new" / "ledger.json"
    lab05.ledger.save_to_textbook_ledger(ledger(), path)
    book = json.loads(path.read_text())
    assert set(book) == {"track", "current_chapter", "history", "last_updated"}, book
    assert book["current_chapter"] == 5 and "5" in book["history"]


@pytest.mark.parametrize("content", ["not json {", json.dumps(["a", "list"]), json.dumps({"history": 3})])
def test_a_file_that_is_not_a_ledger_is_never_overwritten(tmp_path, content, capsys):
    path = tmp_path / "ledger.json"
    path.write_text(content)
    assert lab05.ledger.save_to_textbook_ledger(ledger(), path) is None
    assert path.read_text() == content, "the file was changed"
    assert "left untouched" in capsys.readouterr().out


def test_nothing_is_saved_to_the_textbook_ledger_while_grading(tmp_path, monkeypatch):
    monkeypatch.setattr(guards, "is_grading", lambda: True)
    path = tmp_path / "ledger.json"
    assert lab05.ledger.save_to_textbook_ledger(ledger(), path) is None
    assert not path.exists()


# --- export -------------------------------------------------------------------------------------
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
    text = lab05.ledger.write_ledger(ledger()).read_text()
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
