"""Grade a whole class locally through the autograder bundle, in parallel, into a gradebook.

    python -m tools.grade_batch SUBMISSIONS [--out DIR] [--workers N] [--timeout SECONDS]
                                [--memory-limit SIZE] [--regrade] [--autograder ZIP]

SUBMISSIONS is Gradescope's "export submissions" folder (``submission_<id>/`` folders and
``submission_metadata.yml`` naming the students) or a folder of exported ``.zip`` files,
notebooks and submission folders. Every submission is graded with Otter's own grading code
(``otter run``, the code Gradescope runs) by long-lived worker processes, one submission at a
time each, every submission in its own kernel. DIR (default ``grades/batch/``) receives:

- ``grades.csv``: one row per submission: who, the score of each question, total, status
  (ok, error, timeout, invalid), integrity flags and a message;
- ``results/<submission>/``: Otter's ``results.json`` and the grading log, kept for disputes;
- ``summary.txt`` and ``summary.png``: counts by status and flag, score distribution, mean per
  question, the slowest submissions.

A submission already graded in DIR is reused unless ``--regrade`` is given. Nothing in
SUBMISSIONS is ever written, moved or deleted.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime
import hashlib
import json
import math
import multiprocessing
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the workers import this module by name
    sys.path.insert(0, str(ROOT))

from tools.grade_one import DEFAULT_AUTOGRADER  # noqa: E402

DEFAULT_OUT = ROOT / "grades" / "batch"
DEFAULT_TIMEOUT = 600.0          # seconds per submission; Gradescope's default autograder limit
DEFAULT_MEMORY = 4 * 1024 ** 3   # address space per worker process and per kernel
DEFAULT_TASKS_PER_WORKER = 50    # a worker is replaced after this many submissions
METADATA_FILE = "submission_metadata.yml"
STATUSES = ("ok", "error", "timeout", "invalid")
SUBMISSION_SUFFIXES = (".zip", ".ipynb")
ROW_FILE = "row.json"
SLOWEST = 5


class BatchError(RuntimeError):
    """Bad input to the batch grader; the message says what is accepted."""


class SubmissionProblem(Exception):
    """A submission that cannot be graded: ``status`` is "invalid" or "error"."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------
# Finding the submissions
# ---------------------------------------------------------------------------------------------
@dataclass
class Submission:
    key: str                      # unique, names the results folder
    path: pathlib.Path            # a .zip or .ipynb file, or a folder of uploaded files
    file: str                     # path relative to the submissions folder, for people
    name: str = ""
    email: str = ""
    sid: str = ""
    created_at: str = ""
    gradescope_score: str = ""
    problem: str = ""             # set when it cannot even be sent for grading


def _plain(key) -> str:
    """A YAML key without Ruby's leading colon: ':submitters' -> 'submitters'."""
    return str(key).lstrip(":")


def _get(entry: dict, key: str, default=None):
    if not isinstance(entry, dict):
        return default
    for k, v in entry.items():
        if _plain(k) == key:
            return v
    return default


