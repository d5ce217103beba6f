"""Files that appear complete or not at all: temporary name, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temporary_name(folder: Path, name: str) -> Path:
    """A fresh hidden temporary path in ``folder`` for a file to be renamed to ``name``."""
    return folder / f".{name}.{secrets.token_hex(4)}.tmp"


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` so that it appears complete or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(folder, name)
    try:
        with tmp.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return folder / name


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
