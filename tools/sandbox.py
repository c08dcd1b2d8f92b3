"""Run an untrusted command (a student's notebook, through Otter) inside bubblewrap.

    box = sandbox.start([python, "-c", code], scratch=folder, readonly=[bundle])
    outcome = sandbox.run(argv, timeout=600, scratch=folder, readonly=[bundle])

What the sandboxed command gets:

- a new root holding, read-only, /usr (with /bin, /sbin, /lib* as on the host), the parts of /etc
  that programs need to start, the Python environment (``sys.prefix`` and ``sys.base_prefix``)
  and the ``readonly`` paths; nothing else of the host (no project checkout, no HOME) is there;
- one writable host folder, ``scratch`` (mounted at its own path), and a private, size-limited
  tmpfs ``/tmp`` that holds HOME and the Jupyter, IPython and Matplotlib folders;
- its own network (loopback only), PID, IPC, UTS and cgroup namespaces, a new terminal session,
  and death with its parent (``bwrap --die-with-parent``);
- an unprivileged uid, a cleared environment (PATH, LANG, the venv, the private folders and the
  caller's ``env``), and resource limits (:class:`Limits`) that it cannot raise.

The process limit (RLIMIT_NPROC) only works for a non-root user: the kernel does not apply it to
uid 0. Run as a normal user, bwrap maps the sandbox's uid 65534 to the caller in a new user
namespace, and the limit then counts the sandbox's processes only (the count is kept per user
namespace). Run as root (CI), bwrap runs privileged without a user namespace, and a small
launcher inside the sandbox switches to a dedicated uid, 61000 + slot (one slot per concurrent
sandbox, held with a lock file), before it sets the limits and executes the command: the limit
then counts exactly that sandbox's processes. Either way the launcher runs before any untrusted
code, and the command runs with no capabilities and ``no_new_privs``.

The time limit is kept by the caller (``wait``/``run``): when it runs out, the sandbox's PID 1 is
killed, and with it the kernel kills every process of the sandbox, whatever it did (double fork,
setsid, SIGSTOP, ignored signals). ``kill`` returns only once no process of the sandbox is left.

Where bubblewrap cannot run, :func:`check_available` raises :class:`SandboxUnavailable`; nothing
falls back silently. ``unsandboxed=True`` (callers drive it from ``UNSANDBOXED=1``) runs the same
command with the resource limits (except the process limit), a new session and the outer timeout
only, and the result says so, so that it can be recorded.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

GiB = 1024**3
MiB = 1024**2
SANDBOX_UID = 65534  # the uid inside the sandbox when run as a normal user
SLOT_UID_BASE = 61000  # run as root: the sandbox of slot n runs as uid 61000 + n
SLOTS = 1000
SLOT_LOCKS = Path("/run/lab05-sandbox") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir()) / "lab05-sandbox"
PRIVATE = "/tmp/home"  # HOME and the tool folders, on the sandbox's private /tmp
SETUP_TIMEOUT = 30.0  # seconds bwrap may take to start the command
GONE_TIMEOUT = 10.0  # seconds to wait for the sandbox's processes to disappear after a kill
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
    """Resource limits of every process in the sandbox (soft = hard: they cannot be raised)."""

    memory_bytes: int | None = 4 * GiB  # RLIMIT_AS: address space per process
    processes: int | None = 256  # RLIMIT_NPROC: processes and threads of the sandbox
    file_size_bytes: int | None = 256 * MiB  # RLIMIT_FSIZE: largest file it can write
    open_files: int | None = 1024  # RLIMIT_NOFILE
    cpu_seconds: int | None = None  # RLIMIT_CPU: per process
    tmp_bytes: int | None = 512 * MiB  # size of the private /tmp (needs bwrap 0.7+)

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
    """How a :func:`run` ended."""

    returncode: int | None
    timed_out: bool
    seconds: float
    unsandboxed: bool = False
    stdout: bytes | None = None
    stderr: bytes | None = None


# ---------------------------------------------------------------------------------------------
# The launcher: the sandbox's first program. It drops to the slot's uid (run as root), sets the
# limits, creates the private folders and executes the command. Trusted code, run with -I -S.
# ---------------------------------------------------------------------------------------------
LAUNCHER = r"""
import json, os, resource, sys
cfg = json.loads(sys.argv[1])
argv = sys.argv[2:]
try:
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
) -> list[str]:
    """The full bwrap argv that runs ``argv`` in the sandbox (see the module's docstring).

    ``scratch`` (an existing folder) is the only writable host folder; ``readonly`` files and folders
    are visible read-only; every path is mounted at its real (symlink-free) path. ``cwd`` defaults to
    ``scratch``. ``run_as`` is the uid to drop to when run as root (default 61000; :func:`start` picks
    a free slot). ``status_fd`` receives bwrap's JSON status (child pid, namespaces, exit code).
    """
    if not argv:
        raise ValueError("sandbox: empty command")
    scratch = _real_dir(scratch, "scratch folder")
    if not scratch.is_dir() or scratch == Path("/"):
        raise ValueError(f"sandbox: scratch {scratch} must be a folder other than /")
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
    if limits.tmp_bytes and _supports("--size"):
        args += ["--size", str(int(limits.tmp_bytes))]
    args += ["--perms", "1777", "--tmpfs", "/tmp"]
    # the Python environment, the read-only paths and the scratch folder, parents first
    mounts: list[tuple[Path, str]] = [(root, "--ro-bind") for root in _python_roots()]
    mounts += [(_real_dir(p, "read-only path"), "--ro-bind") for p in readonly]
    mounts.append((scratch, "--bind"))
    mounts.sort(key=lambda m: (len(m[0].parts), m[1] == "--bind"))
    covered = [Path("/usr"), Path("/proc"), Path("/dev"), Path("/etc")]  # not /tmp: a fresh tmpfs
    made: set[Path] = set()
    for path, how in mounts:
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in made or any(_within(parent, c) for c in covered):
                continue
            args += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700 as root
            made.add(parent)
        args += [how, str(path), str(path)]
        covered.append(path)
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
    }
    args += ["--chdir", "/", "--", python_executable(), "-I", "-S", "-c", LAUNCHER, json.dumps(config), *argv]
    return args


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


