"""Nothing the upload brings is unpickled: Otter's pickles are deleted or read with an allow-list.

Otter deserializes a submission's ``.OTTER_LOG`` and reads the kernel's results file with
``pickle``. Before any student code runs the plugin deletes the files Otter would unpickle
(:func:`strip_untrusted_files`) and makes Otter read the kernel's results with
:class:`RestrictedUnpickler`, which builds Otter's own result types and plain data only
(:func:`guard_otter_unpickling`).
"""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import shutil

from . import policy

UNTRUSTED_PICKLES, PICKLE_SUFFIXES = policy.UNTRUSTED_PICKLES, policy.PICKLE_SUFFIXES

ALLOWED_GLOBALS = {
    ("otter.test_files", "GradingResults"),
    ("otter.test_files.abstract_test", "TestCase"),
    ("otter.test_files.abstract_test", "TestCaseResult"),
    ("otter.test_files.exception_test", "ExceptionTestFile"),
    ("otter.test_files.exception_test", "test_case"),
    ("otter.test_files.ok_test", "OKTestFile"),
    ("nbformat.notebooknode", "NotebookNode"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles Otter's result types and plain data only; anything else is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not one of Otter's result types")


class _GuardedPickle:
    """Stands in for the ``pickle`` module inside ``otter.execute``: loads are restricted."""

    def __getattr__(self, name):
        return getattr(pickle, name)

    @staticmethod
    def load(file, **kwargs):
        return RestrictedUnpickler(file).load()

    @staticmethod
    def loads(data, **kwargs):
        return RestrictedUnpickler(io.BytesIO(data)).load()


def guard_otter_unpickling() -> None:
    """Make Otter read the kernel's results file with :class:`RestrictedUnpickler`."""
    import otter.execute

    otter.execute.pickle = _GuardedPickle()


def strip_untrusted_files(folder: os.PathLike) -> list[str]:
    """Delete the files in ``folder`` that Otter would deserialize; returns their names."""
    removed = []
    for path in pathlib.Path(folder).iterdir():
        if path.name in UNTRUSTED_PICKLES or path.suffix.lower() in PICKLE_SUFFIXES:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path.name)
    return removed