def load_metadata(path: pathlib.Path) -> dict[str, dict]:
    """Gradescope's ``submission_metadata.yml``: {folder name: {"submitters": [...], ...}}.

    Gradescope writes Ruby-style keys (``:submitters:``, ``:name:``); plain keys work too.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BatchError(f"{path} is not readable YAML ({exc}); expected Gradescope's export "
                         "metadata: a mapping of submission folder names to their :submitters:") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BatchError(f"{path} holds a {type(data).__name__}; expected a mapping of submission "
                         "folder names (submission_<id>) to their metadata")
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in data.items()}


def _identity(entry: dict) -> dict[str, str]:
    submitters = _get(entry, "submitters", []) or []
    if isinstance(submitters, dict):
        submitters = [submitters]
    people = [s for s in submitters if isinstance(s, dict)]

    def joined(key: str) -> str:
        return "; ".join(str(_get(p, key, "") or "") for p in people if _get(p, key) not in (None, ""))

    score = _get(entry, "score", "")
    return {"name": joined("name"), "email": joined("email"), "sid": joined("sid"),
            "created_at": str(_get(entry, "created_at", "") or ""),
            "gradescope_score": "" if score is None else str(score)}


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "submission"


def discover(folder: pathlib.Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder`` and the names of entries that are not submissions.

    A Gradescope export (``submission_metadata.yml`` present) yields one submission per folder
    it lists, plus any folder or file it does not list; otherwise every ``.zip``, ``.ipynb`` and
    folder at the top level is one submission. Hidden entries are ignored.
    """
    if not folder.exists():
        raise BatchError(f"{folder} does not exist; SUBMISSIONS must be a folder: Gradescope's export "
                         f"(submission_<id>/ folders and {METADATA_FILE}) or a folder of .zip/.ipynb files")
    if not folder.is_dir():
        raise BatchError(f"{folder} is a file; SUBMISSIONS must be a folder: Gradescope's export "
                         f"(submission_<id>/ folders and {METADATA_FILE}) or a folder of .zip/.ipynb files "
                         "(grade a single file with `make grade-one SUBMISSION=...`)")
    metadata = load_metadata(folder / METADATA_FILE) if (folder / METADATA_FILE).is_file() else None
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    subs: list[Submission] = []
    ignored: list[str] = []
    used: set[str] = set()

    def unique(key: str) -> str:
        key, n = _safe_key(key), 2
        base = key
        while key in used:
            key, n = f"{base}-{n}", n + 1
        used.add(key)
        return key

    if metadata is not None:
        for name, entry in metadata.items():
            path = folder / name
            sub = Submission(key=unique(name), path=path, file=name, **_identity(entry))
            if not path.exists():
                sub.problem = f"listed in {METADATA_FILE} but {name} is not in the export folder"
            subs.append(sub)
    listed = set(metadata or {})
    stems = [p.stem for p in entries if p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES]
    for path in entries:
        if path.name in listed or path.name == METADATA_FILE:
            continue
        if path.is_dir():
            key = path.name
        elif path.suffix.lower() in SUBMISSION_SUFFIXES:
            key = path.stem if stems.count(path.stem) == 1 else path.name.replace(".", "-")
        else:
            ignored.append(path.name)
            continue
        subs.append(Submission(key=unique(key), path=path, file=path.name, name=path.name))
    if not subs:
        raise BatchError(f"no submissions found in {folder}: expected Gradescope's export (submission_<id>/ "
                         f"folders and {METADATA_FILE}), or .zip/.ipynb files or submission folders"
                         + (f"; ignored {', '.join(ignored)}" if ignored else ""))
    return subs, ignored


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def parse_size(text: str | int) -> int:
    """Bytes from "4GiB", "4G", "512MiB", "512M", "1.5GiB" or a plain number; 0 means no limit."""
    if isinstance(text, int):
        value = text
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
        if not match:
            raise BatchError(f"memory limit {text!r} is not a size; accepted: a number of bytes, or a number "
                             "with K, M, G or T (binary units), e.g. 4GiB, 512M; 0 for no limit")
        scale = 1024 ** ("KMGT".find(match.group(2).upper()) + 1) if match.group(2) else 1
        value = int(float(match.group(1)) * scale)
    if value < 0:
        raise BatchError(f"memory limit {text!r} is negative; accepted: 0 (no limit) or a positive size")
    if 0 < value < 512 * 1024 ** 2:
        raise BatchError(f"memory limit {text!r} is below 512MiB, too little to start a kernel; "
                         "accepted: 0 (no limit) or at least 512MiB")
    return value


def _format_size(value: int) -> str:
    if not value:
        return "no limit"
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value} bytes"


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bundle_questions(autograder: pathlib.Path) -> tuple[str, dict[str, float]]:
    """The bundle's assignment name and {question: points possible}, read without running anything."""
    questions: dict[str, float] = {}
    with zipfile.ZipFile(autograder) as zf:
        try:
            config = json.loads(zf.read("otter_config.json"))
        except KeyError:
            config = {}
        for name in sorted(zf.namelist()):
            if not (name.startswith("tests/") and name.endswith(".py")):
                continue
            values = {}
            for node in ast.parse(zf.read(name).decode("utf-8")).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
            points = values.get("points", 0)
            points = sum(points) if isinstance(points, list) else (points or 0)
            questions[str(values.get("name", pathlib.PurePosixPath(name).stem))] = float(points)
    return str(config.get("assignment_name") or ""), questions


