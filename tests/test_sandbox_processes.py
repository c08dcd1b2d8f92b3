"""The sandbox's processes (tools/grading/sandbox/processes.py, box.py): nothing outside can be reached,
nothing inside survives its end, and its time limit cannot be disarmed from inside.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from leftovers import pids_mentioning
from sandboxed import script

from tools.grading import sandbox

pytestmark = pytest.mark.usefixtures("bwrap_works")


def test_cannot_signal_processes_outside(scratch):
    sibling = subprocess.Popen(["sleep", "60"])
    try:
        code = """
        import json, os, signal, sys
        results = {}
        for pid in map(int, sys.argv[1:]):
            try:
                os.kill(pid, signal.SIGKILL)
                results[pid] = "killed"
            except OSError as exc:
                results[pid] = type(exc).__name__
        # forge bwrap's status on every open descriptor: the grader must not act on it
        forged = json.dumps({"child-pid": int(sys.argv[1]), "exit-code": 0}).encode()
        for fd in range(3, 256):
            try:
                os.write(fd, forged)
            except OSError:
                pass
        print(json.dumps(results), flush=True)
        os.kill(-1, signal.SIGKILL)
        """
        outcome = sandbox.run(
            script(code, str(sibling.pid), str(os.getpid()), str(os.getppid())),
            timeout=30,
            scratch=scratch,
            stdout=subprocess.PIPE,
        )
        got = json.loads(outcome.stdout.decode().strip().splitlines()[-1])
        time.sleep(0.2)
        assert sibling.poll() is None, f"input: kill a sibling's pid {sibling.pid} from inside; it died ({got})"
        assert all(v != "killed" for v in got.values()), (
            f"input: kill(pid) of outside processes; expected each to fail; got {got}"
        )
    finally:
        sibling.kill()
        sibling.wait()


DETACH = """
import os, subprocess, sys, time
token = sys.argv[1]
# a double-forked, setsid daemon
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep-" + token + "-daemon", "1000"])
    os._exit(0)
# nohup, its own session
subprocess.Popen(["nohup", "sh", "-c", "exec -a sleep-" + token + "-nohup sleep 1000"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# stopped, and one that ignores every signal it can
if os.fork() == 0:
    for s in range(1, 32):
        try:
            signal = __import__("signal"); signal.signal(s, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    os.execv(sys.executable, [sys.executable, "-c", "import time, signal; [signal.signal(s, signal.SIG_IGN) for s in (1, 2, 3, 15)]; time.sleep(1000)", token])
if os.fork() == 0:
    os.execv("/bin/sleep", ["sleep-" + token + "-stopped", "1000"])
time.sleep(0.5)
open("ready", "w").write("1")
sys.stdout.write("started\\n"); sys.stdout.flush()
if sys.argv[2] == "hang":
    time.sleep(1000)
"""


@pytest.mark.parametrize("ending", ["exit", "timeout", "kill"])
def test_detached_stopped_and_signal_ignoring_processes_do_not_survive(scratch, ending):
    token = uuid.uuid4().hex
    argv = script(DETACH, token, "exit" if ending == "exit" else "hang")
    if ending == "kill":
        with sandbox.start(argv, scratch=scratch, stdout=subprocess.PIPE) as box:
            assert box.popen.stdout.readline() == b"started\n"
            for pid in pids_mentioning(token + "-stopped"):
                os.kill(pid, signal.SIGSTOP)
            assert len(pids_mentioning(token)) >= 4, (
                f"expected the detached processes running; got {pids_mentioning(token)}"
            )
            box.kill()
            ns = box.pid_namespace
    else:
        outcome = sandbox.run(argv, timeout=3, scratch=scratch)
        assert outcome.timed_out == (ending == "timeout"), f"input: ending {ending}; got {outcome}"
        assert (scratch / "ready").exists(), "the script did not get to start its processes"
        ns = None
    left = pids_mentioning(token)
    assert not left, (
        f"input: detached, stopped and signal-ignoring processes, ending by {ending}; expected none "
        f"left; got pids {left}"
    )
    if ns:
        assert not sandbox.processes_in_namespace(ns)


def test_an_outer_timeout_cannot_be_disarmed_from_inside(scratch):
    code = """
    import os, signal, time
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, signal.SIG_IGN)
    os.setsid() if os.getpid() != os.getsid(0) else None
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(1000)
    """
    begin = time.monotonic()
    outcome = sandbox.run(script(code), timeout=1.5, scratch=scratch)
    took = time.monotonic() - begin
    assert outcome.timed_out and took < 8, (
        f"input: a command that ignores signals and stops itself, timeout 1.5 s; expected killed soon; got {outcome}, {took:.1f}s"
    )
