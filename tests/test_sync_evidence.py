"""A sync takes a bundle with evidence as a direct import does (issue 15): read once, the
evidence hashed while read and never kept in memory; a refused one is quarantined whole,
from the file, with nothing written."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qa_desktop.core import sync
from qa_desktop.core.bundles.verify import read_bundle_file_hashed
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record
from .test_bundles import dump

EVIDENCE_BYTES = 48 * 1024**2


def _bundle_in_folder(tmp_path: Path, evidence_bytes: int) -> tuple[Workspace, Path, Path]:
    """A lead who trusts a reviewer, and the reviewer's bundle with evidence in the sync
    folder where the reviewer's own sync would have put it."""
    reviewer, lead = make_workspace(tmp_path, "Ana"), make_workspace(tmp_path, "Lead")
    introduce(lead, reviewer)
    record(reviewer, "t-0", "no_violation")
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "note.txt").write_bytes(b"taken at 10:02\n")
    with (evidence / "capture.bin").open("wb") as out:
        for _ in range(evidence_bytes // 2**20):
            out.write(os.urandom(2**20))
    folder = tmp_path / "shared"
    identity = reviewer.trust.identity(PASSPHRASE)
    made = reviewer.bundles.export(
        identity, folder / identity.key_id, evidence=sorted(evidence.iterdir())
    )
    assert made is not None
    reviewer.close()
    return lead, folder, made.path


def test_a_synced_bundle_with_changed_evidence_is_refused_whole_with_nothing_written(
    tmp_path: Path,
) -> None:
    lead, folder, path = _bundle_in_folder(tmp_path, 3 * 1024**2)
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("capture.bin"))
    tampered = bytearray(path.read_bytes())
    tampered[info.header_offset + 4096] ^= 1  # inside the stored evidence
    path.write_bytes(tampered)
    _data, digests = read_bundle_file_hashed(path)
    assert digests  # the evidence is read only as hashes
    before = dump(lead)

    report = lead.sync.folder(lead.trust.identity(PASSPHRASE), folder)

    assert [(r.name, r.refused_reason) for r in report.refused] == [(path.name, "corrupt")]
    assert "capture.bin" in report.refused[0].refused_message
    assert dump(lead) == before  # no event, log entry, chain link or seen mark
    quarantined = [p for p in lead.bundles.quarantine_dir.iterdir() if p.name.endswith(path.name)]
    assert [p.read_bytes() for p in quarantined] == [bytes(tampered)]  # the file, whole
    lead.close()


def test_a_good_synced_bundle_with_evidence_is_imported_once(tmp_path: Path) -> None:
    lead, folder, path = _bundle_in_folder(tmp_path, 3 * 1024**2)
    identity = lead.trust.identity(PASSPHRASE)
    first = lead.sync.folder(identity, folder)
    assert first.new_events == 1 and not first.refused
    assert lead.bundles.audit_problems() == []
    os.utime(path)  # a new modification time: read again, then known by its content
    again = lead.sync.folder(identity, folder)
    assert again.new_events == 0 and again.skipped_seen == 1 and not again.refused
    lead.close()


def test_the_content_key_is_the_file_hash_without_evidence_and_changes_with_any_byte() -> None:
    data = b"PK" + bytes(100)
    assert sync.content_key(data) == sync.content_key(data, {}) == hashlib.sha256(data).hexdigest()
    digests = {(10, 20): (1, "a" * 64)}
    assert sync.content_key(data, digests) != sync.content_key(data)
    assert sync.content_key(data, digests) != sync.content_key(data, {(10, 20): (1, "b" * 64)})
    assert sync.content_key(data, digests) != sync.content_key(data, {(11, 19): (1, "a" * 64)})
    changed = data[:50] + b"x" + data[51:]
    assert sync.content_key(changed, digests) != sync.content_key(data, digests)
    inside = data[:15] + b"x" + data[16:]  # only the range's digest stands for its bytes
    assert sync.content_key(inside, digests) == sync.content_key(data, digests)


_SYNC_MEMORY = """
import sys
from pathlib import Path
from qa_desktop.core.workspace import Workspace

def peak_kib():
    status = Path("/proc/self/status").read_text()
    return int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])

ws = Workspace.open(Path(sys.argv[1]))
identity = ws.trust.identity(sys.argv[3])
Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
before = peak_kib()
report = ws.sync.folder(identity, Path(sys.argv[2]))
assert report.new_events == 1 and not report.refused, report
print(peak_kib() - before)
"""


@pytest.mark.slow
def test_a_sync_never_holds_the_evidence_in_memory(tmp_path: Path) -> None:
    lead, folder, _path = _bundle_in_folder(tmp_path, EVIDENCE_BYTES)
    data_dir = lead.data_dir
    lead.close()
    grew_kib = int(
        subprocess.run(
            [sys.executable, "-c", _SYNC_MEMORY, str(data_dir), str(folder), PASSPHRASE],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    # Reading whole grew the peak by the evidence and more (49,600 KiB); streaming grows it
    # by the hashing buffers (six of 2 MiB, about 12 MiB): half the evidence parts the two.
    assert grew_kib * 1024 < EVIDENCE_BYTES // 2, f"the peak grew by {grew_kib} KiB"
