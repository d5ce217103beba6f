"""Import of a generated 100,000-case batch vs raw sqlite3 executemany of the same rows."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from qa_desktop.core.store import open_database
from qa_desktop.core.workspace import Workspace

from .batches import write_batch_header

CASES = 100_000
TARGET = 0.5


def write_text_batch(folder: Path, count: int) -> list[dict[str, object]]:
    """A batch of ``count`` text cases; returns the case records."""
    folder.mkdir(parents=True)
    (folder / "media").mkdir()
    write_batch_header(folder, "bench-batch", "Benchmark batch")
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


MEDIA_CASES = 40


def write_media_batch(folder: Path, count: int) -> int:
    """A batch of ``count`` image cases, each a ~2 MB PNG of noise; returns the media bytes."""
    import cv2
    import numpy as np

    media = folder / "media"
    media.mkdir(parents=True)
    rng = np.random.default_rng(5)
    write_batch_header(folder, "bench-media", "Media benchmark batch")
    total = 0
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
        for i in range(count):
            img = rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8)
            name = f"media/img{i}.png"
            cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            total += (folder / name).stat().st_size
            case = {
                "id": f"img-{i:04d}",
                "content_type": "image",
                "media": [name],
                "market": "DE",
                "language": "de",
                "decision": {
                    "label": "no_violation",
                    "policy": "none",
                    "moderator_id": "m-001",
                    "queue": "bench",
                    "decided_at": "2026-10-30T12:00:00Z",
                },
            }
            out.write(json.dumps(case) + "\n")
    return total


def copy_with_fsync_s(sources: list[Path], target: Path) -> float:
    """Seconds to copy files into ``target`` with an fsync each (what any safe store costs)."""
    import os

    target.mkdir()
    started = time.perf_counter()
    for source in sources:
        with open(source, "rb") as src, open(target / source.name, "wb") as out:
            while chunk := src.read(1024 * 1024):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    return time.perf_counter() - started


def run_media(tmp: Path) -> list[str]:
    """Import of image cases (media into the store) against copying the same files."""
    total = write_media_batch(tmp / "batch", MEDIA_CASES)
    sources = sorted((tmp / "batch" / "media").iterdir())
    baseline = min(copy_with_fsync_s(sources, tmp / f"copy{i}") for i in range(2))
    times = []
    for i in range(2):
        ws = Workspace.open(tmp / f"data{i}")
        started = time.perf_counter()
        ws.batches.import_batch(tmp / "batch")
        times.append(time.perf_counter() - started)
        ws.close()
    ours = min(times)
    mb = total / 1e6
    return [
        f"import of {MEDIA_CASES} image cases ({mb:.0f} MB of PNG: sniff, hash, store)",
        f"  ours: {mb / ours:,.0f} MB/s   copy + fsync of the files: {mb / baseline:,.0f} MB/s",
        f"  ratio copy/ours = {baseline / ours:.2f}  (no target: compare before/after)",
    ]
