"""Integrity flags for a submitted notebook: a static scan of its code, before grading.

    python -m tools.grading.integrity NOTEBOOK.ipynb [...]

Otter runs a student's code in the same kernel as the tests, with the hidden tests on disk beside
it, so a submission can read the tests or patch the grader. This module looks for the signs of
that in the notebook's code cells (parsed with ``ast`` after IPython's own magic/shell
translation; a regular-expression scan for cells that do not parse) and in the files shipped
with it. A flag is a reason for a person to look, not a verdict, and no flag is no proof:

What it catches: literal paths and names of the autograder's files (``tests/``,
``lab05_autograder``, ``lab05_reference``, ``autograder.zip``, ``source/``,
``otter_config.json``) in strings, imports and shell escapes; assignments, ``del``, ``setattr`` and mutating calls on
Otter's and the lab's objects (``grader``, ``otter``, ``Checker``, the support package ``lab05``
and its modules, ``lab05_autograder``, ``LAST_WRITTEN``, ``IMPORTED_AT``, the numeric libraries
the tests compare with), ``unittest.mock`` patching and ``sys.modules`` edits; mentions of
Otter's result files (``results.json``, ``results.pkl``, ``.OTTER_LOG``); ``exec``/``eval``,
dynamic imports, shell commands and ``%run`` (code this scan cannot see into); extra code
files in the submission; and a notebook not run top to bottom before export.

What it cannot catch: anything built at run time (``"te" + "sts"``, ``chr``/base64-decoded
names, ``getattr`` with a computed name), code inside shipped or downloaded files, code that
``exec``/shell commands run (only the fact that they are used is flagged), or what the code
actually did when it ran. A mention is flagged even when it is harmless (a docstring that says
"tests/"), so read the detail before acting on a flag.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import sys
from dataclasses import dataclass

from tools import layout
from tools.layout import cell_source

# The flag codes, in the order they are reported, with what each means.
FLAGS = {
    "reads_grader_files": "refers to the autograder's test files or reference data",
    "patches_grader": "replaces or changes Otter's or the lab's grading objects",
    "writes_results": "refers to Otter's grading results (results.json, results.pkl, .OTTER_LOG)",
    "dynamic_code": "runs code a static scan cannot see into (exec/eval, dynamic import, shell, %run)",
    "extra_files": "ships code files beside the notebook that the kernel could import",
    "run_order": "was not run top to bottom before export",
}

# Modules that hold the answers: the autograder's package (the hidden tests) and the reference.
ANSWER_MODULES = (layout.AUTOGRADER_PACKAGE, layout.REFERENCE.removesuffix(".py"))
# Modules whose objects the grading depends on (the notebook imports them as aliases too).
GRADER_MODULES = {"otter", layout.SUPPORT_PACKAGE, *ANSWER_MODULES}
# Libraries the checks and hidden tests compare with: patching them can make a wrong answer pass.
LIBRARY_MODULES = {
    "builtins",
    "numpy",
    "math",
    "numbers",
    "json",
    "jsonschema",
    "pathlib",
    "signal",
    "contextlib",
    "unittest",
    "pytest",
    "sys",
    "os",
    "time",
    "io",
}
# Names of Otter's and the lab's grading objects, whatever module they were imported from.
GRADER_NAMES = {
    "grader",
    "Checker",
    "GradingResults",
    "TestFile",
    "TestCollection",
    "test_case",
    "LAST_WRITTEN",
    "IMPORTED_AT",
    "__builtins__",
}
BOOKKEEPING = {"LAST_WRITTEN", "IMPORTED_AT"}
RESULT_NAMES = {"GradingResults", "get_results", "OTTER_LOG_FILENAME"}
MUTATORS = {
    "update",
    "clear",
    "pop",
    "popitem",
    "setdefault",
    "append",
    "extend",
    "insert",
    "remove",
    "__setitem__",
    "__delitem__",
    "__setattr__",
    "__delattr__",
    "add",
    "discard",
    "sort",
    "reverse",
}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "execfile"}
SHELL_CALLS = {
    "os.system",
    "os.popen",
    "os.execv",
    "os.execl",
    "os.spawnl",
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
}
IPYTHON_SHELL = {"system", "getoutput"}
DYNAMIC_MAGICS = {
    "run",
    "load",
    "loadpy",
    "load_ext",
    "bash",
    "sh",
    "script",
    "system",
    "sx",
    "writefile",
    "perl",
    "ruby",
    "python",
    "python3",
}

GRADER_FILE_PATTERNS = [
    (re.compile(r"(?:^|[/\\\s'\"])tests[/\\*]|^\s*(?:\.[/\\])?tests\s*$"), "the tests/ folder"),
    (re.compile(re.escape(ANSWER_MODULES[0])), f"the autograder and its hidden tests ({ANSWER_MODULES[0]})"),
    (re.compile(re.escape(ANSWER_MODULES[1])), f"the reference solution ({ANSWER_MODULES[1]})"),
    (re.compile(r"autograder\.zip|(?:^|[/\\])autograder(?:[/\\]|$)"), "the autograder bundle"),
    (re.compile(r"(?:^|[/\\])source(?:[/\\]|$)"), "the autograder's source/ folder"),
    (re.compile(r"otter_config\.json"), "the autograder configuration"),
]
RESULT_PATTERNS = [
    (re.compile(r"results\.json"), "results.json"),
    (re.compile(r"results\.pkl"), "results.pkl"),
    (re.compile(r"OTTER_LOG"), ".OTTER_LOG"),
]
# The regex fallback for cells that do not parse.
FALLBACK_PATCH = re.compile(
    r"\b(?:grader|otter|Checker|lab05\w*|checks|constants|displays|guards|validate|np|numpy|math|builtins|__builtins__)"
    r"(?:\.\w+)+"
    r"\s*(?:\[[^\]]*\]\s*)?(?:[-+*/|&]?=)(?!=)|\bsetattr\s*\(|\bdelattr\s*\(|\bsys\.modules\b|mock\.patch"
    r"|\b(?:LAST_WRITTEN|IMPORTED_AT)\b"
)
FALLBACK_DYNAMIC = re.compile(r"\b(?:exec|eval|compile|__import__)\s*\(|\bimport_module\s*\(|^\s*[!%]", re.MULTILINE)
CODE_SUFFIXES = {".py", ".pth", ".so", ".pyc", ".pyd", ".ipynb"}
EXPECTED_EXTRA = {"design_ledger.json"}


@dataclass(frozen=True)
class Flag:
    """One finding: ``code`` is a key of FLAGS; ``detail`` says where and what, for a person."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def _to_python(source: str) -> str:
    """Cell source as plain Python, with IPython magics and ``!shell`` lines translated."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - an untranslatable cell is scanned as it is
        return source


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for Name/Attribute chains (subscripts and calls are looked through), else None."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, where: str, aliases: dict[str, str]):
        self.where = where
        self.aliases = aliases  # notebook-wide: name -> module or module.attribute it was bound to
        self.flags: list[Flag] = []

    # -- helpers ---------------------------------------------------------------------------
    def add(self, code: str, detail: str) -> None:
        self.flags.append(Flag(code, f"{self.where}: {detail}"))

    def resolve(self, dotted: str) -> str:
        root, _, rest = dotted.partition(".")
        full = self.aliases.get(root, root)
        return f"{full}.{rest}" if rest else full

    def protected(self, dotted: str | None, attribute: bool = True) -> str | None:
        """Why changing the object at ``dotted`` is tampering, or None.

        ``attribute``: the change sets an attribute (``x.y = ...``), which for a library module
        replaces one of its functions; item assignments and mutating calls on libraries
        (``os.environ[...]``, ``sys.path.append``) are ordinary and not flagged.
        """
        if not dotted:
            return None
        resolved = self.resolve(dotted)
        top = resolved.split(".")[0]
        names = set(resolved.split(".")) | set(dotted.split("."))
        if top in GRADER_MODULES:
            return f"{resolved} (grading module {top})"
        if names & GRADER_NAMES:
            return f"{resolved} (grading object {sorted(names & GRADER_NAMES)[0]})"
        if resolved.startswith("sys.modules"):
            return "sys.modules (which module an import finds)"
        root = dotted.split(".")[0]
        if attribute and top in LIBRARY_MODULES and "." in dotted and root in self.aliases | {"builtins": ""}:
            return f"{resolved} (library the tests use)"
        return None

    def check_string(self, text: str) -> None:
        for pattern, what in GRADER_FILE_PATTERNS:
            if pattern.search(text):
                self.add("reads_grader_files", f"mentions {what}: {_short(text)!r}")
        for pattern, what in RESULT_PATTERNS:
            if pattern.search(text):
                self.add("writes_results", f"mentions {what}: {_short(text)!r}")

    def check_target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.check_target(elt, verb)
            return
        if isinstance(target, ast.Starred):
            self.check_target(target.value, verb)
            return
        if isinstance(target, ast.Name):
            if target.id in BOOKKEEPING:
                self.add("patches_grader", f"{verb} {target.id}")
            return
        dotted = _dotted(target)
        why = self.protected(dotted, attribute=isinstance(target, ast.Attribute))
        if why:
            self.add("patches_grader", f"{verb} {why}")

    # -- statements ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self.check_module(module)
        for alias in node.names:
            self.check_module(f"{module}.{alias.name}")
            if alias.name in BOOKKEEPING or alias.name in RESULT_NAMES:
                self.check_name(alias.name)
        self.generic_visit(node)

    def check_module(self, module: str) -> None:
        top = module.split(".")[0]
        if top in ANSWER_MODULES:
            self.add("reads_grader_files", f"imports {module}")
        if module in (
            "otter.execute",
            "otter.test_files",
            "otter.run",
            "otter.execute.Checker",
            "otter.test_files.GradingResults",
        ) or module.startswith("otter.run."):
            self.add("patches_grader", f"imports Otter's grading internals ({module})")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_target(target, "assigns")
            if isinstance(target, ast.Name) and target.id == "grader" and not _is_notebook_call(node.value):
                self.add("patches_grader", "rebinds grader to something other than otter.Notebook(...)")
            if isinstance(target, ast.Name) and target.id in ("otter", "Checker"):
                self.add("patches_grader", f"rebinds {target.id}")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node.target, "changes")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.check_target(target, "deletes")
        self.generic_visit(node)

    # -- expressions -----------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.check_string(node.value)
        elif isinstance(node.value, bytes):
            self.check_string(node.value.decode("latin-1"))

    def visit_Name(self, node: ast.Name) -> None:
        self.check_name(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.check_name(node.attr)
        self.generic_visit(node)

    def check_name(self, name: str) -> None:
        if name in BOOKKEEPING:
            self.add("patches_grader", f"refers to the ledger bookkeeping {name}")
        elif name in ANSWER_MODULES:
            self.add("reads_grader_files", f"refers to {name}")
        elif name in RESULT_NAMES:
            self.add("writes_results", f"refers to Otter's {name}")

    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func) or ""
        resolved = self.resolve(func) if func else ""
        last = func.rsplit(".", 1)[-1]
        if func in ("setattr", "delattr") and node.args:
            owner = _dotted(node.args[0])
            name = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else "?"
            why = self.protected(f"{owner}.{name}" if owner else None)
            if why:
                self.add("patches_grader", f"{func}() on {why}")
            if len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                self.add("dynamic_code", f"{func}() with a computed attribute name")
        elif func == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
            self.add("dynamic_code", "getattr() with a computed attribute name")
        elif func in DYNAMIC_CALLS:
            self.add("dynamic_code", f"calls {func}()")
        elif resolved in ("importlib.import_module", "importlib.__import__") or last == "import_module":
            if not (node.args and isinstance(node.args[0], ast.Constant)):
                self.add("dynamic_code", "imports a module whose name is computed")
        elif resolved in SHELL_CALLS or func in SHELL_CALLS:
            self.add("dynamic_code", f"runs a shell command ({resolved})")
        elif func.startswith("get_ipython") and last in IPYTHON_SHELL:
            self.add("dynamic_code", "runs a shell command (! or %sx)")
        elif func.startswith("get_ipython") and last in ("run_line_magic", "run_cell_magic"):
            magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
            if str(magic).lstrip("%") in DYNAMIC_MAGICS:
                self.add("dynamic_code", f"uses the %{str(magic).lstrip('%')} magic")
        elif func.startswith("get_ipython") and last in ("run_cell", "ex", "ev", "run_code"):
            self.add("dynamic_code", f"runs code through get_ipython().{last}()")
        if "mock" in resolved.split(".") and last in ("patch", "object", "dict", "multiple"):
            self.add("patches_grader", f"uses {resolved}() to patch objects")
        if last in MUTATORS and isinstance(node.func, ast.Attribute):
            why = self.protected(_dotted(node.func.value), attribute=False)
            if why:
                self.add("patches_grader", f"calls .{last}() on {why}")
        self.generic_visit(node)


def _is_notebook_call(value: ast.AST) -> bool:
    return isinstance(value, ast.Call) and (_dotted(value.func) or "").split(".")[-1] == "Notebook"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _aliases(trees: list[ast.AST]) -> dict[str, str]:
    """Every name the notebook binds by import, to the dotted module (attribute) it stands for."""
    aliases: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _fallback(where: str, source: str) -> list[Flag]:
    """Regular-expression scan of a cell that does not parse as Python."""
    flags = []
    note = "(regex scan: the cell does not parse)"
    for pattern, what in GRADER_FILE_PATTERNS:
        for line in source.splitlines():
            if pattern.search(line):
                flags.append(Flag("reads_grader_files", f"{where}: mentions {what}: {_short(line)!r} {note}"))
                break
    for pattern, what in RESULT_PATTERNS:
        if pattern.search(source):
            flags.append(Flag("writes_results", f"{where}: mentions {what} {note}"))
    match = FALLBACK_PATCH.search(source)
    if match:
        flags.append(Flag("patches_grader", f"{where}: {_short(match.group(0))!r} {note}"))
    match = FALLBACK_DYNAMIC.search(source)
    if match:
        flags.append(Flag("dynamic_code", f"{where}: {_short(match.group(0))!r} {note}"))
    return flags


def scan_code(cells: list[tuple[str, str]]) -> list[Flag]:
    """Flags for ``[(where, source), ...]``: code cells (or files), scanned as one notebook."""
    parsed: list[tuple[str, ast.AST | None, str]] = []
    for where, source in cells:
        python = _to_python(source)
        try:
            parsed.append((where, ast.parse(python), python))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            parsed.append((where, None, source))
    aliases = _aliases([tree for _, tree, _ in parsed if tree is not None])
    flags: list[Flag] = []
    for where, tree, source in parsed:
        if tree is None:
            flags += _fallback(where, source)
            continue
        scanner = _Scanner(where, aliases)
        try:
            scanner.visit(tree)
        except RecursionError:
            flags += _fallback(where, source)
            continue
        flags += scanner.flags
    return _dedupe(flags)


def _dedupe(flags: list[Flag]) -> list[Flag]:
    """The first flag of each code in each cell: one line per finding is enough to go and look."""
    seen, out = set(), []
    for flag in flags:
        key = (flag.code, flag.detail.split(":", 1)[0])
        if key not in seen:
            seen.add(key)
            out.append(flag)
    return out


EXPORT_CALL = re.compile(r"\b(?:grader\.export|export_submission)\s*\(")


def _is_export_cell(source: str) -> bool:
    """The notebook's export cell (``grader.export(...)`` or the lab's wrapper around it)."""
    return bool(EXPORT_CALL.search(source))


def run_order(nb: dict) -> list[Flag]:
    """A flag if the notebook's code cells were not run once each, top to bottom, from a fresh kernel.

    "Restart and run all" numbers the non-empty code cells 1, 2, 3, ...; the export cell at the
    end may be unnumbered or numbered (it saves the notebook while it runs), so it is not judged.
    """
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and cell_source(c).strip()]
    while cells and _is_export_cell(cell_source(cells[-1])):
        cells = cells[:-1]
    if not cells:
        return []
    counts = [c.get("execution_count") for c in cells]
    numbered = [n for n in counts if isinstance(n, int)]
    if not numbered:
        return [Flag("run_order", f"none of the {len(cells)} code cells was run before export")]
    problems = []
    missing = sum(1 for n in counts if not isinstance(n, int))
    if missing:
        problems.append(f"{missing} of {len(cells)} code cells never run")
    backwards = sum(1 for a, b in zip(numbered, numbered[1:]) if b <= a)
    if backwards:
        problems.append(f"execution counts go backwards {backwards} time(s)")
    gaps = sum(1 for a, b in zip(numbered, numbered[1:]) if b > a + 1)
    if numbered[0] != 1:
        problems.append(f"the first run cell is [{numbered[0]}], not [1] (kernel not restarted)")
    if gaps:
        problems.append(f"{gaps} gap(s) in the execution counts (cells re-run or deleted)")
    if problems:
        return [Flag("run_order", "; ".join(problems))]
    return []


def extra_files(names: list[str], notebook: str) -> list[Flag]:
    """Flags for files shipped beside the notebook that the grading kernel could import or run."""
    flags = []
    for name in names:
        path = pathlib.PurePosixPath(name)
        if name == notebook or path.name in EXPECTED_EXTRA or name.endswith("/"):
            continue
        if path.parts and path.parts[0] in ("__MACOSX", ".ipynb_checkpoints"):
            continue
        if (
            path.suffix.lower() in CODE_SUFFIXES
            or path.parts[0] == "tests"
            or path.name.startswith(("sitecustomize", "usercustomize"))
        ):
            flags.append(Flag("extra_files", f"ships {name}"))
    return flags


def scan_notebook(nb: dict, shipped: list[str] | None = None, notebook_name: str = "") -> list[Flag]:
    """Every flag for a notebook (as parsed JSON) and the names of the files shipped with it."""
    cells = []
    for index, cell in enumerate(nb.get("cells", []) if isinstance(nb, dict) else [], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cells.append((f"cell {index}", cell_source(cell)))
    flags = scan_code(cells)
    flags += run_order(nb) if isinstance(nb, dict) else []
    flags += extra_files(shipped or [], notebook_name)
    order = list(FLAGS)
    return sorted(flags, key=lambda f: order.index(f.code) if f.code in order else len(order))


def flag_codes(flags: list[Flag]) -> list[str]:
    """The distinct codes of ``flags`` in FLAGS order."""
    present = {f.code for f in flags}
    return [code for code in FLAGS if code in present]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read the notebook: {exc}", file=sys.stderr)
            status = 2
            continue
        flags = scan_notebook(nb, notebook_name=path.name)
        print(f"{path}: {', '.join(flag_codes(flags)) or 'no flags'}")
        for flag in flags:
            print(f"  {flag}")
    return status


if __name__ == "__main__":
    sys.exit(main())
