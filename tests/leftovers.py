"""What a test looks for after grading or a sandbox has ended: live processes that mention a token.

A test plants a token (a uuid) in the command line of what a submission or a sandboxed script
starts, and afterwards expects no live process that mentions it (zombies are dead: not counted).
"""

from __future__ import annotations

import os
import pathlib


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (exists, and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_mentioning(*needles: str) -> list[str]:
    """``pid: cmdline`` of the live processes whose command line mentions any of ``needles``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (
                pathlib.Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        if any(n in cmdline for n in needles) and alive(int(entry.name)):
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def pids_mentioning(*needles: str) -> list[int]:
    """The pids of :func:`processes_mentioning`."""
    return [int(found.split(":", 1)[0]) for found in processes_mentioning(*needles)]
