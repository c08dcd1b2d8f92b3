"""Trusted scoring of one submission, in a process of its own (local grading).

    python -m tools.score_one < request.json > verdict.json

``tools.grade_one`` starts this for every submission with its own memory limit
(``lab05_policy.SCORER_MEMORY_BYTES``) and kills it at the submission's deadline: whatever the
probe's replies make the grading side hold, it is held here, for one submission, and ends with it
(the batch's coordinator and its other submissions never hold it). The request is JSON on stdin::

    {"notebook": <the staged notebook>, "bundle": <unpacked bundle folder>, "seconds": <time left>,
     "unsandboxed": false, "probe_memory_bytes": <int or null>}

and the verdict is :meth:`lab05_trusted.Scored.to_data`, JSON on stdout (one line). The notebook's
code runs only in the probe's sandbox, started from here.
"""

from __future__ import annotations

import json
import pathlib
import resource
import sys
import time

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))


def main() -> int:
    from tools import grade_one, sandbox

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    unpacked = pathlib.Path(request["bundle"])
    trusted = grade_one.trusted_module(unpacked)
    scored = trusted.score_unpacked(
        request["notebook"],
        unpacked,
        grade_one.probe_spawner(bool(request["unsandboxed"]), request.get("probe_memory_bytes")),
        deadline=time.monotonic() + float(request["seconds"]),
        python=sandbox.python_executable(),
    )
    data = scored.to_data()
    own = resource.getrusage(resource.RUSAGE_SELF)
    data["cpu_seconds"] = {  # this process (interpreter, imports, the tests), and the probes as they reported it
        "scoring": own.ru_utime + own.ru_stime,
        "probe": scored.cpu.get("probe", 0.0),
    }
    sys.stdout.write(json.dumps(data) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
