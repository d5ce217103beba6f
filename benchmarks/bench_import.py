"""Import of a generated 100,000-case batch vs raw sqlite3 executemany of the same rows."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from qa_desktop.core.store import open_database
from qa_desktop.core.workspace import Workspace

CASES = 100_000
TARGET = 0.5


def write_text_batch(folder: Path, count: int) -> list[dict[str, object]]:
    """A batch of ``count`` text cases; returns the case records."""
    folder.mkdir(parents=True)
    (folder / "media").mkdir()
    header = {
        "format_version": 1,
        "id": "bench-batch",
        "name": "Benchmark batch",
        "issuer": "bench",
        "market": "global",
        "guideline_pack": {"id": "demo-global", "version": "1.0.0"},
        "created_at": "2026-11-01T00:00:00Z",
    }
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    cases = [
        {
            "id": f"bench-{i:06d}",
            "content_type": "text",
            "media": [],
            "text": f"Synthetic benchmark post number {i} about nothing in particular.",
            "market": "DE",
            "language": "de",
            "tags": ["spam"] if i % 7 == 0 else [],
            "metadata": {},
            "decision": {
                "label": "sp_reduce" if i % 7 == 0 else "no_violation",
                "policy": "SP" if i % 7 == 0 else "none",
                "moderator_id": f"m-{i % 8:03d}",
                "queue": "bench",
                "decided_at": "2026-10-30T12:00:00Z",
            },
        }
        for i in range(count)
    ]
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case) + "\n")
    return cases


def raw_rows(cases: list[dict[str, object]]) -> Iterator[tuple[object, ...]]:
    """The same rows our import stores, as plain tuples for executemany."""
    for c in cases:
        d = c["decision"]
        assert isinstance(d, dict)
        yield (
            c["id"],
            "bench-batch",
            c["content_type"],
            c["market"],
            c["language"],
            c["text"],
            json.dumps(c["tags"]),
            json.dumps(c["metadata"]),
            d["label"],
            d["policy"],
            d["moderator_id"],
            d["queue"],
            d["decided_at"],
            "0" * 64,
        )


def baseline_rows_per_s(tmp: Path, cases: list[dict[str, object]]) -> float:
    """Raw sqlite3: one executemany of the same rows into the app's own schema, one commit.

    The schema (indexes, foreign key, checks) is the app's, so the ratio measures what our
    import adds (reading, parsing, validating, hashing) and not a cheaper table.
    """
    open_database(tmp / "raw.database_for_tests()").close()
    conn = sqlite3.connect(tmp / "raw.database_for_tests()")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "INSERT INTO batches (id, name, issuer, market, pack_id, pack_version, created_at,"
        " format_version, imported_at, source_sha256) VALUES"
        " ('bench-batch', 'b', 'bench', 'global', 'demo-global', '1.0.0', '', 1, '', '')"
    )
    conn.commit()
    started = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags,"
            " metadata, orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at,"
            " content_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            raw_rows(cases),
        )
    elapsed = time.perf_counter() - started
    conn.close()
    return len(cases) / elapsed


def run(tmp: Path) -> list[str]:
    """Measure and describe the import ratio."""
    cases = write_text_batch(tmp / "batch", CASES)
    baseline = baseline_rows_per_s(tmp, cases)
    ws = Workspace.open(tmp / "data")
    started = time.perf_counter()
    report = ws.batches.import_batch(tmp / "batch")
    ours = report.cases_added / (time.perf_counter() - started)
    ws.close()
    ratio = ours / baseline
    verdict = "meets" if ratio >= TARGET else "MISSES"
    return [
        f"import of {CASES:,} cases (validate + insert, one transaction)",
        f"  ours: {ours:,.0f} rows/s   raw sqlite3 executemany: {baseline:,.0f} rows/s",
        f"  ratio ours/raw = {ratio:.2f}  (target >= {TARGET}: {verdict})",
    ]
