"""Verifying a bundle, entirely in memory, before anything is written.

In order: archive safety (:mod:`..formats.zip_safety` with the bundle limits), the bag's
layout, the signature against the trust store, every hash (:mod:`..formats.bagit`),
bag-info.txt against the signature, then the payload, by its kind (:mod:`.payloads`)::

    verified = verify_bundle(db, read_bundle_file(path))     # BundleRejected if not
    verified.events, verified.signer.signer_name
"""

from __future__ import annotations

import hashlib
import io
import itertools
import mmap
import os
import re
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlite_utils

from .. import keys
from ..formats import bagit, minisign, zip_safety
from ..formats.bagit import BAG_INFO, TAGMANIFEST, BagProblem
from ..formats.zip_safety import ZipProblem, ZipRule
from ..vocab import RefusalReason
from .layout import (
    FORMAT_VERSION,
    OLDEST_FORMAT_VERSION,
    REQUIRED_INFO,
    REQUIRED_TAG_FILES,
    SIGNATURE,
)
from .payloads import KINDS, PayloadKind, SignedBag, VerifiedBundle, payload_kind
from .payloads.case_batches import KIND_CASE_BATCH
from .payloads.verdicts import EVIDENCE_DIR, KIND_VERDICTS
from .rejection import BundleRejected

MAX_TAG_FILE_BYTES = 1024**2
"""Largest tag file (bagit.txt, bag-info.txt, manifests, signature)."""

_NUMBER = re.compile(r"[0-9]{1,15}")
_HASH_CHUNK = 1024**2
_ZIP_ERRORS = zip_safety.DECODE_ERRORS
_ZIP_REASONS = {
    ZipRule.ARCHIVE_TOO_LARGE: RefusalReason.ZIP_BOMB,
    ZipRule.TOO_MANY_MEMBERS: RefusalReason.ZIP_BOMB,
    ZipRule.LINK: RefusalReason.UNSAFE_PATH,
    ZipRule.NOT_REGULAR: RefusalReason.UNSAFE_PATH,
    ZipRule.UNSAFE_NAME: RefusalReason.UNSAFE_PATH,
    ZipRule.DUPLICATE_NAME: RefusalReason.DUPLICATE_NAME,
    ZipRule.CASE_COLLISION: RefusalReason.CASE_COLLISION,
    ZipRule.ENCRYPTED: RefusalReason.CORRUPT,
    ZipRule.MEMBER_TOO_LARGE: RefusalReason.ZIP_BOMB,
    ZipRule.OVER_COMPRESSED: RefusalReason.ZIP_BOMB,
    ZipRule.TOTAL_TOO_LARGE: RefusalReason.ZIP_BOMB,
    ZipRule.LOCAL_HEADER: RefusalReason.CORRUPT,
    ZipRule.COMPRESSION: RefusalReason.CORRUPT,
    ZipRule.LAYOUT: RefusalReason.CORRUPT,
    ZipRule.DATA_DESCRIPTOR: RefusalReason.CORRUPT,
}
"""The bundle reason code of each archive-safety rule."""


def _refusal(problem: ZipProblem) -> BundleRejected:
    return BundleRejected(_ZIP_REASONS[problem.rule], str(problem))


