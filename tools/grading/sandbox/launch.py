"""Starting a command in the sandbox (:func:`start`), running it to its end (:func:`run`), and proving
that a sandbox can start here (:func:`check_available`).
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .box import Sandboxed
from .bwrap import PRIVATE_DIRS, base_env, bwrap_executable, command, python_executable, real_dir, watched
from .cgroups import Cgroup
from .limits import HOW_TO_FIX, Limits, SandboxUnavailable
from .slots import acquire_slot, chown_tree, privileged


@dataclasses.dataclass
class Outcome:
    """How a :func:`run` ended (``killed_for``, ``memory_enforcement``, ``peak_memory_bytes``: as in
    :class:`Sandboxed`)."""

    returncode: int | None
    timed_out: bool
    seconds: float
    unsandboxed: bool = False
    stdout: bytes | None = None
    stderr: bytes | None = None
    killed_for: str | None = None
    memory_enforcement: str | None = None
    peak_memory_bytes: int | None = None


_AVAILABLE = False


def check_available() -> None:
    """Prove that a sandbox can start here (runs a trivial command once; cached on success).

    Raises SandboxUnavailable, whose message says what is missing and how to fix it.
    """
    global _AVAILABLE
    if _AVAILABLE:
        return
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"this is {sys.platform}, not Linux: bubblewrap cannot run here. " + HOW_TO_FIX)
    bwrap_executable()
    with tempfile.TemporaryDirectory(prefix="lab05-sandbox-check-") as folder:
        try:
            outcome = run(
                [python_executable(), "-I", "-S", "-c", "pass"],
                scratch=Path(folder),
                timeout=60,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                _checked=True,
            )
        except OSError as exc:
            raise SandboxUnavailable(f"bwrap could not be started ({exc}). " + HOW_TO_FIX) from exc
    if outcome.returncode != 0:
        detail = (outcome.stderr or b"").decode("utf-8", "replace").strip() or f"exit code {outcome.returncode}"
        if outcome.timed_out:
            detail = "it did not finish within 60 s"
        raise SandboxUnavailable(f"bwrap is installed but cannot create a sandbox here: {detail}. " + HOW_TO_FIX)
    _AVAILABLE = True


def _limit_unsandboxed(rlimits: dict[str, int]):
    def apply() -> None:
        for name, value in rlimits.items():
            which = getattr(resource, name)
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass

    return apply


def start(
    argv: Sequence[str],
    *,
    scratch: Path,
    readonly: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    limits: Limits = Limits(),
    stdin=None,
    stdout=None,
    stderr=None,
    unsandboxed: bool = False,
    _checked: bool = False,
) -> Sandboxed:
    """Start ``argv`` in the sandbox; returns once it runs (the setup takes milliseconds).

    ``stdin``/``stdout``/``stderr`` are as for ``subprocess.Popen``. ``unsandboxed=True`` runs
    without bwrap (limits except the process limit, a new session; ``Sandboxed.unsandboxed`` says so).
    The sandbox's writes to ``scratch`` reach the host folder when it has stopped (``wait``, ``kill``).
    """
    if unsandboxed:
        return _start_unsandboxed(argv, scratch=scratch, env=env, cwd=cwd, limits=limits, stdio=(stdin, stdout, stderr))
    if not _checked:
        check_available()
    real_scratch = real_dir(scratch, "scratch folder")
    private_scratch = limits.scratch_bytes is not None
    uid = slot_fd = group = None
    if privileged():
        uid, slot_fd = acquire_slot()
    try:
        if uid is not None and not private_scratch:
            chown_tree(real_scratch, uid)
        if limits.sandbox_memory_bytes or limits.processes:
            group = Cgroup.create(limits.sandbox_memory_bytes, limits.processes)
        popen, read, ours = _spawn_bwrap(
            argv,
            real_scratch,
            readonly=readonly,
            env=env,
            cwd=cwd,
            limits=limits,
            uid=uid,
            stdio=(stdin, stdout, stderr),
        )
    except BaseException:
        if group is not None:
            group.remove()
        if slot_fd is not None:
            os.close(slot_fd)
        raise
    box = Sandboxed(
        popen,
        unsandboxed=False,
        status_read=read,
        slot_fd=slot_fd,
        uid=uid,
        limits=limits,
        cgroup=group,
        sync=ours,
        scratch=real_scratch if private_scratch else None,
        watch=watched(limits, private_scratch, real_scratch),
    )
    try:
        box._wait_started()
        box._handshake()
    except BaseException:
        box.kill()
        raise
    return box


def _start_unsandboxed(
    argv: Sequence[str], *, scratch: Path, env: Mapping[str, str] | None, cwd: Path | None, limits: Limits, stdio
) -> Sandboxed:
    """:func:`start` without bwrap: private folders, the per-process limits and a new session only."""
    stdin, stdout, stderr = stdio
    private = tempfile.mkdtemp(prefix="lab05-unsandboxed-")
    prefix = Path(os.path.realpath(sys.prefix))
    environment = base_env(f"{private}/home", private, prefix)
    environment.update(env or {})
    for key in PRIVATE_DIRS:
        os.makedirs(environment[key], exist_ok=True)
    try:
        popen = subprocess.Popen(
            list(argv),
            cwd=str(cwd or scratch),
            env=environment,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=_limit_unsandboxed(limits.rlimits(with_processes=False)),
        )
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return Sandboxed(popen, unsandboxed=True, private=private, limits=limits)


def _spawn_bwrap(
    argv: Sequence[str],
    scratch: Path,
    *,
    readonly: Sequence[Path],
    env: Mapping[str, str] | None,
    cwd: Path | None,
    limits: Limits,
    uid: int | None,
    stdio,
) -> tuple[subprocess.Popen, int, socket.socket]:
    """Start bwrap on :func:`command`'s argv: ``(its Popen, the read end of its status pipe, our end of
    the handshake's socket)``."""
    stdin, stdout, stderr = stdio
    read, write = os.pipe()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the launcher's pid comes with its message
        args = command(
            argv,
            scratch=scratch,
            readonly=readonly,
            env=env,
            cwd=cwd,
            limits=limits,
            run_as=uid,
            status_fd=write,
            sync_fd=theirs.fileno(),
        )
        popen = subprocess.Popen(
            args,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(write, theirs.fileno()),
            start_new_session=True,
        )
    except BaseException:
        os.close(read)
        ours.close()
        raise
    finally:
        os.close(write)
        theirs.close()
    return popen, read, ours


