"""Scheduling: every submission graded once, WORKERS at a time, each within its time limit.

    result = grade_batch(submissions, out, workers=2, timeout=900, memory_limit="4GiB")

The workers are threads of this process, each driving the sandboxed subprocesses of one
submission at a time (:mod:`tools.grading.batch.worker`): the untrusted work happens in bubblewrap
sandboxes that the worker stops at the submission's deadline, kernel, probe and everything they
started; what comes back is validated JSON. A submission's row is written to
``results/<submission>/row.json`` as soon as it is graded; a later run reuses it (after checking
it against the bundle, :meth:`Row.from_json`) unless ``regrade`` is set.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field

from tools.grading import grade_one, sandbox
from tools.grading.batch.discover import BatchError, Submission, discover
from tools.grading.batch.row import STATUSES, Row, RowError
from tools.grading.batch.worker import Settings, grade
from tools.grading.bundle import Bundle
from tools.grading.results import MAX_RESULTS_BYTES, GradeError, question_scores, validate_results
from tools.grading.staging import read_capped, write_atomically
from tools.layout import AUTOGRADER_ZIP, BATCH_GRADES

DEFAULT_TIMEOUT = grade_one.DEFAULT_TIMEOUT  # seconds per submission (policy.SUBMISSION_TIMEOUT_S)
DEFAULT_MEMORY = grade_one.DEFAULT_MEMORY  # address space per process in each sandbox (the policy)
ROW_FILE = "row.json"
MAX_ROW_BYTES = 1024**2


def parse_size(text: str | int) -> int:
    """Bytes from "4GiB", "4G", "512MiB", "512M", "1.5GiB" or a plain number; 0 means no limit."""
    if isinstance(text, int):
        value = text
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
        if not match:
            raise BatchError(
                f"memory limit {text!r} is not a size; accepted: a number of bytes, or a number "
                "with K, M, G or T (binary units), e.g. 4GiB, 512M; 0 for no limit"
            )
        scale = 1024 ** ("KMGT".find(match.group(2).upper()) + 1) if match.group(2) else 1
        value = int(float(match.group(1)) * scale)
    if value < 0:
        raise BatchError(f"memory limit {text!r} is negative; accepted: 0 (no limit) or a positive size")
    if 0 < value < sandbox.policy().MIN_MEMORY_BYTES:
        raise BatchError(
            f"memory limit {text!r} is below 512MiB, too little to start a kernel; "
            "accepted: 0 (no limit) or at least 512MiB"
        )
    return value


def _format_size(value: int) -> str:
    if not value:
        return "no limit"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value} bytes"


class Progress:
    """A one-line progress bar on a terminal; one line per finished submission otherwise."""

    def __init__(self, total: int, stream=None, enabled: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total, self.done, self.skipped = total, 0, 0
        self.counts = {s: 0 for s in STATUSES}
        self.start = time.monotonic()
        self.last = 0.0

    def _eta(self) -> str:
        elapsed = time.monotonic() - self.start
        graded = self.done - self.skipped
        if graded <= 0 or self.done >= self.total:
            return f"{elapsed:.0f}s"
        left = elapsed / graded * (self.total - self.done)
        return f"{elapsed:.0f}s, ~{left:.0f}s left"

    def finished(self, sub: Submission, row: Row) -> None:
        self.done += 1
        self.counts[row.status] = self.counts.get(row.status, 0) + 1
        if not self.enabled:
            return
        if self.tty:
            self.draw(force=True)
            return
        score = f" {row.total:g}/{row.possible:g}" if row.status == "ok" else ""
        who = f" ({sub.name})" if sub.name and sub.name != sub.file else ""
        flags = f" flags: {','.join(row.flags)}" if row.flags else ""
        print(
            f"[{self.done}/{self.total}] {sub.key}{who}: {row.status}{score} in {row.seconds:.1f}s{flags}",
            file=self.stream,
            flush=True,
        )

    def draw(self, force: bool = False) -> None:
        if not self.tty or (not force and time.monotonic() - self.last < 0.5):
            return
        self.last = time.monotonic()
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        counts = " ".join(f"{s} {n}" for s, n in self.counts.items() if n)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {counts} | {self._eta()}"
        columns = shutil.get_terminal_size((100, 20)).columns
        print(line[: columns - 1].ljust(min(columns - 1, 100)), end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            self.draw(force=True)
            print(file=self.stream, flush=True)


@dataclass
class BatchResult:
    rows: list[Row]
    out: pathlib.Path
    graded: int = 0
    reused: int = 0
    ignored: list[str] = field(default_factory=list)
    questions: dict[str, float] = field(default_factory=dict)
    bundle_sha256: str = ""
    unsandboxed: bool = False
    notes: list[str] = field(default_factory=list)  # what the run noticed (e.g. rejected row.json files)
    autograder: pathlib.Path | None = None  # the bundle that graded (its table of mistakes)

    @property
    def csv(self) -> pathlib.Path:
        return self.out / "grades.csv"

    @property
    def by_key(self) -> dict[str, Row]:
        return {row.submission: row for row in self.rows}


def _read_json(path: pathlib.Path, limit: int):
    try:
        data = read_capped(path, limit)
    except ValueError as exc:
        raise RowError(f"{path.name} is {exc}") from None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RowError(f"{path.name} is not JSON ({exc})") from None


def load_row(path: pathlib.Path, questions: dict[str, float]) -> Row:
    """A row.json of an earlier run, checked (RowError if it is not one this grader would write).

    The row itself is checked field by field (:meth:`Row.from_json`); a row graded ok must also
    carry exactly the scores of the ``results.json`` beside it, itself validated against the bundle.
    """
    row = Row.from_json(_read_json(path, MAX_ROW_BYTES), questions)
    if row.status == "ok":
        try:
            results = validate_results(_read_json(path.with_name("results.json"), MAX_RESULTS_BYTES), questions)
        except (OSError, GradeError) as exc:
            raise RowError(f"its results.json cannot be used ({exc})") from None
        kept = {q: (s, m) for q, s, m in row.questions}
        scores = question_scores(results)
        if set(kept) != set(scores) or any(
            abs(kept[q][0] - s) > 1e-9 or abs(kept[q][1] - m) > 1e-9 for q, (s, m) in scores.items()
        ):
            raise RowError("its scores are not those of its results.json")
    return row


def grade_batch(
    submissions: pathlib.Path,
    out: pathlib.Path = BATCH_GRADES,
    *,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | str = DEFAULT_MEMORY,
    regrade: bool = False,
    autograder: pathlib.Path = AUTOGRADER_ZIP,
    progress: bool = True,
    stream=None,
    unsandboxed: bool | None = None,
    crosscheck: bool = False,
) -> BatchResult:
    """Grade every submission in ``submissions`` into ``out``; see the package docstring.

    ``crosscheck``: also run each notebook through Otter in its kernel and compare (the flags
    ``kernel_results_differ`` and ``kernel_died``); by default the notebook's code runs once.

    Raises BatchError for bad input, sandbox.SandboxUnavailable where bwrap cannot run (unless
    ``unsandboxed``; None reads UNSANDBOXED from the environment).
    """
    from tools.grading.batch.report import write_outputs

    submissions, out, autograder = (
        pathlib.Path(submissions).resolve(),
        pathlib.Path(out).resolve(),
        pathlib.Path(autograder).resolve(),
    )
    workers, memory_limit, unsandboxed = _checked_settings(workers, timeout, memory_limit, unsandboxed)
    subs, ignored = _checked_folders(submissions, out, autograder, unsandboxed)

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="lab05-batch-"))
    try:
        bundle = _open_bundle(autograder, tmp / "bundle")  # a snapshot: a rebuild changes nothing
        settings = Settings(
            bundle=bundle,
            timeout=float(timeout),
            memory_bytes=memory_limit,
            unsandboxed=unsandboxed,
            crosscheck=bool(crosscheck),
        )
        rows, todo, notes = _reuse_or_queue(subs, out, bundle, regrade)
        reused = sum(1 for row in rows.values() if row.reused)
        bar = Progress(len(subs), stream, enabled=progress)
        for row in rows.values():
            bar.done += 1
            bar.skipped += 1
            bar.counts[row.status] = bar.counts.get(row.status, 0) + 1
        graded = _run(todo, out, settings, workers, bar)
        rows.update(graded)
        bar.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    result = BatchResult(
        _in_submission_order(subs, rows),
        out,
        graded=len(graded),
        reused=reused,
        ignored=ignored,
        questions=dict(bundle.questions),
        bundle_sha256=bundle.sha256,
        unsandboxed=unsandboxed,
        notes=notes,
        autograder=autograder,
    )
    write_outputs(result)
    return result


def _checked_settings(workers, timeout, memory_limit, unsandboxed) -> tuple[int, int, bool]:
    """``(workers, memory limit in bytes, unsandboxed)`` as :func:`grade_batch` uses them; BatchError
    for a value it cannot."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise BatchError(
            f"workers must be a whole number >= 1 (got {workers!r}); the default is one per core ({os.cpu_count()})"
        )
    if not isinstance(timeout, (int, float)) or not (0 < timeout < math.inf):
        raise BatchError(f"timeout must be a number of seconds > 0 (got {timeout!r}); default {DEFAULT_TIMEOUT:g}")
    memory_limit = parse_size(memory_limit)
    if unsandboxed is None:
        unsandboxed = grade_one.unsandboxed_requested()
    return workers, memory_limit, unsandboxed


