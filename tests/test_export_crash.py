"""kill -9 during an export: the next sync delivers every event exactly once, with no replay.

A child process syncs (which exports) and SIGKILLs itself at a named window: while the
bundle is being written, just before the bundle is renamed into place, or right after the
rename (before the database said it was done). The crash point is injected inside the child
script (``os.replace``/``os.fsync`` wrapped there), not in the app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from qa_desktop.core.bundles import atomic_files
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record

_CRASHING_SYNC = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace

    data, folder, passphrase, window = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:5]
    real_replace, real_fsync = os.replace, os.fsync

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(src, dst):
        bundle = str(dst).endswith(".zip")
        if bundle and window == "before-rename":
            die()
        real_replace(src, dst)
        if bundle and window == "after-rename":
            die()

    def fsync(fd):
        if window == "while-writing":
            die()
        real_fsync(fd)

    with Workspace.open(data) as ws:
        identity = ws.trust.identity(passphrase)
        os.replace, os.fsync = replace, fsync
        ws.sync.folder(identity, folder)
    """
)


def ids_in_bundles(folder: Path, member: str = "data/events.jsonl") -> Counter[str]:
    """How many times each record id appears in ``member`` across the bundles in ``folder``
    (events, or a quiz-attempts bundle's ``data/attempts.jsonl``)."""
    import json

    seen: Counter[str] = Counter()
    for path in folder.glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(member):
                    for line in archive.read(name).splitlines():
                        seen[json.loads(line)["id"]] += 1
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("window", ["while-writing", "before-rename", "after-rename"])
def test_a_killed_export_is_adopted_or_redone_and_delivered_once(
    tmp_path: Path, window: str
) -> None:
    ana = make_workspace(tmp_path, "ana")
    lead = make_workspace(tmp_path, "lead")
    introduce(ana, lead, "lead")
    introduce(lead, ana)
    first = [record(ana, f"t-{i}", "no_violation").id for i in range(3)]
    data, key_id = ana.data_dir, ana.trust.public_key().key_id
    ana.close()
    folder = tmp_path / "sync"
    folder.mkdir()

    child = subprocess.run(
        [sys.executable, "-c", _CRASHING_SYNC, str(data), str(folder), PASSPHRASE, window],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    outbox = folder / key_id
    if window == "while-writing":
        assert [p for p in outbox.iterdir() if p.name.endswith(".tmp")]

    with Workspace.open(data) as ana:  # settles a pending export; the sync cleans its outbox
        later = record(ana, "t-0", "vh_remove").id
        ana_report = ana.sync.folder(ana.trust.identity(PASSPHRASE), folder)
        assert ana_report.refused == []
        assert not [p for p in outbox.iterdir() if p.name.startswith(".")]
        sent = ana.database_for_tests().execute("SELECT seq FROM bundle_log").fetchall()
        assert len({s for (s,) in sent}) == len(sent)

    lead_report = lead.sync.folder(lead.trust.identity(PASSPHRASE), folder)
    assert [(r.name, r.refused_reason) for r in lead_report.refused] == []
    at_lead = {e.id for e in lead.verdicts.events()}
    assert {*first, later} <= at_lead
    assert ids_in_bundles(outbox) == Counter({*first, later})
    lead.close()


def test_leftover_temporaries_of_dead_writers_are_removed_on_open(tmp_path: Path) -> None:
    """``.incoming-*`` media copies and ``.tmp`` files a killed process left in the data
    directory go when it is opened; a live writer's fresh file stays."""
    ws = make_workspace(tmp_path, "ana", key=False)
    data = ws.data_dir
    ws.close()
    shard = data / "media" / "ab"
    shard.mkdir(parents=True)
    old_incoming = shard / ".incoming-k3j4h5"
    fresh_incoming = shard / ".incoming-live00"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    dead_pid = int(dead.stdout)
    dead_tmp = data / "quarantine" / f".x.zip.{dead_pid}.0badc0de.tmp"
    live_tmp = data / "quarantine" / f".y.zip.{os.getpid()}.0badc0de.tmp"
    dead_tmp.parent.mkdir()
    for path in (old_incoming, fresh_incoming, dead_tmp, live_tmp):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * atomic_files.STALE_AFTER_S
    os.utime(old_incoming, (hours_ago, hours_ago))

    Workspace.open(data).close()

    assert not old_incoming.exists() and not dead_tmp.exists()
    assert fresh_incoming.exists() and live_tmp.exists()


@pytest.mark.slow
def test_a_pending_bundle_whose_file_is_gone_is_abandoned_and_its_number_never_reused(
    tmp_path: Path,
) -> None:
    """Killed right after the rename, and the file then moved away by hand before the app
    opened again: the events go out again in a new bundle under a new number."""
    ana = make_workspace(tmp_path, "ana")
    lead = make_workspace(tmp_path, "lead")
    introduce(ana, lead, "lead")
    introduce(lead, ana)
    first = [record(ana, f"t-{i}", "no_violation").id for i in range(2)]
    data, key_id = ana.data_dir, ana.trust.public_key().key_id
    ana.close()
    folder = tmp_path / "sync"
    folder.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", _CRASHING_SYNC, str(data), str(folder), PASSPHRASE, "after-rename"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    [orphan] = (folder / key_id).glob("*.zip")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = orphan.rename(elsewhere / orphan.name)

    with Workspace.open(data) as ana:
        db = ana.database_for_tests()
        assert db.execute("SELECT COUNT(*) FROM abandoned_exports").fetchone()[0] == 1
        report = ana.sync.folder(ana.trust.identity(PASSPHRASE), folder)
        assert report.exported is not None and report.exported.seq == 2
        assert report.exported.event_count == 2

    lead_report = lead.sync.folder(lead.trust.identity(PASSPHRASE), folder)
    assert lead_report.refused == []
    assert set(first) <= {e.id for e in lead.verdicts.events()}
    # The abandoned bundle, delivered by hand after all, is no replay: its events are known.
    [late] = lead.bundles.import_files([moved])
    assert late.refused_reason is None and late.new_events == 0
    lead.close()
