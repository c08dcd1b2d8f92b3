"""The helper module students get: time limits, argument checks and the Design Ledger."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time

import numpy as np
import pytest

import lab05_helpers as helpers
import lab05_reference as ref

ANSWERS = dict(act1_prediction="C", act2_estimate_kib=900, act1_reflection_reason="A", act1_failure_mode="silent",
               act2_reflection="B", batch_doubling_ratio=1.067, batch_doubling_explanation="Only activations grow.",
               deployment_answer="B")


def ledger(**overrides):
    fields = dict(activation_choice="relu", max_trainable_width_laptop_gpu=31_975,
                  training_memory_estimate_error_kb=-932.4, batch_size_chosen=32, **ANSWERS)
    fields.update(overrides)
    return helpers.build_ledger(**fields)


# --- time limits ------------------------------------------------------------------------------
def test_a_call_that_never_returns_is_stopped():
    def forever():
        while True:
            pass

    start = time.monotonic()
    with pytest.raises(helpers.CallTimedOut) as info:
        helpers.call_with_time_limit(forever, seconds=0.3)
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

    with pytest.raises(helpers.CallTimedOut):
        helpers.call_with_time_limit(stubborn, seconds=0.3)


def test_time_limit_passes_results_and_errors_through_and_restores_the_alarm():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    assert helpers.call_with_time_limit(lambda x: x * 2, (21,)) == 42
    with pytest.raises(ZeroDivisionError):
        helpers.call_with_time_limit(lambda: 1 / 0)
    assert signal.getsignal(signal.SIGALRM) is before, "the previous SIGALRM handler was not restored"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "a timer was left running"


def test_time_limit_works_outside_the_main_thread():
    import threading

    outcome = {}

    def worker():
        try:
            helpers.call_with_time_limit(lambda: time.sleep(5), seconds=0.2)
        except helpers.CallTimedOut as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert "did not return" in outcome.get("error", ""), outcome


def test_display_guard_prints_one_line_for_a_stub(capsys):
    @helpers.display_guard
    def figure():
        raise NotImplementedError("training_memory")

    assert figure() is None
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "Traceback" not in out, out


# --- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("check, args", [
    (helpers.check_count, ("batch_size", True)),
    (helpers.check_count, ("batch_size", 2.5)),
    (helpers.check_count, ("batch_size", 0)),
    (helpers.check_positive, ("bytes_per_value", -4)),
    (helpers.check_positive, ("bytes_per_value", math.inf)),
    (helpers.check_fraction, ("threshold", 1)),
    (helpers.check_layer_sizes, ("784",)),
    (helpers.check_layer_sizes, ([784],)),
    (helpers.check_depths, (np.array([1, -2]),)),
    (helpers.check_depths, (1.5,)),
    (helpers.check_name, ("optimizer", "rmsprop", helpers.OPTIMIZER_STATE_PER_PARAM)),
])
def test_argument_checks_reject_with_a_message_naming_what_is_accepted(check, args):
    with pytest.raises(ValueError) as info:
        check(*args)
    assert any(w in str(info.value) for w in ("must", "expected", "needs")), str(info.value)


def test_argument_checks_accept_numpy_integers_and_any_case_names():
    assert helpers.check_count("batch_size", np.int64(32)) == 32
    assert helpers.check_name("optimizer", " Adam ", helpers.OPTIMIZER_STATE_PER_PARAM) == "adam"
    assert helpers.check_layer_sizes((784, np.int32(10))) == [784, 10]


def test_stable_sigmoid_is_finite_and_warning_free_at_the_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = helpers.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert values.tolist() == [0.0, 0.5, 1.0], values
    assert isinstance(helpers.sigmoid(0), float)


def test_fmt_bytes_uses_binary_units():
    assert helpers.fmt_bytes(437_544) == "427.29 KiB"
    assert helpers.fmt_bytes(8 * helpers.BYTES_PER_GIB) == "8.00 GiB"
    assert helpers.fmt_bytes(512) == "512 B"


# --- the Design Ledger ------------------------------------------------------------------------
def test_ledger_holds_plain_json_values_even_from_numpy():
    got = ledger(max_trainable_width_laptop_gpu=np.int64(31_975), training_memory_estimate_error_kb=np.float64(-1.5),
                 batch_size_chosen=np.int32(32))
    assert type(got["max_trainable_width_laptop_gpu"]) is int and type(got["batch_size_chosen"]) is int, got
    assert type(got["training_memory_estimate_error_kb"]) is float, got
    assert json.loads(json.dumps(got)) == got
    assert helpers.ledger_problems(got) == []


@pytest.mark.parametrize("overrides, problem", [
    ({"activation_choice": "swish"}, "activation_choice"),
    ({"batch_size_chosen": 0}, "batch_size_chosen"),
    ({"batch_size_chosen": "32"}, "batch_size_chosen"),
    ({"act1_prediction": None}, "act1_prediction"),
    ({"act1_failure_mode": "quiet"}, "act1_failure_mode"),
])
def test_an_incomplete_ledger_is_refused_naming_the_field(overrides, problem):
    with pytest.raises(helpers.LedgerError) as info:
        ledger(**overrides)
    assert problem in str(info.value), str(info.value)


def test_nan_never_reaches_the_ledger():
    with pytest.raises(helpers.LedgerError) as info:
        ledger(training_memory_estimate_error_kb=float("nan"))
    assert "NaN" in str(info.value), str(info.value)
    bad = ledger()
    bad["training_memory_estimate_error_kb"] = float("nan")
    assert any("finite" in p for p in helpers.ledger_problems(bad)), helpers.ledger_problems(bad)


def test_schema_rejects_missing_and_unknown_keys():
    good = ledger()
    missing = {k: v for k, v in good.items() if k != "chapter"}
    assert any("chapter" in p for p in helpers.ledger_problems(missing)), helpers.ledger_problems(missing)
    extra = {**good, "notes": "hi"}
    assert any("notes" in p for p in helpers.ledger_problems(extra)), helpers.ledger_problems(extra)


def test_record_design_writes_the_ledger_computed_with_the_given_functions(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    got = helpers.record_design(training_memory=ref.training_memory, max_trainable_width=ref.max_trainable_width,
                                activation_choice="relu", batch_size_chosen=64, **ANSWERS)
    written = json.loads((tmp_path / helpers.LEDGER_FILENAME).read_text())
    assert written == got, (written, got)
    assert got["max_trainable_width_laptop_gpu"] == ref.max_trainable_width(8 * helpers.BYTES_PER_GIB, 64)
    expected_error = 900 - ref.training_memory([784, 128, 64, 10], 32)["total"] / 1024
    assert math.isclose(got["training_memory_estimate_error_kb"], expected_error), got
    assert helpers.LAST_WRITTEN["text"] == (tmp_path / helpers.LEDGER_FILENAME).read_text()


def test_record_design_writes_nothing_until_the_answers_are_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    answers = {**ANSWERS, "act2_estimate_kib": None}
    got = helpers.record_design(training_memory=ref.training_memory, max_trainable_width=ref.max_trainable_width,
                                activation_choice=None, batch_size_chosen=None, **answers)
    assert got is None and not (tmp_path / helpers.LEDGER_FILENAME).exists()
    out = capsys.readouterr().out
    for name in ("activation_choice", "batch_size_chosen", "act2_estimate_kib"):
        assert name in out, f"the message should name {name}: {out}"


def test_record_design_survives_a_stub(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def stub(*args, **kwargs):
        raise NotImplementedError

    got = helpers.record_design(training_memory=stub, max_trainable_width=ref.max_trainable_width,
                                activation_choice="relu", batch_size_chosen=32, **ANSWERS)
    assert got is None and "not implemented yet" in capsys.readouterr().out


# --- the textbook's shared ledger ---------------------------------------------------------------
def test_textbook_ledger_keeps_other_chapters(tmp_path):
    path = tmp_path / ".mlsys" / "ledger.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"track": "edge", "current_chapter": 8, "history": {"8": {"chapter": 8}}}))
    when = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)
    assert helpers.save_to_textbook_ledger(ledger(), path, now=when) == path
    book = json.loads(path.read_text())
    assert book["history"]["8"] == {"chapter": 8}, "another chapter's entry was lost"
    assert book["history"]["5"]["activation_choice"] == "relu"
    assert book["history"]["5"].get("max_trainable_width_laptop_gpu") == 31_975
    assert book["current_chapter"] == 8 and book["track"] == "edge" and book["last_updated"].startswith("2026-11-22")


def test_textbook_ledger_is_created_when_absent(tmp_path):
    path = tmp_path / "new" / "ledger.json"
    helpers.save_to_textbook_ledger(ledger(), path)
    book = json.loads(path.read_text())
    assert set(book) == {"track", "current_chapter", "history", "last_updated"}, book
    assert book["current_chapter"] == 5 and "5" in book["history"]


@pytest.mark.parametrize("content", ["not json {", json.dumps(["a", "list"]), json.dumps({"history": 3})])
def test_a_file_that_is_not_a_ledger_is_never_overwritten(tmp_path, content, capsys):
    path = tmp_path / "ledger.json"
    path.write_text(content)
    assert helpers.save_to_textbook_ledger(ledger(), path) is None
    assert path.read_text() == content, "the file was changed"
    assert "left untouched" in capsys.readouterr().out


def test_nothing_is_saved_to_the_textbook_ledger_while_grading(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "is_grading", lambda: True)
    path = tmp_path / "ledger.json"
    assert helpers.save_to_textbook_ledger(ledger(), path) is None
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


def test_export_refuses_without_a_ledger_and_writes_no_zip(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert helpers.export_submission(FakeGrader()) is None
    assert not list(tmp_path.glob("*.zip")) and "design_ledger.json is missing" in capsys.readouterr().out


def test_export_removes_a_partial_zip(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / helpers.LEDGER_FILENAME).write_text("{}")
    assert helpers.export_submission(FakeGrader(fail=True)) is None
    assert not list(tmp_path.glob("*.zip")), "a broken zip was left behind"
    assert "no zip was kept" in capsys.readouterr().out


def test_export_checks_and_keeps_a_good_zip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / helpers.LEDGER_FILENAME).write_text("{}")
    path = helpers.export_submission(FakeGrader())
    assert path is not None and path.exists() and path.name.startswith("lab05_nn_compute_"), path
