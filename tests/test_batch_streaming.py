"""A batch import streams its cases file: memory that does not grow with the file, chunks
inserted in one transaction that a kill or a cancel leaves with nothing written, and
problems at chunk and block boundaries named at their true lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.batches import BatchError, ImportCancelled, cases_file, import_batch
from qa_desktop.core.batches import limits as batch_limits
from qa_desktop.core.store import open_database
from qa_desktop.core.workspace import Workspace

from .factory import batch_header, case_record, write_batch

TABLES = ("batches", "cases", "media", "case_find")


def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes."""
    return {
        t: db.execute(
            f"SELECT {'rowid' if t == 'case_find' else '*'} FROM {t} ORDER BY rowid"
        ).fetchall()
        for t in TABLES
    }


def text_records(count: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [case_record(f"{prefix}-{i}", "text", []) for i in range(count)]


def write_jsonl(folder: Path, count: int) -> Path:
    """A batch of ``count`` text cases, written a line at a time."""
    folder.mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps(case_record(f"case-{i:06d}", "text", [])) + "\n")
    return folder


def import_peak_bytes(tmp: Path, count: int) -> int:
    """Peak Python memory (tracemalloc) of importing ``count`` text cases."""
    folder = write_jsonl(tmp / f"batch-{count}", count)
    db = open_database(tmp / f"qa-{count}.db")
    tracemalloc.start()
    try:
        report = import_batch(db, tmp / f"media-{count}", folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        db.close()
    assert report.cases_added == count
    return peak


@pytest.mark.slow
def test_import_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Four times the cases cost far less than four times the memory: what grows is the set
    of case ids (for duplicates), not the records. (Holding the file, its lines, records and
    rows, as the import once did, costs over 2 KB a case.)"""
    small = import_peak_bytes(tmp_path, 20_000)
    large = import_peak_bytes(tmp_path, 80_000)
    assert large < 2 * small, (small, large)
    assert (large - small) / 60_000 < 400, (small, large)


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace

    ws = Workspace.open(Path(sys.argv[1]))
    db = ws.database_for_tests()

    def progress(done, total):
        if done >= total // 2:
            inserted = db.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
            print(f"inserted {inserted}", flush=True)
            time.sleep(120)

    ws.batches.import_batch(Path(sys.argv[2]), progress=progress)
    print("finished", flush=True)
    """
)


@pytest.mark.slow
def test_kill_mid_import_leaves_nothing_written(tmp_path: Path) -> None:
    folder = write_jsonl(tmp_path / "b", 4 * cases_file.CHUNK_CASES)
    data = tmp_path / "data"
    Workspace.open(data).close()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        # Half of the cases are inserted, in the transaction the kill leaves uncommitted.
        assert line.startswith("inserted ") and int(line.split()[1]) >= cases_file.CHUNK_CASES
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()  # (already dead unless a check above failed)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with Workspace.open(data) as ws:
        assert snapshot(ws.database_for_tests()) == {t: [] for t in TABLES}
        report = ws.batches.import_batch(folder)
        assert report.cases_added == 4 * cases_file.CHUNK_CASES


def test_cancel_mid_stream_leaves_nothing(workspace: Workspace, tmp_path: Path) -> None:
    db = workspace.database_for_tests()
    workspace.batches.import_batch(write_batch(tmp_path / "base", text_records(2, "base"), "base"))
    before = snapshot(db)
    folder = write_jsonl(tmp_path / "b", 3 * cases_file.CHUNK_CASES)
    seen_inserted: list[int] = []

    def progress(done: int, total: int) -> None:
        # Once a chunk is in (uncommitted: this connection sees its own transaction), cancel.
        if done >= 4 * cases_file.CHUNK_CASES and not seen_inserted:
            inserted = db.execute("SELECT COUNT(*) FROM cases WHERE batch_id = 'test-batch'")
            seen_inserted.append(inserted.fetchone()[0])

    def cancelled() -> bool:
        return bool(seen_inserted)

    with pytest.raises(ImportCancelled):
        workspace.batches.import_batch(folder, progress=progress, cancelled=cancelled)
    assert seen_inserted == [cases_file.CHUNK_CASES]
    assert snapshot(db) == before
    assert workspace.batches.import_batch(folder).cases_added == 3 * cases_file.CHUNK_CASES


# -- problems at chunk and block boundaries ---------------------------------------------------

_KINDS = ("malformed", "bad-field", "duplicate", "other-batch", "not-utf8")


