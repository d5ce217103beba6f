"""Writing a bundle: sign the tag files and zip the bag, in memory or streamed to a file.

Every payload kind writes its bag through here (see :mod:`.payloads`)::

    bag = build_bag(identity, kind="case-batch", bundle_id=bid, seq=1,
                    payload={"data/batch.json": b"..."}, info={"Event-Count": "0", ...})
    bag.data, bag.digest      # the .zip bytes, SHA-256 of the signed tag manifest
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import stat
import zipfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ... import __version__
from .. import keys
from ..clock import utc_now_iso
from ..errors import CancelCheck, check_cancelled
from ..formats import bagit, minisign, zip_safety
from ..formats.bagit import BAG_INFO, BAGIT_DECLARATION, BAGIT_TXT, MANIFEST, TAGMANIFEST
from .atomic_files import Writeback, temporary_name
from .layout import FORMAT_VERSION, SIGNATURE

_CHUNK = 1024**2
_BUFFERS = 12
"""Evidence streams through ``_BUFFERS`` reused chunks of ``_CHUNK`` bytes: a chunk fits a
core's L2 cache, so the hash and the CRC + write passes find it there (4 MiB chunks were
slower and twice as variable on a 2-core box, as the verifier found for its 1 MiB chunks)."""

TagWriter = Callable[[dict[str, str], dict[str, int]], tuple[dict[str, bytes], str]]
"""``tags(hashes, sizes)``: the signed tag files for payload files with these hashes and
sizes, and the SHA-256 of the tag manifest."""


@dataclass(frozen=True)
class BuiltBag:
    """A signed, zipped bag in memory."""

    data: bytes
    digest: str


def build_bag(
    identity: keys.Identity,
    *,
    kind: str,
    bundle_id: str,
    seq: int,
    payload: dict[str, bytes],
    info: dict[str, str],
    created: str | None = None,
    format_version: int = FORMAT_VERSION,
) -> BuiltBag:
    """Sign and zip a bag: ``payload`` maps names under ``data/`` to bytes.

    ``info`` adds bag-info.txt fields (``Event-Count`` and ``Batch-Ids`` at least); the
    signer, kind, ids, sequence number and Payload-Oxum fields are filled in here.
    """
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in payload.items()}
    sizes = {name: len(data) for name, data in payload.items()}
    tags, digest = signed_tags(
        identity,
        kind=kind,
        bundle_id=bundle_id,
        seq=seq,
        hashes=hashes,
        sizes=sizes,
        info=info,
        created=created,
        format_version=format_version,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**tags, **payload}.items():
            archive.writestr(zip_info(bundle_id, name, zipfile.ZIP_DEFLATED), data)
    return BuiltBag(buffer.getvalue(), digest)


def zip_info(bundle_id: str, name: str, compress_type: int) -> zipfile.ZipInfo:
    """The archive entry of a bag file: ``<bundle_id>/<name>``, a plain 0644 file, 1980."""
    info = zipfile.ZipInfo(f"{bundle_id}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = compress_type
    return info


def signed_tags(
    identity: keys.Identity,
    *,
    kind: str,
    bundle_id: str,
    seq: int,
    hashes: dict[str, str],
    sizes: dict[str, int],
    info: dict[str, str],
    created: str | None,
    format_version: int = FORMAT_VERSION,
) -> tuple[dict[str, bytes], str]:
    """The tag files (signature included) for payload files with these hashes and sizes,
    and the SHA-256 of the tag manifest."""
    created = created or utc_now_iso()
    manifest = bagit.manifest_text(hashes)
    fields = {
        "Bag-Software-Agent": f"QA Desktop {__version__}",
        "Bagging-Date": created[:10],
        "Payload-Oxum": bagit.payload_oxum(sizes.values()),
        "Format-Version": str(format_version),
        "Bundle-Kind": kind,
        "Bundle-Id": bundle_id,
        "Sequence-Number": str(seq),
        "Producer": identity.display_name or identity.key_id,
        "Key-Id": identity.key_id,
        "Signer-Public-Key": identity.public_key.to_minisign().splitlines()[1],
        "App-Version": __version__,
        "Created": created,
        **info,
    }
    tags = {BAGIT_TXT: BAGIT_DECLARATION, BAG_INFO: bagit.bag_info_text(fields), MANIFEST: manifest}
    tagmanifest = bagit.manifest_text(
        {name: hashlib.sha256(data).hexdigest() for name, data in tags.items()}
    )
    comment = f"kind={kind} bundle_id={bundle_id} key_id={identity.key_id} seq={seq}"
    members = {
        **tags,
        TAGMANIFEST: tagmanifest,
        SIGNATURE: minisign.signature_file(identity, tagmanifest, comment),
    }
    return members, hashlib.sha256(tagmanifest).hexdigest()


def write_bag_file(
    out_dir: Path,
    name: str,
    bundle_id: str,
    payload: dict[str, bytes],
    evidence: list[tuple[str, Path, int]],
    tags: TagWriter,
    cancelled: CancelCheck | None = None,
) -> tuple[Path, str]:
    """Stream a bag into a temporary file in ``out_dir``, fsynced: (path, tag manifest digest).

    Evidence (if any) is read once, in chunks into reused buffers; one worker thread hashes
    each chunk for the manifest while another CRCs and writes it (starting its writeback, so
    the closing fsync has little left to wait for).
    The tag files (which need those hashes) come last in the archive. ``cancelled()`` is
    polled between chunks: :class:`Cancelled` then, and the temporary file is gone.

    Other files are deflated once, as they are written; one that expands more than half the
    ratio importers allow (they refuse such members as zip bombs) makes the file be written
    again with that file stored (rare: such data is thousands of repeats).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stored: set[str] = set()
    while True:
        try:
            return _write_bag_once(
                out_dir, name, bundle_id, payload, evidence, tags, stored, cancelled
            )
        except _OverCompressed as over:
            stored.add(over.member)


