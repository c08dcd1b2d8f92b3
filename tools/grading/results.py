"""Otter's ``results.json`` of one submission: read with a size cap, checked against the bundle.

:func:`validate_results` is the one check every reader applies (grade-one, the batch reading back
an earlier row, the cross-check of Otter's own run): only the bundle's questions, each test's score
between 0 and its max_score, no question worth more than in the bundle, a total that is the sum.
A submission that cannot be graded raises :class:`GradeError`, with what went wrong.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import zipfile

from tools.grading.bundle import read_questions
from tools.grading.staging import read_capped

MAX_RESULTS_BYTES = 16 * 1024**2  # results.json larger than this is not Otter's


class GradeError(RuntimeError):
    """A submission could not be graded; the message says why.

    ``status`` is "invalid" (not a gradable upload), "timeout" (stopped at the time limit) or
    "error"; ``log`` is what grading printed before it failed.
    """

    def __init__(self, message: str, status: str = "error", log: str = ""):
        super().__init__(message)
        self.status = status
        self.log = log


def bundle_questions(autograder: pathlib.Path) -> dict[str, float]:
    """{question: points possible} of the bundle, read from its tests without running them."""
    try:
        return read_questions(autograder)[1]
    except (zipfile.BadZipFile, OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise GradeError(f"{autograder} is not a readable autograder bundle ({exc}): run `make`") from exc


def validate_results(results, questions: dict[str, float]) -> dict:
    """``results`` if it is a result of this bundle: known test names, 0 <= score <= max_score."""

    def bad(why: str) -> GradeError:
        return GradeError(f"results.json is not a valid result of this autograder: {why}; not graded")

    if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
        raise bad("expected a JSON object with a list of tests")
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    for test in results["tests"]:
        if not isinstance(test, dict) or not isinstance(test.get("name"), str):
            raise bad(f"a test entry without a name: {str(test)[:200]}")
        name = test["name"]
        if "max_score" not in test and "score" not in test:
            continue  # text only, e.g. Otter's "Public Tests" summary
        question = name.split(" - ")[0].strip()
        if question not in questions:
            raise bad(f"test {name!r} is not one of the bundle's questions ({', '.join(sorted(questions))})")
        score, top = test.get("score", 0) or 0, test.get("max_score", 0) or 0
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (score, top)):
            raise bad(f"test {name!r} has score {score!r} of {top!r}; expected numbers")
        if not 0 <= score <= top:
            raise bad(f"test {name!r} has score {score!r} of max_score {top!r}; expected 0 <= score <= max_score")
        earned[question] = earned.get(question, 0.0) + score
        possible[question] = possible.get(question, 0.0) + top
    over = {q: m for q, m in possible.items() if m > questions[q] + 1e-9}
    if over:
        raise bad(
            ", ".join(f"{q} is worth {m:g} in results.json but {questions[q]:g} in the bundle" for q, m in over.items())
        )
    total = results.get("score")
    if total is not None and (
        not isinstance(total, (int, float))
        or isinstance(total, bool)
        or not math.isfinite(total)
        or abs(total - sum(earned.values())) > 1e-6
    ):
        raise bad(f"its total {total!r} is not the sum of its tests ({sum(earned.values()):g})")
    return results


def read_results(scratch: pathlib.Path) -> dict:
    """scratch/out/results.json, read without following links and with a size cap."""
    where = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        try:
            out = os.open("out", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=where)
        except OSError as exc:
            raise GradeError(f"Otter wrote no results ({exc.strerror})") from exc
        try:
            data = read_capped("results.json", MAX_RESULTS_BYTES, dir_fd=out)
        except FileNotFoundError:
            raise GradeError("Otter wrote no results") from None
        except ValueError as exc:
            raise GradeError(f"results.json is {exc}; not graded") from None
        except OSError as exc:
            raise GradeError(f"results.json cannot be read ({exc.strerror}); not graded") from exc
        finally:
            os.close(out)
    finally:
        os.close(where)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise GradeError(f"results.json is not JSON ({exc}); not graded") from exc


def question_scores(results: dict) -> dict[str, tuple[float, float]]:
    """``{question: (score, max_score)}`` summed over each question's public and hidden entries."""
    scores: dict[str, list[float]] = {}
    for test in results.get("tests", []):
        name = test.get("name", "")
        question = name.split(" - ")[0].strip()
        if not question or "max_score" not in test:
            continue
        entry = scores.setdefault(question, [0.0, 0.0])
        entry[0] += float(test.get("score", 0) or 0)
        entry[1] += float(test.get("max_score", 0) or 0)
    return {q: (s, m) for q, (s, m) in scores.items()}
