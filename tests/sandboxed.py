"""What the sandbox's tests share (tests/test_sandbox_*.py): a script to run inside, and its JSON answer.

Their fixtures are in conftest.py: ``bwrap_works`` (each of those files uses it: where bubblewrap is
missing they fail with the install instruction; CI installs it, see .ci/run), ``scratch`` and
``enforcement``.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import textwrap

from tools.grading import sandbox

PY = sandbox.python_executable()


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
