"""Test configuration: Qt runs offscreen; every test gets its own real data directory.

Shared fixtures live here (``workspace``, ``pair``, ``fast_kdf``); plain helpers live in
``tests/factory.py`` (batches, workspaces) and ``tests/windows.py`` (windows, dialogs)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("QA_DESKTOP_DATA_DIR", None)

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_desktop.core import keys
from qa_desktop.core.workspace import Workspace

from .factory import introduce, make_workspace


@pytest.fixture(autouse=True)
def no_os_keyring() -> None:
    """Tests never touch the developer's real OS keyring (tests that want one set a fake)."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny scrypt cost so key files are made and opened in microseconds (the key file records
    its cost, so such keys open anywhere; only this process makes them cheaply)."""
    monkeypatch.setattr(keys, "SCRYPT_N", 2**4)


@pytest.fixture(scope="session")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo batch (seed 7) with 1-second videos, generated once per run: read, never
    change it."""
    from qa_desktop.demo import generate_demo_batch

    return generate_demo_batch(tmp_path_factory.mktemp("demo") / "batch", video_seconds=1.0)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace in ``tmp_path/data`` with a local reviewer profile."""
    ws = Workspace.open(tmp_path / "data")
    ws.ensure_reviewer("Test Reviewer")
    yield ws
    ws.close()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Two reviewers on two machines, Ana and Bo, each with the demo pack and the same three
    text cases t-0, t-1, t-2 (``make_workspace``), no signing key yet; closed afterwards."""
    yield from _two_reviewers(tmp_path, keyed=False)


@pytest.fixture
def keyed_pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    """``pair`` with a signing key each (passphrase ``factory.PASSPHRASE``), each trusting
    the other's key as a reviewer's."""
    yield from _two_reviewers(tmp_path, keyed=True)


def _two_reviewers(tmp_path: Path, keyed: bool) -> Iterator[tuple[Workspace, Workspace]]:
    a = make_workspace(tmp_path, "Ana", pack=True, key=keyed)
    b = make_workspace(tmp_path, "Bo", pack=True, key=keyed)
    if keyed:
        introduce(a, b)
        introduce(b, a)
    yield a, b
    a.close()
    b.close()


class MemoryKeyring:
    """A stand-in OS keyring, in memory."""

    priority = 10

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def os_keyring() -> MemoryKeyring:
    """A fake OS keyring for this test (the autouse fixture restores the failing one)."""
    import keyring
    from keyring.backend import KeyringBackend

    class Backend(MemoryKeyring, KeyringBackend):
        pass

    backend = Backend()
    keyring.set_keyring(backend)
    return backend
