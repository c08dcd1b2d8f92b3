"""The autograder bundle as the graders use it: its questions, and one read-only unpacked copy.

    info = read_questions(autograder)          # (assignment name, {question: points})
    bundle = Bundle.open(autograder, folder)   # a private copy, unpacked, read-only

Both tools/grade_one.py and the batch grader (tools/batch/) import this module; it imports
nothing of theirs. The bundle is our own build output (trusted): it is read without running it.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import zipfile


def read_questions(autograder: pathlib.Path) -> tuple[str, dict[str, float]]:
    """The bundle's assignment name and {question: points possible}, read without running anything."""
    questions: dict[str, float] = {}
    with zipfile.ZipFile(autograder) as zf:
        try:
            config = json.loads(zf.read("otter_config.json"))
        except KeyError:
            config = {}
        for name in sorted(zf.namelist()):
            if not (name.startswith("tests/") and name.endswith(".py")):
                continue
            values = {}
            for node in ast.parse(zf.read(name).decode("utf-8")).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
            points = values.get("points", 0)
            points = sum(points) if isinstance(points, list) else (points or 0)
            questions[str(values.get("name", pathlib.PurePosixPath(name).stem))] = float(points)
    return str(config.get("assignment_name") or ""), questions


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def unpack(bundle: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """The bundle's files as Gradescope's ``source/`` holds them, read-only for everyone."""
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            name = info.filename
            parts = pathlib.PurePosixPath(name).parts
            if info.is_dir() or name.startswith("/") or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    for path in [dest, *dest.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return dest


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A private snapshot of the bundle in ``folder``: ``zip`` (the copy Otter runs), ``unpacked``
    (its files, for trusted scoring and Otter's plugin), its questions and its sha256. A rebuild
    of the original during grading changes nothing here. Mount ``folder`` read-only."""

    folder: pathlib.Path
    zip: pathlib.Path
    unpacked: pathlib.Path
    assignment: str
    questions: dict
    sha256: str

    @classmethod
    def open(cls, autograder: pathlib.Path, folder: pathlib.Path) -> Bundle:
        folder = pathlib.Path(folder)
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(folder, 0o755)
        copy = folder / "autograder.zip"
        shutil.copyfile(autograder, copy)
        os.chmod(copy, 0o644)
        assignment, questions = read_questions(copy)
        unpacked = unpack(copy, folder / "bundle")
        return cls(folder, copy, unpacked, assignment, questions, sha256(copy))
