"""Who and where the sandboxed command is (tools/grading/sandbox/bwrap.py, slots.py): an unprivileged uid of
its own, a cleared environment, no network, and the grading environment's Python only.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from sandboxed import run_json, script

from tools.grading import sandbox

pytestmark = pytest.mark.usefixtures("bwrap_works")


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
