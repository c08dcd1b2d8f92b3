"""Run an untrusted command (a student's notebook, through Otter) inside bubblewrap.

    box = sandbox.start([python, "-c", code], scratch=folder, readonly=[bundle])
    outcome = sandbox.run(argv, timeout=600, scratch=folder, readonly=[bundle])

What the sandboxed command gets:

- a new root holding, read-only, /usr (with /bin, /sbin, /lib* as on the host), the parts of /etc
  that programs need to start, the Python environment (``sys.prefix`` and ``sys.base_prefix``)
  and the ``readonly`` paths; nothing else of the host (no project checkout, no HOME) is there;
- of the environment's packages, those of Gradescope's grading environment only: what only the
  project's tests install (:func:`hidden_site_entries`) is absent, as it is on Gradescope;
- a private ``/tmp`` (HOME and the Jupyter, IPython and Matplotlib folders) and its own copy of the
  host folder ``scratch`` at that folder's path (below), both size-limited tmpfs;
- its own network (loopback only), PID, IPC, UTS and cgroup namespaces, a new terminal session,
  and death with its parent (``bwrap --die-with-parent``);
- an unprivileged uid, a cleared environment (PATH, LANG, the venv, the private folders and the
  caller's ``env``), and the limits of :class:`Limits`, which it cannot raise.

Limits. The defaults of :class:`Limits` are those of Otter's kernel in ``assignment/lab05_autograder/policy.py``
(``Limits.probe()``: the probe's); nothing here states a value.

Per process: ``memory_bytes`` (RLIMIT_AS, address space), ``file_size_bytes`` (RLIMIT_FSIZE, largest
file), ``open_files`` (RLIMIT_NOFILE) and ``cpu_seconds`` (RLIMIT_CPU), core files off; rlimits with
soft = hard, set by the launcher before the command runs, inherited by every process it starts.

Per sandbox, all its processes together:

- ``processes``: RLIMIT_NPROC of the sandbox's own uid (below), and ``pids.max`` of its cgroup where
  there is one. Threads count as processes.
- ``sandbox_memory_bytes``: the memory of all its processes together, its tmpfs files included.
  Where this process can create cgroups (root on a cgroup v1 machine with writable ``memory`` and
  ``pids`` hierarchies, or cgroup v2 alone with the memory controller delegated to its cgroup), each
  sandbox gets one, a child of this process's own cgroup: ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` (v2: ``memory.max``, ``memory.swap.max`` = 0 and
  ``memory.oom.group``), ``pids.max``. The kernel then counts every page the sandbox charges (its
  processes' memory, its page cache, its /tmp and scratch files, kernel memory) and never lets the
  total pass the limit; when the kernel kills a process for it, the whole sandbox is killed. Elsewhere
  (not root, read-only cgroupfs, or ``USE_CGROUPS`` off / ``LAB05_SANDBOX_CGROUPS=0``) a watcher thread
  adds up every 50 ms the proportional resident memory (``Pss`` of ``/proc/<pid>/smaps_rollup``) of
  each process of the sandbox and the space used on its tmpfs (/tmp, scratch, /dev), and kills the
  whole sandbox when the sum passes the limit: best effort, it can overshoot by what the sandbox
  allocates in one interval, and it does not see kernel memory or a memfd that no process maps.
  ``Sandboxed.memory_enforcement`` says which ran ("cgroup v1", "cgroup v2" or "accounting"),
  ``Sandboxed.killed_for`` why the sandbox was killed (``"memory: ..."``, ``"disk: ..."``), and
  ``Sandboxed.peak_memory_bytes`` the highest total seen (the kernel's own, with a cgroup).
  A cgroup is created before the command starts and removed once its processes are gone; one left
  by a caller that died is removed by the first sandbox another process starts (its name holds the
  owner's pid and start time).
- ``tmp_bytes``: the size of /tmp (a tmpfs: writes past it fail with ENOSPC).
- ``scratch_bytes``: all the sandbox writes to ``scratch``. The host folder is not mounted in the
  sandbox: its ``scratch`` is a tmpfs of that size at the host folder's path, filled with a copy of
  the host folder before the command starts and copied back over it once every process of the
  sandbox is gone, so that callers read the outputs (Otter's results.json, the probe's files) where
  they always did, after ``wait``/``run``/``kill`` (not while it runs). The kernel bounds the tmpfs,
  files deleted but kept open, sparse files and hard links included; the copy back writes at most
  ``scratch_bytes`` of data and :func:`files_allowed` entries, at most :data:`MAX_DEPTH` folders
  deep: folders, regular files (holes kept) and symbolic links only (copied, never followed), no
  setuid, setgid or sticky bit. ``Sandboxed.scratch_skipped`` names what it left out. The grader's
  disk thus receives at most ``scratch_bytes`` per sandbox, and only once it has stopped. Not chosen:
  a watcher of the host folder (it races with the writes and misses deleted-but-open files), a tmpfs
  mounted on the host folder (root only, and it outlives a caller that crashes). This tmpfs belongs
  to the sandbox's mount namespace, and this process holds it through a file descriptor only: nothing
  stays mounted, whatever happens. ``scratch_bytes=None`` binds the host folder itself (unbounded but
  for RLIMIT_FSIZE).
- The watcher also kills a sandbox whose /tmp or scratch holds more entries than
  :func:`files_allowed` (one per 16 KiB of its size, at least 1024) and, with a bwrap older than 0.7
  (no ``--size``: tmpfs without a size), one whose /tmp or scratch passes its size (``fstatvfs`` every
  50 ms: that may overshoot, in memory, by what is written in one interval; the copy back still
  writes at most ``scratch_bytes``).

How the sandbox starts, race-free: bwrap runs a small launcher (trusted Python, ``-I -S``) as its
command. The launcher opens /tmp, /dev and scratch, sends their descriptors over a socket to this
process (which receives, with them, the launcher's pid as the kernel reports it, SCM_CREDENTIALS),
and waits. This process writes that pid into the sandbox's cgroup, fills the scratch tmpfs, starts the
watcher and answers "go"; only then does the launcher drop its uid, set the rlimits and execute the
command. Every process of the command is therefore in the cgroup and sees a full scratch from its
first instruction; if this process dies first, the launcher never runs the command.

The process limit (RLIMIT_NPROC) only works for a non-root user: the kernel does not apply it to
uid 0. Run as a normal user, bwrap maps the sandbox's uid 65534 to the caller in a new user
namespace, and the limit then counts the sandbox's processes only (the count is kept per user
namespace). Run as root (CI), bwrap runs privileged without a user namespace, and the launcher
switches to a dedicated uid, 61000 + slot (one slot per concurrent sandbox, held with a lock file),
before it sets the limits and executes the command: the limit then counts exactly that sandbox's
processes. Either way the command runs with no capabilities and ``no_new_privs``.

The time limit is kept by the caller (``wait``/``run``): when it runs out, the sandbox's PID 1 is
killed, and with it the kernel kills every process of the sandbox, whatever it did (double fork,
setsid, SIGSTOP, ignored signals). ``kill`` returns only once no process of the sandbox is left.
Sandboxes still running when this interpreter exits are killed (atexit).

Where bubblewrap cannot run, :func:`check_available` raises :class:`SandboxUnavailable`; nothing
falls back silently. ``unsandboxed=True`` (callers drive it from ``UNSANDBOXED=1``) runs the same
command with the per-process limits (except the process limit), a new session and the outer timeout
only (no sandbox-wide limit, the host folder ``scratch`` itself), and the result says so, so that it
can be recorded.
"""

