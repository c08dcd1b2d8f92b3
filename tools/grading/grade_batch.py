"""Grade a whole class locally through the autograder bundle, in parallel, into a gradebook.

    python -m tools.grading.grade_batch SUBMISSIONS [--out DIR] [--workers N] [--timeout SECONDS]
                                [--memory-limit SIZE] [--regrade] [--autograder ZIP]

SUBMISSIONS is Gradescope's "export submissions" folder (``submission_<id>/`` folders and
``submission_metadata.yml`` naming the students) or a folder of exported ``.zip`` files,
notebooks and submission folders. Every submission is graded with the pipeline of
``make grade-one`` (staging, trusted scoring with the notebook's code in a bubblewrap sandbox,
Otter's own run in a second sandbox, results validated against the bundle), WORKERS at a time.
DIR (default ``grades/batch/``) receives:

- ``grades.csv``: one row per submission: who, the score of each question, total, status
  (ok, error, timeout, invalid), integrity flags and a message;
- ``results/<submission>/``: ``results.json`` and the grading log, kept for disputes;
- ``summary.txt`` and ``summary.png``: counts by status and flag, score distribution, mean per
  question, the slowest submissions;
- ``mistakes.txt`` and ``mistakes.png``: what the class got wrong: for each question, the share
  with full marks and each mistake the hidden tests named, with the submissions that made it
  (tools/grading/mistakes.py; ``make mistakes`` rebuilds them from DIR alone).

A submission already graded in DIR is reused unless ``--regrade`` is given. Nothing in
SUBMISSIONS is ever written, moved or deleted. Where bubblewrap cannot run, grading is refused;
``UNSANDBOXED=1`` grades anyway and marks every row and the summary. The work is done by the
package tools/grading/batch/; this module is its command line.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import sys

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading import sandbox  # noqa: E402

# Re-exported: tools.grading.grade_batch is the batch grader's public face (tests and scripts use these names).
from tools.grading.batch.coordinator import (  # noqa: E402
    DEFAULT_MEMORY,  # noqa: F401
    DEFAULT_TIMEOUT,  # noqa: F401
    ROW_FILE,  # noqa: F401
    BatchResult,  # noqa: F401
    _format_size,
    grade_batch,
    load_row,  # noqa: F401
    parse_size,  # noqa: F401
)
from tools.grading.batch.discover import METADATA_FILE, BatchError, Submission, discover  # noqa: E402,F401
from tools.grading.batch.row import STATUSES, Row, RowError  # noqa: E402,F401
from tools.grading.grade_one import UNSANDBOXED_NOTE, seconds_argument, unsandboxed_requested  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, BATCH_GRADES  # noqa: E402


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; accepted: 1, 2, ... (default: one per core, {os.cpu_count()})"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is too small; accepted: a whole number >= 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grading.grade_batch", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "submissions",
        type=pathlib.Path,
        help="Gradescope's export folder, or a folder of .zip/.ipynb files and submission folders",
    )
    parser.add_argument("--out", type=pathlib.Path, default=BATCH_GRADES, help="output folder (default grades/batch/)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="submissions graded at once (default: one per core)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_argument,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per submission before it is stopped (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory-limit",
        default=_format_size(DEFAULT_MEMORY).replace(" ", ""),
        help="address-space limit per process in each sandbox, e.g. 4GiB; 0 for none (default 4GiB)",
    )
    parser.add_argument("--regrade", action="store_true", help="grade again what an earlier run already graded")
    parser.add_argument(
        "--crosscheck",
        action="store_true",
        help="also run each notebook through Otter in its kernel and compare with the verdict (a second run)",
    )
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--no-progress", action="store_true", help="print no progress while grading")
    args = parser.parse_args(argv)

    def terminated(signum, frame):
        raise KeyboardInterrupt  # the sandboxes die with this process

    signal.signal(signal.SIGTERM, terminated)
    unsandboxed = unsandboxed_requested()
    if unsandboxed:
        print(f"grade-batch: WARNING: every submission is {UNSANDBOXED_NOTE}", file=sys.stderr)
    try:
        result = grade_batch(
            args.submissions,
            args.out,
            workers=args.workers,
            timeout=args.timeout,
            memory_limit=args.memory_limit,
            regrade=args.regrade,
            autograder=args.autograder,
            progress=not args.no_progress,
            unsandboxed=unsandboxed,
            crosscheck=args.crosscheck,
        )
    except BatchError as exc:
        print(f"grade-batch: {exc}", file=sys.stderr)
        return 2
    except sandbox.SandboxUnavailable as exc:
        print(f"grade-batch: cannot grade safely: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ngrade-batch: interrupted; what was graded is kept in {args.out / 'results'} and is reused "
            "when you run the same command again",
            file=sys.stderr,
        )
        return 130
    counts = ", ".join(f"{s} {sum(r.status == s for r in result.rows)}" for s in STATUSES)
    flagged = sum(1 for r in result.rows if r.flags)
    print(
        f"{len(result.rows)} submission(s): {counts}; {flagged} with flags\n"
        f"gradebook: {result.csv}\nsummary:   {result.out / 'summary.txt'} and summary.png\n"
        f"mistakes:  {result.out / 'mistakes.txt'} and mistakes.png"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
