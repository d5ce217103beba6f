"""Archives that other tools read differently, built byte by byte: refused by batches and
bundles alike, and never a traceback from a decoder (issue 17, items 5 and 6)."""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core import bundles
from qa_desktop.core.batches import BatchError, import_batch
from qa_desktop.core.bundles import BundleRejected
from qa_desktop.core.formats import zip_safety
from qa_desktop.core.formats.zip_safety import ZipProblem, ZipRule
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, tiny_png, write_batch, zip_folder
from .recording import record
from .test_bundle_tamper import Setup, event_line, members
from .test_bundles import dump
from .zipbytes import Entry, build


@pytest.fixture
def s(tmp_path: Path) -> Iterator[Setup]:
    setup = Setup(tmp_path)
    yield setup
    setup.reviewer.close()
    setup.lead.close()


def entries(files: dict[str, bytes], **options: object) -> list[Entry]:
    return [Entry(name.encode(), data, **options) for name, data in files.items()]  # type: ignore[arg-type]


def verify(s: Setup, data: bytes) -> bundles.VerifiedBundle:
    return bundles.verify_bundle(s.lead.database_for_tests(), data)


def forged_bag(s: Setup) -> tuple[bytes, bytes]:
    """An unsigned bag under the genuine bundle's name whose events were rewritten, and
    those events."""
    files = members(s.data)
    forged_events = event_line(s, label="no_violation", notes="forged") + b"\n"
    files[f"{s.root}/data/events.jsonl"] = forged_events
    return build(entries(files)), forged_events


# -- control: honest archives written another way still verify -------------------------------


@pytest.mark.parametrize("signature", [True, False])
def test_an_honest_archive_with_data_descriptors_verifies(s: Setup, signature: bool) -> None:
    files = members(s.data)
    verified = verify(s, build(entries(files, descriptor=True, descriptor_signature=signature)))
    assert verified.events == verify(s, s.data).events


def test_an_honest_archive_of_stored_members_verifies(s: Setup) -> None:
    assert verify(s, build(entries(members(s.data), method=0))).bundle_id == s.root


# -- item 5: what other tools would see ------------------------------------------------------


def test_a_forged_bag_glued_before_the_genuine_bundle_is_refused(s: Setup) -> None:
    forged, _events = forged_bag(s)
    glued = forged + s.data
    with zipfile.ZipFile(io.BytesIO(glued)) as archive:  # zipfile reads the genuine bundle...
        assert (
            archive.read(f"{s.root}/data/events.jsonl")
            == members(s.data)[f"{s.root}/data/events.jsonl"]
        )
    with pytest.raises(BundleRejected) as exc:
        verify(s, glued)
    assert exc.value.reason == "corrupt"
    assert "glued behind another" in exc.value.message
    assert s.refused(glued) == "corrupt"


def test_what_a_streaming_extractor_sees_in_the_glued_archive(s: Setup, tmp_path: Path) -> None:
    """bsdtar reading a pipe sees only the forged events: why the archive above is refused."""
    bsdtar = shutil.which("bsdtar")
    assert bsdtar, "bsdtar is missing: install libarchive-tools (.ci/run does)"
    forged, forged_events = forged_bag(s)
    out = tmp_path / "extracted"
    out.mkdir()
    subprocess.run([bsdtar, "-xf", "-", "-C", str(out)], input=forged + s.data, check=True)
    assert (out / s.root / "data" / "events.jsonl").read_bytes() == forged_events
    # ... while the genuine bundle alone streams out as itself
    genuine = tmp_path / "genuine"
    genuine.mkdir()
    subprocess.run([bsdtar, "-xf", "-", "-C", str(genuine)], input=s.data, check=True)
    events = members(s.data)[f"{s.root}/data/events.jsonl"]
    assert (genuine / s.root / "data" / "events.jsonl").read_bytes() == events


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_a_junk_prefix_is_refused(s: Setup, size: int) -> None:
    junk = (b"JUNK" * size)[:size]
    assert s.refused(junk + s.data) == "corrupt"
    rebuilt = build(entries(members(s.data)), prefix=junk, offsets_from_prefix=True)
    with pytest.raises(BundleRejected) as exc:
        verify(s, rebuilt)
    assert "prepended data" in exc.value.message