def _collect(stream, sink: list[bytes]) -> threading.Thread:
    def read() -> None:
        with stream:
            for chunk in iter(lambda: stream.read(65536), b""):
                sink.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    scratch: Path,
    readonly: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    limits: Limits = Limits(),
    stdin=subprocess.DEVNULL,
    stdout=None,
    stderr=None,
    unsandboxed: bool = False,
    _checked: bool = False,
) -> Outcome:
    """Run ``argv`` in the sandbox for at most ``timeout`` seconds (kept from outside).

    With ``stdout``/``stderr`` ``subprocess.PIPE`` the output is returned in the Outcome.
    """
    begin = time.monotonic()
    box = start(
        argv,
        scratch=scratch,
        readonly=readonly,
        env=env,
        cwd=cwd,
        limits=limits,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        unsandboxed=unsandboxed,
        _checked=_checked,
    )
    outputs: dict[str, list[bytes]] = {}
    readers = []
    for name, stream in (("stdout", box.popen.stdout), ("stderr", box.popen.stderr)):
        if stream is not None:
            outputs[name] = []
            readers.append(_collect(stream, outputs[name]))
    timed_out = False
    with box:
        try:
            box.wait(timeout=max(0.0, timeout - (time.monotonic() - begin)))
        except subprocess.TimeoutExpired:
            timed_out = True
            box.kill()
    for reader in readers:
        reader.join(5)
    return Outcome(
        returncode=box.returncode,
        timed_out=timed_out,
        seconds=time.monotonic() - begin,
        unsandboxed=box.unsandboxed,
        stdout=b"".join(outputs["stdout"]) if "stdout" in outputs else None,
        stderr=b"".join(outputs["stderr"]) if "stderr" in outputs else None,
        killed_for=box.killed_for,
        memory_enforcement=box.memory_enforcement,
        peak_memory_bytes=box.peak_memory_bytes,
    )
