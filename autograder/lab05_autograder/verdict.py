"""The trusted verdict, and how it takes the place of Otter's results.

:class:`Scored` holds Otter's test file objects as trusted scoring ran them (and travels as JSON
data between processes: :meth:`Scored.to_data`, :meth:`Scored.from_data`). :func:`replace_results`
puts it into Otter's results, compares it with the scores of Otter's own run in the notebook's
kernel and raises the integrity flags; :func:`write_provisional_results` writes Gradescope's file
before the kernel starts; :func:`gradescope_results` does the same for local grading, from the
``results.json`` of Otter's sandboxed run.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import policy, wire
from .session import ScoringFault

FLAG = policy.FLAG_KERNEL_RESULTS_DIFFER


@dataclass
class Scored:
    """The trusted results: Otter test file objects, run against the probe."""

    test_files: list
    events: list[str] = field(default_factory=list)
    confined: str = ""
    seconds: float = 0.0
    faults: list[str] = field(default_factory=list)  # test cases the scoring could not vouch for, and why
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by part, where the scorer measured them

    def scores(self) -> dict[str, float]:
        return {tf.name: float(tf.score) for tf in self.test_files}

    def public_scores(self) -> dict[str, float]:
        """{question: points of its public test cases passed}: what the kernel's run, which has no
        hidden test to run, should score."""
        return {
            tf.name: float(sum(r.test_case.points for r in tf.test_case_results if r.passed and not r.test_case.hidden))
            for tf in self.test_files
        }

    def passed(self) -> dict[str, bool]:
        return {
            f"{tf.name} / {r.test_case.name}": bool(r.passed) for tf in self.test_files for r in tf.test_case_results
        }

    def to_data(self) -> dict:
        """The verdict as JSON data (for the process that asked for it): each case's pass and message."""
        return {
            "cases": {
                tf.name: [[r.test_case.name, bool(r.passed), str(r.message)] for r in tf.test_case_results]
                for tf in self.test_files
            },
            "events": list(self.events),
            "confined": self.confined,
            "seconds": self.seconds,
            "faults": list(self.faults),
            "cpu_seconds": dict(self.cpu),
        }

    @classmethod
    def from_data(cls, data: Any, bundle: os.PathLike) -> Scored:
        """The verdict :meth:`to_data` wrote, read as untrusted data against the test files of the
        unpacked ``bundle`` (their names, cases and points come from the bundle); raises
        ScoringFault for anything that does not fit them."""
        from otter.test_files.abstract_test import TestCaseResult
        from otter.test_files.exception_test import ExceptionTestFile

        def text_list(value) -> list[str]:
            if type(value) is not list or not all(type(v) is str for v in value):
                raise ScoringFault("the scoring process's verdict is not the expected data")
            return [wire.short(v, 1000) for v in value[:100]]

        if type(data) is not dict or type(data.get("cases")) is not dict:
            raise ScoringFault("the scoring process's verdict is not the expected data")
        files = []
        for path in sorted(pathlib.Path(bundle, "tests").glob("*.py")):
            test_file = ExceptionTestFile.from_string(path.read_text(encoding="utf-8"), path=str(path))
            got = data["cases"].get(test_file.name)
            names = [tc.name for tc in test_file.test_cases]
            if type(got) is not list or [c[0] if type(c) is list and len(c) == 3 else None for c in got] != names:
                raise ScoringFault(f"the scoring process's verdict does not fit the test file {test_file.name}")
            if not all(type(c[1]) is bool and type(c[2]) is str for c in got):
                raise ScoringFault(f"the scoring process's verdict for {test_file.name} is not the expected data")
            test_file.test_case_results = [
                TestCaseResult(test_case=tc, message=c[2][:20_000], passed=c[1])
                for tc, c in zip(test_file.test_cases, got)
            ]
            files.append(test_file)

        def seconds(value) -> float:
            return float(value) if type(value) in (int, float) and math.isfinite(value) and value >= 0 else 0.0

        cpu = data.get("cpu_seconds") if type(data.get("cpu_seconds")) is dict else {}
        return cls(
            files,
            text_list(data.get("events", [])),
            wire.short(data.get("confined", ""), 80),
            seconds(data.get("seconds")),
            text_list(data.get("faults", [])),
            {part: seconds(cpu.get(part)) for part in ("scoring", "probe") if part in cpu},
        )


def differences(kernel: dict[str, float], trusted: dict[str, float]) -> list[str]:
    """The questions whose score from the kernel's own run differs from the trusted score."""
    names = sorted(set(kernel) | set(trusted))
    return [n for n in names if abs(kernel.get(n, 0.0) - trusted.get(n, 0.0)) > 1e-9]


