"""Files that appear complete or not at all: temporary name, fsync, rename, fsync the folder.

A temporary file is named ``.<final name>.<pid>.<random>.tmp``: when a process is killed
mid-write, :func:`remove_stale_temporaries` later removes what it left (its process is gone,
or the file was not touched for :data:`STALE_AFTER_S`), and never a live writer's file.
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

STALE_AFTER_S = 3600
"""A temporary file untouched for this long is a leftover even if its process id is alive
(process ids are reused); a live writer touches its file with every chunk it writes."""

_TEMPORARY = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}\.tmp")


def temporary_name(folder: Path, name: str) -> Path:
    """A fresh hidden temporary path in ``folder`` for a file to be renamed to ``name``."""
    return folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def write_temporary(folder: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` complete and fsynced under a fresh temporary name in ``folder`` (for
    ``name``); the temporary path. Nothing is left behind if writing fails."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(folder, name)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            os.chmod(tmp, mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomically(folder: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
    """Write ``folder/name`` (with ``mode``) so that it appears complete or not at all."""
    tmp = write_temporary(folder, name, data, mode)
    try:
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return folder / name


def publish(tmp: Path, final: Path) -> bool:
    """Rename a complete, fsynced ``tmp`` to ``final`` and flush the folder.

    True if ``final`` is in place, by this call or an earlier one (another process may have
    finished the same pending rename); False if neither file is there.
    """
    try:
        os.replace(tmp, final)
    except FileNotFoundError:
        return final.is_file()
    fsync_dir(final.parent)
    return True


def remove_stale_temporaries(folder: Path, pattern: str = ".*.tmp") -> int:
    """Remove the temporary files (matching ``pattern``) that killed writers left in
    ``folder``; the number removed. A file whose writer is alive and recent stays."""
    removed = 0
    try:
        candidates = list(folder.glob(pattern))
    except OSError:
        return 0
    now = time.time()
    for path in candidates:
        try:
            if not path.is_file() or path.is_symlink():
                continue
            match = _TEMPORARY.fullmatch(path.name)
            fresh = now - path.stat().st_mtime < STALE_AFTER_S
            if fresh and (match is None or _process_alive(int(match.group(1)))):
                continue
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


class Writeback:
    """Starts the disk writes of a file being written every ``every`` bytes, without waiting
    for them, so its closing fsync waits for little more than the last part.

    Without this the system writes a large new file back only when fsync asks for all of it
    (or minutes later), so the disk idles while the file is made and then the fsync waits for
    every byte. :meth:`advance` after each large write; harmless where the system offers no
    way to start writeback (then fsync does it all, as before).
    """

    def __init__(self, fd: int, every: int = 8 * 1024**2) -> None:
        self._fd = fd
        self._every = every
        self._started = 0

    def advance(self) -> None:
        """Start writing back what was written since the last start, if that is enough."""
        end = os.lseek(self._fd, 0, os.SEEK_CUR)
        if end - self._started >= self._every:
            start_writeback(self._fd, self._started, end - self._started)
            self._started = end


_SYNC_FILE_RANGE_WRITE = 2


@cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's ``sync_file_range`` (which Python's os module lacks), or None elsewhere."""
    if sys.platform != "linux" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the system to start writing ``length`` bytes at ``offset`` of the file ``fd`` to
    disk, without waiting for them (a hint: it makes nothing durable; fsync still does)."""
    function = _sync_file_range()
    if function is not None:
        function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # releases the GIL (ctypes)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
