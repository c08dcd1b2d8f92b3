"""Nothing of the upload is unpickled (``lab05_autograder.unpickle``): Otter's pickles are deleted
before grading, and the kernel's results are read with an allow-list of Otter's own types."""

from __future__ import annotations

import io
import os
import pickle

import otter.execute
import pytest
from lab05_autograder import policy, unpickle


class _Payload:
    def __reduce__(self):
        return (os.system, ("true",))


def test_plain_data_and_otter_results_are_read():
    from otter.test_files import GradingResults

    data = {"scores": [1.0, 2.0], "names": frozenset({"q1"}), "results": GradingResults([])}
    got = unpickle.RestrictedUnpickler(io.BytesIO(pickle.dumps(data))).load()
    assert got["scores"] == [1.0, 2.0] and got["names"] == frozenset({"q1"}), f"input: {data}; got {got}"
    assert type(got["results"]) is GradingResults, f"expected Otter's GradingResults back; got {type(got['results'])}"


def test_anything_else_is_refused():
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system"):
        unpickle.RestrictedUnpickler(io.BytesIO(pickle.dumps(_Payload()))).load()


def test_otter_reads_the_kernels_results_through_the_guard(monkeypatch):
    monkeypatch.setattr(otter.execute, "pickle", otter.execute.pickle)  # put back after the test
    unpickle.guard_otter_unpickling()
    with pytest.raises(pickle.UnpicklingError):
        otter.execute.pickle.loads(pickle.dumps(_Payload()))
    assert otter.execute.pickle.loads(pickle.dumps([1, "a"])) == [1, "a"]


def test_the_files_otter_would_unpickle_are_deleted_and_nothing_else(tmp_path):
    planted = [*policy.UNTRUSTED_PICKLES, *(f"results{suffix}" for suffix in policy.PICKLE_SUFFIXES)]
    for name in planted:
        (tmp_path / name).write_bytes(b"payload")
    (tmp_path / "notebook.ipynb").write_text("{}")
    removed = unpickle.strip_untrusted_files(tmp_path)
    assert sorted(removed) == sorted(planted), f"input: {planted} and a notebook; expected those removed, got {removed}"
    assert [p.name for p in tmp_path.iterdir()] == ["notebook.ipynb"], "the notebook should be kept"
