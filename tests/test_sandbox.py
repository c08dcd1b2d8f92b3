"""The sandbox (tools/sandbox.py): every guarantee is proved by planting the attack inside it.

No mock of bwrap: each test runs a small Python script in a real sandbox. Where bubblewrap is
missing these tests fail with the install instruction (CI installs it; see .ci/run).
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
import textwrap
import time
import uuid

import pytest

from tools import sandbox
from tools.layout import AUTOGRADER_ZIP, ROOT

PY = sandbox.python_executable()


@pytest.fixture(scope="module", autouse=True)
def bwrap_works():
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as exc:
        pytest.fail(f"the sandbox cannot run on this machine: {exc}")


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def script(code: str, *args: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code), *args]


def run_json(code: str, scratch: pathlib.Path, *args: str, timeout: float = 30, **kwargs) -> dict:
    """Run ``code`` in the sandbox; it prints one JSON object last. Returns it (and fails clearly)."""
    outcome = sandbox.run(
        script(code, *args), timeout=timeout, scratch=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )
    out, err = outcome.stdout.decode(errors="replace"), outcome.stderr.decode(errors="replace")
    assert outcome.returncode == 0 and not outcome.timed_out, (
        f"the sandboxed script should exit 0; got {outcome.returncode} (timed out: {outcome.timed_out})\n"
        f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    )
    return json.loads(out.strip().splitlines()[-1])


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_with(token: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if token.encode() in f.read() and alive(int(entry.name)):
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


# ---------------------------------------------------------------------------------------------
# Availability and the opt-out
# ---------------------------------------------------------------------------------------------
def test_without_bwrap_the_error_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no bwrap on it
    monkeypatch.setattr(sandbox, "_AVAILABLE", False)
    with pytest.raises(sandbox.SandboxUnavailable) as caught:
        sandbox.check_available()
    message = str(caught.value)
    needed = ["apt-get install bubblewrap", "user namespaces", "macOS", "otter grade", "UNSANDBOXED=1"]
    missing = [w for w in needed if w not in message]
    assert not missing, (
        f"input: no bwrap on PATH; expected the message to name {needed}; missing {missing} in {message!r}"
    )
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.start(["true"], scratch=tmp_path)  # never a silent fallback


def test_unsandboxed_runs_with_limits_and_says_so(scratch):
    code = """
    import json
    try:
        bytearray(6 * 1024**3)
        got = "allocated"
    except MemoryError:
        got = "MemoryError"
    print(json.dumps({"alloc": got}))
    """
    outcome = sandbox.run(script(code), timeout=30, scratch=scratch, stdout=subprocess.PIPE, unsandboxed=True)
    assert outcome.unsandboxed, f"input: unsandboxed=True; expected the Outcome to say so; got {outcome}"
    assert json.loads(outcome.stdout)["alloc"] == "MemoryError", (
        f"input: 6 GiB allocation, unsandboxed; expected MemoryError (4 GiB limit); got {outcome.stdout!r}"
    )
    hang = sandbox.run(
        script("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)"),
        timeout=1,
        scratch=scratch,
        unsandboxed=True,
    )
    assert hang.timed_out and hang.seconds < 10, f"input: a 60 s sleep, timeout 1 s; expected timed out; got {hang}"


# ---------------------------------------------------------------------------------------------
# File system
# ---------------------------------------------------------------------------------------------
WRITE_EVERYWHERE = """
import json, os, sys
scratch, readonly_file = sys.argv[1], sys.argv[2]
writable = []
for top in os.listdir("/"):
    if top in ("proc", "sys", "dev"):
        continue
    for folder, dirs, files in os.walk("/" + top):
        probe = os.path.join(folder, ".probe")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            continue
        os.close(fd)
        os.unlink(probe)
        writable.append(folder)
existing = []
for path in [readonly_file, os.__file__, sys.executable, "/etc/hosts", "/usr/bin/env"]:
    try:
        with open(path, "ab"):
            existing.append(path)
    except OSError:
        pass
