"""What a payload kind is: the hooks a kind gives, what verification hands it, what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from ... import keys
from ...verdicts import VerdictEvent


@dataclass(frozen=True)
class SignedBag:
    """A bag whose archive, signature, hashes and bag-info.txt passed every generic check:
    what a payload kind's ``read`` checks further."""

    bundle_id: str
    kind: str
    signer: keys.TrustedKey
    seq: int
    created: str
    digest: str
    """SHA-256 of the signed tag manifest: the bundle's identity across re-zipping."""
    info: dict[str, str]
    files: dict[str, bytes]
    """Every file of the bag by bag-relative name (tag files and ``data/...``)."""

    def verified(self, **payload: Any) -> VerifiedBundle:
        """The :class:`VerifiedBundle` of this bag with the kind's ``payload`` fields."""
        return VerifiedBundle(
            bundle_id=self.bundle_id,
            kind=self.kind,
            signer=self.signer,
            seq=self.seq,
            created=self.created,
            digest=self.digest,
            info=self.info,
            **payload,
        )


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every check that does not depend on what the database holds."""

    bundle_id: str
    kind: str
    signer: keys.TrustedKey
    seq: int
    created: str
    digest: str
    """SHA-256 of the signed tag manifest: the bundle's identity across re-zipping."""
    info: dict[str, str]
    events: tuple[VerdictEvent, ...] = ()
    event_lines: tuple[bytes, ...] = ()
    event_hashes: tuple[str, ...] = ()
    """SHA-256 (hex) of each line of ``event_lines``, when the reader computed them."""
    checkpoint: Any = None
    """The verdict payload's :class:`~.verdicts.Checkpoint` (None for other kinds)."""
    payload: dict[str, bytes] = field(default_factory=dict)
    """Payload files by name under ``data/`` (case batches)."""
    evidence: dict[str, str] = field(default_factory=dict)
    """Evidence files of a verdict bundle: plain file name -> SHA-256 (checked)."""


@dataclass(frozen=True)
class MergePlan:
    """What importing a verified bundle would add."""

    already_imported: bool
    new_events: tuple[VerdictEvent, ...]
    already_known: int
    kept_aside: tuple[tuple[VerdictEvent, bytes], ...] = ()
    """Calibration votes (and their exact lines) for a session not here yet: kept aside,
    attached when the session arrives."""
    refused: tuple[tuple[str, str, str], ...] = ()
    """Calibration votes refused one by one: (event id, reason code, message); not written."""
    unseen: int = 0
    """Other participants' votes reaching a participant's own app: not stored (blind)."""


@dataclass(frozen=True)
class PayloadKind:
    """How one kind of bundle payload is written, verified and merged.

    ``name`` is the ``Bundle-Kind`` in bag-info.txt and the signature's trusted comment.
    """

    name: str
    signer_roles: tuple[str, ...]
    """Trust-store roles whose keys may sign this kind."""
    write: Callable[..., Any]
    """The kind's writer (its own arguments; it signs through ``bundles.export``)."""
    read: Callable[[SignedBag], VerifiedBundle]
    """Check the ``data/`` payload of a signed bag; raise ``BundleRejected`` if it fails."""
    check_info: Callable[[dict[str, str]], None] = lambda info: None
    """Kind-specific bag-info.txt rules, checked after the generic ones."""
    plan_merge: Callable[[sqlite_utils.Database, VerifiedBundle, bool], MergePlan] | None = None
    """What merging would add (given whether the bundle was logged before); refuses
    conflicts. None: the kind is not merged by ``import_bundle`` (see the kind's module)."""
    apply_merge: Callable[[sqlite_utils.Database, VerifiedBundle, MergePlan], None] | None = None
    """Write a plan inside the caller's transaction (log the bundle, add its content)."""
    since_version: int = 1
    """The first bundle format version with this kind (older bundles of it are refused)."""
