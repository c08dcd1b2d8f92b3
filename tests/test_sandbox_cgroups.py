"""The sandbox's cgroups (tools/grading/sandbox/cgroups.py): the memory of all its processes together is
limited (by a cgroup, or by accounting where none is usable), and no cgroup, mount or descriptor is left.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
from sandboxed import script

from tools.grading import sandbox
from tools.grading.sandbox.limits import GiB, MiB
from tools.layout import ROOT

pytestmark = pytest.mark.usefixtures("bwrap_works")


MEMORY_FLOOD = """
import os, time
# six processes, one after the other: each allocates and touches 600 MiB, says so, and keeps it
for i in range(6):
    read, write = os.pipe()
    if os.fork() == 0:
        block = b"\\x01" * (600 * 1024**2)
        os.write(1, b"done\\n")
        os.write(write, b"1")
        time.sleep(60)
        os._exit(0)
    os.close(write)
    os.read(read, 1)  # its "done", or nothing if it was killed
time.sleep(60)
"""


def test_the_memory_of_all_the_sandboxs_processes_together_is_limited(scratch, enforcement):
    limit = 2 * GiB
    limits = sandbox.Limits(memory_bytes=2 * GiB, sandbox_memory_bytes=limit)  # each process alone is allowed
    outcome = sandbox.run(
        script(MEMORY_FLOOD), timeout=60, scratch=scratch, limits=limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    done = outcome.stdout.count(b"done")
    seen = (
        f"got killed_for={outcome.killed_for!r}, enforcement={outcome.memory_enforcement!r}, "
        f"peak={outcome.peak_memory_bytes}, {done} processes done, timed out: {outcome.timed_out}"
    )
    attack = "input: 6 processes one after the other each touching 600 MiB, sandbox limit 2 GiB, RLIMIT_AS 2 GiB"
    assert outcome.memory_enforcement == enforcement, f"{attack}; expected enforcement {enforcement}; {seen}"
    assert not outcome.timed_out and (outcome.killed_for or "").startswith("memory: "), (
        f"{attack}; expected the sandbox killed for memory; {seen}"
    )
    assert done >= 3, f"{attack}; expected 3 processes of 600 MiB to fit (each alone is allowed); {seen}"
    # the kernel's own peak with a cgroup; with accounting, the watcher's samples (it may overshoot
    # by what is allocated in one 50 ms interval) and no partial kill, so "done" counts what was held
    margin = 0 if enforcement.startswith("cgroup") else 512 * MiB
    assert outcome.peak_memory_bytes is not None and outcome.peak_memory_bytes <= limit + margin, (
        f"{attack}; expected a peak of at most {limit + margin}; {seen}"
    )
    if enforcement == "accounting":
        assert done == 3, f"{attack}; expected the 4th 600 MiB to be stopped (4 x 600 MiB > 2 GiB); {seen}"
    assert sandbox.leftover_cgroups() == [], f"expected the sandbox's cgroup removed; got {sandbox.leftover_cgroups()}"


def test_nothing_is_left_behind_when_sandboxes_end_or_are_killed(scratch):
    def state() -> tuple:
        with open("/proc/self/mountinfo") as f:
            mounts = f.read()
        return len(os.listdir("/proc/self/fd")), mounts, sandbox.leftover_cgroups()

    before = state()
    limits = sandbox.Limits(sandbox_memory_bytes=256 * MiB, memory_bytes=GiB)
    sandbox.run(script("print(1)"), timeout=30, scratch=scratch, stdout=subprocess.DEVNULL)
    killed = sandbox.run(script("b = b'x' * (512 * 1024**2)"), timeout=30, scratch=scratch, limits=limits)
    with sandbox.start(script("import time; time.sleep(60)"), scratch=scratch) as box:
        pass
    after = state()
    assert killed.killed_for and box.returncode is not None, f"expected the flood killed; got {killed}"
    assert after == before, (
        f"input: sandboxes that exit, are killed for memory, or killed by the caller; expected the same open "
        f"files, mounts and cgroups as before; got fds {before[0]} -> {after[0]}, cgroups {after[2]}"
    )


def test_a_cgroup_left_by_a_caller_that_died_is_removed(scratch, monkeypatch):
    if sandbox.own_cgroups() is None:
        pytest.skip("no usable cgroup on this machine: the sandbox keeps memory by accounting here")
    code = textwrap.dedent("""
        import os, pathlib, sys
        sys.path.insert(0, sys.argv[1])
        from tools.grading import sandbox
        box = sandbox.start([sandbox.python_executable(), "-c", "import time; time.sleep(60)"],
                            scratch=pathlib.Path(sys.argv[2]))
        print(*box._cgroup.folders, flush=True)
        os._exit(0)  # dies without cleaning up: bwrap --die-with-parent ends the sandbox
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(scratch)], capture_output=True, text=True, timeout=60
    )
    left = [pathlib.Path(p) for p in proc.stdout.split()]
    assert left and all(p.exists() for p in left), f"expected the dead caller's cgroups to exist; got {proc}"
    monkeypatch.setattr(sandbox.cgroups, "_SWEPT", set())
    sandbox.run(script("pass"), timeout=30, scratch=scratch)
    assert not any(p.exists() for p in left), (
        f"input: a caller killed while its sandbox ran; expected its cgroups removed by the next sandbox; got {left}"
    )


def test_own_cgroups_reads_v1_and_v2(tmp_path):
    pid = str(os.getpid())
    v1 = tmp_path / "v1"
    for folder in (v1 / "memory" / "api" / "x", v1 / "pids"):
        folder.mkdir(parents=True)
        (folder / "cgroup.procs").write_text(f"1\n{pid}\n")
    table = "9:name=systemd:/\n8:pids:/\n4:memory:/api/x\n0::/\n"
    got = sandbox.own_cgroups(v1, table)
    assert got == ("cgroup v1", v1 / "memory" / "api" / "x", v1 / "pids"), f"input: {table!r}; got {got}"
    v2 = tmp_path / "v2"
    ours = v2 / "user.slice" / "grader"
    ours.mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("cpu memory pids\n")
    (ours / "cgroup.procs").write_text(pid)
    (ours / "cgroup.subtree_control").write_text("memory pids\n")
    got = sandbox.own_cgroups(v2, "0::/user.slice/grader\n")
    assert got == ("cgroup v2", ours, ours), f"input: cgroup v2 only; got {got}"
    (ours / "cgroup.procs").write_text("1")  # not ours
    assert sandbox.own_cgroups(v2, "0::/user.slice/grader\n") is None, "a cgroup we are not in must not be used"
