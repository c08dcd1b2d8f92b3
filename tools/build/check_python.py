"""Check that a Python interpreter can create this project's virtualenv.

    python tools/build/check_python.py 3.11 [NAME]

`make` runs this with ``$(PYTHON)`` before ``python -m venv``: it exits 0 when the interpreter is
new enough and has ``venv`` and ``ensurepip``, and otherwise says what was found, what is needed
and how to point ``make PYTHON=...`` at another interpreter. NAME is how the user named the
interpreter (the value of ``PYTHON``), used in the message.

Deliberately written for any Python, 2.7 included (no f-strings, no annotations), so that an old
interpreter prints this message instead of a SyntaxError.
"""

import sys


def _dotted(version):
    return ".".join(str(part) for part in version)


def problems(required, version, executable, name, has_venv):
    """The lines of the message for an interpreter that cannot be used, or [] when it can.

    required: (major, minor) the project needs; version: the interpreter's (major, minor, micro);
    executable: its path; name: how the user named it; has_venv: whether ``venv`` and
    ``ensurepip`` import.
    """
    where = name if name == executable else "%s (%s)" % (name, executable)
    found = "%s is Python %s" % (where, _dotted(version))
    needed = _dotted(required)
    if tuple(version[:2]) < tuple(required):
        return [
            "This project needs Python %s or newer, but %s." % (needed, found),
            "Point make at a newer interpreter, for example:",
            "    make PYTHON=python%s" % needed,
            "    make PYTHON=/path/to/bin/python3",
            "or install Python %s+ (Debian/Ubuntu: apt-get install python%s python%s-venv; "
            "or from python.org, pyenv, uv or conda)." % (needed, needed, needed),
        ]
    if not has_venv:
        minor = _dotted(version[:2])
        return [
            "%s, but it cannot create a virtualenv: its `venv`/`ensurepip` modules are missing." % found,
            "Debian and Ubuntu ship them in a separate package; install it (as root, or with sudo):",
            "    apt-get install python3-venv       # for the system's python3",
            "    apt-get install python%s-venv    # the same, named for Python %s" % (minor, minor),
            "then run make again, or point make at another Python %s+:  make PYTHON=/path/to/bin/python3" % needed,
        ]
    return []


def _has_venv():
    try:
        import ensurepip  # noqa: F401 - Debian and Ubuntu leave it out unless python3-venv is installed
        import venv  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: python tools/build/check_python.py MAJOR.MINOR [NAME]\n")
        return 2
    required = tuple(int(part) for part in argv[1].split(".")[:2])
    name = argv[2] if len(argv) > 2 else sys.executable
    version = tuple(sys.version_info[:3])
    lines = problems(required, version, sys.executable, name, version[:2] >= required and _has_venv())
    if lines:
        sys.stderr.write("".join("make: " + line + "\n" for line in lines))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
