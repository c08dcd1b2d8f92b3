"""Grade the mutation corpus (tools/qa/mutation_corpus.py) through the real autograder bundle.

    python -m tools.qa.mutation_runner [--extended] [--jobs 2] [--only NAME ...] [--list] [--show] [--gradescope]

Every mutant (a plausible wrong answer) and every correct variant is injected into the solution
notebook (outputs cleared, as a student submits it) and graded with
``autograder/autograder.zip`` through the pipeline of ``make grade-one`` (staging, then trusted
scoring with the notebook's code run once, in the probe's sandbox), JOBS submissions at a time; with
``--gradescope`` each also through the bundle's own entry point as Gradescope runs it
(``tools.qa.gradescope``), and the two must agree on every question. The solution itself is graded
in the same run as the baseline. Prints one row per entry:

    mutant, question expected to drop, questions that dropped, verdict, seconds

then the catch rate (mutants whose question lost points) and the false positives (correct
variants that lost any points, and mutants that changed a question other than their own). Exits
with status 1 unless every mutant is caught cleanly (and, where the corpus says which, its
question's output names its mistake: ``[mistake: <id>]``) and no correct variant loses a point.

``tests/test_mutants.py`` grades the same corpus once per test run and asserts on the report.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable

from tools import layout
from tools.layout import AUTOGRADER_ZIP
from tools.qa import mutation_corpus as corpus_module
from tools.qa import notebooks
from tools.qa.gradescope import GradescopeRunError, grading_environment, run_like_gradescope

BASELINE = "(solution)"
DEFAULT_JOBS = 2

_RESULT_BLOCK = re.compile(
    r"^\s*(?P<question>[\w]+) - (?P<number>\d+) result:\n(?P<body>.*?)(?=^\s*[\w]+ - \d+ result:\n|\Z)",
    re.MULTILINE | re.DOTALL,
)
_CHECK_CALL = re.compile(r"\b(?P<module>hidden|checks)\.(?P<check>(?:check|test)_\w+)\(env\)")


# ---------------------------------------------------------------------------------------------
# Building a submission
# ---------------------------------------------------------------------------------------------
class MutantError(ValueError):
    """A corpus entry cannot be injected into the notebook; the message names it."""


def _split_functions(source: str) -> list[tuple[str, str]]:
    """Top-level function definitions of ``source`` as ``(name, text)``, in order."""
    lines = source.strip("\n").splitlines()
    tree = ast.parse("\n".join(lines))
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            raise MutantError(f"only function definitions may be given as source, found {type(node).__name__}")
        start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
        out.append((node.name, "\n".join(lines[start : node.end_lineno])))
    return out


def inject(nb, mutant):
    """A copy of the notebook ``nb`` with ``mutant`` injected."""
    try:
        if mutant.edit:
            nb = notebooks.edit_function(nb, mutant.function, *mutant.edit)
        elif mutant.source and mutant.cell:
            original = notebooks.source_containing(nb, mutant.cell)
            nb = notebooks.replace_cell(nb, mutant.cell, mutant.source.replace("{cell}", original))
        elif mutant.source:
            # Functions the notebook defines replace its own; helpers travel with `function`.
            defined, helpers = [], []
            for name, text in _split_functions(mutant.source):
                try:
                    notebooks.function_source(nb, name)
                    defined.append((name, text))
                except KeyError:
                    helpers.append(text)
            if mutant.function not in dict(defined):
                raise MutantError(f"its source does not define {mutant.function}")
            for name, text in defined:
                if name == mutant.function and helpers:
                    text = "\n\n".join(helpers + [text])
                nb = notebooks.replace_function(nb, name, text)
        for name, expression in mutant.variables.items():
            nb = notebooks.set_variable(nb, name, expression)
    except (KeyError, SyntaxError, MutantError) as exc:
        raise MutantError(f"mutant {mutant.name}: cannot inject it ({exc})") from None
    return nb


# ---------------------------------------------------------------------------------------------
# Grading in warm worker processes
# ---------------------------------------------------------------------------------------------
def _warm_up() -> None:
    """Import what grading needs once, before the threads start."""
    layout.import_lab_modules_from_the_project()
    import nbformat  # noqa: F401
    import otter.run  # noqa: F401

    from tools.grading import grade_one  # noqa: F401


def _grade(path: str, autograder: str, gradescope: tuple[pathlib.Path, pathlib.Path] | None = None) -> dict:
    """Grade one submission; returns scores, outputs and timing (never raises). With ``gradescope``
    (``(a new folder, the grading environment)``), also the scores Gradescope's path gives it."""
    from tools.grading.grade_one import grade
    from tools.grading.results import GradeError, question_scores

    start = time.perf_counter()
    try:
        results, _ = grade(pathlib.Path(path), pathlib.Path(autograder))
    except (GradeError, Exception) as exc:  # a crash is reported as a row, never stops the run
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    on_gradescope = None
    if gradescope is not None:
        on_gradescope = _grade_like_gradescope(pathlib.Path(path), pathlib.Path(autograder), *gradescope)
    outputs = {}
    for test in results.get("tests", []):
        question = test.get("name", "").split(" - ")[0].strip()
        if "max_score" in test:
            outputs[question] = outputs.get(question, "") + (test.get("output") or "")
    return {
        "scores": {q: s for q, (s, _) in question_scores(results).items()},
        "possible": {q: m for q, (_, m) in question_scores(results).items()},
        "outputs": outputs,
        "seconds": elapsed,
        "gradescope": on_gradescope,
    }


