"""Otter's entry point to Lab 05's trusted scoring: the plugin the bundle's config names.

Otter imports a plugin by name (``lab05_otter.TrustedScoring``). This module is importable in both
places Otter grades:

* on Gradescope, from the bundle's top level (``/autograder/source``, where ``run_otter.py`` runs);
* with ``otter run -a autograder.zip SUBMISSION``, from the grading environment, where ``make``
  installs it (it is one file, with nothing of the lab in it).

Either way it loads the plugin of the bundle Otter is running, ``lab05_trusted.py`` in the bundle's
``files/`` (Otter unpacks the bundle into ``<autograder>/source`` and grades in
``<autograder>/submission``), never a copy from anywhere else, and hands it every event.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys

MODULE = "lab05_trusted"


def bundle_plugin_file() -> pathlib.Path | None:
    """``lab05_trusted.py`` of the bundle being graded: in the ``files/`` beside this file
    (Gradescope), or in the ``source/files`` next to the submission folder Otter grades in
    (``otter run``); None outside a grading run."""
    candidates = (
        pathlib.Path(__file__).resolve().parent / "files" / f"{MODULE}.py",
        pathlib.Path.cwd().parent / "source" / "files" / f"{MODULE}.py",
    )
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def load_bundle_plugin():
    """The bundle's ``lab05_trusted`` module, loaded from :func:`bundle_plugin_file` once per process.

    Outside a grading run (Otter Assign building the bundle, with the lab's sources on the path) it
    is imported by name."""
    path = bundle_plugin_file()
    if path is None:
        return importlib.import_module(MODULE)
    loaded = sys.modules.get(MODULE)
    if loaded is not None and pathlib.Path(getattr(loaded, "__file__", "")).resolve() == path.resolve():
        return loaded
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    return module


def TrustedScoring(submission_path, submission_metadata, plugin_config):  # noqa: N802 - Otter's plugin name
    """The bundle's plugin (``lab05_trusted.TrustedScoring``), made as Otter makes a plugin."""
    return load_bundle_plugin().TrustedScoring(submission_path, submission_metadata, plugin_config)
