"""Run as root: one unprivileged uid per concurrent sandbox (61000 + slot), held with a lock file."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from .limits import SandboxUnavailable

SLOT_UID_BASE = 61000  # run as root: the sandbox of slot n runs as uid 61000 + n
SLOTS = 1000
SLOT_LOCKS = Path("/run/lab05-sandbox") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir()) / "lab05-sandbox"


def privileged() -> bool:
    return os.geteuid() == 0


def acquire_slot() -> tuple[int, int]:
    """(uid, fd of the held lock) of a free slot."""
    SLOT_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(SLOT_LOCKS)
    if not (os.path.isdir(SLOT_LOCKS) and not os.path.islink(SLOT_LOCKS) and info.st_uid == os.geteuid()):
        raise SandboxUnavailable(f"{SLOT_LOCKS} is not a folder owned by uid {os.geteuid()}; remove it and retry")
    for slot in range(SLOTS):
        fd = os.open(SLOT_LOCKS / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return SLOT_UID_BASE + slot, fd
    raise RuntimeError(f"sandbox: all {SLOTS} sandbox slots are in use")


def chown_tree(root: Path, uid: int) -> None:
    os.lchown(root, uid, uid)
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)
