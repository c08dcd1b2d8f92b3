"""Stage an upload (a .zip, a .ipynb, or a folder: Gradescope's unzipped upload) for Otter.

    staged = stage(upload, dest, assignment_name="lab05_nn_compute")

``dest`` then holds exactly what Otter will grade: one notebook at the top level (nbformat 4
JSON) and the files uploaded beside it, minus what Otter or Python would load as code or
deserialize. ``staged.notebook`` is parsed from the very bytes written to ``staged.notebook_path``
(what is scanned is what is graded).

Rules:

- Zip entries must have canonical names: relative, ``/``-separated, no ``.``, ``..`` or empty
  components, no backslash, drive letter or NUL, no two names equal once case is folded, no
  symbolic links, devices or other special files, no encryption; at most MAX_ENTRIES entries and
  MAX_TOTAL_BYTES uncompressed. Anything else refuses the whole upload ("invalid"). Entries are
  written one by one (never ``extractall``) with O_EXCL and O_NOFOLLOW, below ``dest`` only.
- Folders are walked without following symbolic links; a symbolic link or special file in the
  upload refuses it ("invalid": an upload is plain files, and a link could point anywhere on the
  grader's machine). A folder holding no notebook and exactly one .zip is that zip.
- The notebook is found the way Otter finds it (``glob("*.ipynb")`` in the submission folder): the
  top-level, non-hidden names ending in ``.ipynb``, case-sensitively; exactly one is required. A
  top-level name ending in ``.IPYNB`` (or another case) beside it is not a second notebook: it is
  dropped, with the reason. Nested notebooks stay as ordinary files.
- Dropped, each listed in ``removed`` with the reason: ``.OTTER_LOG`` and ``*.pkl``, ``*.pickle``,
  ``*.dill`` (Otter deserializes its log with dill), anything in a ``tests`` folder (the bundle
  brings its own tests), importable files (``*.py``, ``*.pyc``, ``*.pyo``, ``*.so``, ``*.pyd``,
  ``*.pth``, ``__pycache__``), hidden files and ``__MACOSX``.
- The notebook is read with nbformat (``as_version=4``: an nbformat 3 notebook is up-converted as
  Otter would) and written back as nbformat 4 JSON. A notebook that is not JSON or not a notebook
  is an "error".
- ``assignment_name``: a notebook whose Otter metadata names another assignment (or none) is
  "invalid", as Otter itself would refuse it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import stat
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tools.grading.sandbox import policy

MAX_ENTRIES = 1000
MAX_TOTAL_BYTES = 100 * 1024**2
MAX_NOTEBOOK_BYTES = 50 * 1024**2
ACCEPTED = "a .zip exported by the notebook, a .ipynb notebook, or a folder holding one of them"
PICKLE_SUFFIXES = policy().PICKLE_SUFFIXES
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pyd", ".pth")
DRIVE = re.compile(r"^[A-Za-z]:")


class StagingError(Exception):
    """The upload cannot be graded: ``status`` is "invalid" (not a gradable submission) or "error"."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class Staged:
    notebook_path: Path  # the notebook in dest
    notebook: dict  # its JSON, parsed from the bytes written (nbformat 4)
    files: list[str]  # relative names staged in dest, notebook included
    removed: list[str]  # "name: reason" for everything dropped


def _invalid(message: str) -> StagingError:
    return StagingError("invalid", f"{message}; accepted: {ACCEPTED}")


# ---------------------------------------------------------------------------------------------
# What is kept
# ---------------------------------------------------------------------------------------------
def drop_reason(name: str) -> str | None:
    """Why the file ``name`` (relative, ``/``-separated) is not staged, or None to stage it."""
    parts = PurePosixPath(name).parts
    lower = [p.casefold() for p in parts]
    if "__macosx" in lower:
        return "macOS metadata, not part of the submission"
    if parts[-1] == ".OTTER_LOG" or lower[-1] == ".otter_log":
        return "Otter's log: Otter would deserialize it with dill, and the grader makes its own"
    if lower[-1].endswith(PICKLE_SUFFIXES):
        return "pickled data: loading it runs code"
    if "tests" in lower[:-1]:
        return "a tests folder: the autograder brings its own tests"
    if "__pycache__" in lower[:-1] or lower[-1].endswith(CODE_SUFFIXES):
        return "importable code: the autograder brings its own support files"
    if any(p.startswith(".") for p in parts):
        return "a hidden file, not part of the submission"
    return None


