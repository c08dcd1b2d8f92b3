"""The autograder bundle as the graders use it: its questions, and one read-only unpacked copy.

    info = read_questions(autograder)          # (assignment name, {question: points})
    files = question_files(autograder)         # each tests/<question>.py: name, points, cases
    bundle = Bundle.open(autograder, folder)   # a private copy, unpacked, read-only

Both tools/grading/grade_one.py and the batch grader (tools/grading/batch/) import this module; it imports
nothing of theirs. It is the one reader of the bundle's test files (the mistakes report, the
benchmarks and the tests use it too). The bundle is our own build output (trusted): it is read
without running it.
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

from tools.layout import BUNDLE_TESTS


@dataclasses.dataclass(frozen=True)
class Case:
    """One test case of a question's test file: an ``@test_case(...)`` function."""

    name: str
    hidden: bool
    points: object  # test_case(points=...) as written: None when the file's ``points`` list gives them
    first_line: int  # 1-based: its decorator's line
    last_line: int  # 1-based: the function's last line


@dataclasses.dataclass(frozen=True)
class QuestionFile:
    """A bundle's ``tests/<question>.py`` as written, read with ``ast`` (never run)."""

    path: str  # its name in the bundle, e.g. "tests/training_memory.py"
    source: str
    name: str  # the question (``name = ...``; the file's stem when it has none)
    points: object  # ``points = ...`` as written: a list (one value per case), a number, or None
    points_line: int | None  # 1-based line of ``points = ...``
    cases: tuple[Case, ...]

    @property
    def possible(self) -> float:
        """The question's points possible."""
        points = self.points
        return float(sum(points) if isinstance(points, list) else (points or 0))


def read_question_file(path: str, source: str) -> QuestionFile:
    """Parse an Otter test file without running it: its literal ``name`` and ``points``, and its cases."""
    values: dict = {}
    points_line = None
    cases = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
            if node.targets[0].id == "points":
                points_line = node.lineno
        elif isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).split(".")[-1] == "test_case":
                    keywords = {}
                    for k in decorator.keywords:
                        try:
                            keywords[k.arg] = ast.literal_eval(k.value)
                        except ValueError:
                            keywords[k.arg] = None
                    cases.append(
                        Case(
                            node.name,
                            bool(keywords.get("hidden", False)),
                            keywords.get("points"),
                            node.decorator_list[0].lineno,
                            node.end_lineno,
                        )
                    )
                    break
    return QuestionFile(
        path,
        source,
        str(values.get("name", pathlib.PurePosixPath(path).stem)),
        values.get("points"),
        points_line,
        tuple(cases),
    )


def question_files(autograder: pathlib.Path) -> list[QuestionFile]:
    """Every ``tests/*.py`` of the bundle, in name order, read without running anything."""
    with zipfile.ZipFile(autograder) as zf:
        return [
            read_question_file(name, zf.read(name).decode("utf-8"))
            for name in sorted(zf.namelist())
            if name.startswith(f"{BUNDLE_TESTS}/") and name.endswith(".py")
        ]


def read_questions(autograder: pathlib.Path) -> tuple[str, dict[str, float]]:
    """The bundle's assignment name and {question: points possible}, read without running anything."""
    with zipfile.ZipFile(autograder) as zf:
        try:
            config = json.loads(zf.read("otter_config.json"))
        except KeyError:
            config = {}
    questions = {f.name: f.possible for f in question_files(autograder)}
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
