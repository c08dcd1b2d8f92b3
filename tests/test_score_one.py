"""The scoring process (tools/grading/score_one.py): forked warm from a fork server that preloads what it runs."""

from __future__ import annotations

import json
import subprocess
import sys

from tools.grading import score_one
from tools.layout import ROOT

LOADED = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m == "tools" or m.startswith("tools."))))
"""


def _tools_modules_after_importing(*names: str) -> set[str]:
    """The modules of tools/ a fresh interpreter holds after importing ``names``."""
    proc = subprocess.run([sys.executable, "-c", LOADED, *names], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"input: import {names}; expected them to import; got {proc.stderr[-2000:]}"
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_the_fork_server_preloads_every_module_of_tools_the_scoring_process_runs():
    preloaded = _tools_modules_after_importing(*score_one.PRELOAD)
    needed = _tools_modules_after_importing("tools.grading.score_one")
    missing = needed - preloaded
    assert not missing, (
        f"input: score_one.PRELOAD = {score_one.PRELOAD}; expected it to load every module of tools/ that "
        f"score_one imports ({sorted(needed)}); missing {sorted(missing)}"
    )
    assert "tools.grading.grade_one" not in needed, (
        f"the scoring process should not need the grading side's module; score_one loads {sorted(needed)}"
    )
