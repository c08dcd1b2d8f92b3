"""Trusted scoring: code in the student's kernel cannot forge its own score.

Each attack of tests/attacks.py is graded through the bundle (Otter's own grading code, with the
bundle's plugin) and must score exactly what its honest code earns: the blank notebook's 0.
Where the kernel's own results were forged, the submission carries the integrity flag.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import zipfile

import attacks
import nbformat
import numpy as np
import pytest
from conftest import grade, possible_points
from lab05_autograder import wire

from tools.layout import AUTOGRADER_ZIP, NOTEBOOK

FLAG = "kernel_results_differ"


def _grade_nb(nb, folder: pathlib.Path, extra: dict | None = None, crosscheck: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    if extra:
        path = folder / "submission.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(NOTEBOOK, nbformat.writes(nb))
            for name, data in extra.items():
                zf.writestr(name, data)
    else:
        path = folder / NOTEBOOK
        path.write_text(nbformat.writes(nb), encoding="utf-8")
    return grade(path, crosscheck=crosscheck)


@pytest.mark.parametrize("attack", sorted(attacks.FORGERIES))
def test_a_forgery_in_the_kernel_earns_nothing(attack, tmp_path):
    results, scores = _grade_nb(attacks.with_cells(*attacks.FORGERIES[attack]), tmp_path)
    earned = {q: s for q, s in scores.items() if s}
    assert not earned, f"{attack}: a blank notebook plus the attack should earn 0 everywhere; got {earned}"


#: Attacks that do change the kernel's own results (and so must raise the flag). The others look for
#: the reference or the hidden tests, which the kernel's folder no longer holds: they find nothing.
FORGES_THE_KERNEL = [
    "checker_results_set_to_passed",
    "test_files_rewritten",
]


@pytest.mark.parametrize("attack", FORGES_THE_KERNEL)
def test_a_forged_kernel_result_is_flagged_with_the_questions(attack, tmp_path):
    results, scores = _grade_nb(attacks.with_cells(*attacks.FORGERIES[attack]), tmp_path, crosscheck=True)
    output = results.get("output", "")
    assert FLAG in output, f"{attack}: expected the flag {FLAG} in results.json's output; got {output!r}"
    assert "transistor_tax" in output, f"{attack}: the flag should name the forged questions; got {output!r}"


def test_an_honest_submission_carries_no_flag(solution_grades):
    results, _ = solution_grades
    assert FLAG not in (results.get("output") or ""), f"the solution was flagged: {results.get('output')!r}"


def test_a_pickle_payload_in_the_kernels_results_never_runs(tmp_path):
    marker = tmp_path / "results-payload-ran"
    results, scores = _grade_nb(attacks.with_cells(attacks.pickle_payload(marker)), tmp_path / "sub")
    assert not marker.exists(), "the kernel's results file was unpickled with its payload: the marker exists"
    assert not any(scores.values()), f"expected 0 everywhere; got {scores}"


def test_an_otter_log_payload_in_the_upload_never_runs(tmp_path):
    marker = tmp_path / "otter-log-payload-ran"
    extra = {".OTTER_LOG": attacks.otter_log_payload(marker), "design_ledger.json": "{}"}
    results, scores = _grade_nb(attacks.blank(), tmp_path / "sub", extra)
    assert not marker.exists(), "the upload's .OTTER_LOG was deserialized: the marker exists"
    assert ".OTTER_LOG" in (results.get("output") or ""), "the output should say the .OTTER_LOG was removed"


def test_an_exception_cannot_carry_the_reference_into_a_message(tmp_path):
    nb = attacks.with_cells(attacks.LEAK_REFERENCE)
    results, _ = _grade_nb(nb, tmp_path)
    text = json.dumps(results)
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        reference = zf.read("files/lab05_reference.py").decode()
    lines = [line.strip() for line in reference.splitlines() if len(line.strip()) > 30]
    leaked = [line for line in lines if line in text]
    assert not leaked, f"results.json repeats lines of the reference module: {leaked[:3]}"


def test_the_solution_is_scored_by_the_probe_not_the_kernel(solution_grades):
    results, scores = solution_grades
    assert sum(scores.values()) == 33, f"the solution should earn 33 through trusted scoring; got {scores}"


# ---------------------------------------------------------------------------------------------
# The wire format
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        1,
        2.5,
        "A",
        None,
        True,
        [1, [2, 3]],
        (1, "x"),
        {"weights": 4, "total": 9},
        np.arange(6).reshape(2, 3),
        np.float64(0.25),
        np.int64(7),
        float("nan"),
    ],
)
def test_plain_values_cross_the_wire_with_their_types(value):
    got = wire.decode(wire.loads(wire.dumps(wire.encode(value))))
    assert type(got) is type(value), f"{value!r}: expected type {type(value).__name__}, got {type(got).__name__}"
    if isinstance(value, np.ndarray):
        assert np.array_equal(got, value) and got.dtype == value.dtype, f"{value!r} came back as {got!r}"
    elif value == value:
        assert got == value, f"{value!r} came back as {got!r}"


def test_a_str_subclass_arrives_as_an_opaque_description():
    class Anything(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    got = wire.decode(wire.encode(Anything("A")))
    assert not isinstance(got, str), f"a str subclass should not arrive as a str; got {type(got).__name__}"
    assert got != "A" and got != "B", "the opaque stand-in must not compare equal to answers"


@pytest.mark.parametrize(
    "data, why",
    [
        ({"$nd": ["<f8", [3], [1.0, 2.0]]}, "values that do not match the shape"),
        ({"$nd": ["|O", [1], [1]]}, "object arrays"),
        ({"$exec": "print(1)"}, "unknown tags"),
        ({"a": 1, "b": 2}, "plain objects"),
        ({"$nd": ["<f8", [10**7], []]}, "huge arrays"),
    ],
)
def test_the_decoder_refuses_what_it_cannot_rebuild(data, why):
    with pytest.raises(wire.WireError):
        wire.decode(data)
        pytest.fail(f"decode accepted {why}: {data!r}")


# ---------------------------------------------------------------------------------------------
# On Gradescope's code path (run_otter.py in a Gradescope-shaped folder)
# ---------------------------------------------------------------------------------------------
def _scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if "max_score" in t}


@pytest.mark.parametrize("attack", sorted(attacks.FORGERIES))
def test_on_gradescopes_path_a_forgery_earns_nothing(attack, tmp_path):
    from conftest import run_like_gradescope

    nb = attacks.with_cells(*attacks.FORGERIES[attack])
    results = run_like_gradescope(tmp_path, {NOTEBOOK: nbformat.writes(nb).encode()})
    earned = {q: s for q, s in _scores(results).items() if s}
    assert not earned, f"{attack}: a blank notebook plus the attack earned {earned} on Gradescope's code path"
    if attack in FORGES_THE_KERNEL:
        assert FLAG in results.get("output", ""), (
            f"{attack}: expected the flag {FLAG}; output {results.get('output')!r}"
        )


@pytest.mark.parametrize("cwd_first", [False, True], ids=["as-gradescope-runs-it", "submission-first-on-path"])
def test_on_gradescopes_path_a_support_package_in_the_upload_is_replaced_by_the_bundles(tmp_path, cwd_first):
    """Otter copies the bundle's support files over an upload's, but skips a folder the upload has:
    the plugin imports the bundle's ``lab05/`` (even with the submission folder first on the path)
    and puts it in place of the upload's before the kernel imports it."""
    from conftest import run_like_gradescope

    forged = b"def __getattr__(name):\n    return lambda *args, **kwargs: None\n"
    upload = {
        NOTEBOOK: nbformat.writes(attacks.with_cells()).encode(),
        "lab05/__init__.py": b"",
        "lab05/assertions.py": forged,
        "lab05/checks/__init__.py": forged,
        "lab05/constants.py": forged,
    }
    results = run_like_gradescope(tmp_path, upload, cwd_first=cwd_first)
    earned = {q: s for q, s in _scores(results).items() if s}
    assert not earned, f"input: a blank notebook with its own lab05/; expected no points, got {earned}"
    possible = possible_points()
    assert set(_scores(results)) == set(possible), f"expected every question scored, got {_scores(results)}"
    assert FLAG not in results.get("output", ""), (
        f"input: a blank notebook with its own lab05/; expected the kernel to agree (it ran the bundle's "
        f"package), got the flag: {results.get('output')!r}"
    )
    for name in ("assertions.py", "checks/__init__.py", "constants.py", "ledger.py"):
        got = (tmp_path / "submission" / "lab05" / name).read_bytes()
        expected = (tmp_path / "source" / "files" / "lab05" / name).read_bytes()
        assert got == expected, (
            f"input: an upload with lab05/{name}; expected the bundle's copy in its place, got another"
        )


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="the kernel leaves root only where the grader is root "
    "(Gradescope, CI); as a normal user it has no root to leave",
)
def test_on_gradescopes_path_the_kernel_runs_without_root_and_leaves_nothing_running(tmp_path):
    from conftest import run_like_gradescope

    marker = tmp_path / "kernel-uid"
    tmp_path.chmod(0o777)
    for folder in tmp_path.parents:  # the probe's and the kernel's users may reach the marker's folder
        if folder == pathlib.Path(tempfile.gettempdir()):
            break
        folder.chmod(folder.stat().st_mode | 0o001)
    cell = f"""
import os, subprocess
with open({str(marker)!r} + "-" + str(os.getuid()), "w") as f:
    f.write("ran")
try:
    with open("../source/files/lab05_reference.py", "a") as f:
        f.write("# changed by the notebook\\n")
except OSError:
    pass
subprocess.Popen(["sleep", "987"], start_new_session=True)
"""
    root = tmp_path / "autograder"
    results = run_like_gradescope(root, {NOTEBOOK: nbformat.writes(attacks.with_cells(cell)).encode()})
    ran_as = sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.glob("kernel-uid-*"))
    from lab05_autograder import policy

    kernel, probe = (int(uid) for uid in ran_as) if len(ran_as) == 2 else (None, None)
    slot = (policy.PROBE_UID - probe) // 2 if probe is not None else -1
    assert 0 <= slot < policy.UID_SLOTS and (kernel, probe) == (
        policy.KERNEL_UID - 2 * slot,
        policy.PROBE_UID - 2 * slot,
    ), (
        f"the notebook's code ran as uids {ran_as}; expected the kernel's and the probe's users of one grading slot "
        f"({policy.KERNEL_UID} and {policy.PROBE_UID} in slot 0), never root"
    )
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        original = zf.read("files/lab05_reference.py")
    assert (root / "source" / "files" / "lab05_reference.py").read_bytes() == original, (
        "the notebook changed the bundle's reference module"
    )
    left = [p for p in pathlib.Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == b"sleep\x00987\x00"]
    assert not left, f"processes the notebook started outlived grading: {[p.name for p in left]}"
    assert not any(_scores(results).values()), f"expected 0 everywhere; got {_scores(results)}"


def _cmdline(proc: pathlib.Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_on_gradescopes_path_no_pickle_from_the_submission_runs(tmp_path):
    from conftest import run_like_gradescope

    tmp_path.chmod(0o777)  # the kernel (not root) could create the marker itself only where it may write
    results_marker, log_marker = tmp_path / "results-payload-ran", tmp_path / "log-payload-ran"
    nb = attacks.with_cells(attacks.pickle_payload(results_marker))
    files = {NOTEBOOK: nbformat.writes(nb).encode(), ".OTTER_LOG": attacks.otter_log_payload(log_marker)}
    results = run_like_gradescope(tmp_path / "autograder", files)
    assert not results_marker.exists(), "the kernel's results file was unpickled with its payload"
    assert not log_marker.exists(), "the upload's .OTTER_LOG was deserialized"
    assert not any(_scores(results).values()), f"expected 0 everywhere; got {_scores(results)}"
