"""Signed bundles: zipped BagIt bags signed in minisign's format; export, verify, import.

The format is specified in ``docs/bundle-format.md``. In short::

    result = export_bundle(db, identity, Path("outbox"))        # None if nothing new
    verified = verify_bundle(db, Path(result.path).read_bytes())  # BundleRejected if not
    report = import_bundle(db, result.path.read_bytes(), quarantine_dir=data_dir / "quarantine")

Verification happens entirely in memory, before anything is written: archive safety (names,
links, sizes, compression ratio), the signature against the trust store, every hash, the
bag layout, then the payload. Every refusal is a :class:`BundleRejected` with a reason code.
An import merges the events as a set union by event id in one transaction.

The package, one concept a module:

- :mod:`.payloads`: the payload kinds (verdicts, case batches), each with how it is
  written, verified and merged;
- :mod:`.export`: signing and zipping a bag; :mod:`.verify`: checking one;
- :mod:`.merge`: importing (check against the database, merge); :mod:`.ledger`: the log of
  bundles, sequence numbers and chain points;
- :mod:`.layout`: the format version, tag files and bag-info.txt fields every bundle has;
- :mod:`.rejection`: :class:`BundleRejected`, advice, quarantine;
  :mod:`.atomic_files`: files that appear whole or not at all.

The file formats underneath are in :mod:`qa_desktop.core.formats` (BagIt, minisign,
canonical JSON, zip safety with :data:`~qa_desktop.core.formats.zip_safety.BUNDLE_LIMITS`).
"""

from __future__ import annotations

from ..formats.bagit import BAG_INFO, BAGIT_DECLARATION, BAGIT_TXT, MANIFEST, TAGMANIFEST
from .atomic_files import write_atomically
from .export import BuiltBag, build_bag
from .layout import FORMAT_VERSION, REQUIRED_INFO, REQUIRED_TAG_FILES, SIGNATURE
from .ledger import check_bundle_log, exported_bundle_ids, log_imported_bundle, remember_seen
from .merge import ImportReport, check_merge, import_bundle, import_bundle_file, import_bundles
from .payloads import KINDS, MergePlan, PayloadKind, VerifiedBundle, payload_kind
from .payloads.case_batches import (
    DEFAULT_BATCH_VALIDITY,
    EXPIRES,
    KIND_CASE_BATCH,
    sign_case_batch,
    sign_case_batch_files,
)
from .payloads.verdicts import (
    CHAIN_FORMAT,
    CHECKPOINT,
    EVENTS,
    EVIDENCE_DIR,
    KIND_VERDICTS,
    Checkpoint,
    ExportResult,
    export_bundle,
    verdict_payload,
)
from .rejection import BundleRejected, quarantine, what_to_do
from .verify import read_bundle_file, verify_bundle, verify_case_batch

KIND_ROLES = {name: kind.signer_roles for name, kind in KINDS.items()}
"""Which trust-store roles may sign which kind of bundle."""

__all__ = [
    "BAGIT_DECLARATION",
    "BAGIT_TXT",
    "BAG_INFO",
    "CHAIN_FORMAT",
    "CHECKPOINT",
    "DEFAULT_BATCH_VALIDITY",
    "EVENTS",
    "EVIDENCE_DIR",
    "EXPIRES",
    "FORMAT_VERSION",
    "KINDS",
    "KIND_CASE_BATCH",
    "KIND_ROLES",
    "KIND_VERDICTS",
    "MANIFEST",
    "REQUIRED_INFO",
    "REQUIRED_TAG_FILES",
    "SIGNATURE",
    "TAGMANIFEST",
    "BuiltBag",
    "BundleRejected",
    "Checkpoint",
    "ExportResult",
    "ImportReport",
    "MergePlan",
    "PayloadKind",
    "VerifiedBundle",
    "build_bag",
    "check_bundle_log",
    "check_merge",
    "export_bundle",
    "exported_bundle_ids",
    "import_bundle",
    "import_bundle_file",
    "import_bundles",
    "log_imported_bundle",
    "payload_kind",
    "quarantine",
    "read_bundle_file",
    "remember_seen",
    "sign_case_batch",
    "sign_case_batch_files",
    "verdict_payload",
    "verify_bundle",
    "verify_case_batch",
    "what_to_do",
    "write_atomically",
]
