"""An export writes the same bytes for the same events, whatever its fast path (issue 15).

A fixed set of events, planted straight into the store with every kind of value a row can
hold (escapes, control characters, non-ASCII, the largest exact integers, citations with
quotes, a retraction, an undo, calibration votes, values of a column's unexpected SQLite
type), is exported; the events files, the checkpoint heads and the audit log are hashed and
compared with the hashes the export gave before its fast path (frozen below). The bundles
then import on the current code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from qa_desktop.core.bundles.payloads.verdicts import export_bundle
from qa_desktop.core.formats.canonical import StrictJSONError
from qa_desktop.core.verdicts import VerdictEvent
from qa_desktop.core.workspace import Workspace
from tests.factory import PASSPHRASE, introduce, make_workspace

_CITE = {"pack_id": "demo-global", "pack_version": "1.0.0", "section_id": "VH-1.1"}
_NOTES = [
    "plain",
    'quote " and \\ back\\slash /',
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x0e\x1f\x7f\x80\x9f",
    "é ü ß 中文 \u2028\u2029 \ufeff \uffff 😀 𝄞",
    "",
    "</script><b>not markup</b>&amp;",
]
_CITATIONS = [
    "[]",
    json.dumps([_CITE]),
    json.dumps([{**_CITE, "quote": 'Quoted "text"\n\twith é and \x01 😀'}]),
    json.dumps([{**_CITE, "quote": ""}, {**_CITE, "section_id": "VH-1.3", "quote": "two"}]),
    json.dumps([{"section_id": "VH-0", "quote": "keys out of order", **_CITE}], indent=1),
    "",
    "[ ]",
]


def _row(i: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"golden-{i:03d}",
        "case_id": f"t-{i % 3}",
        "reviewer_id": REVIEWER,
        "role": "sme",
        "session_id": None,
        "label": "no_violation",
        "citations": _CITATIONS[i % len(_CITATIONS)],
        "notes": f"{_NOTES[i % len(_NOTES)]} {i}",
        "time_on_case_ms": [0, 1, 2**53 - 1, 37][i % 4],
        "created_at": f"2026-10-01T00:{i // 60:02d}:{i % 60:02d}.{i:03d}Z",
        "supersedes": None,
        "restores": None,
        "confidence": [None, 1, 3][i % 3],
        "rca_reason": [None, "guideline_misread"][i % 2],
        "rca_note": ["", "why é\n"][i % 2],
        "gap_kind": [None, "ambiguous"][i % 4 == 0],
        "gap_note": ["", "gap \\ note"][i % 4 == 0],
    }
    if i % 11 == 3:
        row.update(label=None, supersedes=f"golden-{i - 3:03d}")  # a retraction
    if i % 13 == 7:
        row.update(supersedes=f"golden-{i - 3:03d}", restores=f"golden-{i - 6:03d}")  # an undo
    if i % 9 == 4:
        row.update(role="participant", session_id=f"session-{i % 2}", label="vh_remove")  # a vote
        row.update(supersedes=None, restores=None)
    if i % 17 == 6:
        row.update(role="arbiter", session_id="session-0", supersedes=None, restores=None)
    return row


def _odd_rows() -> list[dict[str, Any]]:
    """Rows an outside writer could leave: a column's value of another SQLite type."""
    base = _row(900)
    return [
        {
            **base,
            "id": "odd-real",
            "time_on_case_ms": 1.5,
            "created_at": "2026-10-02T00:00:00.000Z",
        },
        {**base, "id": "odd-int-notes", "notes": 42, "created_at": "2026-10-02T00:00:01.000Z"},
        {
            **base,
            "id": "odd-text-int",
            "time_on_case_ms": "12 s",
            "created_at": "2026-10-02T00:00:02.000Z",
        },
        {
            **base,
            "id": "odd-float-cite",
            "created_at": "2026-10-02T00:00:03.000Z",
            "citations": json.dumps([{**_CITE, "quote": 1.25}]),
        },
        {
            **base,
            "id": "odd-negative",
            "time_on_case_ms": -(2**53 - 1),
            "created_at": "2026-10-02T00:00:05.000Z",
        },
        {
            **base,
            "id": "odd-pack",
            "created_at": "2026-10-02T00:00:06.000Z",
            "citations": json.dumps([_CITE], ensure_ascii=False).replace("demo", "démo"),
        },
        {**base, "id": "odd-int-label", "label": 7, "created_at": "2026-10-02T00:00:04.000Z"},
    ]


def _plant(ws: Workspace, rows: list[dict[str, Any]]) -> None:
    db = ws.database_for_tests()
    columns = list(rows[0])
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO verdicts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            [[r[c] for c in columns] for r in rows],
        )


