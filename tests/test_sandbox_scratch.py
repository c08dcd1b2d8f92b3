"""Scratch and /tmp (tools/grading/sandbox/scratch.py): what all the sandbox's processes write is bounded,
and the copy back to the host follows no link and stays within the budget.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess

import pytest
from sandboxed import script

from tools.grading import sandbox
from tools.grading.sandbox.limits import MiB

pytestmark = pytest.mark.usefixtures("bwrap_works")


DISK_FLOOD = """
import json, os, sys, time
where, kept, results = sys.argv[1], [], []
with open(os.path.join(where, "small.txt"), "w") as f:
    f.write("kept")
for i in range(4):
    name = os.path.join(where, "big%d" % i)
    try:
        f = open(name, "wb", buffering=0)
        kept.append(f)
        for _ in range(30):
            f.write(b"x" * 1024**2)
        results.append("written")
    except OSError as exc:
        results.append(exc.strerror)
    if i % 2:
        os.unlink(name)  # deleted, but kept open: its space is still used
used = sum(os.fstat(f.fileno()).st_blocks * 512 for f in kept)
print(json.dumps({"results": results, "used": used}), flush=True)
if sys.argv[2] == "hold":  # keep it all
    time.sleep(60)
"""


def _on_disk(folder: pathlib.Path) -> tuple[int, int]:
    """(bytes of the regular files under ``folder``, bytes of their blocks), no link followed."""
    size = blocks = 0
    for path in folder.rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            size, blocks = size + info.st_size, blocks + info.st_blocks * 512
    return size, blocks


@pytest.fixture(params=["tmpfs size", "watched"])
def disk_enforcement(request, monkeypatch):
    """How a full /tmp or scratch is stopped: by the tmpfs's size (bwrap 0.7+), or by the watcher
    (a bwrap without --size, simulated). The watcher looks every 50 ms at what the sandbox holds: there
    the attack holds its files (a burst that exits between two looks is bounded by the copy back,
    which writes at most the budget to disk, and by memory, not stopped)."""
    if request.param == "watched":
        monkeypatch.setitem(sandbox.bwrap._FEATURES, "--size", False)
    return request.param


def test_all_the_sandbox_writes_to_scratch_together_is_limited(scratch, disk_enforcement):
    budget = 64 * MiB
    (scratch / "input.txt").write_text("from the caller")
    limits = sandbox.Limits(scratch_bytes=budget)
    with sandbox.start(
        script(DISK_FLOOD, str(scratch), "hold" if disk_enforcement == "watched" else "exit"),
        scratch=scratch,
        limits=limits,
        stdout=subprocess.PIPE,
    ) as box:
        out = box.popen.stdout.read()
        box.wait(timeout=30)
    lines = out.decode().strip().splitlines()
    got = json.loads(lines[-1]) if lines else None
    size, blocks = _on_disk(scratch)
    seen = f"got {got}, killed_for={box.killed_for!r}, {size} bytes ({blocks} in blocks) on disk"
    attack = f"input: 4 files of 30 MiB in scratch (2 deleted but kept open), a {budget} byte budget"
    assert box.scratch_enforcement == disk_enforcement, (
        f"{attack}; expected {disk_enforcement}; got {box.scratch_enforcement}"
    )
    stopped = (box.killed_for or "").startswith("disk: ") or (got and any(r != "written" for r in got["results"]))
    assert stopped, f"{attack}; expected the writes to fail or the sandbox killed for disk; {seen}"
    if got and disk_enforcement == "tmpfs size":  # what the sandbox held at once, deleted files included
        assert got["used"] <= budget, f"{attack}; expected at most {budget} bytes held in scratch; {seen}"
    assert size <= budget and blocks <= budget + MiB, f"{attack}; expected at most {budget} bytes on disk; {seen}"
    assert (scratch / "input.txt").read_text() == "from the caller", f"{attack}; the caller's file is gone; {seen}"
    if disk_enforcement == "tmpfs size":
        assert (scratch / "small.txt").read_text() == "kept", f"{attack}; expected small.txt back; {seen}"


def test_all_the_sandbox_writes_to_tmp_together_is_limited(scratch, disk_enforcement):
    budget = 64 * MiB
    limits = sandbox.Limits(tmp_bytes=budget)
    outcome = sandbox.run(
        script(DISK_FLOOD, "/tmp", "hold" if disk_enforcement == "watched" else "exit"),
        timeout=30,
        scratch=scratch,
        limits=limits,
        stdout=subprocess.PIPE,
    )
    lines = outcome.stdout.decode().strip().splitlines()
    got = json.loads(lines[-1]) if lines else None
    seen = f"got {got}, killed_for={outcome.killed_for!r}"
    attack = f"input: 4 files of 30 MiB in /tmp (2 deleted but kept open), /tmp of {budget} bytes"
    if disk_enforcement == "tmpfs size":
        assert got and got["used"] <= budget and "written" != got["results"][-1], (
            f"{attack}; expected writes past {budget} bytes to fail; {seen}"
        )
    else:
        assert (outcome.killed_for or "").startswith("disk: /tmp"), f"{attack}; expected killed for /tmp; {seen}"


def test_a_normal_command_runs_and_its_scratch_output_is_readable_after_it_exits(scratch, enforcement):
    (scratch / "input.txt").write_text("from the caller")
    code = """
    import json, os
    os.makedirs("out/deep", exist_ok=True)
    with open("out/deep/result.json", "w") as f:
        json.dump({"input": open("input.txt").read()}, f)
    print("hello from the sandbox")
    """
    outcome = sandbox.run(script(code), timeout=30, scratch=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert outcome.returncode == 0 and outcome.stdout == b"hello from the sandbox\n", (
        f"input: python -c print; expected exit 0 and its line; got {outcome}"
    )
    assert outcome.killed_for is None and outcome.memory_enforcement == enforcement, (
        f"input: python -c print; expected not killed, enforcement {enforcement}; got {outcome}"
    )
    result = scratch / "out" / "deep" / "result.json"
    assert result.is_file() and json.loads(result.read_text()) == {"input": "from the caller"}, (
        f"input: a file written in scratch; expected it readable after the sandbox exits, with the caller's input "
        f"seen inside; got {sorted(p.name for p in scratch.rglob('*'))}"
    )
    assert (scratch / "input.txt").read_text() == "from the caller"


COPY_BACK_TRICKS = """
import os
secret = os.environ["SECRET"]
os.symlink(secret, "link")  # a link to a host file: must come back as a link, never followed
os.mkfifo("fifo")  # a FIFO would block whoever copies it
with open("setuid", "w") as f:
    f.write("#!/bin/sh")
