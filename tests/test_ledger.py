"""lab05.ledger: the Design Ledger (built, checked against its schema, written) and the textbook's shared
ledger."""

from __future__ import annotations

import datetime as dt
import json
import math

import lab05_reference as ref
import numpy as np
import pytest
from conftest import LEDGER_ANSWERS, complete_ledger

import lab05.ledger
from lab05 import constants, guards


def test_ledger_holds_plain_json_values_even_from_numpy():
    got = complete_ledger(
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
        complete_ledger(**overrides)
    assert problem in str(info.value), str(info.value)


def test_nan_never_reaches_the_ledger():
    with pytest.raises(lab05.ledger.LedgerError) as info:
        complete_ledger(training_memory_estimate_error_kib=float("nan"))
    assert "NaN" in str(info.value), str(info.value)
    bad = complete_ledger()
    bad["training_memory_estimate_error_kib"] = float("nan")
    assert any("finite" in p for p in lab05.ledger.ledger_problems(bad)), lab05.ledger.ledger_problems(bad)


def test_schema_rejects_missing_and_unknown_keys():
    good = complete_ledger()
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
        **LEDGER_ANSWERS,
    )
    written = json.loads((tmp_path / lab05.ledger.LEDGER_FILENAME).read_text())
    assert written == got, (written, got)
    assert got["max_trainable_width_laptop_gpu"] == ref.max_trainable_width(8 * constants.BYTES_PER_GIB, 64)
    expected_error = 900 - ref.training_memory([784, 128, 64, 10], 32)["total"] / 1024
    assert math.isclose(got["training_memory_estimate_error_kib"], expected_error), got
    assert lab05.ledger.LAST_WRITTEN["text"] == (tmp_path / lab05.ledger.LEDGER_FILENAME).read_text()


def test_record_design_writes_nothing_until_the_answers_are_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    answers = {**LEDGER_ANSWERS, "act2_estimate_kib": None}
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
        **LEDGER_ANSWERS,
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
        **functions,
        activation_choice="relu",
        batch_size_chosen=32,
        **{**LEDGER_ANSWERS, "batch_doubling_ratio": Ellipsis},
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
    complete = complete_ledger()
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
    assert lab05.ledger.save_to_textbook_ledger(complete_ledger(), path, now=when) == path
    book = json.loads(path.read_text())
    assert book["history"]["8"] == {"chapter": 8}, "another chapter's entry was lost"
    assert book["history"]["5"]["activation_choice"] == "relu"
    assert book["history"]["5"].get("max_trainable_width_laptop_gpu") == 31_975
    assert book["current_chapter"] == 8 and book["track"] == "edge" and book["last_updated"].startswith("2026-11-22")


def test_textbook_ledger_is_created_when_absent(tmp_path):
    path = tmp_path / "new" / "ledger.json"
    lab05.ledger.save_to_textbook_ledger(complete_ledger(), path)
    book = json.loads(path.read_text())
    assert set(book) == {"track", "current_chapter", "history", "last_updated"}, book
    assert book["current_chapter"] == 5 and "5" in book["history"]


@pytest.mark.parametrize("content", ["not json {", json.dumps(["a", "list"]), json.dumps({"history": 3})])
def test_a_file_that_is_not_a_ledger_is_never_overwritten(tmp_path, content, capsys):
    path = tmp_path / "ledger.json"
    path.write_text(content)
    assert lab05.ledger.save_to_textbook_ledger(complete_ledger(), path) is None
    assert path.read_text() == content, "the file was changed"
    assert "left untouched" in capsys.readouterr().out


def test_nothing_is_saved_to_the_textbook_ledger_while_grading(tmp_path, monkeypatch):
    monkeypatch.setattr(guards, "is_grading", lambda: True)
    path = tmp_path / "ledger.json"
    assert lab05.ledger.save_to_textbook_ledger(complete_ledger(), path) is None
    assert not path.exists()
