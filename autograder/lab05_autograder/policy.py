"""Every limit and name of grading, written once.

Read by trusted scoring (:mod:`lab05_autograder.plugin` and the modules it hands work to), the
probe and its wire (:mod:`lab05_autograder.probe`, :mod:`lab05_autograder.wire`), the local
sandbox (``tools/grading/sandbox/limits.py``), ``make grade-one``, ``make grade``, the benchmarks,
and the tests that check what the README says of them. Change a limit here; nothing else states
its value. This module imports nothing and holds no reference value: it ships to the probe too.
"""

from __future__ import annotations

KiB = 1024
MiB = 1024**2
GiB = 1024**3

# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------
#: Seconds one submission may take, everything included (Gradescope's autograder timeout, and
#: the default of make grade-one and make grade).
SUBMISSION_TIMEOUT_S = 900.0
#: Seconds the probe may take to start (interpreter, NumPy, IPython), before any cell runs.
PROBE_START_S = 60.0
#: Seconds one call of a student function may take in the probe (wall-clock time: generous, so
#: that a busy grading machine costs no honest points; a correct function answers in milliseconds).
CALL_S = 10.0
#: Seconds a call may take once the same function has run out of time: a timeout costs each test
#: once, but a loop that never ends should not cost the full limit in every test.
AFTER_TIMEOUT_CALL_S = 3.0
#: Most starts of the probe for one submission (a restart follows every timeout).
PROBE_MAX_STARTS = 40

# ---------------------------------------------------------------------------------------------
# Memory, processes and disk
# ---------------------------------------------------------------------------------------------
#: Otter's run (the notebook's kernel, and grade-one's sandbox around it): address space of one
#: process, processes of the sandbox, and memory of the whole sandbox together.
KERNEL_MEMORY_BYTES = 4 * GiB
KERNEL_PROCESSES = 256
KERNEL_SANDBOX_MEMORY_BYTES = 4 * GiB
#: The probe (the notebook's code, re-run for trusted scoring): the same three limits.
PROBE_MEMORY_BYTES = 2 * GiB
PROBE_PROCESSES = 64
PROBE_SANDBOX_MEMORY_BYTES = 2 * GiB
#: Largest file a sandboxed process may write (RLIMIT_FSIZE), in Otter's sandbox and the probe's.
KERNEL_FILE_BYTES = 256 * MiB
PROBE_FILE_BYTES = 64 * MiB
#: Open files of one sandboxed process.
OPEN_FILES = 1024
#: Size of a sandbox's private /tmp, and of all it may write to its scratch folder together.
SANDBOX_TMP_BYTES = 512 * MiB
SANDBOX_SCRATCH_BYTES = 512 * MiB
#: Least address space a grader may set per process (less cannot start a kernel).
MIN_MEMORY_BYTES = 512 * MiB
#: Address space of the process that scores one submission (trusted scoring, local grading).
SCORER_MEMORY_BYTES = 1 * GiB

# ---------------------------------------------------------------------------------------------
# What the probe may send
# ---------------------------------------------------------------------------------------------
#: Largest message either side accepts, in bytes of JSON text.
WIRE_MESSAGE_BYTES = 8 * MiB
#: Deepest nesting of lists, tuples and dicts in one value.
WIRE_MAX_DEPTH = 24
#: Most elements in one array.
WIRE_ARRAY_ELEMENTS = 1_000_000
#: Most values (containers, numbers, strings, array elements) one message may decode into.
WIRE_MAX_VALUES = 2_000_000
#: Longest text kept from a repr or an exception message.
WIRE_TEXT_CHARS = 300
#: Most bytes the probe may send for one submission, all replies together.
WIRE_SUBMISSION_BYTES = 16 * MiB
#: Most requests (calls of student code, reads of its values) trusted scoring makes for one
#: submission (the tests need far fewer).
MAX_CALLS = 5_000

# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------
#: Flags a graded row may carry (results.json's output names them; make grade's grades.csv too).
FLAG_KERNEL_RESULTS_DIFFER = "kernel_results_differ"
FLAG_KERNEL_DIED = "kernel_died"
FLAG_SCORING_ERROR = "scoring_error"
#: Environment variable whose value "external" turns the bundle's plugin off (Otter's run alone; the
#: trusted-scoring benchmark compares the two).
EXTERNAL_ENV = "LAB05_TRUSTED_SCORING"
#: Files a submission must not bring to the grader: Otter deserializes them.
UNTRUSTED_PICKLES = (".OTTER_LOG",)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".dill")
#: Unprivileged users (the grader being root, as on Gradescope): the probe, and Otter's kernel. A
#: grading run takes a free slot n of UID_SLOTS and uses PROBE_UID - 2n and KERNEL_UID - 2n, so that
#: runs on one machine never kill each other's processes (each kills every process of its users).
PROBE_UID = 65534
KERNEL_UID = 65533
UID_SLOTS = 100
