"""The bundle works the way Gradescope runs it, in the environment Gradescope builds from it."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import sys
import zipfile

import jsonschema
import nbformat
import pytest
import yaml
from conftest import possible_points, run_like_gradescope

from tools import notebooks, pins
from tools.layout import ASSIGNMENT, AUTOGRADER, AUTOGRADER_ZIP, BUNDLE_REQUIREMENTS, NOTEBOOK, ROOT, STUDENT

VISIBILITY = ["hidden", "after_due_date", "after_published", "visible"]
#: Gradescope's results.json, as its autograder specification describes it.
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": VISIBILITY},
        "stdout_visibility": {"enum": VISIBILITY},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "output", "visibility"],
                "properties": {
                    "name": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {"enum": VISIBILITY},
                    "number": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "anyOf": [{"required": ["score", "max_score"]}, {"required": ["status"]}],
            },
        },
    },
}


@pytest.fixture(scope="module")
def gradescope_results(tmp_path_factory):
    nb = notebooks.solution()
    files = {NOTEBOOK: nbformat.writes(nb).encode()}
    return run_like_gradescope(tmp_path_factory.mktemp("autograder"), files)


def test_results_follow_gradescopes_format(gradescope_results):
    jsonschema.validate(gradescope_results, RESULTS_SCHEMA)


def test_scores_add_up_to_full_marks_for_the_solution(gradescope_results):
    scored = [t for t in gradescope_results["tests"] if "max_score" in t]
    possible = possible_points()
    got = {t["name"]: (t["score"], t["max_score"]) for t in scored}
    assert got == {q: (p, p) for q, p in possible.items()}, f"expected full marks {possible}, got {got}"
    for test in scored:
        assert test["score"] <= test["max_score"], test


def test_hidden_results_are_not_visible_before_grades_are_published(gradescope_results):
    for test in gradescope_results["tests"]:
        if "max_score" in test:  # a question's entry: it includes hidden test results
            assert test["visibility"] != "visible", f"{test['name']} is visible at submission time"
        else:
            assert test["name"] == "Public Tests" and test["visibility"] == "visible", test


def test_a_submission_zip_as_students_export_it_grades_the_same(tmp_path):
    """Gradescope unpacks an uploaded zip into submission/: the notebook and a (here stale) ledger."""
    results = run_like_gradescope(
        tmp_path, {NOTEBOOK: nbformat.writes(notebooks.solution()).encode(), "design_ledger.json": b"{}"}
    )
    scored = {t["name"]: t["score"] for t in results["tests"] if "max_score" in t}
    assert scored == possible_points(), f"with a stale ledger file in the upload: {scored}"


# --- the grading environment ----------------------------------------------------------------------
def bundle_environment() -> dict:
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        return yaml.safe_load(zf.read("environment.yml"))


def pip_pins() -> dict[str, str]:
    found = {}
    for dep in bundle_environment()["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, _, version = line.partition("==")
                found[re.sub(r"\[.*\]", "", name).lower()] = version
    return found


def test_bundle_pins_the_versions_the_tests_run_with():
    env = bundle_environment()
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == f"python={sys.version_info.major}.{sys.version_info.minor}", (python, sys.version_info)
    for name, version in pip_pins().items():
        installed = importlib.metadata.version(name)
        assert version == installed, f"the bundle pins {name}=={version}; the tests run with {installed}"


def pip_lines() -> list[str]:
    return [line for dep in bundle_environment()["dependencies"] if isinstance(dep, dict) for line in dep["pip"]]


def _distribution(requirement: str) -> str:
    """The canonical distribution name of a ``name[extras]==version`` line."""
    return pins.canonical(re.sub(r"\[.*\]", "", requirement.partition("==")[0]))


def test_the_bundle_pins_the_lock():
    """Gradescope's pip step installs exactly the lock's versions (minus test-only packages): one source."""
    lines = pip_lines()
    unpinned = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9._-]+(\[[a-z,]+\])?==[^=\s]+", line)]
    assert not unpinned, f"the bundle's environment.yml installs unpinned {unpinned}"
    names = [_distribution(line) for line in lines]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"environment.yml names {twice} more than once: {lines}"
    bundle = {f"{_distribution(line)}=={line.partition('==')[2]}" for line in lines}
    lock = pins.read_lock()
    left_out = pins.only_for_tests(lock)
    expected = {f"{key}=={version}" for key, (_, version) in lock.items() if key not in left_out}
    assert bundle == expected, (
        f"the bundle's pins differ from requirements.txt: only in the bundle "
        f"{sorted(bundle - expected)}, only in the lock {sorted(expected - bundle)}: run `make`"
    )
    assert f"otter-grader[grading,plugins]=={lock[pins.OTTER][1]}" in lines, lines
    assert {"pytest", "selenium", "jupyterlab"} <= set(left_out), f"left out as test-only: {sorted(left_out)}"
    grading = {
        "otter-grader",
        "nbclient",
        "nbformat",
        "ipykernel",
        "ipython",
        "numpy",
        "matplotlib",
        "jsonschema",
        "jupyter-client",
        "dill",
        "pyzmq",
        "tornado",
        "traitlets",
    }
    assert not grading & set(left_out), (
        f"packages the grading run needs were left out: {sorted(grading & set(left_out))}"
    )


def test_the_bundle_environment_is_closed_under_requirements():
    """Every package a pinned package requires is pinned too, so pip resolves nothing on its own."""
    pinned = set(pip_pins())
    needed = _requirement_closure(
        [(name, {"grading", "plugins"} if name == "otter-grader" else set()) for name in pinned]
    )
    unpinned = sorted({pins.canonical(n) for n in needed} - {pins.canonical(n) for n in pinned})
    assert not unpinned, f"the bundle's environment installs {unpinned} without pinning them"


def test_the_bundle_requirements_are_generated_from_the_lock():
    text = (AUTOGRADER / "requirements.txt").read_text(encoding="utf-8")
    assert text == pins.bundle_requirements(pins.bundle_pins()), "autograder/requirements.txt is stale: run `make`"
    assert not (ASSIGNMENT / BUNDLE_REQUIREMENTS).exists(), (
        "assignment/autograder_requirements.txt is generated by the build: delete it"
    )


def _requirement_closure(roots: list[tuple[str, set[str]]]) -> set[str]:
    """Distribution names reachable from ``roots`` through installed requirements (with extras)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name, extras = stack.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            stack.append((req.name, set(req.extras)))
    return seen


