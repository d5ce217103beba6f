"""The queue's find through its indexes (ids by their suffixes, migration 21; text and tags
by trigrams, migration 18) means what the plain substring match over every case means: a
case passes when the text is in its id, its text or one of its tags, ignoring ASCII case
only. Hypothesis writes cases (through the triggers that keep the indexes, or as a bulk
writer does) and finds; the answer must equal the match computed in Python."""

from __future__ import annotations

import json
import sqlite3
from contextlib import nullcontext
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.api import BatchError, QueueFilter
from qa_desktop.core.queue import id_suffix_range
from qa_desktop.core.store import MIGRATIONS, _migration_18, _migration_21, find_index_deferred
from qa_desktop.core.workspace import Workspace

from .factory import case_record, make_workspace, write_batch

ALPHABET = "aAbBzZéÉßẞKK\u212a0%_\\\"' -\n\ud7ff\ue000\U0010ffff"
"""Letters LIKE folds and ones it does not, LIKE's and FTS5's special characters, and the
code points around UTF-8's gaps (the id index's range bounds step over them)."""
words = st.text(alphabet=ALPHABET, max_size=8)


def _ascii_fold(text: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)


def _passes(text: str, case_id: str, body: str, tags: object) -> bool:
    needle = _ascii_fold(text)
    haystacks = [case_id, body]
    if isinstance(tags, list):
        haystacks += [t if isinstance(t, str) else json.dumps(t) for t in tags]
    return any(needle in _ascii_fold(h) for h in haystacks)


def _add(ws: Workspace, rows: list[tuple[str, str, str]], bulk: bool = False) -> None:
    """Insert cases (id, text, tags) as an outside writer does (the triggers index each),
    or as the import does (``bulk``: indexed by one statement at the end)."""
    db = ws.database_for_tests()
    db.conn.execute("BEGIN")
    with find_index_deferred(db) if bulk else nullcontext():
        db.conn.executemany(
            "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags,"
            " orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at,"
            " content_sha256) VALUES (?, 'test-batch', 'text', 'DE', 'de', ?, ?,"
            " 'no_violation', 'HS', 'm', 'q', '2026-10-01T10:00:00Z', '')",
            rows,
        )
    db.conn.execute("COMMIT")


def _suffixes(ws: Workspace) -> list[tuple[str, int]]:
    """What ``case_id_suffixes`` should hold for the cases stored, computed in Python."""
    db = ws.database_for_tests()
    return sorted(
        (_ascii_fold(case_id[k:]), seq)
        for seq, case_id in db.execute("SELECT seq, id FROM cases")
        for k in range(len(case_id) - 2)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(
        st.tuples(
            st.text(alphabet=ALPHABET, min_size=1, max_size=10),
            words,
            st.one_of(st.lists(words, max_size=3), st.just("not json")),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda case: case[0],
    ),
    finds=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=5), min_size=1, max_size=6),
    bulk=st.booleans(),
)
def test_find_through_the_index_means_the_substring_match(
    tmp_path_factory: object,
    cases: list[tuple[str, str, object]],
    finds: list[str],
    bulk: bool,
) -> None:
    root = tmp_path_factory.mktemp("find")  # type: ignore[attr-defined]
    ws = make_workspace(Path(root), "find", cases=1, key=False)
    try:
        rows = [
            (f"x{case_id}", body, tags if isinstance(tags, str) else json.dumps(tags))
            for case_id, body, tags in cases
        ]
        _add(ws, rows, bulk)
        db = ws.database_for_tests()
        assert sorted(db.execute("SELECT suffix, seq FROM case_id_suffixes")) == _suffixes(ws)
        known = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, text, tags FROM cases")}
        pieces = [case_id[k : k + n] for case_id, *_ in rows for k in (0, 2) for n in (3, 5)]
        for text in finds + [body for _, body, _ in cases if len(body) >= 3] + pieces:
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
        assert ws.queue.count(QueueFilter(text="x-2")) == 0
        conn.execute("UPDATE cases SET id = 'Renamed-1' WHERE id = 'x-1'")
        assert ws.queue.count(QueueFilter(text="x-1")) == 0
        assert [r.id for r in ws.queue.page(filter=QueueFilter(text="NAMED"))] == ["Renamed-1"]
        db = ws.database_for_tests()
        assert sorted(db.execute("SELECT suffix, seq FROM case_id_suffixes")) == _suffixes(ws)
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
        cache = conn.execute("PRAGMA cache_size").fetchone()
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            ws.batches.import_batch(write_batch(tmp_path / "more", records, batch_id="more"))
        finally:
            conn.set_trace_callback(None)
        assert conn.execute("PRAGMA cache_size").fetchone() == cache  # the bulk cache is gone
        assert [s for s in seen if s.startswith("PRAGMA cache_size = -")]
        assert not [s for s in seen if "TRIGGER cases_find_insert" in s]
        assert len([s for s in seen if s.startswith("INSERT INTO case_find")]) == 1
        assert len([s for s in seen if s.startswith("INSERT INTO case_id_suffixes")]) == 1
        assert ws.queue.count(QueueFilter(text="zebras")) == 30
        assert ws.queue.count(QueueFilter(text="tag-x")) == 30
        assert ws.queue.count(QueueFilter(text="imp-2")) == 11  # imp-2, imp-20..29
        db = ws.database_for_tests()
        assert db.execute("SELECT COUNT(*) FROM case_find").fetchone()[0] == 31
        assert sorted(db.execute("SELECT suffix, seq FROM case_id_suffixes")) == _suffixes(ws)
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


