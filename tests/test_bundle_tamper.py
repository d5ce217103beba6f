"""Tampered, forged and hostile bundles: each refused with its reason, the database unchanged."""

from __future__ import annotations

import contextlib
import hashlib
import io
import stat
import unicodedata
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core import audit, bundles, keys
from qa_desktop.core.bundles import BundleRejected, Checkpoint
from qa_desktop.core.formats import zip_safety
from qa_desktop.core.formats.canonical import dumps_canonical

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .recording import record
from .test_bundles import dump, export

Members = dict[str, bytes]


class Setup:
    """A reviewer, a lead who trusts them, and one exported bundle."""

    def __init__(self, root: Path) -> None:
        self.reviewer = make_workspace(root, "Rita")
        self.lead = make_workspace(root, "Lena")
        introduce(self.lead, self.reviewer)
        record(self.reviewer, "t-0", "vh_remove", notes="clear")
        record(self.reviewer, "t-1", "no_violation")
        self.result = export(self.reviewer, root / "out")
        self.data = self.result.path.read_bytes()
        self.identity = self.reviewer.trust.identity(PASSPHRASE)
        self.root = self.result.bundle_id

    def refused(self, data: bytes) -> str:
        """Import ``data`` into the lead; return the reason code, checking nothing changed."""
        before = dump(self.lead)
        with pytest.raises(BundleRejected) as exc:
            bundles.import_bundle(
                self.lead.database_for_tests(),
                data,
                quarantine_dir=self.lead.bundles.quarantine_dir,
            )
        assert dump(self.lead) == before
        return exc.value.reason

    def event_lines(self) -> list[bytes]:
        """The exported events, as canonical JSON lines."""
        return [audit.event_bytes(e) for e in self.reviewer.verdicts.events()]


@pytest.fixture
def s(tmp_path: Path) -> Setup:
    setup = Setup(tmp_path)
    yield setup
    setup.reviewer.close()
    setup.lead.close()


def members(data: bytes) -> Members:
    """A zip's members, by name, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(files: Members, special: Callable[[zipfile.ZipFile], None] | None = None) -> bytes:
    """Zip ``files`` again (plus whatever ``special`` adds)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one test
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
            if special is not None:
                special(archive)
    return buffer.getvalue()


def sign_events(
    identity: keys.Identity,
    lines: list[bytes],
    *,
    seq: int = 9,
    start: int = 0,
    prev_head: str = audit.GENESIS,
    bundle_id: str | None = None,
    kind: str = "verdicts",
) -> bytes:
    """A correctly signed verdict bundle holding exactly ``lines``."""
    hashes = [hashlib.sha256(line).hexdigest() for line in lines]
    cp = Checkpoint(
        identity.key_id,
        identity.reviewer_id,
        start,
        prev_head,
        start + len(lines),
        audit.chain_head(prev_head, hashes),
        "2026-11-02T00:00:00.000Z",
    )
    return bundles.build_bag(
        identity,
        kind=kind,
        bundle_id=bundle_id or str(uuid.uuid4()),
        seq=seq,
        payload=bundles.verdict_payload(lines, cp),
        info={"Event-Count": str(len(lines)), "Batch-Ids": "test-batch"},
    ).data


def event_line(s: Setup, **changes: object) -> bytes:
    """A fresh event of the reviewer's, as a canonical line, with ``changes``."""
    base = s.reviewer.verdicts.events()[0].to_json()
    base.update({"id": str(uuid.uuid4()), "supersedes": None}, **changes)
    return dumps_canonical(base)


# -- the bag: bytes, files, names -----------------------------------------------------------

FLIP_EXPECTED = {
    "bagit.txt": "hash-mismatch",
    "bag-info.txt": "hash-mismatch",
    "manifest-sha256.txt": "hash-mismatch",
    "tagmanifest-sha256.txt": "bad-signature",
    "tagmanifest-sha256.txt.minisig": "bad-signature",
    "data/events.jsonl": "hash-mismatch",
    "data/checkpoint.json": "hash-mismatch",
}