def verify_bundle(
    db: sqlite_utils.Database,
    data: bytes,
    *,
    kind: str | None = None,
    max_format_version: int = FORMAT_VERSION,
    digests: Digests | None = None,
) -> VerifiedBundle:
    """Check a bundle completely, in memory; :class:`BundleRejected` says why it fails.

    ``digests`` (from :func:`read_bundle_file_hashed`): the CRC-32 and SHA-256 of byte
    ranges of ``data`` computed while it was read; a stored member's range found there is
    not hashed again (every other check is the same).

    ``kind`` None takes any kind ``import_bundle`` merges (verdicts, calibration), as its
    signed bag-info.txt says; another kind is ``wrong-kind``.

    A ``Format-Version`` above ``max_format_version`` (what this reader knows) is refused
    (``unsupported-version``) naming both versions, never half-read.

    Reads the trust store but writes nothing. What depends on the database's events
    (replay, equivocation, conflicts, unknown cases) is checked by ``check_merge``.
    """
    with _open_archive(data) as archive:
        try:
            members = {
                name: info
                for name, info in zip_safety.checked_members(
                    archive, zip_safety.BUNDLE_LIMITS
                ).items()
                if not info.is_dir()
            }
            zip_safety.check_layout(archive, _reader(data), len(data))
        except ZipProblem as problem:
            raise _refusal(problem) from None
        if not members:
            raise BundleRejected(RefusalReason.EMPTY, "the archive holds no files")
        root = _bag_root(members)
        files, known = _read_members(members, root, data, digests or {})
    for name in REQUIRED_TAG_FILES:
        if name not in files:
            raise BundleRejected(RefusalReason.MISSING_FILE, f"the bundle has no {name}")
    sig = _check_signature(db, files)
    signer = keys.trusted_key(db, sig.key_id)
    assert signer is not None
    try:
        bagit.check_bag(files, unlisted_tag_files=(SIGNATURE,), known=known)
        info = bagit.parse_bag_info(files[BAG_INFO], REQUIRED_INFO)
    except BagProblem as problem:
        raise BundleRejected(problem.reason, problem.message) from None
    payload = payload_kind(kind or _mergeable_kind(info["Bundle-Kind"]))
    seq = _check_info(info, sig, signer, root, files, payload, max_format_version)
    bag = SignedBag(
        bundle_id=root,
        kind=payload.name,
        signer=signer,
        seq=seq,
        created=info["Created"],
        digest=hashlib.sha256(files[TAGMANIFEST]).hexdigest(),
        info=info,
        files=files,
    )
    try:
        return payload.read(bag)
    except BagProblem as problem:
        raise BundleRejected(problem.reason, problem.message) from None


def _mergeable_kind(claimed: str) -> str:
    """The kind a bundle for ``import_bundle`` claims, if it is one that is merged; else
    ``verdicts`` (whose check then refuses the claim as ``wrong-kind``)."""
    if claimed in KINDS and KINDS[claimed].plan_merge is not None:
        return claimed
    return KIND_VERDICTS


def verify_case_batch(db: sqlite_utils.Database, data: bytes) -> VerifiedBundle:
    """Check a signed case batch (kind ``case-batch``, signed by an ``issuer`` key)."""
    return verify_bundle(db, data, kind=KIND_CASE_BATCH)


def read_bundle_file(path: Path) -> bytes:
    """A bundle file's bytes, read at most the bundle size limit (+1) of them."""
    limit = zip_safety.BUNDLE_LIMITS.max_archive_bytes
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise BundleRejected(RefusalReason.ZIP_BOMB, f"{path.name} is larger than {limit} bytes")
    return data


Digests = dict[tuple[int, int], tuple[int, str]]
"""``(start, size) -> (CRC-32, SHA-256 hex)`` of byte ranges of a bundle's bytes."""


def read_bundle_file_hashed(path: Path) -> tuple[bytes, Digests]:
    """A bundle file's bytes for :func:`verify_bundle`, all but its stored evidence, and
    the CRC-32 and SHA-256 of each stored evidence member's data, read once.

    The central directory is read first (the zip's end), then the file front to back: the
    evidence data goes through a few reused 1 MiB buffers to worker threads (two at most:
    hashlib and zlib release the GIL) that hash it while the next chunk is read, and never
    into the returned buffer (anonymous memory: zeros there, pages never touched); the
    rest lands in the buffer. An import needs only the evidence's hashes, never its bytes.
    The ranges come from headers nobody has checked yet: they only say what to hash.
    :func:`verify_bundle` checks everything and takes a digest only for the exact range it
    would have hashed itself (a range it would hash that is not here is zeros, and refused).
    A file that does not open as a zip, or changes size while read, is read plainly.
    """
    limit = zip_safety.BUNDLE_LIMITS.max_archive_bytes
    with path.open("rb", buffering=0) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise BundleRejected(
                RefusalReason.ZIP_BOMB, f"{path.name} is larger than {limit} bytes"
            )
        ranges = _stored_ranges(stream, size)
        if not ranges:
            return read_bundle_file(path), {}
        # Anonymous memory: pages nobody writes (the evidence's) cost nothing, where a
        # bytearray would be zero-filled first (a tenth of a second per 200 MiB).
        buffer = mmap.mmap(-1, size)
        states = _read_around(stream, memoryview(buffer), ranges)
        if states is None or stream.read(1):
            return read_bundle_file(path), {}  # the file changed while it was read
    digests = {r: (h.crc, h.sha.hexdigest()) for r, h in zip(ranges, states, strict=True)}
    return buffer, digests  # type: ignore[return-value]