def _imports(source: str) -> set[str]:
    """Top-level modules a source imports, leaving out imports guarded by ``except ImportError``."""
    guarded = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_the_grading_run_imports_is_in_the_bundle_environment():
    """Catches 'passes locally, but on Gradescope: No module named matplotlib'."""
    sources = []
    with zipfile.ZipFile(AUTOGRADER_ZIP) as zf:
        for name in zf.namelist():
            if name.endswith(".py") and (name.startswith("files/") or name.startswith("tests/")):
                sources.append((name, zf.read(name).decode()))
    nb = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    code = "\n".join(
        "\n".join(ln for ln in c.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        for c in nb.cells
        if c.cell_type == "code"
    )
    sources.append((NOTEBOOK, code))
    local = {pathlib.Path(n).stem for n, _ in sources}
    local |= {pathlib.PurePosixPath(n).parts[1] for n, _ in sources if n.count("/") > 1}  # packages in files/
    pins = pip_pins()
    available = _requirement_closure(
        [(name, {"grading", "plugins"} if name == "otter-grader" else set()) for name in pins]
        + [("jupyter_server", set())]
    )
    providers = importlib.metadata.packages_distributions()
    for name, source in sources:
        for module in sorted(_imports(source) - local - set(sys.stdlib_module_names)):
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
            assert dists & available, (
                f"{name} imports {module} (from {sorted(dists) or 'no installed package'}), "
                "which the bundle's environment.yml does not install: add it to "
                "requirements.in (not as test-only) and run `make lock`"
            )


def _pins(path: pathlib.Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    return dict(line.split("==") for line in text.splitlines() if "==" in line and not line.startswith("#"))


def test_students_can_install_what_grader_check_needs():
    pins = _pins(STUDENT / "requirements.txt")
    for name in ("otter-grader", "numpy", "matplotlib", "jsonschema", "ipykernel"):
        assert name in pins, f"student/requirements.txt lacks {name}: {sorted(pins)}"
        assert pins[name] == importlib.metadata.version(name), (name, pins[name])


def test_students_install_the_front_end_the_readme_starts_and_the_grader_does_not():
    """The README's first commands, `pip install -r requirements.txt` then `jupyter lab ...`, need
    JupyterLab (and the widgets it names) in the students' requirements; Gradescope's environment
    has no use for it."""
    student = _pins(STUDENT / "requirements.txt")
    for name in ("jupyterlab", "ipywidgets"):
        assert student.get(name) == importlib.metadata.version(name), (
            f"student/requirements.txt pins {name}=={student.get(name)}; expected the lock's "
            f"{importlib.metadata.version(name)}: {sorted(student)}"
        )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m pip install -r requirements.txt" in readme and "jupyter lab lab05_nn_compute.ipynb" in readme
    bundle = _pins(AUTOGRADER / "requirements.txt")
    assert "jupyterlab" not in {pins.canonical(n) for n in bundle}, (
        f"autograder/requirements.txt pins jupyterlab, and the grading environment does not need it: {sorted(bundle)}"
    )
    assert "jupyterlab" not in pip_pins(), "the bundle's environment.yml installs jupyterlab"
