"""Importing a bundle file with evidence reads it once, hashing the evidence while reading
(issue 15), and refuses exactly what verifying its bytes refuses, with nothing written."""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import pytest

from qa_desktop.core.bundles import BundleRejected, verify_bundle
from qa_desktop.core.bundles.verify import read_bundle_file_hashed
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Workspace, Path]:
    """A lead who trusts a reviewer, and the reviewer's bundle with 3 MiB of evidence."""
    reviewer, lead = make_workspace(tmp_path, "Ana"), make_workspace(tmp_path, "Lead")
    introduce(lead, reviewer)
    record(reviewer, "t-0", "no_violation")
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "note.txt").write_bytes(b"taken at 10:02\n")
    (folder / "capture.bin").write_bytes(os.urandom(3 * 1024**2 + 17))
    made = reviewer.bundles.export(
        reviewer.trust.identity(PASSPHRASE),
        tmp_path / "out",
        evidence=sorted(folder.iterdir()),
    )
    assert made is not None
    reviewer.close()
    yield lead, made.path
    lead.close()


def _rows(ws: Workspace) -> list[tuple]:
    db = ws.database_for_tests()
    return [
        *db.execute("SELECT id FROM verdicts ORDER BY id").fetchall(),
        *db.execute("SELECT event_id FROM audit_log ORDER BY seq").fetchall(),
        *db.execute("SELECT bundle_id FROM bundle_log ORDER BY bundle_id").fetchall(),
    ]


def test_the_evidence_is_hashed_as_the_file_is_read(exported: tuple[Workspace, Path]) -> None:
    lead, path = exported
    data, digests = read_bundle_file_hashed(path)
    original = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if "/data/evidence/" in i.filename]
    assert len(digests) == len(infos) == 2
    holes = bytearray(original)
    for (start, size), (crc, sha) in digests.items():
        member = original[start : start + size]
        assert (crc, sha) == (zlib.crc32(member), hashlib.sha256(member).hexdigest())
        holes[start : start + size] = bytes(size)  # never copied: only hashed
    assert bytes(data) == bytes(holes)
    verified = verify_bundle(lead.database_for_tests(), data, digests=digests)
    assert sorted(verified.evidence) == ["capture.bin", "note.txt"]
    assert [r.new_events for r in lead.bundles.import_files([path])] == [1]
    assert lead.bundles.audit_problems() == []


def test_evidence_changed_in_the_file_is_refused_with_nothing_written(
    exported: tuple[Workspace, Path], tmp_path: Path
) -> None:
    lead, path = exported
    before = _rows(lead)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("capture.bin"))
    data[info.header_offset + 200] ^= 1  # inside the stored data: its CRC-32 no longer holds
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(data)
    rezipped = tmp_path / "rezipped.zip"  # new CRC-32, same manifest: the SHA-256 is wrong
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(rezipped, "w") as out:
        for member in original.infolist():
            content = original.read(member)
            if member.filename.endswith("capture.bin"):
                content = content[:-1] + bytes([content[-1] ^ 1])
            out.writestr(member, content)
    not_a_zip = tmp_path / "not-a-zip.zip"
    not_a_zip.write_bytes(b"PK" + os.urandom(4096))
    reports = lead.bundles.import_files([flipped, rezipped, not_a_zip])
    assert [r.refused_reason for r in reports] == ["corrupt", "hash-mismatch", "not-a-zip"]
    assert _rows(lead) == before
    kept = sorted(p for p in lead.bundles.quarantine_dir.iterdir() if p.suffix == ".zip")
    assert sorted(p.read_bytes() for p in kept) == sorted(  # the files, evidence and all
        p.read_bytes() for p in (flipped, rezipped, not_a_zip)
    )


def test_a_digest_that_does_not_match_the_manifest_is_refused(
    exported: tuple[Workspace, Path],
) -> None:
    lead, path = exported
    data, digests = read_bundle_file_hashed(path)
    lied = {r: (crc, "0" * 64) for r, (crc, _) in digests.items()}
    with pytest.raises(BundleRejected) as refused:
        verify_bundle(lead.database_for_tests(), data, digests=lied)
    assert refused.value.reason == "hash-mismatch"
