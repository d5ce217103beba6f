"""A selective queue filter (done, disputed, a flag, an outcome) starts from an index of the
maintained verdict tables, never from a scan of every case: proved by the plans SQLite
makes for the statements the queue actually runs at 100k cases, and by their cost in
SQLite VM steps (deterministic), never in time."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from qa_desktop.core.api import QueueFilter, VerdictDraft
from qa_desktop.core.workspace import Workspace

from .factory import make_workspace
from .test_queue_scale import _fill, _steps

CASES = 100_000
EVERY = 100
"""The local reviewer decided every 100th case."""
PAGE = 200
SELECTIVE = (
    QueueFilter(status="done"),
    QueueFilter(status="disputed"),
    QueueFilter(flag="rca"),
    QueueFilter(flag="gap"),
    QueueFilter(flag="any"),
    QueueFilter(outcome="agree"),
    QueueFilter(status="done", flag="rca"),
    QueueFilter(status="done", market="DE"),
    QueueFilter(outcome="under_enforcement", market="FR"),
)


@pytest.fixture(scope="module")
def decided_queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """100k cases; the local reviewer's verdict on every 100th (every 3rd of those escalated
    for RCA, every 5th flagging a gap); another reviewer disagrees on every 1000th."""
    ws = make_workspace(tmp_path_factory.mktemp("plans"), "plans", cases=1, key=False)
    _fill(ws, CASES)
    assert ws.reviewer is not None
    me = ws.reviewer.id
    conn = ws.database_for_tests().conn
    rows = []
    for n, i in enumerate(range(0, CASES, EVERY)):
        rows.append(
            (f"v{i}", f"c{i:07d}", me, "no_violation" if n % 2 else "vh_remove",
             "frontline_error" if n % 3 == 0 else None, "silent" if n % 5 == 0 else None)
        )  # fmt: skip
        if i % 1000 == 0:
            rows.append((f"w{i}", f"c{i:07d}", "other-sme", "sp_reduce", None, None))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO verdicts (id, case_id, reviewer_id, label, rca_reason, gap_kind,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, '2026-10-02T10:00:00Z')",
        rows,
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    yield ws
    ws.close()


def _statements(ws: Workspace, job: Callable[[], object]) -> list[str]:
    """The SELECT statements ``job`` runs, with their parameters filled in."""
    conn = ws.database_for_tests().conn
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        job()
    finally:
        conn.set_trace_callback(None)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


def _scans_of_cases(ws: Workspace, sql: str) -> list[str]:
    db = ws.database_for_tests()
    plan = [str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
    return [step for step in plan if re.match(r"SCAN (c|cases)\b", step)]


@pytest.mark.slow
@pytest.mark.parametrize("only", SELECTIVE, ids=lambda f: f.to_json())
def test_a_selective_filter_never_scans_the_cases(
    decided_queue: Workspace, only: QueueFilter
) -> None:
    ws = decided_queue
    first = ws.queue.page(filter=only, limit=PAGE)
    assert first, "the filter should match some cases"
    deep = first[len(first) // 2]
    jobs = {
        "page": lambda: ws.queue.page(filter=only, limit=PAGE),
        "next page": lambda: ws.queue.page(filter=only, after_seq=deep.seq, limit=PAGE),
        "count": lambda: ws.queue.count(only),
        "position": lambda: ws.queue.index(first[-1].id, only),
    }
    for name, job in jobs.items():
        statements = _statements(ws, job)
        assert statements, name
        for sql in statements:
            assert _scans_of_cases(ws, sql) == [], (name, sql)


@pytest.mark.slow
def test_the_maintained_filters_give_what_the_views_give(decided_queue: Workspace) -> None:
    ws = decided_queue
    db = ws.database_for_tests()
    assert ws.reviewer is not None
    done = db.execute(
        "SELECT COUNT(*) FROM effective_verdicts WHERE reviewer_id = ? AND label IS NOT NULL",
        [ws.reviewer.id],
    ).fetchone()[0]
    disputed = db.execute(
        "SELECT COUNT(*) FROM final_verdicts WHERE status = 'disputed'"
    ).fetchone()[0]
    assert ws.queue.count(QueueFilter(status="done")) == done == CASES // EVERY
    assert ws.queue.count(QueueFilter(status="disputed")) == disputed == CASES // 1000
    assert ws.queue.count(QueueFilter(status="open")) == CASES + 1 - done
    assert ws.queue.count(QueueFilter(flag="rca")) == len(range(0, CASES // EVERY, 3))
    rows = ws.queue.page(filter=QueueFilter(status="disputed"), limit=PAGE)
    assert [r.id for r in rows] == [f"c{i:07d}" for i in range(0, CASES, 1000)][:PAGE]
    assert all(r.disputed and r.final_label is None for r in rows)
    last = rows[-1]
    assert ws.queue.index(last.id, QueueFilter(status="disputed")) == len(rows) - 1


@pytest.mark.slow
def test_a_filtered_page_deep_in_the_queue_costs_what_the_first_does(
    decided_queue: Workspace,
) -> None:
    ws = decided_queue
    only = QueueFilter(status="done")
    rows = ws.queue.page(filter=only, limit=CASES)
    first = _steps(ws, lambda: ws.queue.page(filter=only, limit=PAGE))
    for at in (len(rows) // 2, len(rows) - PAGE):
        seq = rows[at].seq
        cost = _steps(ws, lambda s=seq: ws.queue.page(filter=only, after_seq=s, limit=PAGE))
        assert cost <= max(2, 1.5 * first), at


@pytest.mark.slow
def test_filtered_counts_and_positions_cost_their_matches_not_the_cases(
    decided_queue: Workspace,
) -> None:
    """A scan of 100k cases takes hundreds of thousands of steps; the 1,000 decided cases
    and 100 disputed ones take a few thousand."""
    ws = decided_queue
    rows = ws.queue.page(filter=QueueFilter(status="done"), limit=CASES)
    for only in (
        QueueFilter(status="done"),
        QueueFilter(status="disputed"),
        QueueFilter(flag="any"),
    ):
        assert _steps(ws, lambda f=only: ws.queue.count(f)) < 20, only
    assert _steps(ws, lambda: ws.queue.index(rows[-1].id, QueueFilter(status="done"))) < 20
    # A find of two characters still reads every case (the meter sees a scan) ...
    scan = _steps(ws, lambda: ws.queue.count(QueueFilter(text="zq")))
    assert scan > 100


@pytest.mark.slow
def test_a_find_is_a_lookup_in_its_indexes(decided_queue: Workspace) -> None:
    """A find of three characters or more asks the id suffixes (one range of their primary
    key) and ``case_find`` (text and tags) which cases hold the text and reads only those:
    its count, first page and a position cost their matches, and give what the substring
    match over every case gives. Ids are not in the trigram index: their trigrams (``c00``,
    ``000``) are in most ids, so looking an id up there walked lists as long as the queue."""
    ws = decided_queue
    db = ws.database_for_tests()
    page = _statements(ws, lambda: ws.queue.page(filter=QueueFilter(text="c00123")))
    plan = [str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + page[0])]
    assert any(
        re.match(r"SEARCH case_id_suffixes USING PRIMARY KEY \(suffix>\? AND suffix<\?\)", step)
        for step in plan
    ), plan
    assert any(re.match(r"SCAN case_find VIRTUAL TABLE INDEX 0:M", step) for step in plan), plan
    assert not _scans_of_cases(ws, page[0]), plan
    in_trigrams = "SELECT COUNT(*) FROM case_find WHERE case_find MATCH ?"
    assert db.execute(in_trigrams, ['"c00"']).fetchone()[0] == 0
    for text, expected in (("no such text", []), ("C00123", range(12300, 12400))):
        only = QueueFilter(text=text)
        ids = [f"c{i:07d}" for i in expected]
        assert _steps(ws, lambda f=only: ws.queue.count(f)) < 20, text
        assert _steps(ws, lambda f=only: ws.queue.page(filter=f, limit=PAGE)) < 20, text
        assert ws.queue.count(only) == len(ids)
        assert [r.id for r in ws.queue.page(filter=only, limit=PAGE)] == ids
        like = f"%{text}%"
        assert [r[0] for r in db.execute("SELECT id FROM cases WHERE id LIKE ?", [like])] == ids
    assert _steps(ws, lambda: ws.queue.index("c0012399", QueueFilter(text="c00123"))) < 20
    assert ws.queue.index("c0012399", QueueFilter(text="c00123")) == 99


@pytest.mark.slow
def test_recording_a_verdict_seeks_its_case_whatever_analyze_learned(
    decided_queue: Workspace,
) -> None:
    """ANALYZE has seen that no event supersedes another: the views' supersession tests,
    which the trigger keeping the verdict tables runs, must still seek, not scan."""
    ws = decided_queue
    db = ws.database_for_tests()
    plan = [
        str(row[-1])
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM final_verdicts WHERE case_id = 'c0000001'"
        )
    ]
    assert not [step for step in plan if step.startswith("SCAN")], plan
    draft = VerdictDraft("no_violation")
    cost = _steps(ws, lambda: ws.verdicts.record("c0000001", draft))
    assert cost < 20  # thousand steps; a scan of the events per test took thousands
    assert ws.queue.row("c0000001").my_label == "no_violation"  # type: ignore[union-attr]
