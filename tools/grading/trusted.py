"""Trusted scoring as local grading loads it: the bundle's ``lab05_autograder.local``, and the probe's sandbox.

Both sides of a submission's scoring need these: :mod:`tools.grading.grade_one` loads the module
for the verdict's results.json, and the scoring process (:mod:`tools.grading.score_one`) loads it
to score, with :func:`probe_spawner` starting the probe that runs the notebook's code.
"""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import threading

from tools.grading import sandbox


def trusted_module(unpacked: pathlib.Path):
    """Trusted scoring's entry point for local grading, ``lab05_autograder.local`` of the bundle
    (imported once per process, from the first bundle)."""
    with _IMPORT_LOCK:  # the batch grades from several threads
        return _import_trusted(unpacked)


def _import_trusted(unpacked: pathlib.Path):
    if "lab05_autograder" not in sys.modules:
        # the bundle's files/, where trusted scoring and the lab's modules are (it stays on the path:
        # trusted scoring imports the reference from there)
        sys.path.insert(0, str(unpacked / "files"))
    from lab05_autograder import local

    local.prepare()
    return local


_IMPORT_LOCK = threading.Lock()


def probe_spawner(unsandboxed: bool, memory_bytes: int | None = None):
    """Start trusted scoring's probe in a sandbox of its own (a fresh one at every start).

    Its limits are the probe's (``sandbox.Limits.probe()``, from the policy), with the address space
    ``memory_bytes`` where that is smaller.
    """
    limits = sandbox.Limits.probe()
    if memory_bytes and memory_bytes < (limits.memory_bytes or memory_bytes + 1):
        limits = dataclasses.replace(limits, memory_bytes=memory_bytes)

    def spawn(argv, workdir):
        box = sandbox.start(
            argv,
            scratch=workdir,
            cwd=workdir,
            limits=limits,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            unsandboxed=unsandboxed,
        )
        return box.popen, box.kill, "unsandboxed" if unsandboxed else "bubblewrap"

    return spawn
