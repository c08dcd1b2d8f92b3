"""Measure what the hidden tests add to grading one submission.

    python -m tools.qa.bench_hidden [--rounds 7] [--autograder autograder/autograder.zip] [--submission NB]

Builds a variant of the bundle without the hidden tests (every ``tests/<question>.py`` keeps only
its public test case and that case's points), then grades the same submission (the solution
notebook by default, outputs cleared) with each bundle in turn, A B A B ..., in one warm process,
after one discarded warm-up grade each. Reports, for each bundle, the median wall time and the
median CPU time (this process plus the kernels it started), and the median of the paired
differences. It also times the hidden checks alone, in this process, on the reference functions:
the part of the difference that is the hidden suite's own work.

Wall times move with whatever else the machine is doing; the CPU times and the in-process timing
are the steadier numbers. Nothing is asserted: this is a benchmark.
"""

from __future__ import annotations

import argparse
import pathlib
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zipfile

from tools import layout
from tools.build.reference import reference_environment
from tools.grading.bundle import QuestionFile, question_files
from tools.layout import AUTOGRADER_ZIP
from tools.qa import notebooks


def public_only(test_file: QuestionFile) -> str:
    """An Otter test file with its hidden test cases removed (and their points)."""
    name, cases, points = test_file.path, test_file.cases, test_file.points
    if test_file.points_line is None:
        raise ValueError(f"{name}: no `points = ...` line")
    if not isinstance(points, list) or len(points) != len(cases):
        raise ValueError(f"{name}: points {points!r} do not list one value per test case ({len(cases)})")
    lines = test_file.source.split("\n")
    # each case runs from its decorator to the next case's (the last one to the end of the file)
    starts = [case.first_line - 1 for case in cases] + [len(lines)]
    kept = [(case, p) for case, p in zip(cases, points) if not case.hidden]
    head = lines[: starts[0]]
    head[test_file.points_line - 1] = f"points = {[p for _, p in kept]!r}"
    out = list(head)
    for i, case in enumerate(cases):
        if not case.hidden:
            out += lines[starts[i] : starts[i + 1]]
    text = "\n".join(out)
    compile(text, name, "exec")
    return text


def without_hidden(bundle: pathlib.Path, out: pathlib.Path) -> int:
    """Write ``out``: ``bundle`` with every hidden test case dropped. Returns how many were dropped."""
    test_files = {f.path: f for f in question_files(bundle)}
    dropped = 0
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename in test_files:
                test_file = test_files[info.filename]
                dropped += sum(case.hidden for case in test_file.cases)
                data = public_only(test_file).encode("utf-8")
            dst.writestr(info, data)
    return dropped


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _grade_once(submission: pathlib.Path, bundle: pathlib.Path) -> tuple[float, float, dict]:
    from tools.grading.grade_one import grade
    from tools.grading.results import question_scores

    wall, cpu = time.perf_counter(), _cpu()
    results, _ = grade(submission, bundle)
    return time.perf_counter() - wall, _cpu() - cpu, question_scores(results)


def hidden_checks_in_process(repeats: int = 5) -> float:
    """Median seconds the hidden checks (ledger aside) take on the reference, in this process."""
    env = reference_environment()
    from lab05_autograder import hidden

    checks = [getattr(hidden, n) for n in dir(hidden) if n.startswith("test_") and "ledger" not in n]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for check in checks:
            check(env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="graded pairs (A B) to time (default 7)")
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--submission", type=pathlib.Path, help="a notebook or zip (default: the solution)")
    args = parser.parse_args(argv)
    if not args.autograder.is_file():
        print(f"bench-hidden: {args.autograder} does not exist: run `make` first", file=sys.stderr)
        return 2
    layout.import_lab_modules_from_the_project()  # it grades many times in this process
    with tempfile.TemporaryDirectory(prefix="lab05-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        full, public = tmp / "with_hidden.zip", tmp / "public_only.zip"
        shutil.copy(args.autograder, full)
        dropped = without_hidden(full, public)
        if args.submission:
            submission = args.submission.resolve()
        else:
            submission = notebooks.write(notebooks.solution(), tmp / "submission")
        print(
            f"grading {submission.name}: {args.rounds} rounds of (with hidden tests, without the "
            f"{dropped} hidden test cases), after one warm-up each",
            flush=True,
        )
        for bundle in (full, public):
            _grade_once(submission, bundle)
        runs: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for i in range(args.rounds):
            for label, bundle in (("with", full), ("without", public)):
                wall, cpu, _ = _grade_once(submission, bundle)
                runs[label].append((wall, cpu))
            print(
                f"  round {i + 1}: with {runs['with'][-1][0]:.2f} s, without {runs['without'][-1][0]:.2f} s "
                f"(CPU {runs['with'][-1][1]:.2f} s / {runs['without'][-1][1]:.2f} s)",
                flush=True,
            )
    in_process = hidden_checks_in_process()

    def med(label, k):
        return statistics.median(r[k] for r in runs[label])

    wall_diff = statistics.median(a[0] - b[0] for a, b in zip(runs["with"], runs["without"]))
    cpu_diff = statistics.median(a[1] - b[1] for a, b in zip(runs["with"], runs["without"]))
    print()
    print(f"{'':28s}{'wall (median)':>15s}{'CPU (median)':>15s}")
    print(f"{'with the hidden tests':28s}{med('with', 0):>13.2f} s{med('with', 1):>13.2f} s")
    print(f"{'without them':28s}{med('without', 0):>13.2f} s{med('without', 1):>13.2f} s")
    print(f"{'difference (paired median)':28s}{wall_diff:>+13.2f} s{cpu_diff:>+13.2f} s")
    print(f"\nthe hidden checks alone, in-process on the reference: {1000 * in_process:.0f} ms (ledger checks aside)")
    worst = max(wall_diff, cpu_diff)
    verdict = "under" if worst < 1.0 else "NOT under"
    print(
        f"the hidden tests add {wall_diff:+.2f} s wall and {cpu_diff:+.2f} s CPU per submission (medians of "
        f"{args.rounds} pairs; differences of a few tenths either way are noise): {verdict} the 1 s budget"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
