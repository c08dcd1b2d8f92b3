"""Run the public checks alone on the public corpus (tools/qa/public_mutation_corpus.py), in this process.

    python -m tools.qa.public_mutation_runner [--only NAME ...] [--show]

Each entry is injected into the solution notebook (tools/qa/mutation_runner.py, ``inject``); the notebook's
code then runs here, as a student's kernel would run it, except for what only shows things (cells
that call ``displays``, ``grader`` or the export, and statements that are neither definitions nor
answers), and every question's public check (``lab05.checks.check_<question>``, as the master's
test cells call them) runs on that namespace. Prints one row per entry (caught or not, the question
whose check failed, the first line of its message), then the catch rate, the correct variants
failed and any hidden case's reference value found in a message. Exits 1 when the corpus misses
its rate (``REQUIRED_RATE``), fails a correct variant or shows a hidden value.

A reference value of a hidden case is any distinctive number the reference gives on the inputs the
hidden tests call it with (recorded by running the hidden tests on the reference). A message may
show it only where the notebook's own code gives it for that input too (then it is the student's
own answer, as the message says).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import functools
import io
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterable

import numpy as np

from tools import layout
from tools.qa import notebooks
from tools.qa.mutation_corpus import LEDGER_CELL, Mutant
from tools.qa.mutation_runner import inject
from tools.qa.public_mutation_corpus import NOT_PUBLIC, PUBLIC_CORPUS, REQUIRED_RATE

#: Names whose use marks a statement that only shows or exports something: it is not run.
SHOWING = frozenset({"grader", "otter", "displays", "export_submission", "save_to_textbook_ledger"})
#: Seconds one cell of the notebook may run here (a mutant that never returns is stopped).
CELL_S = 30.0


# ---------------------------------------------------------------------------------------------
# The notebook's namespace, with a mutant injected
# ---------------------------------------------------------------------------------------------
def _statements_to_run(source: str) -> str:
    """The statements of one cell that define something the checks read: imports, functions and
    assignments, minus anything that only shows or exports (the ledger's cell runs whole)."""
    if LEDGER_CELL in source:
        return source
    tree = ast.parse(source)
    kept = []
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Assign, ast.AnnAssign)):
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Import):  # `import otter`; `from lab05 import displays` is harmless
            used |= {a.asname or a.name.split(".")[0] for a in node.names}
        if used & SHOWING:
            continue
        kept.append(ast.get_source_segment(source, node))
    return "\n".join(kept)


def namespace(mutant: Mutant | None, folder: str) -> dict:
    """The globals of the solution notebook with ``mutant`` injected (None: the solution), its
    definitions and answers run in ``folder`` (where the ledger is written)."""
    from lab05 import guards, ledger

    nb = notebooks.solution() if mutant is None else inject(notebooks.solution(), mutant)
    ns: dict = {"__name__": "__main__"}
    ledger.LAST_WRITTEN.clear()
    with _working_directory(folder), contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            code = compile(_statements_to_run(cell.source), "<notebook cell>", "exec")
            try:
                guards.call_with_time_limit(exec, (code, ns), {}, CELL_S)
            except (Exception, guards.CallTimedOut):  # a student's cell that fails: the kernel goes on
                continue
    return ns


@contextlib.contextmanager
def _working_directory(folder: str):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@functools.cache
def public_checks() -> dict[str, str]:
    """{question: the name of its public check in lab05.checks}, as the master's test cells call them."""
    nb = json.loads((layout.ASSIGNMENT / layout.NOTEBOOK).read_text(encoding="utf-8"))
    out, question = {}, None
    for cell in nb["cells"]:
        source = layout.cell_source(cell)
        found = re.search(r"^# BEGIN QUESTION\s*\nname:\s*(\w+)", source, re.M)
        if cell["cell_type"] == "raw" and found:
            question = found.group(1)
        check = re.search(r"\bchecks\.(check_\w+)\(env\)", source)
        if cell["cell_type"] == "code" and check and question:
            out[question] = check.group(1)
    return out


def run_public_checks(ns: dict, folder: str) -> dict[str, str]:
    """{question: failure message} of every public check that fails on the namespace ``ns``."""
    from lab05 import checks

    failed = {}
    with _working_directory(folder), contextlib.redirect_stdout(io.StringIO()):
        for question, name in public_checks().items():
            try:
                getattr(checks, name)(ns)
            except AssertionError as exc:
                failed[question] = str(exc)
    return failed


# ---------------------------------------------------------------------------------------------
# Hidden cases' reference values
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class HiddenCall:
    """A call a hidden test makes, and one distinctive number the reference answers it with."""

    name: str
    args: tuple
    kwargs: tuple
    value: float


def distinctive(value: float) -> bool:
    """Whether a number means something when it shows in a message: a whole number of 1,000 or
    more, or a fraction that needs four significant digits or more (0.25 or 1.5 do not count)."""
    if not math.isfinite(value) or value == 0:
        return False
    if float(value).is_integer():
        return abs(value) >= 1000
    return f"{value:.3g}" != f"{value:.12g}"


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [float(v) for v in np.ravel(np.asarray(value, dtype=object)) if _is_number(v)]
    return [float(value)] if _is_number(value) else []


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@functools.cache
def hidden_calls() -> tuple[HiddenCall, ...]:
    """Every distinctive number the reference answers a hidden test's call with (the ledger's tests
    aside: they call nothing the other tests do not)."""
    layout.import_lab_modules_from_the_project()
    from lab05_autograder import hidden

    from tools.build.reference import reference_environment

    seen: list[HiddenCall] = []

    def recording(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            frozen = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            for n in _numbers(out):
                if distinctive(n):
                    seen.append(HiddenCall(fn.__name__, frozen, tuple(kwargs.items()), n))
            return out

        return wrapper

    env = reference_environment(recording)
    for name in dir(hidden):
        if name.startswith("test_") and "ledger" not in name:
            getattr(hidden, name)(env)
    unique = {(c.name, repr(c.args), repr(c.kwargs), c.value): c for c in seen}
    return tuple(unique.values())


#: A number as a message prints it: 31975, 31,975, -2450, 1.87638e+06, 0.196612.
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])")


