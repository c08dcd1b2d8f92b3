"""lab05.assertions: how a call of student code is made and judged (warnings, other threads, the probe)."""

from __future__ import annotations

import lab05_reference as ref
import pytest

from lab05 import assertions, constants, guards
from tools.build.reference import reference_environment


@pytest.fixture
def env():
    """A notebook namespace holding the reference functions."""
    return reference_environment()


class _Remote(guards.RemoteCall):
    """A function answered by another process, as in trusted scoring, with the warnings it reports."""

    def __init__(self, fn, reported=(), meanwhile=None):
        self.fn, self.reported, self.meanwhile = fn, list(reported), meanwhile

    def __call__(self, *args, **kwargs):
        return self.call_with_limit(args, kwargs, 10.0)

    def call_reporting_warnings(self, args, kwargs, seconds):
        if self.meanwhile is not None:
            self.meanwhile()
        return self.fn(*args, **kwargs), self.reported


def test_a_warning_reported_by_the_probe_fails_the_check(env):
    env["sigmoid_derivative"] = _Remote(ref.sigmoid_derivative, ["overflow encountered in exp"])
    with pytest.raises(assertions.CheckFailed) as info:
        assertions.call(env, "sigmoid_derivative", 1.0)
    assert "overflow encountered in exp" in str(info.value), str(info.value)


def test_another_threads_warning_does_not_fail_a_clean_call(env):
    """The batch grades submissions on several threads of one process: a RuntimeWarning raised on
    one thread (another student's overflow) while this submission's call runs must not count."""
    import threading
    import warnings

    def another_submission():
        thread = threading.Thread(
            target=lambda: warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        )
        thread.start()
        thread.join()

    env["max_trainable_width"] = _Remote(ref.max_trainable_width, meanwhile=another_submission)
    budget = 8 * constants.BYTES_PER_GIB
    got = assertions.call(env, "max_trainable_width", budget)
    assert got == ref.max_trainable_width(budget), f"max_trainable_width({budget}): expected the reference's, got {got}"
