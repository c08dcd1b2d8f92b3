"""The scoring session: the probe of one submission, and the environment the tests see.

:class:`Session` starts the probe (through a spawner, :mod:`lab05_autograder.confine`), runs the
notebook's code cells there, and sends it requests, one JSON line each
(:mod:`lab05_autograder.wire`), with a time limit on each. :class:`ProbeEnv` is what a test
receives as ``env``: a read-only mapping whose functions (:class:`RemoteFunction`) and values are
fetched from the probe, each input asked once per submission.

Every fault of the scoring itself (a message that cannot be read, a broken protocol, a limit of
the submission) raises :class:`ScoringFault`, which no test code can catch as a wrong answer.
"""

from __future__ import annotations

import os
import pathlib
import select
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping

from . import bundle, policy, wire
from .confine import ProbeError, ProbeExited, Started

bundle.use_bundle_files()

import lab05.guards  # noqa: E402


class ProbeTimedOut(Exception):
    """The probe did not answer in time (it has been killed)."""


class ScoringFault(BaseException):
    """The scoring machinery cannot vouch for a verdict: the probe broke the protocol, sent an
    answer that cannot be read, or a limit of the submission ran out.

    A BaseException, so that no test code's ``except Exception`` can take it for a wrong answer and
    go on: :func:`lab05_autograder.scoring.score` scores the test case it happened in 0 and flags the submission
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
        argv = [self.python, "-I", "-X", "utf8", str(self.workdir / bundle.PROBE_SCRIPT)]
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
    #: ``lab05.assertions.read_fresh_ledger`` reads the ledger the probe's run wrote only from an env
    #: whose type says it is trusted scoring's.
    trusted_scoring = True

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
