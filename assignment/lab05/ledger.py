"""The Design Ledger: the JSON record of this lab's answers and measured numbers.

The notebook builds it with :func:`record_design`, which checks every value against
``design_ledger.schema.json`` and writes ``design_ledger.json`` beside the notebook.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import pathlib
import time
from typing import Any

import numpy as np

from lab05 import guards
from lab05.constants import (
    ACT1_PREDICTION_OPTIONS,
    ACTIVATION_TRANSISTORS,
    DEVICE_BUDGETS_BYTES,
    LAPTOP_GPU,
    MNIST_BATCH_SIZE,
    MNIST_LAYER_SIZES,
    to_kib,
)
from lab05.guards import try_call
from lab05.validate import matching_option, prediction_is_set

# ---------------------------------------------------------------------------------------------
# The Design Ledger
# ---------------------------------------------------------------------------------------------
LEDGER_FILENAME = "design_ledger.json"
LEDGER_SCHEMA_FILENAME = "design_ledger.schema.json"
LEDGER_CHAPTER = 5
TEXTBOOK_LEDGER_PATH = pathlib.Path.home() / ".mlsys" / "ledger.json"

#: When this module was imported, i.e. when the notebook's kernel started working.
IMPORTED_AT = time.time()
#: The JSON text of the last ledger this kernel wrote, and where.
LAST_WRITTEN: dict = {}


class LedgerError(ValueError):
    """A ledger value is missing or of the wrong kind."""


def json_native(value: Any) -> Any:
    """Convert NumPy scalars and arrays (and containers of them) to plain JSON values.

    Raises:
        LedgerError: for NaN or infinite numbers, which JSON cannot hold.
    """
    if isinstance(value, dict):
        return {str(k): json_native(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_native(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        as_float = float(value)
        if not math.isfinite(as_float):
            raise LedgerError(f"the ledger cannot hold the number {as_float!r}: JSON has no NaN or inf")
        return as_float
    if value is None or isinstance(value, str):
        return value
    raise LedgerError(f"the ledger cannot hold a value of type {type(value).__name__}: {value!r}")


def load_schema(path: os.PathLike | None = None) -> dict:
    """The Design Ledger's JSON Schema, read from beside this module unless ``path`` is given."""
    path = pathlib.Path(path) if path else pathlib.Path(__file__).with_name(LEDGER_SCHEMA_FILENAME)
    return json.loads(path.read_text(encoding="utf-8"))


def ledger_problems(ledger: Any, schema: dict | None = None) -> list[str]:
    """Every way ``ledger`` breaks the schema, as readable sentences (empty when it is valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema or load_schema())
    problems = [f"{where}: {value!r} is not a finite number" for where, value in _non_finite(ledger)]
    for err in sorted(validator.iter_errors(ledger), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "the ledger"
        problems.append(f"{where}: {err.message}")
    return problems


def _non_finite(value: Any, where: str = "the ledger"):
    """Yield (place, value) for every NaN or infinite float inside ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, str(key) if where == "the ledger" else f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{where}.{i}")
    elif isinstance(value, float) and not math.isfinite(value):
        yield where, value


FAILURE_MODES = ("silent", "loud", "gradual")


def _canonical_choice(value: Any, options) -> Any:
    """The option ``value`` names, with case and surrounding spaces ignored; else ``value``."""
    option = matching_option(value, options)
    return value if option is None else option


def build_ledger(
    *,
    activation_choice: Any,
    max_trainable_width_laptop_gpu: Any,
    training_memory_estimate_error_kib: Any,
    batch_size_chosen: Any,
    act1_prediction: Any,
    act2_estimate_kib: Any,
    act1_reflection_reason: Any,
    act1_failure_mode: Any,
    act2_reflection: Any,
    batch_doubling_ratio: Any,
    batch_doubling_explanation: Any,
    deployment_answer: Any,
) -> dict:
    """Assemble the chapter-5 design record from the notebook's answers.

    Every value is converted to a plain JSON value (NumPy integers become ``int``, NumPy floats
    ``float``), and the result is checked against the schema.

    Raises:
        LedgerError: naming every field that is missing or of the wrong kind.
    """
    canonical = _canonical_choice
    activation_choice = canonical(activation_choice, ACTIVATION_TRANSISTORS)
    act1_prediction, act1_reflection_reason, act2_reflection, deployment_answer = (
        canonical(v, ACT1_PREDICTION_OPTIONS)
        for v in (act1_prediction, act1_reflection_reason, act2_reflection, deployment_answer)
    )
    act1_failure_mode = canonical(act1_failure_mode, FAILURE_MODES)
    ledger = json_native(
        {
            "chapter": LEDGER_CHAPTER,
            "activation_choice": activation_choice,
            "max_trainable_width_laptop_gpu": max_trainable_width_laptop_gpu,
            "training_memory_estimate_error_kib": training_memory_estimate_error_kib,
            "batch_size_chosen": batch_size_chosen,
            "predictions": {"act1_prediction": act1_prediction, "act2_estimate_kib": act2_estimate_kib},
            "reflections": {
                "act1_reflection_reason": act1_reflection_reason,
                "act1_failure_mode": act1_failure_mode,
                "act2_reflection": act2_reflection,
                "batch_doubling_ratio": batch_doubling_ratio,
                "batch_doubling_explanation": batch_doubling_explanation,
                "deployment_answer": deployment_answer,
            },
        }
    )
    # Integral floats (e.g. 32.0) are accepted where the schema wants an integer.
    for key in ("max_trainable_width_laptop_gpu", "batch_size_chosen"):
        if isinstance(ledger[key], float) and ledger[key].is_integer():
            ledger[key] = int(ledger[key])
    problems = ledger_problems(ledger)
    if problems:
        raise LedgerError("the Design Ledger is not complete yet:\n  - " + "\n  - ".join(problems))
    return ledger