def _write_json(path: pathlib.Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Worker side: runs in a long-lived process that imported Otter once
# ---------------------------------------------------------------------------------------------
def _notebook_from_bytes(data: bytes, name: str) -> dict:
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SubmissionProblem("error", f"{name} is corrupt: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except ValueError as exc:
        raise SubmissionProblem("error", f"{name} is corrupt: not valid notebook JSON ({exc})")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionProblem("error", f"{name} is corrupt: JSON, but not a Jupyter notebook (no list of cells)")
    return nb


def _top_level_notebooks(names: list[str]) -> tuple[list[str], list[str]]:
    """(notebooks Otter will see, notebooks nested in folders it will not)."""
    top, nested = [], []
    for name in names:
        path = pathlib.PurePosixPath(name)
        if path.suffix.lower() != ".ipynb" or name.endswith("/"):
            continue
        if len(path.parts) == 1 and not path.name.startswith("."):
            top.append(name)
        elif not any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            nested.append(name)
    return top, nested


def _one_notebook(top: list[str], nested: list[str], where: str) -> str:
    if len(top) > 1:
        raise SubmissionProblem("invalid", f"{where} holds {len(top)} notebooks ({', '.join(sorted(top))}); "
                                "Otter grades exactly one")
    if not top:
        extra = (f" (found {', '.join(nested[:3])} inside a folder; the notebook must be at the top level)"
                 if nested else "")
        raise SubmissionProblem("invalid", f"{where} holds no notebook{extra}")
    return top[0]


def prepare_submission(path: pathlib.Path, workdir: pathlib.Path) -> tuple[pathlib.Path, dict, list[str], str]:
    """What Otter should grade for ``path``, read without writing anything beside it.

    Returns ``(gradable file, notebook JSON, names of the files shipped with it, notebook name)``.
    A folder (Gradescope's unzipped upload) is zipped into ``workdir``; a folder holding just a
    zip is that zip. Raises SubmissionProblem for what cannot be graded.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        names = [p.relative_to(path).as_posix() for p in files]
        top, nested = _top_level_notebooks(names)
        zips = [n for n in names if "/" not in n and n.lower().endswith(".zip")]
        if not top and len(zips) == 1:
            return prepare_submission(path / zips[0], workdir)
        notebook = _one_notebook(top, nested, f"the folder {path.name}")
        nb = _notebook_from_bytes((path / notebook).read_bytes(), notebook)
        gradable = workdir / "submission.zip"
        with zipfile.ZipFile(gradable, "w", zipfile.ZIP_DEFLATED) as zf:
            for file, name in zip(files, names):
                zf.write(file, name)
        return gradable, nb, names, notebook
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return path, _notebook_from_bytes(path.read_bytes(), path.name), [path.name], path.name
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                top, nested = _top_level_notebooks(names)
                notebook = _one_notebook(top, nested, f"the zip {path.name}")
                data = zf.read(notebook)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise SubmissionProblem("invalid", f"{path.name} is not a readable zip archive ({exc})")
        return path, _notebook_from_bytes(data, notebook), names, notebook
    raise SubmissionProblem("invalid", f"{path.name} is not a submission: expected a .zip, a .ipynb or a folder")


CHECK_CALL = re.compile(r"""\bgrader\.check\(\s*["']([^"']+)["']""")


def check_order(nb: dict) -> list[str]:
    """The questions in the order the notebook checks them (for the gradebook's columns)."""
    order: list[str] = []
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            for name in CHECK_CALL.findall("".join(source) if isinstance(source, list) else str(source)):
                if name not in order:
                    order.append(name)
    return order


def check_assignment(nb: dict, expected: str, notebook: str) -> None:
    """Otter's own assignment-name check, done before grading so the message can be clear."""
    if not expected:
        return
    from otter.nbmeta_config import NBMetadataConfig
    import nbformat

    try:
        got = NBMetadataConfig.from_notebook(nbformat.from_dict(nb)).assignment_name
    except Exception as exc:  # noqa: BLE001 - malformed otter metadata
        raise SubmissionProblem("invalid", f"{notebook} has unreadable Otter metadata ({exc}); "
                                f"this bundle grades '{expected}'")
    if got != expected:
        what = f"assignment '{got}'" if got else "no assignment (no Otter metadata)"
        raise SubmissionProblem("invalid", f"{notebook} is a notebook for {what}; this bundle grades '{expected}'")


def _classify(exc: BaseException) -> tuple[str, str]:
    """(status, message) for an exception raised while Otter graded."""
    cause = exc.__cause__ or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    kind = type(cause).__name__
    if kind == "DeadKernelError":
        return "error", ("the kernel died while running the notebook (a cell killed it, it crashed, or it "
                         f"ran out of memory); zero points [{text}]")
    if kind == "OtterRuntimeError":
        if "Received submission for assignment" in text or "gradable files" in text or "More than one" in text:
            return "invalid", f"Otter refused the submission: {text}"
    if isinstance(cause, MemoryError):
        return "error", "grading ran out of memory (the worker's memory limit); zero points"
    return "error", f"Otter could not grade it: {kind}: {text}"


def grade_submission(task: dict, settings: dict, report=None) -> dict:
    """Grade one submission (in a worker): the row for the gradebook, without identity fields.

    Writes Otter's results.json and the grading log into ``task["result_dir"]``. ``report`` is
    called with the integrity flags as soon as they are known (before grading starts).
    """
    from tools.grade_one import grade_in_process as grade, question_scores  # its workers isolate grading
    from tools.integrity import flag_codes, scan_notebook

    row = {"status": "error", "questions": [], "total": 0.0, "flags": [], "flag_details": [], "message": ""}
    result_dir = pathlib.Path(task["result_dir"])
    result_dir.mkdir(parents=True, exist_ok=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="stage-"))
    try:
        try:
            gradable, nb, shipped, notebook = prepare_submission(pathlib.Path(task["path"]), workdir)
        except SubmissionProblem as problem:
            row.update(status=problem.status, message=str(problem))
            return row
        row["check_order"] = check_order(nb)
        flags = scan_notebook(nb, shipped, notebook)
        row["flags"], row["flag_details"] = flag_codes(flags), [str(f) for f in flags]
        if report:
            report(row["flags"], row["flag_details"])
        try:
            check_assignment(nb, settings.get("assignment", ""), notebook)
        except SubmissionProblem as problem:
            row.update(status=problem.status, message=str(problem))
            return row
        del nb
        try:
            results, log = grade(gradable, pathlib.Path(settings["autograder"]))
        except BaseException as exc:  # noqa: BLE001 - anything Otter raises is this submission's problem
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            status, message = _classify(exc)
            row.update(status=status, message=message)
            log = getattr(exc, "log", "")
            (result_dir / "grading_log.txt").write_text(f"{type(exc).__name__}: {exc}\n{log}", encoding="utf-8")
            return row
        scores = question_scores(results)
        _write_json(result_dir / "results.json", results)
        (result_dir / "grading_log.txt").write_text(log, encoding="utf-8")
        if not scores:
            row.update(status="error", message="Otter returned no question scores")
            return row
        row["questions"] = [[q, s, m] for q, (s, m) in scores.items()]
        row["total"] = sum(s for s, _ in scores.values())
        row["status"] = "ok"
        return row
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _limit_memory(limit: int) -> None:
    import resource

    if not limit:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    value = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (value, value))
    except (ValueError, OSError) as exc:  # e.g. macOS does not enforce RLIMIT_AS
        print(f"memory limit not applied ({exc}): submissions can use all memory", flush=True)


def _watch_parent(parent: int) -> None:
    """If the coordinator dies without stopping this worker, kill the worker's kernel and exit."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(2)
        for pid, _ in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="watch-coordinator").start()


def _worker_main(conn, settings: dict) -> None:
    """A worker: set limits, import Otter once, then grade one task at a time until told to stop."""
    os.setsid()  # its own process group: a Ctrl-C in the terminal reaches only the coordinator
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log = os.open(settings["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)  # kernels inherit these: their chatter goes to the worker log, not the terminal
    os.dup2(log, 2)
    os.close(log)
    tmp = pathlib.Path(settings["tmp"]) / f"worker-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    tempfile.tempdir = str(tmp)
    _limit_memory(settings["memory_limit"])
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] worker {os.getpid()} started", flush=True)
    _watch_parent(os.getppid())
    import otter.run  # noqa: F401 - import once, warm, before the first submission
    import nbconvert.preprocessors  # noqa: F401
    import tools.grade_one  # noqa: F401
    import tools.integrity  # noqa: F401

    conn.send(("ready", os.getpid()))
    env, cwd = dict(os.environ), os.getcwd()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        key = task["key"]

        def report(flags, details, key=key):
            conn.send(("scan", key, {"flags": flags, "flag_details": details}))

        try:
            row = grade_submission(task, settings, report)
        except MemoryError:
            row = {"status": "error", "message": "grading ran out of memory (the worker's memory limit); "
                   "zero points", "questions": [], "total": 0.0}
        except Exception as exc:  # noqa: BLE001 - never let one submission end the worker
            row = {"status": "error", "message": f"grading failed: {type(exc).__name__}: {exc}",
                   "questions": [], "total": 0.0}
        finally:
            os.environ.clear()  # Otter prepends to PATH on every run
            os.environ.update(env)
            os.chdir(cwd)
        print(f"[{time.strftime('%H:%M:%S')}] {key}: {row['status']}", flush=True)
        conn.send(("done", key, row))


# ---------------------------------------------------------------------------------------------
# Killing a worker with everything it started (the kernel runs in its own session)
# ---------------------------------------------------------------------------------------------
def _ps_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, 0)} from ``ps``, where there is no /proc (macOS); start times unknown."""
    try:
        lines = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True,
                               timeout=30).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    table = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            table[int(parts[0])] = (int(parts[1]), 0)
    return table


def _proc_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, start time)} for every process, read from /proc (else from ``ps``)."""
    if not os.path.isdir("/proc/self"):
        return _ps_table()
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        try:
            table[int(entry.name)] = (int(fields[1]), int(fields[19]))
        except (IndexError, ValueError):
            continue
    return table


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> set[tuple[int, int]]:
    """``{(pid, start time)}`` of every process below ``pid``."""
    table = _proc_table() if table is None else table
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in {p for p, _ in found}:
                found.add((child, table[child][1]))
                todo.append(child)
    return found


def _same_process(pid: int, start: int) -> bool:
    """Whether ``pid`` still is the (not yet dead) process that started at ``start``."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        fields = stat[stat.rfind(")") + 2:].split()
        return int(fields[19]) == start and fields[0] != "Z"
    except (OSError, IndexError, ValueError):
        return False


