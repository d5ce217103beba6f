"""The one set of archive-safety rules for every .zip that comes from outside.

Case batches and signed bundles are both .zip files made by someone else. Before any member
is read, every entry is checked against the same rules; only the limits differ by kind::

    try:
        members = checked_members(archive, BUNDLE_LIMITS)   # {name: ZipInfo}, files only
        start = data_offset(read_at, members[name])          # local header checked too
    except ZipProblem as problem:
        refuse(problem.rule, problem.member, problem.problem)

The rules, each refused with its :class:`ZipRule`:

- too many entries (``max_members``), an archive file too big (``max_archive_bytes``);
- a link, or any member that is not a plain file or folder (device, FIFO, socket);
- a name that is neither ASCII nor flagged UTF-8 (tools decode it differently), or one
  that is not a plain portable relative path (:func:`relative_path_problem` with
  ``strict``: no absolute paths, ``..``, backslashes, ``:``, control characters, non-NFC);
- the same name twice, or two names that differ only by case;
- an encrypted member, or one compressed by any method but stored or deflate (what we
  write; LZMA, bzip2 and the rest are never decoded);
- a member bigger than ``max_member_bytes``, or expanding more than
  ``max_compression_ratio`` times (above ``ratio_check_min_bytes``);
- more than ``max_total_bytes`` uncompressed in all;
- a local file header that disagrees with the central directory (name, flags, method,
  CRC-32 or sizes), so that a streaming extractor sees the very files checked here;
- the layout (:func:`check_layout`): the first local header at offset 0 (nothing
  prepended, no archive glued behind another), every byte up to the central directory
  belonging to exactly one member (local header, name, extra field, data, data descriptor)
  in order, with no gap and no overlap, the central directory followed only by its end
  records (no comment, nothing appended), and every data descriptor agreeing with the
  central directory.

Decoding a member can still fail (a corrupt deflate stream): callers catch
:data:`DECODE_ERRORS`, every error the standard library's zip, zlib and text decoders raise,
and refuse by name.

Each caller turns a :class:`ZipProblem` into its own refusal (a batch's ``BatchError``
message, a bundle's reason code).
"""

from __future__ import annotations

import lzma
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..errors import QADesktopError
from .safe_paths import relative_path_problem

KiB, MiB, GiB = 1024, 1024**2, 1024**3

