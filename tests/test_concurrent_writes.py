"""Several processes writing one database at once: none fails with "database is locked".

Real processes (the GUI, CLI commands and a sync are separate processes on one data
directory): recorders, a batch import and repeated exports run together; every write must
land, and every write statement must run inside a ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, make_workspace, write_batch
from .recording import record

CASES = 30
RECORDERS = 3
PER_RECORDER = 30

_RECORDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace
    from tests.recording import record

    data, tag, count, cases = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with Workspace.open(data) as ws:
        for i in range(count):
            record(ws, f"t-{i % cases}", "no_violation", notes=f"{tag}-{i}")
    """
)

_IMPORTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace

    with Workspace.open(Path(sys.argv[1])) as ws:
        for folder in sys.argv[2:]:
            ws.batches.import_batch(Path(folder))
    """
)

_EXPORTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace

    data, out, passphrase = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    with Workspace.open(data) as ws:
        identity = ws.trust.identity(passphrase)
        for _ in range(int(sys.argv[4])):
            ws.bundles.export(identity, out)
    """
)


def _spawn(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_recorders_an_import_and_exports_at_once_lose_no_write(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "ana", cases=CASES)
    data = ws.data_dir
    ws.close()
    batches = []
    for n in range(3):
        records = [case_record(f"x{n}-{i}", "text", [], tags=[]) for i in range(150)]
        batches.append(write_batch(tmp_path / f"extra-{n}", records, batch_id=f"extra-{n}"))
    outbox = tmp_path / "outbox"

    procs = [_spawn(_RECORDER, data, f"r{n}", PER_RECORDER, CASES) for n in range(RECORDERS)]
    procs.append(_spawn(_IMPORTER, data, *batches))
    procs.append(_spawn(_EXPORTER, data, outbox, PASSPHRASE, 15))
    failures = []
    for proc in procs:
        _out, err = proc.communicate(timeout=100)
        if proc.returncode != 0:
            failures.append(err[-2000:])
    assert failures == []

    with Workspace.open(data) as ws:
        db = ws.database_for_tests()
        notes = {row[0] for row in db.execute("SELECT notes FROM verdicts")}
        expected = {f"r{n}-{i}" for n in range(RECORDERS) for i in range(PER_RECORDER)}
        assert notes == expected
        assert db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == CASES + 450
        # What the exports took and what is left are the events, each once.
        exported = db.execute("SELECT COUNT(*) FROM exported_events").fetchone()[0]
        assert exported <= len(expected)
        assert ws.bundles.audit_problems() == []


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE")


def test_every_write_runs_in_an_immediate_transaction(tmp_path: Path) -> None:
    """A write in a deferred transaction (after a read) cannot wait for the lock: the whole
    flow (import, record, undo, export, sync) writes only under ``BEGIN IMMEDIATE``."""
    ana = make_workspace(tmp_path, "ana", cases=0)
    bo = make_workspace(tmp_path, "bo", cases=0)
    seen: list[str] = []
    problems: list[str] = []
    state = {"immediate": False}

    def trace(sql: str) -> None:
        words = sql.strip().split(None, 2)
        head = " ".join(words[:2]).upper()
        seen.append(head)
        if head.startswith("BEGIN"):
            if head != "BEGIN IMMEDIATE":
                problems.append(sql)
            state["immediate"] = True
        elif head.startswith(("COMMIT", "ROLLBACK")) and not head.startswith("ROLLBACK TO"):
            state["immediate"] = False
        elif words and words[0].upper() in _WRITES and not state["immediate"]:
            problems.append(sql)

    ana.database_for_tests().conn.set_trace_callback(trace)
    records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(3)]
    ana.batches.import_batch(write_batch(tmp_path / "batch", records))
    bo.batches.import_batch(write_batch(tmp_path / "batch", records))
    record(ana, "t-0", "no_violation")
    record(ana, "t-1", "no_violation")
    ana.verdicts.undo("t-1")
    folder = tmp_path / "sync"
    folder.mkdir()
    from .factory import introduce

    introduce(ana, bo)
    record(bo, "t-2", "no_violation")
    bo.sync.folder(bo.trust.identity(PASSPHRASE), folder)
    ana.sync.folder(ana.trust.identity(PASSPHRASE), folder)
    ana.database_for_tests().conn.set_trace_callback(None)
    ana.close()
    bo.close()
    assert "BEGIN IMMEDIATE" in seen
    assert problems == []