def _utf8_in_range(value: str, low: str, high: str | None) -> bool:
    """``low <= value < high`` as SQLite compares TEXT (BINARY: UTF-8 bytes)."""
    key = value.encode()
    return low.encode() <= key and (high is None or key < high.encode())


unicode_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(ALPHABET + "\x00\x7f\x80\uffff"),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=6,
)


@settings(max_examples=500, deadline=None)
@given(text=unicode_text.filter(bool), value=unicode_text, tail=unicode_text)
def test_the_id_suffix_range_holds_exactly_the_suffixes_starting_with_the_find(
    text: str, value: str, tail: str
) -> None:
    """The id index's range for a find holds a (folded) suffix exactly when the suffix
    starts with the find folded as LIKE folds it, whatever its characters."""
    low, high = id_suffix_range(text)
    for suffix in (_ascii_fold(value), _ascii_fold(text) + tail, _ascii_fold(value + text)):
        assert _utf8_in_range(suffix, low, high) == suffix.startswith(_ascii_fold(text))


def test_a_workspace_indexed_by_trigrams_is_upgraded_to_id_suffixes(tmp_path: Path) -> None:
    """A data directory made before migration 21 (ids in the trigram index) gets its id
    suffixes and a trigram index of text and tags alone when it is opened; every find
    still finds what it found."""
    ws = make_workspace(tmp_path, "old", cases=1, key=False)
    _add(ws, [("Post-17", "a red bicycle", '["Urgent"]'), ("post-2", "blue", "[]")])
    path = ws.data_dir / "qa.db"
    ws.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "DROP TABLE case_id_suffixes; DROP TABLE case_find; DROP TRIGGER cases_find_insert;"
        " DROP TRIGGER cases_find_delete; DROP TRIGGER cases_find_update;"
        f" DELETE FROM schema_version WHERE version >= {MIGRATIONS.index(_migration_21) + 1};"
    )
    conn.execute("BEGIN")
    _migration_18(sqlite_utils.Database(conn))  # the index as migration 18 left it
    conn.execute("COMMIT")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(case_find)")]
    assert columns == ["id", "text", "tags"]
    conn.close()
    ws = Workspace.open(path.parent)
    try:
        db = ws.database_for_tests()
        assert [row[1] for row in db.execute("PRAGMA table_info(case_find)")] == ["text", "tags"]
        assert sorted(db.execute("SELECT suffix, seq FROM case_id_suffixes")) == _suffixes(ws)
        finds = {
            "POST-": ["Post-17", "post-2"],
            "st-1": ["Post-17"],
            "bicycle": ["Post-17"],
            "urgent": ["Post-17"],
            "t-0": ["t-0"],
        }
        for text, expected in finds.items():
            assert [r.id for r in ws.queue.page(filter=QueueFilter(text=text))] == expected
        in_trigrams = "SELECT rowid FROM case_find WHERE case_find MATCH ?"
        assert not db.execute(in_trigrams, ['"st-1"']).fetchall()  # ids are not in it
    finally:
        ws.close()
