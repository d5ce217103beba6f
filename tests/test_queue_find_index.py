"""The queue's find through the trigram index (migration 18) means what the plain substring
match over every case means: a case passes when the text is in its id, its text or one of
its tags, ignoring ASCII case only. Hypothesis writes cases (through the triggers that keep
``case_find``) and finds; the answer must equal the match computed in Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.api import BatchError, QueueFilter
from qa_desktop.core.workspace import Workspace

from .factory import case_record, make_workspace, write_batch

ALPHABET = "aAbBzZéÉßẞKK\u212a0%_\\\"' -\n"
words = st.text(alphabet=ALPHABET, max_size=8)


def _ascii_fold(text: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)


def _passes(text: str, case_id: str, body: str, tags: object) -> bool:
    needle = _ascii_fold(text)
    haystacks = [case_id, body]
    if isinstance(tags, list):
        haystacks += [t if isinstance(t, str) else json.dumps(t) for t in tags]
    return any(needle in _ascii_fold(h) for h in haystacks)


def _add(ws: Workspace, rows: list[tuple[str, str, str]]) -> None:
    conn = ws.database_for_tests().conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags,"
        " orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at,"
        " content_sha256) VALUES (?, 'test-batch', 'text', 'DE', 'de', ?, ?,"
        " 'no_violation', 'HS', 'm', 'q', '2026-10-01T10:00:00Z', '')",
        rows,
    )
    conn.execute("COMMIT")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(
        st.tuples(words, st.one_of(st.lists(words, max_size=3), st.just("not json"))),
        min_size=1,
        max_size=8,
    ),
    finds=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=5), min_size=1, max_size=6),
)
def test_find_through_the_index_means_the_substring_match(
    tmp_path_factory: object, cases: list[tuple[str, object]], finds: list[str]
) -> None:
    root = tmp_path_factory.mktemp("find")  # type: ignore[attr-defined]
    ws = make_workspace(Path(root), "find", cases=1, key=False)
    try:
        rows = [
            (f"x-{n}", body, tags if isinstance(tags, str) else json.dumps(tags))
            for n, (body, tags) in enumerate(cases)
        ]
        _add(ws, rows)
        db = ws.database_for_tests()
        known = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, text, tags FROM cases")}
        for text in finds + [body for body, _ in cases if len(body) >= 3]:
            expected = [
                case_id
                for case_id, (body, tags) in known.items()
                if _passes(text, case_id, body, tags if tags == "not json" else json.loads(tags))
            ]
            only = QueueFilter(text=text)
            found = [row.id for row in ws.queue.page(filter=only, limit=100)]
            assert found == expected, text
            assert ws.queue.count(only) == len(expected), text
    finally:
        ws.close()


def test_the_index_follows_changed_and_deleted_cases(tmp_path: Path) -> None:
    """An outside writer that edits or deletes a case leaves no stale find behind."""
    ws = make_workspace(tmp_path, "edit", cases=1, key=False)
    try:
        _add(ws, [("x-1", "a red bicycle", '["urgent"]'), ("x-2", "blue", "[]")])
        conn = ws.database_for_tests().conn
        assert ws.queue.count(QueueFilter(text="bicycle")) == 1
        conn.execute("UPDATE cases SET text = 'a green car', tags = '[]' WHERE id = 'x-1'")
        assert ws.queue.count(QueueFilter(text="bicycle")) == 0
        assert ws.queue.count(QueueFilter(text="urgent")) == 0
        assert [r.id for r in ws.queue.page(filter=QueueFilter(text="GREEN"))] == ["x-1"]
        conn.execute("DELETE FROM cases WHERE id = 'x-2'")
        assert ws.queue.count(QueueFilter(text="blu")) == 0
        integrity = conn.execute(
            "INSERT INTO case_find (case_find, rank) VALUES ('integrity-check', 1)"
        )
        assert integrity is not None
    finally:
        ws.close()


def test_an_imported_batch_is_indexed_at_the_end_of_its_transaction(tmp_path: Path) -> None:
    """The import indexes its cases with one statement (the trigger stands aside while it
    writes): every case is found, the index holds each once, and no marker is left."""
    ws = make_workspace(tmp_path, "imp", cases=1, key=False)
    try:
        records = [
            case_record(
                f"imp-{i}", "text", [], text=f"Post about Zebras number {i}", tags=["Tag-X"]
            )
            for i in range(30)
        ]
        conn = ws.database_for_tests().conn
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            ws.batches.import_batch(write_batch(tmp_path / "more", records, batch_id="more"))
        finally:
            conn.set_trace_callback(None)
        assert not [s for s in seen if "TRIGGER cases_find_insert" in s]
        assert len([s for s in seen if s.startswith("INSERT INTO case_find")]) == 1
        assert ws.queue.count(QueueFilter(text="zebras")) == 30
        assert ws.queue.count(QueueFilter(text="tag-x")) == 30
        assert ws.queue.count(QueueFilter(text="imp-2")) == 11  # imp-2, imp-20..29
        db = ws.database_for_tests()
        assert db.execute("SELECT COUNT(*) FROM case_find").fetchone()[0] == 31
        assert db.execute("SELECT 1 FROM meta WHERE key = 'case_find_deferred'").fetchone() is None
        _add(ws, [("x-late", "zebras too", "[]")])  # a writer after it: the trigger again
        assert ws.queue.count(QueueFilter(text="zebras")) == 31
    finally:
        ws.close()


def test_a_refused_import_leaves_no_index_and_no_marker(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "bad", cases=1, key=False)
    try:
        good = case_record("ok-1", "text", [], text="unicorns")
        bad = case_record("t-0", "text", [], text="unicorns")  # t-0 is in another batch
        with pytest.raises(BatchError):
            ws.batches.import_batch(write_batch(tmp_path / "b", [good, bad], batch_id="other"))
        db = ws.database_for_tests()
        assert ws.queue.count(QueueFilter(text="unicorns")) == 0
        assert db.execute("SELECT COUNT(*) FROM case_find").fetchone()[0] == 1
        assert db.execute("SELECT 1 FROM meta WHERE key = 'case_find_deferred'").fetchone() is None
    finally:
        ws.close()
