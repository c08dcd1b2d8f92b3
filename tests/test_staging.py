"""Staging uploads (tools/grading/staging.py): hostile zips and folders are refused, the rest staged cleanly."""

from __future__ import annotations

import glob
import json
import os
import pathlib
import zipfile

import nbformat
import pytest

from tools.grading.staging import MAX_ENTRIES, Staged, StagingError, stage, write_atomically
from tools.layout import NOTEBOOK, SOLUTIONS, STUDENT, cell_source
from tools.qa import notebooks

SOLUTION = (SOLUTIONS / NOTEBOOK).read_bytes()
BLANK = (STUDENT / NOTEBOOK).read_bytes()
LEDGER = b'{"activation_choice": "relu"}'


def make_zip(path: pathlib.Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> pathlib.Path:
    """A zip with exactly these entries (names are written as given, duplicates included)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    return path


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix
    info.external_attr = mode << 16
    return info


def refused(upload: pathlib.Path, dest: pathlib.Path, status: str = "invalid", **kwargs) -> str:
    with pytest.raises(StagingError) as caught:
        stage(upload, dest, **kwargs)
    error = caught.value
    assert error.status == status, f"input: {upload.name}; expected status {status}; got {error.status}: {error}"
    return str(error)


def staged_files(dest: pathlib.Path) -> list[str]:
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def assert_scanned_is_graded(staged: Staged) -> None:
    on_disk = staged.notebook_path.read_bytes()
    assert json.loads(on_disk) == staged.notebook, "the returned notebook differs from the one written to dest"
    assert on_disk.decode() == nbformat.writes(nbformat.from_dict(staged.notebook), version=4), (
        "the notebook written is not nbformat 4 JSON as nbformat writes it"
    )


# ---------------------------------------------------------------------------------------------
# Zips that stage
# ---------------------------------------------------------------------------------------------
def test_an_exported_zip_stages_its_notebook_and_ledger(tmp_path):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), ("design_ledger.json", LEDGER)])
    staged = stage(upload, tmp_path / "dest")
    assert staged.files == ["design_ledger.json", NOTEBOOK] and not staged.removed, staged
    assert staged.notebook_path == tmp_path / "dest" / NOTEBOOK
    assert staged_files(tmp_path / "dest") == ["design_ledger.json", NOTEBOOK]
    assert (tmp_path / "dest" / "design_ledger.json").read_bytes() == LEDGER
    assert_scanned_is_graded(staged)
    assert (
        nbformat.reads(json.dumps(staged.notebook), as_version=4).cells
        == nbformat.reads(SOLUTION.decode(), as_version=4).cells
    ), "staging changed the notebook's cells"


def test_a_stray_upper_case_copy_is_not_a_second_notebook(tmp_path):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), ("X.IPYNB", BLANK), ("notes/old.ipynb", BLANK)])
    staged = stage(upload, tmp_path / "dest")
    found = glob.glob("*.ipynb", root_dir=tmp_path / "dest")  # what Otter's runner globs
    assert found == [NOTEBOOK], f"input: {NOTEBOOK} + X.IPYNB; expected Otter to see only {NOTEBOOK}; got {found}"
    assert any(r.startswith("X.IPYNB:") for r in staged.removed), (
        f"X.IPYNB should be listed as removed: {staged.removed}"
    )
    assert "notes/old.ipynb" in staged.files, "a nested notebook is an ordinary file, kept"


def test_an_nbformat_3_notebook_is_up_converted(tmp_path):
    from nbformat import v3

    old = v3.new_notebook(
        worksheets=[
            v3.new_worksheet(
                cells=[v3.new_code_cell(input="x = 1\nprint(x)"), v3.new_text_cell("markdown", source="# Title")]
            )
        ]
    )
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, v3.writes_json(old).encode())])
    staged = stage(upload, tmp_path / "dest")
    nb = staged.notebook
    assert nb["nbformat"] == 4, f"input: an nbformat 3 notebook; expected version 4 staged; got {nb['nbformat']}"
    got = [(c["cell_type"], cell_source(c)) for c in nb["cells"]]
    assert got == [("code", "x = 1\nprint(x)"), ("markdown", "# Title")], f"expected the cells kept; got {got}"
    assert_scanned_is_graded(staged)


def test_code_pickles_logs_and_tests_in_the_upload_are_dropped(tmp_path):
    junk = [
        ".OTTER_LOG",
        "results.pkl",
        "state.PICKLE",
        "env.dill",
        "tests/design_ledger.py",
        "tests/data.txt",
        "lab05/checks.py",
        "numpy.pyc",
        "fast.so",
        "evil.pth",
        "__pycache__/lab05_reference.cpython-311.pyc",
        "__MACOSX/._lab05_nn_compute.ipynb",
        ".hidden/x.txt",
        "pkg/sub/tests/t.txt",
        "mod.PY",
    ]
    upload = make_zip(
        tmp_path / "up.zip",
        [(NOTEBOOK, SOLUTION), ("design_ledger.json", LEDGER), ("data/notes.txt", b"notes")]
        + [(n, b"x") for n in junk],
    )
    staged = stage(upload, tmp_path / "dest")
    assert staged.files == ["data/notes.txt", "design_ledger.json", NOTEBOOK], f"input: {junk}; got kept {staged.files}"
    assert staged_files(tmp_path / "dest") == staged.files
    removed = {r.split(": ", 1)[0] for r in staged.removed}
    assert removed == set(junk), f"expected each dropped file listed; missing {set(junk) - removed}"
    assert all(": " in r and len(r.split(": ", 1)[1]) > 10 for r in staged.removed), staged.removed


# ---------------------------------------------------------------------------------------------
# Zips that are refused
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, words",
    [
        (f"{NOTEBOOK}/..", "'.' or '..'"),
        (f"./{NOTEBOOK}", "'.' or '..'"),
        ("../evil.txt", "'.' or '..'"),
        ("/tmp/evil.txt", "absolute"),
        ("..\\evil.txt", "backslash"),
        ("C:/evil.txt", "drive letter"),
        ("data//x.txt", "empty path component"),
    ],
)
def test_names_that_are_not_canonical_refuse_the_upload(tmp_path, name, words):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), (name, b"payload")])
    message = refused(upload, tmp_path / "dest")
    assert words in message and repr(name) in message and "accepted" in message, (
        f"input: entry {name!r}; expected a message naming it and saying {words!r}; got {message!r}"
    )
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir()), "something was extracted"
    assert not (tmp_path / "evil.txt").exists() and not pathlib.Path("/tmp/evil.txt").exists()


def test_a_nul_in_a_name_refuses_the_upload(tmp_path):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), ("evilXname.txt", b"x")])
    upload.write_bytes(upload.read_bytes().replace(b"evilXname", b"evil\0name"))  # local header and directory
    assert "NUL" in refused(upload, tmp_path / "dest")


@pytest.mark.parametrize("second", [NOTEBOOK, NOTEBOOK.upper().replace(".IPYNB", ".ipynb")])
def test_a_duplicate_entry_holding_another_notebook_refuses_the_upload(tmp_path, second):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, BLANK), (second, SOLUTION)])
    message = refused(upload, tmp_path / "dest")
    assert "two entries" in message, f"input: {NOTEBOOK} twice ({second!r}); expected 'two entries'; got {message!r}"


@pytest.mark.parametrize("mode, words", [(0o120777, "symbolic link"), (0o020644, "device"), (0o010644, "device")])
def test_links_and_special_files_refuse_the_upload(tmp_path, mode, words):
    upload = make_zip(
        tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), (with_mode("design_ledger.json", mode), b"/etc/passwd")]
    )
    message = refused(upload, tmp_path / "dest")
    assert words in message, f"input: an entry of mode {oct(mode)}; expected {words!r}; got {message!r}"


def test_a_file_that_is_also_a_folder_refuses_the_upload(tmp_path):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, SOLUTION), ("data", b"x"), ("data/x.txt", b"y")])
    assert "both as a file and as a folder" in refused(upload, tmp_path / "dest")


def test_zip_bombs_are_refused(tmp_path):
    big = make_zip(tmp_path / "big.zip", [(NOTEBOOK, BLANK), ("zeros.bin", bytes(101 * 1024**2))])
    assert big.stat().st_size < 1024**2, f"the planted bomb should be a small zip; it is {big.stat().st_size:,} bytes"
    message = refused(big, tmp_path / "d1")
    assert "unpacks to" in message and "at most" in message, f"input: 101 MiB of zeros; got {message!r}"
    many = make_zip(tmp_path / "many.zip", [(NOTEBOOK, SOLUTION)] + [(f"f{i}.txt", b"") for i in range(MAX_ENTRIES)])
    message = refused(many, tmp_path / "d2")
    assert f"at most {MAX_ENTRIES}" in message, f"input: {MAX_ENTRIES + 1} entries; got {message!r}"


@pytest.mark.parametrize(
    "entries, words",
    [
        ([("design_ledger.json", LEDGER)], "holds no notebook"),
        ([("work/" + NOTEBOOK, SOLUTION)], "inside a folder"),
        ([("LAB05.IPYNB", SOLUTION)], "lower-case .ipynb"),
        ([(NOTEBOOK, SOLUTION), ("copy.ipynb", BLANK)], "2 notebooks"),
    ],
)
def test_no_notebook_or_two_notebooks_are_invalid(tmp_path, entries, words):
    upload = make_zip(tmp_path / "up.zip", entries)
    message = refused(upload, tmp_path / "dest")
    assert words in message, f"input: {[n for n, _ in entries]}; expected {words!r}; got {message!r}"


@pytest.mark.parametrize(
    "data, words",
    [
        (b"not json at all", "not valid JSON"),
        (b'{"cells": []}', "not a Jupyter notebook"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "cells": "oops", "metadata": {}}', "not a readable Jupyter notebook"),
    ],
)
def test_a_corrupt_notebook_is_an_error(tmp_path, data, words):
    upload = make_zip(tmp_path / "up.zip", [(NOTEBOOK, data)])
    message = refused(upload, tmp_path / "dest", status="error")
    assert words in message and NOTEBOOK in message, f"input: {data!r}; expected {words!r}; got {message!r}"


def test_not_a_zip_is_invalid(tmp_path):
    upload = tmp_path / "up.zip"
    upload.write_bytes(b"PK not really")
    assert "not a readable zip" in refused(upload, tmp_path / "dest")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert "is not a submission" in refused(text, tmp_path / "d2")
    assert "does not exist" in refused(tmp_path / "missing.zip", tmp_path / "d3")


# ---------------------------------------------------------------------------------------------
# Notebooks, folders, assignment names
# ---------------------------------------------------------------------------------------------
def test_a_bare_notebook_stages(tmp_path):
    upload = tmp_path / "Lab05 Final.IPYNB"
    upload.write_bytes(SOLUTION)
    staged = stage(upload, tmp_path / "dest")
    assert staged.files == ["Lab05 Final.ipynb"], (
        f"input: a bare .IPYNB; expected it staged as .ipynb; got {staged.files}"
    )
    assert_scanned_is_graded(staged)


def test_a_folder_upload_stages_and_a_folder_with_one_zip_is_that_zip(tmp_path):
    folder = tmp_path / "submission_1"
    folder.mkdir()
    (folder / NOTEBOOK).write_bytes(SOLUTION)
    (folder / "design_ledger.json").write_bytes(LEDGER)
    (folder / "helper.py").write_text("import os")
    staged = stage(folder, tmp_path / "dest")
    assert staged.files == ["design_ledger.json", NOTEBOOK] and staged.removed[0].startswith("helper.py:"), staged
    zipped = tmp_path / "submission_2"
    zipped.mkdir()
    make_zip(zipped / "export.zip", [(NOTEBOOK, SOLUTION)])
    staged = stage(zipped, tmp_path / "dest2")
    assert staged.files == [NOTEBOOK], f"input: a folder holding one zip; expected the zip's notebook; got {staged}"


@pytest.mark.parametrize("plant", ["link_file", "link_dir", "fifo"])
def test_links_and_special_files_in_a_folder_refuse_it(tmp_path, plant):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / NOTEBOOK).write_bytes(SOLUTION)
    if plant == "link_file":
        (folder / "design_ledger.json").symlink_to("/etc/passwd")
    elif plant == "link_dir":
        (folder / "home").symlink_to(os.path.expanduser("~"))
    else:
        os.mkfifo(folder / "pipe")
    message = refused(folder, tmp_path / "dest")
    words = "symbolic link" if plant.startswith("link") else "not a regular file"
    assert words in message, f"input: a folder with a {plant}; expected {words!r}; got {message!r}"


def test_the_assignment_name_is_checked(tmp_path):
    other = notebooks.write(notebooks.for_assignment(notebooks.solution(), "lab04_data_engineering"), tmp_path / "o")
    message = refused(other, tmp_path / "dest", assignment_name="lab05_nn_compute")
    assert "lab04_data_engineering" in message and "lab05_nn_compute" in message, message
    upload = tmp_path / NOTEBOOK
    upload.write_bytes(SOLUTION)
    assert stage(upload, tmp_path / "dest2", assignment_name="lab05_nn_compute").files == [NOTEBOOK]


def test_dest_must_be_empty(tmp_path):
    upload = tmp_path / NOTEBOOK
    upload.write_bytes(SOLUTION)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old.txt").write_text("x")
    assert "not empty" in refused(upload, dest, status="error")


def test_write_atomically_writes_and_replaces_the_file_whole(tmp_path):
    target = tmp_path / "out.txt"
    write_atomically(target, b"first version, longer than the second\n")
    got = target.read_bytes()
    assert got == b"first version, longer than the second\n", f"input: bytes to a new file; expected them; got {got!r}"
    write_atomically(target, "zweite\r\nFassung\n")
    got = target.read_bytes()
    expected = b"zweite\r\nFassung\n"
    assert got == expected, f"input: a str over an existing file; expected {expected!r} (UTF-8, as given); got {got!r}"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["out.txt"], f"input: two writes; expected only out.txt in the folder; got {left}"


def test_write_atomically_sets_the_mode(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_atomically(tmp_path / "default.txt", "x")
    got, expected = os.stat(tmp_path / "default.txt").st_mode & 0o777, os.stat(plain).st_mode & 0o777
    assert got == expected, f"input: no mode; expected {expected:o}, as open() makes a file; got {got:o}"
    write_atomically(tmp_path / "shared.txt", "x", mode=0o644)
    got = os.stat(tmp_path / "shared.txt").st_mode & 0o777
    assert got == 0o644, f"input: mode=0o644; expected 644; got {got:o}"


def test_a_failed_write_atomically_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old\n")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, "new\n")
    got = target.read_text()
    assert got == "old\n", f"input: os.replace fails; expected the old file intact; got {got!r}"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["out.txt"], f"input: os.replace fails; expected no temporary file left; got {left}"
