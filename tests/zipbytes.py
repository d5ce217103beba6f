"""Zip archives written byte by byte (struct.pack), so tests can make them lie."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field


@dataclass
class Entry:
    """One member as it is written; every header field can be overridden to lie."""

    name: bytes
    data: bytes
    method: int = 8
    flags: int = 0x800
    version_needed: int = 20
    descriptor: bool = False
    """Sizes in a data descriptor after the data (flag bit 3, zeros in the local header)."""
    descriptor_signature: bool = True
    descriptor_values: tuple[int, int, int] | None = None
    """(CRC-32, compressed, uncompressed) written in the descriptor; the truth if None."""
    raw: bytes | None = None
    """The compressed bytes to write, if not ``data`` compressed by ``method``."""
    mode: int = 0o100644
    extra_local: bytes = b""
    cd_overrides: dict[str, int] = field(default_factory=dict)
    """Central-directory fields to change: crc, compressed, size, offset, method, flags,
    version_needed."""

    def compressed(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.method == 0:
            return self.data
        if self.method == 8:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            return packer.compress(self.data) + packer.flush()
        raise ValueError(f"no writer for method {self.method}; pass raw")


def build(
    entries: list[Entry],
    *,
    prefix: bytes = b"",
    between: dict[int, bytes] | None = None,
    comment: bytes = b"",
    suffix: bytes = b"",
    offsets_from_prefix: bool = False,
) -> bytes:
    """An archive of ``entries``: ``prefix`` before it (offsets relative to the archive's own
    start unless ``offsets_from_prefix``), ``between[i]`` bytes before entry ``i``, a
    ``comment`` and ``suffix`` bytes after the end record."""
    between = between or {}
    body = bytearray()
    central = bytearray()
    base = len(prefix) if offsets_from_prefix else 0
    for index, entry in enumerate(entries):
        body += between.get(index, b"")
        packed = entry.compressed()
        crc = zlib.crc32(entry.data)
        flags = entry.flags | (0x08 if entry.descriptor else 0)
        offset = len(body) + base
        local = (0, 0, 0) if entry.descriptor else (crc, len(packed), len(entry.data))
        body += struct.pack(
            "<4sHHHHHLLLHH",
            b"PK\x03\x04",
            entry.version_needed,
            flags,
            entry.method,
            0,
            0x21,
            *local,
            len(entry.name),
            len(entry.extra_local),
        )
        body += entry.name + entry.extra_local + packed
        if entry.descriptor:
            values = entry.descriptor_values or (crc, len(packed), len(entry.data))
            body += (b"PK\x07\x08" if entry.descriptor_signature else b"") + struct.pack(
                "<LLL", *values
            )
        cd = {
            "crc": crc,
            "compressed": len(packed),
            "size": len(entry.data),
            "offset": offset,
            "method": entry.method,
            "flags": flags,
            "version_needed": entry.version_needed,
        }
        cd.update(entry.cd_overrides)
        central += struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            0x0314,
            cd["version_needed"],
            cd["flags"],
            cd["method"],
            0,
            0x21,
            cd["crc"],
            cd["compressed"],
            cd["size"],
            len(entry.name),
            0,
            0,
            0,
            0,
            entry.mode << 16,
            cd["offset"],
        )
        central += entry.name
    end = struct.pack(
        "<4sHHHHLLH",
        b"PK\x05\x06",
        0,
        0,
        len(entries),
        len(entries),
        len(central),
        len(body) + base,
        len(comment),
    )
    return prefix + bytes(body) + bytes(central) + end + comment + suffix
