"""BagIt bags (RFC 8493): the declaration, bag-info.txt and the SHA-256 manifests.

A bag is ``bagit.txt``, ``bag-info.txt``, ``manifest-sha256.txt`` (every payload file under
``data/`` with its hash), ``tagmanifest-sha256.txt`` (the tag files with theirs) and the
payload. Writing::

    manifest = manifest_text({"data/events.jsonl": sha})
    info = bag_info_text({"Bagging-Date": "2026-11-02", ...})

Reading (each problem is a :class:`BagProblem` with a reason code)::

    check_bag(files, unlisted_tag_files={"tagmanifest-sha256.txt.minisig"})
    info = parse_bag_info(files[BAG_INFO], required=("Payload-Oxum",))
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import Refused
from ..vocab import RefusalReason
from .safe_paths import relative_path_problem

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
PAYLOAD_DIR = "data/"
BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
"""The only ``bagit.txt`` written and accepted: BagIt 1.0, UTF-8 tag files."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PARALLEL_MIN_BYTES = 4 * 1024 * 1024


class BagProblem(Refused):
    """A bag that is not valid: ``reason`` is a :class:`RefusalReason` (``hash-mismatch``,
    ``unlisted-file``, ``missing-file``, ``schema``, ``duplicate-key``, ``not-a-bag``)."""


def one_line(value: str) -> str:
    """``value`` fit for one bag-info.txt line: control characters become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", value).strip()


def manifest_text(hashes: Mapping[str, str]) -> bytes:
    """A manifest file: ``<sha256>  <name>`` a line, sorted by name."""
    return "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes)).encode("utf-8")


def bag_info_text(fields: Mapping[str, str]) -> bytes:
    """bag-info.txt: ``Label: value`` a line, in the order given."""
    return "".join(f"{k}: {one_line(v)}\n" for k, v in fields.items()).encode("utf-8")


def in_threads(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """``[fn(x) for x in items]``, in threads when there are several big items (hashlib
    and zlib release the GIL)."""
    if len(items) < 2 or sum(len(x) for x in items) < _PARALLEL_MIN_BYTES:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))


def parse_manifest(data: bytes, label: str) -> dict[str, str]:
    """``name -> sha256`` from a manifest file; every name must be a strict safe path."""
    entries: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagProblem(RefusalReason.SCHEMA, f"{label} is not UTF-8") from None
    for line in text.splitlines():
        digest, sep, name = line.partition(" ")
        name = name.lstrip(" ")
        if not sep or not _HEX64.fullmatch(digest) or relative_path_problem(name, strict=True):
            raise BagProblem(RefusalReason.SCHEMA, f"{label}: unreadable line {line!r}")
        if name in entries:
            raise BagProblem(RefusalReason.SCHEMA, f"{label} lists {name!r} twice")
        entries[name] = digest
    return entries


def check_hashes(
    files: Mapping[str, bytes],
    listed: Mapping[str, str],
    present: Iterable[str],
    label: str,
    known: Mapping[str, str] | None = None,
) -> None:
    """Refuse files not listed, listed files missing, and any hash that differs.

    ``known`` holds the SHA-256 of files whose bytes were hashed as they were read."""
    for name in sorted(present):
        if name not in listed:
            raise BagProblem(RefusalReason.UNLISTED_FILE, f"{name!r} is not in {label}")
    for name in sorted(listed):
        if name not in files:
            raise BagProblem(
                RefusalReason.MISSING_FILE, f"{label} lists {name!r}, which is missing"
            )
    known = known or {}
    names = [n for n in sorted(listed) if n not in known]
    digests = in_threads(lambda d: hashlib.sha256(d).hexdigest(), [files[n] for n in names])
    found = {
        **dict(zip(names, digests, strict=True)),
        **{n: known[n] for n in listed if n in known},
    }
    for name, digest in sorted(found.items()):
        if digest != listed[name]:
            raise BagProblem(
                RefusalReason.HASH_MISMATCH, f"{name!r} does not match its hash in {label}"
            )


def check_bag(
    files: Mapping[str, bytes],
    unlisted_tag_files: Collection[str] = (),
    known: Mapping[str, str] | None = None,
) -> None:
    """Check a whole bag (``files`` by bag-relative name): only SHA-256 manifests, every file
    listed with its hash in the right manifest, and the BagIt 1.0 declaration.

    ``unlisted_tag_files`` are tag files no manifest lists (a detached signature of the tag
    manifest); ``known`` the SHA-256 of payload files hashed as they were read. Raises
    :class:`BagProblem`.
    """
    tag_files = {n for n in files if not n.startswith(PAYLOAD_DIR)}
    payload_files = {n for n in files if n.startswith(PAYLOAD_DIR)}
    other_manifests = {
        n
        for n in tag_files
        if re.fullmatch(r"(tag)?manifest-\w+\.txt", n) and n not in (MANIFEST, TAGMANIFEST)
    }
    if other_manifests:
        raise BagProblem(
            RefusalReason.SCHEMA,
            f"only sha256 manifests are allowed, not {sorted(other_manifests)}",
        )
    unlisted = {TAGMANIFEST, *unlisted_tag_files}
    tag_listed = parse_manifest(files[TAGMANIFEST], TAGMANIFEST)
    if any(n.startswith(PAYLOAD_DIR) or n in unlisted for n in tag_listed):
        raise BagProblem(RefusalReason.SCHEMA, f"{TAGMANIFEST} lists payload or signature files")
    check_hashes(files, tag_listed, tag_files - unlisted, TAGMANIFEST)
    payload_listed = parse_manifest(files[MANIFEST], MANIFEST)
    if any(not n.startswith(PAYLOAD_DIR) for n in payload_listed):
        raise BagProblem(RefusalReason.SCHEMA, f"{MANIFEST} lists files outside data/")
    check_hashes(files, payload_listed, payload_files, MANIFEST, known)
    if files[BAGIT_TXT] != BAGIT_DECLARATION:
        raise BagProblem(
            RefusalReason.NOT_A_BAG, f"{BAGIT_TXT} is not a BagIt 1.0 UTF-8 declaration"
        )


def parse_bag_info(data: bytes, required: Iterable[str] = ()) -> dict[str, str]:
    """bag-info.txt as ``label -> value``: each label once, the ``required`` ones present."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagProblem(RefusalReason.SCHEMA, f"{BAG_INFO} is not UTF-8") from None
    info: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep or not label or label != label.strip() or line[:1].isspace():
            raise BagProblem(RefusalReason.SCHEMA, f"{BAG_INFO}: unreadable line {line!r}")
        if label in info:
            raise BagProblem(RefusalReason.DUPLICATE_KEY, f"{BAG_INFO} names {label!r} twice")
        info[label] = value.strip()
    missing = [name for name in required if name not in info]
    if missing:
        raise BagProblem(RefusalReason.SCHEMA, f"{BAG_INFO} lacks {', '.join(missing)}")
    return info


def payload_oxum(sizes: Iterable[int]) -> str:
    """``Payload-Oxum``: total payload bytes ``.`` number of payload files."""
    sizes = list(sizes)
    return f"{sum(sizes)}.{len(sizes)}"