@pytest.mark.parametrize("member", sorted(FLIP_EXPECTED))
def test_a_flipped_byte_in_any_file_is_refused(s: Setup, member: str) -> None:
    files = members(s.data)
    name = f"{s.root}/{member}"
    body = bytearray(files[name])
    body[len(body) // 2] ^= 0x01
    files[name] = bytes(body)
    assert s.refused(rezip(files)) == FLIP_EXPECTED[member]


def test_a_flipped_byte_anywhere_in_the_archive_is_refused_or_changes_nothing_signed(
    s: Setup,
) -> None:
    """Every byte of the .zip, headers and central directory included: the only flips that
    pass are in zip metadata no tool reads as content (versions, times, attribute bits)."""
    original = bundles.verify_bundle(s.lead.database_for_tests(), s.data)
    passed = []
    for offset in range(len(s.data)):
        data = bytearray(s.data)
        data[offset] ^= 0xFF
        try:
            verified = bundles.verify_bundle(s.lead.database_for_tests(), bytes(data))
        except BundleRejected:
            continue
        passed.append(offset)
        assert (verified.digest, verified.events, verified.checkpoint, verified.info) == (
            original.digest,
            original.events,
            original.checkpoint,
            original.info,
        )
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            assert {i.filename: archive.read(i) for i in archive.infolist()} == members(s.data)
    assert len(passed) < len(s.data) // 10


def test_a_local_header_that_disagrees_with_the_central_directory_is_refused(
    s: Setup,
) -> None:
    with zipfile.ZipFile(io.BytesIO(s.data)) as archive:
        info = archive.getinfo(f"{s.root}/data/events.jsonl")
    data = bytearray(s.data)
    data[info.header_offset + 14] ^= 0x01  # the local header's CRC-32
    assert s.refused(bytes(data)) == "corrupt"


def test_a_member_that_is_a_device_or_fifo_is_refused(s: Setup) -> None:
    files = members(s.data)

    def fifo(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(f"{s.root}/data/pipe")
        info.external_attr = (stat.S_IFIFO | 0o644) << 16
        archive.writestr(info, b"")

    assert s.refused(rezip(files, fifo)) == "unsafe-path"


@pytest.mark.parametrize(
    "member", ["data/events.jsonl", "bag-info.txt", "tagmanifest-sha256.txt.minisig"]
)
def test_a_removed_file_is_refused(s: Setup, member: str) -> None:
    files = members(s.data)
    del files[f"{s.root}/{member}"]
    assert s.refused(rezip(files)) == "missing-file"


@pytest.mark.parametrize("member", ["data/extra.txt", "notes.txt"])
def test_an_added_file_is_refused(s: Setup, member: str) -> None:
    files = members(s.data)
    files[f"{s.root}/{member}"] = b"hello\n"
    assert s.refused(rezip(files)) == "unlisted-file"


def test_a_renamed_file_is_refused(s: Setup) -> None:
    files = members(s.data)
    files[f"{s.root}/data/events2.jsonl"] = files.pop(f"{s.root}/data/events.jsonl")
    assert s.refused(rezip(files)) == "unlisted-file"


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "{root}/../../evil.txt",
        "/etc/evil",
        "C:/evil.txt",
        "{root}\\data\\x",
        "{root}/data/./x",
        "{root}/da\x01ta",
    ],
)
def test_unsafe_names_are_refused(s: Setup, name: str) -> None:
    files = members(s.data)
    files[name.format(root=s.root)] = b"x"
    assert s.refused(rezip(files)) == "unsafe-path"


def test_a_name_not_in_nfc_is_refused(s: Setup) -> None:
    files = members(s.data)
    files[f"{s.root}/data/" + unicodedata.normalize("NFD", "café.txt")] = b"x"
    assert s.refused(rezip(files)) == "unsafe-path"


def test_a_case_fold_collision_is_refused(s: Setup) -> None:
    files = members(s.data)
    files[f"{s.root}/data/EVENTS.jsonl"] = b"x"
    assert s.refused(rezip(files)) == "case-collision"


