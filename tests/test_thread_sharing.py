"""A worker's connection pauses now and then without the GIL (the GUI thread's turn), and
gives the same answers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from qa_desktop.core import thread_sharing
from qa_desktop.core.thread_sharing import share_interpreter

LONG_QUERY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)"
    " SELECT i, i * 7 % 13 FROM n"
)


def count_pauses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads that paused, one entry a pause (the real sleep still happens)."""
    paused: list[int] = []
    real = thread_sharing.sleep

    def sleep(seconds: float) -> None:
        paused.append(threading.get_ident())
        real(seconds)

    monkeypatch.setattr(thread_sharing, "sleep", sleep)
    return paused


def test_a_long_query_pauses_and_its_rows_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused = count_pauses(monkeypatch)
    plain = sqlite3.connect(tmp_path / "a.db")
    expected = plain.execute(LONG_QUERY).fetchall()
    assert paused == []  # a connection nobody shared never pauses
    shared = sqlite3.connect(tmp_path / "b.db")
    share_interpreter(shared)
    assert shared.execute(LONG_QUERY).fetchall() == expected
    assert paused  # 300k rows take far longer than one turn


def test_writes_through_a_sharing_connection_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused = count_pauses(monkeypatch)
    conn = sqlite3.connect(tmp_path / "w.db")
    share_interpreter(conn)
    conn.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT)")
    with conn:
        conn.executemany("INSERT INTO t VALUES (?, ?)", ((i, f"v{i}") for i in range(200_000)))
    assert conn.execute("SELECT COUNT(*), SUM(i) FROM t").fetchone() == (
        200_000,
        sum(range(200_000)),
    )
    assert paused
