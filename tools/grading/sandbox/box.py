"""A command running in the sandbox: its start, the watcher of its limits, and its end."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .bwrap import supports
from .cgroups import Cgroup
from .limits import Limits, files_allowed, readable_size
from .processes import descendants, processes_in_namespace, resident, start_time
from .scratch import DIR_FLAGS, Budget, copy_folder, empty_folder, tmpfs_use

SETUP_TIMEOUT = 30.0  # seconds bwrap may take to start the command
GONE_TIMEOUT = 10.0  # seconds to wait for the sandbox's processes to disappear after a kill
WATCH_INTERVAL = 0.05  # seconds between two looks of the watcher at a sandbox's memory and tmpfs


_LIVE: set[Sandboxed] = set()  # started and not yet released: killed at exit
_LIVE_LOCK = threading.Lock()


class Sandboxed:
    """A command running in the sandbox (or, ``unsandboxed``, without it).

    ``popen`` is the ``subprocess.Popen`` of bwrap (of the command itself when unsandboxed).
    ``wait`` and ``kill`` leave no process of the sandbox alive, copy the sandbox's scratch back to
    the host folder and remove its cgroup; as a context manager it kills on exit. ``pid_namespace`` is
    the inode of the sandbox's PID namespace (None unsandboxed). ``memory_enforcement`` ("cgroup v1",
    "cgroup v2", "accounting"; None without a sandbox memory limit, or unsandboxed),
    ``scratch_enforcement`` ("tmpfs size", "watched"; None: the host folder), ``killed_for`` (why the
    sandbox was killed, or was found past a limit when it ended: "memory: ..." or "disk: ..."; None
    otherwise), ``peak_memory_bytes``, and
    ``scratch_skipped`` (what was not copied back) say how the sandbox-wide limits went.
    """

    def __init__(
        self,
        popen: subprocess.Popen,
        *,
        unsandboxed: bool,
        status_read: int | None = None,
        slot_fd: int | None = None,
        uid: int | None = None,
        private: str | None = None,
        limits: Limits | None = None,
        cgroup: Cgroup | None = None,
        sync: socket.socket | None = None,
        scratch: Path | None = None,
        watch: Sequence[tuple[str, int | None]] = (),
    ):
        self.popen = popen
        self.unsandboxed = unsandboxed
        self.uid = uid
        self.child_pid: int | None = None
        self.pid_namespace: int | None = None
        self.exit_code: int | None = None
        self.launcher_pid: int | None = None
        self.limits = limits or Limits()
        self.memory_enforcement: str | None = None
        self.scratch_enforcement: str | None = None
        self.killed_for: str | None = None
        self.peak_memory_bytes: int | None = None
        self.scratch_skipped: list[str] = []
        self._child_start: int | None = None
        self._slot_fd = slot_fd
        self._private = private
        self._cgroup = cgroup
        self._sync = sync
        self._scratch = scratch
        self._filled = False  # the scratch tmpfs holds the host folder: copy it back at the end
        self._watch_names = list(watch)
        self._watched: list[tuple[str, int, int | None]] = []  # (path inside, fd, size limit)
        self._started = threading.Event()
        self._exited = threading.Event()
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self._released = False
        self._lock = threading.Lock()
        self._owner = os.getpid()  # a forked child must not end its parent's sandboxes at its exit
        with _LIVE_LOCK:
            _LIVE.add(self)
        if status_read is not None:
            threading.Thread(
                target=self._read_status, args=(status_read,), daemon=True, name=f"sandbox-status-{popen.pid}"
            ).start()
        else:
            self._started.set()

    # bwrap writes JSON documents to the status fd: {"child-pid": ..., "pid-namespace": ...}, then
    # {"exit-code": ...} when the command exits.
    def _read_status(self, fd: int) -> None:
        decoder, buffer = json.JSONDecoder(), ""
        try:
            with os.fdopen(fd, "rb", buffering=0) as stream:
                while True:
                    chunk = stream.read(4096)
                    if not chunk:
                        break
                    buffer += chunk.decode("utf-8", "replace")
                    while buffer.strip():
                        try:
                            doc, end = decoder.raw_decode(buffer.lstrip())
                        except ValueError:
                            break
                        buffer = buffer.lstrip()[end:]
                        if "child-pid" in doc and self.child_pid is None:  # bwrap's, never a later one
                            self.child_pid = int(doc["child-pid"])
                            self._child_start = start_time(self.child_pid)
                            self.pid_namespace = doc.get("pid-namespace")
                            self._started.set()
                        if "exit-code" in doc:
                            self.exit_code = int(doc["exit-code"])
                            self._exited.set()
        finally:
            self._started.set()
            self._exited.set()

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _wait_started(self) -> None:
        if not self._started.wait(SETUP_TIMEOUT):
            self.kill()
            raise RuntimeError(f"sandbox: bwrap did not start the command within {SETUP_TIMEOUT:g} s")

    # -- the handshake with the launcher (see the module's docstring) -----------------------------
    def _handshake(self) -> None:
        sync, self._sync = self._sync, None
        names = self._watch_names
        try:
            sync.settimeout(SETUP_TIMEOUT)
            space = socket.CMSG_SPACE(len(names) * 4) + socket.CMSG_SPACE(struct.calcsize("3i"))
            try:
                message, ancillary, flags, _ = sync.recvmsg(16, space)
            except TimeoutError:
                raise RuntimeError(f"sandbox: the launcher did not start within {SETUP_TIMEOUT:g} s") from None
            fds, pid = [], None
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4]))
                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", data[:12])[0]
            if not message:  # bwrap or the launcher failed before it was ready: nothing runs
                for fd in fds:
                    os.close(fd)
                return
            if message != b"ready" or flags & socket.MSG_CTRUNC or len(fds) != len(names) or not pid:
                for fd in fds:
                    os.close(fd)
                raise RuntimeError("sandbox: the launcher's handshake was not understood")
            self.launcher_pid = pid
            self._watched = [(name, fd, size) for (name, size), fd in zip(names, fds)]
            self._enforce_memory(pid)
            if self._scratch is not None:
                self._fill_scratch(self._watched[-1][1])
            self._watcher = threading.Thread(target=self._watch, daemon=True, name=f"sandbox-watch-{self.popen.pid}")
            self._watcher.start()
            sync.sendall(b"go")
        finally:
            sync.close()

    def _enforce_memory(self, pid: int) -> None:
        if self._cgroup is not None:
            try:
                self._cgroup.add(pid)  # the launcher, and so every process of the command
            except OSError:
                self._cgroup.remove()
                self._cgroup = None
        if self.limits.sandbox_memory_bytes:
            self.memory_enforcement = self._cgroup.version if self._cgroup is not None else "accounting"

    def _fill_scratch(self, tmpfs: int) -> None:
        """Copy the host folder into the sandbox's scratch tmpfs, owned by the sandbox's uid."""
        host = os.open(self._scratch, DIR_FLAGS)
        try:
            os.fchmod(tmpfs, (os.fstat(host).st_mode & 0o777) | 0o700)
            if self.uid is not None:
                os.fchown(tmpfs, self.uid, self.uid)
            size = int(self.limits.scratch_bytes)
            budget = Budget(size, size, files_allowed(size), [])
            copy_folder(host, tmpfs, budget, self.uid)
        finally:
            os.close(host)
        if budget.skipped:
            raise RuntimeError(f"sandbox: scratch {self._scratch} cannot be copied into the sandbox: {budget.skipped}")
        self._filled = True
        self.scratch_enforcement = "tmpfs size" if supports("--size") else "watched"

    # -- the watcher --------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop_watch.wait(WATCH_INTERVAL):
            if self.killed_for is not None:
                continue
            try:
                reason = self._check()
            except Exception as exc:  # never a silent end of the watch: stop the sandbox instead
                reason = f"watch: {type(exc).__name__}: {exc}"
            if reason:
                self._violated(reason)

    def _check(self) -> str | None:
        """Why the sandbox must be killed now, or None."""
        tmpfs_bytes = 0
        for name, fd, size in self._watched:
            used, entries = tmpfs_use(fd)
            tmpfs_bytes += used
            if size is None:
                continue
            if used > size:
                return f"disk: {name} holds {readable_size(used)}, past its size of {readable_size(size)}"
            if entries > files_allowed(size) + 1:  # + its root
                return f"disk: {name} holds {entries} files and folders, past {files_allowed(size)}"
        limit = self.limits.sandbox_memory_bytes
        if not limit:
            return None
        if self._cgroup is not None:
            kills = self._cgroup.oom_kills()
            usage = self._cgroup.usage()
            if usage is not None:
                self.peak_memory_bytes = max(self.peak_memory_bytes or 0, usage)
            if kills:
                return self._memory_reason(f"the kernel killed {kills} of its processes")
            return None
        if not self.pid_namespace:
            return None
        total = tmpfs_bytes + sum(resident(pid) for pid in processes_in_namespace(self.pid_namespace))
        self.peak_memory_bytes = max(self.peak_memory_bytes or 0, total)
        if total > limit:
            return self._memory_reason(f"{readable_size(total)} counted")
        return None

    def _memory_reason(self, detail: str) -> str:
        limit = readable_size(self.limits.sandbox_memory_bytes)
        return f"memory: the sandbox's processes together reached its limit of {limit} ({self.memory_enforcement}: {detail})"

    def _violated(self, reason: str) -> None:
        if self.killed_for is None:
            self.killed_for = reason
        self._kill_processes()

    def _kill_processes(self) -> None:
        """SIGKILL the sandbox's PID 1 (the kernel then kills every process in it) and what is left."""
        pid, start = self.child_pid, self._child_start
        if pid and self.popen.poll() is None and start is not None and start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.pid_namespace:
            for p in processes_in_namespace(self.pid_namespace):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass

    # -- waiting and killing ------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> int:
        """The exit status, once the command and every process it left behind are gone.

        Raises ``subprocess.TimeoutExpired`` (and leaves everything running) after ``timeout`` s.
        """
        if self.unsandboxed:
            code = self.popen.wait(timeout)
            self._kill_unsandboxed()  # what it left behind in its session
            self._release()
            return code
        deadline = None if timeout is None else time.monotonic() + timeout
        # the command's own exit (even if it left processes behind), or bwrap's
        while not self._exited.is_set() and self.popen.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.popen.args, timeout)
            self._exited.wait(0.2 if left is None else min(0.2, left))
        self.kill()  # normally already gone with PID 1; otherwise this ends what is left
        return self.popen.returncode

    def kill(self) -> None:
        """Kill the command and every process of the sandbox; returns when none is left (and the
        sandbox's scratch is back in the host folder, its cgroup removed)."""
        with self._lock:
            gone = False
            try:
                if self.unsandboxed:
                    self._kill_unsandboxed()
                else:
                    self._kill_sandbox()
                gone = True
            finally:
                self._release(gone)

    def _kill_sandbox(self) -> None:
        self._kill_processes()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()  # bwrap itself; --die-with-parent then kills the sandbox's PID 1
            self.popen.wait()
        if self.pid_namespace:
            deadline = time.monotonic() + GONE_TIMEOUT
            while True:
                left = processes_in_namespace(self.pid_namespace)
                if not left:
                    break
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sandbox: processes {left} of the sandbox survived SIGKILL")
                time.sleep(0.05)

    def _kill_unsandboxed(self) -> None:
        """Best effort without the sandbox: the command's session and the processes below it."""
        pid = self.popen.pid
        victims = set(descendants(pid))
        if self.popen.poll() is None:
            victims.add(pid)
        for _ in range(3):  # freeze, then look again for what they started meanwhile
            for p in list(victims):
                try:
                    os.kill(p, signal.SIGSTOP)
                except OSError:
                    pass
                victims |= set(descendants(p))
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()

    def _release(self, gone: bool = True) -> None:
        """Once the sandbox's processes are gone (``gone``): its scratch back to the host folder, its
        tmpfs, cgroup and slot let go. Runs once."""
        if self._released:
            return
        self._released = True
        self._stop_watch.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)
        try:
            if self._sync is not None:
                self._sync.close()
            for stream in (self.popen.stdin,):
                if stream:
                    try:
                        stream.close()
                    except OSError:
                        pass
            if self.killed_for is None and (self._watched or self._cgroup is not None):
                self.killed_for = self._check()  # a last look: what ended past a limit between two looks
            if self._cgroup is not None:
                peak = self._cgroup.peak()
                if peak is not None:
                    self.peak_memory_bytes = peak
            if self._filled:
                if gone:
                    self._copy_back(self._watched[-1][1])
                else:
                    self.scratch_skipped.append("everything: processes of the sandbox survived, nothing was copied")
        finally:
            for _, fd, _ in self._watched:
                os.close(fd)
            self._watched = []
            if self._cgroup is not None:
                self._cgroup.remove()
            if self._slot_fd is not None:
                os.close(self._slot_fd)
            if self._private:
                shutil.rmtree(self._private, ignore_errors=True)
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def _copy_back(self, tmpfs: int) -> None:
        """The sandbox's scratch over the host folder: at most scratch_bytes (see copy_folder)."""
        size = int(self.limits.scratch_bytes)
        budget = Budget(size, size, files_allowed(size), self.scratch_skipped)
        try:
            host = os.open(self._scratch, DIR_FLAGS)
        except OSError as exc:
            self.scratch_skipped.append(f"everything: {self._scratch} cannot be opened ({exc.strerror})")
            return
        try:
            empty_folder(host)
            copy_folder(tmpfs, host, budget, None)
        except OSError as exc:
            self.scratch_skipped.append(f"the rest: {exc}")
        finally:
            os.close(host)

    def __enter__(self) -> Sandboxed:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


@atexit.register
def _kill_left_behind() -> None:
    with _LIVE_LOCK:
        boxes = [box for box in _LIVE if box._owner == os.getpid()]
    for box in boxes:
        try:
            box.kill()
        except Exception:
            pass