def _digest(parts: list[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(hashlib.sha256(part).digest())
    return sha.hexdigest()


REVIEWER = "01900000-0000-7000-8000-00000000a5a5"
"""The exporting reviewer's id, fixed: it is in every event and so in every hash."""


def _ana(tmp_path: Path, rows: list[dict[str, Any]]) -> Workspace:
    """Ana (reviewer id :data:`REVIEWER`) with ``rows`` planted as her events."""
    ws = Workspace.open(tmp_path / "Ana")
    db = ws.database_for_tests()
    with db.conn:
        db.execute(
            "INSERT INTO reviewers (id, display_name, created_at) VALUES (?, 'Ana', ?)",
            [REVIEWER, "2026-10-01T00:00:00.000Z"],
        )
        db.execute("INSERT INTO meta (key, value) VALUES ('local_reviewer', ?)", [REVIEWER])
    ws.close()
    ana = make_workspace(tmp_path, "Ana")
    assert ana.reviewer is not None and ana.reviewer.id == REVIEWER
    _plant(ana, [{**r, "reviewer_id": REVIEWER} for r in rows])
    return ana


def _export(tmp_path: Path, rows: list[dict[str, Any]], **limits: int) -> tuple[Workspace, Any]:
    ana = _ana(tmp_path, rows)
    identity = ana.trust.identity(PASSPHRASE)
    if limits:  # several bundles: the room's export takes the defaults
        result = export_bundle(ana.database_for_tests(), identity, tmp_path / "out", **limits)
    else:
        result = ana.bundles.export(identity, tmp_path / "out")
    return ana, result


def _fingerprint(ws: Workspace, paths: tuple[Path, ...]) -> tuple[str, str]:
    """(hash of every bundle's events/votes file and checkpoint chain fields, hash of the
    audit log's entries)."""
    parts: list[bytes] = []
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            files = {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}
        for name in ("data/events.jsonl", "data/votes.jsonl"):
            if name in files:
                parts.append(name.encode() + b"\0" + files[name])
        checkpoint = json.loads(files["data/checkpoint.json"])
        parts.append(
            json.dumps([checkpoint[k] for k in ("start", "prev_head", "count", "head")]).encode()
        )
    db = ws.database_for_tests()
    audit = db.execute(
        "SELECT seq, event_id, event_sha256, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall()
    return _digest(parts), _digest([json.dumps(list(r)).encode() for r in audit])


# Frozen from the export before its fast path (commit e69b51d): the hash of the bundles'
# events and chain fields, the hash of the audit log, how many bundles.
_AUDIT = "e90e94a3ffdd3bc3970bc1f431f442a9b0f809d1cc79843d07aabc66bd423373"
GOLDEN = {
    "whole": ("392c8200b049a597d5aad21db982733472cd7e16d2200e8eb9ece5ecbd6e512d", _AUDIT, 2),
    "split": ("028a2b3c541724b8dca880f41bdea562831e8b7330f7300103111d45359876a0", _AUDIT, 33),
    # 115 verdicts in 5 full bundles, then 12 votes in one
    "by 23": ("c101b060b69aada562ab629a58d22df9b5e119a80911598fbe184a3612677e22", _AUDIT, 6),
    # 115 verdicts in 10 bundles, then 12 votes in one full one
    "by 12": ("b9cc2f010623825243fb0dfe5316cfa6e1012964ec84455a01c1c32c61d62958", _AUDIT, 11),
}
_LIMITS: dict[str, dict[str, int]] = {
    "whole": {},
    "split": {"max_events": 7, "max_bytes": 2_000},
    "by 23": {"max_events": 23},
    "by 12": {"max_events": 12},
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_an_export_writes_the_bytes_it_always_wrote(tmp_path: Path, name: str) -> None:
    rows = [_row(i) for i in range(120)] + _odd_rows()
    ana, result = _export(tmp_path, rows, **_LIMITS[name])
    assert result is not None and result.event_count == len(rows)
    assert (*_fingerprint(ana, result.paths), len(result.paths)) == GOLDEN[name]
    assert ana.bundles.audit_problems() == []
    ana.close()


@pytest.mark.parametrize("name", ["whole", "split"])
def test_an_exported_bundle_imports(tmp_path: Path, name: str) -> None:
    rows = [_row(i) for i in range(120)]
    ana, result = _export(tmp_path, rows, **_LIMITS[name])
    assert result is not None and result.event_count == len(rows)
    bo = make_workspace(tmp_path, "Bo")
    introduce(bo, ana, "lead")
    reports = bo.bundles.import_files(list(result.paths))
    assert [(r.refused_reason, r.refused_message) for r in reports] == [(None, "")] * len(
        result.paths
    )
    votes = sum(r["role"] == "participant" for r in rows)  # kept aside: no such session here
    assert [sum(r.new_events for r in reports), sum(r.kept_aside for r in reports)] == [
        len(rows) - votes,
        votes,
    ]
    assert bo.bundles.audit_problems() == []
    sql = "SELECT * FROM verdicts WHERE role != 'participant' ORDER BY id"
    theirs = [VerdictEvent.from_row(r) for r in bo.database_for_tests().query(sql)]
    assert theirs == [VerdictEvent.from_row(r) for r in ana.database_for_tests().query(sql)]
    ana.close()
    bo.close()


@pytest.mark.parametrize(
    "change",
    [
        {"time_on_case_ms": 2**53},
        {"time_on_case_ms": -(2**53)},
        {"notes": b"bytes"},
        {"citations": "not json"},
        {"citations": 0},
        {"citations": json.dumps([{**_CITE, "extra": "field"}])},
        {"citations": json.dumps([{"pack_id": "p"}])},
    ],
)
def test_an_event_that_cannot_be_written_fails_the_export_and_records_nothing(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    rows = [_row(i) for i in range(5)]
    rows[2] = {**rows[2], **change}
    ws = _ana(tmp_path, rows)
    with pytest.raises((StrictJSONError, ValueError, TypeError)):
        ws.bundles.export(ws.trust.identity(PASSPHRASE), tmp_path / "out")
    db = ws.database_for_tests()
    assert db.execute("SELECT COUNT(*) FROM exported_events").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM bundle_log").fetchone()[0] == 0
    assert list((tmp_path / "out").iterdir()) == []
    ws.close()