def _grade_like_gradescope(path: pathlib.Path, autograder: pathlib.Path, root: pathlib.Path, environment) -> dict | str:
    """``{question: score}`` the bundle's own entry point gives ``path`` in a folder laid out as
    Gradescope's, or why it gave none."""
    from tools.grading.results import question_scores

    try:
        results = run_like_gradescope(
            root, {path.name: path.read_bytes()}, autograder=autograder, grading_environment=environment
        )
    except (GradescopeRunError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {str(exc)[-500:]}"
    return {q: s for q, (s, _) in question_scores(results).items()}


@dataclasses.dataclass
class CaseResult:
    """One test case of a question, as results.json reports it."""

    number: int
    passed: bool
    check: str  # e.g. "test_parameter_count"; "" when it passed (Otter does not say)
    hidden: bool
    text: str


def case_results(output: str) -> list[CaseResult]:
    """Split a question's output in results.json into its test cases."""
    cases = []
    for match in _RESULT_BLOCK.finditer(output):
        body = match["body"]
        call = _CHECK_CALL.search(body)
        passed = "Test case passed" in body and "Test case failed" not in body
        cases.append(
            CaseResult(
                int(match["number"]),
                passed,
                call["check"] if call else "",
                bool(call and call["module"] == "hidden"),
                body,
            )
        )
    return cases


@dataclasses.dataclass
class Outcome:
    """How one corpus entry fared, compared with the solution."""

    mutant: object  # tools.qa.mutation_corpus.Mutant; None for the baseline
    name: str
    scores: dict
    outputs: dict
    seconds: float
    error: str | None
    baseline: dict | None = None

    @property
    def changed(self) -> dict:
        """{question: (solution's score, this entry's score)} for every question that differs."""
        base = self.baseline or {}
        return {q: (base[q], self.scores.get(q)) for q in base if self.scores.get(q) != base[q]}

    @property
    def dropped(self) -> list[str]:
        return [q for q, (b, s) in self.changed.items() if s is None or s < b]

    @property
    def caught(self) -> bool:
        return not self.mutant.correct and self.mutant.question in self.dropped

    @property
    def elsewhere(self) -> dict:
        """Questions that changed although they do not own the mutant (every change, for a variant)."""
        own = None if self.mutant.correct else self.mutant.question
        return {q: v for q, v in self.changed.items() if q != own}

    @property
    def mistakes(self) -> set[str]:
        """The ids of the mistakes its own question's output names (``[mistake: <id>]``)."""
        from tools.grading.mistakes import is_mistake_id, tags

        question = None if self.mutant.correct else self.mutant.question
        return {t for t in tags(self.outputs.get(question, "")) if is_mistake_id(t)} if question else set()

    @property
    def names_its_mistake(self) -> bool:
        return self.mutant.correct or self.mutant.mistake is None or self.mutant.mistake in self.mistakes

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        return (
            not self.changed if self.mutant.correct else self.caught and not self.elsewhere and self.names_its_mistake
        )

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.mutant.correct:
            return "full marks" if not self.changed else "FALSE POSITIVE"
        if not self.caught:
            return "MISSED"
        if self.elsewhere:
            return "caught, LEAKS"
        return "caught" if self.names_its_mistake else f"caught, NOT NAMED {self.mutant.mistake}"

    def cases(self, question: str | None = None) -> list[CaseResult]:
        return case_results(self.outputs.get(question or self.mutant.question, ""))

    def hidden_failure_text(self) -> str:
        """The text of every failed hidden test case, across all questions."""
        return "\n".join(
            c.text for q in self.outputs for c in case_results(self.outputs[q]) if c.hidden and not c.passed
        )


@dataclasses.dataclass
class Report:
    baseline: Outcome
    outcomes: list[Outcome]
    seconds: float
    jobs: int
    #: With ``run(gradescope=True)``: {entry (the solution as BASELINE): {question: score} on Gradescope's
    #: path, or why there is none}.
    gradescope: dict[str, dict | str | None] | None = None

    @property
    def gradescope_differences(self) -> dict[str, tuple]:
        """{entry: (scores of make grade-one, scores on Gradescope's path)} where the two differ."""
        if self.gradescope is None:
            return {}
        local = {BASELINE: self.baseline.scores} | {o.name: o.scores for o in self.outcomes}
        return {name: (local.get(name), got) for name, got in self.gradescope.items() if got != local.get(name)}

    @property
    def mutants(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.mutant.correct]

    @property
    def variants(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.mutant.correct]

    @property
    def catch_rate(self) -> float:
        return sum(o.caught for o in self.mutants) / max(1, len(self.mutants))

    @property
    def false_positives(self) -> list[Outcome]:
        """Correct variants that lost or changed points, and mutants that changed another question."""
        return [o for o in self.variants if o.changed or o.error] + [o for o in self.mutants if o.elsewhere]

    @property
    def ok(self) -> bool:
        return not self.baseline.error and all(o.ok for o in self.outcomes)

    def outcome(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.name == name)

    def table(self) -> str:
        rows = [("mutant", "expected to drop", "dropped", "verdict", "s")]
        for o in self.outcomes:
            expected = "-" if o.mutant.correct else o.mutant.question
            dropped = ", ".join(f"{q} {b:g}->{s if s is None else format(s, 'g')}" for q, (b, s) in o.changed.items())
            rows.append((o.name, expected, o.error or dropped or "-", o.verdict, f"{o.seconds:.1f}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[j]) if j < 4 else cell for j, cell in enumerate(row)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  ---")
        return "\n".join(lines)

    def summary(self) -> str:
        mutants, variants = self.mutants, self.variants
        caught = sum(o.caught for o in mutants)
        leaks = [o.name for o in mutants if o.elsewhere]
        wrong_variants = [o.name for o in variants if o.changed or o.error]
        named = [o for o in mutants if o.mutant.mistake]
        unnamed = [o.name for o in named if not o.names_its_mistake]
        lines = [
            f"catch rate: {caught}/{len(mutants)} mutants ({100 * self.catch_rate:.0f}%)",
            f"false positives: {len(self.false_positives)} "
            f"(correct variants that lost points: {len(wrong_variants)} of {len(variants)}"
            f"{': ' + ', '.join(wrong_variants) if wrong_variants else ''}; "
            f"mutants that changed another question: {len(leaks)}{': ' + ', '.join(leaks) if leaks else ''})",
            f"mistakes named: {len(named) - len(unnamed)}/{len(named)} mutants whose entry names one carry its id"
            f"{': not named by ' + ', '.join(unnamed) if unnamed else ''}",
            f"graded {len(self.outcomes) + 1} submissions in {self.seconds:.0f} s with {self.jobs} worker(s)",
        ]
        if self.gradescope is not None:
            differ = self.gradescope_differences
            lines.append(
                f"Gradescope's path: {len(self.gradescope) - len(differ)}/{len(self.gradescope)} submissions get the "
                f"same score on every question as through make grade-one"
                + "".join(f"\n  {name}: grade-one {a}, Gradescope {b}" for name, (a, b) in sorted(differ.items()))
            )
        if self.baseline.error:
            lines.insert(0, f"the solution could not be graded: {self.baseline.error}")
        return "\n".join(lines)


def run(
    corpus: Iterable | None = None,
    jobs: int = DEFAULT_JOBS,
    autograder: pathlib.Path = AUTOGRADER_ZIP,
    progress=None,
    gradescope: bool = False,
) -> Report:
    """Grade the solution and every entry of ``corpus`` (default: the whole corpus); with ``gradescope``,
    each also through the bundle's own entry point as Gradescope runs it (``Report.gradescope``)."""
    corpus = list(corpus_module.CORPUS if corpus is None else corpus)
    names = [m.name for m in corpus]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MutantError(f"duplicate corpus names: {duplicates}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lab05-mutants-") as tmp:
        tmp = pathlib.Path(tmp)
        bundle = tmp / "autograder.zip"  # a snapshot: a rebuild during the run cannot mix bundles
        shutil.copy(autograder, bundle)
        solution = notebooks.solution()
        paths = {BASELINE: notebooks.write(solution, tmp / "solution")}
        for i, mutant in enumerate(corpus):
            paths[mutant.name] = notebooks.write(inject(solution, mutant), tmp / f"{i:03d}")
        # Slow entries (loops) first, so they overlap with the rest instead of finishing last.
        order = [BASELINE] + [m.name for m in corpus if m.loops] + [m.name for m in corpus if not m.loops]
        raw = {}
        _warm_up()
        environment = grading_environment(tmp / "grading-environment") if gradescope else None

        # Threads, each driving one submission's sandboxes (the pipeline of make grade-one and make
        # grade): what comes back is validated JSON, never a pickle from another process.
        with concurrent.futures.ThreadPoolExecutor(jobs, thread_name_prefix="mutant") as pool:
            futures = {
                pool.submit(
                    _grade,
                    str(paths[name]),
                    str(bundle),
                    (tmp / "gradescope" / str(i), environment) if gradescope else None,
                ): name
                for i, name in enumerate(order)
            }
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                try:
                    raw[name] = future.result()
                except Exception as exc:  # grading itself failed: report the row
                    raw[name] = {"error": f"the grading worker failed: {type(exc).__name__}: {exc}", "seconds": 0.0}
                if progress:
                    progress(name, raw[name])
    base_raw = raw[BASELINE]
    baseline = Outcome(
        None,
        BASELINE,
        base_raw.get("scores", {}),
        base_raw.get("outputs", {}),
        base_raw["seconds"],
        base_raw.get("error"),
    )
    outcomes = []
    for mutant in corpus:
        r = raw[mutant.name]
        outcomes.append(
            Outcome(
                mutant,
                mutant.name,
                r.get("scores", {}),
                r.get("outputs", {}),
                r["seconds"],
                r.get("error"),
                baseline.scores,
            )
        )
    gradescope_scores = {name: r.get("gradescope") for name, r in raw.items()} if gradescope else None
    return Report(baseline, outcomes, time.perf_counter() - start, jobs, gradescope_scores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extended", action="store_true", help="grade the extended corpus too")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="worker processes (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="grade only entries whose name contains NAME")
    parser.add_argument("--autograder", type=pathlib.Path, default=AUTOGRADER_ZIP)
    parser.add_argument("--list", action="store_true", help="list the corpus and exit")
    parser.add_argument("--show", action="store_true", help="also print each mutant's failure output")
    parser.add_argument(
        "--gradescope", action="store_true", help="also grade each through the bundle's entry point as Gradescope does"
    )
    args = parser.parse_args(argv)
    corpus = corpus_module.EXTENDED if args.extended else corpus_module.CORPUS
    if args.only:
        corpus = [m for m in corpus if any(part in m.name for part in args.only)]
    if args.list:
        for m in corpus:
            print(f"{m.name:45s} {m.question or '(correct variant)'}")
        return 0
    if not args.autograder.is_file():
        print(f"mutation: {args.autograder} does not exist: run `make` first", file=sys.stderr)
        return 2

    def progress(name, result):
        print(f"  graded {name} ({result['seconds']:.1f} s)", file=sys.stderr, flush=True)

    report = run(corpus, args.jobs, args.autograder, progress, gradescope=args.gradescope)
    print(report.table())
    if args.show:
        for o in report.mutants:
            print(f"\n=== {o.name} ({o.mutant.question}) ===\n{o.outputs.get(o.mutant.question, '')}")
    print()
    print(report.summary())
    return 0 if report.ok and not report.gradescope_differences else 1


if __name__ == "__main__":
    sys.exit(main())
