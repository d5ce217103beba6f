"""Case batches signed by their issuer: verified first, imported from memory, status recorded."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core import batches, bundles, keys
from qa_desktop.core.batches import BatchError, UnsignedBatch
from qa_desktop.core.workspace import Workspace

from .factory import (
    PASSPHRASE,
    case_record,
    introduce,
    make_workspace,
    mixed_batch,
    write_batch,
    zip_folder,
)
from .recording import record
from .test_bundles import export

ISSUER = "Central QA"


@pytest.fixture
def importer(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path, "importer", cases=0, reviewer="Ina", key=False)
    yield ws
    ws.close()


def issuer_key(ws: Workspace | None = None, role: str = "issuer") -> keys.Identity:
    """A fresh issuer identity; ``ws`` (if given) trusts it with ``role``."""
    identity = keys.generate_identity("", "Issuer")
    if ws is not None:
        reviewer_id = "central-qa" if role != "issuer" else None
        ws.trust.trust(identity.public_key, ISSUER, role, reviewer_id)
    return identity


def text_batch(folder: Path, batch_id: str = "sb-1") -> Path:
    return write_batch(
        folder, [case_record(f"{batch_id}-{i}", "text", []) for i in range(3)], batch_id
    )


def dump(ws: Workspace) -> list[str]:
    return list(ws.database_for_tests().conn.iterdump())


def status(ws: Workspace, batch_id: str) -> str:
    return ws.database_for_tests()["batches"].get(batch_id)["signature_status"]


def test_a_signed_batch_from_a_trusted_issuer_imports_with_its_status(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    folder = mixed_batch(tmp_path / "batch", images=2, videos=0, texts=1)
    signed = bundles.sign_case_batch(issuer, folder, tmp_path / "out")
    report = importer.batches.import_batch(signed, trust_unsigned=False)
    assert report.cases_added == 3 and report.media_added == 2
    assert report.signed and report.signer_name == ISSUER
    assert report.signature_status == f"signed:{issuer.key_id}"
    assert status(importer, report.batch_id) == f"signed:{issuer.key_id}"
    # the media came from the verified bytes and landed in the content-addressed store
    sha = importer.database_for_tests().execute("SELECT sha256 FROM media LIMIT 1").fetchone()[0]
    assert (importer.media_dir / sha[:2] / sha).is_file()
    again = importer.batches.import_batch(signed, trust_unsigned=False)
    assert again.cases_added == 0 and again.cases_already_present == 3


def test_a_signed_zip_of_a_batch_signs_and_imports(importer: Workspace, tmp_path: Path) -> None:
    issuer = issuer_key(importer)
    archive = zip_folder(text_batch(tmp_path / "batch"), tmp_path / "batch.zip", prefix="b/")
    files = batches.batch_files(archive)
    assert set(files) == {"batch.json", "cases.jsonl"}
    signed = bundles.sign_case_batch_files(issuer, files, tmp_path / "out")
    assert importer.batches.import_batch(signed, trust_unsigned=False).cases_added == 3


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unknown", "unknown-signer"),
        ("revoked", "revoked-signer"),
        ("reviewer-role", "role-not-allowed"),
        ("lead-role", "role-not-allowed"),
    ],
)
def test_a_batch_signed_by_an_untrusted_or_non_issuer_key_is_refused(
    importer: Workspace, tmp_path: Path, setup: str, reason: str
) -> None:
    if setup == "unknown":
        issuer = issuer_key()
    elif setup == "revoked":
        issuer = issuer_key(importer)
        importer.trust.revoke(issuer.key_id)
    else:
        issuer = issuer_key(importer, role=setup.split("-")[0])
    signed = bundles.sign_case_batch(issuer, text_batch(tmp_path / "batch"), tmp_path / "out")
    before = dump(importer)
    with pytest.raises(BatchError) as caught:
        importer.batches.import_batch(signed, trust_unsigned=True)
    assert signed.name in str(caught.value) and reason in str(caught.value)
    assert not isinstance(caught.value, UnsignedBatch)
    assert dump(importer) == before


def _rezip(path: Path, change: dict[str, bytes]) -> None:
    """Rewrite the .zip at ``path`` with some members' bytes replaced (by name suffix)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            for suffix, new in change.items():
                if info.filename.endswith(suffix):
                    data = new
            out.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def test_a_tampered_signed_batch_is_refused_and_changes_nothing(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    folder = text_batch(tmp_path / "batch")
    signed = bundles.sign_case_batch(issuer, folder, tmp_path / "out")
    cases = (folder / "cases.jsonl").read_bytes().replace(b"sb-1-0", b"sb-1-9")
    _rezip(signed, {"data/cases.jsonl": cases})
    before = dump(importer)
    with pytest.raises(BatchError, match="hash-mismatch"):
        importer.batches.import_batch(signed)
    assert dump(importer) == before


def test_a_signed_bag_naming_another_batch_id_is_refused(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    files = batches.batch_files(text_batch(tmp_path / "batch"))
    bag = bundles.build_bag(
        issuer,
        kind=bundles.KIND_CASE_BATCH,
        bundle_id="00000000-0000-4000-8000-000000000001",
        seq=1,
        payload={"data/" + n: d for n, d in files.items()},
        info={
            "Event-Count": "3",
            "Batch-Ids": "other-batch",
            bundles.EXPIRES: "2099-01-01T00:00:00Z",
        },
    )
    path = tmp_path / "b.zip"
    path.write_bytes(bag.data)
    with pytest.raises(BatchError, match="other-batch"):
        importer.batches.import_batch(path)
    assert importer.database_for_tests()["batches"].count == 0


def test_a_verdict_bundle_offered_as_a_case_batch_is_refused(tmp_path: Path) -> None:
    reviewer = make_workspace(tmp_path, "Rita")
    lead = make_workspace(tmp_path, "Lena")
    introduce(lead, reviewer)
    record(reviewer, "t-0", "vh_remove")
    result = export(reviewer, tmp_path / "outbox")
    before = dump(lead)
    with pytest.raises(BatchError, match="wrong-kind"):
        lead.batches.import_batch(result.path)
    assert dump(lead) == before


def test_an_unsigned_batch_needs_trust_unsigned_and_shows_as_unsigned(
    importer: Workspace, tmp_path: Path
) -> None:
    folder = text_batch(tmp_path / "batch")
    with pytest.raises(UnsignedBatch, match="not signed by a trusted issuer"):
        importer.batches.import_batch(folder, trust_unsigned=False)
    with pytest.raises(UnsignedBatch, match="--trust-unsigned"):
        importer.batches.import_batch(zip_folder(folder, tmp_path / "b.zip"), trust_unsigned=False)
    assert importer.database_for_tests()["batches"].count == 0
    report = importer.batches.import_batch(folder, trust_unsigned=True)
    assert not report.signed and report.signature_status == "unsigned"
    assert status(importer, "sb-1") == "unsigned"


def test_an_unzipped_signed_batch_is_pointed_at_its_zip(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    signed = bundles.sign_case_batch(issuer, text_batch(tmp_path / "batch"), tmp_path / "out")
    with zipfile.ZipFile(signed) as archive:
        archive.extractall(tmp_path / "unzipped")
    (bag,) = (tmp_path / "unzipped").iterdir()
    with pytest.raises(BatchError, match=r"signed \.zip"):
        importer.batches.import_batch(bag)


# -- the command line ---------------------------------------------------------------------------


def run(data: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj={}, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_signs_a_batch_and_imports_it_without_trust_unsigned(tmp_path: Path) -> None:
    env = {keys.PASSPHRASE_ENV: PASSPHRASE}
    issuer_dir, importer_dir = tmp_path / "issuer", tmp_path / "importer"
    code, _, err = run(issuer_dir, "keys", "create", "--name", ISSUER, env=env)
    assert code == 0, err
    pub = tmp_path / "issuer.pub"
    assert run(issuer_dir, "keys", "export", "--out", str(pub))[0] == 0
    folder = text_batch(tmp_path / "batch")

    code, out, err = run(issuer_dir, "batch", "sign", str(folder), str(tmp_path / "out"), env=env)
    assert code == 0, err
    (signed,) = (tmp_path / "out").glob("*.zip")

    code, _, err = run(importer_dir, "import", str(signed))
    assert code != 0 and "unknown-signer" in err and signed.name in err
    code, _, err = run(
        importer_dir, "keys", "trust", str(pub), "--name", ISSUER, "--role", "issuer"
    )
    assert code == 0, err
    code, out, err = run(importer_dir, "import", str(signed))
    assert code == 0, err
    assert "3 cases added" in out and f"signed by {ISSUER}" in out


def test_cli_refuses_unsigned_without_the_flag_and_accepts_it_with(tmp_path: Path) -> None:
    folder = text_batch(tmp_path / "batch")
    code, _, err = run(tmp_path / "data", "import", str(folder))
    assert code != 0 and "--trust-unsigned" in err
    code, out, err = run(tmp_path / "data", "import", "--trust-unsigned", str(folder))
    assert code == 0, err
    assert "unsigned" in out
    ws = Workspace.open(tmp_path / "data")
    try:
        assert status(ws, "sb-1") == "unsigned"
    finally:
        ws.close()


def quarantined(ws: Workspace) -> list[str]:
    folder = ws.bundles.quarantine_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_refused_signed_batch_is_quarantined_with_its_reason(
    importer: Workspace, tmp_path: Path
) -> None:
    signed = bundles.sign_case_batch(issuer_key(), text_batch(tmp_path / "batch"), tmp_path / "out")
    with pytest.raises(batches.SignedBatchRefused):
        importer.batches.import_batch(signed)
    names = quarantined(importer)
    assert len(names) == 2
    reason = next(n for n in names if n.endswith(".reason.txt"))
    text = (importer.bundles.quarantine_dir / reason).read_text()
    assert text.startswith("unknown-signer\n") and "add their public key" in text
    copy = next(n for n in names if not n.endswith(".reason.txt"))
    assert (importer.bundles.quarantine_dir / copy).read_bytes() == signed.read_bytes()


def test_an_issuers_sequence_number_cannot_be_replayed_by_another_batch(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    first = bundles.sign_case_batch(
        issuer, text_batch(tmp_path / "a", "sb-1"), tmp_path / "out", seq=1
    )
    second = bundles.sign_case_batch(
        issuer, text_batch(tmp_path / "b", "sb-2"), tmp_path / "out", seq=1
    )
    importer.batches.import_batch(first, trust_unsigned=False)
    logged = (
        importer.database_for_tests()
        .execute("SELECT kind, seq, direction, event_count FROM bundle_log")
        .fetchall()
    )
    assert logged == [("case-batch", 1, "import", 3)]
    before = dump(importer)
    with pytest.raises(batches.SignedBatchRefused) as caught:
        importer.batches.import_batch(second, trust_unsigned=False)
    assert caught.value.rejected.reason == "replay" and second.name in str(caught.value)
    assert dump(importer) == before
    assert any(n.endswith(".reason.txt") for n in quarantined(importer))
    # the same signed batch again is not a replay: it is the same bundle
    assert importer.batches.import_batch(first, trust_unsigned=False).cases_already_present == 3
    assert importer.database_for_tests()["bundle_log"].count == 1


def test_the_signed_copy_of_a_batch_imported_unsigned_marks_it_signed(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    folder = text_batch(tmp_path / "batch")
    importer.batches.import_batch(folder, trust_unsigned=True)
    assert status(importer, "sb-1") == "unsigned"
    signed = bundles.sign_case_batch(issuer, folder, tmp_path / "out")
    report = importer.batches.import_batch(signed, trust_unsigned=False)
    assert report.cases_added == 0 and report.cases_already_present == 3
    assert status(importer, "sb-1") == f"signed:{issuer.key_id}"


def test_signing_with_the_issuers_database_takes_the_next_sequence_number(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer_ws = Workspace.open(tmp_path / "issuer")
    try:
        issuer = issuer_key(importer)
        paths = [
            bundles.sign_case_batch(
                issuer,
                text_batch(tmp_path / n, n),
                tmp_path / "out",
                db=issuer_ws.database_for_tests(),
            )
            for n in ("sb-1", "sb-2")
        ]
        assert issuer_ws.database_for_tests().execute(
            "SELECT seq, kind, direction FROM bundle_log ORDER BY seq"
        ).fetchall() == [(1, "case-batch", "export"), (2, "case-batch", "export")]
        with pytest.raises(ValueError, match="already used"):
            bundles.sign_case_batch(
                issuer,
                text_batch(tmp_path / "c", "sb-3"),
                tmp_path / "out",
                seq=2,
                db=issuer_ws.database_for_tests(),
            )
    finally:
        issuer_ws.close()
    for path in paths:
        importer.batches.import_batch(path, trust_unsigned=False)
    assert importer.database_for_tests()["cases"].count == 6


def test_cli_numbers_an_issuers_signed_batches_and_refuses_a_reused_number(
    tmp_path: Path,
) -> None:
    env = {keys.PASSPHRASE_ENV: PASSPHRASE}
    issuer_dir = tmp_path / "issuer"
    assert run(issuer_dir, "keys", "create", "--name", ISSUER, env=env)[0] == 0
    for name in ("sb-1", "sb-2"):
        code, _, err = run(
            issuer_dir,
            "batch",
            "sign",
            str(text_batch(tmp_path / name, name)),
            str(tmp_path / "out"),
            env=env,
        )
        assert code == 0, err
    code, _, err = run(
        issuer_dir,
        "batch",
        "sign",
        str(text_batch(tmp_path / "c", "sb-3")),
        str(tmp_path / "out"),
        "--seq",
        "1",
        env=env,
    )
    assert code != 0 and "already used" in err and "replay" in err
    seqs = []
    for path in (tmp_path / "out").glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            info = archive.read(f"{path.stem}/bag-info.txt").decode()
        seqs += [
            line.split(": ")[1] for line in info.splitlines() if line.startswith("Sequence-Number")
        ]
    assert sorted(seqs) == ["1", "2"]


def test_a_batch_past_its_expiry_is_refused_and_quarantined(
    importer: Workspace, tmp_path: Path
) -> None:
    issuer = issuer_key(importer)
    folder = text_batch(tmp_path / "batch")
    expired = bundles.sign_case_batch(
        issuer, folder, tmp_path / "old", expires=datetime.now(UTC) - timedelta(seconds=1)
    )
    before = dump(importer)
    with pytest.raises(batches.SignedBatchRefused) as caught:
        importer.batches.import_batch(expired, trust_unsigned=False)
    assert caught.value.rejected.reason == "expired"
    assert "expired at" in str(caught.value) and expired.name in str(caught.value)
    assert dump(importer) == before
    assert any(n.endswith(".reason.txt") for n in quarantined(importer))
    fresh = bundles.sign_case_batch(
        issuer, folder, tmp_path / "new", expires=datetime.now(UTC) + timedelta(days=1)
    )
    assert importer.batches.import_batch(fresh, trust_unsigned=False).cases_added == 3


def test_a_signed_batch_says_when_it_expires_by_default(tmp_path: Path) -> None:
    signed = bundles.sign_case_batch(issuer_key(), text_batch(tmp_path / "batch"), tmp_path / "out")
    with zipfile.ZipFile(signed) as archive:
        info = archive.read(f"{signed.stem}/bag-info.txt").decode()
    fields = dict(line.split(": ", 1) for line in info.splitlines())
    created = datetime.fromisoformat(fields["Created"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(fields["Expires"].replace("Z", "+00:00"))
    assert until - created == bundles.DEFAULT_BATCH_VALIDITY


@pytest.mark.parametrize("expires", [None, "next week", "2030-01-01T00:00:00"])
def test_a_batch_without_a_readable_utc_expiry_is_refused(
    importer: Workspace, tmp_path: Path, expires: str | None
) -> None:
    issuer = issuer_key(importer)
    files = batches.batch_files(text_batch(tmp_path / "batch"))
    info = {"Event-Count": "3", "Batch-Ids": "sb-1"}
    if expires is not None:
        info[bundles.EXPIRES] = expires
    bag = bundles.build_bag(
        issuer,
        kind=bundles.KIND_CASE_BATCH,
        bundle_id="00000000-0000-4000-8000-000000000002",
        seq=1,
        payload={"data/" + n: d for n, d in files.items()},
        info=info,
    )
    path = tmp_path / "b.zip"
    path.write_bytes(bag.data)
    with pytest.raises(batches.SignedBatchRefused) as caught:
        importer.batches.import_batch(path)
    assert caught.value.rejected.reason == "schema" and "Expires" in str(caught.value)
    assert importer.database_for_tests()["batches"].count == 0


def test_cli_sets_the_expiry_and_refuses_a_past_or_unreadable_one(tmp_path: Path) -> None:
    env = {keys.PASSPHRASE_ENV: PASSPHRASE}
    issuer_dir = tmp_path / "issuer"
    assert run(issuer_dir, "keys", "create", "--name", ISSUER, env=env)[0] == 0
    folder = str(text_batch(tmp_path / "batch"))
    for bad, why in (
        ("2001-01-01", "in the past"),
        ("soon", "not YYYY-MM-DD"),
        ("2099-01-01T00:00:00", "no time zone"),
    ):
        code, _, err = run(
            issuer_dir, "batch", "sign", folder, str(tmp_path / "out"), "--expires", bad, env=env
        )
        assert code != 0 and why in err
    assert not (tmp_path / "out").exists()
    code, _, err = run(
        issuer_dir,
        "batch",
        "sign",
        folder,
        str(tmp_path / "out"),
        "--expires",
        "2099-12-31",
        env=env,
    )
    assert code == 0, err
    (signed,) = (tmp_path / "out").glob("*.zip")
    with zipfile.ZipFile(signed) as archive:
        assert (
            "Expires: 2099-12-31T23:59:59Z" in archive.read(f"{signed.stem}/bag-info.txt").decode()
        )
