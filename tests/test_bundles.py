"""Signed bundles: export, import, lossless merge, and acceptance by outside tools."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess
import zipfile
from pathlib import Path

import bagit
import pytest

from qa_desktop.core import audit, bundles, keys
from qa_desktop.core.api import Cancelled
from qa_desktop.core.bundles import BundleRejected
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .recording import record

MINISIGN = Path("/usr/bin/minisign")


def export(ws: Workspace, out: Path) -> bundles.ExportResult:
    """Export ``ws``'s new events; there must be some."""
    result = ws.bundles.export(ws.trust.identity(PASSPHRASE), out)
    assert result is not None
    return result


def three_bundles(tmp_path: Path) -> tuple[Workspace, Workspace, list[Path]]:
    """Rita, who exported three bundles (sequence 1, 2, 3, a verdict each), and Lena, a lead
    who trusts her."""
    rita, lena = make_workspace(tmp_path, "Rita"), make_workspace(tmp_path, "Lena")
    introduce(lena, rita)
    paths = []
    for i in range(3):
        record(rita, f"t-{i}", "vh_remove")
        paths.append(export(rita, tmp_path / "out").path)
    return rita, lena, paths


def import_bytes(ws: Workspace, data: bytes, name: str = "b.zip") -> bundles.ImportReport:
    """Import a bundle given as bytes, quarantining it if refused."""
    return bundles.import_bundle(
        ws.database_for_tests(), data, name=name, quarantine_dir=ws.bundles.quarantine_dir
    )


