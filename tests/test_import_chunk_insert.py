"""A batch import inserts each chunk with one statement over a JSON array of its rows, and
adds the chunk to the find index right after: the stored rows are exactly the rows checked,
whatever their characters; every case is indexed once; a problem found by the reading
thread in a later chunk, or a cancel, leaves nothing written."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.batches import BatchError, ImportCancelled, cases_file, import_batch
from qa_desktop.core.batches.records import _case_row
from qa_desktop.core.store import open_database
from qa_desktop.core.workspace import Workspace

from .factory import batch_header, case_record, write_batch
from .test_batch_streaming import snapshot, text_records

COLUMNS = (
    "id, batch_id, content_type, market, language, text, tags, metadata, orig_label,"
    " orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256"
)

# Text as a JSON encoder and SQLite's JSON functions could disagree on: quotes, backslashes,
# escapes, line and paragraph separators, astral characters, lone surrogates (refused).
_TRICKY = ['"', "\\", "/", "\n", "\t", "\b", "\x1f", "\x7f", "\u2028", "\u2029", "é", "€"]
_TRICKY += ["𝄞", "😀", "\ufeff", "\ud800", "a", " ", "{", "]", "$", "'", "\u0085"]
_tricky = st.text(
    alphabet=st.sampled_from(_TRICKY) | st.characters(),
    max_size=30,
)
_metadata = st.dictionaries(
    st.text(max_size=8), st.none() | st.booleans() | st.integers() | _tricky, max_size=4
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A database for the examples; each rolls its import back."""
    path = tmp_path_factory.mktemp("chunk-insert") / "qa.db"
    database = open_database(path)
    yield database
    database.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(_tricky, min_size=1, max_size=6),
    metadata=st.lists(_metadata, min_size=1, max_size=6),
    tags=st.lists(st.lists(st.text(min_size=1, max_size=6), max_size=3), min_size=1, max_size=6),
    chunk=st.integers(1, 4),
)
def test_stored_rows_are_the_checked_rows(
    db: Any,
    texts: list[str],
    metadata: list[dict[str, Any]],
    tags: list[list[str]],
    chunk: int,
) -> None:
    """Each stored row equals the row the record check built (what an ``executemany`` of
    it would store), for any text, metadata and tags the check accepts."""
    records = [
        case_record(
            f"c-{i}",
            "text",
            [],
            text="x" + texts[i % len(texts)],
            metadata=metadata[i % len(metadata)],
            tags=tags[i % len(tags)],
        )
        for i in range(max(len(texts), len(metadata), len(tags)))
    ]
    expected = []
    for record in records:
        try:
            expected.append(tuple(_case_row(record, "test-batch")[0]))
        except Exception:  # a record the check refuses: the whole file is refused
            expected = []
            break
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(cases_file, "CHUNK_CASES", chunk)
        folder = Path(tmp)
        (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
        with (folder / "cases.jsonl").open("w", encoding="utf-8", errors="surrogatepass") as f:
            f.write("\n".join(lines) + "\n")
        db.conn.execute("BEGIN")  # the import nests in it; rolled back below
        try:
            if not expected:
                with pytest.raises(BatchError, match=r"cases\.jsonl line \d+"):
                    import_batch(db, folder / "media", folder)
                return
            import_batch(db, folder / "media", folder)
            stored = db.execute(f"SELECT {COLUMNS} FROM cases ORDER BY seq").fetchall()
            assert stored == expected
            found = db.execute("SELECT rowid FROM case_find ORDER BY rowid").fetchall()
            assert found == db.execute("SELECT seq FROM cases ORDER BY seq").fetchall()
        finally:
            db.conn.execute("ROLLBACK")


def test_every_chunk_is_found_once(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases of every chunk are in the find index, each once, and a later writer's trigger
    still indexes its case."""
    monkeypatch.setattr(cases_file, "CHUNK_CASES", 7)
    records = [
        case_record(f"z-{i}", "text", [], text=f"Zebra post {i}", tags=["Tag-Q"]) for i in range(30)
    ]
    workspace.batches.import_batch(write_batch(tmp_path / "z", records, batch_id="z"))
    db = workspace.database_for_tests()
    assert workspace.queue.count(QueueFilter(text="zebra")) == 30
    assert workspace.queue.count(QueueFilter(text="tag-q")) == 30
    rowids = db.execute("SELECT rowid FROM case_find ORDER BY rowid").fetchall()
    assert rowids == db.execute("SELECT seq FROM cases ORDER BY seq").fetchall()
    assert db.execute("SELECT 1 FROM meta WHERE key = 'case_find_deferred'").fetchone() is None


def test_a_problem_the_reading_thread_finds_late_writes_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last chunk is read and checked in the reading thread while earlier chunks are
    inserted and indexed; its bad record refuses the file, naming its line, and nothing of
    the chunks before it stays (rows, find index, batch)."""
    monkeypatch.setattr(cases_file, "CHUNK_CASES", 10)
    db = workspace.database_for_tests()
    before = snapshot(db)
    records = text_records(35, "late")
    records[33] = case_record("late-33", "text", [], language=" de")
    with pytest.raises(BatchError) as info:
        workspace.batches.import_batch(write_batch(tmp_path / "late", records, batch_id="late"))
    assert str(info.value).startswith("cases.jsonl line 34, field 'language'")
    assert snapshot(db) == before


def test_an_exception_in_the_reading_thread_reaches_the_caller(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error raised (not collected) while reading a later chunk ends the import with it,
    and nothing is written."""
    monkeypatch.setattr(cases_file, "CHUNK_CASES", 10)
    db = workspace.database_for_tests()
    before = snapshot(db)
    folder = write_batch(tmp_path / "t", text_records(35, "thr"), batch_id="thr")
    original = cases_file._text_blocks
    reads = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        for n, text in enumerate(original(*args, **kwargs)):
            if len(reads) == 2 and n == 1:  # the second read (the import's), second block
                raise BatchError("cases.jsonl line 21: the disk went away")
            yield text

    monkeypatch.setattr(cases_file, "_text_blocks", failing)
    monkeypatch.setattr(cases_file, "_BLOCK", 2000)  # a block holds a few records
    with pytest.raises(BatchError, match=r"cases\.jsonl line 21: the disk went away"):
        workspace.batches.import_batch(folder)
    assert snapshot(db) == before


def test_cancel_between_chunks_writes_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel after some chunks are inserted and indexed leaves nothing of them."""
    monkeypatch.setattr(cases_file, "CHUNK_CASES", 10)
    db = workspace.database_for_tests()
    before = snapshot(db)
    folder = write_batch(tmp_path / "c", text_records(45, "can"), batch_id="can")
    indexed: list[int] = []

    def progress(done: int, total: int) -> None:
        if not indexed:
            found = db.execute("SELECT COUNT(*) FROM case_find").fetchone()[0]
            if found > before["case_find"].__len__():
                indexed.append(found)

    with pytest.raises(ImportCancelled):
        workspace.batches.import_batch(folder, progress=progress, cancelled=lambda: bool(indexed))
    assert indexed  # the cancel came after a chunk was in the find index
    assert snapshot(db) == before