@pytest.mark.parametrize("lie", [(0, None, None), (None, 1, None), (None, None, 1)])
def test_a_lying_data_descriptor_is_refused(
    s: Setup, lie: tuple[int | None, int | None, int | None]
) -> None:
    files = members(s.data)
    built = entries(files, descriptor=True)
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    truth = (zip_safety_crc(target.data), len(target.compressed()), len(target.data))
    target.descriptor_values = tuple(  # type: ignore[assignment]
        t if change is None else (t + 1 if change else 0)
        for t, change in zip(truth, lie, strict=True)
    )
    with pytest.raises(BundleRejected) as exc:
        verify(s, build(built))
    assert exc.value.reason == "corrupt"
    assert "data descriptor" in exc.value.message


def zip_safety_crc(data: bytes) -> int:
    return zlib.crc32(data)


def test_unreferenced_bytes_between_members_are_refused(s: Setup) -> None:
    files = members(s.data)
    built = entries(files)
    with_gap = build(built, between={2: b"PK\x03\x04 hidden bytes"})
    # zipfile is happy: the central directory points past the gap
    with zipfile.ZipFile(io.BytesIO(with_gap)) as archive:
        assert archive.testzip() is None
    with pytest.raises(BundleRejected) as exc:
        verify(s, with_gap)
    assert "no file accounts for" in exc.value.message


def test_overlapping_members_are_refused() -> None:
    """A member whose data holds another member's local header, both in the directory."""
    inner = build([Entry(b"b.txt", b"hidden", method=0)])
    local_b = inner[: inner.index(b"PK\x01\x02")]
    outer = Entry(b"a.txt", b"A" * 10 + local_b, method=0)
    archive = build([outer, Entry(b"b.txt", b"hidden", method=0)])
    # point b's directory entry into a's data
    data = bytearray(archive)
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    data[second + 42 : second + 46] = (30 + 5 + 10).to_bytes(4, "little")
    data = bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("b.txt") == b"hidden" and zf.read("a.txt").endswith(b"hidden")
        with pytest.raises(ZipProblem) as exc:
            zip_safety.check_layout(zf, lambda o, n: data[o : o + n], len(data))
    assert exc.value.rule is ZipRule.LAYOUT and "overlaps" in str(exc.value)


@pytest.mark.parametrize(
    ("comment", "suffix"), [(b"a comment", b""), (b"", b"appended"), (b"", b"PK\x05\x06")]
)
def test_a_comment_or_appended_data_is_refused(s: Setup, comment: bytes, suffix: bytes) -> None:
    data = build(entries(members(s.data)), comment=comment, suffix=suffix)
    with pytest.raises(BundleRejected) as exc:
        verify(s, data)
    assert exc.value.reason in ("corrupt", "not-a-zip")


def test_python_zipfile_archives_pass_the_layout_rules(tmp_path: Path) -> None:
    """What we (and Python's zipfile) write, zip64 end records included."""
    for force_zip64 in (False, True):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
            for i in range(3):
                with out.open(f"f{i}.txt", "w", force_zip64=force_zip64) as member:
                    member.write(b"x" * 1000)
            out.writestr("empty/", b"")
        data = buffer.getvalue()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            zip_safety.check_layout(archive, io_reader(data), len(data))


def io_reader(data: bytes) -> zip_safety.ReadAt:
    return lambda offset, size: data[offset : offset + size]


# -- batches: the same rules --------------------------------------------------------------------


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return workspace


def batch_zip(tmp_path: Path, name: str = "b") -> Path:
    folder = tmp_path / name
    tiny_png(folder / "media" / "a.png")
    records = [
        case_record("img-1", "image", ["media/a.png"]),
        case_record("t-1", "text", [], text="hello"),
    ]
    return zip_folder(write_batch(folder, records), tmp_path / f"{name}.zip")


