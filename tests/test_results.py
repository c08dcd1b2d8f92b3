"""Otter's results.json (tools/grading/results.py): only a result of this bundle is accepted."""

from __future__ import annotations

import pytest

from tools.grading.results import GradeError, bundle_questions, validate_results
from tools.layout import AUTOGRADER_ZIP


@pytest.mark.parametrize(
    "results, words",
    [
        ({"tests": [{"name": "forged", "score": 1, "max_score": 1}]}, "not one of the bundle's questions"),
        ({"tests": [{"name": "deployment", "score": 3, "max_score": 2}]}, "0 <= score <= max_score"),
        ({"tests": [{"name": "deployment", "score": -1, "max_score": 2}]}, "0 <= score <= max_score"),
        ({"tests": [{"name": "deployment", "score": "2", "max_score": 2}]}, "expected numbers"),
        ({"tests": [{"name": "deployment", "score": 9, "max_score": 9}]}, "worth 9 in results.json but 2"),
        ({"tests": [{"name": "deployment", "score": 2, "max_score": 2}], "score": 33}, "not the sum of its tests"),
        ({"tests": "all passed"}, "list of tests"),
        ([], "list of tests"),
    ],
)
def test_results_that_are_not_the_bundles_are_errors(results, words):
    questions = bundle_questions(AUTOGRADER_ZIP)
    with pytest.raises(GradeError) as caught:
        validate_results(results, questions)
    assert words in str(caught.value), f"input: {results}; expected an error saying {words!r}; got {caught.value}"


def test_otters_own_results_are_valid(solution_grades):
    results, _ = solution_grades
    assert validate_results(results, bundle_questions(AUTOGRADER_ZIP)) is results
