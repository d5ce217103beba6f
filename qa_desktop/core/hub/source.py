"""Org-wide reports: the app's report code over the hub's events.

The choice (docs/team-hub.md): rather than a second implementation of every figure in
PostgreSQL SQL, the local workspace (cases, batches, guideline packs, trust store: what the
events refer to) is copied into a temporary directory, the copy's verdict events are
replaced by the hub's ``hub_events``, and ``ws.reports`` runs on the copy. One definition
of a final verdict and of every figure, so the same events give the same figures.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from ..store import open_database, transaction
from ..workspace import DB_FILENAME, Workspace

FETCH_BATCH = 5000


@contextlib.contextmanager
def hub_report_workspace(data_dir: Path, database_url: str) -> Iterator[Workspace]:
    """A throwaway workspace: ``data_dir``'s cases and packs with the hub's events.

    The copy lives in a private temporary directory, removed on exit.
    """
    from .ingest import HubDatabaseError, connect

    home = Path(tempfile.mkdtemp(prefix="qa-hub-report-"))
    try:
        source = sqlite3.connect(f"file:{data_dir / DB_FILENAME}?mode=ro", uri=True)
        target = sqlite3.connect(home / DB_FILENAME)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        import psycopg

        db = open_database(home / DB_FILENAME)
        conn = connect(database_url)
        try:
            _replace_events(db, conn)
        except psycopg.Error as exc:
            raise HubDatabaseError(f"cannot read the hub's events: {exc}") from exc
        finally:
            conn.close()
            db.close()
        with Workspace.open(home) as ws:
            yield ws
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _replace_events(db: sqlite_utils.Database, conn: Any) -> None:
    with transaction(db):
        # the copy is a projection, not a record: its append-only guard may go
        db.execute("DROP TRIGGER IF EXISTS verdicts_no_delete")
        db.execute("DELETE FROM verdicts")
        with conn.cursor() as cur:
            cur.execute("SELECT row FROM hub_events ORDER BY id")
            while rows := cur.fetchmany(FETCH_BATCH):
                db.table("verdicts").insert_all(
                    [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
                )
