"""The gradebook's row: one type from the worker to grades.csv, and its JSON form (row.json).

A row read back from disk (resuming a run) is data, not trusted: :meth:`Row.from_json` checks
every field's type, that the status is known, that every question is one of the bundle's with
0 <= score <= max <= the bundle's points, and that a row not graded ok earns nothing, so that
an edited row.json cannot inject a score.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from tools.grading.integrity import FLAGS as SCAN_FLAGS
from tools.grading.sandbox import policy

STATUSES = ("ok", "error", "timeout", "invalid")
KERNEL_FLAG = policy().FLAG_KERNEL_RESULTS_DIFFER
KERNEL_DIED_FLAG = policy().FLAG_KERNEL_DIED
SCORING_ERROR_FLAG = policy().FLAG_SCORING_ERROR
UNSANDBOXED_FLAG = "unsandboxed"
#: every flag a row can carry, with what it means (the integrity scan's, then the grader's own)
FLAGS = {
    **SCAN_FLAGS,
    KERNEL_FLAG: "the scores computed in the notebook's own kernel differ from the trusted scores "
    "(a forged or tampered kernel run; the trusted scores stand)",
    KERNEL_DIED_FLAG: "Otter's run in the notebook's kernel did not finish (a cell ended it, it crashed or ran "
    "out of memory); the trusted scores stand",
    SCORING_ERROR_FLAG: "the grader could not score some test cases (an unreadable answer, a broken protocol, a "
    "limit of the submission); they count 0 until reviewed",
    UNSANDBOXED_FLAG: "graded WITHOUT the sandbox (UNSANDBOXED=1): the student's code ran with the grader's rights",
}
IDENTITY = ("submission", "file", "name", "email", "sid", "created_at", "gradescope_score")


class RowError(ValueError):
    """A row.json that is not a row this grader wrote for this bundle."""


@dataclasses.dataclass
class Row:
    submission: str  # the key: names results/<submission>/
    status: str = "error"
    questions: list[tuple[str, float, float]] = dataclasses.field(default_factory=list)  # (question, score, max)
    total: float = 0.0
    possible: float = 0.0
    flags: list[str] = dataclasses.field(default_factory=list)
    flag_details: list[str] = dataclasses.field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    check_order: list[str] = dataclasses.field(default_factory=list)
    differ: list[str] = dataclasses.field(default_factory=list)  # questions the kernel scored otherwise
    unsandboxed: bool = False
    scoring_cpu_seconds: float = 0.0  # CPU of trusted scoring's process (interpreter, imports, the tests)
    probe_cpu_seconds: float = 0.0  # CPU of the probe's sandboxes (the notebook's code)
    autograder_sha256: str = ""
    graded_at: str = ""
    # who: from the discovery of this run (never trusted from disk)
    file: str = ""
    name: str = ""
    email: str = ""
    sid: str = ""
    created_at: str = ""
    gradescope_score: str = ""
    reused: bool = False  # taken from an earlier run (not stored)

    @property
    def scores(self) -> dict[str, float]:
        return {q: s for q, s, _ in self.questions}

    def add_flag(self, code: str, detail: str) -> None:
        if code not in self.flags:
            self.flags.append(code)
        self.flag_details.append(f"{code}: {detail}")

    def zero(self) -> None:
        """No points for a row that was not graded ok."""
        self.questions, self.total = [], 0.0

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("reused")
        data["questions"] = [list(q) for q in self.questions]
        return data

    @classmethod
    def from_json(cls, data: Any, questions: dict[str, float]) -> Row:
        """The row in ``data`` (a row.json), checked against the bundle's ``{question: points}``."""
        if not isinstance(data, dict):
            raise RowError("not a JSON object")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise RowError(f"unknown fields {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name == "reused":
                continue
            if name in ("total", "possible", "seconds", "scoring_cpu_seconds", "probe_cpu_seconds"):
                kwargs[name] = _number(value, name)
            elif name == "unsandboxed":
                if type(value) is not bool:
                    raise RowError("unsandboxed is not true/false")
                kwargs[name] = value
            elif name in ("flags", "flag_details", "check_order", "differ"):
                if not isinstance(value, list) or not all(type(v) is str for v in value):
                    raise RowError(f"{name} is not a list of strings")
                kwargs[name] = list(value)
            elif name == "questions":
                kwargs[name] = _questions(value, questions)
            else:
                if type(value) is not str:
                    raise RowError(f"{name} is not a string")
                kwargs[name] = value
        row = cls(**kwargs)
        if row.status not in STATUSES:
            raise RowError(f"status {row.status!r} is not one of {', '.join(STATUSES)}")
        bad = [f for f in row.flags if f not in FLAGS]
        if bad:
            raise RowError(f"unknown flags {bad}")
        if [q for q in row.check_order if q not in questions] or [q for q in row.differ if q not in questions]:
            raise RowError("names questions the bundle does not have")
        earned = sum(s for _, s, _ in row.questions)
        if abs(row.total - earned) > 1e-6:
            raise RowError(f"total {row.total:g} is not the sum of its questions ({earned:g})")
        if row.status != "ok" and (row.questions or row.total):
            raise RowError(f"a row with status {row.status} has points")
        if row.possible > sum(questions.values()) + 1e-9 or row.possible < 0:
            raise RowError(f"possible {row.possible:g} is not the bundle's")
        return row


def _number(value: Any, name: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise RowError(f"{name} is not a finite number >= 0")
    return float(value)


def _questions(value: Any, questions: dict[str, float]) -> list[tuple[str, float, float]]:
    if not isinstance(value, list):
        raise RowError("questions is not a list")
    out, seen = [], set()
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 3 and type(entry[0]) is str):
            raise RowError(f"question entry {str(entry)[:80]} is not [name, score, max]")
        q, score, top = entry[0], _number(entry[1], "a score"), _number(entry[2], "a max score")
        if q not in questions:
            raise RowError(f"question {q!r} is not one of the bundle's")
        if q in seen:
            raise RowError(f"question {q!r} appears twice")
        seen.add(q)
        if not score <= top <= questions[q] + 1e-9:
            raise RowError(f"{q}: score {score:g} of {top:g} (the bundle gives {questions[q]:g})")
        out.append((q, score, top))
    return out
