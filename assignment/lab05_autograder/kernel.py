"""What Otter's run in the notebook's kernel may see: the public tests and the support package.

Otter runs the tests inside the kernel that ran the student's notebook; that run is only compared
with the trusted verdict, and it sees neither the reference nor the hidden tests. Before the kernel
starts, :func:`prepare_kernel_folder` deletes the autograder's modules and this package from the
kernel's folder and leaves its ``tests/`` with the public cases only (:func:`kernel_test_source`);
:func:`restore_support_package` puts the bundle's ``lab05/`` in place of an upload's own. Local
grading gives the kernel's sandbox a bundle made the same way (:func:`write_kernel_bundle`).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import zipfile

from .bundle import PACKAGE, SUPPORT_PACKAGE


def restore_support_package(files_dir: os.PathLike, folder: os.PathLike) -> bool:
    """Put the bundle's support package in ``folder`` in place of whatever the submission has there.

    Otter copies the bundle's support files over a submission's same-named files, but it skips a
    folder the submission already holds, so a submission bringing its own ``lab05/`` would have
    the kernel import that. Returns whether a copy was made.
    """
    source = pathlib.Path(files_dir) / SUPPORT_PACKAGE
    target = pathlib.Path(folder) / SUPPORT_PACKAGE
    if not source.is_dir() or (not target.is_symlink() and target.exists() and os.path.samefile(source, target)):
        return False  # nothing to copy from, or the folder is the bundle's own
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return True


#: The body Otter's kernel runs in place of a hidden test case: the kernel has no hidden test.
KERNEL_HIDDEN_BODY = '    raise AssertionError("a hidden test: scored outside the notebook\'s kernel")\n'
_HIDDEN_CASE = re.compile(r"(@test_case\([^)]*hidden=True[^)]*\)\ndef \w+\(env\):\n)((?:    [^\n]*\n?)+)")


def kernel_test_source(source: str) -> str:
    """A bundle test file as Otter's kernel gets it: public cases as they are, every hidden case's
    body replaced by a failure (the kernel never sees the hidden tests or the reference)."""
    return _HIDDEN_CASE.sub(lambda m: m.group(1) + KERNEL_HIDDEN_BODY, source)


def prepare_kernel_folder(folder: os.PathLike, files_dir: os.PathLike) -> list[str]:
    """Leave in ``folder`` (the submission's, where Otter copied the bundle's files) only what the
    notebook's kernel may see: the autograder's modules (every ``.py`` at the top of the bundle's
    ``files_dir``) and this package's folder are deleted, and ``tests/`` holds the public test cases
    only. Returns what was deleted. Call after :func:`lab05_autograder.scoring.prepare` has read the
    real tests."""
    folder, files_dir = pathlib.Path(folder), pathlib.Path(files_dir)
    removed = []
    for module in sorted(files_dir.glob("*.py")):
        target = folder / module.name
        if (target.is_file() or target.is_symlink()) and not (target.exists() and os.path.samefile(target, module)):
            target.unlink()
            removed.append(module.name)
    package, own = folder / PACKAGE, files_dir / PACKAGE
    if package.is_symlink() or package.is_file():
        package.unlink()
        removed.append(PACKAGE)
    elif package.is_dir() and not (own.exists() and os.path.samefile(package, own)):
        shutil.rmtree(package)
        removed.append(PACKAGE)
    for test in sorted((folder / "tests").glob("*.py")):
        if test.is_file() and not test.is_symlink():
            test.write_text(kernel_test_source(test.read_text(encoding="utf-8")), encoding="utf-8")
    return removed


def kernel_bundle_entry(name: str) -> bool:
    """Whether the bundle's entry ``name`` goes into the kernel's bundle: not the plugin, not the
    autograder's modules (every ``.py`` at the top and in ``files/`` but ``run_otter.py``), and
    nothing of this package."""
    parts = name.split("/")
    if parts[0] == "files" and len(parts) > 2 and parts[1] == PACKAGE:
        return False
    top_level_module = name.endswith(".py") and (len(parts) == 1 or (parts[0] == "files" and len(parts) == 2))
    return not top_level_module or name == "run_otter.py"


def write_kernel_bundle(source: os.PathLike, target: os.PathLike) -> None:
    """Write to ``target`` the bundle ``source`` as Otter's run in the notebook's kernel gets it
    (local grading): no plugin (the config names none), none of the autograder's modules, and test
    files whose hidden cases the kernel cannot run (:func:`kernel_test_source`)."""
    with zipfile.ZipFile(source) as bundle, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in bundle.infolist():
            name, data = info.filename, bundle.read(info)
            if not kernel_bundle_entry(name):
                continue
            if name.split("/")[0] == "tests" and name.endswith(".py"):
                data = kernel_test_source(data.decode("utf-8")).encode("utf-8")
            if name == "otter_config.json":
                config = json.loads(data)
                config["plugins"] = []
                data = json.dumps(config, indent=2).encode("utf-8")
            out.writestr(info, data)