def kill_tree(pid: int, known: set[tuple[int, int]] = frozenset()) -> None:
    """Stop ``pid`` and every process below it (and those in ``known``), then kill them all.

    Processes are frozen first so none can start another while the tree is collected; each
    one's own process group is killed too (kernels lead their own), never the caller's group.
    """
    own_group = os.getpgrp()
    victims: set[tuple[int, int]] = {(p, s) for p, s in known if _same_process(p, s)}
    table = _proc_table()
    if pid in table:
        victims.add((pid, table[pid][1]))
    for _ in range(5):
        before = len(victims)
        for p, _ in list(victims):
            victims |= descendants(p, table)
        for p, _ in victims:
            try:
                os.kill(p, signal.SIGSTOP)
            except OSError:
                pass
        table = _proc_table()
        if len(victims) == before:
            break
    for p, start in victims:
        if not _same_process(p, start):
            continue
        try:
            group = os.getpgid(p)
            if group == p and group != own_group:
                os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Coordinator side
# ---------------------------------------------------------------------------------------------
class _Worker:
    def __init__(self, ctx, settings: dict):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, settings), daemon=True)
        self.process.start()
        child.close()
        self.state = "starting"          # starting -> idle <-> busy; "dead" when gone
        self.started = time.monotonic()
        self.task: dict | None = None
        self.deadline = math.inf
        self.dispatched = 0.0
        self.scan: dict = {}
        self.done = 0
        self.known: set[tuple[int, int]] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, task: dict, timeout: float) -> None:
        self.conn.send(task)
        self.task, self.state, self.scan = task, "busy", {}
        self.dispatched = time.monotonic()
        self.deadline = self.dispatched + timeout

    def kill(self) -> None:
        kill_tree(self.pid, self.known)
        self.process.join(5)
        self.conn.close()
        self.state = "dead"

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(10)
        if self.process.is_alive():
            kill_tree(self.pid, self.known)
            self.process.join(5)
        self.conn.close()
        self.state = "dead"


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

    def finished(self, sub: Submission, row: dict) -> None:
        self.done += 1
        self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
        if not self.enabled:
            return
        if self.tty:
            self.draw(force=True)
            return
        score = f" {row.get('total', 0):g}/{row.get('possible', 0):g}" if row["status"] == "ok" else ""
        who = f" ({sub.name})" if sub.name and sub.name != sub.file else ""
        flags = f" flags: {','.join(row.get('flags', []))}" if row.get("flags") else ""
        print(f"[{self.done}/{self.total}] {sub.key}{who}: {row['status']}{score} in {row.get('seconds', 0):.1f}s"
              f"{flags}", file=self.stream, flush=True)

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
    rows: list[dict]
    out: pathlib.Path
    graded: int = 0
    reused: int = 0
    ignored: list[str] = field(default_factory=list)
    questions: dict[str, float] = field(default_factory=dict)

    @property
    def csv(self) -> pathlib.Path:
        return self.out / "grades.csv"


