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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading import sandbox  # noqa: E402
from tools.grading.bundle import Bundle, read_questions, unpack  # noqa: E402
from tools.grading.staging import Staged, StagingError, read_capped, stage  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, GRADES  # noqa: E402

DEFAULT_TIMEOUT = sandbox.policy().SUBMISSION_TIMEOUT_S  # seconds: the Gradescope timeout README recommends
DEFAULT_MEMORY = sandbox.policy().KERNEL_MEMORY_BYTES  # address space per process in the sandbox
ACCEPTED = (".zip", ".ipynb")
MAX_RESULTS_BYTES = 16 * 1024**2  # results.json larger than this is not Otter's
MAX_LOG_BYTES = 4 * 1024**2  # the log kept is the last 4 MiB of what grading printed


class GradeError(RuntimeError):
    """A submission could not be graded; the message says why.

    ``status`` is "invalid" (not a gradable upload), "timeout" (stopped at the time limit) or
    "error"; ``log`` is what grading printed before it failed.
    """

    def __init__(self, message: str, status: str = "error", log: str = ""):
        super().__init__(message)
        self.status = status
        self.log = log


@dataclasses.dataclass
class Graded:
    results: dict  # Otter's results.json, validated against the bundle
    log: str  # what grading printed (its last MAX_LOG_BYTES)
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


def _read_results(scratch: pathlib.Path) -> dict:
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


def _read_log(path: pathlib.Path) -> str:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_LOG_BYTES:
            f.seek(size - MAX_LOG_BYTES)
        return f.read(MAX_LOG_BYTES).decode("utf-8", "replace")


