"""Hostile submissions: each one tries to earn points it did not, or to reach the grader.

Every attack starts from the untouched student notebook (whose honest score is 0 on every
question) and adds what a cheating student would. Used by tests/test_trusted_scoring.py; the
local-grading tests reuse them.
"""

from __future__ import annotations

import copy

import nbformat

from tools.layout import NOTEBOOK, STUDENT

GRADED = (
    "transistor_tax",
    "extra_transistors",
    "sigmoid_derivative",
    "gradient_bound",
    "stall_depth",
    "parameter_count",
    "layer_macs",
    "training_memory",
    "inference_memory",
    "max_trainable_width",
)


def blank() -> nbformat.NotebookNode:
    nb = nbformat.read(str(STUDENT / NOTEBOOK), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def with_cells(*sources: str) -> nbformat.NotebookNode:
    """The blank notebook with ``sources`` as new code cells before its last code cell (the export).

    The notebook's own ``grader.check`` calls are removed, so that Otter runs every test at the
    end, after the attack (as a cheater who wants the forged results counted would do).
    """
    nb = copy.deepcopy(blank())
    for cell in nb.cells:
        if cell.cell_type == "code" and "grader.check(" in cell.source:
            cell.source = "\n".join(line for line in cell.source.splitlines() if "grader.check(" not in line)
    last = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    for offset, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"attack-{offset}"
        nb.cells.insert(last + offset, cell)
    return nb


# Module and attribute names are built at run time, as a careful cheater would.
DYNAMIC_IMPORT = f"""
import importlib
_ref = importlib.import_module("lab05_" + "refer" + "ence")
for _name in {list(GRADED)!r}:
    globals()[_name] = getattr(_ref, _name)
_hid = importlib.import_module("lab05_" + "hid" + "den")
for _name, _value in getattr(_hid, "ANS" + "WERS").items():
    globals()[_name] = _value
"""

FRAME_WALK = f"""
import sys as _sys

def _steal(name):
    def stolen(*args, **kwargs):
        frame = _sys._getframe(1)
        while frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                for value in list(scope.values()):
                    for candidate in (value, getattr(value, name, None)):
                        if callable(candidate) and getattr(candidate, "__name__", "") == name \\
                                and "refer" in getattr(candidate, "__module__", ""):
                            return candidate(*args, **kwargs)
            frame = frame.f_back
        for module in list(_sys.modules.values()):
            candidate = getattr(module, name, None)
            if callable(candidate) and "refer" in getattr(candidate, "__module__", ""):
                return candidate(*args, **kwargs)
        raise NotImplementedError(name)
    stolen.__name__ = name
    return stolen

for _name in {list(GRADED)!r}:
    globals()[_name] = _steal(_name)
"""

STR_SUBCLASS = """
class _Anything(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
    def strip(self, *args):
        return self
    def lower(self):
        return self

act1_reflection_reason = act1_failure_mode = act2_reflection = deployment_answer = _Anything("A")
"""

CHECKER_FORGE = """
import importlib
_exc = importlib.import_module("otter.test_files." + "exception_test")
_abs = importlib.import_module("otter.test_files." + "abstract_test")

def _all_passed(self, env):
    self.test_case_results = [_abs.TestCaseResult(test_case=tc, message="ok", passed=True)
                              for tc in self.test_cases]

setattr(getattr(_exc, "Exception" + "TestFile"), "r" + "un", _all_passed)
"""

CAPTURE_FORGE = "%%capture\n" + CHECKER_FORGE

REWRITE_TESTS = """
import glob, re
for _path in glob.glob("tests/*.py"):
    with open(_path) as _f:
        _text = _f.read()
    # every line of every test case's body becomes `pass`: each case passes in the kernel
    _text = re.sub(r"\\n    (?!from |import )[^\\n]+", "\\n    pass", _text)
    with open(_path, "w") as _f:
        _f.write(_text)
"""

CHECK_WITH_REFERENCE_ENV = f"""
import importlib
_ref = importlib.import_module("lab05_" + "reference")
_env = dict(globals())
_env.update({{n: getattr(_ref, n) for n in {list(GRADED)!r}}})
for _q in ["transistor_tax", "sigmoid_derivative", "gradient_decay", "parameters_and_macs",
           "training_memory", "max_trainable_width"]:
    grader.check(_q, _env)
"""


def pickle_payload(marker: str) -> str:
    """Replaces pickle.dump in the kernel: the results file then runs code when unpickled."""
    return f"""
import os, pickle
class _Payload:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
_real_dump = pickle.dump
pickle.dump = lambda obj, f, *args, **kwargs: _real_dump(_Payload(), f)
"""


LEAK_REFERENCE = """
def transistor_tax(activation, baseline="relu"):
    import glob
    found = (glob.glob("**/lab05_reference.py", recursive=True)
             + glob.glob("/tmp/**/lab05_reference.py", recursive=True)
             + glob.glob("/autograder/**/lab05_reference.py", recursive=True))
    raise ValueError(open(found[0]).read() if found else "no reference found")
"""


def otter_log_payload(marker: str) -> bytes:
    """A ``.OTTER_LOG`` whose unpickling runs a shell command (Otter dill-loads this file)."""
    import os
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Payload())


