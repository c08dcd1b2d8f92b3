"""One submission -> one :class:`Row`, through the pipeline ``make grade-one`` runs.

:func:`grade` calls :func:`tools.grading.grade_one.grade_detailed`: the upload is staged (canonical
entries, one notebook, pickles and code dropped), trusted scoring computes the verdict (the
notebook's code in a probe in a sandbox of its own, the bundle's tests here), Otter's own run
happens in a second sandbox and is only compared (``kernel_results_differ``), and the results are
validated against the bundle before they become a row. Both sandboxes are stopped, with
everything they started, at the submission's deadline; the time limit is kept from here.

The batch runs :func:`grade` in worker threads of the coordinator process: nothing a submission
produced is ever unpickled or imported here, only JSON read with a size cap and validated.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import time

from tools.grading import grade_one, sandbox
from tools.grading.batch.discover import Submission
from tools.grading.batch.row import KERNEL_DIED_FLAG, KERNEL_FLAG, SCORING_ERROR_FLAG, UNSANDBOXED_FLAG, Row
from tools.grading.bundle import Bundle
from tools.grading.results import GradeError, question_scores
from tools.grading.staging import write_atomically
from tools.layout import cell_source

CHECK_CALL = re.compile(r"""\bgrader\.check\(\s*["']([^"']+)["']""")


@dataclasses.dataclass(frozen=True)
class Settings:
    bundle: Bundle  # the batch's private, unpacked snapshot of the autograder
    timeout: float  # seconds per submission, everything included
    memory_bytes: int  # address space per process in each sandbox; 0 = no limit
    unsandboxed: bool = False  # UNSANDBOXED=1: no bubblewrap (every row says so)
    crosscheck: bool = False  # also run Otter in the notebook's kernel and compare (CROSSCHECK=1)


def check_order(nb: dict) -> list[str]:
    """The questions in the order the notebook checks them (for the gradebook's columns)."""
    order: list[str] = []
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            for name in CHECK_CALL.findall(cell_source(cell)):
                if name not in order:
                    order.append(name)
    return order


def describe(exc: GradeError, timeout: float) -> str:
    """The gradebook's message for a submission that was not graded."""
    text = str(exc)
    if exc.status == "timeout":
        return (
            f"stopped after {timeout:g}s: grading did not finish (a cell may loop forever or wait for "
            "input); zero points"
        )
    if "DeadKernelError" in text or "Kernel died" in text:
        return (
            "the kernel died while running the notebook (a cell killed it, it crashed, or it ran out of "
            f"memory); zero points [{text}]"
        )
    return text


def grade(sub: Submission, settings: Settings, result_dir: pathlib.Path) -> Row:
    """Grade ``sub``; writes ``results.json`` and ``grading_log.txt`` into ``result_dir``."""
    from tools.grading.integrity import flag_codes, scan_notebook

    begin = time.monotonic()
    row = Row(submission=sub.key, possible=sum(settings.bundle.questions.values()))
    result_dir.mkdir(parents=True, exist_ok=True)

    def inspect(staged) -> None:  # what staging kept, before anything runs
        shipped = list(staged.files) + [r.split(": ", 1)[0] for r in staged.removed]
        flags = scan_notebook(staged.notebook, shipped, staged.notebook_path.name)
        row.flags, row.flag_details = flag_codes(flags), [str(f) for f in flags]
        row.check_order = [q for q in check_order(staged.notebook) if q in settings.bundle.questions]

    try:
        graded = grade_one.grade_detailed(
            sub.path,
            bundle=settings.bundle,
            timeout=settings.timeout,
            memory_bytes=settings.memory_bytes or None,
            unsandboxed=settings.unsandboxed,
            assignment_name=settings.bundle.assignment or None,
            inspect=inspect,
            crosscheck=settings.crosscheck,
        )
    except GradeError as exc:
        row.status, row.message = exc.status, describe(exc, settings.timeout)
        write_atomically(result_dir / "grading_log.txt", f"{exc}\n{exc.log}")
    except sandbox.SandboxUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - one submission never ends the batch
        row.status, row.message = "error", f"grading failed: {type(exc).__name__}: {exc}"
        write_atomically(result_dir / "grading_log.txt", row.message + "\n")
    else:
        scores = question_scores(graded.results)
        row.questions = [(q, s, m) for q, (s, m) in scores.items()]
        row.total = sum(s for s, _ in scores.values())
        row.status = "ok" if scores else "error"
        row.scoring_cpu_seconds = round(graded.cpu.get("scoring", 0.0), 3)
        row.probe_cpu_seconds = round(graded.cpu.get("probe", 0.0), 3)
        row.message = "" if scores else "no question scores in the results"
        if graded.differ:
            row.differ = list(graded.differ)
            row.add_flag(KERNEL_FLAG, ", ".join(graded.differ))
        if graded.kernel_died:
            row.add_flag(KERNEL_DIED_FLAG, "Otter's run in the kernel did not finish; the trusted scores stand")
        for fault in graded.faults[:5]:
            row.add_flag(SCORING_ERROR_FLAG, fault)
        write_atomically(result_dir / "results.json", json.dumps(graded.results, indent=2) + "\n")
        write_atomically(result_dir / "grading_log.txt", graded.log)
    if settings.unsandboxed:
        row.unsandboxed = True
        row.add_flag(UNSANDBOXED_FLAG, "UNSANDBOXED=1: the student's code ran with the grader's rights")
    if row.status != "ok":
        row.zero()
    row.seconds = round(time.monotonic() - begin, 2)
    return row