def _zero_row(status: str, message: str, possible: float) -> dict:
    return {"status": status, "questions": [], "total": 0.0, "possible": possible, "flags": [],
            "flag_details": [], "message": message, "seconds": 0.0}


def grade_batch(submissions: pathlib.Path, out: pathlib.Path = DEFAULT_OUT, *, workers: int | None = None,
                timeout: float = DEFAULT_TIMEOUT, memory_limit: int = DEFAULT_MEMORY, regrade: bool = False,
                autograder: pathlib.Path = DEFAULT_AUTOGRADER, progress: bool = True,
                tasks_per_worker: int = DEFAULT_TASKS_PER_WORKER, stream=None) -> BatchResult:
    """Grade every submission in ``submissions`` into ``out``; see the module docstring."""
    submissions, out, autograder = (pathlib.Path(submissions).resolve(), pathlib.Path(out).resolve(),
                                    pathlib.Path(autograder).resolve())
    workers = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise BatchError(f"workers must be a whole number >= 1 (got {workers!r}); the default is one per "
                         f"core ({os.cpu_count()})")
    if not isinstance(timeout, (int, float)) or not (0 < timeout < math.inf):
        raise BatchError(f"timeout must be a number of seconds > 0 (got {timeout!r}); default {DEFAULT_TIMEOUT:g}")
    if not isinstance(tasks_per_worker, int) or tasks_per_worker < 1:
        raise BatchError(f"tasks per worker must be a whole number >= 1 (got {tasks_per_worker!r})")
    memory_limit = parse_size(memory_limit)
    if not autograder.is_file():
        raise BatchError(f"{autograder} does not exist: run `make` to build the autograder bundle, or pass "
                         "--autograder path/to/autograder.zip")
    if out == submissions or submissions in out.parents:
        raise BatchError(f"the output folder {out} is inside the submissions folder {submissions}; nothing "
                         "is written there: choose OUT outside it (default grades/batch/)")
    subs, ignored = discover(submissions)
    if out.exists() and not out.is_dir():
        raise BatchError(f"the output folder {out} is a file; OUT must be a folder (it is created if missing)")
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)

    _remove_stale_scratch()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"lab05-batch-{os.getpid()}-"))
    try:
        bundle = tmp / "autograder.zip"  # a snapshot: a rebuild during the run changes nothing
        shutil.copyfile(autograder, bundle)
        try:
            assignment, questions = bundle_questions(bundle)
        except (zipfile.BadZipFile, SyntaxError, UnicodeDecodeError) as exc:
            raise BatchError(f"{autograder} is not an Otter autograder bundle ({exc})") from exc
        bundle_hash = sha256(bundle)
        possible = sum(questions.values())

        rows: dict[str, dict] = {}
        todo: list[Submission] = []
        reused = 0
        for sub in subs:
            folder = out / "results" / sub.key
            saved = folder / ROW_FILE
            if sub.problem:
                rows[sub.key] = _zero_row("invalid", sub.problem, possible)
                continue
            if saved.is_file() and not regrade:
                try:
                    rows[sub.key] = json.loads(saved.read_text(encoding="utf-8"))
                    rows[sub.key]["reused"] = True
                    reused += 1
                    continue
                except ValueError:
                    pass
            if folder.exists():
                shutil.rmtree(folder)
            todo.append(sub)

        bar = Progress(len(subs), stream, enabled=progress)
        for sub in subs:
            if sub.key in rows:
                bar.done += 1
                bar.skipped += 1
                bar.counts[rows[sub.key]["status"]] = bar.counts.get(rows[sub.key]["status"], 0) + 1
        settings = {"autograder": str(bundle), "memory_limit": memory_limit, "tmp": str(tmp),
                    "assignment": assignment}
        graded = _run_pool(todo, out, settings, workers, timeout, tasks_per_worker, bar,
                           lambda sub, row: _finish(sub, row, rows, out, possible, bundle_hash, bar))
        bar.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ordered = []
    for sub in subs:
        row = dict(rows[sub.key])
        row.update(submission=sub.key, file=sub.file, name=sub.name, email=sub.email, sid=sub.sid,
                   created_at=sub.created_at, gradescope_score=sub.gradescope_score)
        ordered.append(row)
    result = BatchResult(ordered, out, graded=graded, reused=reused, ignored=ignored, questions=questions)
    write_outputs(result, bundle_hash)
    return result