def _bad_line(kind: str, index: int) -> tuple[bytes, str]:
    """The bytes of a bad line standing for case ``index``, and what the error must say
    (``{line}`` is the line it is on)."""
    if kind == "malformed":
        return b'{"id": "c-x",', "cases.jsonl line {line}: not valid JSON"
    if kind == "bad-field":
        record = case_record(f"c-{index}", "text", [], market="")
        return json.dumps(record).encode(), "cases.jsonl line {line}, field 'market'"
    if kind == "duplicate":
        record = case_record("c-0", "text", [])
        message = "cases.jsonl line {line}, field 'id': duplicate case id 'c-0' (first on line"
        return json.dumps(record).encode(), message
    if kind == "other-batch":
        record = case_record("base-0", "text", [])
        message = "cases.jsonl line {line}, field 'id': case 'base-0' already belongs to batch"
        return json.dumps(record).encode(), message
    record = case_record(f"c-{index}", "text", [], text="café")
    return json.dumps(record, ensure_ascii=False).encode().replace(
        "é".encode(), b"\xe9"
    ), "cases.jsonl line {line}: not valid UTF-8 (byte 0xe9"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A database holding batch 'base' (cases base-0, base-1); every example rolls back."""
    tmp = tmp_path_factory.mktemp("stream")
    db = open_database(tmp / "qa.db")
    import_batch(db, tmp / "media", write_batch(tmp / "base", text_records(2, "base"), "base"))
    yield db
    db.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(2, 14),
    chunk=st.integers(1, 5),
    block=st.integers(1, 200),
    bad=st.none() | st.tuples(st.sampled_from(_KINDS), st.integers(1, 13)),
    blanks=st.sets(st.integers(0, 14), max_size=3),
)
def test_problems_at_chunk_and_block_boundaries_name_their_line(
    base_db: Any,
    count: int,
    chunk: int,
    block: int,
    bad: tuple[str, int] | None,
    blanks: set[int],
) -> None:
    """Whatever the chunk size and read block, a bad line (the last of a chunk, the first of
    the next, anywhere) is refused naming its line, and nothing is written; a good file
    imports whole."""
    lines = [json.dumps(case_record(f"c-{i}", "text", [])).encode() for i in range(count)]
    expected, bad_index = "", -1
    if bad is not None:
        kind, bad_index = bad[0], min(bad[1], count - 1)
        lines[bad_index], expected = _bad_line(kind, bad_index)
    numbered = list(enumerate(lines))
    for position in sorted(blanks, reverse=True):  # blank lines shift the line numbers
        numbered.insert(min(position, len(numbered)), (-1, b"  "))
    line = next((n for n, (i, _) in enumerate(numbered, 1) if i == bad_index), 0)
    before = snapshot(base_db)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(cases_file, "CHUNK_CASES", chunk)
        patch.setattr(cases_file, "_BLOCK", block)
        folder = Path(tmp)
        (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
        (folder / "cases.jsonl").write_bytes(b"\n".join(s for _, s in numbered) + b"\n")
        if bad is None:
            base_db.conn.execute("BEGIN")  # the import nests in it; rolled back below
            try:
                report = import_batch(base_db, folder / "media", folder)
                assert report.cases_added == count
                ids = base_db.execute("SELECT id FROM cases WHERE batch_id = 'test-batch'")
                assert sorted(r[0] for r in ids) == sorted(f"c-{i}" for i in range(count))
            finally:
                base_db.conn.execute("ROLLBACK")
        else:
            with pytest.raises(BatchError) as info:
                import_batch(base_db, folder / "media", folder)
            assert expected.format(line=line) in str(info.value)
    assert snapshot(base_db) == before


CSV_HEAD = "id,content_type,text,market,language,label,policy,moderator_id,queue,decided_at"
CSV_ROW = "c-{},text,hello,DE,de,{},VH,m-1,q,2026-10-30T12:00:00Z"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 12),
    chunk=st.integers(1, 5),
    block=st.integers(1, 120),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    bad=st.none() | st.integers(0, 11),
)
def test_csv_chunk_and_block_boundaries_keep_line_numbers(
    base_db: Any, count: int, chunk: int, block: int, ending: str, bad: int | None
) -> None:
    """A .csv with any line ending, cut anywhere into blocks and chunks: a bad row is named at
    its line (the header is line 1), a good file imports whole."""
    bad = None if bad is None else min(bad, count - 1)
    rows = [CSV_ROW.format(i, "" if i == bad else "vh_remove") for i in range(count)]
    before = snapshot(base_db)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(cases_file, "CHUNK_CASES", chunk)
        patch.setattr(cases_file, "_BLOCK", block)
        folder = Path(tmp)
        (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
        text = ending.join([CSV_HEAD, *rows]) + ending
        (folder / "cases.csv").write_bytes(text.encode())
        if bad is None:
            base_db.conn.execute("BEGIN")  # the import nests in it; rolled back below
            try:
                assert import_batch(base_db, folder / "media", folder).cases_added == count
            finally:
                base_db.conn.execute("ROLLBACK")
        else:
            with pytest.raises(BatchError) as info:
                import_batch(base_db, folder / "media", folder)
            assert f"cases.csv line {bad + 2}, field 'label': must not be empty" in str(info.value)
    assert snapshot(base_db) == before


def test_a_line_too_long_for_any_record_is_refused(
    base_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import holds one line at a time: a file that never ends its line is refused once
    the line passes the limit, not read whole."""
    monkeypatch.setattr(batch_limits, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(cases_file, "_BLOCK", 1000)
    before = snapshot(base_db)
    line = json.dumps(case_record("c-0", "text", []))
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "batch.json").write_text(json.dumps(batch_header()), encoding="utf-8")
    (folder / "cases.jsonl").write_text(line + "\n" + "x" * 100_000, encoding="utf-8")
    with pytest.raises(BatchError) as info:
        import_batch(base_db, tmp_path / "media", folder)
    assert "cases.jsonl line 2: longer than 4 KiB; no case record is that long" in str(info.value)
    assert snapshot(base_db) == before


def test_a_cases_file_changed_during_the_import_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The file is read twice (scan, then chunks): bytes that differ the second time are
    refused, and nothing is written."""
    db = workspace.database_for_tests()
    folder = write_jsonl(tmp_path / "b", 3)
    before = snapshot(db)

    def progress(done: int, total: int) -> None:
        if done == 0:  # right after the scan
            records = [case_record(f"case-{i:06d}", "text", [], text="edited") for i in range(3)]
            lines = "".join(json.dumps(r) + "\n" for r in records)
            (folder / "cases.jsonl").write_text(lines, encoding="utf-8")

    with pytest.raises(BatchError) as info:
        workspace.batches.import_batch(folder, progress=progress)
    assert str(info.value) == "cases.jsonl: changed while it was being imported"
    assert snapshot(db) == before