class _OverCompressed(Exception):
    def __init__(self, member: str) -> None:
        super().__init__(member)
        self.member = member


def _write_bag_once(
    out_dir: Path,
    name: str,
    bundle_id: str,
    payload: dict[str, bytes],
    evidence: list[tuple[str, Path, int]],
    tags: TagWriter,
    stored: set[str],
    cancelled: CancelCheck | None,
) -> tuple[Path, str]:
    tmp = temporary_name(out_dir, name)
    hashes = {n: hashlib.sha256(d).hexdigest() for n, d in payload.items()}
    sizes = {n: len(d) for n, d in payload.items()}
    limit = zip_safety.BUNDLE_LIMITS.max_archive_bytes
    try:
        # Reused buffers, made once a bundle: fresh chunk objects would cost a page fault
        # per 4 KiB every time (and a zero-fill each).
        buffers = [bytearray(_CHUNK) for _ in range(_BUFFERS)] if evidence else []
        with (
            tmp.open("xb") as raw,
            ThreadPoolExecutor(1, "bag-hash") as hasher,
            ThreadPoolExecutor(1, "bag-write") as writer,
        ):
            workers = _Workers(hasher, writer, Writeback(raw.fileno()))
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
                for member, path, size in evidence:
                    hashes[member] = _stream_member(
                        archive, bundle_id, member, path, size, workers, buffers, cancelled
                    )
                    sizes[member] = size
                signed, digest = tags(hashes, sizes)
                for member, data in {**payload, **signed}.items():
                    kind = zipfile.ZIP_STORED if member in stored else zipfile.ZIP_DEFLATED
                    info = zip_info(bundle_id, member, kind)
                    archive.writestr(info, data)
                    if kind == zipfile.ZIP_DEFLATED and _over_compressed(len(data), info):
                        raise _OverCompressed(member)
            raw.flush()
            os.fsync(raw.fileno())
        if tmp.stat().st_size > limit:
            raise ValueError(f"the bundle would be larger than {limit} bytes")
        check_deliverable(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest


def _over_compressed(size: int, info: zipfile.ZipInfo) -> bool:
    """True when a deflated member of ``size`` bytes expands more than half the ratio
    importers allow. (``compress_size`` is the raw deflate stream zipfile wrote, at zlib's
    default level; ``zlib.compress`` at that level adds 6 bytes of header and checksum.)"""
    limits = zip_safety.BUNDLE_LIMITS
    if size <= limits.ratio_check_min_bytes:
        return False
    return size > (info.compress_size + 6) * limits.max_compression_ratio // 2


def check_deliverable(path: Path) -> None:
    """ValueError unless the archive at ``path`` passes the archive rules every importer
    applies (:data:`zip_safety.BUNDLE_LIMITS`): a bundle they would refuse is never sent."""
    try:
        with zipfile.ZipFile(path) as archive:
            zip_safety.checked_members(archive, zip_safety.BUNDLE_LIMITS)
    except zip_safety.ZipProblem as problem:
        raise ValueError(f"every importer would refuse this bundle: {problem}") from None


@dataclass(frozen=True)
class _Workers:
    """The two threads evidence streams through: one hashes, one writes (in order)."""

    hasher: ThreadPoolExecutor
    writer: ThreadPoolExecutor
    writeback: Writeback


def _stream_member(
    archive: zipfile.ZipFile,
    bundle_id: str,
    member: str,
    path: Path,
    size: int,
    workers: _Workers,
    buffers: list[bytearray],
    cancelled: CancelCheck | None = None,
) -> str:
    """Copy one file of ``size`` bytes into the archive uncompressed (ZIP_STORED); its SHA-256.

    This thread only reads, into ``buffers`` in turn; the hash thread hashes each chunk while
    the write thread CRCs it into the archive and starts its writeback, so the three overlap
    (hashlib, zlib and reads release the GIL). A buffer is read into again only once its last
    chunk was hashed and written. ValueError (naming the file) if it cannot be read or its
    size changes; :class:`Cancelled` when ``cancelled()`` says so between chunks.
    """
    sha = hashlib.sha256()
    info = zip_info(bundle_id, member, zipfile.ZIP_STORED)
    info.file_size = size
    try:
        source = path.open("rb", buffering=0)
    except OSError as exc:
        raise ValueError(f"evidence {path} could not be read: {exc.strerror or exc}") from None
    pending: deque[Future[None]] = deque()
    in_flight = 2 * (len(buffers) - 1)  # two tasks a chunk; one buffer is being read into
    copied = 0
    with source, archive.open(info, "w") as dest:

        def write(chunk: memoryview) -> None:
            dest.write(chunk)
            workers.writeback.advance()

        try:
            for turn in itertools.count():
                buffer = buffers[turn % len(buffers)]
                _drain(pending, in_flight)
                try:
                    read = source.readinto(buffer)
                except OSError as exc:
                    raise ValueError(
                        f"evidence {path} could not be read: {exc.strerror or exc}"
                    ) from None
                if not read:
                    break
                check_cancelled(cancelled, "export cancelled; nothing was written")
                copied += read
                if copied > size:
                    break
                chunk = memoryview(buffer)[:read]
                pending.append(workers.hasher.submit(sha.update, chunk))
                pending.append(workers.writer.submit(write, chunk))
            _drain(pending, 0)
        except BaseException:
            for future in pending:
                future.cancel()
            wait(pending)  # no thread may touch the archive or a buffer after this
            raise
    if copied != size:
        raise ValueError(
            f"evidence {path} changed while it was being exported (it had {size:,} bytes"
            f" when the export started, {'more' if copied > size else f'{copied:,}'} now)"
        )
    return sha.hexdigest()


def _drain(pending: deque[Future[None]], keep: int) -> None:
    while len(pending) > keep:
        pending.popleft().result()
