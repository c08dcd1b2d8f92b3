"""Otter's entry point to Lab 05's trusted scoring: the plugin the bundle's config names.

Otter imports a plugin by name (``lab05_otter.TrustedScoring``). This module is importable in both
places Otter grades:

* on Gradescope, from the bundle's top level (``/autograder/source``, where ``run_otter.py`` runs);
* with ``otter run -a autograder.zip SUBMISSION``, from the grading environment, where ``make``
  installs it (it is one file, with nothing of the lab in it).

It is a module of its own, outside the ``lab05_autograder`` package, because of that second place:
the copy installed into the environment stays there while bundles change, so it holds no scoring
code. Whichever copy Otter imports, it loads the package of the bundle Otter is running,
``lab05_autograder/`` in the bundle's ``files/`` (Otter unpacks the bundle into
``<autograder>/source`` and grades in ``<autograder>/submission``), never an installed or stale
copy from anywhere else, and hands it every event.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys

PACKAGE = "lab05_autograder"


def bundle_package_init() -> pathlib.Path | None:
    """``lab05_autograder/__init__.py`` of the bundle being graded: in the ``files/`` beside this
    file (Gradescope), or in the ``source/files`` next to the submission folder Otter grades in
    (``otter run``); None outside a grading run."""
    candidates = (
        pathlib.Path(__file__).resolve().parent / "files" / PACKAGE / "__init__.py",
        pathlib.Path.cwd().parent / "source" / "files" / PACKAGE / "__init__.py",
    )
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def load_bundle_package():
    """The bundle's ``lab05_autograder`` package, loaded from :func:`bundle_package_init` once per
    process, with its plugin module.

    Outside a grading run (Otter Assign building the bundle, with the lab's sources on the path) it
    is imported by name."""
    init = bundle_package_init()
    if init is None:
        return importlib.import_module(f"{PACKAGE}.plugin")
    loaded = sys.modules.get(PACKAGE)
    if loaded is None or pathlib.Path(getattr(loaded, "__file__", "")).resolve() != init.resolve():
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]  # another bundle's package: none of its modules may be used
        spec = importlib.util.spec_from_file_location(PACKAGE, init, submodule_search_locations=[str(init.parent)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.plugin")


def TrustedScoring(submission_path, submission_metadata, plugin_config):  # noqa: N802 - Otter's plugin name
    """The bundle's plugin (``lab05_autograder.plugin.TrustedScoring``), made as Otter makes a plugin."""
    return load_bundle_package().TrustedScoring(submission_path, submission_metadata, plugin_config)