def batch_refused(ws: Workspace, path: Path, *fragments: str) -> str:
    db = ws.database_for_tests()
    before = db["cases"].count, db["batches"].count
    with pytest.raises(BatchError) as exc:
        import_batch(db, ws.media_dir, path)
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert (db["cases"].count, db["batches"].count) == before
    return message


def test_a_batch_with_a_junk_prefix_is_refused(ws: Workspace, tmp_path: Path) -> None:
    archive = batch_zip(tmp_path)
    archive.write_bytes(b"#!/bin/sh\nexit 0\n" + archive.read_bytes())
    batch_refused(ws, archive, "b.zip:", "prepended data")


def test_a_batch_glued_behind_another_archive_is_refused(ws: Workspace, tmp_path: Path) -> None:
    first, second = batch_zip(tmp_path, "one"), batch_zip(tmp_path, "two")
    glued = tmp_path / "glued.zip"
    glued.write_bytes(first.read_bytes() + second.read_bytes())
    batch_refused(ws, glued, "glued.zip:", "glued behind another")


def test_a_batch_with_a_lying_data_descriptor_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with zipfile.ZipFile(batch_zip(tmp_path)) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    built = entries(files, descriptor=True)
    built[-1].descriptor_values = (0, 0, 0)
    path = tmp_path / "lying.zip"
    path.write_bytes(build(built))
    batch_refused(ws, path, "lying.zip: member", "data descriptor")
    honest = tmp_path / "honest.zip"
    honest.write_bytes(build(entries(files, descriptor=True)))
    assert import_batch(ws.database_for_tests(), ws.media_dir, honest).cases_added == 2


# -- item 6: only stored and deflate; every decoder error is a named refusal -----------------


