"""Local grading's entry point into trusted scoring: the grading tools call these and nothing else.

Gradescope runs the plugin (:mod:`lab05_autograder.plugin`) inside Otter's run. Local grading
(``make grade-one``, ``make grade``, the benchmarks) runs Otter in a sandbox and trusted scoring
outside it, in three steps::

    from lab05_autograder import local

    local.prepare()  # import what scoring runs, once per process
    data = local.score_notebook(notebook, unpacked_bundle, start_probe, deadline=..., python=...)
    # ... the verdict crosses from the scoring process to the grader as JSON ...
    scored = local.read_verdict(data, unpacked_bundle)
    results, differ = local.results_json(scored, unpacked_bundle, kernel_results, removed)
    local.write_kernel_bundle(bundle_zip, kernel_zip)  # what Otter's sandboxed run gets

``start_probe(argv, workdir)`` starts the probe in the caller's sandbox and returns
``(popen, kill, confined)``: the process with its stdin and stdout pipes, a function that kills it
with everything it started, and a few words saying where it runs. Import this module from the
bundle's ``files/`` (the tools put that folder on ``sys.path``), so that what scores is the code
of the bundle being graded.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import policy, scoring
from .confine import Started
from .kernel import write_kernel_bundle
from .session import ScoringFault
from .verdict import Scored, gradescope_results

__all__ = [
    "Scored",
    "otter_plugin",
    "prepare",
    "read_verdict",
    "results_json",
    "score_notebook",
    "write_kernel_bundle",
]

#: ``start_probe(argv, workdir) -> (popen, kill, confined)``: see the module's docstring.
ProbeStarter = Callable[[list[str], pathlib.Path], tuple[Any, Callable[[], None], str]]


def score_notebook(
    notebook: dict,
    bundle: os.PathLike,
    start_probe: ProbeStarter,
    *,
    deadline: float | None = None,
    python: str | None = None,
) -> dict:
    """Score one submission's notebook with the tests of an unpacked bundle.

    Args:
        notebook: the submission's notebook, parsed JSON (staged: nothing else of the upload is read).
        bundle: the unpacked bundle (its ``tests/`` and ``files/``).
        start_probe: starts the probe in the caller's sandbox (see the module's docstring).
        deadline: ``time.monotonic()`` at which scoring stops; later calls of the notebook's code fail.
        python: the interpreter the probe runs, as the sandbox sees it (default: this one).

    Returns:
        The verdict as JSON data (:meth:`Scored.to_data`): each test case's pass and message, the
        events, where the probe ran, the seconds it took, the scoring faults and the CPU seconds
        the probes reported.
    """

    def spawner(argv: list[str], workdir: pathlib.Path) -> Started:
        return Started(*start_probe(argv, workdir))

    return scoring.score_unpacked(notebook, bundle, spawner, deadline=deadline, python=python).to_data()


def read_verdict(data: Any, bundle: os.PathLike) -> Scored:
    """The verdict :func:`score_notebook` gave, read back as untrusted data (it crossed from the
    scoring process as JSON) and checked against the test files of the unpacked ``bundle``.

    Returns:
        The verdict: its ``events``, ``confined``, ``seconds``, ``faults`` and ``cpu`` for the grader.

    Raises:
        ValueError: the data does not fit the bundle's test files.
    """
    try:
        return Scored.from_data(data, bundle)
    except ScoringFault as fault:
        raise ValueError(str(fault)) from None


def results_json(
    scored: Scored,
    bundle: os.PathLike,
    kernel_results: Any = None,
    removed: Iterable[str] = (),
    kernel_died: bool = False,
) -> tuple[dict, list[str]]:
    """Gradescope's ``results.json`` from a verdict.

    Args:
        scored: the verdict (:func:`read_verdict`).
        bundle: the unpacked bundle that scored it.
        kernel_results: the ``results.json`` of Otter's (sandboxed, untrusted) run in the notebook's
            kernel, compared with the verdict; None where there was none or it died.
        removed: the upload's files staging dropped that Otter would have unpickled (named in the output).
        kernel_died: Otter's run in the kernel did not finish (flagged; the verdict stands).

    Returns:
        ``(results, differ)``: the results as a dict, and the questions whose kernel scores differed.
    """
    return gradescope_results(scored, bundle, kernel_results, removed, kernel_died)


def prepare() -> None:
    """Import everything scoring runs (the hidden tests, the reference, Otter's test files), now: a
    process that scores many submissions imports them once, before it grades any."""
    scoring.import_trusted_modules()


@contextlib.contextmanager
def otter_plugin(trusted: bool = True) -> Iterator[list[float]]:
    """For a benchmark that runs Otter in this process: inside the block, the bundle's plugin scores
    as on Gradescope (``trusted``) or leaves Otter's run alone (no probe, no verdict). Yields a list
    that receives the seconds each trusted scoring took."""
    spent: list[float] = []
    real_score = scoring.score

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return real_score(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - began)

    previous = os.environ.get(policy.EXTERNAL_ENV)
    if trusted:
        os.environ.pop(policy.EXTERNAL_ENV, None)
    else:
        os.environ[policy.EXTERNAL_ENV] = "external"
    scoring.score = timed
    try:
        yield spent
    finally:
        scoring.score = real_score
        if previous is None:
            os.environ.pop(policy.EXTERNAL_ENV, None)
        else:
            os.environ[policy.EXTERNAL_ENV] = previous