def _is_notebook_name(name: str) -> bool:
    """A name Otter's ``glob("*.ipynb")`` finds: top level, not hidden, ``.ipynb`` case-sensitively."""
    return "/" not in name and name.endswith(".ipynb") and not name.startswith(".")


def _choose(names: list[str], where: str) -> tuple[str, dict[str, str]]:
    """(the notebook, {name: reason} of notebook look-alikes to drop) among the staged file names."""
    top = sorted(n for n in names if _is_notebook_name(n))
    lookalikes = sorted(
        n
        for n in names
        if "/" not in n and not n.startswith(".") and n.casefold().endswith(".ipynb") and not n.endswith(".ipynb")
    )
    if len(top) > 1:
        raise _invalid(f"{where} holds {len(top)} notebooks ({', '.join(top)}); Otter grades exactly one")
    if not top:
        nested = sorted(n for n in names if "/" in n and n.endswith(".ipynb"))
        hint = ""
        if lookalikes:
            hint = f" (found {', '.join(lookalikes)}: the name must end in lower-case .ipynb)"
        elif nested:
            hint = f" (found {', '.join(nested[:3])} inside a folder; the notebook must be at the top level)"
        raise _invalid(f"{where} holds no notebook{hint}")
    return top[0], {
        n: f"not a notebook Otter would grade (its name does not end in .ipynb); {top[0]} is the notebook"
        for n in lookalikes
    }


# ---------------------------------------------------------------------------------------------
# Zip uploads
# ---------------------------------------------------------------------------------------------
def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    raw = info.orig_filename
    if "\0" in raw:
        return "contains a NUL character"
    if "\\" in raw:
        return "contains a backslash"
    if raw.startswith("/"):
        return "is an absolute path"
    if DRIVE.match(raw):
        return "starts with a drive letter"
    body = raw[:-1] if raw.endswith("/") else raw
    parts = body.split("/")
    if any(p == "" for p in parts):
        return "has an empty path component"
    if any(p in (".", "..") for p in parts):
        return "has a '.' or '..' component"
    if info.flag_bits & 0x1:
        return "is encrypted"
    mode = (info.external_attr >> 16) & 0o170000
    if mode == stat.S_IFLNK:
        return "is a symbolic link"
    if mode not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is a device or other special file"
    if raw.endswith("/") and mode == stat.S_IFREG:
        return "is a file named like a folder"
    return None


def _check_zip(zf: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The file entries of ``zf``, after refusing anything not canonical."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _invalid(f"{name} has {len(infos)} entries; at most {MAX_ENTRIES} are accepted")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise _invalid(
            f"{name} unpacks to {total:,} bytes; at most {MAX_TOTAL_BYTES:,} are accepted "
            "(a notebook and its ledger are far smaller)"
        )
    seen: dict[str, str] = {}
    files, folders = [], set()
    for info in infos:
        problem = _entry_problem(info)
        if problem:
            raise _invalid(
                f"{name} has an entry {info.orig_filename!r} that {problem}; zip entries must be "
                "plain files with relative names"
            )
        body = info.orig_filename.rstrip("/")
        key = body.casefold()
        if key in seen:
            raise _invalid(
                f"{name} has two entries named {seen[key]!r} and {info.orig_filename!r} (names must "
                "differ even when case is ignored)"
            )
        seen[key] = info.orig_filename
        if info.is_dir():
            folders.add(key)
        else:
            files.append(info)
    # a file that is also a folder ("a" and "a/b")
    for info in files:
        parents = PurePosixPath(info.orig_filename.casefold()).parents
        clash = [str(p) for p in parents if str(p) != "." and str(p) in seen and str(p) not in folders]
        if clash:
            raise _invalid(f"{name} has {seen[clash[0]]!r} both as a file and as a folder")
    return files


def _open_dir(parent_fd: int, component: str, create: bool) -> int:
    if create:
        try:
            os.mkdir(component, 0o755, dir_fd=parent_fd)
        except FileExistsError:
            pass
    return os.open(component, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)


