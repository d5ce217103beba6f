"""What the app creates is private; what it did not create keeps its mode.

Modes are what ``stat`` reports, so these hold when the tests run as root too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qa_desktop.core.workspace import Workspace

from .recording import record


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_shared_folder_given_as_data_dir_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with Workspace.open(shared) as ws:
        ws.ensure_reviewer("Ana")
    assert _mode(shared) == 0o1777
    assert _mode(shared / "media") == 0o700
    assert _mode(shared / "qa.db") == 0o600


def test_a_new_data_dir_and_its_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    with Workspace.open(data) as ws:
        ws.ensure_reviewer("Ana")
        for name in ("qa.db", "qa.db-wal", "qa.db-shm"):
            assert _mode(data / name) == 0o600, name
    assert _mode(data) == 0o700
    assert _mode(data.parent) == 0o700


def test_an_existing_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Workspace.open(data).close()
    (data / "qa.db").chmod(0o644)
    data.chmod(0o755)
    Workspace.open(data).close()
    assert _mode(data / "qa.db") == 0o600
    assert _mode(data) == 0o755


def test_quarantine_is_private(workspace: Workspace, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    [report] = workspace.bundles.import_files([junk])
    assert report.refused_reason
    folder = workspace.bundles.quarantine_dir
    assert _mode(folder) == 0o700
    files = list(folder.iterdir())
    assert len(files) == 2
    assert all(_mode(f) == 0o600 for f in files)


def test_exported_bundles_stay_readable_for_sharing(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    ana, _ = keyed_pair
    record(ana, "t-0", "no_violation")
    from .factory import PASSPHRASE

    result = ana.bundles.export(ana.trust.identity(PASSPHRASE), tmp_path / "out")
    assert result is not None
    assert _mode(result.path) & 0o044 == 0o044 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
