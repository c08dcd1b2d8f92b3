"""The probe: runs a student's notebook code again, in a confined process, and answers calls.

Trusted scoring starts this script in a process that cannot read the reference, the hidden
tests or any expected value (an unprivileged user on Gradescope, a bubblewrap sandbox locally).
It runs the notebook's code cells in order in an IPython shell, as a kernel would (figures,
widgets, ``grader.check`` and the export are no-ops here), then answers the grader's requests,
one JSON line each (see :mod:`lab05_autograder.wire`):

    {"op": "call", "name": f, "args": [...], "kwargs": {...}}
        call the student's ``f``, with the notebook's own other functions in place
    {"op": "get", "name": v}     the value of a global (functions are only announced)
    {"op": "has", "name": v}     whether a global exists
    {"op": "file", "name": n}    the text of a file the notebook wrote in its folder
    {"op": "stats"}              the CPU seconds this process used (reported, never trusted)

The grader sends nothing but its requests: no reference value, no expected answer, and nothing
computed from one ever reaches this process. The graded functions are the ones the notebook
defined: a name the notebook later bound to a value (``n = parameter_count = 101770``) or deleted
is given back the last function it held, so a careless line costs no points it did not earn.

The grader enforces every time limit from outside, by killing this process. Nothing here is
trusted: a notebook can change any of it, and can only ever change its own answers.
"""

from __future__ import annotations

import os
import resource
import sys
import types
import warnings

# Run as a script with -I (nothing of the grader's environment on the path): the folder holding this
# package's copy (the probe's working folder, beside the support package) goes first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lab05_autograder import wire  # noqa: E402

MAX_FILE_BYTES = 1024 * 1024
FILES = ("design_ledger.json",)


class Channel:
    """The probe's end of the pipe to the grader (kept off the student's stdin and stdout)."""

    def __init__(self):
        self.reader = os.fdopen(os.dup(0), "rb", buffering=0)
        self.writer = os.fdopen(os.dup(1), "wb", buffering=0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        log = os.open("probe_output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)

    def send(self, message) -> None:
        self.writer.write(wire.dumps(message))

    def receive(self):
        line = self.reader.readline(wire.MAX_MESSAGE_BYTES + 1)
        if not line:
            raise SystemExit(0)  # the grader is done (or gone)
        return wire.loads(line)


def stub_otter() -> None:
    """An ``otter`` module whose Notebook does nothing: checks and exports are the kernel run's."""

    class Notebook:
        _grading_mode = True

        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module = types.ModuleType("otter")
    module.Notebook = Notebook
    module.__version__ = "probe"
    sys.modules["otter"] = module


def run_cells(channel: Channel, shell, cells: list, skip: set, graded: list) -> None:
    """Run the notebook's cells in order; then give each graded name the last function it held."""
    ns = shell.user_ns
    defined: dict = {}
    for index, source in enumerate(cells):
        if index in skip or type(source) is not str:
            continue
        channel.send({"event": "cell", "index": index})
        try:
            shell.run_cell(source, store_history=False)
        except BaseException:  # noqa: BLE001 - a cell that raises is the notebook's problem
            pass
        for name in graded:
            value = ns.get(name)
            if callable(value) and not isinstance(value, type):
                defined[name] = value
    for name, function in defined.items():
        if not callable(ns.get(name)):
            ns[name] = function  # shadowed by a value, or deleted, after it was defined
    channel.send({"event": "ready"})


def describe_error(exc: BaseException) -> dict:
    base = next((c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"), "Exception")
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001
        text = ""
    return {"type": wire.safe_name(type(exc).__name__), "base": base, "message": wire.short(text)}


class Grader:
    """Serves the grader's requests against the notebook's globals."""

    def __init__(self, channel: Channel, namespace: dict):
        self.channel = channel
        self.ns = namespace

    def call(self, request: dict) -> dict:
        name = request.get("name")
        fn = self.ns.get(name)
        if fn is None:
            return {"missing": True}
        if not callable(fn):
            return {"not_callable": wire.safe_name(type(fn).__name__)}
        args = wire.decode(request.get("args", []))
        kwargs = wire.decode(request.get("kwargs", {"$dict": []}))
        if type(args) is not list or type(kwargs) is not dict:
            return {"bad_request": "arguments that are not a list and a dict"}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported to the grader
                return {"error": describe_error(exc), "warnings": _warnings(caught)}
        return {"value": wire.encode(value), "warnings": _warnings(caught)}

    def get(self, request: dict) -> dict:
        name = request.get("name")
        if name not in self.ns:
            return {"missing": True}
        value = self.ns[name]
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return {"function": True}
        if callable(value) and not isinstance(value, type):
            return {"function": True}
        return {"value": wire.encode(value)}

    def read_file(self, request: dict) -> dict:
        name = request.get("name")
        if name not in FILES or not os.path.isfile(name) or os.path.islink(name):
            return {"text": None}
        with open(name, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return {"too_large": True}
        text = data.decode("utf-8", errors="replace")
        ledger = sys.modules.get("lab05.ledger")
        written = getattr(ledger, "LAST_WRITTEN", None)
        # whether the notebook wrote it through the lab's own function (the record cell)
        return {"text": text, "written": isinstance(written, dict) and written.get("text") == text}

    def serve(self) -> None:
        while True:
            request = self.channel.receive()
            op = request.get("op") if type(request) is dict else None
            try:
                if op == "call":
                    reply = self.call(request)
                elif op == "get":
                    reply = self.get(request)
                elif op == "has":
                    reply = {"value": request.get("name") in self.ns}
                elif op == "file":
                    reply = self.read_file(request)
                elif op == "stats":  # for the grader's benchmarks only: CPU seconds used here
                    used = resource.getrusage(resource.RUSAGE_SELF)
                    reply = {"cpu_seconds": used.ru_utime + used.ru_stime}
                else:
                    reply = {"bad_request": True}
            except wire.WireError as exc:
                reply = {"bad_request": str(exc)}
            try:
                self.channel.send({"reply": reply})
            except wire.WireError as exc:  # an answer too large to send is the function's failure
                error = {"type": "ValueError", "base": "ValueError", "message": f"its answer cannot be sent: {exc}"}
                self.channel.send({"reply": {"error": error}})


def _warnings(caught) -> list:
    return [
        {"category": wire.safe_name(w.category.__name__), "message": wire.short(w.message)}
        for w in caught
        if issubclass(w.category, RuntimeWarning)
    ][:5]


def main() -> None:
    channel = Channel()
    setup = channel.receive()
    stub_otter()
    os.environ["MPLBACKEND"] = "Agg"  # no display here; figures are skipped while grading anyway
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    graded = [name for name in setup.get("graded", []) if type(name) is str]
    run_cells(channel, shell, list(setup.get("cells", [])), set(setup.get("skip", [])), graded)
    Grader(channel, shell.user_ns).serve()


if __name__ == "__main__":
    main()
