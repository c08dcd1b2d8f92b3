"""Trusted scoring for Lab 05: every test's verdict comes from outside the student's kernel.

Otter runs the tests inside the kernel that ran the student's notebook, after the student's code,
so that code can change the verdict (patch the checker, walk the test's frames to the reference,
return objects equal to anything, rewrite the results file). This module takes the verdict out:

1. Before any student code runs (Otter's ``before_grading`` event), the grading process removes
   the files Otter would unpickle from the submission (``.OTTER_LOG``) and makes Otter read the
   kernel's results file with an allow-list of Otter's own result types only.
2. Still before Otter starts the kernel, the student's code runs in a probe
   (:mod:`lab05_probe`): a fresh process that cannot read the reference, the tests or any
   expected value. The bundle's test files run here, in the grading process, with an environment
   whose functions and values are fetched from the probe as plain JSON (:mod:`lab05_wire`).
   Time limits are enforced by killing the probe. The probe is done before the kernel exists, so
   nothing the kernel leaves behind (files, processes) can reach it.
3. After Otter's run (``after_grading``), the trusted results replace Otter's; where the
   kernel's own results differ, the submission is flagged (``kernel_results_differ``) and the
   questions named.

Where it runs: on Gradescope the grader is root and the probe runs as an unprivileged user
(uid 65534) with resource limits; local grading (``make grade``/``grade-one``) runs Otter inside
a sandbox and this scoring outside it, with the probe in a sandbox of its own.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
import pickle
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
#: The support code students have (every file of it goes to the probe).
SUPPORT_PACKAGE = "lab05"
#: The bundle's support files (its files/): the folder of this module when it is loaded from there
#: (Gradescope, ``otter run``: see lab05_otter), or the sibling source/files/ when Otter loads this
#: module's copy from the submission folder. None elsewhere (a build's staging folder, the project),
#: where the lab's modules sit beside this one.
BUNDLE_FILES = next(
    (
        f
        for f in (HERE / "files", HERE if HERE.name == "files" else None, HERE.parent / "source" / "files")
        if f is not None and (f / "lab05").is_dir()
    ),
    None,
)
for _folder in (BUNDLE_FILES, HERE):
    if _folder is not None and str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def _import_support_package() -> None:
    """Import the support package from the bundle, wherever ``sys.path`` would find one first.

    Otter copies the bundle's files over a submission's same-named files, but not over a folder the
    submission already has; the submission folder can be on ``sys.path`` before the bundle. Loading
    the package from the bundle's own folder makes every ``lab05.*`` import come from there.
    """
    init = BUNDLE_FILES / SUPPORT_PACKAGE / "__init__.py" if BUNDLE_FILES else None
    if SUPPORT_PACKAGE in sys.modules or init is None or not init.is_file():
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location(SUPPORT_PACKAGE, init, submodule_search_locations=[str(init.parent)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[SUPPORT_PACKAGE] = package
    spec.loader.exec_module(package)


_import_support_package()

import lab05_policy as policy  # noqa: E402
import lab05_wire as wire  # noqa: E402

import lab05.guards  # noqa: E402

NOTEBOOK_NAME = "lab05_nn_compute.ipynb"
#: Files the probe receives beside the support package: the probe itself, its wire and its limits.
PROBE_FILES = ("lab05_probe.py", "lab05_wire.py", "lab05_policy.py")
UNTRUSTED_PICKLES, PICKLE_SUFFIXES = policy.UNTRUSTED_PICKLES, policy.PICKLE_SUFFIXES
#: Unprivileged user and group the probe runs as when the grader is root (Gradescope), and the one
#: Otter's kernel runs as (another one: the two cannot reach each other); :func:`take_uid_slot`
#: moves both to a slot of this grading run's own.
PROBE_UID = PROBE_GID = policy.PROBE_UID
KERNEL_UID = KERNEL_GID = policy.KERNEL_UID
_SLOT_LOCK: int | None = None


def take_uid_slot() -> int:
    """Give this grading run users of its own: the first free slot n (a lock file held while the
    process lives) makes the probe's and the kernel's uids ``PROBE_UID - 2n`` and ``KERNEL_UID - 2n``.
    Whatever those users left running from an earlier run is killed first. Returns n."""
    global PROBE_UID, PROBE_GID, KERNEL_UID, KERNEL_GID, _SLOT_LOCK
    import fcntl

    if _SLOT_LOCK is not None:
        return (policy.PROBE_UID - PROBE_UID) // 2
    folder = pathlib.Path("/run" if os.access("/run", os.W_OK) else tempfile.gettempdir()) / "lab05-grading-slots"
    folder.mkdir(mode=0o700, exist_ok=True)
    for slot in range(policy.UID_SLOTS):
        handle = os.open(folder / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            continue
        _SLOT_LOCK = handle
        PROBE_UID = PROBE_GID = policy.PROBE_UID - 2 * slot
        KERNEL_UID = KERNEL_GID = policy.KERNEL_UID - 2 * slot
        for uid in (PROBE_UID, KERNEL_UID):
            _kill_user(uid)
        return slot
    raise ProbeError(f"all {policy.UID_SLOTS} grading slots of this machine are taken")


FLAG = policy.FLAG_KERNEL_RESULTS_DIFFER
#: "external" in this environment variable turns the plugin off (Otter's run alone: bench-trusted).
EXTERNAL_ENV = policy.EXTERNAL_ENV


class ProbeError(RuntimeError):
    """The probe could not be started, or it exited."""


class ProbeExited(ProbeError):
    """The probe's process ended (the notebook's code can end it: ``os._exit``, a crash)."""


# ---------------------------------------------------------------------------------------------
# Starting the probe
# ---------------------------------------------------------------------------------------------
@dataclass
class Started:
    """A running probe: its pipes and a way to kill it with everything it started."""

    process: subprocess.Popen
    kill: Callable[[], None]
    confined: str


def _limits(memory: int = policy.PROBE_MEMORY_BYTES, processes: int = policy.PROBE_PROCESSES) -> None:
    import resource

    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_FSIZE, policy.PROBE_FILE_BYTES),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def _kill_user(uid: int) -> None:
    """Kill every process of ``uid`` (as that user: ``kill(-1)`` reaches exactly its processes)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def probe_environment(workdir: pathlib.Path) -> dict[str, str]:
    return {
        "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".config"),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "TMPDIR": str(workdir / ".tmp"),
        "JUPYTER_CONFIG_DIR": str(workdir / ".jupyter"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


def unprivileged_spawner(argv: list[str], workdir: pathlib.Path) -> Started:
    """Start the probe as uid 65534 with resource limits (the grader is root, e.g. on Gradescope);
    as an ordinary user, with the limits only (nothing here is secret from that user anyway)."""
    root = os.geteuid() == 0
    if root:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, PROBE_UID, PROBE_GID)
        for target in {os.path.realpath(sys.executable), sys.prefix, sys.base_prefix}:
            _open_path_to(pathlib.Path(target) / "x")

    def prepare():  # pragma: no cover - runs in the child
        os.setsid()
        _limits()
        if root:
            os.setgroups([])
            os.setgid(PROBE_GID)
            os.setuid(PROBE_UID)

    try:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=probe_environment(workdir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=prepare,
            close_fds=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProbeError(f"the probe could not be started: {wire.short(exc, 200)}") from None

    def kill():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        if root:
            _kill_user(PROBE_UID)
        process.wait()

    return Started(process, kill, "uid 65534" if root else "none (not root)")


def _open_path_to(path: pathlib.Path) -> None:
    """Let other users reach ``path`` through its folders (e.g. Gradescope installs Python under /root, 0700)."""
    for parent in path.parents:
        if parent == parent.parent:
            break
        try:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)  # search only: names must be known, nothing is listed
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Otter's kernel without root (Gradescope runs the grader as root)
# ---------------------------------------------------------------------------------------------
KERNEL_LAUNCHER = r"""
import json, os, resource, sys
connection, config = sys.argv[1], json.loads(sys.argv[2])
uid, home = config["uid"], config["home"]
with open(connection, "rb") as f:
    data = f.read()
copy = os.path.join(home, "connection.json")
fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, data)
os.close(fd)
os.chown(copy, uid, uid)
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
if os.getresuid() != (uid, uid, uid) or os.getgroups():
    sys.exit("could not drop the kernel's privileges")
for name, value in config["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
os.environ.pop("MPLBACKEND", None)  # the kernel picks its own, whatever the grader's environment says
for key, sub in (("HOME", ""), ("IPYTHONDIR", ".ipython"), ("MPLCONFIGDIR", ".config"), ("TMPDIR", ".tmp"),
                 ("JUPYTER_RUNTIME_DIR", ".runtime"), ("JUPYTER_DATA_DIR", ".data")):
    os.environ[key] = os.path.join(home, sub) if sub else home
    os.makedirs(os.environ[key], exist_ok=True)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", copy])
"""


def unprivileged_kernel(submission_dir: os.PathLike) -> pathlib.Path:
    """Make Otter start the notebook's kernel as uid 65533 (the grader being root).

    Otter starts the kernel named ``python3``; a kernel spec of that name on ``JUPYTER_PATH``
    (searched first) runs a launcher that copies the connection file, drops to the kernel's uid
    with resource limits and starts ipykernel. The submission folder becomes the kernel's (the
    notebook writes its ledger there) and so does the file the kernel writes its results to.
    Returns a function that undoes this (and kills whatever the kernel's user left running).
    """
    import json

    home = pathlib.Path(tempfile.mkdtemp(prefix="lab05-kernel-home-"))
    specs = pathlib.Path(tempfile.mkdtemp(prefix="lab05-kernelspec-"))
    spec = specs / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "launch.py").write_text(KERNEL_LAUNCHER, encoding="utf-8")
    config = {
        "uid": KERNEL_UID,
        "home": str(home),
        "limits": {
            "RLIMIT_AS": policy.KERNEL_MEMORY_BYTES,
            "RLIMIT_NPROC": policy.KERNEL_PROCESSES,
            "RLIMIT_CORE": 0,
        },
    }
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-I", "{resource_dir}/launch.py", "{connection_file}", json.dumps(config)],
                "display_name": "Python 3 (lab05, unprivileged)",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    for path in [specs, *specs.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    for path in [home, pathlib.Path(submission_dir), *pathlib.Path(submission_dir).rglob("*")]:
        if not path.is_symlink():
            os.chown(path, KERNEL_UID, KERNEL_GID)
    for target in {
        os.path.realpath(sys.executable),
        sys.prefix,
        sys.base_prefix,
        os.path.realpath(submission_dir),
        str(home),
    }:
        _open_path_to(pathlib.Path(target) / "x")
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(specs), previous]))
    _results_file_for_the_kernel()

    def undo() -> None:
        import otter.execute

        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
        otter.execute.tempfile = tempfile
        _kill_user(KERNEL_UID)  # whatever the notebook left running
        shutil.rmtree(specs, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)

    return undo


