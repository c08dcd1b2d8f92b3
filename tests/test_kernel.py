"""What Otter's run in the notebook's kernel may see (``lab05_autograder.kernel``): the public test
cases and the bundle's support package, never the autograder's modules or the hidden tests."""

from __future__ import annotations

import json
import zipfile

from lab05_autograder import kernel

from tools.layout import AUTOGRADER_ZIP

HIDDEN_CASE = """from otter.test_files import test_case

@test_case(points=None, hidden=False)
def test_q_public(env):
    from lab05 import checks
    checks.check_q(env)

@test_case(points=None, hidden=True)
def test_q_hidden(env):
    from lab05_autograder import hidden
    hidden.test_q(env)
"""


def _bundle_files(tmp_path):
    """A bundle's files/ (the support package, the reference, this package) and a submission folder
    into which Otter copied them, with its tests/."""
    files, submission = tmp_path / "files", tmp_path / "submission"
    for folder in (files, submission):
        (folder / "lab05").mkdir(parents=True)
        (folder / "lab05" / "__init__.py").write_text("")
        (folder / "lab05_reference.py").write_text("ANSWER = 42\n")
        (folder / "lab05_autograder" / "hidden").mkdir(parents=True)
        (folder / "lab05_autograder" / "__init__.py").write_text("")
        (folder / "lab05_autograder" / "hidden" / "__init__.py").write_text("SECRET = 1\n")
    (submission / "tests").mkdir()
    (submission / "tests" / "q.py").write_text(HIDDEN_CASE)
    return files, submission


def test_the_kernel_folder_keeps_no_autograder_module_and_no_hidden_test_body(tmp_path):
    files, submission = _bundle_files(tmp_path)
    removed = kernel.prepare_kernel_folder(submission, files)
    assert sorted(removed) == ["lab05_autograder", "lab05_reference.py"], (
        f"input: the bundle's files copied into the submission folder; expected the reference and the "
        f"package removed, got {removed}"
    )
    left = sorted(p.relative_to(submission).as_posix() for p in submission.rglob("*") if p.is_file())
    assert left == ["lab05/__init__.py", "tests/q.py"], f"expected the support package and tests/ only; got {left}"
    test = (submission / "tests" / "q.py").read_text()
    assert "checks.check_q(env)" in test and "lab05_autograder" not in test, (
        f"expected the public case kept and the hidden case's body replaced; got\n{test}"
    )


def test_a_package_folder_the_upload_brings_is_removed_too(tmp_path):
    files, submission = _bundle_files(tmp_path)
    (submission / "lab05_autograder" / "hidden" / "__init__.py").write_text("FAKE = True\n")
    assert "lab05_autograder" in kernel.prepare_kernel_folder(submission, files)
    assert not (submission / "lab05_autograder").exists(), "the upload's lab05_autograder/ is still there"


def test_the_bundles_own_folder_is_left_alone(tmp_path):
    files, _ = _bundle_files(tmp_path)
    assert kernel.prepare_kernel_folder(files, files) == [], "the bundle's files/ prepared as its own kernel folder"
    assert (files / "lab05_autograder" / "__init__.py").is_file() and (files / "lab05_reference.py").is_file()


def test_the_kernels_bundle_has_no_plugin_no_autograder_module_and_no_hidden_test(tmp_path):
    target = tmp_path / "kernel.zip"
    kernel.write_kernel_bundle(AUTOGRADER_ZIP, target)
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        config = json.loads(zf.read("otter_config.json"))
        tests = {n: zf.read(n).decode() for n in names if n.startswith("tests/")}
    kept = [n for n in names if n.endswith(".py") and n.count("/") <= 1 and not n.startswith("tests/")]
    assert kept == ["run_otter.py"], f"expected run_otter.py the only module outside tests/ and lab05/; got {kept}"
    assert not [n for n in names if "lab05_autograder" in n], "the kernel's bundle holds the autograder's package"
    assert config["plugins"] == [], f"the kernel's bundle names plugins: {config['plugins']}"
    assert tests and not [n for n, text in tests.items() if "lab05_autograder" in text], "a hidden test body is left"


def test_a_link_named_like_the_support_package_is_replaced_by_a_copy(tmp_path):
    """A submission's ``lab05`` that links to the bundle's folder would let the kernel write into it."""
    files, submission = tmp_path / "files", tmp_path / "submission"
    (files / "lab05").mkdir(parents=True)
    (files / "lab05" / "__init__.py").write_text("BUNDLE = True\n")
    submission.mkdir()
    (submission / "lab05").symlink_to(files / "lab05")
    assert kernel.restore_support_package(files, submission), (
        "input: lab05 -> the bundle's folder; expected a copy made"
    )
    target = submission / "lab05"
    assert not target.is_symlink() and (target / "__init__.py").read_text() == "BUNDLE = True\n", (
        f"input: lab05 -> the bundle's folder; expected a real folder holding the bundle's files, got link={target.is_symlink()}"
    )
    assert not kernel.restore_support_package(files, files.parent / "files"), (
        "input: the bundle's own folder as the submission folder; expected nothing copied"
    )