def write_ledger(ledger: dict, path: os.PathLike = LEDGER_FILENAME) -> pathlib.Path:
    """Write the ledger as JSON beside the notebook and remember what was written.

    The file is this notebook's own output: running the cell again replaces it.
    """
    path = pathlib.Path(path)
    text = json.dumps(ledger, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    LAST_WRITTEN.clear()
    LAST_WRITTEN.update({"path": str(path.resolve()), "text": text, "at": time.time()})
    return path


def save_to_textbook_ledger(
    ledger: dict,
    path: os.PathLike = TEXTBOOK_LEDGER_PATH,
    *,
    track: str = "default",
    now: _dt.datetime | None = None,
) -> pathlib.Path | None:
    """Add this chapter's design to the textbook's shared ledger, so later labs can read it.

    The file is shaped ``{"track", "current_chapter", "history": {"<chapter>": design},
    "last_updated"}``. Other chapters' entries are kept; this chapter's entry is replaced. A file
    that is not a ledger is never overwritten: it is reported and left alone. Nothing is written
    while the autograder runs the notebook.

    Returns:
        The path written, or ``None`` when nothing was written.
    """
    if guards.is_grading():
        print("The autograder is running this notebook: the textbook ledger is left alone.")
        return None
    path = pathlib.Path(path).expanduser()
    book: dict = {"track": track, "current_chapter": LEDGER_CHAPTER, "history": {}}
    if path.exists():
        try:
            book = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{path} exists but is not readable JSON ({exc}); it was left untouched.")
            return None
        if not isinstance(book, dict) or not isinstance(book.get("history", {}), dict):
            print(f"{path} exists but is not shaped like a textbook ledger; it was left untouched.")
            return None
    design = {k: v for k, v in ledger.items() if k not in ("predictions", "reflections")}
    book.setdefault("track", track)
    book.setdefault("history", {})[str(LEDGER_CHAPTER)] = design
    book["current_chapter"] = max(LEDGER_CHAPTER, int(book.get("current_chapter") or 0))
    book["last_updated"] = (now or _dt.datetime.now(_dt.UTC)).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(book, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


#: Ledger values computed by the notebook's code: null while that code cannot compute them.
COMPUTED_LEDGER_VALUES = (
    "max_trainable_width_laptop_gpu",
    "training_memory_estimate_error_kib",
    "batch_doubling_ratio",
)


def record_design(
    *,
    training_memory,
    max_trainable_width,
    activation_choice,
    batch_size_chosen,
    act2_estimate_kib,
    batch_doubling_ratio=None,
    **answers,
) -> dict | None:
    """Compute the Design Ledger with the student's functions and write ``design_ledger.json``.

    ``max_trainable_width_laptop_gpu`` is the student's ``max_trainable_width`` for the laptop
    GPU at ``batch_size_chosen`` (FP32, Adam); ``training_memory_estimate_error_kib`` is the Act 2
    estimate minus the student's training memory of the MNIST network at batch 32 (FP32, Adam),
    both in KiB. The other answers are recorded as they are.

    Unfinished work is recorded as far as it goes: a computed value whose function is not
    working yet (a stub, an error, a loop that never ends), and a ``batch_doubling_ratio`` not
    computed yet, are written as ``null`` and listed. The choices and answers themselves must be
    set for the ledger to be written.

    Returns:
        The ledger written, or ``None`` (with a message saying what is missing) when it cannot
        be written yet. An older ``design_ledger.json`` is then left as it was, and reported.
    """
    activation_choice, missing = _unset_choices(activation_choice, batch_size_chosen, act2_estimate_kib)
    ledger, unfinished = None, []
    if not missing:
        try:
            ledger, unfinished = _computed_ledger(
                training_memory,
                max_trainable_width,
                activation_choice=activation_choice,
                batch_size_chosen=batch_size_chosen,
                act2_estimate_kib=act2_estimate_kib,
                batch_doubling_ratio=batch_doubling_ratio,
                **answers,
            )
        except (LedgerError, TypeError, KeyError) as exc:
            missing.append(str(exc))
    if missing:
        print("The Design Ledger was not written yet:\n  - " + "\n  - ".join(missing))
        if pathlib.Path(LEDGER_FILENAME).exists():
            print(f"  ({LEDGER_FILENAME} from an earlier run is still on disk and out of date.)")
        return None
    _print_written(write_ledger(ledger), ledger, unfinished)
    return ledger


def _unset_choices(activation_choice, batch_size_chosen, act2_estimate_kib) -> tuple[Any, list[str]]:
    """The activation choice as recorded, and what the student has not set yet (one line each)."""
    missing = []
    activation_choice = _canonical_choice(activation_choice, ACTIVATION_TRANSISTORS)
    if activation_choice not in ACTIVATION_TRANSISTORS:
        missing.append(f"activation_choice is {activation_choice!r}: set it to one of {sorted(ACTIVATION_TRANSISTORS)}")
    if (
        isinstance(batch_size_chosen, bool)
        or not isinstance(batch_size_chosen, numbers.Integral)
        or batch_size_chosen < 1
    ):
        missing.append(f"batch_size_chosen is {batch_size_chosen!r}: set it to a whole number >= 1")
    if not prediction_is_set(act2_estimate_kib):
        missing.append(f"act2_estimate_kib is {act2_estimate_kib!r}: set your Act 2 prediction (a positive number)")
    return activation_choice, missing


def _computed_ledger(
    training_memory, max_trainable_width, *, batch_size_chosen, act2_estimate_kib, batch_doubling_ratio, **answers
) -> tuple[dict, list[str]]:
    """The ledger, with its values computed by the student's functions, and what is unfinished (one line each).

    Raises:
        LedgerError, TypeError, KeyError: for an answer the ledger cannot hold.
    """
    unfinished = []
    ok_memory, memory = try_call(training_memory, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    ok_width, width = try_call(max_trainable_width, DEVICE_BUDGETS_BYTES[LAPTOP_GPU], batch_size_chosen)
    if not ok_width:
        width = None
        unfinished.append("max_trainable_width_laptop_gpu: max_trainable_width does not work yet (see above)")
    if not prediction_is_set(batch_doubling_ratio):
        unfinished.append(f"batch_doubling_ratio is {batch_doubling_ratio!r}: not computed yet")
        batch_doubling_ratio = None
    if ok_memory:
        error_kib = float(act2_estimate_kib) - to_kib(memory["total"])
    else:
        error_kib = None
        unfinished.append("training_memory_estimate_error_kib: training_memory does not work yet (see above)")
    ledger = build_ledger(
        max_trainable_width_laptop_gpu=width,
        training_memory_estimate_error_kib=error_kib,
        batch_size_chosen=batch_size_chosen,
        act2_estimate_kib=act2_estimate_kib,
        batch_doubling_ratio=batch_doubling_ratio,
        **answers,
    )
    return ledger, unfinished


def _print_written(path: pathlib.Path, ledger: dict, unfinished: list[str]) -> None:
    """Print where the ledger was written, its computed values, and what is unfinished."""
    print(f"Wrote {path}:")
    print(f"  activation_choice              = {ledger['activation_choice']!r}")
    print(f"  batch_size_chosen              = {ledger['batch_size_chosen']}")
    print(
        f"  max_trainable_width_laptop_gpu = {_ledger_number(ledger['max_trainable_width_laptop_gpu'], '{:,}')}"
        f"  (the Laptop GPU at your batch_size_chosen = {ledger['batch_size_chosen']}, FP32, Adam; the width "
        f"challenge printed its widths at its own batch size)"
    )
    print(
        f"  training_memory_estimate_error_kib = "
        f"{_ledger_number(ledger['training_memory_estimate_error_kib'], '{:+,.2f} KiB')}"
        f"  (your Act 2 estimate minus your training_memory at batch {MNIST_BATCH_SIZE})"
    )
    if unfinished:
        print(
            "Unfinished, recorded as null until it works (run this cell again then):\n  - " + "\n  - ".join(unfinished)
        )


def _ledger_number(value: Any, form: str) -> str:
    return "null (not computed yet)" if value is None else form.format(value)