def numbers_in(text: str) -> list[tuple[str, float]]:
    out = []
    for token in _NUMBER.findall(text):
        try:
            out.append((token, float(token.replace(",", ""))))
        except ValueError:
            continue
    return out


def _matches(shown: str, number: float, value: float) -> bool:
    """Whether the printed ``shown`` (``number``) is ``value`` as a message would print it."""
    if float(value).is_integer() and "." not in shown and "e" not in shown:
        return number == value
    digits = len(re.sub(r"[^\d]", "", shown.split("e")[0]).lstrip("0"))
    return digits >= 4 and math.isclose(number, value, rel_tol=10.0 ** (1 - digits))


def hidden_values_shown(message: str, ns: dict) -> list[str]:
    """The hidden cases' reference values ``message`` shows that the notebook's own code (``ns``)
    does not give for the same call, each as ``"<number> (<call>)"``."""
    from lab05 import guards

    def own_answer(call: HiddenCall):
        try:
            return guards.call_with_time_limit(ns[call.name], call.args, dict(call.kwargs), 10.0)
        except (Exception, guards.CallTimedOut):
            return None

    found = []
    for shown, number in numbers_in(message):
        calls = [c for c in hidden_calls() if _matches(shown, number, c.value)]
        if calls and not any(_matches(shown, number, n) for c in calls for n in _numbers(own_answer(c))):
            found.append(f"{shown} (the reference's answer to a hidden call of {calls[0].name})")
    return found


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    mutant: Mutant
    failed: dict[str, str]  # question -> public failure message
    leaks: list[str]

    @property
    def name(self) -> str:
        return self.mutant.name

    @property
    def caught(self) -> bool:
        return self.mutant.question in self.failed

    @property
    def elsewhere(self) -> list[str]:
        """Questions other than the mutant's own whose public check failed: one mistake costs points
        once, so the checks of dependent questions go by the student's own upstream functions."""
        return [q for q in self.failed if q != self.mutant.question]

    @property
    def message(self) -> str:
        return self.failed.get(self.mutant.question or "", "")

    @property
    def tags(self) -> list[str]:
        return re.findall(r" \[mistake: ([a-z0-9-]+)\]", self.message)


def evaluate(mutant: Mutant) -> Outcome:
    """Inject ``mutant``, run every public check, and look for hidden values in the messages."""
    with tempfile.TemporaryDirectory(prefix="public-mutant-") as folder:
        ns = namespace(mutant, folder)
        failed = run_public_checks(ns, folder)
        leaks = [leak for message in failed.values() for leak in hidden_values_shown(message, ns)]
    return Outcome(mutant, failed, leaks)


@dataclasses.dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def mutants(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.mutant.correct]

    @property
    def variants(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.mutant.correct]

    @property
    def missed(self) -> list[Outcome]:
        return [o for o in self.mutants if not o.caught]

    @property
    def catch_rate(self) -> float:
        return 1 - len(self.missed) / max(len(self.mutants), 1)

    def table(self) -> str:
        rows = []
        for o in self.outcomes:
            verdict = (
                ("FAILED" if o.failed else "passes")
                if o.mutant.correct
                else ("caught" if o.caught else ("missed (not public)" if o.name in NOT_PUBLIC else "MISSED"))
            )
            first = o.message.splitlines()[0][:110] if o.message else ""
            rows.append(f"{o.name:42} {o.mutant.question or '(correct)':20} {verdict:20} {first}")
        return "\n".join(rows)

    def summary(self) -> str:
        failed = [o.name for o in self.variants if o.failed]
        leaks = [f"{o.name}: {', '.join(o.leaks)}" for o in self.outcomes if o.leaks]
        return (
            f"public catch rate: {len(self.mutants) - len(self.missed)}/{len(self.mutants)} mistakes "
            f"({100 * self.catch_rate:.0f}%, required {100 * REQUIRED_RATE:.0f}%); missed: "
            f"{[o.name for o in self.missed] or 'none'}\n"
            f"correct variants failed: {len(failed)}/{len(self.variants)} {failed or ''}\n"
            f"hidden values shown: {leaks or 'none'}"
        )

    @property
    def ok(self) -> bool:
        return (
            self.catch_rate >= REQUIRED_RATE
            and not any(o.failed for o in self.variants)
            and not any(o.leaks for o in self.outcomes)
        )


def run(corpus: Iterable[Mutant] = PUBLIC_CORPUS) -> Report:
    layout.import_lab_modules_from_the_project()
    return Report([evaluate(m) for m in corpus])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these entries only")
    parser.add_argument("--show", action="store_true", help="print each failure message whole")
    args = parser.parse_args(argv)
    corpus = [m for m in PUBLIC_CORPUS if not args.only or m.name in args.only]
    report = run(corpus)
    print(report.table())
    if args.show:
        for o in report.outcomes:
            for question, message in o.failed.items():
                print(f"\n--- {o.name}: {question}\n{message}")
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