#: name -> the cells a hostile student adds to the blank notebook
FORGERIES = {
    "dynamic_import_of_the_reference": [DYNAMIC_IMPORT],
    "frame_walk_to_the_reference": [FRAME_WALK],
    "str_subclass_equal_to_anything": [STR_SUBCLASS],
    "checker_results_set_to_passed": [CHECKER_FORGE],
    "checker_forged_inside_capture_magic": [CAPTURE_FORGE],
    "test_files_rewritten": [REWRITE_TESTS],
    "grader_check_with_reference_env": [CHECK_WITH_REFERENCE_ENV],
}


# ---------------------------------------------------------------------------------------------
# Careless and hostile lines that trusted scoring itself must not reward
# ---------------------------------------------------------------------------------------------
def appended(nb: nbformat.NotebookNode, *sources: str) -> nbformat.NotebookNode:
    """``nb`` with ``sources`` as new code cells at its very end (after the export cell)."""
    nb = copy.deepcopy(nb)
    for offset, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"late-{offset}"
        nb.cells.append(cell)
    return nb


#: A student keeping a number "for later", and one "done with" a function: each shadows a graded
#: function with a value after defining it.
CARELESS_SHADOWING = ["n_params = parameter_count = 101770", "transistor_tax = None"]

#: The probe's own encoder made to send what the decoder must refuse: a NumPy scalar whose value
#: does not fit its type. Every reply is then unreadable: the scoring must fail closed.
HOSTILE_REPLIES = """
import sys as _sys
_wire = _sys.modules.get("lab05_autograder" + ".wire")
if _wire is not None:
    _wire.encode = lambda value, depth=0: {"$np": ["<i1", 10**30]}
"""

#: Every graded function records its arguments and, when a public test calls transistor_tax, tries
#: to learn what the other graded names answer for them, and prints that into the public output.
ORACLE_PROBE = f"""
_seen = []
_names = {list(GRADED)!r}

def _recorder(name):
    def record(*args, **kwargs):
        _seen.append((name, args, kwargs))
        raise NotImplementedError(name)
    record.__name__ = name
    return record

for _n in _names[1:]:
    globals()[_n] = _recorder(_n)

def transistor_tax(activation, baseline="relu"):
    answers = []
    for name, args, kwargs in list(_seen):
        try:
            answers.append((name, args, globals()[name](*args, **kwargs)))
        except BaseException as exc:
            answers.append((name, args, repr(exc)))
    raise ValueError("LEAK " + repr(answers)[-2000:])
"""

#: A training_memory that gives one answer the first time it is asked about an input, and the
#: right one afterwards, with a batch-doubling ratio to match the first answers: it cannot have
#: both its own test and the batch-doubling question.
FIRST_ANSWER_FAKE = """
_true_training_memory = training_memory
_asked = set()

def training_memory(layer_sizes, batch_size, bytes_per_value=4, optimizer="adam"):
    memory = _true_training_memory(layer_sizes, batch_size, bytes_per_value, optimizer)
    key = (tuple(layer_sizes), batch_size, bytes_per_value, optimizer)
    if key not in _asked and list(layer_sizes) == [784, 128, 64, 10]:
        _asked.add(key)
        memory = dict(memory, total=1000 * batch_size)
    return memory

batch_doubling_ratio = 2.0
"""

#: Two graded functions defined through each other: they work nowhere.
MUTUAL_DEFINITIONS = """
def parameter_count(layer_sizes):
    return sum(layer_macs(layer_sizes)) + sum(layer_sizes[1:])

def layer_macs(layer_sizes):
    sizes = list(layer_sizes)
    return [parameter_count([a, b]) - b for a, b in zip(sizes[:-1], sizes[1:])]
"""

#: The last cell ends the kernel's process (and the probe's).
KERNEL_EXIT = "import os\nos._exit(0)"

#: Every graded function answers with as many values of distinct made-up types as a message holds.
OPAQUE_FLOOD = f"""
_kinds = [type(f"T{{i}}", (), {{}}) for i in range(60_000)]
_flood = [kind() for kind in _kinds]

def _flooding(*args, **kwargs):
    return _flood

for _n in {list(GRADED)!r}:
    globals()[_n] = _flooding
"""
