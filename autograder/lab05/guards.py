"""Calling the student's functions: under a time limit, and without tracebacks in display cells.

A call that never returns is stopped (:func:`call_with_time_limit`), a display whose function
fails prints one line instead of a traceback (:func:`display_guard`), and while the autograder runs
the notebook every cell has a time limit (:func:`limit_cell_time_while_grading`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

# ---------------------------------------------------------------------------------------------
# Calling the student's functions: under a time limit, and without tracebacks in display cells
# ---------------------------------------------------------------------------------------------
#: Seconds a display cell may spend in the student's code before it gives up.
DISPLAY_TIME_LIMIT_S = 10.0


class CallTimedOut(BaseException):
    """A call did not return within its time limit.

    A BaseException, like KeyboardInterrupt, so that an ``except Exception`` inside the
    student's loop cannot swallow it; every caller in this lab catches it by name.
    """


_limit_active = False


class RemoteCall:
    """A function that runs in another process (trusted scoring's probe).

    Its time limit is enforced by the process that calls it, by killing the other process, so
    :func:`call_with_time_limit` hands the limit to :meth:`call_with_limit` instead of a timer.
    """

    def call_with_limit(self, args: tuple, kwargs: dict, seconds: float):
        return self.call_reporting_warnings(args, kwargs, seconds)[0]

    def call_reporting_warnings(self, args: tuple, kwargs: dict, seconds: float):  # pragma: no cover - abstract
        """``(value, messages of the RuntimeWarnings the call raised)``.

        The warnings come back as data, never through :mod:`warnings`: its filters and its record
        are shared by every thread of the process (the batch grades several submissions at once).
        """
        raise NotImplementedError


def call_with_time_limit(fn, args=(), kwargs=None, seconds: float = 5.0):
    """Call ``fn(*args, **kwargs)`` and stop it if it runs longer than ``seconds``.

    On Unix, in the main thread, a timer signal interrupts the call, so a loop that never ends
    raises :class:`CallTimedOut` instead of hanging the notebook or the autograder. Elsewhere
    (Windows, or a worker thread) the call runs in a daemon thread that is abandoned after
    ``seconds``. Inside an enclosing limit the call simply runs: the outer limit governs.

    Raises:
        CallTimedOut: if the call did not return in time. Whatever ``fn`` raises passes through.
    """
    import signal
    import threading

    global _limit_active
    kwargs = kwargs or {}
    if isinstance(fn, RemoteCall):
        return fn.call_with_limit(args, kwargs, seconds)
    if _limit_active:
        return fn(*args, **kwargs)
    message = f"did not return within {seconds:g} s"
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():

        def _on_alarm(signum, frame):
            raise CallTimedOut(message)

        previous = signal.signal(signal.SIGALRM, _on_alarm)
        outer_remaining, outer_interval = signal.getitimer(signal.ITIMER_REAL)  # e.g. the cell's limit
        started = time.monotonic()
        _limit_active = True
        # Fire again every quarter second in case the first interruption is swallowed.
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            _limit_active = False
            if outer_remaining > 0:  # give the enclosing timer what is left of its time
                left = max(outer_remaining - (time.monotonic() - started), 0.001)
                signal.setitimer(signal.ITIMER_REAL, left, outer_interval)

    # No timer signal here: run in a daemon thread and stop waiting after `seconds`. A loop that
    # never ends keeps its thread (and a core) busy until the kernel restarts.
    outcome: dict = {}

    def _target():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=_target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CallTimedOut(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def failure_message(
    exc: BaseException, subject: str, stub: str, error_text: Callable[[BaseException], str] = str
) -> str:
    """How a call of the student's code failed, in one sentence for the student.

    ``subject`` names what was called (```transistor_tax```, ``training_memory([784, 10], 32)``,
    ``This display``); ``stub`` is the sentence for a function that is still a stub (it raised
    NotImplementedError); ``error_text`` turns any other exception into the text shown after its
    type.
    """
    if isinstance(exc, NotImplementedError):
        return stub
    if isinstance(exc, CallTimedOut):
        return f"{subject} {exc}: look for a loop that never ends."
    return f"{subject} raised {type(exc).__name__}: {error_text(exc)}"


def try_call(fn, *args, **kwargs):
    """Call a student function for display purposes.

    Returns ``(True, value)`` on success. If the function is still a stub, raises, or runs past
    :data:`DISPLAY_TIME_LIMIT_S`, prints one friendly line saying what went wrong and returns
    ``(False, None)``, so a display cell never floods the notebook with a traceback or hangs.
    """
    name = getattr(fn, "__name__", "function")
    try:
        return True, call_with_time_limit(fn, args, kwargs, DISPLAY_TIME_LIMIT_S)
    except (CallTimedOut, Exception) as exc:  # display code: report, never crash
        stub = f"`{name}` is not implemented yet: fill it in above, then run this cell again."
        print("✋ " + failure_message(exc, f"`{name}`", stub))
    return False, None


#: Seconds any one of the student's cells may run while the autograder runs the notebook.
CELL_TIME_LIMIT_S = 60.0


def limit_cell_time_while_grading(seconds: float = CELL_TIME_LIMIT_S) -> bool:
    """While the autograder runs this notebook, stop any cell that runs longer than ``seconds``.

    Otter runs a submission top to bottom with no time limit per cell, so one call of a function
    that never returns would hang the whole grading run. With this on, such a cell is stopped
    with an error and grading goes on. Otter's own cells (its set-up, ``grader.check`` and the
    final test run) are left alone: their tests have time limits of their own. Outside grading,
    and where there is no timer signal (Windows), nothing changes.

    Returns:
        Whether the limit was switched on.
    """
    import signal

    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not is_grading() or not hasattr(signal, "setitimer"):
        return False

    def _on_alarm(signum, frame):
        raise CallTimedOut(
            f"this cell did not finish within {seconds:g} s while being graded, so it was "
            "stopped; look for a loop that never ends"
        )

    def _arm(info):
        source = getattr(info, "raw_cell", "") or ""
        if "otter" in source or "grader." in source or "Checker" in source:
            return
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)

    def _disarm(result):
        signal.setitimer(signal.ITIMER_REAL, 0)

    shell.events.register("pre_run_cell", _arm)
    shell.events.register("post_run_cell", _disarm)
    return True


def display_guard(draw):
    """Decorate a display function so that problems in the student's code print one line.

    The decorated function runs under :data:`DISPLAY_TIME_LIMIT_S`; a stub, an exception or a
    timeout prints a friendly message and returns ``None``. Nothing of a display that fails is
    shown: the figures it opened are closed and what it printed before failing is dropped, so
    the message stands alone instead of under a half-drawn figure. While the autograder runs the
    notebook, displays (which earn no points) are skipped. The undecorated function stays
    available as ``draw.__wrapped__`` (tests call it to see real errors).
    """
    import contextlib
    import functools
    import io
    import sys

    @functools.wraps(draw)
    def guarded(*args, **kwargs):
        if is_grading():
            print("(Figures and reveals are skipped while the autograder runs the notebook.)")
            return None
        figures_before = _open_figures()
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                result = call_with_time_limit(draw, args, kwargs, DISPLAY_TIME_LIMIT_S)
        except (CallTimedOut, Exception) as exc:  # display code: report, never crash
            detail = f" ({exc})" if str(exc) else ""
            stub = f"A function this display needs is not implemented yet{detail}."
            message = "✋ " + failure_message(exc, "This display", stub)
        else:
            sys.stdout.write(printed.getvalue())
            return result
        _close_figures_opened_since(figures_before)
        print(message)
        return None

    return guarded


def _open_figures() -> set:
    """Numbers of the figures open in pyplot (none when pyplot was never imported)."""
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot else set()


def _close_figures_opened_since(before: set) -> None:
    """Close every pyplot figure that is open now but was not in ``before``."""
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    for number in set(pyplot.get_fignums()) - before if pyplot else ():
        pyplot.close(number)


def is_grading() -> bool:
    """Whether this kernel is being run by Otter's autograder."""
    try:
        from otter import Notebook
    except ImportError:
        return False
    return bool(getattr(Notebook, "_grading_mode", False))