def _checked_folders(
    submissions: pathlib.Path, out: pathlib.Path, autograder: pathlib.Path, unsandboxed: bool
) -> tuple[list[Submission], list]:
    """The submissions found and the files ignored (:func:`discover`), once the bundle, the output
    folder and the sandbox are known to be usable; ``out/results`` made."""
    if not autograder.is_file():
        raise BatchError(
            f"{autograder} does not exist: run `make` to build the autograder bundle, or pass "
            "--autograder path/to/autograder.zip"
        )
    if out == submissions or submissions in out.parents:
        raise BatchError(
            f"the output folder {out} is inside the submissions folder {submissions}; nothing "
            "is written there: choose OUT outside it (default grades/batch/)"
        )
    subs, ignored = discover(submissions)
    if out.exists() and not out.is_dir():
        raise BatchError(f"the output folder {out} is a file; OUT must be a folder (it is created if missing)")
    if not unsandboxed:
        sandbox.check_available()  # SandboxUnavailable: refuse, with what to do
    (out / "results").mkdir(parents=True, exist_ok=True)
    return subs, ignored


def _open_bundle(autograder: pathlib.Path, folder: pathlib.Path) -> Bundle:
    try:
        return Bundle.open(autograder, folder)
    except (zipfile.BadZipFile, SyntaxError, UnicodeDecodeError, KeyError) as exc:
        raise BatchError(f"{autograder} is not an Otter autograder bundle ({exc})") from exc


