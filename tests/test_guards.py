"""lab05.guards: time limits on the student's functions, and display cells that never crash."""

from __future__ import annotations

import time

import pytest

from lab05 import guards


def test_a_call_that_never_returns_is_stopped():
    def forever():
        while True:
            pass

    start = time.monotonic()
    with pytest.raises(guards.CallTimedOut) as info:
        guards.call_with_time_limit(forever, seconds=0.3)
    assert "did not return within 0.3 s" in str(info.value), str(info.value)
    assert time.monotonic() - start < 30, "the limit did not stop the loop"


def test_a_loop_that_swallows_exceptions_is_still_stopped():
    def stubborn():
        while True:
            try:
                while True:
                    pass
            except Exception:
                continue

    with pytest.raises(guards.CallTimedOut):
        guards.call_with_time_limit(stubborn, seconds=0.3)


def test_time_limit_passes_results_and_errors_through_and_restores_the_alarm():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    assert guards.call_with_time_limit(lambda x: x * 2, (21,)) == 42
    with pytest.raises(ZeroDivisionError):
        guards.call_with_time_limit(lambda: 1 / 0)
    assert signal.getsignal(signal.SIGALRM) is before, "the previous SIGALRM handler was not restored"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "a timer was left running"


def test_time_limit_works_outside_the_main_thread():
    import threading

    outcome = {}

    def worker():
        try:
            guards.call_with_time_limit(lambda: time.sleep(5), seconds=0.2)
        except guards.CallTimedOut as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert "did not return" in outcome.get("error", ""), outcome


def test_display_guard_prints_one_line_for_a_stub(capsys):
    @guards.display_guard
    def figure():
        raise NotImplementedError("training_memory")

    assert figure() is None
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "Traceback" not in out, out