from __future__ import annotations

import atexit
import dataclasses
import errno
import fcntl
import functools
import importlib.util
import itertools
import json
import os
import re
import resource
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

POLICY = "lab05_autograder.policy"  # the lab's limits: a module that imports nothing


def policy():
    """The lab's limits, ``assignment/lab05_autograder/policy.py`` (the module already imported under
    that name, if any: the one trusted scoring reads)."""
    module = sys.modules.get(POLICY)
    if module is None:
        from tools.layout import ASSIGNMENT, POLICY_MODULE

        spec = importlib.util.spec_from_file_location(POLICY, ASSIGNMENT / POLICY_MODULE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[POLICY] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[POLICY]
            raise
    return module


_POLICY = policy()
KiB = 1024
GiB = 1024**3
MiB = 1024**2
SANDBOX_UID = 65534  # the uid inside the sandbox when run as a normal user
SLOT_UID_BASE = 61000  # run as root: the sandbox of slot n runs as uid 61000 + n
SLOTS = 1000
SLOT_LOCKS = Path("/run/lab05-sandbox") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir()) / "lab05-sandbox"
PRIVATE = "/tmp/home"  # HOME and the tool folders, on the sandbox's private /tmp
SETUP_TIMEOUT = 30.0  # seconds bwrap may take to start the command
GONE_TIMEOUT = 10.0  # seconds to wait for the sandbox's processes to disappear after a kill
WATCH_INTERVAL = 0.05  # seconds between two looks of the watcher at a sandbox's memory and tmpfs
BYTES_PER_FILE = 16 * KiB  # a sandbox's /tmp or scratch may hold one entry per 16 KiB of its size
MAX_DEPTH = 32  # folders of scratch deeper than this are not copied
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "lab05-sandbox"  # a sandbox's cgroup: lab05-sandbox-<owner pid>-<owner start time>-<n>
#: False: never use a cgroup; the sandbox's memory is then kept by accounting (LAB05_SANDBOX_CGROUPS=0)
USE_CGROUPS = os.environ.get("LAB05_SANDBOX_CGROUPS", "1").strip() != "0"
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "nsswitch.conf",
    "hosts",
    "host.conf",
    "alternatives",
    "mime.types",
    "os-release",
    "fonts",
    "ssl",
    "ca-certificates",
)
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