def _read_around(
    stream: io.RawIOBase, view: memoryview, ranges: list[tuple[int, int]]
) -> list[_RangeHash] | None:
    """Read the file into ``view`` but for ``ranges`` (sorted, disjoint), which are read
    through a few reused buffers and hashed by worker threads while the next chunk is
    read; None if the file ends early."""
    states = [_RangeHash() for _ in ranges]
    ring = [memoryview(bytearray(_READ_CHUNK)) for _ in range(_RING)]
    # One thread hashes every chunk, the other CRCs it: both run on each chunk at once (a
    # thread a range did both one after the other, and only one range is read at a time).
    hasher, crc = ThreadPoolExecutor(1, "import-hash"), ThreadPoolExecutor(1, "import-crc")
    pending: deque[tuple[Future[None], Future[None]]] = deque()
    turn = at = 0
    try:
        stream.seek(0)
        for n, (start, length) in enumerate([*ranges, (len(view), 0)]):
            if not _read_fully(stream, view[at:start]):
                return None
            end = start + length
            at = start
            while at < end:
                if len(pending) == _RING:
                    _wait_both(pending.popleft())  # the oldest buffer is free again
                part = ring[turn % _RING][: min(_READ_CHUNK, end - at)]
                if not _read_fully(stream, part):
                    return None
                state = states[n]
                pending.append(
                    (hasher.submit(state.sha.update, part), crc.submit(state.add_crc, part))
                )
                turn += 1
                at += len(part)
        while pending:
            _wait_both(pending.popleft())
    finally:
        hasher.shutdown()
        crc.shutdown()
    return states


def _wait_both(futures: tuple[Future[None], Future[None]]) -> None:
    for future in futures:
        future.result()


def _read_fully(stream: io.RawIOBase, target: memoryview) -> bool:
    done = 0
    while done < len(target):
        read = stream.readinto(target[done:])
        if not read:
            return False
        done += read
    return True


_READ_CHUNK = 2 * 1024**2
_RING = 6


class _RangeHash:
    """CRC-32 and SHA-256 of one range, each fed its chunks in order by its own thread."""

    def __init__(self) -> None:
        self.crc = 0
        self.sha = hashlib.sha256()

    def add_crc(self, chunk: memoryview) -> None:
        """Extend the CRC-32 with the next chunk."""
        self.crc = zlib.crc32(chunk, self.crc)


def _stored_ranges(stream: io.RawIOBase, size: int) -> list[tuple[int, int]]:
    """Where the uncompressed evidence members' data seems to lie (start, size), by the
    central directory and local headers (unchecked); none if the archive does not open."""

    def read_at(offset: int, length: int) -> bytes:
        stream.seek(offset)
        return stream.read(length) or b""

    ranges: list[tuple[int, int]] = []
    try:
        with zipfile.ZipFile(stream) as archive:
            for info in archive.infolist():
                name = info.filename.split("/", 1)[-1]
                if name.startswith(EVIDENCE_DIR) and info.compress_type == zipfile.ZIP_STORED:
                    start = zip_safety.data_offset(read_at, info)
                    if start >= 0 and start + info.file_size <= size and info.file_size:
                        ranges.append((start, info.file_size))
    except ZipProblem:
        return []
    except _ZIP_ERRORS:
        return []
    ranges.sort()
    if any(a + n > b for (a, n), (b, _) in itertools.pairwise(ranges)):
        return []  # overlapping: verify_bundle refuses it; read it plainly
    return ranges


