"""The command line that starts a sandbox: bwrap's options, the mounts, the environment and the launcher.

:func:`command` builds it; the launcher (:data:`LAUNCHER`) is the sandbox's first program.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .limits import HOW_TO_FIX, KiB, Limits, SandboxUnavailable
from .slots import SLOT_UID_BASE, privileged

SANDBOX_UID = 65534  # the uid inside the sandbox when run as a normal user
PRIVATE = "/tmp/home"  # HOME and the tool folders, on the sandbox's private /tmp
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


def python_executable() -> str:
    """The path of this Python environment's interpreter as the sandbox sees it (the venv's, resolved)."""
    candidate = Path(os.path.realpath(sys.prefix)) / "bin" / Path(sys.executable).name
    return str(candidate if candidate.exists() else Path(os.path.realpath(sys.executable)))


@functools.cache
def hidden_site_entries() -> tuple[Path, ...]:
    """The entries of the environment's site-packages (packages, modules, metadata) that belong only to
    the packages the project's tests need and the bundle's environment leaves out
    (``tools.build.pins.only_for_tests``: pytest, JupyterLab, Selenium, ...). The sandbox leaves them out:
    a notebook cannot import there what Gradescope's environment does not install, and ``import otter``
    does not pay for what jsonschema would import when it is there (rfc3987-syntax: about 1 s). A copy
    of this package run on its own, without the project's tools beside it, leaves out nothing."""
    import importlib.metadata
    import sysconfig

    try:
        from tools.build import pins
    except ImportError:
        return ()

    test_only = pins.only_for_tests()
    site = Path(os.path.realpath(sysconfig.get_paths()["purelib"]))
    hidden: set[str] = set()
    kept: set[str] = set()
    for dist in importlib.metadata.distributions(path=[str(site)]):
        owners = hidden if pins.canonical(dist.metadata["Name"]) in test_only else kept
        owners.update(f.parts[0] for f in dist.files or () if f.parts and f.parts[0] != "..")
    return tuple(sorted(site / name for name in hidden - kept if (site / name).exists()))  # shared folders stay


def _python_roots() -> list[Path]:
    roots = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return sorted(roots)


def bwrap_executable() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable("bwrap (bubblewrap) is not installed or not on PATH. " + HOW_TO_FIX)
    return found


_FEATURES: dict[str, bool] = {}


def supports(option: str) -> bool:
    if option not in _FEATURES:
        try:
            text = subprocess.run([bwrap_executable(), "--help"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        _FEATURES[option] = option in text
    return _FEATURES[option]


def base_env(home: str, tmp: str, prefix: Path) -> dict[str, str]:
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


PRIVATE_DIRS = ("HOME", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR")


def real_dir(path: Path | str, what: str) -> Path:
    real = Path(os.path.realpath(path))
    if not real.exists():
        raise FileNotFoundError(f"sandbox: {what} {path} does not exist")
    return real


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _tmpfs(size: int | None, perms: str, path: Path | str) -> list[str]:
    sized = ["--size", str(int(size))] if size and supports("--size") else []
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
    scratch = real_dir(scratch, "scratch folder")
    if not scratch.is_dir() or scratch == Path("/"):
        raise ValueError(f"sandbox: scratch {scratch} must be a folder other than /")
    private_scratch = sync_fd is not None and limits.scratch_bytes is not None
    as_root = privileged()
    prefix = Path(os.path.realpath(sys.prefix))
    args = [bwrap_executable(), *_namespaces(as_root), *_system(limits)]
    args += _mounts(scratch, readonly, limits, private_scratch)
    # the environment: cleared, then ours, then the caller's
    environment = base_env(PRIVATE, "/tmp", prefix)
    environment.update(env or {})
    args.append("--clearenv")
    for key, value in environment.items():
        args += ["--setenv", key, value]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    workdir = Path(os.path.realpath(cwd)) if cwd else scratch
    uid = None
    if as_root:
        uid = SLOT_UID_BASE if run_as is None else int(run_as)
        if uid <= 0:
            raise ValueError(f"sandbox: run_as must be an unprivileged uid, got {uid}")
    config = {
        "uid": uid,
        "limits": limits.rlimits(),
        "cwd": str(workdir),
        "mkdirs": [environment[k] for k in PRIVATE_DIRS if k in environment],
        "sync": sync_fd,
        "watch": [name for name, _ in watched(limits, private_scratch, scratch)],
    }
    args += ["--chdir", "/", "--", python_executable(), "-I", "-S", "-c", LAUNCHER, json.dumps(config), *argv]
    return args


def _namespaces(as_root: bool) -> list[str]:
    """bwrap's options that give the sandbox its own namespaces, session and life."""
    if as_root:
        # Root: no user namespace (its uid 0 would be kuid 0, which RLIMIT_NPROC exempts). The
        # launcher drops to run_as itself and holds these two capabilities (no other) until then.
        args = [
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
        args = ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    return [*args, "--die-with-parent", "--new-session", "--hostname", "sandbox"]


def _system(limits: Limits) -> list[str]:
    """bwrap's options for the system, read-only (/usr, its links, the parts of /etc programs need),
    /proc, /dev and the private /tmp."""
    args = ["--ro-bind", "/usr", "/usr"]
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
    return args + _tmpfs(limits.tmp_bytes, "1777", "/tmp")


def _mounts(scratch: Path, readonly: Sequence[Path], limits: Limits, private_scratch: bool) -> list[str]:
    """bwrap's options for the Python environment, the read-only paths and the scratch folder, parents first."""
    mounts: list[tuple[Path, str]] = [(root, "--ro-bind") for root in _python_roots()]
    mounts += _site_packages_mounts(hidden_site_entries())
    mounts += [(real_dir(p, "read-only path"), "--ro-bind") for p in readonly]
    if private_scratch and any(_within(path, scratch) for path, _ in mounts):
        raise ValueError(f"sandbox: a read-only path inside scratch {scratch} needs scratch_bytes=None")
    mounts.append((scratch, "--tmpfs" if private_scratch else "--bind"))
    mounts.sort(key=lambda m: (len(m[0].parts), m[1] != "--ro-bind"))
    covered = [Path("/usr"), Path("/proc"), Path("/dev"), Path("/etc")]  # not /tmp: a fresh tmpfs
    remount: list[Path] = []
    made: set[Path] = set()
    args: list[str] = []
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


def watched(limits: Limits, private_scratch: bool, scratch: Path) -> list[tuple[str, int | None]]:
    """(path in the sandbox, size limit) of each tmpfs the launcher hands over: /tmp, /dev, scratch."""
    found: list[tuple[str, int | None]] = [("/tmp", limits.tmp_bytes), ("/dev", None)]
    if private_scratch:
        found.append((str(scratch), limits.scratch_bytes))
    return found
