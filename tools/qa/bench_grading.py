"""Benchmark: a serial loop of Otter's own `otter run` against the batch grader, same submissions.

    python -m tools.qa.bench_grading [--count 12] [--workers N] [--rounds 1] [--keep]

Generates COUNT submissions into a temporary folder (the solution, the blank student notebook,
and partial solutions with some functions broken, as notebooks and as exported zips) and grades
them four ways, ROUNDS times, interleaved: one ``otter run -a autograder.zip -o DIR SUBMISSION``
process each, one after the other, with no sandbox (the bundle's plugin scores, and Otter's kernel
runs the notebook too), in the grading environment (the packages the bundle's environment leaves
out hidden, as in the batch's sandboxes and on Gradescope: the baseline), and the same loop in the
project's whole .venv; ``tools.grading.grade_batch`` by default (the notebook's code runs once, in
the probe's sandbox); and ``tools.grading.grade_batch`` with the cross-check (Otter's run in the
kernel too, in a second sandbox). Prints the median wall times, the speed-ups, the CPU time per
submission of each stage, the machine's load, and whether every question score agrees in all four.
It reports speed only; the test suite checks correctness.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading.batch.coordinator import grade_batch  # noqa: E402
from tools.grading.results import question_scores  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, NOTEBOOK, SOLUTIONS, STUDENT, cell_source  # noqa: E402
from tools.qa.gradescope import grading_environment  # noqa: E402

SOLUTION = SOLUTIONS / NOTEBOOK
BLANK = STUDENT / NOTEBOOK

# Partial solutions: these functions are redefined, right after their own cell, to give up.
BROKEN = [
    ("transistor_tax",),
    ("gradient_bound", "stall_depth"),
    ("training_memory",),
    ("parameter_count", "layer_macs", "max_trainable_width"),
    ("sigmoid_derivative", "inference_memory"),
]


def _strip(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _break(nb: dict, names: tuple[str, ...]) -> dict:
    nb = copy.deepcopy(nb)
    for name in names:
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code" and f"def {name}(" in cell_source(cell):
                nb["cells"].insert(
                    i + 1,
                    {
                        "cell_type": "code",
                        "id": f"broken-{name}",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": None,
                        "source": f"def {name}(*args, **kwargs):\n    raise NotImplementedError('{name}')\n",
                    },
                )
                break
    return nb


def make_submissions(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    """``count`` submissions in ``folder``: solution, blank, then partial ones; every third a zip."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = _strip(json.loads(SOLUTION.read_text(encoding="utf-8")))
    variants = [("solution", solution), ("blank", json.loads(BLANK.read_text(encoding="utf-8")))]
    variants += [(f"partial{i + 1}", _break(solution, names)) for i, names in enumerate(BROKEN)]
    paths = []
    for i in range(count):
        label, nb = variants[i % len(variants)]
        text = json.dumps(nb, indent=1)
        if i % 3 == 2:
            path = folder / f"{i + 1:02d}_{label}.zip"
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr(NOTEBOOK, text)
        else:
            path = folder / f"{i + 1:02d}_{label}.ipynb"
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def serial_cli(
    paths: list[pathlib.Path], autograder: pathlib.Path, out: pathlib.Path, pythonpath: pathlib.Path | None = None
) -> tuple[float, dict]:
    """Grade each path with its own `otter run -a BUNDLE` process (Otter's CLI, as a TA types it: the
    bundle's plugin scores, Otter's kernel runs; no sandbox), one after the other; with ``pythonpath``
    (:func:`grading_environment`) in the grading environment, else in the project's whole .venv."""
    otter = pathlib.Path(sys.executable).with_name("otter")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    scores = {}
    start = time.perf_counter()
    for path in paths:
        dest = out / path.stem
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        done = subprocess.run(
            [str(otter), "run", "-a", str(autograder), "-o", str(dest), "--no-logo", str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=dest,
        )
        results = dest / "results.json"
        if done.returncode != 0 or not results.is_file():
            scores[path.stem] = f"otter run failed ({done.returncode}): {done.stderr.strip()[-300:]}"
            continue
        scores[path.stem] = {q: s for q, (s, _) in question_scores(json.loads(results.read_text())).items()}
    return time.perf_counter() - start, scores


def batch(folder: pathlib.Path, autograder: pathlib.Path, out: pathlib.Path, workers: int, crosscheck: bool):
    """``(seconds, {submission: scores}, {part: CPU-s per submission})`` of one batch."""
    start = time.perf_counter()
    result = grade_batch(
        folder, out, workers=workers, autograder=autograder, progress=False, regrade=True, crosscheck=crosscheck
    )
    elapsed = time.perf_counter() - start
    scores = {}
    for row in result.rows:
        key = pathlib.Path(row.file).stem
        scores[key] = row.scores if row.status == "ok" else f"{row.status}: {row.message}"
    count = max(1, len(result.rows))
    parts = {
        "scoring": sum(r.scoring_cpu_seconds for r in result.rows) / count,
        "probe": sum(r.probe_cpu_seconds for r in result.rows) / count,
    }
    return elapsed, scores, parts


def _machine_cpu() -> float:
    """CPU seconds every process on the machine has used (from /proc/stat; other users' included)."""
    try:
        fields = pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


#: The ways of grading the benchmark times: the serial `otter run` loop in the grading environment (the
#: baseline), the same loop in the project's whole .venv, the default batch and the cross-check batch.
WAYS = {
    "serial": "serial `otter run` loop",
    "venv": "serial, in all of .venv",
    "batch": "batch (default)",
    "cross": "batch, cross-check",
}


@dataclasses.dataclass
class Rounds:
    """What the interleaved rounds measured: wall seconds and machine CPU-seconds of each way of grading
    (``serial``, ``batch``, ``cross``), one entry a round; the batch's CPU by part and every way's
    scores, of the last round."""

    times: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {k: [] for k in WAYS})
    cpus: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {k: [] for k in WAYS})
    parts: dict[str, float] = dataclasses.field(default_factory=dict)
    scores: dict[str, dict] = dataclasses.field(default_factory=dict)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=12, help="submissions to grade (default 12)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="batch grader workers (default: one per core)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; medians are reported (default 1)")
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    return parser.parse_args(argv)


