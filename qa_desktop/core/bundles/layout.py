"""What every bundle holds, whatever its payload: the format version, the tag files and the
bag-info.txt fields (``docs/bundle-format.md``)."""

from __future__ import annotations

from ..formats.bagit import BAG_INFO, BAGIT_TXT, MANIFEST, TAGMANIFEST

FORMAT_VERSION = 2
"""The bundle format version this package writes, and the highest it reads
(``Format-Version``). Version 2 added the ``calibration`` kind (async session votes)."""
OLDEST_FORMAT_VERSION = 1
"""The oldest bundle format version this package still reads."""

SIGNATURE = "tagmanifest-sha256.txt.minisig"
"""The minisign signature of the tag manifest (which lists every other tag file's hash)."""
REQUIRED_TAG_FILES = (BAGIT_TXT, BAG_INFO, MANIFEST, TAGMANIFEST, SIGNATURE)
REQUIRED_INFO = (
    "Producer",
    "Key-Id",
    "App-Version",
    "Created",
    "Event-Count",
    "Batch-Ids",
    "Sequence-Number",
    "Bundle-Id",
    "Bundle-Kind",
    "Format-Version",
    "Signer-Public-Key",
    "Payload-Oxum",
)
"""bag-info.txt fields every bundle must have (each exactly once)."""