HOW_TO_FIX = (
    "The grader runs every submission inside bubblewrap (bwrap), which needs Linux with bubblewrap "
    "installed (Debian/Ubuntu: `sudo apt-get install bubblewrap`) and user namespaces enabled "
    "(`sysctl kernel.unprivileged_userns_clone=1` where that setting exists; on Ubuntu 24.04 and newer "
    "also `sysctl kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile for bwrap). "
    "macOS (and Windows) cannot run it: grade in Docker with `otter grade` instead (README, 'Beyond one "
    "laptop'). To grade anyway without the sandbox, set UNSANDBOXED=1: student code then runs with "
    "every right you have, and every result is marked unsandboxed."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here; the message says what is missing and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of a sandbox: per process (rlimits, soft = hard) and per sandbox (see the module's docstring).

    The defaults are Otter's kernel's (the policy's KERNEL_*); :meth:`probe` gives the probe's.
    ``None`` leaves a limit unset.
    """

    memory_bytes: int | None = _POLICY.KERNEL_MEMORY_BYTES  # RLIMIT_AS: address space per process
    processes: int | None = _POLICY.KERNEL_PROCESSES  # processes and threads of the sandbox together
    file_size_bytes: int | None = _POLICY.KERNEL_FILE_BYTES  # RLIMIT_FSIZE: largest file it can write
    open_files: int | None = _POLICY.OPEN_FILES  # RLIMIT_NOFILE, per process
    cpu_seconds: int | None = None  # RLIMIT_CPU: per process
    tmp_bytes: int | None = _POLICY.SANDBOX_TMP_BYTES  # size of the private /tmp
    sandbox_memory_bytes: int | None = _POLICY.KERNEL_SANDBOX_MEMORY_BYTES  # memory of all its processes
    scratch_bytes: int | None = _POLICY.SANDBOX_SCRATCH_BYTES  # all it writes to scratch (None: the host folder)

    @classmethod
    def probe(cls) -> Limits:
        """The limits of trusted scoring's probe (the policy's PROBE_*)."""
        return cls(
            memory_bytes=_POLICY.PROBE_MEMORY_BYTES,
            processes=_POLICY.PROBE_PROCESSES,
            file_size_bytes=_POLICY.PROBE_FILE_BYTES,
            sandbox_memory_bytes=_POLICY.PROBE_SANDBOX_MEMORY_BYTES,
        )

    def rlimits(self, with_processes: bool = True) -> dict[str, int]:
        """{RLIMIT_ name: value} of the limits that are set."""
        chosen = {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_CORE": 0,
        }
        if with_processes:
            chosen["RLIMIT_NPROC"] = self.processes
        return {name: int(value) for name, value in chosen.items() if value is not None}


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


def _size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def files_allowed(size_bytes: int) -> int:
    """How many entries a tmpfs of ``size_bytes`` (the sandbox's /tmp or scratch) may hold."""
    return max(1024, int(size_bytes) // BYTES_PER_FILE)


# ---------------------------------------------------------------------------------------------
# The launcher: the sandbox's first program. It hands /tmp, /dev and scratch to the caller and
# waits for its "go" (see the module's docstring), drops to the slot's uid (run as root), sets the
# limits, creates the private folders and executes the command. Trusted code, run with -I -S.
# ---------------------------------------------------------------------------------------------
LAUNCHER = r"""
import json, os, resource, sys
cfg = json.loads(sys.argv[1])
argv = sys.argv[2:]
try:
    if cfg["sync"] is not None:
        import socket
        with socket.socket(fileno=cfg["sync"]) as sync:
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            fds = [os.open(path, flags) for path in cfg["watch"]]
            socket.send_fds(sync, [b"ready"], fds)
            for fd in fds:
                os.close(fd)
            if sync.recv(16) != b"go":
                raise OSError("the caller did not let the command start")
    uid = cfg["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid) or os.getgroups():
            raise OSError("could not drop to uid %d" % uid)
    for name, value in cfg["limits"].items():
        which = getattr(resource, name)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
    os.umask(0o022)
    for folder in cfg["mkdirs"]:
        os.makedirs(folder, exist_ok=True)
    if cfg["cwd"]:
        os.chdir(cfg["cwd"])
        os.environ["PWD"] = cfg["cwd"]
except Exception as exc:
    sys.stderr.write("sandbox: the launcher failed: %s: %s\n" % (type(exc).__name__, exc))
    sys.exit(126)
try:
    os.execvp(argv[0], argv)
except OSError as exc:
    sys.stderr.write("sandbox: cannot run %s: %s\n" % (argv[0], exc))
    sys.exit(127)
"""


def _privileged() -> bool:
    return os.geteuid() == 0


def python_executable() -> str:
    """The path of this Python environment's interpreter as the sandbox sees it (the venv's, resolved)."""
    candidate = Path(os.path.realpath(sys.prefix)) / "bin" / Path(sys.executable).name
    return str(candidate if candidate.exists() else Path(os.path.realpath(sys.executable)))


@functools.cache
def hidden_site_entries() -> tuple[Path, ...]:
    """The entries of the environment's site-packages (packages, modules, metadata) that belong only to
    the packages the project's tests need and the bundle's environment leaves out
    (``tools.pins.only_for_tests``: pytest, JupyterLab, Selenium, ...). The sandbox leaves them out:
    a notebook cannot import there what Gradescope's environment does not install, and ``import otter``
    does not pay for what jsonschema would import when it is there (rfc3987-syntax: about 1 s). A copy
    of this module run on its own, without the project's tools beside it, leaves out nothing."""
    import importlib.metadata
    import sysconfig

    try:
        from tools import pins
    except ImportError:
        return ()

    test_only = pins.only_for_tests()
    site = Path(os.path.realpath(sysconfig.get_paths()["purelib"]))
    hidden: set[str] = set()
    kept: set[str] = set()
    for dist in importlib.metadata.distributions(path=[str(site)]):
        owners = hidden if pins.canonical(dist.metadata["Name"]) in test_only else kept
        owners.update(Path(f).parts[0] for f in dist.files or () if Path(f).parts and Path(f).parts[0] != "..")
    return tuple(sorted(site / name for name in hidden - kept if (site / name).exists()))  # shared folders stay


def _python_roots() -> list[Path]:
    roots = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return sorted(roots)


def _bwrap() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable("bwrap (bubblewrap) is not installed or not on PATH. " + HOW_TO_FIX)
    return found


_FEATURES: dict[str, bool] = {}


def _supports(option: str) -> bool:
    if option not in _FEATURES:
        try:
            text = subprocess.run([_bwrap(), "--help"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        _FEATURES[option] = option in text
    return _FEATURES[option]


def _base_env(home: str, tmp: str, prefix: Path) -> dict[str, str]:
    return {
        "PATH": f"{prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "VIRTUAL_ENV": str(prefix),
        "HOME": home,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "TMPDIR": tmp,
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_CONFIG_DIR": f"{home}/.jupyter",
        "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


_PRIVATE_DIRS = ("HOME", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR")


def _real_dir(path: Path | str, what: str) -> Path:
    real = Path(os.path.realpath(path))
    if not real.exists():
        raise FileNotFoundError(f"sandbox: {what} {path} does not exist")
    return real


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _tmpfs(size: int | None, perms: str, path: Path | str) -> list[str]:
    sized = ["--size", str(int(size))] if size and _supports("--size") else []
    return [*sized, "--perms", perms, "--tmpfs", str(path)]


def command(
    argv: Sequence[str],
    *,
    scratch: Path,
    readonly: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    limits: Limits = Limits(),
    run_as: int | None = None,
    status_fd: int | None = None,
    sync_fd: int | None = None,
) -> list[str]:
    """The full bwrap argv that runs ``argv`` in the sandbox (see the module's docstring).

    ``scratch`` (an existing folder) is the only writable host folder; ``readonly`` files and folders
    are visible read-only; every path is mounted at its real (symlink-free) path. ``cwd`` defaults to
    ``scratch``. ``run_as`` is the uid to drop to when run as root (default 61000; :func:`start` picks
    a free slot). ``status_fd`` receives bwrap's JSON status (child pid, namespaces, exit code).
    ``sync_fd`` is the launcher's end of the handshake with :func:`start`: the launcher waits there
    for "go", and with ``limits.scratch_bytes`` set, scratch is then a tmpfs of that size that
    :func:`start` fills and copies back (without ``sync_fd``, the host folder itself).
    """
    if not argv:
        raise ValueError("sandbox: empty command")
    scratch = _real_dir(scratch, "scratch folder")
    if not scratch.is_dir() or scratch == Path("/"):
        raise ValueError(f"sandbox: scratch {scratch} must be a folder other than /")
    private_scratch = sync_fd is not None and limits.scratch_bytes is not None
    privileged = _privileged()
    prefix = Path(os.path.realpath(sys.prefix))
    args = [_bwrap()]
    if privileged:
        # Root: no user namespace (its uid 0 would be kuid 0, which RLIMIT_NPROC exempts). The
        # launcher drops to run_as itself and holds these two capabilities (no other) until then.
        args += [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    else:
        args += ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    # the system, read-only
    args += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700 as root
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += _tmpfs(limits.tmp_bytes, "1777", "/tmp")
    # the Python environment, the read-only paths and the scratch folder, parents first
    mounts: list[tuple[Path, str]] = [(root, "--ro-bind") for root in _python_roots()]
    mounts += _site_packages_mounts(hidden_site_entries())
    mounts += [(_real_dir(p, "read-only path"), "--ro-bind") for p in readonly]
    if private_scratch and any(_within(path, scratch) for path, _ in mounts):
        raise ValueError(f"sandbox: a read-only path inside scratch {scratch} needs scratch_bytes=None")
    mounts.append((scratch, "--tmpfs" if private_scratch else "--bind"))
    mounts.sort(key=lambda m: (len(m[0].parts), m[1] != "--ro-bind"))
    covered = [Path("/usr"), Path("/proc"), Path("/dev"), Path("/etc")]  # not /tmp: a fresh tmpfs
    remount: list[Path] = []
    made: set[Path] = set()
    for path, how in mounts:
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in made or any(_within(parent, c) for c in covered):
                continue
            args += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700 as root
            made.add(parent)
        if how == "--tmpfs":
            args += _tmpfs(limits.scratch_bytes, "0755", path)
        elif how == _EMPTY:
            args += _tmpfs(_EMPTY_BYTES, "0755", path)
            remount.append(path)
        else:
            args += [how, str(path), str(path)]
        covered.append(path)
    for path in remount:
        args += ["--remount-ro", str(path)]
    # the environment: cleared, then ours, then the caller's
    environment = _base_env(PRIVATE, "/tmp", prefix)
    environment.update(env or {})
    args.append("--clearenv")
    for key, value in environment.items():
        args += ["--setenv", key, value]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    workdir = Path(os.path.realpath(cwd)) if cwd else scratch
    uid = None
    if privileged:
        uid = SLOT_UID_BASE if run_as is None else int(run_as)
        if uid <= 0:
            raise ValueError(f"sandbox: run_as must be an unprivileged uid, got {uid}")
    config = {
        "uid": uid,
        "limits": limits.rlimits(),
        "cwd": str(workdir),
        "mkdirs": [environment[k] for k in _PRIVATE_DIRS if k in environment],
        "sync": sync_fd,
        "watch": [name for name, _ in _watched(limits, private_scratch, scratch)],
    }
    args += ["--chdir", "/", "--", python_executable(), "-I", "-S", "-c", LAUNCHER, json.dumps(config), *argv]
    return args


_EMPTY = "empty"  # a mount of command(): an empty read-only folder, to be filled with read-only binds
_EMPTY_BYTES = 64 * KiB


def _site_packages_mounts(hidden: Sequence[Path]) -> list[tuple[Path, str]]:
    """Mounts that show site-packages without ``hidden`` (entries of one folder): an empty folder in its
    place, then every other entry bound read-only, so that a hidden name does not exist at all."""
    if not hidden:
        return []
    site = hidden[0].parent
    mounts = [(site, _EMPTY)]
    left_out = set(hidden)
    mounts += [(entry, "--ro-bind") for entry in sorted(site.iterdir()) if entry not in left_out]
    return mounts


def _watched(limits: Limits, private_scratch: bool, scratch: Path) -> list[tuple[str, int | None]]:
    """(path in the sandbox, size limit) of each tmpfs the launcher hands over: /tmp, /dev, scratch."""
    found: list[tuple[str, int | None]] = [("/tmp", limits.tmp_bytes), ("/dev", None)]
    if private_scratch:
        found.append((str(scratch), limits.scratch_bytes))
    return found


# ---------------------------------------------------------------------------------------------
# Availability
# ---------------------------------------------------------------------------------------------
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
    _bwrap()
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


# ---------------------------------------------------------------------------------------------
# Slots (run as root): one uid per concurrent sandbox
# ---------------------------------------------------------------------------------------------
def _acquire_slot() -> tuple[int, int]:
    """(uid, fd of the held lock) of a free slot."""
    SLOT_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(SLOT_LOCKS)
    if not (os.path.isdir(SLOT_LOCKS) and not os.path.islink(SLOT_LOCKS) and info.st_uid == os.geteuid()):
        raise SandboxUnavailable(f"{SLOT_LOCKS} is not a folder owned by uid {os.geteuid()}; remove it and retry")
    for slot in range(SLOTS):
        fd = os.open(SLOT_LOCKS / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return SLOT_UID_BASE + slot, fd
    raise RuntimeError(f"sandbox: all {SLOTS} sandbox slots are in use")


def _chown_tree(root: Path, uid: int) -> None:
    os.lchown(root, uid, uid)
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


# ---------------------------------------------------------------------------------------------
# Cgroups: one per sandbox, a child of this process's own cgroup
# ---------------------------------------------------------------------------------------------
def _read(path: Path) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def _write(path: Path, value: int | str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(str(value))


def own_cgroups(root: Path | None = None, table: str | None = None) -> tuple[str, Path, Path | None] | None:
    """``(version, memory parent, pids parent or None)``: this process's own cgroups, where a sandbox's
    can be created; None where there is none usable (no memory controller, or not writable).

    ``table`` is /proc/self/cgroup's text and ``root`` where cgroupfs is mounted (tests pass both).
    cgroup v1: the ``memory`` and ``pids`` hierarchies under ``root``; cgroup v2: ``root`` itself when
    it is the only hierarchy, the memory controller enabled (or enabled here) for our cgroup's children.
    """
    root = CGROUP_ROOT if root is None else root
    if table is None:
        try:
            table = _read(Path("/proc/self/cgroup"))
        except OSError:
            return None
    paths: dict[str, str] = {}
    for line in table.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]

    def ours(mount: Path, path: str) -> Path | None:
        for folder in (mount / path.lstrip("/"), mount):  # the mount may be rooted at our cgroup
            try:
                if str(os.getpid()) in _read(folder / "cgroup.procs").split() and os.access(folder, os.W_OK):
                    return folder
            except OSError:
                continue
        return None

    if "memory" in paths:
        memory = ours(root / "memory", paths["memory"])
        if memory is None:
            return None
        pids = ours(root / "pids", paths["pids"]) if "pids" in paths else None
        return "cgroup v1", memory, pids
    if set(paths) == {""} and (root / "cgroup.controllers").exists():
        folder = ours(root, paths[""])
        if folder is None:
            return None
        enabled = set(_read(folder / "cgroup.subtree_control").split())
        for controller in ("memory", "pids"):
            if controller not in enabled:
                try:  # fails (EBUSY) while our cgroup holds processes, unless it is the root
                    _write(folder / "cgroup.subtree_control", f"+{controller}")
                    enabled.add(controller)
                except OSError:
                    pass
        if "memory" not in enabled:
            return None
        return "cgroup v2", folder, folder if "pids" in enabled else None
    return None


def _remove_cgroup(folder: Path, timeout: float = 5.0) -> bool:
    """Kill what is left in ``folder`` (a cgroup) and remove it; False if it is still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(folder)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            pass
        try:
            for pid in _read(folder / "cgroup.procs").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


_COUNTER = itertools.count()
_SWEPT: set[Path] = set()


def _owner_tag() -> str:
    return f"{CGROUP_PREFIX}-{os.getpid()}-{_start_time(os.getpid())}-"


def _sweep(parent: Path) -> None:
    """Remove the sandboxes' cgroups under ``parent`` whose owner process is gone (it crashed)."""
    if parent in _SWEPT:
        return
    _SWEPT.add(parent)
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        found = re.fullmatch(rf"{CGROUP_PREFIX}-(\d+)-(\d+|None)-\d+", entry.name)
        if found and str(_start_time(int(found[1]))) != found[2]:
            _remove_cgroup(Path(entry.path), timeout=1.0)


def leftover_cgroups() -> list[Path]:
    """The cgroups this process created for sandboxes and has not removed (none once every sandbox is gone)."""
    found = own_cgroups()
    if found is None:
        return []
    tag = _owner_tag()
    return sorted(
        Path(e.path) for parent in {found[1], found[2]} - {None} for e in os.scandir(parent) if e.name.startswith(tag)
    )


class Cgroup:
    """A sandbox's cgroup (v1: one folder in ``memory``, one in ``pids``; v2: one folder)."""

    def __init__(self, version: str, memory: Path, pids: Path | None, folders: list[Path]):
        self.version = version
        self.memory = memory
        self.pids = pids
        self.folders = folders
        self.removed = False

    @classmethod
    def create(cls, memory_bytes: int | None, processes: int | None) -> Cgroup | None:
        """A new cgroup with these limits, or None where cgroups cannot be used here."""
        if not USE_CGROUPS:
            return None
        found = own_cgroups()
        if found is None:
            return None
        version, memory_parent, pids_parent = found
        for parent in {memory_parent, pids_parent} - {None}:
            _sweep(parent)
        name = _owner_tag() + str(next(_COUNTER))
        folders: list[Path] = []
        try:
            memory = memory_parent / name
            memory.mkdir(mode=0o755)
            folders.append(memory)
            pids = None
            if version == "cgroup v1":
                if memory_bytes:
                    _write(memory / "memory.limit_in_bytes", memory_bytes)
                    if (memory / "memory.memsw.limit_in_bytes").exists():  # memory + swap
                        _write(memory / "memory.memsw.limit_in_bytes", memory_bytes)
                if pids_parent is not None and processes:
                    pids = pids_parent / name
                    pids.mkdir(mode=0o755)
                    folders.append(pids)
                    _write(pids / "pids.max", processes)
            else:
                if memory_bytes:
                    _write(memory / "memory.max", memory_bytes)
                    for option, value in (("memory.swap.max", 0), ("memory.oom.group", 1)):
                        if (memory / option).exists():
                            _write(memory / option, value)
                if pids_parent is not None and processes:
                    _write(memory / "pids.max", processes)
                    pids = memory
        except OSError:
            for folder in reversed(folders):
                _remove_cgroup(folder, timeout=1.0)
            return None
        return cls(version, memory, pids, folders)

    def add(self, pid: int) -> None:
        for folder in self.folders:
            _write(folder / "cgroup.procs", pid)

    def _field(self, file: str, key: str) -> int:
        try:
            for line in _read(self.memory / file).splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        """How many processes the kernel killed because the cgroup's memory was full."""
        if self.version == "cgroup v1":
            return self._field("memory.oom_control", "oom_kill")
        return self._field("memory.events", "oom_kill")

    def usage(self) -> int | None:
        try:
            return int(
                _read(self.memory / ("memory.usage_in_bytes" if self.version == "cgroup v1" else "memory.current"))
            )
        except (OSError, ValueError):
            return None

    def peak(self) -> int | None:
        """The kernel's highest memory total of the cgroup (None where the kernel does not keep it)."""
        try:
            return int(
                _read(self.memory / ("memory.max_usage_in_bytes" if self.version == "cgroup v1" else "memory.peak"))
            )
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        for folder in reversed(self.folders):
            _remove_cgroup(folder)
        self.removed = True


# ---------------------------------------------------------------------------------------------
# Scratch: copied into the sandbox's tmpfs before the command starts, and back after
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Budget:
    total: int  # bytes of data a copy may write
    left: int
    files: int  # entries it may create
    skipped: list[str]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024


def _open_dir(name: str, parent: int, own: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:
        if not own:
            raise
        os.chmod(name, 0o700, dir_fd=parent)  # ours, made unreadable (a normal user's copy-back)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)


def copy_folder(src: int, dst: int, budget: _Budget, owner: int | None, where: str = "", depth: int = 0) -> None:
    """Copy what the folder open as ``src`` holds into the empty folder open as ``dst``.

    Folders, regular files (holes kept) and symbolic links (as links: never followed); nothing else.
    At most ``budget.left`` bytes of data and ``budget.files`` entries, folders at most
    :data:`MAX_DEPTH` deep: what is left out is named in ``budget.skipped``. Modes lose the setuid,
    setgid and sticky bits and keep u+rw (u+rwx for folders). ``owner`` (uid and gid) owns the
    copies if given (root filling a sandbox's scratch), the caller otherwise.
    """
    own = not _privileged()
    for name in sorted(os.listdir(src)):
        path = f"{where}/{name}"
        try:
            info = os.stat(name, dir_fd=src, follow_symlinks=False)
        except OSError as exc:
            budget.skipped.append(f"{path} ({exc.strerror})")
            continue
        kind = stat.S_IFMT(info.st_mode)
        if kind not in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK):
            budget.skipped.append(f"{path} (not a file, folder or link)")
            continue
        if budget.files <= 0:
            budget.skipped.append(f"{path} (more entries than the budget)")
            continue
        if kind == stat.S_IFDIR and depth >= MAX_DEPTH:
            budget.skipped.append(f"{path} (folders deeper than {MAX_DEPTH})")
            continue
        budget.files -= 1
        try:
            if kind == stat.S_IFDIR:
                os.mkdir(name, 0o700, dir_fd=dst)
                inner, copy = _open_dir(name, src, own), os.open(name, _DIR_FLAGS, dir_fd=dst)
                try:
                    copy_folder(inner, copy, budget, owner, path, depth + 1)
                    os.fchmod(copy, (info.st_mode & 0o777) | 0o700)
                    if owner is not None:
                        os.fchown(copy, owner, owner)
                finally:
                    os.close(inner)
                    os.close(copy)
            elif kind == stat.S_IFLNK:
                os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
                if owner is not None:
                    os.chown(name, owner, owner, dir_fd=dst, follow_symlinks=False)
            else:
                _copy_file(name, src, dst, budget, owner, path, own)
        except OSError as exc:
            budget.skipped.append(f"{path} ({exc.strerror or exc})")


def _copy_file(name: str, src: int, dst: int, budget: _Budget, owner: int | None, path: str, own: bool) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        source = os.open(name, flags, dir_fd=src)
    except PermissionError:
        if not own:
            raise
        os.chmod(name, 0o600, dir_fd=src)
        source = os.open(name, flags, dir_fd=src)
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            budget.skipped.append(f"{path} (not a regular file)")
            return
        if info.st_size > budget.total:
            budget.skipped.append(f"{path} ({_size(info.st_size)}: larger than the whole budget)")
            return
        copy = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dst)
        try:
            written = _copy_data(source, copy, info.st_size, budget.left)
            if written is None:
                os.unlink(name, dir_fd=dst)
                budget.skipped.append(f"{path} (past the budget of {_size(budget.total)})")
                return
            budget.left -= written
            os.ftruncate(copy, info.st_size)
            os.fchmod(copy, (info.st_mode & 0o777) | 0o600)
            if owner is not None:
                os.fchown(copy, owner, owner)
        finally:
            os.close(copy)
    finally:
        os.close(source)


def _copy_data(source: int, copy: int, size: int, left: int) -> int | None:
    """Copy the data of ``source`` (its holes stay holes); the bytes written, or None past ``left``."""
    written = offset = 0
    while offset < size:
        try:
            start = os.lseek(source, offset, os.SEEK_DATA)
            end = min(os.lseek(source, start, os.SEEK_HOLE), size)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            if exc.errno != errno.EINVAL:
                raise
            start, end = offset, size  # a file system that cannot tell holes: all of it is data
        if end <= start:
            break
        while start < end:
            chunk = os.pread(source, min(_CHUNK, end - start), start)
            if not chunk:
                end = start
                break
            if written + len(chunk) > left:
                return None
            view = memoryview(chunk)
            while view:
                done = os.pwrite(copy, view, start)
                view, start, written = view[done:], start + done, written + done
        offset = end
    return written


def _empty_folder(folder: int) -> None:
    """Remove everything in the folder open as ``folder`` (no link followed)."""
    for name in os.listdir(folder):
        if stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            shutil.rmtree(name, dir_fd=folder)
        else:
            os.unlink(name, dir_fd=folder)


def _tmpfs_use(fd: int) -> tuple[int, int]:
    """(bytes, entries) used on the file system of ``fd``."""
    info = os.fstatvfs(fd)
    return (info.f_blocks - info.f_bfree) * info.f_frsize, max(0, info.f_files - info.f_ffree)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] == "Z":
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def processes_in_namespace(pid_namespace: int) -> list[int]:
    """Pids (as seen here) of the live processes in the PID namespace with this inode number."""
    found = []
    target = f"pid:[{pid_namespace}]"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/ns/pid") == target and _start_time(int(entry.name)) is not None:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
            parent = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _resident(pid: int) -> int:
    """Bytes of memory ``pid`` holds: its proportional share (Pss), or VmRSS where smaps_rollup cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


_LIVE: set[Sandboxed] = set()  # started and not yet released: killed at exit
_LIVE_LOCK = threading.Lock()


class Sandboxed:
    """A command running in the sandbox (or, ``unsandboxed``, without it).

    ``popen`` is the ``subprocess.Popen`` of bwrap (of the command itself when unsandboxed).
    ``wait`` and ``kill`` leave no process of the sandbox alive, copy the sandbox's scratch back to
    the host folder and remove its cgroup; as a context manager it kills on exit. ``pid_namespace`` is
    the inode of the sandbox's PID namespace (None unsandboxed). ``memory_enforcement`` ("cgroup v1",
    "cgroup v2", "accounting"; None without a sandbox memory limit, or unsandboxed),
    ``scratch_enforcement`` ("tmpfs size", "watched"; None: the host folder), ``killed_for`` (why the
    sandbox was killed, or was found past a limit when it ended: "memory: ..." or "disk: ..."; None
    otherwise), ``peak_memory_bytes``, and
    ``scratch_skipped`` (what was not copied back) say how the sandbox-wide limits went.
    """

    def __init__(
        self,
        popen: subprocess.Popen,
        *,
        unsandboxed: bool,
        status_read: int | None = None,
        slot_fd: int | None = None,
        uid: int | None = None,
        private: str | None = None,
        limits: Limits | None = None,
        cgroup: Cgroup | None = None,
        sync: socket.socket | None = None,
        scratch: Path | None = None,
        watch: Sequence[tuple[str, int | None]] = (),
    ):
        self.popen = popen
        self.unsandboxed = unsandboxed
        self.uid = uid
        self.child_pid: int | None = None
        self.pid_namespace: int | None = None
        self.exit_code: int | None = None
        self.launcher_pid: int | None = None
        self.limits = limits or Limits()
        self.memory_enforcement: str | None = None
        self.scratch_enforcement: str | None = None
        self.killed_for: str | None = None
        self.peak_memory_bytes: int | None = None
        self.scratch_skipped: list[str] = []
        self._child_start: int | None = None
        self._slot_fd = slot_fd
        self._private = private
        self._cgroup = cgroup
        self._sync = sync
        self._scratch = scratch
        self._filled = False  # the scratch tmpfs holds the host folder: copy it back at the end
        self._watch_names = list(watch)
        self._watched: list[tuple[str, int, int | None]] = []  # (path inside, fd, size limit)
        self._started = threading.Event()
        self._exited = threading.Event()
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._released = False
        self._lock = threading.Lock()
        self._owner = os.getpid()  # a forked child must not end its parent's sandboxes at its exit
        with _LIVE_LOCK:
            _LIVE.add(self)
        if status_read is not None:
            threading.Thread(
                target=self._read_status, args=(status_read,), daemon=True, name=f"sandbox-status-{popen.pid}"
            ).start()
        else:
            self._started.set()

    # bwrap writes JSON documents to the status fd: {"child-pid": ..., "pid-namespace": ...}, then
    # {"exit-code": ...} when the command exits.
    def _read_status(self, fd: int) -> None:
        decoder, buffer = json.JSONDecoder(), ""
        try:
            with os.fdopen(fd, "rb", buffering=0) as stream:
                while True:
                    chunk = stream.read(4096)
                    if not chunk:
                        break
                    buffer += chunk.decode("utf-8", "replace")
                    while buffer.strip():
                        try:
                            doc, end = decoder.raw_decode(buffer.lstrip())
                        except ValueError:
                            break
                        buffer = buffer.lstrip()[end:]
                        if "child-pid" in doc and self.child_pid is None:  # bwrap's, never a later one
                            self.child_pid = int(doc["child-pid"])
                            self._child_start = _start_time(self.child_pid)
                            self.pid_namespace = doc.get("pid-namespace")
                            self._started.set()
                        if "exit-code" in doc:
                            self.exit_code = int(doc["exit-code"])
                            self._exited.set()
        finally:
            self._started.set()
            self._exited.set()

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _wait_started(self) -> None:
        if not self._started.wait(SETUP_TIMEOUT):
            self.kill()
            raise RuntimeError(f"sandbox: bwrap did not start the command within {SETUP_TIMEOUT:g} s")

    # -- the handshake with the launcher (see the module's docstring) -----------------------------
    def _handshake(self) -> None:
        sync, self._sync = self._sync, None
        names = self._watch_names
        try:
            sync.settimeout(SETUP_TIMEOUT)
            space = socket.CMSG_SPACE(len(names) * 4) + socket.CMSG_SPACE(struct.calcsize("3i"))
            try:
                message, ancillary, flags, _ = sync.recvmsg(16, space)
            except TimeoutError:
                raise RuntimeError(f"sandbox: the launcher did not start within {SETUP_TIMEOUT:g} s") from None
            fds, pid = [], None
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4]))
                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", data[:12])[0]
            if not message:  # bwrap or the launcher failed before it was ready: nothing runs
                for fd in fds:
                    os.close(fd)
                return
            if message != b"ready" or flags & socket.MSG_CTRUNC or len(fds) != len(names) or not pid:
                for fd in fds:
                    os.close(fd)
                raise RuntimeError("sandbox: the launcher's handshake was not understood")
            self.launcher_pid = pid
            self._watched = [(name, fd, size) for (name, size), fd in zip(names, fds)]
            self._enforce_memory(pid)
            if self._scratch is not None:
                self._fill_scratch(self._watched[-1][1])
            self._watcher = threading.Thread(target=self._watch, daemon=True, name=f"sandbox-watch-{self.popen.pid}")
            self._watcher.start()
            sync.sendall(b"go")
        finally:
            sync.close()

    def _enforce_memory(self, pid: int) -> None:
        if self._cgroup is not None:
            try:
                self._cgroup.add(pid)  # the launcher, and so every process of the command
            except OSError:
                self._cgroup.remove()
                self._cgroup = None
        if self.limits.sandbox_memory_bytes:
            self.memory_enforcement = self._cgroup.version if self._cgroup is not None else "accounting"

    def _fill_scratch(self, tmpfs: int) -> None:
        """Copy the host folder into the sandbox's scratch tmpfs, owned by the sandbox's uid."""
        host = os.open(self._scratch, _DIR_FLAGS)
        try:
            os.fchmod(tmpfs, (os.fstat(host).st_mode & 0o777) | 0o700)
            if self.uid is not None:
                os.fchown(tmpfs, self.uid, self.uid)
            size = int(self.limits.scratch_bytes)
            budget = _Budget(size, size, files_allowed(size), [])
            copy_folder(host, tmpfs, budget, self.uid)
        finally:
            os.close(host)
        if budget.skipped:
            raise RuntimeError(f"sandbox: scratch {self._scratch} cannot be copied into the sandbox: {budget.skipped}")
        self._filled = True
        self.scratch_enforcement = "tmpfs size" if _supports("--size") else "watched"

    # -- the watcher --------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop_watch.wait(WATCH_INTERVAL):
            if self.killed_for is not None:
                continue
            try:
                reason = self._check()
            except Exception as exc:  # never a silent end of the watch: stop the sandbox instead
                reason = f"watch: {type(exc).__name__}: {exc}"
            if reason:
                self._violated(reason)

    def _check(self) -> str | None:
        """Why the sandbox must be killed now, or None."""
        tmpfs_bytes = 0
        for name, fd, size in self._watched:
            used, entries = _tmpfs_use(fd)
            tmpfs_bytes += used
            if size is None:
                continue
            if used > size:
                return f"disk: {name} holds {_size(used)}, past its size of {_size(size)}"
            if entries > files_allowed(size) + 1:  # + its root
                return f"disk: {name} holds {entries} files and folders, past {files_allowed(size)}"
        limit = self.limits.sandbox_memory_bytes
        if not limit:
            return None
        if self._cgroup is not None:
            kills = self._cgroup.oom_kills()
            usage = self._cgroup.usage()
            if usage is not None:
                self.peak_memory_bytes = max(self.peak_memory_bytes or 0, usage)
            if kills:
                return self._memory_reason(f"the kernel killed {kills} of its processes")
            return None
        if not self.pid_namespace:
            return None
        total = tmpfs_bytes + sum(_resident(pid) for pid in processes_in_namespace(self.pid_namespace))
        self.peak_memory_bytes = max(self.peak_memory_bytes or 0, total)
        if total > limit:
            return self._memory_reason(f"{_size(total)} counted")
        return None

    def _memory_reason(self, detail: str) -> str:
        limit = _size(self.limits.sandbox_memory_bytes)
        return f"memory: the sandbox's processes together reached its limit of {limit} ({self.memory_enforcement}: {detail})"

    def _violated(self, reason: str) -> None:
        if self.killed_for is None:
            self.killed_for = reason
        self._kill_processes()

    def _kill_processes(self) -> None:
        """SIGKILL the sandbox's PID 1 (the kernel then kills every process in it) and what is left."""
        pid, start = self.child_pid, self._child_start
        if pid and self.popen.poll() is None and start is not None and _start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.pid_namespace:
            for p in processes_in_namespace(self.pid_namespace):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass

    # -- waiting and killing ------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> int:
        """The exit status, once the command and every process it left behind are gone.

        Raises ``subprocess.TimeoutExpired`` (and leaves everything running) after ``timeout`` s.
        """
        if self.unsandboxed:
            code = self.popen.wait(timeout)
            self._kill_unsandboxed()  # what it left behind in its session
            self._release()
            return code
        deadline = None if timeout is None else time.monotonic() + timeout
        # the command's own exit (even if it left processes behind), or bwrap's
        while not self._exited.is_set() and self.popen.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.popen.args, timeout)
            self._exited.wait(0.2 if left is None else min(0.2, left))
        self.kill()  # normally already gone with PID 1; otherwise this ends what is left
        return self.popen.returncode

    def kill(self) -> None:
        """Kill the command and every process of the sandbox; returns when none is left (and the
        sandbox's scratch is back in the host folder, its cgroup removed)."""
        with self._lock:
            gone = False
            try:
                if self.unsandboxed:
                    self._kill_unsandboxed()
                else:
                    self._kill_sandbox()
                gone = True
            finally:
                self._release(gone)

    def _kill_sandbox(self) -> None:
        self._kill_processes()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()  # bwrap itself; --die-with-parent then kills the sandbox's PID 1
            self.popen.wait()
        if self.pid_namespace:
            deadline = time.monotonic() + GONE_TIMEOUT
            while True:
                left = processes_in_namespace(self.pid_namespace)
                if not left:
                    break
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sandbox: processes {left} of the sandbox survived SIGKILL")
                time.sleep(0.05)

    def _kill_unsandboxed(self) -> None:
        """Best effort without the sandbox: the command's session and the processes below it."""
        pid = self.popen.pid
        victims = set(_descendants(pid))
        if self.popen.poll() is None:
            victims.add(pid)
        for _ in range(3):  # freeze, then look again for what they started meanwhile
            for p in list(victims):
                try:
                    os.kill(p, signal.SIGSTOP)
                except OSError:
                    pass
                victims |= set(_descendants(p))
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()

    def _release(self, gone: bool = True) -> None:
        """Once the sandbox's processes are gone (``gone``): its scratch back to the host folder, its
        tmpfs, cgroup and slot let go. Runs once."""
        if self._released:
            return
        self._released = True
        self._stop_watch.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)
        try:
            if self._sync is not None:
                self._sync.close()
            for stream in (self.popen.stdin,):
                if stream:
                    try:
                        stream.close()
                    except OSError:
                        pass
            if self.killed_for is None and (self._watched or self._cgroup is not None):
                self.killed_for = self._check()  # a last look: what ended past a limit between two looks
            if self._cgroup is not None:
                peak = self._cgroup.peak()
                if peak is not None:
                    self.peak_memory_bytes = peak
            if self._filled:
                if gone:
                    self._copy_back(self._watched[-1][1])
                else:
                    self.scratch_skipped.append("everything: processes of the sandbox survived, nothing was copied")
        finally:
            for _, fd, _ in self._watched:
                os.close(fd)
            self._watched = []
            if self._cgroup is not None:
                self._cgroup.remove()
            if self._slot_fd is not None:
                os.close(self._slot_fd)
            if self._private:
                shutil.rmtree(self._private, ignore_errors=True)
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def _copy_back(self, tmpfs: int) -> None:
        """The sandbox's scratch over the host folder: at most scratch_bytes (see copy_folder)."""
        size = int(self.limits.scratch_bytes)
        budget = _Budget(size, size, files_allowed(size), self.scratch_skipped)
        try:
            host = os.open(self._scratch, _DIR_FLAGS)
        except OSError as exc:
            self.scratch_skipped.append(f"everything: {self._scratch} cannot be opened ({exc.strerror})")
            return
        try:
            _empty_folder(host)
            copy_folder(tmpfs, host, budget, None)
        except OSError as exc:
            self.scratch_skipped.append(f"the rest: {exc}")
        finally:
            os.close(host)

    def __enter__(self) -> Sandboxed:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


@atexit.register
def _kill_left_behind() -> None:
    with _LIVE_LOCK:
        boxes = [box for box in _LIVE if box._owner == os.getpid()]
    for box in boxes:
        try:
            box.kill()
        except Exception:
            pass


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
        private = tempfile.mkdtemp(prefix="lab05-unsandboxed-")
        prefix = Path(os.path.realpath(sys.prefix))
        environment = _base_env(f"{private}/home", private, prefix)
        environment.update(env or {})
        for key in _PRIVATE_DIRS:
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
    if not _checked:
        check_available()
    real_scratch = _real_dir(scratch, "scratch folder")
    private_scratch = limits.scratch_bytes is not None
    uid = slot_fd = group = None
    if _privileged():
        uid, slot_fd = _acquire_slot()
    try:
        if uid is not None and not private_scratch:
            _chown_tree(real_scratch, uid)
        if limits.sandbox_memory_bytes or limits.processes:
            group = Cgroup.create(limits.sandbox_memory_bytes, limits.processes)
        read, write = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the launcher's pid comes with its message
            args = command(
                argv,
                scratch=real_scratch,
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
        watch=_watched(limits, private_scratch, real_scratch),
    )
    try:
        box._wait_started()
        box._handshake()
    except BaseException:
        box.kill()
        raise
    return box


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
