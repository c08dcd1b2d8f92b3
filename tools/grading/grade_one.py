"""Grade one submission locally, through the same code Gradescope runs, inside the sandbox.

    python -m tools.grading.grade_one SUBMISSION [--autograder autograder/autograder.zip] [--out DIR] [--force]
                              [--timeout SECONDS]

SUBMISSION is the zip a student exported (notebook + design_ledger.json), a bare notebook, or a
folder (Gradescope's unzipped upload). It is staged (tools/grading/staging.py: canonical names only, one
notebook, no code or pickles from the upload), then ``otter run`` grades it inside bubblewrap
(tools/grading/sandbox/: the bundle and the Python environment read-only, nothing else of this machine
visible, a memory limit and an outer timeout). Prints the score of each question and writes
Otter's ``results.json`` (the file Gradescope reads), a ``scores.txt`` summary and the grading log
into DIR (default ``grades/<submission name>/``). An existing DIR is never replaced unless
``--force`` is given. Where bubblewrap cannot run, grading is refused; ``UNSANDBOXED=1`` grades
anyway, without the sandbox, and says so in the output and in scores.txt.

This module is the pipeline (:func:`grade_detailed`, which the batch runs too) and the command line;
its stages live beside it: the scoring process (:mod:`tools.grading.scoring_process`), the
cross-check in the kernel (:mod:`tools.grading.crosscheck`), and the reading and checking of
``results.json`` (:mod:`tools.grading.results`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import sys
import tempfile
import time
from collections.abc import Callable

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading import sandbox  # noqa: E402
from tools.grading.bundle import Bundle  # noqa: E402
from tools.grading.crosscheck import TIMED_OUT, otter_in_kernel  # noqa: E402
from tools.grading.results import GradeError, bundle_questions, question_scores, validate_results  # noqa: E402
from tools.grading.scoring_process import score_in_own_process  # noqa: E402
from tools.grading.staging import Staged, StagingError, stage  # noqa: E402
from tools.grading.trusted import trusted_module  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, GRADES  # noqa: E402

DEFAULT_TIMEOUT = sandbox.policy().SUBMISSION_TIMEOUT_S  # seconds: the Gradescope timeout README recommends
DEFAULT_MEMORY = sandbox.policy().KERNEL_MEMORY_BYTES  # address space per process in the sandbox
ACCEPTED = (".zip", ".ipynb")


@dataclasses.dataclass
class Graded:
    results: dict  # Otter's results.json, validated against the bundle
    log: str  # what grading printed (of Otter's run, its last crosscheck.MAX_LOG_BYTES)
    unsandboxed: bool  # True when it ran without bubblewrap (UNSANDBOXED=1)
    seconds: float
    removed: list[str]  # what staging dropped from the upload, and why
    differ: list[str] = dataclasses.field(default_factory=list)  # questions the kernel scored otherwise
    confined: str = ""  # where the trusted scoring's probe ran
    kernel_died: bool = False  # Otter's run in the kernel did not finish (the trusted scores stand)
    faults: list[str] = dataclasses.field(default_factory=list)  # test cases scoring could not vouch for
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)  # CPU seconds: scoring process, probe

    @property
    def flags(self) -> list[str]:
        return (
            ([KERNEL_FLAG] if self.differ else [])
            + ([policy.FLAG_KERNEL_DIED] if self.kernel_died else [])
            + ([policy.FLAG_SCORING_ERROR] if self.faults else [])
        )


policy = sandbox.policy()
KERNEL_FLAG = policy.FLAG_KERNEL_RESULTS_DIFFER


def unsandboxed_requested() -> bool:
    """Whether the environment asks to grade without the sandbox (``UNSANDBOXED=1``)."""
    return os.environ.get("UNSANDBOXED", "").strip().lower() in ("1", "true", "yes")


def check_submission(path: pathlib.Path) -> pathlib.Path:
    """The submission path, if it names something Otter can grade."""
    if not path.exists():
        raise GradeError(f"{path} does not exist")
    if not path.is_dir() and (not path.is_file() or path.suffix.lower() not in ACCEPTED):
        raise GradeError(
            f"{path} is not a submission: expected a .zip exported by the notebook, a .ipynb, or a folder holding one"
        )
    return path.resolve()


def grade_detailed(
    submission: pathlib.Path,
    autograder: pathlib.Path = AUTOGRADER_ZIP,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_bytes: int | None = DEFAULT_MEMORY,
    unsandboxed: bool | None = None,
    bundle: Bundle | None = None,
    assignment_name: str | None = None,
    inspect: Callable[[Staged], None] | None = None,
    crosscheck: bool = False,
) -> Graded:
    """Stage ``submission`` and grade it: trusted scoring gives the verdict (the notebook's code runs
    once, in the probe's sandbox); with ``crosscheck``, Otter's own run in the notebook's kernel
    follows, in a sandbox of its own, and is compared (``kernel_results_differ``, ``kernel_died``).
    The one pipeline of grade-one and the batch; see the module docstring.

    ``bundle`` is an opened :class:`tools.grading.bundle.Bundle` to reuse (the batch opens it once);
    otherwise ``autograder`` is opened for this submission. ``assignment_name`` makes staging
    refuse a notebook of another assignment ("invalid"). ``inspect`` is called with what staging
    kept before anything runs (the batch scans it). ``timeout`` bounds the whole submission.

    Raises GradeError (what went wrong; ``status`` error, timeout or invalid) or
    sandbox.SandboxUnavailable (bwrap cannot run and ``unsandboxed`` is off; None means: read
    UNSANDBOXED from the environment).
    """
    if unsandboxed is None:
        unsandboxed = unsandboxed_requested()
    begin = time.monotonic()
    if bundle is None:
        autograder = _checked_autograder(autograder)
    if not unsandboxed:
        sandbox.check_available()
    run = _Run(pathlib.Path(submission).name, timeout, begin + timeout, memory_bytes, unsandboxed)
    with tempfile.TemporaryDirectory(prefix="lab05-grade-") as work:
        work = pathlib.Path(work)
        os.chmod(work, 0o755)  # the read-only inputs must be readable by the sandbox's user
        if bundle is None:
            bundle = Bundle.open(autograder, work / "bundle")
        # Otter refuses a notebook of another assignment; without Otter's run, staging does
        staged = _stage(pathlib.Path(submission), work, assignment_name or bundle.assignment or None)
        if inspect is not None:
            inspect(staged)
        graded = _grade_staged(staged, work, bundle, run, crosscheck=crosscheck)
    return dataclasses.replace(graded, seconds=time.monotonic() - begin)


@dataclasses.dataclass(frozen=True)
class _Run:
    """One submission's grading: its name, its time limit and deadline (time.monotonic()), its sandboxes."""

    name: str
    timeout: float
    deadline: float
    memory_bytes: int | None
    unsandboxed: bool


def _checked_autograder(autograder: pathlib.Path) -> pathlib.Path:
    """``autograder`` as an absolute path, if it is a readable bundle (GradeError, with the fix, if not)."""
    autograder = pathlib.Path(autograder).resolve()
    if not autograder.is_file():
        raise GradeError(f"{autograder} does not exist: run `make` to build the autograder bundle")
    bundle_questions(autograder)  # a clear error for a file that is not a bundle
    return autograder


def _grade_staged(staged: Staged, work: pathlib.Path, bundle: Bundle, run: _Run, *, crosscheck: bool) -> Graded:
    """The verdict on what staging kept (trusted scoring), with Otter's run in the kernel compared
    when ``crosscheck`` is set; ``seconds`` is left for the caller to fill in."""
    trusted = trusted_module(bundle.unpacked)
    log = "staging dropped from the upload:\n" + "".join(f"  {r}\n" for r in staged.removed) if staged.removed else ""
    # The verdict: the notebook's code runs in a probe, in a sandbox of its own, and the bundle's
    # tests run in a scoring process of this submission's own, outside every sandbox.
    scored = score_in_own_process(
        staged.notebook,
        bundle.unpacked,
        trusted,
        unsandboxed=run.unsandboxed,
        memory_bytes=run.memory_bytes,
        deadline=run.deadline,
    )
    events = "".join(f"\n{event}" for event in scored.events)
    if time.monotonic() >= run.deadline:
        raise _out_of_time(run.name, run.timeout, log + events.lstrip("\n"))
    kernel, kernel_died = None, False
    if crosscheck:  # Otter's run comes after, alone: nothing it does exists while the probe runs
        kernel, kernel_died, log = otter_in_kernel(
            staged, work, bundle, trusted, log, run.deadline, memory_bytes=run.memory_bytes, unsandboxed=run.unsandboxed
        )
        if kernel is TIMED_OUT:
            raise _out_of_time(run.name, run.timeout, log + events)
    pickles = [r for r in staged.removed if any(s in r for s in policy.PICKLE_SUFFIXES + policy.UNTRUSTED_PICKLES)]
    results, differ = trusted.results_json(scored, bundle.unpacked, kernel, pickles, kernel_died=kernel_died)
    try:
        results = validate_results(results, bundle.questions)
    except GradeError as exc:
        exc.log = log
        raise
    return Graded(
        results=results,
        log=log + events,
        unsandboxed=run.unsandboxed,
        seconds=0.0,
        removed=staged.removed,
        differ=differ,
        confined=scored.confined,
        kernel_died=kernel_died,
        faults=list(scored.faults),
        cpu=dict(scored.cpu),
    )


def _stage(submission: pathlib.Path, work: pathlib.Path, assignment_name: str | None) -> Staged:
    try:
        return stage(submission, work / "staged", assignment_name=assignment_name)
    except StagingError as exc:
        raise GradeError(
            f"{submission.name} cannot be graded ({exc.status}): {exc}",
            "invalid" if exc.status == "invalid" else "error",
        ) from exc


def _out_of_time(name: str, timeout: float, log: str) -> GradeError:
    return GradeError(
        f"grading {name} did not finish within {timeout:g} s and was stopped (a cell may loop forever or wait for input)",
        "timeout",
        log,
    )


def grade(submission: pathlib.Path, autograder: pathlib.Path = AUTOGRADER_ZIP, **kwargs) -> tuple[dict, str]:
    """Grade ``submission`` in the sandbox (see :func:`grade_detailed`).

    Returns:
        ``(results, log)``: Gradescope's results.json as a dict, and what grading printed.
    """
    graded = grade_detailed(submission, autograder, **kwargs)
    return graded.results, graded.log


def format_scores(results: dict) -> str:
    """A table of question scores and the total."""
    rows = question_scores(results)
    width = max([len(q) for q in rows] + [len("question")])
    lines = [f"{'question':<{width}}  score", f"{'-' * width}  -----------"]
    lines += [f"{q:<{width}}  {s:g} / {m:g}" for q, (s, m) in rows.items()]
    total = results.get("score", sum(s for s, _ in rows.values()))
    possible = sum(m for _, m in rows.values())
    lines += [f"{'-' * width}  -----------", f"{'total':<{width}}  {total:g} / {possible:g}"]
    return "\n".join(lines)


def seconds_argument(text: str) -> float:
    """A command line's timeout in seconds (a number > 0), or an argparse error that says what is accepted."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds; accepted: a number > 0, e.g. 900"
        ) from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a usable timeout; accepted: a number of seconds > 0")
    return value


UNSANDBOXED_NOTE = "graded WITHOUT the sandbox (UNSANDBOXED=1): the student's code ran with all your rights"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "submission", type=pathlib.Path, help="a .zip exported by the notebook, a .ipynb, or a folder holding one"
    )
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--out", type=pathlib.Path, help="folder for results.json (default grades/<name>/)")
    parser.add_argument("--force", action="store_true", help="replace the output folder if it exists")
    parser.add_argument(
        "--crosscheck",
        action="store_true",
        help="also run the notebook through Otter in its kernel and compare with the verdict (a second run)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_argument,
        default=DEFAULT_TIMEOUT,
        help=f"seconds before grading is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    args = parser.parse_args(argv)
    unsandboxed = unsandboxed_requested()
    try:
        submission = check_submission(args.submission)
        out = args.out or GRADES / submission.stem
        if out.exists() and not args.force:
            raise GradeError(
                f"{out} already exists; pass --force (make grade-one ... FORCE=1) to replace "
                "it, or choose another folder with --out"
            )
        if unsandboxed:
            print(f"grade-one: WARNING: {UNSANDBOXED_NOTE}", file=sys.stderr)
        graded = grade_detailed(
            submission,
            args.autograder.resolve(),
            timeout=args.timeout,
            unsandboxed=unsandboxed,
            crosscheck=args.crosscheck,
        )
    except sandbox.SandboxUnavailable as exc:
        print(f"grade-one: cannot grade safely: {exc}", file=sys.stderr)
        return 2
    except GradeError as exc:
        print(f"grade-one: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    table = format_scores(graded.results)
    how = UNSANDBOXED_NOTE if graded.unsandboxed else "graded in the sandbox (bubblewrap)"
    if graded.differ:
        how += (
            f"\nintegrity flag {KERNEL_FLAG}: the scores computed in the notebook's kernel differ from the "
            f"trusted scores for {', '.join(graded.differ)}; the trusted scores stand"
        )
    if graded.kernel_died:
        how += f"\nintegrity flag {policy.FLAG_KERNEL_DIED}: Otter's run in the kernel did not finish; the trusted scores stand"
    if graded.faults:
        how += f"\nintegrity flag {policy.FLAG_SCORING_ERROR}: " + "; ".join(graded.faults[:5])
    (out / "results.json").write_text(json.dumps(graded.results, indent=2) + "\n", encoding="utf-8")
    (out / "scores.txt").write_text(f"{table}\n\n{how}\n", encoding="utf-8")
    (out / "grading_log.txt").write_text(graded.log, encoding="utf-8")
    dropped = (
        "\ndropped from the upload:\n" + "\n".join(f"  {r}" for r in graded.removed) + "\n" if graded.removed else ""
    )
    print(
        f"{submission.name}\n\n{table}\n{dropped}\n{how} in {graded.seconds:.1f} s\n"
        f"Otter's results: {out / 'results.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
