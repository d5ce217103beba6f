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
- a name that is not a plain portable relative path (:func:`relative_path_problem` with
  ``strict``: no absolute paths, ``..``, backslashes, ``:``, control characters, non-NFC);
- the same name twice, or two names that differ only by case;
- an encrypted member;
- a member bigger than ``max_member_bytes``, or expanding more than
  ``max_compression_ratio`` times (above ``ratio_check_min_bytes``);
- more than ``max_total_bytes`` uncompressed in all;
- a local file header that disagrees with the central directory (name, flags, method,
  CRC-32 or sizes), so that a streaming extractor sees the very files checked here.

Each caller turns a :class:`ZipProblem` into its own refusal (a batch's ``BatchError``
message, a bundle's reason code).
"""

from __future__ import annotations

import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..errors import QADesktopError
from .safe_paths import relative_path_problem

KiB, MiB, GiB = 1024, 1024**2, 1024**3

LOCAL_HEADER_SIZE = 30
"""Bytes of a local file header before its file name and extra field."""


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
        bare = name.rstrip("/") if info.is_dir() else name
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
    return int(offset + LOCAL_HEADER_SIZE + name_length + extra_length)
