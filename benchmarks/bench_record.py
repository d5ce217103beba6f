"""``ws.verdicts.record`` (the domain rules, then the event appended in its own transaction)
against a raw sqlite3 insert of an equivalent verdict row, one transaction per event
(``BEGIN IMMEDIATE``, ``INSERT``, ``COMMIT``), on the same connection and schema (so the
trigger keeping the maintained verdict tables runs in both).

``CASES`` text cases are written straight into SQLite (one verdict on every tenth); each
run records ``EVENTS`` verdicts each way on fresh cases, alternating in blocks of
``BLOCK`` so both see the same cache and checkpoints; then a second round edits them (ours
supersedes through the rules). Median and range of ``RUNS`` runs.
"""

from __future__ import annotations

import shutil
import statistics
import time
import uuid
from pathlib import Path

from qa_desktop.core.api import VerdictDraft
from qa_desktop.core.workspace import Workspace

from . import bench_queue
from .targets import judge

CASES = 10_000
EVENTS = 400
BLOCK = 50
RUNS = 5
_RAW = (
    "INSERT INTO verdicts (id, case_id, reviewer_id, role, label, citations, notes,"
    " time_on_case_ms, created_at) VALUES (?, ?, ?, 'sme', 'no_violation', '[]', ?, 1200,"
    " '2026-11-02T10:00:00.000000Z')"
)


def _round(ws: Workspace, round_no: int) -> tuple[float, float]:
    """Seconds for ``EVENTS`` verdicts recorded by us and inserted raw."""
    conn = ws.database_for_tests().conn
    reviewer = ws.reviewer.id if ws.reviewer else "bench"
    draft = VerdictDraft("no_violation", notes=f"round {round_no}")
    ours = raw = 0.0
    for start in range(0, EVENTS, BLOCK):
        block = range(start, start + BLOCK)
        began = time.perf_counter()
        for i in block:
            ws.verdicts.record(f"c{i * 7 + 1:07d}", draft, time_on_case_ms=1200)
        ours += time.perf_counter() - began
        began = time.perf_counter()
        for i in block:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_RAW, [str(uuid.uuid4()), f"c{i * 7 + 2:07d}", reviewer, draft.notes])
            conn.execute("COMMIT")
        raw += time.perf_counter() - began
    return ours, raw


def run(tmp: Path) -> list[str]:
    """Measure and describe the record ratio (raw time / our time for the same events)."""
    ours, raw = [], []
    for run_no in range(RUNS):
        folder = tmp / f"run-{run_no}"
        ws = bench_queue._open(folder, CASES)
        ws.verdicts.record("c0000003", VerdictDraft("no_violation"))  # warm the caches
        for round_no in range(2):  # first verdicts, then edits superseding them
            mine, theirs = _round(ws, round_no)
            ours.append(mine)
            raw.append(theirs)
        ws.close()
        shutil.rmtree(folder)
    ratio = [r / o for r, o in zip(raw, ours, strict=True)]
    median = statistics.median(ratio)
    return [
        f"record_verdict vs a raw sqlite3 insert, one transaction per event ({EVENTS} events"
        f" each way x {RUNS * 2} rounds, {CASES:,} cases)",
        f"  ours: {statistics.median(ours) / EVENTS * 1000:.2f} ms/event   raw:"
        f" {statistics.median(raw) / EVENTS * 1000:.2f} ms/event",
        f"  ratio raw/ours = {median:.2f} (range {min(ratio):.2f}–{max(ratio):.2f})"
        f"  {judge('record_verdict vs raw sqlite3', median)}",
    ]