def _write_new(dest: Path, name: str, chunks) -> int:
    """Write ``chunks`` to dest/name (creating folders), never following a link, never replacing."""
    parts = name.split("/")
    fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for component in parts[:-1]:
            child = _open_dir(fd, component, create=True)
            os.close(fd)
            fd = child
        out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=fd)
    finally:
        os.close(fd)
    written = 0
    with os.fdopen(out, "wb") as f:
        for chunk in chunks:
            written += len(chunk)
            f.write(chunk)
    return written


def _zip_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]):
    with zf.open(info) as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _invalid(f"the upload unpacks to more than {MAX_TOTAL_BYTES:,} bytes")
            yield chunk


# ---------------------------------------------------------------------------------------------
# Folder uploads
# ---------------------------------------------------------------------------------------------
def _folder_files(folder: Path) -> list[str]:
    """Relative names of the regular files below ``folder``; refuses links and special files."""
    names = []
    for current, dirs, files in os.walk(folder, followlinks=False):
        for entry in sorted(dirs) + sorted(files):
            path = Path(current) / entry
            rel = path.relative_to(folder).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                raise _invalid(f"the folder {folder.name} holds a symbolic link {rel}; uploads must be plain files")
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise _invalid(f"the folder {folder.name} holds {rel}, which is not a regular file")
            names.append(rel)
        if len(names) > MAX_ENTRIES:
            raise _invalid(f"the folder {folder.name} holds more than {MAX_ENTRIES} files")
    return sorted(names)


