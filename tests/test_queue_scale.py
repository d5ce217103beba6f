"""The queue's cost does not grow with its length where it need not: a jump to any page,
the position of a case and the filter bar's facets cost about the same deep in a long
queue as at its start. Measured in SQLite VM steps (deterministic), never in time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.queue import FACET_COLUMNS, queue_page
from qa_desktop.core.workspace import Workspace

from .factory import make_workspace

CASES = 20_000
PAGE = 200


def _fill(ws: Workspace, cases: int) -> None:
    """``cases`` cases c0000000... straight into SQLite (an import of 20k is not the point)."""
    conn = ws.database_for_tests().conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cases (id, batch_id, content_type, market, language, orig_label,"
        " orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
        " VALUES (?, 'test-batch', 'text', ?, 'de', 'no_violation', 'HS', ?, ?,"
        " '2026-10-01T10:00:00Z', '')",
        [
            (f"c{i:07d}", ("DE", "FR", "BR")[i % 3], f"m-{i % 50}", "" if i % 7 else "q-1")
            for i in range(cases)
        ],
    )
    conn.execute("COMMIT")


@pytest.fixture
def long_queue(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path, "long", cases=1, key=False)
    _fill(ws, CASES)
    yield ws
    ws.close()


def _steps(ws: Workspace, job: Callable[[], object]) -> int:
    """How many SQLite VM steps (in thousands) ``job`` takes."""
    conn = ws.database_for_tests().conn
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(tick, 1000)
    try:
        job()
    finally:
        conn.set_progress_handler(None, 0)
    return counted[0]


@pytest.mark.slow
def test_a_page_deep_in_the_queue_costs_what_the_first_does(long_queue: Workspace) -> None:
    ws = long_queue
    total = ws.queue.count()
    last = (total - 1) // PAGE * PAGE
    first_cost = _steps(ws, lambda: ws.queue.page(offset=PAGE, limit=PAGE))
    for offset in (total // 2, last):
        assert _steps(ws, lambda o=offset: ws.queue.page(offset=o, limit=PAGE)) <= max(
            2, 1.5 * first_cost
        )
    # and the rows are the ones OFFSET gives
    db = ws.database_for_tests()
    for offset in (0, PAGE, total // 2, last):
        expected = queue_page(db, ws.reviewer.id if ws.reviewer else "", offset=offset)
        assert ws.queue.page(offset=offset, limit=PAGE) == expected


@pytest.mark.slow
def test_the_position_of_a_case_costs_the_same_anywhere(long_queue: Workspace) -> None:
    ws = long_queue
    near = _steps(ws, lambda: ws.queue.index("c0000010"))
    far = _steps(ws, lambda: ws.queue.index(f"c{CASES - 1:07d}"))
    assert far <= max(2, 1.5 * near)
    assert far < 10  # thousand steps: a scan of the 20k cases would take more
    assert ws.queue.index("t-0") == 0
    assert ws.queue.index(f"c{CASES - 1:07d}") == CASES
    assert ws.queue.index("c0000010", QueueFilter(reviewer="someone")) == 11


@pytest.mark.slow
def test_a_gap_in_the_seqs_falls_back_to_counting(long_queue: Workspace) -> None:
    ws = long_queue
    ws.database_for_tests().execute("DELETE FROM cases WHERE id = 'c0000005'")
    assert ws.queue.index("c0000010") == 10
    page = ws.queue.page(offset=5, limit=3)
    assert [row.id for row in page] == ["c0000004", "c0000006", "c0000007"]


@pytest.mark.slow
def test_facets_cost_their_distinct_values_not_the_cases(long_queue: Workspace) -> None:
    ws = long_queue
    db = ws.database_for_tests()
    facets = ws.queue.facets()
    for column in FACET_COLUMNS:
        expected = [r[0] for r in db.execute(f"SELECT DISTINCT {column} FROM cases ORDER BY 1")]
        assert facets[column] == expected, column
    # 20k cases, a few dozen distinct values: a scan would take > 20k steps
    assert _steps(ws, ws.queue.facets) < 20


def test_the_facet_plans_seek_an_index(workspace: Workspace) -> None:
    db = workspace.database_for_tests()
    for column in FACET_COLUMNS:
        plan = " ".join(
            str(row[-1])
            for row in db.execute(
                f"EXPLAIN QUERY PLAN SELECT MIN({column}) FROM cases WHERE {column} > 'x'"
            )
        )
        assert "INDEX" in plan and "SCAN" not in plan, (column, plan)


@pytest.mark.slow
def test_facets_leave_out_a_set_aside_batch_at_the_same_cost(long_queue: Workspace) -> None:
    """A lead's hidden-gold copies, the newest cases, in a batch of their own: no facet
    offers that batch, and the facets still cost their distinct values (with the statistics
    of ANALYZE, a lookup of "a case not set aside" must not read every case)."""
    ws = long_queue
    db = ws.database_for_tests()
    db.execute(
        "INSERT INTO batches (id, name, issuer, market, pack_id, pack_version, created_at,"
        " format_version, imported_at, source_sha256) SELECT 'copies', 'copies', issuer,"
        " market, pack_id, pack_version, created_at, format_version, imported_at,"
        " source_sha256 FROM batches WHERE id = 'test-batch'"
    )
    copies = [f"copy-{i}" for i in range(20)]
    db.execute("PRAGMA foreign_keys = OFF")  # the gold cases they copy are not planted
    for case_id in copies:
        db.execute(
            "INSERT INTO cases (id, batch_id, content_type, market, language, orig_label,"
            " orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
            " VALUES (?, 'copies', 'image', 'DE', 'de', 'no_violation', 'HS', 'm-1', '',"
            " '2026-10-01T10:00:00Z', '')",
            [case_id],
        )
        db.execute(
            "INSERT INTO shipped_cases (case_id, source_case_id, gold_case_id, batch_id,"
            " shipped_at) VALUES (?, 'c0000001', ?, 'copies', '2026-11-01T00:00:00Z')",
            [case_id, case_id],
        )
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("ANALYZE")
    facets = ws.queue.facets()
    assert facets["batch_id"] == ["test-batch"]
    assert "copies" not in ws.queue.batch_names()
    assert facets["content_type"] == ["text"]  # the copies' "image" is theirs alone
    assert facets["market"] == ["BR", "DE", "FR"]  # "DE" is also the queue's own
    assert _steps(ws, ws.queue.facets) < 20
    assert _steps(ws, ws.queue.batch_names) < 2
