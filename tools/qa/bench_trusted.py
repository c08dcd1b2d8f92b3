"""Measure what trusted scoring adds to grading one submission, against its budget of 1.5 s.

    python -m tools.qa.bench_trusted [--rounds 7] [--autograder autograder/autograder.zip] [--submission NB]

Grades the same submission (the solution notebook by default, outputs cleared) through the
bundle on Otter's own code path (as Gradescope runs it, in this warm process), alternately with
the bundle's trusted-scoring plugin switched to its "external" mode (Otter's run only, no probe)
and switched on (the probe re-runs the notebook and every test is scored outside the kernel),
A B A B ..., after one discarded warm-up grade each. Reports the median wall time of each, the
median of the paired differences, and the time of the trusted scoring alone (probe start, the
notebook's cells, every test) measured inside the same runs. Nothing is asserted: this is a
benchmark; wall times move with whatever else the machine does.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading.bundle import unpack  # noqa: E402
from tools.grading.results import question_scores  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, SOLUTIONS  # noqa: E402

BUDGET_S = 1.5


def _submission(source: pathlib.Path, folder: pathlib.Path) -> pathlib.Path:
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = folder / NOTEBOOK
    nbformat.write(nb, str(path))
    return path


def _grade(path: pathlib.Path, bundle: pathlib.Path, trusted: bool) -> tuple[float, float, dict]:
    """(wall seconds, seconds spent in trusted scoring, scores)."""
    from lab05_autograder import local

    with local.otter_plugin(trusted) as spent:
        began = time.perf_counter()
        results = _otter_run(path, bundle)
        wall = time.perf_counter() - began
    return wall, sum(spent), {q: s for q, (s, _) in question_scores(results).items()}


def _otter_run(submission: pathlib.Path, bundle: pathlib.Path) -> dict:
    """Otter's own grading (``otter run``: Gradescope's code path) in this process; its results.json."""
    import contextlib
    import io
    import json

    from otter.run import main as otter_run

    with (
        tempfile.TemporaryDirectory(prefix="lab05-bench-out-") as out,
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        otter_run(str(submission), autograder=str(bundle), output_dir=out, no_logo=True)
        return json.loads((pathlib.Path(out) / "results.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--submission", type=pathlib.Path, default=SOLUTIONS / NOTEBOOK)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    with tempfile.TemporaryDirectory(prefix="lab05-bench-trusted-") as tmp:
        tmp = pathlib.Path(tmp)
        bundle = tmp / "autograder.zip"
        shutil.copyfile(args.autograder, bundle)
        plugin = unpack(bundle, tmp / "plugin")
        # Otter imports the plugin the config names (lab05_otter, the bundle's top level), which loads
        # lab05_autograder from files/: the same package this benchmark times
        sys.path[:0] = [str(plugin), str(plugin / "files")]
        submission = _submission(args.submission, tmp)
        _grade(submission, bundle, False), _grade(submission, bundle, True)  # warm-up, discarded
        plain, trusted, probe, pairs = [], [], [], []
        scores = {}
        for _ in range(args.rounds):
            a, _, scores_a = _grade(submission, bundle, False)
            b, alone, scores_b = _grade(submission, bundle, True)
            plain.append(a)
            trusted.append(b)
            probe.append(alone)
            pairs.append(b - a)
            if scores_a != scores_b:
                print(f"scores differ between the runs: without {scores_a}, with {scores_b}", file=sys.stderr)
                return 1
            scores = scores_b
    added = statistics.median(pairs)
    print(f"submission: {args.submission.name} ({sum(scores.values()):g} points), {args.rounds} interleaved rounds")
    print(f"Otter's run alone (plugin external): median {statistics.median(plain):.2f} s")
    print(f"with trusted scoring:                median {statistics.median(trusted):.2f} s")
    print(f"trusted scoring alone (inside those runs): median {statistics.median(probe):.2f} s")
    print(
        f"added per submission (median of paired differences): {added:+.2f} s; budget {BUDGET_S:g} s: "
        f"{'within' if added <= BUDGET_S else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