def _remove_stale_scratch() -> None:
    """Remove scratch folders of earlier runs whose coordinator was killed (they hold only copies)."""
    for folder in pathlib.Path(tempfile.gettempdir()).glob("lab05-batch-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(folder, ignore_errors=True)


def _finish(sub: Submission, row: dict, rows: dict, out: pathlib.Path, possible: float, bundle_hash: str,
            bar: Progress) -> None:
    row.setdefault("flags", [])
    row.setdefault("flag_details", [])
    row["possible"] = possible
    if row["status"] != "ok":  # no points that were not earned
        row["questions"], row["total"] = [], 0.0
    row["autograder_sha256"] = bundle_hash
    row["graded_at"] = datetime.datetime.now().isoformat(timespec="seconds")
    folder = out / "results" / sub.key
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / ROW_FILE, row)
    rows[sub.key] = row
    bar.finished(sub, row)


def _run_pool(todo: list[Submission], out: pathlib.Path, settings: dict, n_workers: int, timeout: float,
              tasks_per_worker: int, bar: Progress, finish) -> int:
    """Grade ``todo`` on ``n_workers`` worker processes; ``finish(sub, row)`` for each. Returns the count."""
    if not todo:
        return 0
    ctx = multiprocessing.get_context("spawn")
    queue = deque(todo)
    by_key = {sub.key: sub for sub in todo}
    pool: list[_Worker] = []
    serial = 0
    startup_failures = 0
    graded = 0

    def new_worker() -> _Worker:
        nonlocal serial
        serial += 1
        log = out / "logs" / f"worker-{serial}.log"
        return _Worker(ctx, {**settings, "log": str(log)})

    def complete(worker: _Worker, row: dict) -> None:
        nonlocal graded
        sub = by_key[worker.task["key"]]
        if not row.get("flags"):  # a timed-out or dead worker sent its scan before it stopped
            row.update(worker.scan)
        row["seconds"] = round(time.monotonic() - worker.dispatched, 2)
        worker.task, worker.state, worker.deadline = None, "idle", math.inf
        worker.done += 1
        graded += 1
        finish(sub, row)

    try:
        for _ in range(min(n_workers, len(todo))):
            pool.append(new_worker())
        last_snapshot = 0.0
        while queue or any(w.state == "busy" for w in pool):
            # hand out work
            for worker in pool:
                if worker.state == "idle" and worker.done >= tasks_per_worker:
                    worker.stop()
                if worker.state == "idle" and queue:
                    sub = queue.popleft()
                    worker.send({"key": sub.key, "path": str(sub.path),
                                 "result_dir": str(out / "results" / sub.key)}, timeout)
            pool = [w for w in pool if w.state != "dead"]
            wanted = min(n_workers, len(queue) + sum(w.state == "busy" for w in pool))
            while len(pool) < wanted:
                pool.append(new_worker())
            # wait for a message, a death, or the next deadline
            now = time.monotonic()
            next_deadline = min([w.deadline for w in pool] + [now + 0.5])
            ready = set(wait_for([w.conn for w in pool] + [w.process.sentinel for w in pool],
                                 timeout=max(0.0, min(0.5, next_deadline - now))))
            for worker in pool:
                while worker.state != "dead" and worker.conn in ready and worker.conn.poll():
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        break
                    if message[0] == "ready":
                        worker.state = "idle"
                    elif message[0] == "scan" and worker.task and message[1] == worker.task["key"]:
                        worker.scan = message[2]
                    elif message[0] == "done" and worker.task and message[1] == worker.task["key"]:
                        complete(worker, message[2])
                if worker.state != "dead" and not worker.process.is_alive():
                    code = worker.process.exitcode
                    worker.kill()  # and whatever it left behind
                    if worker.task:
                        how = (f"signal {-code} ({signal.Signals(-code).name})" if code and code < 0
                               else f"exit code {code}")
                        complete(worker, _zero_row("error", f"the grading process died ({how}): it crashed or "
                                                   "was killed, e.g. by the system running out of memory; "
                                                   "zero points", 0.0))
                        worker.state = "dead"
                    else:
                        startup_failures += 1
                        if startup_failures >= 3:
                            log = out / "logs" / f"worker-{serial}.log"
                            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                            raise BatchError(f"grading workers keep dying before they start (exit code {code}); "
                                             f"last worker log {log}:\n{tail}")
            # stop what ran out of time
            now = time.monotonic()
            for worker in pool:
                if worker.state == "busy" and now >= worker.deadline:
                    worker.kill()
                    row = _zero_row("timeout", f"stopped after {timeout:g}s: grading did not finish (a cell may "
                                    "loop forever or wait for input); zero points", 0.0)
                    complete(worker, row)
                    worker.state = "dead"
            # remember what each busy worker started, in case it dies and orphans a kernel
            if now - last_snapshot > 1.0:
                last_snapshot = now
                table = _proc_table()
                for worker in pool:
                    if worker.state == "busy":
                        worker.known = descendants(worker.pid, table)
            pool = [w for w in pool if w.state != "dead"]
            bar.draw()
    finally:
        for worker in pool:
            if worker.state != "dead":
                if worker.state == "busy":
                    worker.kill()
                else:
                    worker.stop()
    return graded


