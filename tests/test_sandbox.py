"""The sandbox (tools/grading/sandbox/): every guarantee is proved by planting the attack inside it.

No mock of bwrap: each test runs a small Python script in a real sandbox. Where bubblewrap is
missing these tests fail with the install instruction (CI installs it; see .ci/run).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

import pytest

from tools.grading import sandbox
from tools.layout import ASSIGNMENT, AUTOGRADER_ZIP, ROOT

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
    monkeypatch.setattr(sandbox.launch, "_AVAILABLE", False)
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


def test_the_sandboxs_python_has_the_grading_environment_only(scratch):
    """What only the project's tests install (pytest, JupyterLab, Selenium, and rfc3987-syntax, which
    jsonschema imports when it is there) is not installed on Gradescope: the sandbox's Python cannot
    import it either, and everything the bundle pins is still there."""
    from tools.build import pins

    test_only = sorted(pins.only_for_tests())
    code = f"""
    import importlib, importlib.metadata, json
    found = {{}}
    for module in ("pytest", "selenium", "jupyterlab", "rfc3987_syntax", "hypothesis"):
        try:
            importlib.import_module(module)
            found[module] = "imported"
        except ImportError as exc:
            found[module] = type(exc).__name__
    installed = set()
    for dist in importlib.metadata.distributions():
        installed.add(dist.metadata["Name"].lower().replace("_", "-").replace(".", "-"))
    print(json.dumps({{"found": found, "test_only_seen": sorted(installed & set({test_only!r}))}}))
    """
    got = run_json(code, scratch, timeout=60)
    imported = [m for m, how in got["found"].items() if how != "ModuleNotFoundError"]
    assert not imported, f"input: import of test-only packages in the sandbox; expected ModuleNotFoundError; got {got}"
    assert not got["test_only_seen"], f"test-only distributions visible in the sandbox: {got['test_only_seen']}"
    code = """
    import json, jsonschema, nbformat, otter, matplotlib, numpy, ipykernel
    print(json.dumps({"ok": True}))
    """
    assert run_json(code, scratch, timeout=60) == {"ok": True}, "the grading environment's packages must import"


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


# ---------------------------------------------------------------------------------------------
# Limits of the whole sandbox: memory, processes, scratch and /tmp of all its processes together
# ---------------------------------------------------------------------------------------------
GiB, MiB = 1024**3, 1024**2


@pytest.fixture(params=["cgroup-if-usable", "accounting"])
def enforcement(request, monkeypatch):
    """The memory enforcement a sandbox should report: this machine's cgroups if usable, or accounting
    (cgroups turned off, as where they are not writable)."""
    if request.param == "accounting":
        monkeypatch.setattr(sandbox.cgroups, "USE_CGROUPS", False)
        return "accounting"
    found = sandbox.own_cgroups()
    return found[0] if found else "accounting"


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


@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup-if-usable", "no-cgroup"])
def test_the_process_limit_holds_for_the_whole_sandbox(scratch, monkeypatch, cgroups):
    if not cgroups:
        monkeypatch.setattr(sandbox.cgroups, "USE_CGROUPS", False)
    limit, most = 20, 0
    limits = sandbox.Limits(processes=limit)
    with sandbox.start(
        script(FORK_BOMB), scratch=scratch, limits=limits, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as box:
        ns = box.pid_namespace
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            most = max(most, len(sandbox.processes_in_namespace(ns)))
            time.sleep(0.05)
    assert 0 < most <= limit + 1, (
        f"input: a fork bomb, process limit {limit}, cgroups {'on' if cgroups else 'off'}; expected at most "
        f"{limit + 1} processes in the sandbox (with its PID 1); got {most}"
    )
    assert not sandbox.processes_in_namespace(ns), "expected no process of the sandbox left after kill()"


DISK_FLOOD = """
import json, os, sys, time
where, kept, results = sys.argv[1], [], []
with open(os.path.join(where, "small.txt"), "w") as f:
    f.write("kept")
for i in range(4):
    name = os.path.join(where, "big%d" % i)
    try:
        f = open(name, "wb", buffering=0)
        kept.append(f)
        for _ in range(30):
            f.write(b"x" * 1024**2)
        results.append("written")
    except OSError as exc:
        results.append(exc.strerror)
    if i % 2:
        os.unlink(name)  # deleted, but kept open: its space is still used
