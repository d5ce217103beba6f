"""The database: migrations, settings, transactions, append-only verdicts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qa_desktop.core.store import (
    SCHEMA_VERSION,
    DatabaseError,
    open_database,
    schema_version,
    transaction,
)


def test_new_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = open_database(tmp_path / "qa.db")
    assert schema_version(db) == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"batches", "cases", "media", "verdicts", "reviewers"} <= set(db.table_names())


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    open_database(tmp_path / "qa.db").close()
    db = open_database(tmp_path / "qa.db")
    assert db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path / "qa.db")
    db.execute("INSERT INTO schema_version VALUES (?, 'x')", [SCHEMA_VERSION + 1])
    db.close()
    with pytest.raises(DatabaseError, match="newer"):
        open_database(tmp_path / "qa.db")


def test_not_a_database_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "qa.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match=r"qa\.db"):
        open_database(bad)


def test_transaction_rolls_back_everything_on_error(tmp_path: Path) -> None:
    db = open_database(tmp_path / "qa.db")
    with pytest.raises(RuntimeError), transaction(db):
        db["meta"].insert({"key": "a", "value": "1"})
        with transaction(db):
            db["meta"].insert({"key": "b", "value": "2"})
        raise RuntimeError("boom")
    assert db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0


def test_verdict_rows_cannot_be_updated_or_deleted(tmp_path: Path) -> None:
    db = open_database(tmp_path / "qa.db")
    db.execute("PRAGMA foreign_keys=OFF")
    db["verdicts"].insert(
        {"id": "e1", "case_id": "c1", "reviewer_id": "r1", "label": "x", "created_at": "t"}
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE verdicts SET label = 'y'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM verdicts")