def _results_file_for_the_kernel() -> None:
    """Otter's results file (made by ``tempfile.mkstemp`` in otter.execute) must be the kernel's."""
    import otter.execute

    class _Tempfile:
        def __getattr__(self, name):
            return getattr(tempfile, name)

        @staticmethod
        def mkstemp(*args, **kwargs):
            handle, path = tempfile.mkstemp(*args, **kwargs)
            os.chown(path, KERNEL_UID, KERNEL_GID)
            _open_path_to(pathlib.Path(path))
            return handle, path

    otter.execute.tempfile = _Tempfile()


# ---------------------------------------------------------------------------------------------
# Talking to the probe
# ---------------------------------------------------------------------------------------------
class ProbeTimedOut(Exception):
    """The probe did not answer in time (it has been killed)."""


class ScoringFault(BaseException):
    """The scoring machinery cannot vouch for a verdict: the probe broke the protocol, sent an
    answer that cannot be read, or a limit of the submission ran out.

    A BaseException, so that no test code's ``except Exception`` can take it for a wrong answer and
    go on: :func:`score` scores the test case it happened in 0 and flags the submission
    (``scoring_error``) with the reason. The probe is stopped; the next request starts a fresh one.
    """


class Session:
    """The probe of one submission: started lazily, restarted after every timeout.

    A cell that runs past its limit is skipped in every later start, so a cell that never
    returns costs its time once.
    """

    def __init__(
        self,
        cells: list[str],
        support: dict[str, bytes],
        spawner,
        *,
        cell_limit: float,
        graded: Iterable[str] = (),
        deadline: float | None = None,
        python: str | None = None,
    ):
        self.deadline = deadline if deadline is not None else float("inf")
        self.python = python or sys.executable
        self.cells = cells
        self.support = support
        self.spawner = spawner
        self.cell_limit = cell_limit
        self.skip: set[int] = set()
        self.started: Started | None = None
        self.workdir: pathlib.Path | None = None
        self.buffer = b""
        self.starts = 0
        self.graded = list(graded)
        self.requests = 0  # requests sent (calls, reads) for this submission
        self.probe_cpu = 0.0  # CPU seconds the probes reported using (for benchmarks; never trusted)
        self.received = 0  # bytes of replies received for this submission
        self.events: list[str] = []
        self.confined = ""
        self.fatal: ProbeError | None = None

    # -- life cycle -------------------------------------------------------------------------
    def ensure(self) -> None:
        while self.started is None:
            if self.starts >= policy.PROBE_MAX_STARTS:
                raise ScoringFault(
                    f"the notebook's code was started {policy.PROBE_MAX_STARTS} times (a restart follows every "
                    "timeout); grading stops here"
                )
            self.starts += 1
            try:
                self._start()
            except ProbeError as exc:
                if self.started is None and self.starts == 1 and "could not be started" in str(exc):
                    self.fatal = exc
                raise

    def _start(self) -> None:
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix="lab05-probe-"))
        for name, data in self.support.items():
            (self.workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (self.workdir / name).write_bytes(data)
        for sub in (".config", ".ipython", ".tmp", ".jupyter"):
            (self.workdir / sub).mkdir()
        argv = [self.python, "-I", "-X", "utf8", str(self.workdir / "lab05_probe.py")]
        self.started = self.spawner(argv, self.workdir)
        self.confined = self.started.confined
        self.buffer = b""
        try:
            self._send({"op": "setup", "cells": self.cells, "skip": sorted(self.skip), "graded": self.graded})
            deadline = min(time.monotonic() + policy.PROBE_START_S, self.deadline)
            current = None
            while True:
                message = self._receive(deadline)
                if message.get("event") == "cell" and type(message.get("index")) is int:
                    current = message["index"]
                    deadline = min(time.monotonic() + self.cell_limit, self.deadline)
                elif message.get("event") == "ready":
                    return
                else:
                    raise ScoringFault("the probe sent something unexpected while running the notebook")
        except (ProbeTimedOut, ProbeExited) as exc:
            self.stop()
            if time.monotonic() >= self.deadline:
                raise ScoringFault("grading ran out of time for this submission") from None
            if current is None:
                raise ScoringFault(
                    "the probe did not start" + (" in time" if isinstance(exc, ProbeTimedOut) else "")
                ) from None
            # A cell that never returns, or ends the process, costs its time once: later starts skip it.
            self.skip.add(current)
            what = (
                f"did not finish within {self.cell_limit:g} s"
                if isinstance(exc, ProbeTimedOut)
                else "ended the notebook's own process"
            )
            self.events.append(f"code cell {current + 1} {what} and was skipped")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.started is not None and self.started.process.poll() is None:
            self.probe_cpu += self._reported_cpu()
        if self.started is not None:
            try:
                self.started.kill()
            finally:
                for stream in (self.started.process.stdin, self.started.process.stdout):
                    try:
                        stream.close()
                    except OSError:
                        pass
                self.started = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _reported_cpu(self) -> float:
        """The CPU seconds the probe says it used (0 if it does not answer at once): for benchmarks."""
        try:
            self._send({"op": "stats"})
            reply = self._receive(time.monotonic() + 1.0).get("reply")
        except (ProbeError, ProbeTimedOut, ScoringFault):
            return 0.0
        value = reply.get("cpu_seconds") if type(reply) is dict else None
        return float(value) if type(value) in (int, float) and 0 <= value < 1e6 else 0.0

    # -- the pipe ---------------------------------------------------------------------------
    def _send(self, message) -> None:
        try:
            self.started.process.stdin.write(wire.dumps(message))
            self.started.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise ProbeError("the probe stopped reading (it exited or was killed)") from None

    def _receive(self, deadline: float) -> dict:
        out = self.started.process.stdout
        fd = out.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProbeTimedOut()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise ProbeExited("the notebook's process ended (os._exit, a crash, or a limit)")
            self.buffer += chunk
            self.received += len(chunk)
            if self.received > policy.WIRE_SUBMISSION_BYTES:
                raise ScoringFault(f"the probe sent more than the {policy.WIRE_SUBMISSION_BYTES:,} bytes allowed")
            if len(self.buffer) > wire.MAX_MESSAGE_BYTES:
                raise ScoringFault("the probe sent a message larger than allowed")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = wire.loads(line)
        except wire.WireError as exc:
            raise ScoringFault(f"the probe sent a message that cannot be read ({exc})") from None
        if type(message) is not dict:
            raise ScoringFault("the probe sent something that is not a message")
        return message

    # -- requests ---------------------------------------------------------------------------
    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and return its reply, answering the probe's questions meanwhile.

        Raises ProbeTimedOut (after killing the probe) if no reply comes within ``timeout``.
        """
        if time.monotonic() >= self.deadline:
            raise ScoringFault("grading ran out of time for this submission")
        self.requests += 1
        if self.requests > policy.MAX_CALLS:
            raise ScoringFault(f"more than {policy.MAX_CALLS:,} requests to the notebook's code")
        self.ensure()
        try:
            self._send(message)
            deadline = min(time.monotonic() + timeout, self.deadline)
            answer = self._receive(deadline)
            if set(answer) != {"reply"} or type(answer["reply"]) is not dict:
                raise ScoringFault("the probe answered with something that is not a reply")
            return answer["reply"]
        except ProbeTimedOut:
            self.stop()
            raise
        except BaseException:  # a broken pipe, a bad message, or an interruption here
            self.stop()
            raise


# ---------------------------------------------------------------------------------------------
# The environment the tests see
# ---------------------------------------------------------------------------------------------
class ProbeEnv(Mapping):
    """The notebook's globals as the tests see them, fetched from the probe; read-only.

    Functions come back as :class:`RemoteFunction`; values as decoded JSON. Every question is
    asked once per submission: a request the tests repeat (a value, a call with the same
    arguments) gets the first reply again. So a function gives one answer to one input, wherever
    the tests use it: the answers a dependent question accepts as "agrees with your own function"
    are the very answers that function is graded on, and the notebook cannot tell the two apart.
    """

    #: Calls through this environment keep their own time limits (tests need not add a timer).
    limits_calls = True

    def __init__(self, session: Session, call_limit: float):
        self.session = session
        self.call_limit = call_limit
        self.replies: dict[str, dict] = {}  # request (as JSON text) -> its reply
        self.timed_out: set[str] = set()  # functions that have run out of time once

    def ask(self, request: dict, seconds: float) -> dict:
        """The probe's reply to ``request`` (``{"timed_out": True}`` if it ran out of time)."""
        key = wire.dumps(request)
        if key not in self.replies:
            try:
                reply = self.session.request(request, seconds)
            except ProbeTimedOut:
                reply = {"timed_out": True}
            except ProbeExited as exc:
                reply = {"exited": str(exc)}
            self.replies[key] = reply
        return self.replies[key]

    def decoded(self, data):
        """A value of a reply, rebuilt; one that cannot be is a fault of the scoring, not an answer."""
        try:
            return wire.decode(data)
        except wire.WireError as exc:
            raise ScoringFault(f"the probe sent a value that cannot be read ({exc})") from None

    def __getitem__(self, name: str):
        reply = self.ask({"op": "get", "name": name}, self.call_limit)
        if reply.get("missing") or reply.get("exited"):
            raise KeyError(name)
        if reply.get("timed_out"):
            return wire.Opaque(f"(reading {name} did not finish within {self.call_limit:g} s)")
        if reply.get("function") is True:
            return RemoteFunction(self, name)
        if "value" not in reply:
            raise ScoringFault("the probe's reply to a read has no value")
        return self.decoded(reply["value"])

    def __contains__(self, name) -> bool:
        return self.ask({"op": "has", "name": str(name)}, self.call_limit).get("value") is True

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def read_file(self, name: str) -> tuple[str | None, bool]:
        """``(text, written by the lab's own function)`` of a file the notebook wrote beside itself
        in this run; ``(None, False)`` if there is none."""
        reply = self.ask({"op": "file", "name": name}, self.call_limit)
        text = reply.get("text")
        if reply.get("too_large") or type(text) is not str:
            return None, False
        return text, reply.get("written") is True


class RemoteFunction(lab05.guards.RemoteCall):
    """A student function living in the probe; calling it asks the probe (once per input)."""

    def __init__(self, env: ProbeEnv, name: str):
        self.env = env
        self.name = self.__name__ = name

    def __repr__(self) -> str:
        return f"<function {self.name}>"

    def __call__(self, *args, **kwargs):
        return self.call_with_limit(args, kwargs, self.env.call_limit)

    def call_reporting_warnings(self, args, kwargs, seconds: float):
        # The limit is wall-clock time on a machine that may be busy: never less than the probe's own.
        seconds = max(seconds, self.env.call_limit)
        if self.name in self.env.timed_out:  # it looped once already: an answer takes ms, not seconds
            seconds = policy.AFTER_TIMEOUT_CALL_S
        request = {
            "op": "call",
            "name": self.name,
            "args": wire.encode(list(args)),
            "kwargs": wire.encode(dict(kwargs or {})),
        }
        reply = self.env.ask(request, seconds)
        if reply.get("timed_out"):
            self.env.timed_out.add(self.name)
            raise lab05.guards.CallTimedOut(f"did not return within {seconds:g} s")
        if reply.get("exited"):
            raise SystemError(reply["exited"])
        if reply.get("missing"):
            raise NameError(f"name '{self.name}' is not defined")
        if "not_callable" in reply:
            raise TypeError(f"'{wire.safe_name(reply['not_callable'])}' object is not callable")
        if type(reply.get("error")) is dict:
            raise rebuild_error(reply["error"])
        if "value" not in reply:
            raise ScoringFault("the probe's reply to a call has no value")
        # Reported as data (see RemoteCall): warnings.warn here would land in whatever record
        # another thread grading another submission holds open.
        caught = reply.get("warnings") if type(reply.get("warnings")) is list else []
        messages = [wire.short(w.get("message", "")) for w in caught[:5] if type(w) is dict]
        return self.env.decoded(reply["value"]), messages


#: Exception classes rebuilt under a student's type name (a few: past that, the built-in base).
_ERROR_TYPES: dict[tuple[str, str], type] = {}
_MAX_ERROR_TYPES = 64


def rebuild_error(error: dict) -> Exception:
    """An exception of the student's type name whose class derives from the same built-in."""
    import builtins

    base = getattr(builtins, wire.safe_name(error.get("base", "Exception")), None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or base.__name__ in ("SystemExit",):
        base = Exception
    name = wire.safe_name(error.get("type", base.__name__)).split(".")[-1] or base.__name__
    cls = _ERROR_TYPES.get((name, base.__name__), base)
    if name != base.__name__ and cls is base and len(_ERROR_TYPES) < _MAX_ERROR_TYPES:
        cls = _ERROR_TYPES[(name, base.__name__)] = type(name, (base,), {})
    return cls(wire.short(error.get("message", "")))


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
def code_cells(notebook: dict) -> list[str]:
    """The source of every code cell, in order (as Otter would run them)."""
    cells = []
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
    return cells


def read_notebook_cells(path: os.PathLike) -> list[str]:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return code_cells(nb)


@dataclass
class Prepared:
    """What trusted scoring needs, read before any student code runs."""

    cells: list[str]
    test_paths: list[str]
    test_sources: dict[str, str]
    support: dict[str, bytes]


def prepare(notebook_path: os.PathLike, tests_dir: os.PathLike, files_dir: os.PathLike) -> Prepared:
    """Read the notebook's code, the test files and the probe's files into memory."""
    tests_dir, files_dir = pathlib.Path(tests_dir), pathlib.Path(files_dir)
    paths = sorted(str(p) for p in tests_dir.glob("*.py"))
    sources = {p: pathlib.Path(p).read_text(encoding="utf-8") for p in paths}
    support = probe_support(files_dir)
    _import_trusted_modules()
    return Prepared(read_notebook_cells(notebook_path), paths, sources, support)


def probe_support(files_dir: os.PathLike) -> dict[str, bytes]:
    """The probe's files (relative name: bytes), from the bundle's ``files_dir``, or else from beside
    this module: :data:`PROBE_FILES` and every file of :data:`SUPPORT_PACKAGE`."""
    folders = (pathlib.Path(files_dir), HERE)
    support = {}
    for name in PROBE_FILES:
        found = next((folder / name for folder in folders if (folder / name).is_file()), None)
        if found is None:
            raise ProbeError(f"{name} is missing from the autograder bundle")
        support[name] = found.read_bytes()
    package = next((folder / SUPPORT_PACKAGE for folder in folders if (folder / SUPPORT_PACKAGE).is_dir()), None)
    if package is None or not (package / "__init__.py").is_file():
        raise ProbeError(f"the package {SUPPORT_PACKAGE}/ is missing from the autograder bundle")
    for path in sorted(package.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            support[path.relative_to(package.parent).as_posix()] = path.read_bytes()
    return support


def _import_trusted_modules() -> None:
    """Import what scoring runs, now, before the kernel exists (later the disk is not trusted)."""
    import lab05_hidden  # noqa: F401
    import lab05_reference  # noqa: F401
    import numpy  # noqa: F401
    import otter.test_files  # noqa: F401
    import otter.test_files.exception_test  # noqa: F401

    import lab05.checks  # noqa: F401


def _test_files(prepared: Prepared):
    """Otter's test file objects, compiled from the sources read before the kernel ran."""
    from otter.test_files.exception_test import ExceptionTestFile

    files = []
    for path in prepared.test_paths:
        test_file = ExceptionTestFile.from_string(prepared.test_sources[path], path=path)
        files.append(test_file)
    return files


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


def score(
    prepared: Prepared, spawner=unprivileged_spawner, *, deadline: float | None = None, python: str | None = None
) -> Scored:
    """Run every test file against the notebook's code in a probe; the probe is stopped after.

    ``deadline`` (``time.monotonic()``) ends the whole scoring: later calls fail. ``python`` is
    the interpreter the probe runs (as the spawner's sandbox sees it).
    """
    import lab05_hidden

    import lab05.checks

    started = time.monotonic()
    session = Session(
        prepared.cells,
        prepared.support,
        spawner,
        cell_limit=lab05.guards.CELL_TIME_LIMIT_S,
        graded=lab05_hidden.GRADED_FUNCTIONS,
        deadline=deadline,
        python=python,
    )
    env = ProbeEnv(session, max(policy.CALL_S, lab05.checks.TIME_LIMIT_S))
    files = _test_files(prepared)
    faults: list[str] = []
    try:
        for test_file in files:
            run_test_file(test_file, env, faults)
    finally:
        session.stop()
    if session.fatal is not None:
        raise session.fatal
    cpu = {"probe": session.probe_cpu}
    return Scored(files, session.events, session.confined, time.monotonic() - started, faults, cpu)


def run_test_file(test_file, env: ProbeEnv, faults: list[str]) -> None:
    """Otter's ``ExceptionTestFile.run``, failing closed: a case during which the scoring itself
    failed (:class:`ScoringFault`) scores 0, and the fault is added to ``faults``."""
    from otter.test_files.abstract_test import TestCaseResult

    test_file.test_case_results = []
    for tc in test_file.test_cases:
        passed, message = True, "✅ Test case passed"
        try:
            tc.body.call_func(env)
        except ScoringFault as fault:
            reason = wire.short(fault, 200)
            faults.append(f"{test_file.name} / {tc.name}: {reason}")
            passed = False
            message = (
                "❌ Test case failed\nThe grader could not score this test case (a scoring error: "
                f"{reason}); it counts 0 until your instructor has reviewed it."
            )
        except Exception as exc:  # noqa: BLE001 - a failed test, as Otter reports it
            passed, message = False, "❌ Test case failed\n" + test_file._generate_error_message(exc)
        test_file.test_case_results.append(TestCaseResult(test_case=tc, message=message, passed=passed))


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


# ---------------------------------------------------------------------------------------------
# Reading the kernel's results without running its code
# ---------------------------------------------------------------------------------------------
ALLOWED_GLOBALS = {
    ("otter.test_files", "GradingResults"),
    ("otter.test_files.abstract_test", "TestCase"),
    ("otter.test_files.abstract_test", "TestCaseResult"),
    ("otter.test_files.exception_test", "ExceptionTestFile"),
    ("otter.test_files.exception_test", "test_case"),
    ("otter.test_files.ok_test", "OKTestFile"),
    ("nbformat.notebooknode", "NotebookNode"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles Otter's result types and plain data only; anything else is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not one of Otter's result types")


class _GuardedPickle:
    """Stands in for the ``pickle`` module inside ``otter.execute``: loads are restricted."""

    def __getattr__(self, name):
        return getattr(pickle, name)

    @staticmethod
    def load(file, **kwargs):
        return RestrictedUnpickler(file).load()

    @staticmethod
    def loads(data, **kwargs):
        return RestrictedUnpickler(io.BytesIO(data)).load()


def guard_otter_unpickling() -> None:
    """Make Otter read the kernel's results file with :class:`RestrictedUnpickler`."""
    import otter.execute

    otter.execute.pickle = _GuardedPickle()


def strip_untrusted_files(folder: os.PathLike) -> list[str]:
    """Delete the files in ``folder`` that Otter would deserialize; returns their names."""
    removed = []
    for path in pathlib.Path(folder).iterdir():
        if path.name in UNTRUSTED_PICKLES or path.suffix.lower() in PICKLE_SUFFIXES:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path.name)
    return removed


def restore_support_package(files_dir: os.PathLike, folder: os.PathLike) -> bool:
    """Put the bundle's support package in ``folder`` in place of whatever the submission has there.

    Otter copies the bundle's support files over a submission's same-named files, but it skips a
    folder the submission already holds, so a submission bringing its own ``lab05/`` would have
    the kernel import that. Returns whether a copy was made.
    """
    source = pathlib.Path(files_dir) / SUPPORT_PACKAGE
    target = pathlib.Path(folder) / SUPPORT_PACKAGE
    if not source.is_dir() or (not target.is_symlink() and target.exists() and os.path.samefile(source, target)):
        return False  # nothing to copy from, or the folder is the bundle's own
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return True


# ---------------------------------------------------------------------------------------------
# The Otter plugin
# ---------------------------------------------------------------------------------------------
def _plugin_base():
    from otter.plugins import AbstractOtterPlugin

    return AbstractOtterPlugin


class TrustedScoring(_plugin_base()):
    """Otter plugin (named in the assignment's config): scores every test outside the kernel.

    The probe runs in ``before_grading``, before Otter starts the kernel: nothing the kernel does
    (files it leaves, processes it starts) exists yet while the student's code is scored.
    """

    def before_grading(self, config):
        # runs in the submission folder, before the notebook is executed
        self.removed = strip_untrusted_files(".")
        files = BUNDLE_FILES or pathlib.Path(".")
        restore_support_package(files, ".")
        guard_otter_unpickling()
        self.external = os.environ.get(EXTERNAL_ENV) == "external"
        self.scored, self.failure, self.undo_kernel = None, None, None
        if self.external:
            return
        autograder_dir = pathlib.Path(str(getattr(config, "autograder_dir", "/autograder")))
        if os.geteuid() == 0:
            _close_autograder_folder(autograder_dir)
            take_uid_slot()
        try:
            self.scored = score(prepare(self.submission_path, "tests", files))
        except Exception as exc:  # noqa: BLE001 - reported in after_grading, with no points
            self.failure = exc
        # What the kernel may see: the support package and tests whose hidden cases it cannot run.
        prepare_kernel_folder(".", files)
        if self.scored is not None:  # the verdict stands even if the kernel never finishes
            write_provisional_results(self.scored, config, autograder_dir / "results" / "results.json", self.removed)
        self.undo_kernel = unprivileged_kernel(".") if os.geteuid() == 0 else None

    def after_grading(self, results):
        if self.external:
            return
        if self.undo_kernel is not None:
            self.undo_kernel()
        if self.scored is None:  # no trusted verdict: no points from the kernel either
            results.results = {}
            results.set_output(
                f"integrity flag {policy.FLAG_SCORING_ERROR}: trusted scoring failed ({wire.short(self.failure)}); "
                "please alert your instructor."
            )
            return
        kernel = {name: float(tf.score) for name, tf in getattr(results, "results", {}).items()}
        replace_results(results, self.scored, kernel, self.removed)

    def generate_report(self):
        return ""


def replace_results(
    results, scored: Scored, kernel: dict[str, float] | None, removed: list[str], kernel_died: bool = False
) -> list[str]:
    """Put the trusted test files in Otter's results; returns the questions that differed.

    ``kernel``: the scores of Otter's run in the notebook's kernel, which runs the public test cases
    only (:func:`prepare_kernel_folder`); None where there was no such run. ``kernel_died``: the
    kernel's run did not finish (flagged; the trusted scores stand).
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


def _close_autograder_folder(autograder_dir: pathlib.Path) -> None:
    """The grader being root (Gradescope): the probe's and the kernel's users may not read the bundle
    (reference, tests), the upload or the results."""
    for sub in ("source", "submission", "results"):
        try:
            os.chmod(autograder_dir / sub, 0o700)
        except OSError:
            pass


#: The body Otter's kernel runs in place of a hidden test case: the kernel has no hidden test.
KERNEL_HIDDEN_BODY = '    raise AssertionError("a hidden test: scored outside the notebook\'s kernel")\n'
_HIDDEN_CASE = re.compile(r"(@test_case\([^)]*hidden=True[^)]*\)\ndef \w+\(env\):\n)((?:    [^\n]*\n?)+)")


def kernel_test_source(source: str) -> str:
    """A bundle test file as Otter's kernel gets it: public cases as they are, every hidden case's
    body replaced by a failure (the kernel never sees the hidden tests or the reference)."""
    return _HIDDEN_CASE.sub(lambda m: m.group(1) + KERNEL_HIDDEN_BODY, source)


def prepare_kernel_folder(folder: os.PathLike, files_dir: os.PathLike) -> list[str]:
    """Leave in ``folder`` (the submission's, where Otter copied the bundle's files) only what the
    notebook's kernel may see: the autograder's modules (every ``.py`` at the top of the bundle's
    ``files_dir``) are deleted, and ``tests/`` holds the public test cases only. Returns what was
    deleted. Call after :func:`prepare` has read the real tests."""
    folder, files_dir = pathlib.Path(folder), pathlib.Path(files_dir)
    removed = []
    for module in sorted(files_dir.glob("*.py")):
        target = folder / module.name
        if (target.is_file() or target.is_symlink()) and not (target.exists() and os.path.samefile(target, module)):
            target.unlink()
            removed.append(module.name)
    for test in sorted((folder / "tests").glob("*.py")):
        if test.is_file() and not test.is_symlink():
            test.write_text(kernel_test_source(test.read_text(encoding="utf-8")), encoding="utf-8")
    return removed


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


# ---------------------------------------------------------------------------------------------
# Scoring outside Otter's run (local grading: Otter runs in a sandbox, this runs outside it)
# ---------------------------------------------------------------------------------------------
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


def score_unpacked(
    notebook: dict, bundle: os.PathLike, spawner, *, deadline: float | None = None, python: str | None = None
) -> Scored:
    """Score ``notebook`` (parsed JSON) with the tests of an unpacked ``bundle`` (its ``tests/``
    and ``files/``), in a probe started by ``spawner``."""
    bundle = pathlib.Path(bundle)
    _import_trusted_modules()
    test_paths = sorted(str(p) for p in (bundle / "tests").glob("*.py"))
    support = probe_support(bundle / "files")
    prepared = Prepared(
        code_cells(notebook), test_paths, {p: pathlib.Path(p).read_text(encoding="utf-8") for p in test_paths}, support
    )
    return score(prepared, spawner, deadline=deadline, python=python)


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
