"""Where the bundle's files are, and what the probe receives from them.

Otter unpacks the bundle into ``<autograder>/source`` and keeps the files of the config's
``files:`` and ``autograder_files:`` in its ``files/``: the support package students have
(``lab05/``), the reference module and this package. This module finds that folder, puts it on
``sys.path`` so that ``lab05`` and ``lab05_reference`` come from the bundle, and reads the files
the probe gets (the support package and the probe's own three modules).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys

#: This package's folder (``files/lab05_autograder`` in a bundle, ``assignment/lab05_autograder``
#: in the project, the build's staging folder while Otter Assign runs).
PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
PACKAGE = PACKAGE_DIR.name
#: The support code students have (every file of it goes to the probe).
SUPPORT_PACKAGE = "lab05"
#: This package's modules the probe receives (in a ``lab05_autograder/`` folder of their own): the
#: probe, its wire and its limits, and the package's ``__init__``, which imports nothing.
PROBE_MODULES = ("__init__.py", "probe.py", "wire.py", "policy.py")
#: The probe is started as ``python -I -X utf8 <its folder>/<PROBE_SCRIPT>``: by path, not with ``-m``
#: (isolated mode leaves the working folder off ``sys.path``); the script puts its folder there itself.
PROBE_SCRIPT = f"{PACKAGE}/probe.py"


def _bundle_files() -> pathlib.Path | None:
    """The bundle's ``files/``: the folder of this package when it is loaded from there (Gradescope,
    ``otter run``: see ``lab05_otter``), or the sibling ``source/files/`` when this package's copy
    in the submission folder is loaded. None elsewhere (a build's staging folder, the project), where
    the lab's modules sit beside this package."""
    parent = PACKAGE_DIR.parent
    candidates = (parent if parent.name == "files" else None, parent.parent / "source" / "files")
    return next((f for f in candidates if f is not None and (f / SUPPORT_PACKAGE).is_dir()), None)


BUNDLE_FILES = _bundle_files()


def use_bundle_files() -> None:
    """Put the bundle's ``files/`` (and this package's parent folder) on ``sys.path`` and import the
    support package from the bundle, wherever ``sys.path`` would find one first.

    Otter copies the bundle's files over a submission's same-named files, but not over a folder the
    submission already has; the submission folder can be on ``sys.path`` before the bundle. Loading
    the package from the bundle's own folder makes every ``lab05.*`` import come from there.
    """
    for folder in (BUNDLE_FILES, PACKAGE_DIR.parent):
        if folder is not None and str(folder) not in sys.path:
            sys.path.append(str(folder))
    init = BUNDLE_FILES / SUPPORT_PACKAGE / "__init__.py" if BUNDLE_FILES else None
    if SUPPORT_PACKAGE in sys.modules or init is None or not init.is_file():
        return
    spec = importlib.util.spec_from_file_location(SUPPORT_PACKAGE, init, submodule_search_locations=[str(init.parent)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[SUPPORT_PACKAGE] = package
    spec.loader.exec_module(package)


class MissingFile(RuntimeError):
    """A file the probe needs is not in the bundle."""


def probe_support(files_dir: os.PathLike) -> dict[str, bytes]:
    """The probe's files (relative name: bytes), from the bundle's ``files_dir``, or else from beside
    this package: :data:`PROBE_MODULES` under ``lab05_autograder/`` and every file of
    :data:`SUPPORT_PACKAGE`."""
    folders = (pathlib.Path(files_dir), PACKAGE_DIR.parent)
    support = {}
    own = next((folder / PACKAGE for folder in folders if (folder / PACKAGE / "probe.py").is_file()), None)
    if own is None:
        raise MissingFile(f"the package {PACKAGE}/ is missing from the autograder bundle")
    for name in PROBE_MODULES:
        if not (own / name).is_file():
            raise MissingFile(f"{PACKAGE}/{name} is missing from the autograder bundle")
        support[f"{PACKAGE}/{name}"] = (own / name).read_bytes()
    package = next((folder / SUPPORT_PACKAGE for folder in folders if (folder / SUPPORT_PACKAGE).is_dir()), None)
    if package is None or not (package / "__init__.py").is_file():
        raise MissingFile(f"the package {SUPPORT_PACKAGE}/ is missing from the autograder bundle")
    for path in sorted(package.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            support[path.relative_to(package.parent).as_posix()] = path.read_bytes()
    return support