def run_rounds(paths: list[pathlib.Path], bundle: pathlib.Path, tmp: pathlib.Path, workers: int, rounds: int) -> Rounds:
    """Grade ``paths`` the three ways, ``rounds`` times, interleaved; prints each round's times."""
    measured = Rounds()
    environment = grading_environment(tmp / "grading-environment")
    ways = {
        "serial": lambda: (*serial_cli(paths, bundle, tmp / "serial", environment), None),
        "venv": lambda: (*serial_cli(paths, bundle, tmp / "venv"), None),
        "batch": lambda: batch(tmp / "submissions", bundle, tmp / "batch", workers, False),
        "cross": lambda: batch(tmp / "submissions", bundle, tmp / "cross", workers, True),
    }
    for round_ in range(rounds):
        for key, grade in ways.items():
            cpu = _machine_cpu()
            seconds, measured.scores[key], parts = grade()
            measured.cpus[key].append(_machine_cpu() - cpu)
            measured.times[key].append(seconds)
            if key == "batch":
                measured.parts = parts
        latest = {key: times[-1] for key, times in measured.times.items()}
        print(
            f"round {round_ + 1}: "
            + ", ".join(f"{WAYS[k]} {latest[k]:6.1f} s ({latest['serial'] / latest[k]:.2f}x)" for k in WAYS),
            flush=True,
        )
    return measured