# ---------------------------------------------------------------------------------------------
# Outputs: the gradebook, the summary and the figure
# ---------------------------------------------------------------------------------------------
def _question_order(result: BatchResult) -> list[str]:
    """The bundle's questions in the order most notebooks check them, then any others."""
    from collections import Counter

    orders = Counter(tuple(row["check_order"]) for row in result.rows if row.get("check_order"))
    order = [q for q in (orders.most_common(1)[0][0] if orders else ()) if q in result.questions]
    for row in sorted(result.rows, key=lambda r: r["submission"]):
        order += [q for q, _, _ in row.get("questions", []) if q not in order]
    return order + [q for q in result.questions if q not in order]


def _fmt(value: float) -> str:
    return f"{value:g}"


def write_outputs(result: BatchResult, bundle_hash: str) -> None:
    questions = _question_order(result)
    possible = {q: result.questions.get(q, 0.0) for q in questions}
    for row in result.rows:  # max points from results where the bundle did not say
        for q, _, m in row.get("questions", []):
            possible[q] = possible.get(q) or m
    write_csv(result, questions)
    write_summary(result, questions, possible, bundle_hash)
    write_plot(result, questions, possible)


def _sort_key(row: dict):
    return (row.get("name") or row["submission"]).lower(), row["submission"]