print(json.dumps({"writable": writable, "existing_writable": existing}))
"""


def test_only_scratch_and_tmp_are_writable(scratch, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("read me")
    got = run_json(WRITE_EVERYWHERE, scratch, str(scratch), str(shared / "data.txt"), readonly=[shared], timeout=120)
    outside = [
        f
        for f in got["writable"]
        if not (f == str(scratch) or f.startswith(str(scratch) + "/") or f == "/tmp" or f.startswith("/tmp/"))
        or f.startswith(str(shared))
    ]
    assert not outside, (
        f"input: create a file in every folder; expected only {scratch} and /tmp; also wrote in {outside}"
    )
    assert str(scratch) in got["writable"] and "/tmp" in got["writable"], f"scratch and /tmp must be writable: {got}"
    assert not got["existing_writable"], (
        f"input: open the read-only file, the venv's os.py, python, /etc/hosts, /usr/bin/env for writing; "
        f"expected none; got {got['existing_writable']}"
    )


def test_paths_not_passed_are_invisible(scratch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("grader's secret")
    home = os.path.expanduser("~")
    probes = [
        str(ROOT),
        str(AUTOGRADER_ZIP),
        home,
        str(secret),
        str(tmp_path),
        "/work",
        "/var",
        "/opt",
        "/srv",
        "/home",
        "/run",
        "/sys",
        "/etc/shadow",
        "/etc/passwd",
        "/root",
    ]
    code = """
    import json, os, sys
    seen = {}
    for p in sys.argv[1:]:
        if os.path.isdir(p):
            seen[p] = sorted(os.listdir(p))
        elif os.path.exists(p):
            seen[p] = "file"
    print(json.dumps({"seen": seen, "root": sorted(os.listdir("/"))}))
    """
    got = run_json(code, scratch, *probes)
    # folders on the way to what is mounted (the venv, the base Python, scratch) exist, holding only that way
    mounted = [pathlib.Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix)] + [scratch]
    visible = {}
    for path, listing in got["seen"].items():
        on_the_way = {m.parts[len(pathlib.Path(path).parts)] for m in mounted if pathlib.Path(path) in m.parents}
        if listing == "file" or set(listing) - on_the_way:
            visible[path] = listing
    assert not visible, f"input: paths not passed to the sandbox {probes}; expected none visible; got {visible}"
    allowed = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "tmp", "proc", "dev"}
    allowed |= {m.parts[1] for m in mounted}
    extra = set(got["root"]) - allowed
    assert not extra, f"input: listdir('/'); expected only {sorted(allowed)}; got also {sorted(extra)}"


def test_readonly_paths_are_visible_and_read_only(scratch, tmp_path):
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    code = """
    import json, os, sys
    path = sys.argv[1]
    data = open(path, "rb").read()
    for attempt in (lambda: open(path, "ab"), lambda: os.unlink(path), lambda: os.rename(path, path + "x")):
        try:
            attempt()
            print(json.dumps({"changed": True})); sys.exit()
        except OSError:
            pass
    print(json.dumps({"changed": False, "size": len(data)}))
    """
    got = run_json(code, scratch, str(bundle), readonly=[bundle])
    assert got == {"changed": False, "size": 22}, f"input: a read-only bundle; expected readable, unchanged; got {got}"
    assert bundle.read_bytes() == b"PK\x05\x06" + b"\0" * 18


# ---------------------------------------------------------------------------------------------
# Identity, environment, network
# ---------------------------------------------------------------------------------------------
def test_environment_identity_and_network(scratch, monkeypatch):
    monkeypatch.setenv("LAB05_GRADER_SECRET", "token")
    code = """
    import json, os, socket
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        net = "connected"
    except OSError as exc:
        net = type(exc).__name__
    print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "env": dict(os.environ), "net": net,
                      "host": socket.gethostname(), "interfaces": [n for _, n in socket.if_nameindex()],
                      "cwd": os.getcwd(), "writable_home": os.access(os.environ["HOME"], os.W_OK),
                      "nnp": [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0],
                      "caps": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]}))
    """
    got = run_json(code, scratch, env={"GRADING": "1"})
    env = got.pop("env")
    assert got["uid"] != 0 and got["euid"] != 0, f"expected an unprivileged uid inside; got {got['uid']}"
    assert "LAB05_GRADER_SECRET" not in env, f"input: a grader variable outside; expected it cleared; got {env}"
    assert env.get("GRADING") == "1", f"input: env={{'GRADING': '1'}}; expected it set; got {env}"
    for key in (
        "HOME",
        "IPYTHONDIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "MPLCONFIGDIR",
        "TMPDIR",
    ):
        assert env.get(key, "").startswith("/tmp"), f"expected {key} on the private /tmp; got {env.get(key)}"
    extra = set(env) - {
        "PATH",
        "LANG",
        "VIRTUAL_ENV",
        "HOME",
        "USER",
        "LOGNAME",
        "TMPDIR",
        "IPYTHONDIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "MPLCONFIGDIR",
        "PYTHONDONTWRITEBYTECODE",
        "PWD",
        "GRADING",
        "LC_CTYPE",
    }
    assert not extra, f"expected a cleared environment; also got {sorted(extra)}"
    assert got["net"] != "connected" and got["interfaces"] == ["lo"], f"expected no network; got {got}"
    assert got["host"] == "sandbox" and got["cwd"] == str(scratch) and got["writable_home"], got
    assert got["nnp"] == "1" and int(got["caps"], 16) == 0, f"expected no_new_privs and no capabilities; got {got}"


def test_python_jupyter_numpy_and_matplotlib_start(scratch):
    code = """
    import json, socket, matplotlib, numpy, IPython, jupyter_client, nbformat, otter
    socket.create_server(("localhost", 0)).close()  # Otter's log server binds "localhost"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.plot([1, 2]); plt.savefig("fig.png")
    print(json.dumps({"sum": int(numpy.arange(10).sum())}))
    """
    assert run_json(code, scratch, timeout=60) == {"sum": 45}
    assert (scratch / "fig.png").stat().st_size > 0


# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------
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


def test_a_fork_bomb_is_stopped_by_the_process_limit(scratch):
    limit = 40
    most = 0
    with sandbox.start(
        script(FORK_BOMB),
        scratch=scratch,
        limits=sandbox.Limits(processes=limit),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as box:
        ns = box.pid_namespace
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            most = max(most, len(sandbox.processes_in_namespace(ns)))
            time.sleep(0.05)
        box.kill()
    left = sandbox.processes_in_namespace(ns)
    # the count is of the sandbox's uid: the bomb, plus bwrap's PID 1 (root's, when run as root)
    assert 0 < most <= limit + 1, f"input: a fork bomb, process limit {limit}; expected at most {limit + 1}; got {most}"
    assert not left, f"after kill(): expected no process of the sandbox; got {left}"


def test_the_process_limit_holds_for_a_normal_user_too(request):
    """A TA's laptop: no root, bwrap in a user namespace. Run as root here, switch to a plain uid."""
    code = textwrap.dedent("""
        import json, pathlib, subprocess, sys, tempfile
        sys.path.insert(0, sys.argv[1])
        import sandbox
        scratch = pathlib.Path(tempfile.mkdtemp())
        bomb = [sandbox.python_executable(), "-c", sys.argv[2]]
        box = sandbox.start(bomb, scratch=scratch, limits=sandbox.Limits(processes=30),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import time
        most, end = 0, time.monotonic() + 1.5
        while time.monotonic() < end:
            most = max(most, len(sandbox.processes_in_namespace(box.pid_namespace)))
            time.sleep(0.05)
        box.kill()
        print(json.dumps({"uid": box.uid, "most": most, "left": sandbox.processes_in_namespace(box.pid_namespace)}))
    """)
    if os.geteuid() == 0:
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
        assert python, "this test needs a system /usr/bin/python3 (any user can run it) to act as a normal user"
        module_dir = pathlib.Path(tempfile.mkdtemp(prefix="lab05-sandbox-user-"))  # reachable by that user
        request.addfinalizer(lambda: shutil.rmtree(module_dir, ignore_errors=True))
        (module_dir / "sandbox.py").write_text((ROOT / "tools" / "sandbox.py").read_text())
        os.chmod(module_dir, 0o755)
        os.chmod(module_dir / "sandbox.py", 0o644)
        kwargs = {"user": 61999, "group": 61999, "extra_groups": [], "cwd": "/"}
        env = {"PATH": os.environ["PATH"], "HOME": "/tmp"}
    else:
        python, module_dir, kwargs, env = sys.executable, ROOT / "tools", {}, dict(os.environ)
    proc = subprocess.run(
        [python, "-c", code, str(module_dir), textwrap.dedent(FORK_BOMB)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        **kwargs,
    )
    assert proc.returncode == 0, f"the normal-user run failed: {proc.stderr[-2000:]}"
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["uid"] is None, f"a normal user runs bwrap in a user namespace (no slot uid); got {got}"
    assert 0 < got["most"] <= 31 and not got["left"], (
        f"input: a fork bomb as a normal user, limit 30; expected at most 31 processes, none left; got {got}"
    )


def test_concurrent_sandboxes_run_as_different_users(scratch, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    code = "import os, time\nprint(os.getuid(), flush=True)\ntime.sleep(30)"
    with (
        sandbox.start(script(code), scratch=scratch, stdout=subprocess.PIPE) as a,
        sandbox.start(script(code), scratch=other, stdout=subprocess.PIPE) as b,
    ):
        uids = [int(a.popen.stdout.readline()), int(b.popen.stdout.readline())]
    if os.geteuid() == 0:
        assert uids[0] != uids[1] and min(uids) >= sandbox.SLOT_UID_BASE, (
            f"input: two sandboxes at once, as root; expected two slot uids >= {sandbox.SLOT_UID_BASE}; got {uids}"
        )
    else:
        assert uids == [sandbox.SANDBOX_UID] * 2, uids


# ---------------------------------------------------------------------------------------------
# Processes: nothing outside can be reached, nothing inside survives
# ---------------------------------------------------------------------------------------------
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
            for pid in processes_with(token + "-stopped"):
                os.kill(pid, signal.SIGSTOP)
            assert len(processes_with(token)) >= 4, (
                f"expected the detached processes running; got {processes_with(token)}"
            )
            box.kill()
            ns = box.pid_namespace
    else:
        outcome = sandbox.run(argv, timeout=3, scratch=scratch)
        assert outcome.timed_out == (ending == "timeout"), f"input: ending {ending}; got {outcome}"
        assert (scratch / "ready").exists(), "the script did not get to start its processes"
        ns = None
    left = processes_with(token)
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
