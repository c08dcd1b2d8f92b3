"""Run an untrusted command (a student's notebook, through Otter) inside bubblewrap.

    box = sandbox.start([python, "-c", code], scratch=folder, readonly=[bundle])
    outcome = sandbox.run(argv, timeout=600, scratch=folder, readonly=[bundle])

What the sandboxed command gets:

- a new root holding, read-only, /usr (with /bin, /sbin, /lib* as on the host), the parts of /etc
  that programs need to start, the Python environment (``sys.prefix`` and ``sys.base_prefix``)
  and the ``readonly`` paths; nothing else of the host (no project checkout, no HOME) is there;
- of the environment's packages, those of Gradescope's grading environment only: what only the
  project's tests install (:func:`hidden_site_entries`) is absent, as it is on Gradescope;
- a private ``/tmp`` (HOME and the Jupyter, IPython and Matplotlib folders) and its own copy of the
  host folder ``scratch`` at that folder's path (below), both size-limited tmpfs;
- its own network (loopback only), PID, IPC, UTS and cgroup namespaces, a new terminal session,
  and death with its parent (``bwrap --die-with-parent``);
- an unprivileged uid, a cleared environment (PATH, LANG, the venv, the private folders and the
  caller's ``env``), and the limits of :class:`Limits`, which it cannot raise.

Limits. The defaults of :class:`Limits` are those of Otter's kernel in ``assignment/lab05_autograder/policy.py``
(``Limits.probe()``: the probe's); nothing here states a value.

Per process: ``memory_bytes`` (RLIMIT_AS, address space), ``file_size_bytes`` (RLIMIT_FSIZE, largest
file), ``open_files`` (RLIMIT_NOFILE) and ``cpu_seconds`` (RLIMIT_CPU), core files off; rlimits with
soft = hard, set by the launcher before the command runs, inherited by every process it starts.

Per sandbox, all its processes together:

- ``processes``: RLIMIT_NPROC of the sandbox's own uid (below), and ``pids.max`` of its cgroup where
  there is one. Threads count as processes.
- ``sandbox_memory_bytes``: the memory of all its processes together, its tmpfs files included.
  Where this process can create cgroups (root on a cgroup v1 machine with writable ``memory`` and
  ``pids`` hierarchies, or cgroup v2 alone with the memory controller delegated to its cgroup), each
  sandbox gets one, a child of this process's own cgroup: ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` (v2: ``memory.max``, ``memory.swap.max`` = 0 and
  ``memory.oom.group``), ``pids.max``. The kernel then counts every page the sandbox charges (its
  processes' memory, its page cache, its /tmp and scratch files, kernel memory) and never lets the
  total pass the limit; when the kernel kills a process for it, the whole sandbox is killed. Elsewhere
  (not root, read-only cgroupfs, or ``USE_CGROUPS`` off / ``LAB05_SANDBOX_CGROUPS=0``) a watcher thread
  adds up every 50 ms the proportional resident memory (``Pss`` of ``/proc/<pid>/smaps_rollup``) of
  each process of the sandbox and the space used on its tmpfs (/tmp, scratch, /dev), and kills the
  whole sandbox when the sum passes the limit: best effort, it can overshoot by what the sandbox
  allocates in one interval, and it does not see kernel memory or a memfd that no process maps.
  ``Sandboxed.memory_enforcement`` says which ran ("cgroup v1", "cgroup v2" or "accounting"),
  ``Sandboxed.killed_for`` why the sandbox was killed (``"memory: ..."``, ``"disk: ..."``), and
  ``Sandboxed.peak_memory_bytes`` the highest total seen (the kernel's own, with a cgroup).
  A cgroup is created before the command starts and removed once its processes are gone; one left
  by a caller that died is removed by the first sandbox another process starts (its name holds the
  owner's pid and start time).
- ``tmp_bytes``: the size of /tmp (a tmpfs: writes past it fail with ENOSPC).
- ``scratch_bytes``: all the sandbox writes to ``scratch``. The host folder is not mounted in the
  sandbox: its ``scratch`` is a tmpfs of that size at the host folder's path, filled with a copy of
  the host folder before the command starts and copied back over it once every process of the
  sandbox is gone, so that callers read the outputs (Otter's results.json, the probe's files) where
  they always did, after ``wait``/``run``/``kill`` (not while it runs). The kernel bounds the tmpfs,
  files deleted but kept open, sparse files and hard links included; the copy back writes at most
  ``scratch_bytes`` of data and :func:`files_allowed` entries, at most :data:`MAX_DEPTH` folders
  deep: folders, regular files (holes kept) and symbolic links only (copied, never followed), no
  setuid, setgid or sticky bit. ``Sandboxed.scratch_skipped`` names what it left out. The grader's
  disk thus receives at most ``scratch_bytes`` per sandbox, and only once it has stopped. Not chosen:
  a watcher of the host folder (it races with the writes and misses deleted-but-open files), a tmpfs
  mounted on the host folder (root only, and it outlives a caller that crashes). This tmpfs belongs
  to the sandbox's mount namespace, and this process holds it through a file descriptor only: nothing
  stays mounted, whatever happens. ``scratch_bytes=None`` binds the host folder itself (unbounded but
  for RLIMIT_FSIZE).
- The watcher also kills a sandbox whose /tmp or scratch holds more entries than
  :func:`files_allowed` (one per 16 KiB of its size, at least 1024) and, with a bwrap older than 0.7
  (no ``--size``: tmpfs without a size), one whose /tmp or scratch passes its size (``fstatvfs`` every
  50 ms: that may overshoot, in memory, by what is written in one interval; the copy back still
  writes at most ``scratch_bytes``).

How the sandbox starts, race-free: bwrap runs a small launcher (trusted Python, ``-I -S``) as its
command. The launcher opens /tmp, /dev and scratch, sends their descriptors over a socket to this
process (which receives, with them, the launcher's pid as the kernel reports it, SCM_CREDENTIALS),
and waits. This process writes that pid into the sandbox's cgroup, fills the scratch tmpfs, starts the
watcher and answers "go"; only then does the launcher drop its uid, set the rlimits and execute the
command. Every process of the command is therefore in the cgroup and sees a full scratch from its
first instruction; if this process dies first, the launcher never runs the command.

The process limit (RLIMIT_NPROC) only works for a non-root user: the kernel does not apply it to
uid 0. Run as a normal user, bwrap maps the sandbox's uid 65534 to the caller in a new user
namespace, and the limit then counts the sandbox's processes only (the count is kept per user
namespace). Run as root (CI), bwrap runs privileged without a user namespace, and the launcher
switches to a dedicated uid, 61000 + slot (one slot per concurrent sandbox, held with a lock file),
before it sets the limits and executes the command: the limit then counts exactly that sandbox's
processes. Either way the command runs with no capabilities and ``no_new_privs``.

The time limit is kept by the caller (``wait``/``run``): when it runs out, the sandbox's PID 1 is
killed, and with it the kernel kills every process of the sandbox, whatever it did (double fork,
setsid, SIGSTOP, ignored signals). ``kill`` returns only once no process of the sandbox is left.
Sandboxes still running when this interpreter exits are killed (atexit).

Where bubblewrap cannot run, :func:`check_available` raises :class:`SandboxUnavailable`; nothing
falls back silently. ``unsandboxed=True`` (callers drive it from ``UNSANDBOXED=1``) runs the same
command with the per-process limits (except the process limit), a new session and the outer timeout
only (no sandbox-wide limit, the host folder ``scratch`` itself), and the result says so, so that it
can be recorded.

The modules, one job each: :mod:`.limits` (the policy, :class:`Limits`, sizes), :mod:`.bwrap` (the
command line and the launcher), :mod:`.slots` (a uid per sandbox, run as root), :mod:`.cgroups`,
:mod:`.scratch` (the scratch tmpfs, filled and copied back), :mod:`.processes` (what /proc shows),
:mod:`.box` (:class:`Sandboxed`: the handshake, the watcher, the end) and :mod:`.launch`
(:func:`start`, :func:`run`, :func:`check_available`). Callers import this package only.
"""

from .box import Sandboxed
from .bwrap import SANDBOX_UID, command, hidden_site_entries, python_executable
from .cgroups import leftover_cgroups, own_cgroups
from .launch import Outcome, check_available, run, start
from .limits import Limits, SandboxUnavailable, files_allowed, policy
from .processes import processes_in_namespace
from .scratch import MAX_DEPTH, copy_folder
from .slots import SLOT_UID_BASE

__all__ = [
    "MAX_DEPTH",
    "SANDBOX_UID",
    "SLOT_UID_BASE",
    "Limits",
    "Outcome",
    "SandboxUnavailable",
    "Sandboxed",
    "check_available",
    "command",
    "copy_folder",
    "files_allowed",
    "hidden_site_entries",
    "leftover_cgroups",
    "own_cgroups",
    "policy",
    "processes_in_namespace",
    "python_executable",
    "run",
    "start",
]
