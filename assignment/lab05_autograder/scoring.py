"""Scoring: every test file of the bundle run against the notebook's code in a probe.

:func:`prepare` reads what scoring needs (the notebook's code cells, the test files, the probe's
files) before any student code runs; :func:`score` runs the tests in this process, against a
:class:`~lab05_autograder.session.ProbeEnv`, failing closed: a test case during which the scoring
itself failed scores 0 and is named in :attr:`~lab05_autograder.verdict.Scored.faults`.
"""

from __future__ import annotations

import os
import pathlib
import time
from dataclasses import dataclass

from . import bundle, policy, wire
from .confine import unprivileged_spawner
from .session import ProbeEnv, ScoringFault, Session
from .verdict import Scored

bundle.use_bundle_files()


def code_cells(notebook: dict) -> list[str]:
    """The source of every code cell, in order (as Otter would run them)."""
    cells = []
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
    return cells


def read_notebook_cells(path: os.PathLike) -> list[str]:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return code_cells(nb)


@dataclass
class Prepared:
    """What trusted scoring needs, read before any student code runs."""

    cells: list[str]
    test_paths: list[str]
    test_sources: dict[str, str]
    support: dict[str, bytes]


def prepare(notebook_path: os.PathLike, tests_dir: os.PathLike, files_dir: os.PathLike) -> Prepared:
    """Read the notebook's code, the test files and the probe's files into memory."""
    tests_dir, files_dir = pathlib.Path(tests_dir), pathlib.Path(files_dir)
    paths = sorted(str(p) for p in tests_dir.glob("*.py"))
    sources = {p: pathlib.Path(p).read_text(encoding="utf-8") for p in paths}
    support = bundle.probe_support(files_dir)
    import_trusted_modules()
    return Prepared(read_notebook_cells(notebook_path), paths, sources, support)


def import_trusted_modules() -> None:
    """Import what scoring runs, now, before the kernel exists (later the disk is not trusted)."""
    import lab05_reference  # noqa: F401
    import numpy  # noqa: F401
    import otter.test_files  # noqa: F401
    import otter.test_files.exception_test  # noqa: F401

    import lab05.checks  # noqa: F401

    from . import hidden  # noqa: F401


def _test_files(prepared: Prepared):
    """Otter's test file objects, compiled from the sources read before the kernel ran."""
    from otter.test_files.exception_test import ExceptionTestFile

    files = []
    for path in prepared.test_paths:
        test_file = ExceptionTestFile.from_string(prepared.test_sources[path], path=path)
        files.append(test_file)
    return files


def score(
    prepared: Prepared, spawner=unprivileged_spawner, *, deadline: float | None = None, python: str | None = None
) -> Scored:
    """Run every test file against the notebook's code in a probe; the probe is stopped after.

    ``deadline`` (``time.monotonic()``) ends the whole scoring: later calls fail. ``python`` is
    the interpreter the probe runs (as the spawner's sandbox sees it).
    """
    import lab05.assertions

    from .hidden import GRADED_FUNCTIONS

    started = time.monotonic()
    session = Session(
        prepared.cells,
        prepared.support,
        spawner,
        cell_limit=lab05.guards.CELL_TIME_LIMIT_S,
        graded=GRADED_FUNCTIONS,
        deadline=deadline,
        python=python,
    )
    env = ProbeEnv(session, max(policy.CALL_S, lab05.assertions.TIME_LIMIT_S))
    files = _test_files(prepared)
    faults: list[str] = []
    try:
        for test_file in files:
            run_test_file(test_file, env, faults)
    finally:
        session.stop()
    if session.fatal is not None:
        raise session.fatal
    cpu = {"probe": session.probe_cpu}
    return Scored(files, session.events, session.confined, time.monotonic() - started, faults, cpu)


def run_test_file(test_file, env: ProbeEnv, faults: list[str]) -> None:
    """Otter's ``ExceptionTestFile.run``, failing closed: a case during which the scoring itself
    failed (:class:`~lab05_autograder.session.ScoringFault`) scores 0, and the fault is added to ``faults``."""
    from otter.test_files.abstract_test import TestCaseResult

    test_file.test_case_results = []
    for tc in test_file.test_cases:
        passed, message = True, "✅ Test case passed"
        try:
            tc.body.call_func(env)
        except ScoringFault as fault:
            reason = wire.short(fault, 200)
            faults.append(f"{test_file.name} / {tc.name}: {reason}")
            passed = False
            message = (
                "❌ Test case failed\nThe grader could not score this test case (a scoring error: "
                f"{reason}); it counts 0 until your instructor has reviewed it."
            )
        except Exception as exc:  # noqa: BLE001 - a failed test, as Otter reports it
            passed, message = False, "❌ Test case failed\n" + test_file._generate_error_message(exc)
        test_file.test_case_results.append(TestCaseResult(test_case=tc, message=message, passed=passed))


def score_unpacked(
    notebook: dict, unpacked: os.PathLike, spawner, *, deadline: float | None = None, python: str | None = None
) -> Scored:
    """Score ``notebook`` (parsed JSON) with the tests of an ``unpacked`` bundle (its ``tests/``
    and ``files/``), in a probe started by ``spawner``."""
    unpacked = pathlib.Path(unpacked)
    import_trusted_modules()
    test_paths = sorted(str(p) for p in (unpacked / "tests").glob("*.py"))
    support = bundle.probe_support(unpacked / "files")
    sources = {p: pathlib.Path(p).read_text(encoding="utf-8") for p in test_paths}
    return score(
        Prepared(code_cells(notebook), test_paths, sources, support), spawner, deadline=deadline, python=python
    )
