"""Test configuration: Qt runs offscreen; every test gets its own real data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("QA_DESKTOP_DATA_DIR", None)

from pathlib import Path

import pytest

from qa_desktop.core.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace in ``tmp_path/data`` with a local reviewer profile."""
    ws = Workspace.open(tmp_path / "data")
    ws.ensure_reviewer("Test Reviewer")
    yield ws
    ws.close()
