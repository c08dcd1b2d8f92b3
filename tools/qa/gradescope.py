"""Grade a submission the way Gradescope does: the bundle's own entry point in a folder laid out as
Gradescope's ``/autograder``.

    results = run_like_gradescope(folder, {"lab05_nn_compute.ipynb": data})

Gradescope unpacks the bundle into ``/autograder/source``, the upload into ``/autograder/submission``,
and runs ``run_autograder``, which activates its environment and runs ``python
/autograder/source/run_otter.py``; results land in ``/autograder/results/results.json``. Here
``folder`` stands in for ``/autograder`` and the project's environment for Gradescope's, with
``grading_environment`` (a ``PYTHONPATH`` folder made by :func:`grading_environment`)
hiding what the bundle's environment does not install. Used by the tests of the Gradescope path and
by ``tools.qa.mutation_runner --gradescope``, which checks that every entry of the mutation corpus
gets the same scores here as through ``make grade-one``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import zipfile

from tools.grading import sandbox
from tools.layout import AUTOGRADER_ZIP

#: What a ``sitecustomize`` needs to make Python behave as if the named modules were not installed.
_BLOCKER = """import sys
for name in {names!r}:
    sys.modules.setdefault(name, None)  # `import name` raises ModuleNotFoundError
"""


def grading_environment(folder: pathlib.Path) -> pathlib.Path:
    """A folder for ``PYTHONPATH`` whose ``sitecustomize`` hides from every Python started with it (Otter's
    process, the kernel) the modules of the packages the bundle's environment does not install
    (``sandbox.hidden_site_entries``): the environment the batch's sandboxes and Gradescope grade in."""
    names = sorted(
        entry.stem if entry.suffix == ".py" else entry.name
        for entry in sandbox.hidden_site_entries()
        if (entry.suffix == ".py" or entry.is_dir()) and entry.stem.isidentifier()
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_BLOCKER.format(names=names), encoding="utf-8")
    return folder


class GradescopeRunError(RuntimeError):
    """The entry point left no results.json (its exit status and the end of its output say why)."""


def run_like_gradescope(
    root: pathlib.Path,
    submission_files: dict[str, bytes],
    cwd_first: bool = False,
    *,
    autograder: pathlib.Path = AUTOGRADER_ZIP,
    grading_environment: pathlib.Path | None = None,
) -> dict:
    """Lay out ``/autograder`` under ``root`` (a new or empty folder) as Gradescope does, run the
    bundle's entry point on ``submission_files`` ({name in the upload: bytes}) and return its
    results.json.

    ``cwd_first``: put the working directory (Otter works in the submission folder) first on
    ``sys.path`` instead of the script's folder, as ``python -c`` would: Otter then loads the plugin's
    copy in the submission folder.
    """
    source, submission, results = root / "source", root / "submission", root / "results"
    for folder in (source, submission, results):
        folder.mkdir(parents=True)
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(source)
    for name, data in submission_files.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "assignment": {"title": "Lab 05"}}))
    entry = (source / "run_otter.py").read_text().replace('"/autograder"', repr(str(root)))
    # Gradescope runs `python /autograder/source/run_otter.py`: the script's folder, not the working
    # directory, is first on sys.path (with `-c` it would be the working directory, the submission).
    if not cwd_first:
        entry = f"import sys\nsys.path[0] = {str(source)!r}\n" + entry
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if grading_environment is not None:
        env["PYTHONPATH"] = str(grading_environment)
    proc = subprocess.run(
        [sys.executable, "-c", entry],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=sandbox.policy().SUBMISSION_TIMEOUT_S,
        env=env,
    )
    if not (results / "results.json").is_file():
        raise GradescopeRunError(f"no results.json; exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return json.loads((results / "results.json").read_text())