LOCAL_HEADER_SIZE = 30
"""Bytes of a local file header before its file name and extra field."""
END_RECORD_SIZE = 22
"""Bytes of the end of central directory record (we allow no archive comment after it)."""
ZIP64_LOCATOR_SIZE = 20
ZIP64_END_RECORD_SIZE = 56

ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""The only compression methods read (the ones we write)."""

DECODE_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,  # bz2 errors, and read errors
    ValueError,  # UnicodeDecodeError, and zipfile's checks of header values
    struct.error,
    KeyError,
    IndexError,
    OverflowError,
)
"""Every error opening a zip or decoding a member can raise: callers turn each into a named
refusal (a corrupt archive is the sender's problem, never a traceback)."""


@dataclass(frozen=True)
class ZipLimits:
    """How big an archive of one kind may be; the rules are the same for every kind."""

    max_archive_bytes: int
    """Largest archive file."""
    max_members: int
    """Most entries (files and folders) in the archive."""
    max_member_bytes: int
    """Largest single member, uncompressed."""
    max_total_bytes: int
    """Largest sum of every member, uncompressed."""
    max_compression_ratio: int
    """A member may expand at most this many times its compressed size ..."""
    ratio_check_min_bytes: int
    """... unless it is no bigger than this uncompressed (small files may compress well)."""


BATCH_LIMITS = ZipLimits(
    max_archive_bytes=21 * GiB,
    max_members=200_000,
    max_member_bytes=2 * GiB,
    max_total_bytes=20 * GiB,
    max_compression_ratio=200,
    ratio_check_min_bytes=1 * MiB,
)
"""Case batches (a folder or .zip of media). ``max_member_bytes`` and ``max_total_bytes``
limit a batch folder's files too; the archive may exceed the total by its headers."""

BUNDLE_LIMITS = ZipLimits(
    max_archive_bytes=256 * MiB,
    max_members=100_000,
    max_member_bytes=256 * MiB,
    max_total_bytes=512 * MiB,
    max_compression_ratio=100,
    ratio_check_min_bytes=64 * KiB,
)
"""Signed bundles (read whole into memory to be verified)."""


class ZipRule(StrEnum):
    """Which rule an archive broke."""

    ARCHIVE_TOO_LARGE = "archive-too-large"
    TOO_MANY_MEMBERS = "too-many-members"
    LINK = "link"
    NOT_REGULAR = "not-regular"
    UNSAFE_NAME = "unsafe-name"
    DUPLICATE_NAME = "duplicate-name"
    CASE_COLLISION = "case-collision"
    ENCRYPTED = "encrypted"
    MEMBER_TOO_LARGE = "member-too-large"
    OVER_COMPRESSED = "over-compressed"
    TOTAL_TOO_LARGE = "total-too-large"
    LOCAL_HEADER = "local-header"
    COMPRESSION = "compression"
    LAYOUT = "layout"
    DATA_DESCRIPTOR = "data-descriptor"


class ZipProblem(QADesktopError, ValueError):
    """An archive that breaks a rule: ``rule``, the ``member`` (None for the whole archive)
    and ``problem``, what is wrong, written to follow the member's name."""

    def __init__(self, rule: ZipRule, member: str | None, problem: str) -> None:
        super().__init__(f"{member!r} {problem}" if member is not None else problem)
        self.rule = rule
        self.member = member
        self.problem = problem


def size_text(nbytes: int) -> str:
    """A byte count as people read it: ``2 GiB``, ``1.5 MiB``, ``100 bytes``."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if nbytes >= factor:
            return f"{nbytes / factor:g} {unit}"
    return f"{nbytes} bytes"


def member_too_large(limits: ZipLimits) -> str:
    """The problem of a member over ``limits.max_member_bytes``."""
    return f"is larger than the {size_text(limits.max_member_bytes)} limit for one file"


def over_compressed(limits: ZipLimits) -> str:
    """The problem of a member expanding more than ``limits.max_compression_ratio`` times."""
    return (
        f"expands more than {limits.max_compression_ratio} times its compressed size (a zip bomb?)"
    )


def total_too_large(limits: ZipLimits) -> str:
    """The problem of an archive holding more than ``limits.max_total_bytes`` in all."""
    return f"uncompressed, the archive is larger than the {size_text(limits.max_total_bytes)} limit"


def check_archive_size(size: int, limits: ZipLimits) -> None:
    """Refuse an archive file over ``limits.max_archive_bytes`` (before it is read)."""
    if size > limits.max_archive_bytes:
        raise ZipProblem(
            ZipRule.ARCHIVE_TOO_LARGE,
            None,
            f"the archive is larger than the {size_text(limits.max_archive_bytes)} limit",
        )


def read_cap(info: zipfile.ZipInfo, limits: ZipLimits) -> tuple[int, str]:
    """The most bytes reading ``info`` may yield (headers may lie), and what more means."""
    ratio_cap = max(limits.ratio_check_min_bytes, limits.max_compression_ratio * info.compress_size)
    if ratio_cap < limits.max_member_bytes:
        return ratio_cap, over_compressed(limits)
    return limits.max_member_bytes, member_too_large(limits)


def checked_members(archive: zipfile.ZipFile, limits: ZipLimits) -> dict[str, zipfile.ZipInfo]:
    """Every entry by name (folders included), once all of them passed the rules.

    Raises :class:`ZipProblem` for the first entry that breaks one (in archive order).
    The local headers are checked as members are read (:func:`data_offset`).
    """
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ZipProblem(
            ZipRule.TOO_MANY_MEMBERS,
            None,
            f"more than {limits.max_members:,} entries in the archive",
        )
    members: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    folded: dict[str, str] = {}
    total = 0
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ZipProblem(ZipRule.LINK, name, "is a link; links are not allowed")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ZipProblem(ZipRule.NOT_REGULAR, name, "is not a plain file or folder")
        if not info.flag_bits & 0x800 and not info.orig_filename.isascii():
            raise ZipProblem(
                ZipRule.UNSAFE_NAME,
                name,
                "has a name that is neither ASCII nor marked as UTF-8 (other tools would read"
                " another name)",
            )
        bare = name.rstrip("/") if name.endswith("/") else name  # is_dir() fails on ""
        problem = relative_path_problem(bare, strict=True)
        if problem:
            raise ZipProblem(ZipRule.UNSAFE_NAME, name, problem)
        if bare in seen:
            raise ZipProblem(ZipRule.DUPLICATE_NAME, name, "appears twice")
        seen.add(bare)
        fold = bare.casefold()
        if fold in folded:
            raise ZipProblem(
                ZipRule.CASE_COLLISION, name, f"and {folded[fold]!r} differ only by case"
            )
        folded[fold] = bare
        if info.flag_bits & 0x1:
            raise ZipProblem(ZipRule.ENCRYPTED, name, "is encrypted")
        if info.compress_type not in ALLOWED_METHODS:
            raise ZipProblem(
                ZipRule.COMPRESSION,
                name,
                f"is compressed with method {info.compress_type}"
                f"{_method_name(info.compress_type)}; only stored and deflate are allowed",
            )
        if info.file_size > limits.max_member_bytes:
            raise ZipProblem(ZipRule.MEMBER_TOO_LARGE, name, member_too_large(limits))
        if info.file_size > limits.ratio_check_min_bytes and (
            info.file_size > limits.max_compression_ratio * info.compress_size
        ):
            raise ZipProblem(ZipRule.OVER_COMPRESSED, name, over_compressed(limits))
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ZipProblem(ZipRule.TOTAL_TOO_LARGE, None, total_too_large(limits))
        members[name] = info
    return members


ReadAt = Callable[[int, int], bytes]
"""``read_at(offset, size)``: up to ``size`` bytes of the archive file from ``offset``."""


def data_offset(read_at: ReadAt, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts, once its local header agrees with the central directory.

    zipfile reads sizes, CRC and method from the central directory only, while a streaming
    extractor (``unzip -`` and the like) reads the local headers: where the two disagree,
    other tools could see other files than the ones checked here. Raises
    :class:`ZipProblem` (:attr:`ZipRule.LOCAL_HEADER`).
    """
    return _local_header(read_at, info)[0]


def _local_header(read_at: ReadAt, info: zipfile.ZipInfo) -> tuple[int, bool]:
    """Where the member's data starts, and whether its local extra field is zip64."""
    name = info.filename
    offset = info.header_offset
    header = read_at(offset, LOCAL_HEADER_SIZE)
    if len(header) != LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        raise ZipProblem(ZipRule.LOCAL_HEADER, name, "has no local file header")
    flags, method, _time, _date, crc, compressed, size, name_length, extra_length = struct.unpack(
        "<HHHHLLLHH", header[6:30]
    )
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        expected = info.orig_filename.encode(encoding)
    except UnicodeEncodeError:
        expected = b""
    if read_at(offset + LOCAL_HEADER_SIZE, name_length) != expected:
        raise ZipProblem(ZipRule.LOCAL_HEADER, name, "has a local header naming another file")
    start = offset + LOCAL_HEADER_SIZE + name_length
    extra = read_at(start, extra_length)
    if len(extra) != extra_length:
        raise ZipProblem(ZipRule.LOCAL_HEADER, name, "has a truncated local header")
    zip64 = _zip64_sizes(extra, name)
    if zip64 is not None and (compressed, size) == (0xFFFFFFFF, 0xFFFFFFFF):
        size, compressed = zip64
    described = (crc, compressed, size)
    deferred = flags & 0x08 and described == (0, 0, 0)  # sizes in a data descriptor
    if flags != info.flag_bits or method != info.compress_type:
        raise ZipProblem(
            ZipRule.LOCAL_HEADER,
            name,
            "has a local header whose flags or compression method differ from the central"
            " directory's",
        )
    if not deferred and described != (info.CRC, info.compress_size, info.file_size):
        raise ZipProblem(
            ZipRule.LOCAL_HEADER,
            name,
            "has a local header whose CRC-32 or sizes differ from the central directory's",
        )
    return int(start + extra_length), zip64 is not None


def _zip64_sizes(extra: bytes, name: str) -> tuple[int, int] | None:
    """(uncompressed, compressed) from a local header's zip64 extra field, if it has one."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[position : position + 4])
        if tag == 0x0001:
            body = extra[position + 4 : position + 4 + length]
            if len(body) < 16:
                raise ZipProblem(ZipRule.LOCAL_HEADER, name, "has a zip64 extra field too short")
            sizes: tuple[int, int] = struct.unpack("<QQ", body[:16])
            return sizes
        position += 4 + length
    return None


def _method_name(method: int) -> str:
    known = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 93: "Zstandard"}
    return f" ({known[method]})" if method in known else ""


def check_layout(archive: zipfile.ZipFile, read_at: ReadAt, size: int) -> None:
    """Refuse an archive whose bytes are not exactly its members, in order, then its directory.

    The central directory is what zipfile (and so every check here) reads; a streaming
    extractor reads local headers from offset 0 on instead. Only when the first local header
    is at offset 0, each member's header, data and data descriptor is followed directly by
    the next member's header, and the last one by the central directory, do both see the
    same files. This refuses a junk prefix, an archive glued behind another one (a forged bag
    followed by a genuine bundle), unreferenced or shared byte ranges, and data descriptors
    that disagree with the central directory. Raises :class:`ZipProblem`.
    """
    directory_offset, _directory_size, entries = _central_directory(read_at, size)
    if archive.start_dir != directory_offset:
        raise ZipProblem(
            ZipRule.LAYOUT, None, "the central directory is not where the archive says"
        )
    infos = sorted(archive.infolist(), key=lambda info: info.header_offset)
    if entries != len(infos):
        raise ZipProblem(
            ZipRule.LAYOUT,
            None,
            f"the end of the central directory counts {entries} entries, the directory holds"
            f" {len(infos)}",
        )
    position = 0
    for info in infos:
        if info.header_offset != position:
            raise ZipProblem(ZipRule.LAYOUT, info.filename, _misplaced(info, position))
        start, zip64 = _local_header(read_at, info)
        position = start + info.compress_size
        if info.flag_bits & 0x08:
            position += _descriptor_length(read_at, position, info, zip64)
    if position != directory_offset:
        raise ZipProblem(
            ZipRule.LAYOUT,
            None,
            "the last file does not end where the central directory starts"
            f" ({abs(directory_offset - position)} bytes "
            f"{'unaccounted for' if position < directory_offset else 'overlap'})",
        )


def _misplaced(info: zipfile.ZipInfo, position: int) -> str:
    if position == 0:
        return (
            f"starts at byte {info.header_offset}, not at the start of the archive (prepended data)"
        )
    if info.header_offset < position:
        return "overlaps the file before it"
    return f"follows {info.header_offset - position} bytes no file accounts for"


def _central_directory(read_at: ReadAt, size: int) -> tuple[int, int, int]:
    """Offset, size and entry count of the central directory, from the end records.

    The end record must be the archive's last 22 bytes (no comment, nothing appended) and
    the directory (and zip64 end records, if any) must fill the space before it exactly.
    """
    end = read_at(size - END_RECORD_SIZE, END_RECORD_SIZE) if size >= END_RECORD_SIZE else b""
    if len(end) != END_RECORD_SIZE or end[:4] != b"PK\x05\x06":
        raise ZipProblem(
            ZipRule.LAYOUT,
            None,
            "the archive does not end with its central directory (a comment or appended data)",
        )
    disk, start_disk, _here, entries, directory_size, offset, comment = struct.unpack(
        "<HHHHLLH", end[4:]
    )
    if disk or start_disk or comment:
        raise ZipProblem(
            ZipRule.LAYOUT, None, "a multi-disk archive or an archive comment is not allowed"
        )
    directory_end = size - END_RECORD_SIZE
    if entries == 0xFFFF or 0xFFFFFFFF in (directory_size, offset):
        locator_at = directory_end - ZIP64_LOCATOR_SIZE
        locator = read_at(locator_at, ZIP64_LOCATOR_SIZE) if locator_at >= 0 else b""
        if len(locator) != ZIP64_LOCATOR_SIZE or locator[:4] != b"PK\x06\x07":
            raise ZipProblem(ZipRule.LAYOUT, None, "the zip64 end of directory is missing")
        _disk, record_at, _disks = struct.unpack("<LQL", locator[4:])
        record = read_at(record_at, ZIP64_END_RECORD_SIZE)
        if len(record) != ZIP64_END_RECORD_SIZE or record[:4] != b"PK\x06\x06":
            raise ZipProblem(ZipRule.LAYOUT, None, "the zip64 end of directory is missing")
        record_size, _made, _needed, disk, start_disk, _here, entries, directory_size, offset = (
            struct.unpack("<QHHLLQQQQ", record[4:])
        )
        if disk or start_disk or record_at + 12 + record_size != locator_at:
            raise ZipProblem(ZipRule.LAYOUT, None, "the zip64 end of directory is malformed")
        directory_end = record_at
    actual = directory_end - directory_size
    if actual > offset:
        raise ZipProblem(
            ZipRule.LAYOUT,
            None,
            f"{actual - offset} bytes come before the archive itself (prepended data, or an"
            " archive glued behind another one)",
        )
    if actual != offset:
        raise ZipProblem(
            ZipRule.LAYOUT,
            None,
            "the central directory does not end where its end record starts (hidden data)",
        )
    return offset, directory_size, entries


def _descriptor_length(read_at: ReadAt, at: int, info: zipfile.ZipInfo, zip64: bool) -> int:
    """The length of the data descriptor at ``at``, once it agrees with the central directory."""
    raw = read_at(at, 24)
    signed = raw[:4] == b"PK\x07\x08"
    body = raw[4:] if signed else raw
    fmt = "<LQQ" if zip64 else "<LLL"
    length = struct.calcsize(fmt)
    if len(body) < length:
        raise ZipProblem(ZipRule.DATA_DESCRIPTOR, info.filename, "has a truncated data descriptor")
    if struct.unpack(fmt, body[:length]) != (info.CRC, info.compress_size, info.file_size):
        raise ZipProblem(
            ZipRule.DATA_DESCRIPTOR,
            info.filename,
            "has a data descriptor whose CRC-32 or sizes differ from the central directory's",
        )
    return length + (4 if signed else 0)