def flip_a_content_byte(path: Path) -> bytes:
    """The bundle at ``path`` with one byte of its events' stored data flipped."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(bundles.EVENTS))
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    return bytes(data)


def dump(ws: Workspace) -> list[str]:
    """The whole database as SQL, to compare before and after."""
    return list(ws.database_for_tests().conn.iterdump())


def verdict_rows(ws: Workspace) -> list[dict]:
    """Every verdict row, by id."""
    return list(ws.database_for_tests().query("SELECT * FROM verdicts ORDER BY id"))


@pytest.fixture
def pair(keyed_pair: tuple[Workspace, Workspace]) -> tuple[Workspace, Workspace]:
    """The shared ``keyed_pair`` as a reviewer (with two verdicts) and a lead who trusts the
    reviewer's key (and the reviewer the lead's)."""
    reviewer, _lead = keyed_pair
    record(reviewer, "t-0", "vh_remove", notes="clear")
    record(reviewer, "t-1", "no_violation", confidence=2)
    return keyed_pair


def test_export_writes_one_zip_atomically_and_nothing_twice(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, _ = pair
    result = export(reviewer, tmp_path / "out")
    assert result.path == tmp_path / "out" / f"{result.bundle_id}.zip"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [result.path.name]
    assert result.event_count == 2 and result.seq == 1
    assert reviewer.bundles.export(reviewer.trust.identity(PASSPHRASE), tmp_path / "out") is None
    record(reviewer, "t-2", "vh_remove")
    second = export(reviewer, tmp_path / "out")
    assert second.seq == 2 and second.event_count == 1


def test_import_merges_every_field_and_twice_is_once(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    data = export(reviewer, tmp_path / "out").path.read_bytes()
    report = import_bytes(lead, data)
    assert (report.new_events, report.already_known) == (2, 0)
    assert verdict_rows(lead) == verdict_rows(reviewer)
    before = dump(lead)
    again = import_bytes(lead, data)
    assert (again.new_events, again.already_known) == (0, 2)
    assert dump(lead) == before
    assert lead.bundles.audit_problems() == []


def test_any_import_order_gives_the_same_verdicts(tmp_path: Path) -> None:
    rita, omar = make_workspace(tmp_path, "Rita"), make_workspace(tmp_path, "Omar")
    record(rita, "t-0", "vh_remove")
    a = export(rita, tmp_path / "out").path.read_bytes()
    record(rita, "t-0", "no_violation")
    record(rita, "t-1", "vh_remove")
    b = export(rita, tmp_path / "out").path.read_bytes()
    record(omar, "t-0", "hs_remove")
    c = export(omar, tmp_path / "out").path.read_bytes()
    tables = []
    for n, order in enumerate(itertools.permutations([a, b, c])):
        lead = make_workspace(tmp_path, f"lead{n}")
        introduce(lead, rita)
        introduce(lead, omar)
        for data in order:
            import_bytes(lead, data)
        tables.append(verdict_rows(lead))
        assert lead.bundles.audit_problems() == []
        lead.close()
    assert all(t == tables[0] for t in tables)
    assert len(tables[0]) == 4


def test_two_reviewers_verdicts_on_one_case_are_both_kept(tmp_path: Path) -> None:
    rita, omar = make_workspace(tmp_path, "Rita"), make_workspace(tmp_path, "Omar")
    introduce(rita, omar)
    record(rita, "t-0", "vh_remove")
    record(omar, "t-0", "no_violation")
    import_bytes(rita, export(omar, tmp_path / "out").path.read_bytes())
    labels = {e.reviewer_id: e.label for e in rita.verdicts.history("t-0")}
    assert labels == {rita.reviewer.id: "vh_remove", omar.reviewer.id: "no_violation"}


def test_revoking_a_key_refuses_new_bundles_and_keeps_old_events(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    import_bytes(lead, export(reviewer, tmp_path / "out").path.read_bytes())
    record(reviewer, "t-2", "vh_remove")
    later = export(reviewer, tmp_path / "out").path.read_bytes()
    lead.trust.revoke(reviewer.trust.public_key().key_id)
    with pytest.raises(BundleRejected) as refused:
        import_bytes(lead, later)
    assert refused.value.reason == "revoked-signer"
    assert len(verdict_rows(lead)) == 2


def test_a_refused_bundle_is_quarantined_with_its_reason(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    _reviewer, lead = pair
    with pytest.raises(BundleRejected):
        import_bytes(lead, b"not a zip", name="odd.zip")
    (copy,) = [
        p for p in lead.bundles.quarantine_dir.iterdir() if not p.name.endswith(".reason.txt")
    ]
    assert copy.read_bytes() == b"not a zip"
    reason = copy.with_name(copy.name + ".reason.txt").read_text()
    assert reason.startswith("not-a-zip\n")


def test_the_audit_chain_covers_every_event_and_notices_a_rewrite(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    import_bytes(lead, export(reviewer, tmp_path / "out").path.read_bytes())
    count, head = audit.head(lead.database_for_tests())
    assert count == 2 and head != audit.GENESIS
    assert lead.bundles.audit_problems() == []
    lead.database_for_tests().execute("DROP TRIGGER verdicts_no_update")
    lead.database_for_tests().execute(
        "UPDATE verdicts SET label = 'hs_remove' WHERE case_id = 't-0'"
    )
    assert any("was changed" in p for p in audit.verify_chain(lead.database_for_tests()))


def test_verify_reports_without_writing(pair: tuple[Workspace, Workspace], tmp_path: Path) -> None:
    reviewer, lead = pair
    path = export(reviewer, tmp_path / "out").path
    before = dump(lead)
    verified = lead.bundles.verify(path)
    assert verified.kind == "verdicts" and len(verified.events) == 2
    assert verified.signer.reviewer_id == reviewer.reviewer.id
    assert dump(lead) == before


# -- acceptance by outside tools ------------------------------------------------------------


def unzip(path: Path, into: Path) -> Path:
    """Extract a (verified) bundle; returns the bag folder."""
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
        (top,) = {name.split("/")[0] for name in archive.namelist()}
    return into / top


def test_bagit_validates_the_unzipped_bundle(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, _ = pair
    bag_dir = unzip(export(reviewer, tmp_path / "out").path, tmp_path / "x")
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["Bundle-Kind"] == "verdicts"
    assert bag.info["Key-Id"] == reviewer.trust.public_key().key_id


@pytest.mark.skipif(not MINISIGN.exists(), reason="minisign is not installed at /usr/bin")
def test_minisign_verifies_the_signature_with_the_exported_key(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, _ = pair
    result = export(reviewer, tmp_path / "out")
    bag_dir = unzip(result.path, tmp_path / "x")
    pub = tmp_path / "rita.pub"
    pub.write_text(reviewer.trust.public_key().to_minisign())
    done = subprocess.run(
        [str(MINISIGN), "-Vm", "tagmanifest-sha256.txt", "-p", str(pub)],
        cwd=bag_dir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"kind=verdicts bundle_id={result.bundle_id}" in done.stdout
    (bag_dir / "tagmanifest-sha256.txt").write_bytes(b"tampered\n")
    tampered = subprocess.run(
        [str(MINISIGN), "-Vm", "tagmanifest-sha256.txt", "-p", str(pub)],
        cwd=bag_dir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert tampered.returncode != 0


def test_a_signed_case_batch_verifies_only_as_a_case_batch(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    _, lead = pair
    issuer = keys.generate_identity("", "Issuer")
    lead.trust.trust(issuer.public_key, "Central QA", "issuer")
    folder = write_batch(tmp_path / "cb", [case_record("c-1", "text", [], tags=[])], "cb-1")
    path = bundles.sign_case_batch(issuer, folder, tmp_path / "signed")
    verified = bundles.verify_case_batch(lead.database_for_tests(), path.read_bytes())
    assert verified.payload["batch.json"] == (folder / "batch.json").read_bytes()
    assert (
        hashlib.sha256(verified.payload["cases.jsonl"]).hexdigest()
        == hashlib.sha256((folder / "cases.jsonl").read_bytes()).hexdigest()
    )
    shutil.rmtree(tmp_path / "signed")


# -- evidence files -------------------------------------------------------------------------


def evidence_files(folder: Path) -> list[Path]:
    """Two evidence files: a small text note and 300 KiB of incompressible bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    note = folder / "note.txt"
    note.write_bytes(b"screenshot taken at 10:02\n")
    blob = folder / "capture.bin"
    blob.write_bytes(bytes(range(256)) * 1200)
    return [note, blob]