os.chmod("setuid", 0o6755)
with open("sparse-huge", "wb") as f:  # 200 MiB long (past the budget), one page of data
    f.seek(200 * 1024**2)
    f.write(b"x")
with open("sparse-small", "wb") as f:  # 32 MiB long, one page of data
    f.seek(32 * 1024**2)
    f.write(b"x")
with open("linked", "wb") as f:  # 20 MiB, then 10 hard links to it
    f.write(b"y" * (20 * 1024**2))
for i in range(10):
    os.link("linked", "linked-%d" % i)
path = "deep"
for i in range(40):  # 40 nested folders
    os.mkdir(path)
    path += "/deep"
print("ready", flush=True)
"""


def test_the_copy_back_follows_no_link_and_is_bounded(scratch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("grader's secret")
    budget = 64 * MiB
    with sandbox.start(
        script(COPY_BACK_TRICKS),
        scratch=scratch,
        env={"SECRET": str(secret)},
        limits=sandbox.Limits(scratch_bytes=budget),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as box:
        box.wait(timeout=30)
    names = {p.name for p in scratch.iterdir()}
    size, blocks = _on_disk(scratch)
    seen = f"got {sorted(names)}, {size} bytes ({blocks} in blocks), skipped {box.scratch_skipped}"
    attack = (
        "input: a link to a host file, a FIFO, a setuid file, sparse files, 10 hard links to 20 MiB, 40 folders deep"
    )
    assert box.returncode == 0, f"{attack}: the script failed: {box.popen.stderr.read()!r}"
    assert os.path.islink(scratch / "link") and os.readlink(scratch / "link") == str(secret), f"{attack}; {seen}"
    assert secret.read_text() == "grader's secret", f"{attack}; expected the host file unchanged"
    assert "fifo" not in names and "sparse-huge" not in names, f"{attack}; expected no FIFO, no 200 MiB file; {seen}"
    assert (scratch / "setuid").stat().st_mode & 0o7000 == 0, f"{attack}; expected setuid/setgid dropped; {seen}"
    assert (scratch / "sparse-small").stat().st_blocks * 512 <= MiB, f"{attack}; expected the holes kept; {seen}"
    assert size - (32 * MiB + 1) <= budget and blocks <= budget + MiB, f"{attack}; expected at most {budget}; {seen}"
    depth = len((scratch / "deep").relative_to(scratch).parts)
    deepest = max((len(p.relative_to(scratch).parts) for p in scratch.rglob("*")), default=depth)
    assert deepest <= sandbox.MAX_DEPTH + 1, f"{attack}; expected at most {sandbox.MAX_DEPTH} folders; got {deepest}"
    assert any("linked" in s for s in box.scratch_skipped), f"{attack}; expected links past the budget named; {seen}"