def flag_text(questions: Iterable[str]) -> str:
    questions = list(questions)
    if not questions:
        return ""
    return (
        f"integrity flag {FLAG}: the scores computed inside the notebook's kernel differ from the "
        f"trusted scores for {', '.join(questions)}; the trusted scores stand."
    )


def fault_text(faults: list[str]) -> str:
    """The ``scoring_error`` flag's line: the test cases scored 0 because scoring failed, and why."""
    shown = "; ".join(faults[:3]) + (f"; and {len(faults) - 3} more" if len(faults) > 3 else "")
    return (
        f"integrity flag {policy.FLAG_SCORING_ERROR}: the grader could not score {len(faults)} test case(s), "
        f"which count 0 until reviewed: {shown}."
    )


def replace_results(
    results, scored: Scored, kernel: dict[str, float] | None, removed: list[str], kernel_died: bool = False
) -> list[str]:
    """Put the trusted test files in Otter's results; returns the questions that differed.

    ``kernel``: the scores of Otter's run in the notebook's kernel, which runs the public test cases
    only (:func:`lab05_autograder.kernel.prepare_kernel_folder`); None where there was no such run.
    ``kernel_died``: the kernel's run did not finish (flagged; the trusted scores stand).
    """
    differ = differences(kernel, scored.public_scores()) if kernel is not None else []
    results.results = {tf.name: tf for tf in scored.test_files}
    results._catastrophic_error = None
    results.all_hidden = False
    lines = [flag_text(differ)] if differ else []
    if kernel_died:
        lines.append(
            f"integrity flag {policy.FLAG_KERNEL_DIED}: Otter's run of the notebook in its kernel did not finish "
            "(the kernel died: a cell ended it, it crashed, or it ran out of memory); the trusted scores stand."
        )
    if scored.faults:
        lines.append(fault_text(scored.faults))
    if removed:
        lines.append(
            f"Removed from the submission before grading (Otter would have deserialized them): {', '.join(removed)}."
        )
    lines += scored.events
    results.set_output("\n".join(lines) if lines else None)
    flags = (
        ([FLAG] if differ else [])
        + ([policy.FLAG_KERNEL_DIED] if kernel_died else [])
        + ([policy.FLAG_SCORING_ERROR] if scored.faults else [])
    )
    results.set_plugin_data(
        "TrustedScoring", {"differ": differ, "confined": scored.confined, "flags": flags, "faults": scored.faults}
    )
    return differ


def write_provisional_results(scored: Scored, config, path: pathlib.Path, removed: list[str]) -> None:
    """Write Gradescope's results.json from the trusted verdict, flagged ``kernel_died``, before the
    kernel starts: Otter writes no results when the kernel dies, and replaces this file when it
    does not."""
    import json

    from otter.test_files import GradingResults

    results = GradingResults(scored.test_files)
    replace_results(results, scored, None, removed, kernel_died=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(results.to_gradescope_dict(config), indent=4), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        scored.events.append(f"the provisional results could not be written ({wire.short(exc, 120)})")


def kernel_scores(results_json: Any) -> dict[str, float]:
    """{question: score} from the ``results.json`` of Otter's run (untrusted data: read defensively)."""
    scores: dict[str, float] = {}
    tests = results_json.get("tests") if isinstance(results_json, dict) else None
    for test in tests if isinstance(tests, list) else []:
        if not isinstance(test, dict) or not isinstance(test.get("name"), str):
            continue
        score = test.get("score")
        if "max_score" not in test or type(score) not in (int, float):
            continue
        question = test["name"].split(" - ")[0].strip()
        scores[question] = scores.get(question, 0.0) + float(score)
    return scores


def gradescope_results(
    scored: Scored, bundle: os.PathLike, kernel_results: Any, removed: Iterable[str] = (), kernel_died: bool = False
) -> tuple[dict, list[str]]:
    """``(results.json as Gradescope reads it, questions whose kernel scores differed)`` from the
    trusted results and the ``results.json`` of Otter's (sandboxed, untrusted) run in the kernel
    (None: there was none, or it died)."""
    import json

    from otter.run.run_autograder.autograder_config import AutograderConfig
    from otter.test_files import GradingResults

    results = GradingResults(scored.test_files)
    kernel = kernel_scores(kernel_results) if kernel_results is not None else None
    differ = replace_results(results, scored, kernel, list(removed), kernel_died)
    config = json.loads((pathlib.Path(bundle) / "otter_config.json").read_text(encoding="utf-8"))
    return results.to_gradescope_dict(AutograderConfig(config)), differ
