"""Starting a sandbox (tools/grading/sandbox/launch.py): no silent fallback where bwrap cannot run, and the
opt-out (``unsandboxed=True``) still keeps the limits and says so.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from sandboxed import script

from tools.grading import sandbox

pytestmark = pytest.mark.usefixtures("bwrap_works")


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
