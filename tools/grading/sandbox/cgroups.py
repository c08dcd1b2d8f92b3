"""Cgroups: one per sandbox, a child of this process's own cgroup, that the kernel keeps within its limits."""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from pathlib import Path

from .processes import start_time

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PREFIX = "lab05-sandbox"  # a sandbox's cgroup: lab05-sandbox-<owner pid>-<owner start time>-<n>
#: False: never use a cgroup; the sandbox's memory is then kept by accounting (LAB05_SANDBOX_CGROUPS=0)
USE_CGROUPS = os.environ.get("LAB05_SANDBOX_CGROUPS", "1").strip() != "0"


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
    return f"{CGROUP_PREFIX}-{os.getpid()}-{start_time(os.getpid())}-"


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
        if found and str(start_time(int(found[1]))) != found[2]:
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
