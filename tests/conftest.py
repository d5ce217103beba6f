"""Test configuration: Qt runs offscreen; every test gets its own real data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("QA_DESKTOP_DATA_DIR", None)

from pathlib import Path

import pytest

from qa_desktop.core.workspace import Workspace


@pytest.fixture(autouse=True)
def no_os_keyring() -> None:
    """Tests never touch the developer's real OS keyring (tests that want one set a fake)."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace in ``tmp_path/data`` with a local reviewer profile."""
    ws = Workspace.open(tmp_path / "data")
    ws.ensure_reviewer("Test Reviewer")
    yield ws
    ws.close()
