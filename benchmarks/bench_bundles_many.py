"""Export and import of 100,000 verdict events in signed bundles, against stdlib encoding.

- export: ``ws.bundles.export`` of a reviewer's 100k unexported events (canonical JSON, hash,
  zip, sign, fsync, record, chain) -- two bundles, since one carries at most 50k events;
- import: ``ws.bundles.import_files`` of those bundles into a second workspace that trusts
  the signer (read, verify, check, merge, chain), as the user waits for it.

The baseline, in the same run, encodes the same events (plain dicts prepared before the
timer) with the stdlib: ``json.dumps`` a line each, SHA-256 of every line, deflate into a
.zip in memory. Each timed run starts from a copy of a pristine data directory made
outside its timer. Median and range of ``RUNS`` runs (``QA_BENCH_RUNS`` overrides).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import statistics
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from qa_desktop.core import keys
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from tests.recording import record

from .bench_import import write_text_batch
from .targets import judge

EVENTS = 100_000
CASES = 20_000
RUNS = int(os.environ.get("QA_BENCH_RUNS", "5"))
TARGETS = {
    "export": "bundle export, 100k events, vs stdlib json + SHA-256 + zip",
    "import": "bundle import, 100k events, vs stdlib json + SHA-256 + zip",
}
"""Issue 15: each >= 0.5x of the stdlib encoding of the same events."""
PASSPHRASE = "benchmark passphrase"


def _plant_events(ws: Workspace) -> list[dict[str, Any]]:
    """EVENTS verdict rows for the local reviewer (cloned from two recorded ones, one with
    a citation), written straight into the store; their JSON form for the baseline."""
    plain = record(ws, "bench-000001", "no_violation", notes="template")
    cited = record(ws, "bench-000000", "sp_reduce", notes="template")
    db = ws.database_for_tests()
    templates = [plain.to_row(), cited.to_row()]
    rows = []
    for i in range(EVENTS - 2):
        case = i % CASES
        row = dict(templates[1 if case % 7 == 0 else 0])
        row.update(
            id=str(uuid.UUID(int=i + 1)),
            case_id=f"bench-{case:06d}",
            notes=f"bench verdict {i}: looked at the text, nothing else to say",
            time_on_case_ms=1000 + i % 5000,
            created_at=f"2026-11-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:"
            f"{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
        )
        rows.append(row)
    columns = list(rows[0])
    with db.conn:
        db.conn.executemany(_insert_sql(columns), [[r[c] for c in columns] for r in rows])
    events = [dict(r, citations=json.loads(r["citations"])) for r in rows]
    return [plain.to_json(), cited.to_json(), *events]


def _stdlib_encode(events: list[dict[str, Any]]) -> float:
    """Seconds to encode the events with the stdlib: a JSON line each, SHA-256 of each line,
    deflated into a .zip in memory (the least a bundle writer does)."""
    started = time.perf_counter()
    lines = [
        json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        for e in events
    ]
    for line in lines:
        hashlib.sha256(line).hexdigest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("events.jsonl", b"".join(line + b"\n" for line in lines))
    return time.perf_counter() - started


def _insert_sql(columns: list[str]) -> str:
    """An INSERT of one ``verdicts`` row with these columns."""
    return f"INSERT INTO verdicts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"


def _insert_seconds(events: list[dict[str, Any]], workspace: Path, folder: Path) -> float:
    """Seconds to insert the events' rows (prepared before the timer) into the verdicts table
    of a copy of ``workspace`` (its indexes; the per-row trigger dropped, as the import does)
    and commit: what an import adds to the baseline's own work even if it parsed and
    checked nothing."""
    shutil.copytree(workspace, folder)
    columns = list(events[0])
    rows = [[json.dumps(e[c]) if c == "citations" else e[c] for c in columns] for e in events]
    conn = sqlite3.connect(folder / "qa.db")
    try:
        conn.execute("DROP TRIGGER IF EXISTS verdicts_keep_current")
        conn.commit()
        started = time.perf_counter()
        with conn:
            conn.executemany(_insert_sql(columns), rows)
        return time.perf_counter() - started
    finally:
        conn.close()
        shutil.rmtree(folder)


def _workspace(folder: Path, name: str, batch: Path) -> Workspace:
    ws = Workspace.open(folder)
    ws.ensure_reviewer(name)
    ws.guidelines.import_pack(DEMO_PACK)
    ws.batches.import_batch(batch)
    ws.trust.create_identity(PASSPHRASE)
    return ws


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}  range {min(values):.2f}-{max(values):.2f}"


def run(tmp: Path) -> list[str]:
    """Measure export and import of EVENTS events against the stdlib baseline."""
    keys.SCRYPT_N = 2**10
    write_text_batch(tmp / "batch", CASES)
    source = _workspace(tmp / "source", "Ana", tmp / "batch")
    events = _plant_events(source)
    source.close()
    target = _workspace(tmp / "target", "Bo", tmp / "batch")
    signer = Workspace.open(tmp / "source")
    target.trust.trust(
        keys.PublicKey.from_minisign(signer.trust.public_key().to_minisign()),
        "Ana",
        "reviewer",
        signer.reviewer.id if signer.reviewer else None,
    )
    signer.close()
    target.close()

    base: list[float] = []
    exports: list[float] = []
    imports: list[float] = []
    inserts: list[float] = []
    for turn in range(RUNS):
        base.append(_stdlib_encode(events))
        inserts.append(_insert_seconds(events, tmp / "target", tmp / f"insert-{turn}"))
        src, dst, out = tmp / f"src-{turn}", tmp / f"dst-{turn}", tmp / f"out-{turn}"
        shutil.copytree(tmp / "source", src)
        shutil.copytree(tmp / "target", dst)
        with Workspace.open(src) as ws:
            identity = ws.trust.identity(PASSPHRASE)
            started = time.perf_counter()
            result = ws.bundles.export(identity, out)
            exports.append(time.perf_counter() - started)
        assert result is not None and result.event_count == EVENTS, result
        with Workspace.open(dst) as ws:
            started = time.perf_counter()
            reports = ws.bundles.import_files(list(result.paths))
            imports.append(time.perf_counter() - started)
        assert sum(r.new_events for r in reports) == EVENTS, reports
        shutil.rmtree(src)
        shutil.rmtree(dst)
        shutil.rmtree(out)

    def line(name: str, seconds: list[float]) -> str:
        ratios = [b / s for b, s in zip(base, seconds, strict=True)]
        ratio = statistics.median(ratios)
        return (
            f"  {name}: {statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"
            f"   ratio {_spread(ratios)}  {judge(TARGETS[name], ratio)}"
        )

    return [
        f"{EVENTS:,} verdict events on {CASES:,} cases in signed bundles, {RUNS} runs",
        f"  stdlib json + SHA-256 + zip of the same events: {statistics.median(base):.2f} s"
        f" ({min(base):.2f}-{max(base):.2f})",
        line("export", exports),
        line("import", imports),
        "  the import's ceiling: an importer re-encodes every event (is it canonical?) and"
        " hashes it, the baseline's own work, then inserts the rows; inserting them alone"
        f" (nothing parsed or checked) takes {statistics.median(inserts):.2f} s"
        f" ({min(inserts):.2f}-{max(inserts):.2f}), so no import beats baseline/(baseline +"
        " insert) = ratio " + _spread([b / (b + i) for b, i in zip(base, inserts, strict=True)]),
    ]
