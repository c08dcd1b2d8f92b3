"""Where the student's code runs when the grader is root (Gradescope): users of this run's own.

The probe (:mod:`lab05_autograder.probe`) is started by a *spawner*: ``spawner(argv, workdir)``
returns a :class:`Started`. :func:`unprivileged_spawner` is the one the plugin uses: as root it
runs the probe as an unprivileged user with resource limits, as an ordinary user with the limits
only. Local grading passes a spawner of its own (a bubblewrap sandbox,
``tools/grading/grade_one.py``).

:func:`unprivileged_kernel` makes Otter start the notebook's kernel as another unprivileged user;
:func:`take_uid_slot` gives both users numbers of this grading run's own, so that two runs on one
machine cannot reach each other; :func:`close_autograder_folder` keeps both out of the bundle.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from . import policy, wire

#: Unprivileged user and group the probe runs as when the grader is root (Gradescope), and the one
#: Otter's kernel runs as (another one: the two cannot reach each other); :func:`take_uid_slot`
#: moves both to a slot of this grading run's own.
PROBE_UID = PROBE_GID = policy.PROBE_UID
KERNEL_UID = KERNEL_GID = policy.KERNEL_UID
_SLOT_LOCK: int | None = None


class ProbeError(RuntimeError):
    """The probe could not be started, or it exited."""


class ProbeExited(ProbeError):
    """The probe's process ended (the notebook's code can end it: ``os._exit``, a crash)."""


@dataclass
class Started:
    """A running probe: its pipes and a way to kill it with everything it started."""

    process: subprocess.Popen
    kill: Callable[[], None]
    confined: str


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
            open_path_to(pathlib.Path(target) / "x")

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


def open_path_to(path: pathlib.Path) -> None:
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
        open_path_to(pathlib.Path(target) / "x")
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
            open_path_to(pathlib.Path(path))
            return handle, path

    otter.execute.tempfile = _Tempfile()


def close_autograder_folder(autograder_dir: pathlib.Path) -> None:
    """The grader being root (Gradescope): the probe's and the kernel's users may not read the bundle
    (reference, tests), the upload or the results."""
    for sub in ("source", "submission", "results"):
        try:
            os.chmod(autograder_dir / sub, 0o700)
        except OSError:
            pass
