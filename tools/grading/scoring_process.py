"""The grading side of a submission's scoring process: one fresh process a submission, forked warm.

:func:`score_in_own_process` sends the staged notebook to :func:`tools.grading.score_one.serve_one`
in a process of its own, forked from a multiprocessing fork server that imported the modules of
:data:`tools.grading.score_one.PRELOAD` once, and reads back the verdict as JSON text (never a
pickle) with a size cap. What the probe's replies make scoring hold is held there and ends with
it; this process holds only the verdict.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
import time

from tools.grading import sandbox, score_one
from tools.grading.results import MAX_RESULTS_BYTES, GradeError


def score_in_own_process(
    notebook: dict, unpacked: pathlib.Path, trusted, *, unsandboxed: bool, memory_bytes: int | None, deadline: float
):
    """Trusted scoring of ``notebook`` in a process of its own (:func:`tools.grading.score_one.serve_one`,
    forked from a warm fork server), with the memory limit ``policy.SCORER_MEMORY_BYTES`` and
    killed at ``deadline``: what one submission's probe sends is held there, never in this process.
    Returns the verdict (``trusted.read_verdict``: read back as data); raises GradeError when there is none."""
    request = {
        "notebook": notebook,
        "bundle": str(unpacked),
        "seconds": max(0.5, deadline - time.monotonic()),
        "unsandboxed": unsandboxed,
        "probe_memory_bytes": memory_bytes,
    }
    context = _fork_server()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=score_one.serve_one, args=(request, sender, sandbox.policy().SCORER_MEMORY_BYTES), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(request["seconds"] + 30):
            raise GradeError("trusted scoring did not finish in time", "timeout")
        reply = json.loads(receiver.recv_bytes(MAX_RESULTS_BYTES).decode("utf-8"))
    except (EOFError, OSError, ValueError) as exc:
        raise GradeError(
            f"trusted scoring ended without a verdict ({type(exc).__name__}); not graded. (It runs in a process "
            "forked from a multiprocessing fork server: a script that calls the grader needs its work under "
            "`if __name__ == '__main__':`, or the fork server runs the script again.)"
        ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if type(reply) is not dict or "verdict" not in reply:
        failed = reply.get("failed") if type(reply) is dict else None
        raise GradeError(f"trusted scoring failed ({str(failed)[:300]}); not graded")
    try:
        return trusted.read_verdict(reply["verdict"], unpacked)
    except ValueError as exc:
        raise GradeError(f"trusted scoring gave no usable verdict ({exc}); not graded") from None


def _fork_server():
    """The multiprocessing context whose fork server starts every scoring process warm (once per
    grading process; the grading tools' own modules and Otter imported there, no submission's data)."""
    global _FORK_SERVER
    with _FORK_SERVER_LOCK:  # the batch grades from several threads
        if _FORK_SERVER is None:
            import multiprocessing

            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # read by NumPy as the server imports it
                os.environ.setdefault(name, "1")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(score_one.PRELOAD))
            _FORK_SERVER = context
    return _FORK_SERVER


_FORK_SERVER = None
_FORK_SERVER_LOCK = threading.Lock()
