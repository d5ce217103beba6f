"""Bundles of thousands of events: the fast paths write and read exactly what the reference
RFC 8785 encoder (the format's definition) gives, and the canonical encoder equals it."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from qa_desktop.core import bundles, store
from qa_desktop.core.api import VerdictEvent
from qa_desktop.core.bundles import BundleRejected
from qa_desktop.core.formats.canonical import StrictJSONError, dumps_canonical
from qa_desktop.core.workspace import Workspace
from tests.factory import PASSPHRASE, introduce, make_workspace
from tests.recording import record

EVENTS = 2_000
NOTES = [
    "plain",
    'quote " and \\ slash',
    "tab\tnew\nline\x01\x1f\x7f",
    "é ü ß 中文",
    "😀 \u2028",
    "",
]


def _reference_bytes(event: VerdictEvent) -> bytes:
    """An event's canonical bytes as the format defines them: ``to_json`` through the
    reference RFC 8785 implementation (what every version wrote before the fast path)."""
    return bytes(rfc8785.dumps(event.to_json()))


def _plant(ws: Workspace) -> None:
    """EVENTS events of the local reviewer, varied (citations, notes with escapes and
    non-ASCII, optional fields), cloned from two recorded ones into the store."""
    templates = [
        record(ws, "t-0", "no_violation").to_row(),
        record(ws, "t-1", "vh_remove").to_row(),
    ]
    rows = []
    for i in range(EVENTS - 2):
        row = dict(templates[i % 2])
        row.update(
            id=str(uuid.UUID(int=i + 1)),
            case_id=f"t-{i % 3}",
            notes=f"{NOTES[i % len(NOTES)]} {i}",
            time_on_case_ms=i * 37,
            confidence=None if i % 3 else 1 + i % 3,
            created_at=f"2026-10-{1 + i // 1440 % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00.000Z",
        )
        rows.append(row)
    columns = list(rows[0])
    db = ws.database_for_tests()
    with db.conn:  # hundreds of events on one case: the per-case tables refreshed once
        store.insert_verdicts_in_bulk(
            db,
            f"INSERT INTO verdicts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            [[r[c] for c in columns] for r in rows],
            {r["case_id"] for r in rows},
        )


def _events(ws: Workspace) -> list[VerdictEvent]:
    db = ws.database_for_tests()
    return [
        VerdictEvent.from_row(r) for r in db.query("SELECT * FROM verdicts ORDER BY created_at, id")
    ]


@pytest.mark.slow
def test_a_2k_event_bundle_is_byte_identical_to_the_reference_encoding(tmp_path: Path) -> None:
    ana, bo = make_workspace(tmp_path, "Ana"), make_workspace(tmp_path, "Bo")
    introduce(bo, ana)
    _plant(ana)
    events = _events(ana)
    reference = [_reference_bytes(e) for e in events]
    result = ana.bundles.export(ana.trust.identity(PASSPHRASE), tmp_path / "out")
    assert result is not None and result.event_count == EVENTS

    with zipfile.ZipFile(result.path) as archive:
        files = {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}
    events_file = b"".join(line + b"\n" for line in reference)
    assert files["data/events.jsonl"] == events_file
    manifest = dict(
        reversed(line.split("  ", 1)) for line in files["manifest-sha256.txt"].decode().splitlines()
    )
    assert manifest["data/events.jsonl"] == hashlib.sha256(events_file).hexdigest()
    checkpoint = json.loads(files["data/checkpoint.json"])
    head = "0" * 64
    for line in reference:
        head = hashlib.sha256(bytes.fromhex(head) + hashlib.sha256(line).digest()).hexdigest()
    assert checkpoint["head"] == head

    reports = bo.bundles.import_files([result.path])
    assert [(r.refused_reason, r.new_events) for r in reports] == [(None, EVENTS)]
    assert [e.to_row() for e in _events(bo)] == [e.to_row() for e in events]
    db = bo.database_for_tests()
    chained = dict(db.execute("SELECT event_id, event_sha256 FROM audit_log").fetchall())
    assert chained == {
        e.id: hashlib.sha256(b).hexdigest() for e, b in zip(events, reference, strict=True)
    }
    assert bo.bundles.audit_problems() == []
    assert ana.bundles.audit_problems() == []
    again = bo.bundles.import_files([result.path])
    assert [(r.new_events, r.already_known) for r in again] == [(0, EVENTS)]
    ana.close()
    bo.close()


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _outcome(fn: Any, value: Any) -> bytes | str:
    try:
        return bytes(fn(value))
    except (StrictJSONError, rfc8785.CanonicalizationError, TypeError, ValueError):
        return "refused"


@given(_json)
def test_the_canonical_encoder_is_the_reference_one(value: Any) -> None:
    assert _outcome(dumps_canonical, value) == _outcome(rfc8785.dumps, value)


# -- evidence: CRC-32 and SHA-256 in one pass -----------------------------------------------


def _evidence_bundle(tmp_path: Path) -> tuple[Workspace, Workspace, Path, bytes]:
    ana, bo = make_workspace(tmp_path, "Ana"), make_workspace(tmp_path, "Bo")
    introduce(bo, ana)
    record(ana, "t-0", "no_violation")
    blob = bytes(range(256)) * (9 * 4096)  # 9 MiB: more than two read chunks
    (tmp_path / "capture.bin").write_bytes(blob)
    result = ana.bundles.export(
        ana.trust.identity(PASSPHRASE), tmp_path / "out", evidence=[tmp_path / "capture.bin"]
    )
    assert result is not None
    return ana, bo, result.path, blob


def test_evidence_is_checked_and_imported_from_the_file(tmp_path: Path) -> None:
    ana, bo, path, blob = _evidence_bundle(tmp_path)
    verified = bundles.verify_bundle(bo.database_for_tests(), path.read_bytes())
    assert verified.evidence == {"capture.bin": hashlib.sha256(blob).hexdigest()}
    reports = bo.bundles.import_files([path])
    assert [(r.refused_reason, r.new_events) for r in reports] == [(None, 1)]
    ana.close()
    bo.close()


@pytest.mark.parametrize("size", [0, 1, 2**20 - 1, 2**20, 2**20 + 1, 3 * 2**20 + 17])
def test_one_pass_digests_equal_the_separate_ones(size: int) -> None:
    data = bytes(i * 7 % 251 for i in range(size))
    assert bundles.verify._crc32_and_sha256(data) == (
        zlib.crc32(data),
        hashlib.sha256(data).hexdigest(),
    )


@pytest.mark.parametrize("where", ["evidence", "crc"])
def test_a_changed_evidence_byte_is_refused_the_same_from_a_file(
    tmp_path: Path, where: str
) -> None:
    ana, bo, path, blob = _evidence_bundle(tmp_path)
    data = bytearray(path.read_bytes())
    if where == "evidence":
        at = data.find(blob[:4096]) + 5 * 2**20
        data[at] ^= 0xFF
    else:  # the CRC-32 in the central directory (and the local header) changed
        crc = zlib.crc32(blob).to_bytes(4, "little")
        data = bytearray(bytes(data).replace(crc, bytes(b ^ 0xFF for b in crc)))
    path.write_bytes(data)
    with pytest.raises(BundleRejected) as in_memory:
        bundles.verify_bundle(bo.database_for_tests(), bytes(data))
    reports = bo.bundles.import_files([path])
    assert [r.refused_reason for r in reports] == [in_memory.value.reason]
    assert bo.database_for_tests().execute("SELECT COUNT(*) FROM bundle_log").fetchone() == (0,)
    ana.close()
    bo.close()
