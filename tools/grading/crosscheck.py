"""The cross-check: Otter's own run of a submission in the notebook's kernel, in a sandbox of its own.

It comes after trusted scoring, alone (nothing it does exists while the probe runs), with the
kernel's copy of the bundle (:func:`kernel_bundle`: none of the autograder's modules, no hidden
case the kernel cannot run). What it says is only compared with the verdict
(``kernel_results_differ``); when it dies the verdict stands, flagged ``kernel_died``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import threading
import time
import zipfile

from tools.grading import sandbox
from tools.grading.bundle import Bundle
from tools.grading.results import GradeError, read_results, validate_results
from tools.grading.staging import Staged

MAX_LOG_BYTES = 4 * 1024**2  # the log kept is the last 4 MiB of what grading printed

#: What :func:`otter_in_kernel` returns for results when the run met the submission's deadline.
TIMED_OUT = object()


def otter_in_kernel(
    staged: Staged,
    work: pathlib.Path,
    bundle: Bundle,
    trusted,
    log: str,
    deadline: float,
    *,
    memory_bytes: int | None,
    unsandboxed: bool,
):
    """The cross-check: ``otter run`` in a sandbox that holds the kernel's copy of the bundle
    (:func:`kernel_bundle`). Returns ``(its results.json, None if it died, or TIMED_OUT; whether it
    died; the log)``."""
    gradable, inputs = _gradable(staged, work)
    scratch = work / "scratch"
    (scratch / "out").mkdir(parents=True)
    kernel_zip = kernel_bundle(bundle, trusted)
    python = sandbox.python_executable()
    argv = [python, "-m", "otter", "run", "-a", str(kernel_zip), "-o", str(scratch / "out"), "--no-logo", str(gradable)]
    log_path = work / "grading_log.txt"
    with open(log_path, "wb") as log_file:
        outcome = sandbox.run(
            argv,
            timeout=max(0.5, deadline - time.monotonic()),
            scratch=scratch,
            readonly=[kernel_zip.parent, inputs],
            limits=dataclasses.replace(sandbox.Limits(), memory_bytes=memory_bytes or None),
            env={},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            unsandboxed=unsandboxed,
        )
    log += read_log(log_path)
    if outcome.timed_out:
        return TIMED_OUT, False, log
    if outcome.returncode != 0:  # the verdict never came from the kernel: it stands, flagged
        why = f"its sandbox was stopped for {outcome.killed_for}" if outcome.killed_for else otter_error(log)
        return None, True, log + f"\nOtter's run in the notebook's kernel failed ({why}); the trusted scores stand.\n"
    try:
        return validate_results(read_results(scratch), bundle.questions), False, log
    except GradeError as exc:  # what Otter's run says is only compared with the verdict
        return {}, False, log + f"\nOtter's own results are not usable ({exc}); the trusted scores stand.\n"


def _gradable(staged: Staged, work: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """What ``otter run`` grades (the staged notebook alone, or a zip of what staging kept), in a
    folder of its own: ``(the file, its folder)``."""
    inputs = work / "inputs"
    inputs.mkdir(mode=0o755)
    if staged.files == [staged.notebook_path.name]:
        gradable = inputs / staged.notebook_path.name
        shutil.copyfile(staged.notebook_path, gradable)
    else:
        gradable = inputs / "submission.zip"
        with zipfile.ZipFile(gradable, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in staged.files:
                zf.write(work / "staged" / file, file)
    os.chmod(gradable, 0o644)
    return gradable, inputs


def read_log(path: pathlib.Path) -> str:
    """The last :data:`MAX_LOG_BYTES` of the log at ``path``, as text."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_LOG_BYTES:
            f.seek(size - MAX_LOG_BYTES)
        return f.read(MAX_LOG_BYTES).decode("utf-8", "replace")


def otter_error(log: str) -> str:
    """The last exception line Otter printed (e.g. its refusal), or the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if (head.endswith(("Error", "Exception")) or head.endswith("Exit")) and " " not in head:
            return line
    return lines[-1] if lines else "no output"


def kernel_bundle(bundle: Bundle, trusted) -> pathlib.Path:
    """The bundle as Otter's run in the notebook's kernel gets it (made once per bundle, beside it):
    no plugin, none of the autograder's modules (reference, hidden tests, trusted scoring), and test
    files whose hidden cases the kernel cannot run (``trusted.write_kernel_bundle``). The kernel's
    sandbox sees this folder only."""
    folder = bundle.folder / "kernel"
    target = folder / "autograder.zip"
    with _KERNEL_BUNDLE_LOCK:
        if target.is_file():
            return target
        folder.mkdir(mode=0o755, exist_ok=True)
        partial = folder / "autograder.zip.tmp"
        trusted.write_kernel_bundle(bundle.zip, partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    return target


_KERNEL_BUNDLE_LOCK = threading.Lock()