class Sandboxed:
    """A command running in the sandbox (or, ``unsandboxed``, without it).

    ``popen`` is the ``subprocess.Popen`` of bwrap (of the command itself when unsandboxed).
    ``wait`` and ``kill`` leave no process of the sandbox alive; as a context manager it kills
    on exit. ``pid_namespace`` is the inode of the sandbox's PID namespace (None unsandboxed).
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
    ):
        self.popen = popen
        self.unsandboxed = unsandboxed
        self.uid = uid
        self.child_pid: int | None = None
        self.pid_namespace: int | None = None
        self.exit_code: int | None = None
        self._child_start: int | None = None
        self._slot_fd = slot_fd
        self._private = private
        self._started = threading.Event()
        self._exited = threading.Event()
        self._released = False
        self._lock = threading.Lock()
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
        """Kill the command and every process of the sandbox; returns when none is left."""
        with self._lock:
            if self.unsandboxed:
                self._kill_unsandboxed()
            else:
                self._kill_sandbox()
            self._release()

    def _kill_sandbox(self) -> None:
        pid, start = self.child_pid, self._child_start
        if pid and self.popen.poll() is None and start is not None and _start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)  # PID 1 of the sandbox: the kernel kills every process in it
            except OSError:
                pass
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

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        for stream in (self.popen.stdin,):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        if self._slot_fd is not None:
            os.close(self._slot_fd)
        if self._private:
            shutil.rmtree(self._private, ignore_errors=True)

    def __enter__(self) -> Sandboxed:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


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
        return Sandboxed(popen, unsandboxed=True, private=private)
    if not _checked:
        check_available()
    uid = slot_fd = None
    if _privileged():
        uid, slot_fd = _acquire_slot()
    try:
        if uid is not None:
            _chown_tree(Path(os.path.realpath(scratch)), uid)
        read, write = os.pipe()
        try:
            args = command(
                argv, scratch=scratch, readonly=readonly, env=env, cwd=cwd, limits=limits, run_as=uid, status_fd=write
            )
            popen = subprocess.Popen(
                args, stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=(write,), start_new_session=True
            )
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
    except BaseException:
        if slot_fd is not None:
            os.close(slot_fd)
        raise
    box = Sandboxed(popen, unsandboxed=False, status_read=read, slot_fd=slot_fd, uid=uid)
    box._wait_started()
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
    )