def test_a_duplicate_name_is_refused(s: Setup) -> None:
    files = members(s.data)
    name = f"{s.root}/data/events.jsonl"
    assert s.refused(rezip(files, lambda z: z.writestr(name, b"other\n"))) == "duplicate-name"


def test_a_symlink_is_refused(s: Setup) -> None:
    def add_link(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(f"{s.root}/data/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")

    assert s.refused(rezip(members(s.data), add_link)) == "unsafe-path"


def test_a_zip_bomb_is_refused(s: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = zip_safety.BUNDLE_LIMITS
    monkeypatch.setattr(zip_safety, "BUNDLE_LIMITS", replace(limits, ratio_check_min_bytes=1024))
    files = members(s.data)
    files[f"{s.root}/data/events.jsonl"] = b"\0" * 200_000
    assert s.refused(rezip(files)) == "zip-bomb"
    limits = zip_safety.BUNDLE_LIMITS
    monkeypatch.setattr(zip_safety, "BUNDLE_LIMITS", replace(limits, max_total_bytes=500))
    assert s.refused(s.data) == "zip-bomb"


def test_an_empty_file_is_refused(s: Setup) -> None:
    assert s.refused(b"") == "empty"


def test_two_top_level_folders_are_refused(s: Setup) -> None:
    files = members(s.data)
    files["other/bagit.txt"] = b"x"
    assert s.refused(rezip(files)) == "not-a-bag"


# -- who signed it ----------------------------------------------------------------------------


def test_a_bag_re_signed_by_an_unknown_key_is_refused(s: Setup) -> None:
    stranger = keys.generate_identity(s.identity.reviewer_id, "Mallory")
    assert s.refused(sign_events(stranger, s.event_lines())) == "unknown-signer"


def test_a_key_copying_a_trusted_key_id_is_refused(s: Setup) -> None:
    forger = keys.generate_identity(s.identity.reviewer_id, "Mallory")
    impostor = keys.Identity(s.identity.key_id, s.identity.reviewer_id, "Rita", forger.private_key)
    assert s.refused(sign_events(impostor, s.event_lines())) == "key-id-mismatch"


def test_a_revoked_key_is_refused(s: Setup) -> None:
    s.lead.trust.revoke(s.identity.key_id)
    assert s.refused(s.data) == "revoked-signer"


def test_verdicts_in_another_reviewers_name_are_refused(s: Setup) -> None:
    line = event_line(s, reviewer_id=s.lead.reviewer.id)
    assert s.refused(sign_events(s.identity, [line])) == "impersonation"


def test_a_case_batch_kind_from_a_reviewer_is_not_a_verdict_bundle(s: Setup) -> None:
    assert s.refused(sign_events(s.identity, s.event_lines(), kind="case-batch")) == "wrong-kind"


def test_a_case_batch_offered_as_a_verdict_bundle_is_refused(s: Setup, tmp_path: Path) -> None:
    issuer = keys.generate_identity("", "Issuer")
    s.lead.trust.trust(issuer.public_key, "Central QA", "issuer")
    folder = write_batch(tmp_path / "cb", [case_record("c-1", "text", [], tags=[])], "cb-1")
    path = bundles.sign_case_batch(issuer, folder, tmp_path / "signed")
    assert s.refused(path.read_bytes()) == "wrong-kind"


def test_a_verdict_signer_without_the_role_is_refused(s: Setup) -> None:
    issuer = keys.generate_identity(s.identity.reviewer_id, "Issuer")
    s.lead.trust.trust(issuer.public_key, "Central QA", "issuer")
    assert s.refused(sign_events(issuer, s.event_lines())) == "role-not-allowed"


# -- what it says -----------------------------------------------------------------------------


def test_duplicate_json_keys_are_refused(s: Setup) -> None:
    line = event_line(s)
    duplicated = b'{"case_id":"t-2",' + line[1:]
    assert s.refused(sign_events(s.identity, [duplicated])) == "duplicate-key"


@pytest.mark.parametrize(
    "change",
    [{"confidence": 7}, {"time_on_case_ms": -1}, {"citations": [{"x": 1}]}, {"label": 3}],
)
def test_malformed_events_are_refused(s: Setup, change: dict) -> None:
    assert s.refused(sign_events(s.identity, [event_line(s, **change)])) == "schema"


def test_a_non_canonical_line_is_refused(s: Setup) -> None:
    line = event_line(s).replace(b'":', b'": ', 1)
    assert s.refused(sign_events(s.identity, [line])) == "schema"


def test_no_events_is_refused(s: Setup) -> None:
    assert s.refused(sign_events(s.identity, [])) == "empty"


def test_an_event_on_an_unknown_case_is_refused(s: Setup) -> None:
    line = event_line(s, case_id="not-here")
    assert s.refused(sign_events(s.identity, [line])) == "unknown-case"


def test_a_changed_event_under_a_known_id_is_refused(s: Setup) -> None:
    bundles.import_bundle(s.lead.database_for_tests(), s.data)
    first = s.reviewer.verdicts.events()[0].to_json()
    changed = dumps_canonical({**first, "label": "hs_remove"})
    data = sign_events(s.identity, [changed], seq=5, start=100, prev_head="a" * 64)
    assert s.refused(data) == "event-conflict"


def test_a_replayed_sequence_number_is_refused(s: Setup) -> None:
    bundles.import_bundle(s.lead.database_for_tests(), s.data)
    start = s.result.event_count
    _, head = (
        s.lead.database_for_tests()
        .execute("SELECT position, head FROM chain_points WHERE position = ?", [start])
        .fetchone()
    )
    data = sign_events(s.identity, [event_line(s)], seq=1, start=start, prev_head=head)
    assert s.refused(data) == "replay"


def test_an_equivocating_bundle_id_is_refused(s: Setup) -> None:
    bundles.import_bundle(s.lead.database_for_tests(), s.data)
    data = sign_events(s.identity, s.event_lines(), seq=1, bundle_id=s.result.bundle_id)
    assert s.refused(data) == "equivocation"


def test_a_rewritten_history_is_refused(s: Setup) -> None:
    bundles.import_bundle(s.lead.database_for_tests(), s.data)
    rewritten = [event_line(s), event_line(s, case_id="t-2")]
    assert s.refused(sign_events(s.identity, rewritten, seq=2)) == "history-rewritten"


# -- anything at all ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=2000))
def test_random_bytes_only_ever_raise_bundle_rejected(s: Setup, data: bytes) -> None:
    with contextlib.suppress(BundleRejected):
        bundles.verify_bundle(s.lead.database_for_tests(), data)


_NAMES = st.text(alphabet="ab/\\.:C\x01é", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    entries=st.lists(st.tuples(_NAMES, st.binary(max_size=200)), max_size=6),
    keep_real=st.booleans(),
    cut=st.integers(min_value=0, max_value=4000),
)
def test_random_zips_only_ever_raise_bundle_rejected(
    s: Setup, entries: list[tuple[str, bytes]], keep_real: bool, cut: int
) -> None:
    files = members(s.data) if keep_real else {}
    files.update(dict(entries))
    data = rezip(files)
    for candidate in (data, data[:cut]):
        with contextlib.suppress(BundleRejected):
            bundles.verify_bundle(s.lead.database_for_tests(), candidate)


def test_a_member_name_starting_with_a_nul_byte_is_refused_not_a_crash(tmp_path: Path) -> None:
    # zipfile cuts a name at its first NUL: this member's name reads as "" (found by the
    # mutation fuzz test in test_zip_layout.py, which only sometimes draws it).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a/x.txt", b"hello")
    data = buffer.getvalue().replace(b"a/x.txt", b"\x00/x.txt")
    ws = make_workspace(tmp_path, "Ana")
    with pytest.raises(BundleRejected):
        bundles.verify_bundle(ws.database_for_tests(), data)
    ws.close()
