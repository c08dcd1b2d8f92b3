"""Grade one submission locally, through the same code Gradescope runs.

    python -m tools.grade_one SUBMISSION [--autograder autograder/autograder.zip] [--out DIR] [--force]

SUBMISSION is the zip a student exported (notebook + design_ledger.json) or a bare notebook.
Prints the score of each question and writes Otter's ``results.json`` (the file Gradescope
reads) and a ``scores.txt`` summary into DIR (default ``grades/<submission name>/``). An
existing DIR is never replaced unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_AUTOGRADER = ROOT / "autograder" / "autograder.zip"
ACCEPTED = (".zip", ".ipynb")


class GradeError(RuntimeError):
    """A submission could not be graded; the message says why."""


def check_submission(path: pathlib.Path) -> pathlib.Path:
    """The submission path, if it names a file Otter can grade."""
    if not path.exists():
        raise GradeError(f"{path} does not exist")
    if not path.is_file() or path.suffix.lower() not in ACCEPTED:
        raise GradeError(f"{path} is not a submission: expected a .zip exported by the notebook or a .ipynb")
    return path.resolve()


def grade(submission: pathlib.Path, autograder: pathlib.Path = DEFAULT_AUTOGRADER) -> tuple[dict, str]:
    """Grade ``submission`` with Otter's own grading code (``otter run``, no container).

    Returns:
        ``(results, log)``: Gradescope's results.json as a dict, and what grading printed.
    """
    from otter.run import main as otter_run

    if not autograder.is_file():
        raise GradeError(f"{autograder} does not exist: run `make` to build the autograder bundle")
    log = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="lab05-grade-") as out:
        plugin_dir = extract_plugin(autograder, pathlib.Path(out) / "bundle")
        try:
            sys.path.insert(0, str(plugin_dir))
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                otter_run(str(submission), autograder=str(autograder), output_dir=out, no_logo=True)
        except Exception as exc:
            error = GradeError(f"Otter could not grade {submission.name}: {exc}")
            error.log = log.getvalue()  # keeps the traceback for whoever reports the error
            raise error from exc
        finally:
            sys.path.remove(str(plugin_dir))
        results_path = pathlib.Path(out) / "results.json"
        if not results_path.is_file():
            raise GradeError(f"Otter wrote no results for {submission.name}")
        return json.loads(results_path.read_text(encoding="utf-8")), log.getvalue()


def extract_plugin(autograder: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """Unpack the bundle's plugin and ``files/`` into ``dest`` (as Gradescope's source/ holds them).

    Otter imports the plugin named in the bundle's config by module name; on Gradescope it is
    found beside ``run_otter.py``. Returns the folder to put on ``sys.path``.
    """
    import zipfile

    with zipfile.ZipFile(autograder) as zf:
        for name in zf.namelist():
            if name == "lab05_trusted.py" or (name.startswith("files/") and not name.endswith("/")):
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    return dest


def question_scores(results: dict) -> dict[str, tuple[float, float]]:
    """``{question: (score, max_score)}`` summed over each question's public and hidden entries."""
    scores: dict[str, list[float]] = {}
    for test in results.get("tests", []):
        name = test.get("name", "")
        question = name.split(" - ")[0].strip()
        if not question or "max_score" not in test:
            continue
        entry = scores.setdefault(question, [0.0, 0.0])
        entry[0] += float(test.get("score", 0) or 0)
        entry[1] += float(test.get("max_score", 0) or 0)
    return {q: (s, m) for q, (s, m) in scores.items()}


def format_scores(results: dict) -> str:
    """A table of question scores and the total."""
    rows = question_scores(results)
    width = max([len(q) for q in rows] + [len("question")])
    lines = [f"{'question':<{width}}  score", f"{'-' * width}  -----------"]
    lines += [f"{q:<{width}}  {s:g} / {m:g}" for q, (s, m) in rows.items()]
    total = results.get("score", sum(s for s, _ in rows.values()))
    possible = sum(m for _, m in rows.values())
    lines += [f"{'-' * width}  -----------", f"{'total':<{width}}  {total:g} / {possible:g}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", type=pathlib.Path, help="a .zip exported by the notebook, or a .ipynb")
    parser.add_argument("--autograder", type=pathlib.Path, default=DEFAULT_AUTOGRADER)
    parser.add_argument("--out", type=pathlib.Path, help="folder for results.json (default grades/<name>/)")
    parser.add_argument("--force", action="store_true", help="replace the output folder if it exists")
    args = parser.parse_args(argv)
    try:
        submission = check_submission(args.submission)
        out = args.out or ROOT / "grades" / submission.stem
        if out.exists() and not args.force:
            raise GradeError(f"{out} already exists; pass --force (make grade-one ... FORCE=1) to replace "
                             "it, or choose another folder with --out")
        results, log = grade(submission, args.autograder.resolve())
    except GradeError as exc:
        print(f"grade-one: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    table = format_scores(results)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "scores.txt").write_text(table + "\n", encoding="utf-8")
    (out / "grading_log.txt").write_text(log, encoding="utf-8")
    print(f"{submission.name}\n\n{table}\n\nOtter's results: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
