"""Where things live: the data directory and the bundled resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "QA_DESKTOP_DATA_DIR"
"""Environment variable that overrides the data directory (``--data-dir`` overrides both)."""


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override``, else ``$QA_DESKTOP_DATA_DIR``, else the platform's."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir("qa-desktop", "QA Desktop"))


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, in ``_MEIPASS`` when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def quarantine_dir(data_dir: Path) -> Path:
    """Where refused bundles and signed batches are copied, each with a ``.reason.txt``."""
    return data_dir / "quarantine"


def private_dir(path: Path) -> Path:
    """The app's own folder ``path``, readable by the user alone (0700); returned.

    Only for folders the app owns (``media/``, ``keys/``, ``quarantine/`` in the data
    directory): an existing one is made 0700 again. Missing parents are created 0700 too.
    For the data directory itself, which a person may point at any folder, use
    :func:`app_dir`.
    """
    _make_dirs(path)
    path.chmod(0o700)
    return path


def app_dir(path: Path) -> Path:
    """The data directory ``path``: created 0700 (parents too) if it is missing; an existing
    folder keeps its mode (``--data-dir /shared/tmp`` must not make a shared folder private).
    The app's files and subfolders in it are private on their own."""
    _make_dirs(path)
    return path


def _make_dirs(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700, whatever the umask; existing
    folders are left as they are."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        folder.chmod(0o700)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")


def settings_path(data_dir: Path) -> Path:
    """The GUI's preferences file (an INI file) in ``data_dir``."""
    return data_dir / "settings.ini"