used = sum(os.fstat(f.fileno()).st_blocks * 512 for f in kept)
print(json.dumps({"results": results, "used": used}), flush=True)
if sys.argv[2] == "hold":  # keep it all
    time.sleep(60)
"""


def _on_disk(folder: pathlib.Path) -> tuple[int, int]:
    """(bytes of the regular files under ``folder``, bytes of their blocks), no link followed."""
    size = blocks = 0
    for path in folder.rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            size, blocks = size + info.st_size, blocks + info.st_blocks * 512
    return size, blocks


@pytest.fixture(params=["tmpfs size", "watched"])
def disk_enforcement(request, monkeypatch):
    """How a full /tmp or scratch is stopped: by the tmpfs's size (bwrap 0.7+), or by the watcher
    (a bwrap without --size, simulated). The watcher looks every 50 ms at what the sandbox holds: there
    the attack holds its files (a burst that exits between two looks is bounded by the copy back,
    which writes at most the budget to disk, and by memory, not stopped)."""
    if request.param == "watched":
        monkeypatch.setitem(sandbox.bwrap._FEATURES, "--size", False)
    return request.param


def test_all_the_sandbox_writes_to_scratch_together_is_limited(scratch, disk_enforcement):
    budget = 64 * MiB
    (scratch / "input.txt").write_text("from the caller")
    limits = sandbox.Limits(scratch_bytes=budget)
    with sandbox.start(
        script(DISK_FLOOD, str(scratch), "hold" if disk_enforcement == "watched" else "exit"),
        scratch=scratch,
        limits=limits,
        stdout=subprocess.PIPE,
    ) as box:
        out = box.popen.stdout.read()
        box.wait(timeout=30)
    lines = out.decode().strip().splitlines()
    got = json.loads(lines[-1]) if lines else None
    size, blocks = _on_disk(scratch)
    seen = f"got {got}, killed_for={box.killed_for!r}, {size} bytes ({blocks} in blocks) on disk"
    attack = f"input: 4 files of 30 MiB in scratch (2 deleted but kept open), a {budget} byte budget"
    assert box.scratch_enforcement == disk_enforcement, (
        f"{attack}; expected {disk_enforcement}; got {box.scratch_enforcement}"
    )
    stopped = (box.killed_for or "").startswith("disk: ") or (got and any(r != "written" for r in got["results"]))
    assert stopped, f"{attack}; expected the writes to fail or the sandbox killed for disk; {seen}"
    if got and disk_enforcement == "tmpfs size":  # what the sandbox held at once, deleted files included
        assert got["used"] <= budget, f"{attack}; expected at most {budget} bytes held in scratch; {seen}"
    assert size <= budget and blocks <= budget + MiB, f"{attack}; expected at most {budget} bytes on disk; {seen}"
    assert (scratch / "input.txt").read_text() == "from the caller", f"{attack}; the caller's file is gone; {seen}"
    if disk_enforcement == "tmpfs size":
        assert (scratch / "small.txt").read_text() == "kept", f"{attack}; expected small.txt back; {seen}"


def test_all_the_sandbox_writes_to_tmp_together_is_limited(scratch, disk_enforcement):
    budget = 64 * MiB
    limits = sandbox.Limits(tmp_bytes=budget)
    outcome = sandbox.run(
        script(DISK_FLOOD, "/tmp", "hold" if disk_enforcement == "watched" else "exit"),
        timeout=30,
        scratch=scratch,
        limits=limits,
        stdout=subprocess.PIPE,
    )
    lines = outcome.stdout.decode().strip().splitlines()
    got = json.loads(lines[-1]) if lines else None
    seen = f"got {got}, killed_for={outcome.killed_for!r}"
    attack = f"input: 4 files of 30 MiB in /tmp (2 deleted but kept open), /tmp of {budget} bytes"
    if disk_enforcement == "tmpfs size":
        assert got and got["used"] <= budget and "written" != got["results"][-1], (
            f"{attack}; expected writes past {budget} bytes to fail; {seen}"
        )
    else:
        assert (outcome.killed_for or "").startswith("disk: /tmp"), f"{attack}; expected killed for /tmp; {seen}"


def test_a_normal_command_runs_and_its_scratch_output_is_readable_after_it_exits(scratch, enforcement):
    (scratch / "input.txt").write_text("from the caller")
    code = """
    import json, os
    os.makedirs("out/deep", exist_ok=True)
    with open("out/deep/result.json", "w") as f:
        json.dump({"input": open("input.txt").read()}, f)
    print("hello from the sandbox")
    """
    outcome = sandbox.run(script(code), timeout=30, scratch=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert outcome.returncode == 0 and outcome.stdout == b"hello from the sandbox\n", (
        f"input: python -c print; expected exit 0 and its line; got {outcome}"
    )
    assert outcome.killed_for is None and outcome.memory_enforcement == enforcement, (
        f"input: python -c print; expected not killed, enforcement {enforcement}; got {outcome}"
    )
    result = scratch / "out" / "deep" / "result.json"
    assert result.is_file() and json.loads(result.read_text()) == {"input": "from the caller"}, (
        f"input: a file written in scratch; expected it readable after the sandbox exits, with the caller's input "
        f"seen inside; got {sorted(p.name for p in scratch.rglob('*'))}"
    )
    assert (scratch / "input.txt").read_text() == "from the caller"


COPY_BACK_TRICKS = """
import os
secret = os.environ["SECRET"]
os.symlink(secret, "link")  # a link to a host file: must come back as a link, never followed
os.mkfifo("fifo")  # a FIFO would block whoever copies it
with open("setuid", "w") as f:
    f.write("#!/bin/sh")