def print_times(measured: Rounds, n: int, args: argparse.Namespace) -> None:
    """Print the median wall time and machine CPU of each way, the speed-ups and the CPU by stage."""
    wall = {k: statistics.median(v) for k, v in measured.times.items()}
    cpu = {k: statistics.median(v) / n for k, v in measured.cpus.items()}
    parts = measured.parts
    cores_all = os.cpu_count() or 1
    print(f"\nmedian of {args.rounds} interleaved round(s), {n} submissions, {args.workers} workers:")
    for key, label in WAYS.items():
        print(
            f"{label:<24}: {wall[key]:7.1f} s  ({wall[key] / n:.2f} s and {cpu[key]:.2f} machine CPU-s per submission; "
            f"{cpu[key] * n / wall[key] / cores_all:.0%} of all cores busy)"
        )
    print(f"speed-up                : {wall['serial'] / wall['batch']:.2f}x")
    print(f"speed-up, cross-check   : {wall['serial'] / wall['cross']:.2f}x")
    print(
        f"against `otter run` in all of .venv (test-only packages too): {wall['venv'] / wall['batch']:.2f}x, "
        f"cross-check {wall['venv'] / wall['cross']:.2f}x"
    )
    print("CPU-seconds per submission, by stage (last round):")
    other = max(0.0, cpu["batch"] - parts["scoring"] - parts["probe"])
    print(f"  probe: the notebook's code, once   {parts['probe']:6.2f}")
    print(f"  scoring process: imports, tests    {parts['scoring']:6.2f}")
    print(f"  staging, scan, sandbox, batch      {other:6.2f}")
    print(f"  Otter's run in the kernel (cross)  {max(0.0, cpu['cross'] - cpu['batch']):6.2f}")
    print(f"  serial `otter run`, everything     {cpu['serial']:6.2f}")
    print(f"  the same, in all of .venv          {cpu['venv']:6.2f}")
    print(
        "(machine CPU-s: every process on the machine, so run it on a quiet one; the probe's own as it "
        "reported them, the scoring process's as it measured them)"
    )


def print_agreement(scores: dict[str, dict], n: int) -> int:
    """Print the batch's totals and whether the three ways agree on every question: 0 if they do, else 1."""
    totals = {k: (sum(v.values()) if isinstance(v, dict) else v) for k, v in scores["batch"].items()}
    print(
        "totals                  : "
        + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(totals.items()))
    )
    names = set().union(*(scores[way] for way in WAYS))
    disagree = {name for name in names if len({json.dumps(scores[way].get(name), sort_keys=True) for way in WAYS}) > 1}
    if disagree:
        print(f"scores agree            : NO, {len(disagree)} differ:")
        for name in sorted(disagree):
            print(f"  {name}:")
            for way, label in WAYS.items():
                print(f"    {label:<24} {scores[way].get(name)}")
        return 1
    print(f"scores agree            : yes, every question of all {n} submissions, in all {len(WAYS)} ways")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.count < 1 or args.workers < 1 or args.rounds < 1:
        print("bench-grading: --count, --workers and --rounds must be whole numbers >= 1", file=sys.stderr)
        return 2
    if not args.autograder.is_file():
        print(f"bench-grading: {args.autograder} does not exist: run `make` first", file=sys.stderr)
        return 2
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="lab05-bench-"))
    try:
        # grade a private copy of the bundle: a rebuild during the run must not change either side
        bundle = tmp / "autograder.zip"
        shutil.copyfile(args.autograder, bundle)
        paths = make_submissions(tmp / "submissions", args.count)
        print(f"{len(paths)} submissions: {', '.join(p.name for p in paths)}")
        print(f"machine: {os.cpu_count()} cores; batch grader with {args.workers} workers\n")
        n = len(paths)
        load_before = os.getloadavg()
        machine_cpu, elapsed = _machine_cpu(), time.perf_counter()
        measured = run_rounds(paths, bundle, tmp, args.workers, args.rounds)
        machine_cpu, elapsed = _machine_cpu() - machine_cpu, time.perf_counter() - elapsed
        print_times(measured, n, args)
        cores_all = os.cpu_count() or 1
        print(f"machine busy meanwhile : {machine_cpu / elapsed / cores_all:.0%} of all {cores_all} cores")
        load_after = os.getloadavg()
        print(
            f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; after "
            f"{', '.join(f'{x:.2f}' for x in load_after)}"
        )
        return print_agreement(measured.scores, n)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