class _ViewStream(io.RawIOBase):
    """A read-only, seekable stream over a buffer, without copying it (``io.BytesIO``
    copies any buffer that is not ``bytes``)."""

    def __init__(self, data: bytes | bytearray) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        part = self._view[self._at : self._at + len(target)]
        target[: len(part)] = part
        self._at += len(part)
        return len(part)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: len(self._view)}[whence]
        self._at = max(0, base + offset)
        return self._at

    def tell(self) -> int:
        return self._at


# -- the archive ----------------------------------------------------------------------------


def _open_archive(data: bytes) -> zipfile.ZipFile:
    if not data:
        raise BundleRejected(RefusalReason.EMPTY, "the file is empty")
    try:
        zip_safety.check_archive_size(len(data), zip_safety.BUNDLE_LIMITS)
    except ZipProblem as problem:
        raise _refusal(problem) from None
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else _ViewStream(data))
    except _ZIP_ERRORS as exc:
        raise BundleRejected(RefusalReason.NOT_A_ZIP, f"not a readable .zip file ({exc})") from None


def _bag_root(members: dict[str, zipfile.ZipInfo]) -> str:
    """The one top-level folder that holds the bag."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) != 1 or any("/" not in name for name in members):
        raise BundleRejected(
            RefusalReason.NOT_A_BAG, "a bundle holds exactly one top-level folder (the bag)"
        )
    return tops.pop()


def _read_members(
    members: dict[str, zipfile.ZipInfo], root: str, data: bytes, digests: Digests
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every file's bytes by bag-relative name, counting bytes as they come out, and the
    SHA-256 of the evidence files.

    Evidence stored uncompressed is not copied: it is a view into ``data``, whose CRC-32
    and SHA-256 worker threads compute in one pass (each chunk hashed both ways while it
    is in the CPU's cache); the hash is checked against the manifest with the bag.
    """
    limits = zip_safety.BUNDLE_LIMITS
    files: dict[str, bytes] = {}
    known: dict[str, str] = {}
    views: list[tuple[str, zipfile.ZipInfo]] = []
    starts: dict[str, int] = {}
    total = 0
    read_at = _reader(data)
    for name, info in members.items():
        relative = name[len(root) + 1 :]
        try:
            start = zip_safety.data_offset(read_at, info)
        except ZipProblem as problem:
            raise _refusal(problem) from None
        if relative.startswith(EVIDENCE_DIR) and info.compress_type == zipfile.ZIP_STORED:
            files[relative] = _stored_view(data, start, info, relative)  # type: ignore[assignment]
            views.append((relative, info))
            starts[relative] = start
            total += info.file_size
            if total > limits.max_total_bytes:
                raise BundleRejected(RefusalReason.ZIP_BOMB, zip_safety.total_too_large(limits))
            continue
        limit = min(info.file_size, limits.max_member_bytes)
        if "/" not in relative or not relative.startswith("data/"):
            limit = min(limit, MAX_TAG_FILE_BYTES)
            if info.file_size > MAX_TAG_FILE_BYTES:
                raise BundleRejected(RefusalReason.ZIP_BOMB, f"tag file {relative!r} is too large")
        content = _decoded(data, start, info, limit, relative)
        if len(content) > limit:
            # The central directory was checked against the limits already: data that
            # inflates past its declared size is damaged or altered, not merely large.
            raise BundleRejected(RefusalReason.CORRUPT, f"{relative!r} holds more than it declares")
        total += len(content)
        if total > limits.max_total_bytes:
            raise BundleRejected(RefusalReason.ZIP_BOMB, zip_safety.total_too_large(limits))
        files[relative] = content
    ranges = [(starts[relative], info.file_size) for relative, info in views]
    missing = [
        (r, files[relative])
        for r, (relative, _) in zip(ranges, views, strict=True)
        if r not in digests
    ]
    found = dict(digests)
    found.update(
        zip(
            [r for r, _ in missing],
            bagit.in_threads(_crc32_and_sha256, [view for _, view in missing]),
            strict=True,
        )
    )
    for (relative, info), (crc, sha) in zip(views, [found[r] for r in ranges], strict=True):
        if crc != info.CRC:
            raise BundleRejected(RefusalReason.CORRUPT, f"{relative!r} cannot be read (bad CRC-32)")
        known[relative] = sha
    return files, known