def _reuse_or_queue(
    subs: list[Submission], out: pathlib.Path, bundle: Bundle, regrade: bool
) -> tuple[dict[str, Row], list[Submission], list[str]]:
    """``(rows already known, submissions to grade, notes)``: an invalid submission's row, the kept row
    of one graded before (unless ``regrade``, or the row cannot be used: then graded again, with a
    note); every other submission's folder emptied for its grading."""
    possible = sum(bundle.questions.values())
    rows: dict[str, Row] = {}
    todo: list[Submission] = []
    notes: list[str] = []
    for sub in subs:
        folder = out / "results" / sub.key
        saved = folder / ROW_FILE
        if sub.problem:
            rows[sub.key] = Row(submission=sub.key, status="invalid", message=sub.problem, possible=possible)
            continue
        if saved.is_file() and not regrade:
            try:
                row = load_row(saved, bundle.questions)
                if row.submission != sub.key:
                    raise RowError(f"it is the row of {row.submission!r}")
                row.reused = True
                rows[sub.key] = row
                continue
            except (RowError, OSError) as exc:  # graded again, and said so
                notes.append(f"{sub.key}: the kept {ROW_FILE} was not used and the submission was graded again ({exc})")
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():
            shutil.rmtree(folder)
        todo.append(sub)
    return rows, todo, notes


def _in_submission_order(subs: list[Submission], rows: dict[str, Row]) -> list[Row]:
    """The rows in the order of ``subs``, each with its submission's metadata (file, name, email, …)."""
    ordered = []
    for sub in subs:
        row = rows[sub.key]
        for name in ("file", "name", "email", "sid", "created_at", "gradescope_score"):
            setattr(row, name, getattr(sub, name))
        ordered.append(row)
    return ordered


def _finish(sub: Submission, row: Row, out: pathlib.Path, bundle: Bundle) -> Row:
    row.possible = sum(bundle.questions.values())
    if row.status != "ok":  # no points that were not earned
        row.zero()
    row.autograder_sha256 = bundle.sha256
    row.graded_at = datetime.datetime.now().isoformat(timespec="seconds")
    folder = out / "results" / sub.key
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / ROW_FILE, json.dumps(row.to_json(), indent=2) + "\n")
    return row


def _run(todo: list[Submission], out: pathlib.Path, settings: Settings, workers: int, bar: Progress) -> dict[str, Row]:
    """Grade ``todo`` on ``workers`` threads; each finished row is saved at once. Returns {key: row}."""
    if not todo:
        return {}
    tasks: queue.Queue = queue.Queue()
    for sub in todo:
        tasks.put(sub)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                sub = tasks.get_nowait()
            except queue.Empty:
                return
            try:
                row = grade(sub, settings, out / "results" / sub.key)
            except BaseException as exc:  # noqa: BLE001 - reported to the coordinator, never lost
                done.put((sub, exc))
                return
            done.put((sub, row))

    threads = [
        threading.Thread(target=work, name=f"grade-{i + 1}", daemon=True) for i in range(min(workers, len(todo)))
    ]
    for thread in threads:
        thread.start()
    rows: dict[str, Row] = {}
    try:
        while len(rows) < len(todo):
            try:
                sub, row = done.get(timeout=0.5)
            except queue.Empty:
                bar.draw()
                if not any(t.is_alive() for t in threads) and done.empty():
                    raise RuntimeError("the grading threads stopped before every submission was graded") from None
                continue
            if isinstance(row, BaseException):
                raise row
            rows[sub.key] = _finish(sub, row, out, settings.bundle)
            bar.finished(sub, row)
    finally:
        stop.set()
    for thread in threads:
        thread.join()
    return rows
