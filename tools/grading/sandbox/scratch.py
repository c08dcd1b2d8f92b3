"""Scratch: the host folder copied into the sandbox's tmpfs before the command starts, and back after.

:func:`copy_folder` copies through open folder descriptors, never following a link, within a
:class:`Budget` of bytes and entries.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import stat

from .limits import readable_size
from .slots import privileged

MAX_DEPTH = 32  # folders of scratch deeper than this are not copied


@dataclasses.dataclass
class Budget:
    total: int  # bytes of data a copy may write
    left: int
    files: int  # entries it may create
    skipped: list[str]


DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024


def _open_dir(name: str, parent: int, own: bool) -> int:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except PermissionError:
        if not own:
            raise
        os.chmod(name, 0o700, dir_fd=parent)  # ours, made unreadable (a normal user's copy-back)
        return os.open(name, DIR_FLAGS, dir_fd=parent)


def copy_folder(src: int, dst: int, budget: Budget, owner: int | None, where: str = "", depth: int = 0) -> None:
    """Copy what the folder open as ``src`` holds into the empty folder open as ``dst``.

    Folders, regular files (holes kept) and symbolic links (as links: never followed); nothing else.
    At most ``budget.left`` bytes of data and ``budget.files`` entries, folders at most
    :data:`MAX_DEPTH` deep: what is left out is named in ``budget.skipped``. Modes lose the setuid,
    setgid and sticky bits and keep u+rw (u+rwx for folders). ``owner`` (uid and gid) owns the
    copies if given (root filling a sandbox's scratch), the caller otherwise.
    """
    own = not privileged()
    for name in sorted(os.listdir(src)):
        path = f"{where}/{name}"
        try:
            info = os.stat(name, dir_fd=src, follow_symlinks=False)
        except OSError as exc:
            budget.skipped.append(f"{path} ({exc.strerror})")
            continue
        kind = stat.S_IFMT(info.st_mode)
        if kind not in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK):
            budget.skipped.append(f"{path} (not a file, folder or link)")
            continue
        if budget.files <= 0:
            budget.skipped.append(f"{path} (more entries than the budget)")
            continue
        if kind == stat.S_IFDIR and depth >= MAX_DEPTH:
            budget.skipped.append(f"{path} (folders deeper than {MAX_DEPTH})")
            continue
        budget.files -= 1
        try:
            if kind == stat.S_IFDIR:
                os.mkdir(name, 0o700, dir_fd=dst)
                inner, copy = _open_dir(name, src, own), os.open(name, DIR_FLAGS, dir_fd=dst)
                try:
                    copy_folder(inner, copy, budget, owner, path, depth + 1)
                    os.fchmod(copy, (info.st_mode & 0o777) | 0o700)
                    if owner is not None:
                        os.fchown(copy, owner, owner)
                finally:
                    os.close(inner)
                    os.close(copy)
            elif kind == stat.S_IFLNK:
                os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
                if owner is not None:
                    os.chown(name, owner, owner, dir_fd=dst, follow_symlinks=False)
            else:
                _copy_file(name, src, dst, budget, owner, path, own)
        except OSError as exc:
            budget.skipped.append(f"{path} ({exc.strerror or exc})")


def _copy_file(name: str, src: int, dst: int, budget: Budget, owner: int | None, path: str, own: bool) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        source = os.open(name, flags, dir_fd=src)
    except PermissionError:
        if not own:
            raise
        os.chmod(name, 0o600, dir_fd=src)
        source = os.open(name, flags, dir_fd=src)
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            budget.skipped.append(f"{path} (not a regular file)")
            return
        if info.st_size > budget.total:
            budget.skipped.append(f"{path} ({readable_size(info.st_size)}: larger than the whole budget)")
            return
        copy = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dst)
        try:
            written = _copy_data(source, copy, info.st_size, budget.left)
            if written is None:
                os.unlink(name, dir_fd=dst)
                budget.skipped.append(f"{path} (past the budget of {readable_size(budget.total)})")
                return
            budget.left -= written
            os.ftruncate(copy, info.st_size)
            os.fchmod(copy, (info.st_mode & 0o777) | 0o600)
            if owner is not None:
                os.fchown(copy, owner, owner)
        finally:
            os.close(copy)
    finally:
        os.close(source)


def _copy_data(source: int, copy: int, size: int, left: int) -> int | None:
    """Copy the data of ``source`` (its holes stay holes); the bytes written, or None past ``left``."""
    written = offset = 0
    while offset < size:
        try:
            start = os.lseek(source, offset, os.SEEK_DATA)
            end = min(os.lseek(source, start, os.SEEK_HOLE), size)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            if exc.errno != errno.EINVAL:
                raise
            start, end = offset, size  # a file system that cannot tell holes: all of it is data
        if end <= start:
            break
        while start < end:
            chunk = os.pread(source, min(_CHUNK, end - start), start)
            if not chunk:
                end = start
                break
            if written + len(chunk) > left:
                return None
            view = memoryview(chunk)
            while view:
                done = os.pwrite(copy, view, start)
                view, start, written = view[done:], start + done, written + done
        offset = end
    return written


def empty_folder(folder: int) -> None:
    """Remove everything in the folder open as ``folder`` (no link followed)."""
    for name in os.listdir(folder):
        if stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            shutil.rmtree(name, dir_fd=folder)
        else:
            os.unlink(name, dir_fd=folder)


def tmpfs_use(fd: int) -> tuple[int, int]:
    """(bytes, entries) used on the file system of ``fd``."""
    info = os.fstatvfs(fd)
    return (info.f_blocks - info.f_bfree) * info.f_frsize, max(0, info.f_files - info.f_ffree)