os.chmod("setuid", 0o6755)
with open("sparse-huge", "wb") as f:  # 200 MiB long (past the budget), one page of data
    f.seek(200 * 1024**2)
    f.write(b"x")
with open("sparse-small", "wb") as f:  # 32 MiB long, one page of data
    f.seek(32 * 1024**2)
    f.write(b"x")
with open("linked", "wb") as f:  # 20 MiB, then 10 hard links to it
    f.write(b"y" * (20 * 1024**2))
for i in range(10):
    os.link("linked", "linked-%d" % i)
path = "deep"
for i in range(40):  # 40 nested folders
    os.mkdir(path)
    path += "/deep"
print("ready", flush=True)
"""


def test_the_copy_back_follows_no_link_and_is_bounded(scratch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("grader's secret")
    budget = 64 * MiB
    with sandbox.start(
        script(COPY_BACK_TRICKS),
        scratch=scratch,
        env={"SECRET": str(secret)},
        limits=sandbox.Limits(scratch_bytes=budget),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as box:
        box.wait(timeout=30)
    names = {p.name for p in scratch.iterdir()}
    size, blocks = _on_disk(scratch)
    seen = f"got {sorted(names)}, {size} bytes ({blocks} in blocks), skipped {box.scratch_skipped}"
    attack = (
        "input: a link to a host file, a FIFO, a setuid file, sparse files, 10 hard links to 20 MiB, 40 folders deep"
    )
    assert box.returncode == 0, f"{attack}: the script failed: {box.popen.stderr.read()!r}"
    assert os.path.islink(scratch / "link") and os.readlink(scratch / "link") == str(secret), f"{attack}; {seen}"
    assert secret.read_text() == "grader's secret", f"{attack}; expected the host file unchanged"
    assert "fifo" not in names and "sparse-huge" not in names, f"{attack}; expected no FIFO, no 200 MiB file; {seen}"
    assert (scratch / "setuid").stat().st_mode & 0o7000 == 0, f"{attack}; expected setuid/setgid dropped; {seen}"
    assert (scratch / "sparse-small").stat().st_blocks * 512 <= MiB, f"{attack}; expected the holes kept; {seen}"
    assert size - (32 * MiB + 1) <= budget and blocks <= budget + MiB, f"{attack}; expected at most {budget}; {seen}"
    depth = len((scratch / "deep").relative_to(scratch).parts)
    deepest = max((len(p.relative_to(scratch).parts) for p in scratch.rglob("*")), default=depth)
    assert deepest <= sandbox.MAX_DEPTH + 1, f"{attack}; expected at most {sandbox.MAX_DEPTH} folders; got {deepest}"
    assert any("linked" in s for s in box.scratch_skipped), f"{attack}; expected links past the budget named; {seen}"


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