def lzma_raw(data: bytes) -> bytes:
    """A member's bytes as zipfile writes LZMA (a 4-byte header, then raw LZMA1 data)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_LZMA) as out:
        out.writestr("x", data)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        info = archive.getinfo("x")
    start = info.header_offset + 30 + 1
    return buffer.getvalue()[start : start + info.compress_size]


@pytest.mark.parametrize("corrupt", [False, True])
def test_a_bundle_with_an_lzma_member_is_refused(s: Setup, corrupt: bool) -> None:
    built = entries(members(s.data))
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    raw = bytearray(lzma_raw(target.data))
    if corrupt:
        raw[len(raw) // 2 :] = b"\xff" * (len(raw) - len(raw) // 2)
        corrupt_zip = io.BytesIO(build(_with_raw(built, target, raw)))
        with pytest.raises(lzma.LZMAError), zipfile.ZipFile(corrupt_zip) as archive:
            archive.read(target.name.decode())  # what used to escape as a traceback
    data = build(_with_raw(built, target, raw))
    with pytest.raises(BundleRejected) as exc:
        verify(s, data)
    assert exc.value.reason == "corrupt"
    assert "method 14 (LZMA); only stored and deflate are allowed" in exc.value.message
    assert s.refused(data) == "corrupt"


def _with_raw(built: list[Entry], target: Entry, raw: bytes | bytearray) -> list[Entry]:
    target.method = zipfile.ZIP_LZMA
    target.raw = bytes(raw)
    return built


def test_a_corrupt_deflate_stream_is_refused(s: Setup) -> None:
    built = entries(members(s.data))
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    raw = bytearray(target.compressed())
    raw[0] = 0xFF  # an invalid block type
    target.raw = bytes(raw)
    with pytest.raises(BundleRejected) as exc:
        verify(s, build(built))
    assert exc.value.reason == "corrupt" and "events.jsonl" in exc.value.message


def test_a_deflate_stream_that_ends_early_is_refused(s: Setup) -> None:
    built = entries(members(s.data))
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    target.raw = target.compressed() + b"trailing bytes a streaming reader would skip"
    with pytest.raises(BundleRejected) as exc:
        verify(s, build(built))
    assert "does not end where the archive says" in exc.value.message


@pytest.mark.parametrize("version", [64, 0xFFFF])
def test_a_bad_version_needed_is_refused(
    s: Setup, ws: Workspace, tmp_path: Path, version: int
) -> None:
    built = entries(members(s.data))
    built[0].cd_overrides["version_needed"] = version
    built[0].version_needed = version
    assert s.refused(build(built)) == "not-a-zip"
    with zipfile.ZipFile(batch_zip(tmp_path)) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    batch = entries(files)
    batch[0].version_needed = batch[0].cd_overrides["version_needed"] = version
    path = tmp_path / "version.zip"
    path.write_bytes(build(batch))
    batch_refused(ws, path, "version.zip: not a readable zip archive", "zip file version")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(0x800, "not a readable zip archive"), (0, "neither ASCII nor marked as UTF-8")],
)
def test_a_name_with_invalid_utf8_is_refused(
    s: Setup, ws: Workspace, tmp_path: Path, flags: int, expected: str
) -> None:
    built = entries(members(s.data))
    built.append(Entry(f"{s.root}/data/\xff".encode("latin-1"), b"x", flags=flags))
    with pytest.raises(BundleRejected) as exc:
        verify(s, build(built))
    assert exc.value.reason in ("not-a-zip", "unsafe-path")
    with zipfile.ZipFile(batch_zip(tmp_path)) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    batch = entries(files)
    batch.append(Entry(b"media/\xff\xfe.png", b"x", flags=flags))
    path = tmp_path / "names.zip"
    path.write_bytes(build(batch))
    batch_refused(ws, path, "names.zip:", expected)


def test_a_batch_with_an_lzma_member_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with zipfile.ZipFile(batch_zip(tmp_path)) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    batch = entries(files)
    target = next(e for e in batch if e.name == b"cases.jsonl")
    raw = bytearray(lzma_raw(target.data))
    raw[len(raw) // 2 :] = b"\x00" * (len(raw) - len(raw) // 2)
    _with_raw(batch, target, raw)
    path = tmp_path / "lzma.zip"
    path.write_bytes(build(batch))
    batch_refused(ws, path, "lzma.zip: member 'cases.jsonl'", "only stored and deflate")


def test_a_sync_never_stops_at_a_bad_file(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = keyed_pair
    folder = tmp_path / "shared"
    folder.mkdir()
    record(b, "t-2", "vh_remove")
    b.sync.folder(b.trust.identity(PASSPHRASE), folder)
    good = next(folder.rglob("*.zip"))
    built = entries(members(good.read_bytes()))
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    raw = bytearray(lzma_raw(target.data))
    raw[len(raw) // 2 :] = b"\xff" * (len(raw) - len(raw) // 2)
    bad = folder / "0-first" / "bad.zip"  # sorted before the good one
    bad.parent.mkdir()
    bad.write_bytes(build(_with_raw(built, target, raw)))
    assert sorted(folder.rglob("*.zip"))[0] == bad
    report = a.sync.folder(a.trust.identity(PASSPHRASE), folder)
    assert [(r.name, r.refused_reason) for r in report.refused] == [("bad.zip", "corrupt")]
    assert report.new_events == 1
    assert any(p.name.endswith("bad.zip.reason.txt") for p in a.bundles.quarantine_dir.iterdir())
    again = a.sync.folder(a.trust.identity(PASSPHRASE), folder)  # later syncs go on too
    assert [r.name for r in again.refused] == ["bad.zip"] and again.new_events == 0


# -- fuzzing real archives: only named refusals come out -------------------------------------


_MUTATION = st.lists(
    st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    max_size=4,
)
# (offset in a local header, offset in a central entry): version needed, flags, method
_FIELDS = st.sampled_from([(4, 6), (6, 8), (8, 10)])
_VALUES = st.sampled_from([0, 1, 6, 8, 9, 12, 14, 63, 64, 93, 98, 0x0800, 0x0808, 0xFFFF])
_FIELD_CHANGE = st.none() | st.tuples(st.integers(min_value=0, max_value=8), _FIELDS, _VALUES)


def mutate(
    data: bytes,
    changes: list[tuple[int, int]],
    field: tuple[int, tuple[int, int], int] | None,
    cut: int,
) -> bytes:
    """Bytes overwritten, one header field of the ``n``-th member rewritten in its local and
    central headers alike (so only what it means changes), then the end cut off."""
    out = bytearray(data)
    for offset, value in changes:
        out[offset % len(out)] = value
    if field is not None:
        index, offsets, value = field
        for signature, at in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets, strict=True):
            position = -1
            for _ in range(index + 1):
                found = out.find(signature, position + 1)
                position = found if found >= 0 else position
            if position >= 0:
                out[position + at : position + at + 2] = value.to_bytes(2, "little")
    return bytes(out[: len(out) - cut]) if cut else bytes(out)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=_MUTATION,
    field=_FIELD_CHANGE,
    cut=st.integers(min_value=0, max_value=64),
)
def test_mutated_bundles_only_ever_raise_bundle_rejected(
    s: Setup,
    changes: list[tuple[int, int]],
    field: tuple[int, tuple[int, int], int] | None,
    cut: int,
) -> None:
    data = mutate(s.data, changes, field, cut)
    before = dump(s.lead)
    with contextlib.suppress(BundleRejected):
        bundles.import_bundle(s.lead.database_for_tests(), data)
        return
    assert dump(s.lead) == before


@pytest.fixture
def real_batch(tmp_path: Path) -> bytes:
    return batch_zip(tmp_path, "fuzz").read_bytes()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=_MUTATION,
    field=_FIELD_CHANGE,
    cut=st.integers(min_value=0, max_value=64),
)
def test_mutated_batches_only_ever_raise_batch_error(
    ws: Workspace,
    real_batch: bytes,
    tmp_path: Path,
    changes: list[tuple[int, int]],
    field: tuple[int, tuple[int, int], int] | None,
    cut: int,
) -> None:
    path = tmp_path / "mutated.zip"
    path.write_bytes(mutate(real_batch, changes, field, cut))
    db = ws.database_for_tests()
    before = db["cases"].count
    try:
        import_batch(db, ws.media_dir, path, trust_unsigned=True)
    except BatchError as exc:
        assert "mutated.zip" in str(exc)
        assert db["cases"].count == before


@pytest.mark.slow
def test_the_cli_refuses_a_corrupt_lzma_bundle_without_a_traceback(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    """``bundle verify``, ``bundle import`` and ``sync`` as real processes."""
    a, b = keyed_pair
    record(b, "t-2", "vh_remove")
    good = b.bundles.export(b.trust.identity(PASSPHRASE), tmp_path / "out").path
    built = entries(members(good.read_bytes()))
    target = next(e for e in built if e.name.endswith(b"events.jsonl"))
    raw = bytearray(lzma_raw(target.data))
    raw[len(raw) // 2 :] = b"\xff" * (len(raw) - len(raw) // 2)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(build(_with_raw(built, target, raw)))
    shared = tmp_path / "shared"
    (shared / "x").mkdir(parents=True)
    shutil.copy(bad, shared / "x" / "0-bad.zip")
    shutil.copy(good, shared / "x" / "1-good.zip")
    data_dir = str(a.data_dir)
    a.close()
    cli = [sys.executable, "-m", "qa_desktop", "--data-dir", data_dir]
    env = {**os.environ, "QA_DESKTOP_PASSPHRASE": PASSPHRASE}
    for command in (["bundle", "verify", str(bad)], ["bundle", "import", str(bad)]):
        done = subprocess.run([*cli, *command], capture_output=True, text=True, env=env)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr + done.stdout
        assert "LZMA" in done.stderr + done.stdout
    done = subprocess.run([*cli, "sync", str(shared)], capture_output=True, text=True, env=env)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "0-bad.zip" in done.stdout + done.stderr and "1 new event" in done.stdout