def write_csv(result: BatchResult, questions: list[str]) -> None:
    with_gradescope = any(row.get("gradescope_score") for row in result.rows)
    header = ["submission", "name", "email", "sid", "file", "status", *questions, "total", "possible",
              "flags", "seconds"] + (["gradescope_score"] if with_gradescope else []) + ["message", "flag_details"]
    tmp = result.csv.with_name("grades.csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in sorted(result.rows, key=_sort_key):
            scores = {q: s for q, s, _ in row.get("questions", [])}
            values = [row["submission"], row.get("name", ""), row.get("email", ""), row.get("sid", ""),
                      row.get("file", ""), row["status"], *[_fmt(scores.get(q, 0.0)) for q in questions],
                      _fmt(row.get("total", 0.0)), _fmt(row.get("possible", 0.0)), ";".join(row.get("flags", [])),
                      f"{row.get('seconds', 0.0):.1f}"]
            if with_gradescope:
                values.append(row.get("gradescope_score", ""))
            values += [row.get("message", ""), " | ".join(row.get("flag_details", []))]
            writer.writerow(values)
    os.replace(tmp, result.csv)


def _who(row: dict) -> str:
    name = row.get("name") or ""
    return f"{row['submission']} ({name})" if name and name != row.get("file") else row["submission"]


def write_summary(result: BatchResult, questions: list[str], possible: dict[str, float], bundle_hash: str) -> None:
    from tools.integrity import FLAGS

    rows = result.rows
    ok = [r for r in rows if r["status"] == "ok"]
    total_possible = sum(possible.values())
    lines = [f"Batch grading of {len(rows)} submission(s), {datetime.datetime.now():%Y-%m-%d %H:%M}",
             f"graded now {result.graded}, reused from an earlier run {result.reused} (--regrade to redo them)",
             f"autograder bundle sha256 {bundle_hash[:16]}…", ""]
    stale = [r for r in rows if r.get("reused") and r.get("autograder_sha256") not in (None, bundle_hash)]
    if stale:
        lines += [f"WARNING: {len(stale)} reused result(s) were graded with a different bundle: run with "
                  "--regrade (REGRADE=1)", ""]
    lines.append("status: " + ", ".join(f"{s} {sum(r['status'] == s for r in rows)}" for s in STATUSES))
    if ok:
        totals = [r["total"] for r in ok]
        lines.append(f"total score (ok submissions): mean {statistics.mean(totals):.2f}, median "
                     f"{statistics.median(totals):g}, min {min(totals):g}, max {max(totals):g} of "
                     f"{total_possible:g}")
        lines += ["", "mean score per question (ok submissions):"]
        width = max(len(q) for q in questions) if questions else 8
        for q in questions:
            got = [dict((k, s) for k, s, _ in r["questions"]).get(q, 0.0) for r in ok]
            lines.append(f"  {q:<{width}}  {statistics.mean(got):5.2f} / {possible.get(q, 0):g}")
    lines += ["", "integrity flags (a reason to look, not a verdict; see README 'For TAs'):"]
    any_flag = False
    for code, meaning in FLAGS.items():
        hits = [r for r in rows if code in r.get("flags", [])]
        if hits:
            any_flag = True
            shown = ", ".join(_who(r) for r in sorted(hits, key=_sort_key)[:10])
            more = f" and {len(hits) - 10} more" if len(hits) > 10 else ""
            lines.append(f"  {code} {len(hits)}: {meaning}: {shown}{more}")
    if not any_flag:
        lines.append("  none")
    trouble = [r for r in rows if r["status"] != "ok"]
    if trouble:
        lines += ["", "not graded ok:"]
        lines += [f"  {_who(r)}: {r['status']}: {r.get('message', '')}" for r in sorted(trouble, key=_sort_key)]
    timed = sorted((r for r in rows if r.get("seconds")), key=lambda r: -r["seconds"])[:SLOWEST]
    if timed:
        lines += ["", "slowest submissions:"]
        lines += [f"  {r['seconds']:7.1f}s  {_who(r)} ({r['status']})" for r in timed]
    if result.ignored:
        lines += ["", f"ignored (not submissions): {', '.join(result.ignored)}"]
    lines += ["", f"gradebook: {result.csv}", f"Otter's results: {result.out / 'results'}/<submission>/results.json"]
    (result.out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(result: BatchResult, questions: list[str], possible: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in result.rows if r["status"] == "ok"]
    total_possible = sum(possible.values()) or 1
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.2]})
    totals = [r["total"] for r in ok]
    bins = max(1, min(33, int(total_possible)))
    left.hist(totals, bins=bins, range=(0, total_possible), color="#4C72B0", edgecolor="white")
    others = len(result.rows) - len(ok)
    left.set_title(f"Total score, {len(ok)} graded ok" + (f" ({others} not ok, not shown)" if others else ""))
    left.set_xlabel(f"points (of {total_possible:g})")
    left.set_ylabel("submissions")
    means = []
    for q in questions:
        got = [dict((k, s) for k, s, _ in r["questions"]).get(q, 0.0) for r in ok]
        means.append(100 * statistics.mean(got) / possible[q] if got and possible.get(q) else 0.0)
    y = list(range(len(questions)))[::-1]
    right.barh(y, means, color="#55A868")
    right.set_yticks(y, [f"{q} ({possible.get(q, 0):g})" for q in questions])
    right.set_xlim(0, 100)
    right.set_xlabel("mean score, % of the question's points")
    right.set_title("Mean score per question (ok submissions)")
    for yi, m in zip(y, means):
        right.text(min(m + 1, 92), yi, f"{m:.0f}%", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(result.out / "summary.png", dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; accepted: 1, 2, ... (default: one "
                                         f"per core, {os.cpu_count()})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is too small; accepted: a whole number >= 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; accepted: a number > 0, "
                                         f"e.g. 600") from None
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"{text} is not a usable timeout; accepted: a number of seconds > 0")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade_batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=pathlib.Path,
                        help="Gradescope's export folder, or a folder of .zip/.ipynb files and submission folders")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="output folder (default grades/batch/)")
    parser.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: one per core)")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                        help=f"seconds per submission before it is stopped (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--memory-limit", default=_format_size(DEFAULT_MEMORY).replace(" ", ""),
                        help="address-space limit per worker and per kernel, e.g. 4GiB; 0 for none (default 4GiB)")
    parser.add_argument("--regrade", action="store_true", help="grade again what an earlier run already graded")
    parser.add_argument("--autograder", type=pathlib.Path, default=DEFAULT_AUTOGRADER)
    parser.add_argument("--tasks-per-worker", type=_positive_int, default=DEFAULT_TASKS_PER_WORKER,
                        help="replace a worker after this many submissions")
    parser.add_argument("--no-progress", action="store_true", help="print no progress while grading")
    args = parser.parse_args(argv)

    def terminated(signum, frame):
        raise KeyboardInterrupt  # stop the workers and their kernels on the way out

    signal.signal(signal.SIGTERM, terminated)
    try:
        result = grade_batch(args.submissions, args.out, workers=args.workers, timeout=args.timeout,
                             memory_limit=args.memory_limit, regrade=args.regrade, autograder=args.autograder,
                             progress=not args.no_progress, tasks_per_worker=args.tasks_per_worker)
    except BatchError as exc:
        print(f"grade-batch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ngrade-batch: interrupted; what was graded is kept in {args.out / 'results'} and is reused "
              "when you run the same command again", file=sys.stderr)
        return 130
    counts = ", ".join(f"{s} {sum(r['status'] == s for r in result.rows)}" for s in STATUSES)
    flagged = sum(1 for r in result.rows if r.get("flags"))
    print(f"{len(result.rows)} submission(s): {counts}; {flagged} with integrity flags\n"
          f"gradebook: {result.csv}\nsummary:   {result.out / 'summary.txt'} and summary.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