def _crc32_and_sha256(data: bytes) -> tuple[int, str]:
    """CRC-32 and SHA-256 (hex) of ``data`` in one pass, a cache-sized chunk at a time."""
    view = memoryview(data)
    crc, sha = 0, hashlib.sha256()
    for i in range(0, len(view), _HASH_CHUNK):
        chunk = view[i : i + _HASH_CHUNK]
        crc = zlib.crc32(chunk, crc)
        sha.update(chunk)
    return crc, sha.hexdigest()


def _reader(data: bytes) -> zip_safety.ReadAt:
    def read_at(offset: int, size: int) -> bytes:
        return data[offset : offset + size] if offset >= 0 else b""

    return read_at


def _decoded(data: bytes, start: int, info: zipfile.ZipInfo, limit: int, relative: str) -> bytes:
    """A member's bytes (at most ``limit`` + 1 of them), decoded from the archive directly.

    Only stored and deflate reach here (``checked_members``). The compressed data must be
    exactly ``compress_size`` bytes: a deflate stream that ends early would let a streaming
    extractor look for the next file somewhere else.
    """
    end = start + info.compress_size
    if end > len(data):
        raise BundleRejected(RefusalReason.CORRUPT, f"{relative!r} is truncated")
    raw = data[start:end]
    if info.compress_type == zipfile.ZIP_STORED:
        content = raw[: limit + 1]
        if len(content) > limit:
            return content
    else:
        decoder = zlib.decompressobj(-15)
        try:
            content = decoder.decompress(raw, limit + 1)
        except zlib.error as exc:
            raise BundleRejected(
                RefusalReason.CORRUPT, f"{relative!r} cannot be read (corrupt deflate data: {exc})"
            ) from None
        if len(content) > limit:
            return content
        if not decoder.eof or decoder.unused_data or decoder.unconsumed_tail:
            raise BundleRejected(
                RefusalReason.CORRUPT,
                f"{relative!r} cannot be read (its deflate data does not end where the archive"
                " says)",
            )
    if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
        raise BundleRejected(
            RefusalReason.CORRUPT, f"{relative!r} cannot be read (bad size or CRC-32)"
        )
    return content


def _stored_view(data: bytes, start: int, info: zipfile.ZipInfo, relative: str) -> memoryview:
    """The bytes of an uncompressed member, as a view into the archive (no copy)."""
    end = start + info.compress_size
    if info.compress_size != info.file_size or end > len(data):
        raise BundleRejected(RefusalReason.CORRUPT, f"{relative!r} is truncated or mis-sized")
    return memoryview(data)[start:end]


# -- the signature and bag-info.txt ---------------------------------------------------------


def _check_signature(db: sqlite_utils.Database, files: dict[str, bytes]) -> minisign.Signature:
    try:
        sig = minisign.parse_signature(files[SIGNATURE])
    except minisign.MinisignFormatError as exc:
        raise BundleRejected(RefusalReason.BAD_SIGNATURE, str(exc)) from None
    signer = keys.trusted_key(db, sig.key_id)
    if signer is None:
        raise BundleRejected(
            RefusalReason.UNKNOWN_SIGNER,
            f"key {sig.key_id} is not in the trust store",
            key_id=sig.key_id,
        )
    if signer.revoked:
        raise BundleRejected(
            RefusalReason.REVOKED_SIGNER, f"key {sig.key_id} was revoked {signer.revoked_at}"
        )
    trusted = signer.as_public_key().key
    if not minisign.signature_holds(trusted, sig, files[TAGMANIFEST]):
        claimed = _claimed_public_key(files.get(BAG_INFO, b""))
        if (
            claimed is not None
            and claimed.key_id == sig.key_id
            and claimed.key != trusted
            and minisign.signature_holds(claimed.key, sig, files[TAGMANIFEST])
        ):
            raise BundleRejected(
                RefusalReason.KEY_ID_MISMATCH,
                f"signed by a different key that copies trusted key id {sig.key_id}",
            )
        raise BundleRejected(
            RefusalReason.BAD_SIGNATURE, f"the signature does not verify with key {sig.key_id}"
        )
    return sig


