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
    """Create ``path`` (and parents) readable by the user alone (0700) and return it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def settings_path(data_dir: Path) -> Path:
    """The GUI's preferences file (an INI file) in ``data_dir``."""
    return data_dir / "settings.ini"