def _otter_error(log: str) -> str:
    """The last exception line Otter printed (e.g. its refusal), or the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if (head.endswith(("Error", "Exception")) or head.endswith("Exit")) and " " not in head:
            return line
    return lines[-1] if lines else "no output"


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
    deadline = begin + timeout
    if bundle is None:
        autograder = pathlib.Path(autograder).resolve()
        if not autograder.is_file():
            raise GradeError(f"{autograder} does not exist: run `make` to build the autograder bundle")
        bundle_questions(autograder)  # a clear error for a file that is not a bundle
    if not unsandboxed:
        sandbox.check_available()
    name = pathlib.Path(submission).name
    with tempfile.TemporaryDirectory(prefix="lab05-grade-") as work:
        work = pathlib.Path(work)
        os.chmod(work, 0o755)  # the read-only inputs must be readable by the sandbox's user
        if bundle is None:
            bundle = Bundle.open(autograder, work / "bundle")
        # Otter refuses a notebook of another assignment; without Otter's run, staging does
        staged = _stage(pathlib.Path(submission), work, assignment_name or bundle.assignment or None)
        if inspect is not None:
            inspect(staged)
        trusted = trusted_module(bundle.unpacked)
        log = (
            "staging dropped from the upload:\n" + "".join(f"  {r}\n" for r in staged.removed) if staged.removed else ""
        )
        # The verdict: the notebook's code runs in a probe, in a sandbox of its own, and the bundle's
        # tests run in a scoring process of this submission's own, outside every sandbox.
        scored = score_in_own_process(
            staged.notebook,
            bundle.unpacked,
            trusted,
            unsandboxed=unsandboxed,
            memory_bytes=memory_bytes,
            deadline=deadline,
        )
        events = "".join(f"\n{event}" for event in scored.events)
        if time.monotonic() >= deadline:
            raise _out_of_time(name, timeout, log + events.lstrip("\n"))
        kernel, kernel_died = None, False
        if crosscheck:  # Otter's run comes after, alone: nothing it does exists while the probe runs
            kernel, kernel_died, log = _otter_in_kernel(
                staged, work, bundle, trusted, log, deadline, memory_bytes=memory_bytes, unsandboxed=unsandboxed
            )
            if kernel is _TIMED_OUT:
                raise _out_of_time(name, timeout, log + events)
        pickles = [r for r in staged.removed if any(s in r for s in policy.PICKLE_SUFFIXES + policy.UNTRUSTED_PICKLES)]
        results, differ = trusted.results_json(scored, bundle.unpacked, kernel, pickles, kernel_died=kernel_died)
        try:
            results = validate_results(results, bundle.questions)
        except GradeError as exc:
            exc.log = log
            raise
        log += events
    return Graded(
        results=results,
        log=log,
        unsandboxed=unsandboxed,
        seconds=time.monotonic() - begin,
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


_TIMED_OUT = object()


def _otter_in_kernel(
    staged: Staged,
    work: pathlib.Path,
    bundle: Bundle,
    trusted,
    log: str,
    deadline: float,
    *,
    memory_bytes: int | None,
    unsandboxed: bool,
):
    """The cross-check: ``otter run`` in a sandbox that holds the kernel's copy of the bundle
    (:func:`kernel_bundle`). Returns ``(its results.json, None if it died, or _TIMED_OUT; whether it
    died; the log)``."""
    inputs = work / "inputs"
    inputs.mkdir(mode=0o755)
    if staged.files == [staged.notebook_path.name]:
        gradable = inputs / staged.notebook_path.name
        shutil.copyfile(staged.notebook_path, gradable)
    else:
        gradable = inputs / "submission.zip"
        with zipfile.ZipFile(gradable, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in staged.files:
                zf.write(work / "staged" / file, file)
    os.chmod(gradable, 0o644)
    scratch = work / "scratch"
    (scratch / "out").mkdir(parents=True)
    kernel_zip = kernel_bundle(bundle, trusted)
    python = sandbox.python_executable()
    argv = [python, "-m", "otter", "run", "-a", str(kernel_zip), "-o", str(scratch / "out"), "--no-logo", str(gradable)]
    log_path = work / "grading_log.txt"
    with open(log_path, "wb") as log_file:
        outcome = sandbox.run(
            argv,
            timeout=max(0.5, deadline - time.monotonic()),
            scratch=scratch,
            readonly=[kernel_zip.parent, inputs],
            limits=dataclasses.replace(sandbox.Limits(), memory_bytes=memory_bytes or None),
            env={},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            unsandboxed=unsandboxed,
        )
    log += _read_log(log_path)
    if outcome.timed_out:
        return _TIMED_OUT, False, log
    if outcome.returncode != 0:  # the verdict never came from the kernel: it stands, flagged
        why = f"its sandbox was stopped for {outcome.killed_for}" if outcome.killed_for else _otter_error(log)
        return None, True, log + f"\nOtter's run in the notebook's kernel failed ({why}); the trusted scores stand.\n"
    try:
        return validate_results(_read_results(scratch), bundle.questions), False, log
    except GradeError as exc:  # what Otter's run says is only compared with the verdict
        return {}, False, log + f"\nOtter's own results are not usable ({exc}); the trusted scores stand.\n"


def score_in_own_process(
    notebook: dict, unpacked: pathlib.Path, trusted, *, unsandboxed: bool, memory_bytes: int | None, deadline: float
):
    """Trusted scoring of ``notebook`` in a process of its own (:func:`tools.grading.score_one.serve_one`,
    forked from a warm fork server), with the memory limit ``policy.SCORER_MEMORY_BYTES`` and
    killed at ``deadline``: what one submission's probe sends is held there, never in this process.
    Returns the verdict (``trusted.read_verdict``: read back as data); raises GradeError when there is none."""
    from tools.grading import score_one

    request = {
        "notebook": notebook,
        "bundle": str(unpacked),
        "seconds": max(0.5, deadline - time.monotonic()),
        "unsandboxed": unsandboxed,
        "probe_memory_bytes": memory_bytes,
    }
    context = _fork_server()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=score_one.serve_one, args=(request, sender, policy.SCORER_MEMORY_BYTES), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(request["seconds"] + 30):
            raise GradeError("trusted scoring did not finish in time", "timeout")
        reply = json.loads(receiver.recv_bytes(MAX_RESULTS_BYTES).decode("utf-8"))
    except (EOFError, OSError, ValueError) as exc:
        raise GradeError(
            f"trusted scoring ended without a verdict ({type(exc).__name__}); not graded. (It runs in a process "
            "forked from a multiprocessing fork server: a script that calls the grader needs its work under "
            "`if __name__ == '__main__':`, or the fork server runs the script again.)"
        ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if type(reply) is not dict or "verdict" not in reply:
        failed = reply.get("failed") if type(reply) is dict else None
        raise GradeError(f"trusted scoring failed ({str(failed)[:300]}); not graded")
    try:
        return trusted.read_verdict(reply["verdict"], unpacked)
    except ValueError as exc:
        raise GradeError(f"trusted scoring gave no usable verdict ({exc}); not graded") from None


def _fork_server():
    """The multiprocessing context whose fork server starts every scoring process warm (once per
    grading process; the grading tools' own modules and Otter imported there, no submission's data)."""
    global _FORK_SERVER
    with _IMPORT_LOCK:
        if _FORK_SERVER is None:
            import multiprocessing

            from tools.grading import score_one

            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # read by NumPy as the server imports it
                os.environ.setdefault(name, "1")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(score_one.PRELOAD))
            _FORK_SERVER = context
    return _FORK_SERVER


_FORK_SERVER = None


def kernel_bundle(bundle: Bundle, trusted) -> pathlib.Path:
    """The bundle as Otter's run in the notebook's kernel gets it (made once per bundle, beside it):
    no plugin, none of the autograder's modules (reference, hidden tests, trusted scoring), and test
    files whose hidden cases the kernel cannot run (``trusted.write_kernel_bundle``). The kernel's
    sandbox sees this folder only."""
    folder = bundle.folder / "kernel"
    target = folder / "autograder.zip"
    with _KERNEL_BUNDLE_LOCK:
        if target.is_file():
            return target
        folder.mkdir(mode=0o755, exist_ok=True)
        partial = folder / "autograder.zip.tmp"
        trusted.write_kernel_bundle(bundle.zip, partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    return target


_KERNEL_BUNDLE_LOCK = threading.Lock()


unpack_bundle = unpack  # the bundle's files as Gradescope's source/ holds them (tools/grading/bundle.py)


def trusted_module(unpacked: pathlib.Path):
    """Trusted scoring's entry point for local grading, ``lab05_autograder.local`` of the bundle
    (imported once per process, from the first bundle)."""
    with _IMPORT_LOCK:  # the batch grades from several threads
        return _import_trusted(unpacked)


def _import_trusted(unpacked: pathlib.Path):
    if "lab05_autograder" not in sys.modules:
        # the bundle's files/, where trusted scoring and the lab's modules are (it stays on the path:
        # trusted scoring imports the reference from there)
        sys.path.insert(0, str(unpacked / "files"))
    from lab05_autograder import local

    local.prepare()
    return local


_IMPORT_LOCK = threading.Lock()


def probe_spawner(unsandboxed: bool, memory_bytes: int | None = DEFAULT_MEMORY):
    """Start trusted scoring's probe in a sandbox of its own (a fresh one at every start).

    Its limits are the probe's (``sandbox.Limits.probe()``, from the policy), with the address space
    ``memory_bytes`` where that is smaller.
    """
    limits = sandbox.Limits.probe()
    if memory_bytes and memory_bytes < (limits.memory_bytes or memory_bytes + 1):
        limits = dataclasses.replace(limits, memory_bytes=memory_bytes)

    def spawn(argv, workdir):
        box = sandbox.start(
            argv,
            scratch=workdir,
            cwd=workdir,
            limits=limits,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            unsandboxed=unsandboxed,
        )
        return box.popen, box.kill, "unsandboxed" if unsandboxed else "bubblewrap"

    return spawn


def grade(submission: pathlib.Path, autograder: pathlib.Path = AUTOGRADER_ZIP, **kwargs) -> tuple[dict, str]:
    """Grade ``submission`` in the sandbox (see :func:`grade_detailed`).

    Returns:
        ``(results, log)``: Gradescope's results.json as a dict, and what grading printed.
    """
    graded = grade_detailed(submission, autograder, **kwargs)
    return graded.results, graded.log


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


def _seconds(text: str) -> float:
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
        type=_seconds,
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