def _claimed_public_key(bag_info: bytes) -> keys.PublicKey | None:
    """The Signer-Public-Key bag-info.txt claims (unverified), if it parses."""
    try:
        for line in bag_info.decode("utf-8").splitlines():
            if line.startswith("Signer-Public-Key:"):
                return keys.PublicKey.from_minisign(line.split(":", 1)[1].strip())
    except (UnicodeDecodeError, keys.KeyFormatError):
        return None
    return None


def _trusted_comment_fields(comment: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in comment.split(" "):
        key, sep, value = token.partition("=")
        if not sep or key in fields:
            raise BundleRejected(RefusalReason.SCHEMA, f"unexpected trusted comment {comment!r}")
        fields[key] = value
    if set(fields) != {"kind", "bundle_id", "key_id", "seq"}:
        raise BundleRejected(RefusalReason.SCHEMA, f"unexpected trusted comment {comment!r}")
    return fields


def _check_info(
    info: dict[str, str],
    sig: minisign.Signature,
    signer: keys.TrustedKey,
    root: str,
    files: dict[str, bytes],
    kind: PayloadKind,
    max_format_version: int = FORMAT_VERSION,
) -> int:
    """Check bag-info.txt against the signature and the bag; returns the sequence number."""
    _check_format_version(info["Format-Version"], max_format_version)
    comment = _trusted_comment_fields(sig.trusted_comment)
    for found in (comment["kind"], info["Bundle-Kind"]):
        if found != kind.name:
            raise BundleRejected(
                RefusalReason.WRONG_KIND, f"a {found!r} bundle cannot be used as {kind.name!r}"
            )
    if info["Key-Id"] != sig.key_id or comment["key_id"] != sig.key_id:
        raise BundleRejected(
            RefusalReason.KEY_ID_MISMATCH, "bag-info.txt and the signature name different keys"
        )
    if info["Signer-Public-Key"] != signer.as_public_key().to_minisign().splitlines()[1]:
        raise BundleRejected(
            RefusalReason.KEY_ID_MISMATCH, "the bundle names a different key under this key id"
        )
    if int(info["Format-Version"]) < kind.since_version:
        raise BundleRejected(
            RefusalReason.SCHEMA,
            f"a {kind.name!r} bundle needs format version {kind.since_version} or later,"
            f" not {info['Format-Version']}",
        )
    if not (info["Bundle-Id"] == comment["bundle_id"] == root):
        raise BundleRejected(
            RefusalReason.SCHEMA, "the bundle id differs between bag-info, signature and folder"
        )
    if not (info["Sequence-Number"] == comment["seq"] and _NUMBER.fullmatch(comment["seq"])):
        raise BundleRejected(
            RefusalReason.SCHEMA, "the sequence number differs between bag-info and signature"
        )
    payload = [d for n, d in files.items() if n.startswith("data/")]
    if info["Payload-Oxum"] != bagit.payload_oxum(len(d) for d in payload):
        raise BundleRejected(RefusalReason.SCHEMA, "Payload-Oxum does not match the payload")
    if not _NUMBER.fullmatch(info["Event-Count"]):
        raise BundleRejected(RefusalReason.SCHEMA, "Event-Count is not a number")
    if signer.role not in kind.signer_roles:
        raise BundleRejected(
            RefusalReason.ROLE_NOT_ALLOWED,
            f"a {signer.role} key may not sign {kind.name!r} bundles",
        )
    kind.check_info(info)
    return int(comment["seq"])


def _check_format_version(found: str, max_version: int) -> None:
    """Refuse a format this reader does not know: unreadable, or newer than ``max_version``
    (checked first, before anything of a newer layout could be misread)."""
    if not _NUMBER.fullmatch(found) or int(found) < OLDEST_FORMAT_VERSION:
        raise BundleRejected(
            RefusalReason.SCHEMA, f"format version {found[:20]!r} is not a bundle format version"
        )
    if int(found) > max_version:
        raise BundleRejected(
            RefusalReason.UNSUPPORTED_VERSION,
            f"the bundle is format version {found}; this QA Desktop reads bundle format"
            f" versions up to {max_version}. Update QA Desktop to import it",
        )
