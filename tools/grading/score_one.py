"""Trusted scoring of one submission, in a process of its own (local grading).

    python -m tools.grading.score_one < request.json > verdict.json

:func:`tools.grading.scoring_process.score_in_own_process` runs :func:`serve_one` for every
submission in a process of its own, forked from a fork server that imported Otter, NumPy and the
grading tools once (:data:`PRELOAD`), with its own memory limit (the policy's
``SCORER_MEMORY_BYTES``), and kills it at the submission's deadline: whatever the probe's replies
make the grading side hold, it is held there, for one submission, and ends with it (the batch's
coordinator and its other submissions never hold it). Nothing of one submission outlives its
process; the fork server holds no submission's data. The command line runs the same scoring for
one request, JSON on stdin::

    {"notebook": <the staged notebook>, "bundle": <unpacked bundle folder>, "seconds": <time left>,
     "unsandboxed": false, "probe_memory_bytes": <int or null>}

and the verdict is ``lab05_autograder.local.score_notebook``'s, JSON on stdout (one line). The notebook's
code runs only in the probe's sandbox, started from here.
"""

from __future__ import annotations

import json
import pathlib
import resource
import sys
import time

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading import sandbox  # noqa: E402
from tools.grading.trusted import probe_spawner, trusted_module  # noqa: E402


def score(request: dict) -> dict:
    """The verdict (``lab05_autograder.local.score_notebook``'s, with the CPU it took) for ``request``."""
    unpacked = pathlib.Path(request["bundle"])
    trusted = trusted_module(unpacked)
    data = trusted.score_notebook(
        request["notebook"],
        unpacked,
        probe_spawner(bool(request["unsandboxed"]), request.get("probe_memory_bytes")),
        deadline=time.monotonic() + float(request["seconds"]),
        python=sandbox.python_executable(),
    )
    own = resource.getrusage(resource.RUSAGE_SELF)
    data["cpu_seconds"] = {  # this process (its share of imports, the tests), and the probes as they reported it
        "scoring": own.ru_utime + own.ru_stime,
        "probe": data.get("cpu_seconds", {}).get("probe", 0.0),
    }
    return data


#: What the fork server imports once, so that each submission's scoring process starts warm: this
#: module with what it imports (the trusted module's loader and the probe's sandbox), Otter, NumPy,
#: and the sandbox's listing of what it leaves out (``warm_scoring``).
PRELOAD = (
    "numpy",
    "nbformat",
    "otter.test_files.exception_test",
    "otter.test_files",
    "tools.grading.score_one",
    "tools.grading.warm_scoring",
)


def serve_one(request: dict, connection, memory_bytes: int) -> None:
    """The body of one submission's scoring process, forked from the fork server: its own memory
    limit, then the verdict sent back as JSON text (never a pickle)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        reply = {"verdict": score(request)}
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, which fails closed
        reply = {"failed": f"{type(exc).__name__}: {exc}"[:500]}
    connection.send_bytes(json.dumps(reply).encode("utf-8"))
    connection.close()


def main() -> int:
    data = score(json.loads(sys.stdin.buffer.read().decode("utf-8")))
    sys.stdout.write(json.dumps(data) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
