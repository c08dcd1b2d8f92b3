"""What a sandbox may use: the lab's policy, :class:`Limits`, and what a limit's size allows.

The defaults of :class:`Limits` are those of Otter's kernel in ``assignment/lab05_autograder/policy.py``
(``Limits.probe()``: the probe's); nothing here states a value. The package's docstring says what
each limit bounds and how it is kept.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys

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
BYTES_PER_FILE = 16 * KiB  # a sandbox's /tmp or scratch may hold one entry per 16 KiB of its size


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


def readable_size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def files_allowed(size_bytes: int) -> int:
    """How many entries a tmpfs of ``size_bytes`` (the sandbox's /tmp or scratch) may hold."""
    return max(1024, int(size_bytes) // BYTES_PER_FILE)
