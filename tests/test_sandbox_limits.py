"""The sandbox's limits (tools/grading/sandbox/limits.py): memory and file size per process, and the number
of processes, for root and for a normal user, with cgroups or without.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from sandboxed import run_json, script

from tools.grading import sandbox
from tools.layout import ASSIGNMENT, ROOT

pytestmark = pytest.mark.usefixtures("bwrap_works")


def test_memory_limit(scratch):
    code = """
    import json
    try:
        block = bytearray(6 * 1024**3)
        got = "allocated"
    except MemoryError:
        got = "MemoryError"
    print(json.dumps({"alloc": got, "small": len(bytearray(100 * 1024**2))}))
    """
    got = run_json(code, scratch)
    assert got == {"alloc": "MemoryError", "small": 100 * 1024**2}, (
        f"input: allocate 6 GiB with the default 4 GiB limit; expected MemoryError (100 MiB fine); got {got}"
    )


def test_file_size_limit(scratch):
    code = """
    import json
    try:
        with open("big", "wb") as f:
            f.seek(300 * 1024**2)
            f.write(b"x")
        got = "written"
    except OSError as exc:
        got = exc.strerror
    print(json.dumps({"write": got}))
    """
    got = run_json(code, scratch)
    assert got["write"] != "written", f"input: a 300 MiB file with the 256 MiB limit; expected an error; got {got}"


FORK_BOMB = """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""


def most_processes(box, seconds: float) -> int:
    """The most processes ``box``'s PID namespace held at once, looking every 50 ms for ``seconds``."""
    most, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        most = max(most, len(sandbox.processes_in_namespace(box.pid_namespace)))
        time.sleep(0.05)
    return most


def test_a_fork_bomb_is_stopped_by_the_process_limit(scratch):
    limit = 40
    with sandbox.start(
        script(FORK_BOMB),
        scratch=scratch,
        limits=sandbox.Limits(processes=limit),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as box:
        ns = box.pid_namespace
        most = most_processes(box, 2)
        box.kill()
    left = sandbox.processes_in_namespace(ns)
    # the count is of the sandbox's uid: the bomb, plus bwrap's PID 1 (root's, when run as root)
    assert 0 < most <= limit + 1, f"input: a fork bomb, process limit {limit}; expected at most {limit + 1}; got {most}"
    assert not left, f"after kill(): expected no process of the sandbox; got {left}"


def test_the_process_limit_holds_for_a_normal_user_too(request):
    """A TA's laptop: no root, bwrap in a user namespace. Run as root here, switch to a plain uid.

    There the sandbox's memory is kept by accounting (no writable cgroup), and scratch comes back too."""
    code = textwrap.dedent("""
        import json, pathlib, subprocess, sys, tempfile, time
        sys.path.insert(0, sys.argv[1])
        import policy  # the policy beside the copy: sandbox.policy() takes it from sys.modules
        sys.modules["lab05_autograder.policy"] = policy
        import sandbox
        scratch = pathlib.Path(tempfile.mkdtemp())
        bomb = [sandbox.python_executable(), "-c", sys.argv[2]]
        box = sandbox.start(bomb, scratch=scratch, limits=sandbox.Limits(processes=30),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        most, end = 0, time.monotonic() + 1.5
        while time.monotonic() < end:
            most = max(most, len(sandbox.processes_in_namespace(box.pid_namespace)))
            time.sleep(0.05)
        box.kill()
        flood = sandbox.run([sandbox.python_executable(), "-c", "b = b'x' * (400 * 1024**2)"], timeout=30,
                            scratch=scratch, limits=sandbox.Limits(sandbox_memory_bytes=256 * 1024**2))
        wrote = sandbox.run([sandbox.python_executable(), "-c", "open('out.txt', 'w').write('hi')"], timeout=30,
                            scratch=scratch)
        print(json.dumps({"uid": box.uid, "most": most, "left": sandbox.processes_in_namespace(box.pid_namespace),
                          "flood": [flood.memory_enforcement, flood.killed_for],
                          "wrote": [wrote.returncode, (scratch / "out.txt").read_text()]}))
    """)
    module_dir = pathlib.Path(tempfile.mkdtemp(prefix="lab05-sandbox-user-"))  # reachable by that user
    request.addfinalizer(lambda: shutil.rmtree(module_dir, ignore_errors=True))
    package = module_dir / "sandbox"
    package.mkdir()
    sources = [*(ROOT / "tools" / "grading" / "sandbox").glob("*.py"), ASSIGNMENT / "lab05_autograder" / "policy.py"]
    for source in sources:
        copy = (package if source.parent.name == "sandbox" else module_dir) / source.name
        copy.write_text(source.read_text())
        os.chmod(copy, 0o644)
    os.chmod(package, 0o755)
    os.chmod(module_dir, 0o755)
    if os.geteuid() == 0:
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
        assert python, "this test needs a system /usr/bin/python3 (any user can run it) to act as a normal user"
        kwargs = {"user": 61999, "group": 61999, "extra_groups": [], "cwd": "/"}
        env = {"PATH": os.environ["PATH"], "HOME": "/tmp"}
    else:
        python, kwargs, env = sys.executable, {}, dict(os.environ)
    proc = subprocess.run(
        [python, "-c", code, str(module_dir), textwrap.dedent(FORK_BOMB)],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        **kwargs,
    )
    assert proc.returncode == 0, f"the normal-user run failed: {proc.stderr[-2000:]}"
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["uid"] is None, f"a normal user runs bwrap in a user namespace (no slot uid); got {got}"
    assert 0 < got["most"] <= 31 and not got["left"], (
        f"input: a fork bomb as a normal user, limit 30; expected at most 31 processes, none left; got {got}"
    )
    enforcement, killed_for = got["flood"]
    assert enforcement in ("accounting", "cgroup v2") and (killed_for or "").startswith("memory: "), (
        f"input: 400 MiB with a sandbox limit of 256 MiB, as a normal user; expected killed for memory; got {got}"
    )
    assert got["wrote"] == [0, "hi"], f"input: a file written to scratch as a normal user; expected it back; got {got}"


@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-if-usable", "no-cgroup"])
def test_the_process_limit_holds_for_the_whole_sandbox(scratch, monkeypatch, cgroups):
    if not cgroups:
        monkeypatch.setattr(sandbox.cgroups, "USE_CGROUPS", False)
    limit = 20
    limits = sandbox.Limits(processes=limit)
    with sandbox.start(
        script(FORK_BOMB), scratch=scratch, limits=limits, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as box:
        ns = box.pid_namespace
        most = most_processes(box, 1.5)
    assert 0 < most <= limit + 1, (
        f"input: a fork bomb, process limit {limit}, cgroups {'on' if cgroups else 'off'}; expected at most "
        f"{limit + 1} processes in the sandbox (with its PID 1); got {most}"
    )
    assert not sandbox.processes_in_namespace(ns), "expected no process of the sandbox left after kill()"
