"""What a bundle import asks the database does not grow with its events (issue 15).

The merge plan reads the stored events and the cases in one query each (ids as one JSON
array), the summary tables of the touched cases are refreshed without the
``effective_verdicts`` view, and the audit chain finds the events to append by index
lookups of the bundle's ids, not by a scan of every event. The outcome is held equal to
what the views and the chain define.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlite_utils

from qa_desktop.core import audit
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record
from .test_verdict_summaries import from_views, maintained

CASES = 40


def _plant(ws: Workspace, count: int) -> None:
    """``count`` more events of the local reviewer, cloned from a recorded one, written
    straight into the store (and chained, as recorded events are)."""
    template = record(ws, "t-0", "no_violation", notes="template").to_row()
    db = ws.database_for_tests()
    rows = []
    for i in range(count - 1):
        row = dict(template)
        row.update(
            id=str(uuid.uuid4()),
            case_id=f"t-{i % CASES}",
            created_at=f"2026-10-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
        )
        rows.append(row)
    columns = list(template)
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO verdicts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            [[r[c] for c in columns] for r in rows],
        )
    audit.sync_chain(db)


def _traced_import(tmp_path: Path, events: int) -> tuple[list[str], sqlite_utils.Database]:
    """Import a bundle of ``events`` events from Bo into a fresh Ana; the statements run."""
    root = tmp_path / str(events)
    ana, bo = make_workspace(root, "Ana", CASES), make_workspace(root, "Bo", CASES)
    introduce(ana, bo)
    _plant(bo, events)
    made = bo.bundles.export(bo.trust.identity(PASSPHRASE), root / "out")
    assert made is not None and made.event_count == events
    bo.close()
    db = ana.database_for_tests()
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        reports = ana.bundles.import_files([made.path])
    finally:
        db.conn.set_trace_callback(None)
    assert [r.new_events for r in reports] == [events], reports
    return statements, db


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def test_an_imports_queries_do_not_grow_with_its_events(tmp_path: Path) -> None:
    small, _ = _traced_import(tmp_path, 12)
    large, db = _traced_import(tmp_path, 1_300)
    assert len(_selects(large)) == len(_selects(small)), _selects(large)
    reads = [s for s in large if not s.lstrip().upper().startswith("CREATE TRIGGER")]
    assert not [s for s in reads if "effective_verdicts" in s]
    assert not [s for s in large if "ORDER BY v.created_at, v.id" in s]  # the chain's scan
    assert maintained(db) == from_views(db)
    assert audit.verify_chain(db) == []
    chained = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    assert chained == db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]


def test_an_event_nobody_chained_is_still_chained_with_the_imported_ones(tmp_path: Path) -> None:
    ana, bo = make_workspace(tmp_path, "Ana", CASES), make_workspace(tmp_path, "Bo", CASES)
    introduce(ana, bo)
    record(bo, "t-1", "no_violation")
    made = bo.bundles.export(bo.trust.identity(PASSPHRASE), tmp_path / "out")
    assert made is not None
    db = ana.database_for_tests()
    db["verdicts"].insert(  # an outside writer's event, not in the audit log
        {
            "id": "outside-1",
            "case_id": "t-2",
            "reviewer_id": "someone",
            "role": "sme",
            "label": "no_violation",
            "created_at": "2026-10-01T00:00:00.000Z",
        }
    )
    assert [r.new_events for r in ana.bundles.import_files([made.path])] == [1]
    logged = [r[0] for r in db.execute("SELECT event_id FROM audit_log ORDER BY seq")]
    assert logged[0] == "outside-1"  # oldest first, as the scan orders them
    assert len(logged) == 2
    assert audit.verify_chain(db) == []
    ana.close()
    bo.close()
