"""The scoring session (``lab05_autograder.session``) against a probe that answers anything: the
tests' environment fails closed and keeps no state.

A fake session stands in for the probe and gives, for every request the tests make, a reply
Hypothesis chooses (any JSON object, wire-tagged values among them), or a timeout, an exit or a
protocol fault. Whatever comes back, running the bundle's test files returns one verdict per case,
never an exception; a case whose reply could not be trusted scores 0 and is named in the faults.
"""

from __future__ import annotations

import itertools
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lab05_autograder import session, wire
from lab05_autograder.scoring import run_test_file
from otter.test_files.exception_test import ExceptionTestFile

from tools.layout import AUTOGRADER_ZIP

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
#: Test files fuzzed: one per kind of question (a function, a dependent, a value, a file).
FILES = ("tests/transistor_tax.py", "tests/training_memory.py", "tests/batch_doubling.py", "tests/design_ledger.py")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(), st.text(max_size=20)
)
tagged = st.one_of(
    st.builds(lambda d, v: {"$np": [d, v]}, st.sampled_from(["<i1", "<u8", "<f2", "|b1", "<c16", "O", 3]), scalars),
    st.builds(
        lambda d, s, v: {"$nd": [d, s, v]},
        st.sampled_from(["<f8", "<i8", "|O"]),
        st.lists(st.integers(-2, 5), max_size=3),
        st.lists(scalars, max_size=4),
    ),
    st.builds(lambda v: {"$tuple": v}, st.lists(scalars, max_size=3)),
    st.builds(lambda v: {"$dict": v}, st.lists(st.lists(scalars, min_size=0, max_size=3), max_size=3)),
    st.builds(lambda t, r: {"$opaque": [t, r]}, scalars, scalars),
    st.dictionaries(st.text(max_size=8), scalars, max_size=2),
)
values = st.recursive(st.one_of(scalars, tagged), lambda inner: st.lists(inner, max_size=3), max_leaves=8)
replies = st.one_of(
    st.fixed_dictionaries(
        {"value": values},
        optional={"warnings": st.lists(st.one_of(scalars, st.dictionaries(st.text(max_size=8), scalars)), max_size=3)},
    ),
    st.fixed_dictionaries(
        {"error": st.one_of(scalars, st.dictionaries(st.sampled_from(["type", "base", "message"]), scalars))}
    ),
    st.dictionaries(
        st.sampled_from(
            ["missing", "not_callable", "function", "text", "written", "too_large", "value", "bad_request"]
        ),
        st.one_of(scalars, values),
        max_size=3,
    ),
    st.sampled_from([session.ProbeTimedOut(), session.ProbeExited("gone"), session.ScoringFault("protocol")]),
)


class FakeSession:
    """Answers each request with the next of ``replies`` (cycled); raises the ones that are exceptions."""

    def __init__(self, answers: list):
        self.answers = itertools.cycle(answers)
        self.requests = 0

    def request(self, message: dict, timeout: float) -> dict:
        self.requests += 1
        answer = next(self.answers)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _test_files() -> list:
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        return [ExceptionTestFile.from_string(zf.read(name).decode(), path=name) for name in FILES]


@FUZZ
@given(answers=st.lists(replies, min_size=1, max_size=6))
def test_any_reply_gives_a_verdict_per_case_and_never_an_exception(answers):
    env = session.ProbeEnv(FakeSession(answers), call_limit=1.0)
    faults: list[str] = []
    for test_file in _test_files():
        try:
            run_test_file(test_file, env, faults)
        except BaseException as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(
                f"input: replies {answers!r:.300}; expected one verdict per case, got {type(exc).__name__}: {exc}"
            )
        names = [r.test_case.name for r in test_file.test_case_results]
        assert names == [tc.name for tc in test_file.test_cases], f"{test_file.name}: cases {names}"
        assert all(type(r.passed) is bool for r in test_file.test_case_results)
    for fault in faults:
        question, _, case = fault.split(": ", 1)[0].partition(" / ")
        assert question and case, f"a fault that names no test case: {fault!r}"
    assert len(session._ERROR_TYPES) <= session._MAX_ERROR_TYPES, f"{len(session._ERROR_TYPES)} error classes kept"


@pytest.mark.parametrize(
    "reply, why",
    [
        ({"value": {"$np": ["<i1", 10**30]}}, "a NumPy scalar out of range"),
        ({"value": {"$nd": ["|O", [1], [1]]}}, "an object array"),
        ({"value": {"$exec": "1"}}, "an unknown tag"),
        ({"reply_without_value": True}, "a reply with no value"),
    ],
)
def test_an_unreadable_answer_scores_the_case_0_and_names_the_fault(reply, why):
    # every read says "a function", every call gets the unreadable reply
    env = session.ProbeEnv(FakeSession([{"function": True}, reply]), call_limit=1.0)
    test_file = _test_files()[0]
    faults: list[str] = []
    run_test_file(test_file, env, faults)
    failed = [r.test_case.name for r in test_file.test_case_results if not r.passed]
    assert failed == [tc.name for tc in test_file.test_cases], f"input: {why}; expected every case failed, got {failed}"
    assert faults and all("transistor_tax" in f for f in faults), (
        f"input: {why}; expected the faults named, got {faults}"
    )
    messages = [r.message for r in test_file.test_case_results]
    assert all("scoring error" in m for m in messages), f"input: {why}; expected 'scoring error' in {messages}"


def test_the_environment_the_tests_see_cannot_be_changed():
    env = session.ProbeEnv(FakeSession([{"function": True}]), call_limit=1.0)
    with pytest.raises(TypeError):
        env["parameter_count"] = len  # no stand-in can be put in place of a student's function
    assert not hasattr(env, "overrides"), "the environment keeps no stand-ins"


def test_a_request_is_asked_once_and_answered_the_same_every_time():
    fake = FakeSession([{"value": 1}, {"value": 2}])
    env = session.ProbeEnv(fake, call_limit=1.0)
    request = {"op": "call", "name": "f", "args": [], "kwargs": {"$dict": []}}
    first, second = env.ask(request, 1.0), env.ask(dict(request), 1.0)
    assert first == second == {"value": 1} and fake.requests == 1, (
        f"input: the same request twice; expected one request and the first reply twice, got {first}, {second}, "
        f"{fake.requests} requests"
    )
    assert wire.decode(first["value"]) == 1
