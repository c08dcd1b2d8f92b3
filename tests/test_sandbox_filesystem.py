"""The sandbox's file system (tools/grading/sandbox/bwrap.py, its mounts): only scratch and /tmp writable,
nothing of the host visible but what is passed, read-only paths unchanged.

No mock of bwrap: each test runs a small Python script in a real sandbox (tests/sandboxed.py).
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest
from sandboxed import run_json

from tools.layout import AUTOGRADER_ZIP, ROOT

pytestmark = pytest.mark.usefixtures("bwrap_works")


WRITE_EVERYWHERE = """
import json, os, sys
scratch, readonly_file = sys.argv[1], sys.argv[2]
writable = []
for top in os.listdir("/"):
    if top in ("proc", "sys", "dev"):
        continue
    for folder, dirs, files in os.walk("/" + top):
        probe = os.path.join(folder, ".probe")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            continue
        os.close(fd)
        os.unlink(probe)
        writable.append(folder)
existing = []
for path in [readonly_file, os.__file__, sys.executable, "/etc/hosts", "/usr/bin/env"]:
    try:
        with open(path, "ab"):
            existing.append(path)
    except OSError:
        pass
print(json.dumps({"writable": writable, "existing_writable": existing}))
"""


def test_only_scratch_and_tmp_are_writable(scratch, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("read me")
    got = run_json(WRITE_EVERYWHERE, scratch, str(scratch), str(shared / "data.txt"), readonly=[shared], timeout=120)
    outside = [
        f
        for f in got["writable"]
        if not (f == str(scratch) or f.startswith(str(scratch) + "/") or f == "/tmp" or f.startswith("/tmp/"))
        or f.startswith(str(shared))
    ]
    assert not outside, (
        f"input: create a file in every folder; expected only {scratch} and /tmp; also wrote in {outside}"
    )
    assert str(scratch) in got["writable"] and "/tmp" in got["writable"], f"scratch and /tmp must be writable: {got}"
    assert not got["existing_writable"], (
        f"input: open the read-only file, the venv's os.py, python, /etc/hosts, /usr/bin/env for writing; "
        f"expected none; got {got['existing_writable']}"
    )


def test_paths_not_passed_are_invisible(scratch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("grader's secret")
    home = os.path.expanduser("~")
    probes = [
        str(ROOT),
        str(AUTOGRADER_ZIP),
        home,
        str(secret),
        str(tmp_path),
        "/work",
        "/var",
        "/opt",
        "/srv",
        "/home",
        "/run",
        "/sys",
        "/etc/shadow",
        "/etc/passwd",
        "/root",
    ]
    code = """
    import json, os, sys
    seen = {}
    for p in sys.argv[1:]:
        if os.path.isdir(p):
            seen[p] = sorted(os.listdir(p))
        elif os.path.exists(p):
            seen[p] = "file"
    print(json.dumps({"seen": seen, "root": sorted(os.listdir("/"))}))
    """
    got = run_json(code, scratch, *probes)
    # folders on the way to what is mounted (the venv, the base Python, scratch) exist, holding only that way
    mounted = [pathlib.Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix)] + [scratch]
    visible = {}
    for path, listing in got["seen"].items():
        on_the_way = {m.parts[len(pathlib.Path(path).parts)] for m in mounted if pathlib.Path(path) in m.parents}
        if listing == "file" or set(listing) - on_the_way:
            visible[path] = listing
    assert not visible, f"input: paths not passed to the sandbox {probes}; expected none visible; got {visible}"
    allowed = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "tmp", "proc", "dev"}
    allowed |= {m.parts[1] for m in mounted}
    extra = set(got["root"]) - allowed
    assert not extra, f"input: listdir('/'); expected only {sorted(allowed)}; got also {sorted(extra)}"


def test_readonly_paths_are_visible_and_read_only(scratch, tmp_path):
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    code = """
    import json, os, sys
    path = sys.argv[1]
    data = open(path, "rb").read()
    for attempt in (lambda: open(path, "ab"), lambda: os.unlink(path), lambda: os.rename(path, path + "x")):
        try:
            attempt()
            print(json.dumps({"changed": True})); sys.exit()
        except OSError:
            pass
    print(json.dumps({"changed": False, "size": len(data)}))
    """
    got = run_json(code, scratch, str(bundle), readonly=[bundle])
    assert got == {"changed": False, "size": 22}, f"input: a read-only bundle; expected readable, unchanged; got {got}"
    assert bundle.read_bytes() == b"PK\x05\x06" + b"\0" * 18