def read_capped(path: os.PathLike | str, limit: int, *, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (relative to ``dir_fd`` when given), without following
    a link or blocking on a FIFO. ValueError if it is not a regular file or holds more than
    ``limit`` bytes (the message completes "<name> is ..."); OSError if it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    return data


def write_atomically(path: os.PathLike | str, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace the file ``path`` whole with ``data`` (a str is written as UTF-8, its newlines as
    given): the bytes go to a new temporary file in the same folder, which is then moved over
    ``path``, so a reader finds the old file or the new one, never a part. ``mode`` is the new
    file's permissions, exactly; None gives those of any new file (0o666 less the umask). If
    anything fails, the temporary file is removed and ``path`` is left as it was. Nothing is
    fsynced: this survives a failed or interrupted write, not a power cut."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)  # not narrowed by the umask
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _file_chunks(path: Path, budget: list[int]):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _invalid(f"{path.name} is not a regular file")
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _invalid(f"the upload holds more than {MAX_TOTAL_BYTES:,} bytes")
            yield chunk


# ---------------------------------------------------------------------------------------------
# The notebook
# ---------------------------------------------------------------------------------------------
def read_notebook(data: bytes, name: str) -> str:
    """The notebook's text as nbformat 4 JSON (up-converted like Otter reads it); StagingError if it is none."""
    import nbformat

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StagingError(
            "error",
            f"{name} is corrupt: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "expected a Jupyter notebook (nbformat 4 JSON)",
        ) from exc
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise StagingError(
            "error", f"{name} is corrupt: not valid JSON ({exc}); expected a Jupyter notebook (nbformat 4 JSON)"
        ) from exc
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise StagingError(
            "error",
            f"{name} is JSON but not a Jupyter notebook (no nbformat version); expected "
            "a Jupyter notebook (nbformat 4 JSON)",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
            out = nbformat.writes(nb, version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for malformed notebooks
        raise StagingError(
            "error",
            f"{name} is not a readable Jupyter notebook ({type(exc).__name__}: {exc}); expected nbformat 4 (or 3) JSON",
        ) from exc
    parsed = json.loads(out)
    if not isinstance(parsed.get("cells"), list):
        raise StagingError("error", f"{name} is not a readable Jupyter notebook (no list of cells)")
    return out


def check_assignment(nb: dict, expected: str | None, name: str) -> None:
    """Otter's assignment-name check, made before grading so that the message is clear."""
    if not expected:
        return
    import nbformat
    from otter.nbmeta_config import NBMetadataConfig

    try:
        got = NBMetadataConfig.from_notebook(nbformat.from_dict(nb)).assignment_name
    except Exception as exc:  # noqa: BLE001 - malformed otter metadata
        raise StagingError(
            "invalid", f"{name} has unreadable Otter metadata ({exc}); this autograder grades '{expected}'"
        ) from exc
    if got != expected:
        what = f"assignment '{got}'" if got else "no assignment (no Otter metadata)"
        raise StagingError("invalid", f"{name} is a notebook for {what}; this autograder grades '{expected}'")


# ---------------------------------------------------------------------------------------------
# stage()
# ---------------------------------------------------------------------------------------------
def _prepare_dest(dest: Path) -> Path:
    dest = Path(dest)
    if dest.is_symlink():
        raise StagingError("error", f"the staging folder {dest} is a symbolic link")
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise StagingError("error", f"the staging folder {dest} is not empty")
    return dest


def stage(upload: Path, dest: Path, *, assignment_name: str | None = None) -> Staged:
    """Stage ``upload`` into the empty (or new) folder ``dest``; see the module's docstring."""
    upload = Path(upload)
    if not os.path.lexists(upload):
        raise StagingError("invalid", f"{upload} does not exist; accepted: {ACCEPTED}")
    if upload.is_symlink():
        upload = Path(os.path.realpath(upload))  # the TA's own path argument, not part of an upload
    if upload.is_dir():
        names = _folder_files(upload)
        top_zips = [n for n in names if "/" not in n and n.casefold().endswith(".zip") and drop_reason(n) is None]
        if not any(_is_notebook_name(n) for n in names) and len(top_zips) == 1:
            return stage(upload / top_zips[0], dest, assignment_name=assignment_name)
        sources = {n: (lambda budget, n=n: _file_chunks(upload / n, budget)) for n in names}
        where = f"the folder {upload.name}"
    elif upload.is_file() and upload.suffix.casefold() == ".ipynb":
        staged_name = upload.name if upload.name.endswith(".ipynb") else upload.stem + ".ipynb"
        if staged_name.startswith("."):
            staged_name = "submission.ipynb"
        names = [staged_name]
        sources = {staged_name: lambda budget: _file_chunks(upload, budget)}
        where = upload.name
    elif upload.is_file() and upload.suffix.casefold() == ".zip":
        return _stage_zip(upload, _prepare_dest(dest), assignment_name)
    else:
        raise _invalid(f"{upload.name} is not a submission")
    return _finish(names, sources, where, _prepare_dest(dest), assignment_name)


def _stage_zip(path: Path, dest: Path, assignment_name: str | None) -> Staged:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise _invalid(f"{path.name} is not a readable zip archive ({exc})") from exc
    with zf:
        entries = _check_zip(zf, path.name)
        by_name = {i.orig_filename: i for i in entries}
        sources = {n: (lambda budget, i=i: _zip_chunks(zf, i, budget)) for n, i in by_name.items()}
        try:
            return _finish(sorted(by_name), sources, f"the zip {path.name}", dest, assignment_name)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise _invalid(f"{path.name} is a damaged zip archive ({exc})") from exc


def _finish(names: list[str], sources: dict, where: str, dest: Path, assignment_name: str | None) -> Staged:
    removed: dict[str, str] = {}
    kept = []
    for name in names:
        reason = drop_reason(name)
        if reason:
            removed[name] = reason
        else:
            kept.append(name)
    notebook, lookalikes = _choose(kept, where)
    removed.update(lookalikes)
    kept = [n for n in kept if n not in lookalikes]
    budget = [MAX_TOTAL_BYTES]
    # the notebook: read, up-convert, write; the dict returned is parsed from the bytes written
    data = b"".join(sources[notebook](budget))
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise _invalid(f"{notebook} is {len(data):,} bytes; at most {MAX_NOTEBOOK_BYTES:,} are accepted")
    text = read_notebook(data, notebook)
    encoded = text.encode("utf-8")
    _write_new(dest, notebook, [encoded])
    nb = json.loads(encoded)  # the very bytes written
    check_assignment(nb, assignment_name, notebook)
    for name in kept:
        if name != notebook:
            _write_new(dest, name, sources[name](budget))
    return Staged(
        notebook_path=dest / notebook,
        notebook=nb,
        files=sorted(kept),
        removed=[f"{n}: {r}" for n, r in sorted(removed.items())],
    )