def test_evidence_travels_verified_stored_and_validates_as_a_bag(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    files = evidence_files(tmp_path / "ev")
    result = reviewer.bundles.export(
        reviewer.trust.identity(PASSPHRASE), tmp_path / "out", evidence=files
    )
    assert result is not None
    data = result.path.read_bytes()
    with zipfile.ZipFile(result.path) as archive:
        stored = {i.filename.split("/", 1)[1]: i.compress_type for i in archive.infolist()}
    assert stored["data/evidence/capture.bin"] == zipfile.ZIP_STORED
    assert stored["data/evidence/note.txt"] == zipfile.ZIP_STORED
    verified = bundles.verify_bundle(lead.database_for_tests(), data)
    assert verified.evidence == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert verified.info["Payload-Oxum"].endswith(".4")
    report = import_bytes(lead, data)
    assert report.new_events == 2
    assert verdict_rows(lead) == verdict_rows(reviewer)
    bag_dir = unzip(result.path, tmp_path / "x")
    bagit.Bag(str(bag_dir)).validate()
    assert (bag_dir / "data" / "evidence" / "capture.bin").read_bytes() == files[1].read_bytes()
    assert lead.bundles.audit_problems() == [] and reviewer.bundles.audit_problems() == []


@pytest.mark.parametrize("names", [["a.txt", "a.txt"], ["a.txt", "A.TXT"], ["bad\x01name"]])
def test_evidence_names_must_be_plain_and_unique(
    pair: tuple[Workspace, Workspace], tmp_path: Path, names: list[str]
) -> None:
    reviewer, _ = pair
    paths = []
    for i, name in enumerate(names):
        (tmp_path / f"d{i}").mkdir()
        path = tmp_path / f"d{i}" / name
        path.write_bytes(b"x")
        paths.append(path)
    before = dump(reviewer)
    with pytest.raises(ValueError):
        reviewer.bundles.export(
            reviewer.trust.identity(PASSPHRASE), tmp_path / "out", evidence=paths
        )
    assert dump(reviewer) == before
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    with pytest.raises(ValueError):
        reviewer.bundles.export(
            reviewer.trust.identity(PASSPHRASE), tmp_path / "out", evidence=[tmp_path]
        )
    assert export(reviewer, tmp_path / "out").seq == 1


def test_tampered_or_unlisted_evidence_is_refused(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    result = reviewer.bundles.export(
        reviewer.trust.identity(PASSPHRASE),
        tmp_path / "out",
        evidence=evidence_files(tmp_path / "ev"),
    )
    assert result is not None
    original = zipfile.ZipFile(result.path)

    def rezip(change: dict[str, bytes | None]) -> bytes:
        out = tmp_path / f"re-{len(list(tmp_path.glob('re-*')))}.zip"
        with zipfile.ZipFile(out, "w") as archive:
            for info in original.infolist():
                relative = info.filename.split("/", 1)[1]
                if relative in change:
                    if change[relative] is not None:
                        archive.writestr(info.filename, change[relative])
                    continue
                archive.writestr(info.filename, original.read(info))
            for relative, content in change.items():
                if content is not None and not any(
                    i.filename.endswith("/" + relative) for i in original.infolist()
                ):
                    archive.writestr(f"{result.bundle_id}/{relative}", content)
        return out.read_bytes()

    before = dump(lead)
    cases = {
        "hash-mismatch": {"data/evidence/note.txt": b"edited\n"},
        "missing-file": {"data/evidence/note.txt": None},
        "unlisted-file": {"data/evidence/extra.txt": b"slipped in\n"},
    }
    for reason, change in cases.items():
        with pytest.raises(BundleRejected) as refused:
            import_bytes(lead, rezip(change))
        assert refused.value.reason == reason
    assert dump(lead) == before
    assert import_bytes(lead, result.path.read_bytes()).new_events == 2


def test_cli_export_attaches_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from qa_desktop.cli import cli

    ws = make_workspace(tmp_path, "Rita")
    record(ws, "t-0", "vh_remove")
    data_dir = ws.data_dir
    ws.close()
    monkeypatch.setenv("QA_DESKTOP_PASSPHRASE", PASSPHRASE)
    files = evidence_files(tmp_path / "ev")
    args = ["--data-dir", str(data_dir), "bundle", "export", str(tmp_path / "out")]
    for path in files:
        args += ["--evidence", str(path)]
    done = CliRunner().invoke(cli, args, obj={})
    assert done.exit_code == 0, done.output
    (zipped,) = (tmp_path / "out").glob("*.zip")
    with zipfile.ZipFile(zipped) as archive:
        names = {n.split("/", 1)[1] for n in archive.namelist()}
    assert {"data/evidence/note.txt", "data/evidence/capture.bin"} <= names
    again = CliRunner().invoke(
        cli, [*args[:5], "--evidence", str(files[0]), "--evidence", str(files[0])], obj={}
    )
    assert again.exit_code != 0


def test_a_flipped_byte_in_stored_evidence_is_refused(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    reviewer, lead = pair
    files = evidence_files(tmp_path / "ev")
    result = reviewer.bundles.export(
        reviewer.trust.identity(PASSPHRASE), tmp_path / "out", evidence=files
    )
    assert result is not None
    data = bytearray(result.path.read_bytes())
    at = bytes(data).index(files[1].read_bytes()[:4096]) + 1000
    data[at] ^= 0xFF
    before = dump(lead)
    with pytest.raises(BundleRejected) as refused:
        import_bytes(lead, bytes(data))
    assert refused.value.reason in ("corrupt", "hash-mismatch")
    assert dump(lead) == before


def test_importing_many_files_reports_progress_and_stops_between_files(
    tmp_path: Path,
) -> None:
    rita, lena, paths = three_bundles(tmp_path)
    seen: list[tuple[int, int]] = []
    reports = lena.bundles.import_files(
        paths, progress=lambda d, t: seen.append((d, t)), cancelled=lambda: len(seen) > 2
    )
    assert [r.new_events for r in reports] == [1, 1]  # the third was never started
    assert seen == [(0, 3), (1, 3), (2, 3)]
    assert len(lena.verdicts.events()) == 2
    everything = lena.bundles.import_files(paths, progress=lambda d, t: seen.append((d, t)))
    assert [r.new_events for r in everything] == [0, 0, 1] and seen[-1] == (3, 3)
    rita.close()
    lena.close()


@pytest.mark.parametrize("after_polls", [0, 1, 3])
def test_a_cancelled_export_writes_and_records_nothing(
    pair: tuple[Workspace, Workspace], tmp_path: Path, after_polls: int
) -> None:
    """Cancel while evidence streams (or just before the file is put in place): no file, no
    temporary file, no ledger row; the next export takes sequence number 1."""
    reviewer, _ = pair
    big = tmp_path / "ev" / "big.bin"
    big.parent.mkdir()
    big.write_bytes(bytes(range(256)) * 40_000)  # about 10 MiB: several 4 MiB chunks
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > after_polls

    before = dump(reviewer)
    with pytest.raises(Cancelled, match="nothing was written"):
        reviewer.bundles.export(
            reviewer.trust.identity(PASSPHRASE), tmp_path / "out", evidence=[big],
            cancelled=cancelled,
        )  # fmt: skip
    assert dump(reviewer) == before
    assert not list((tmp_path / "out").iterdir())
    assert export(reviewer, tmp_path / "out").seq == 1


def test_every_flipped_byte_of_the_compressed_events_is_refused_as_corrupt(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    """A flipped byte can make deflate produce more than the member declares: that is damage
    (``corrupt``), not a zip bomb. Seen as a flaky GUI test; here every position is tried."""
    reviewer, lead = pair
    path = export(reviewer, tmp_path / "out").path
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(bundles.EVENTS))
    original = path.read_bytes()
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    before = dump(lead)
    reasons = set()
    for at in range(start, start + info.compress_size):
        data = bytearray(original)
        data[at] ^= 0xFF
        with pytest.raises(BundleRejected) as refused:
            bundles.verify_bundle(lead.database_for_tests(), bytes(data))
        reasons.add(str(refused.value.reason))
    assert reasons == {"corrupt"}
    assert dump(lead) == before
