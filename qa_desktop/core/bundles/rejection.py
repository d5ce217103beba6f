"""A refused bundle: its reason code, advice for people, and the quarantine copy."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from ..errors import Refused
from ..paths import private_dir
from ..vocab import RefusalReason
from .atomic_files import write_atomically


class BundleRejected(Refused):
    """A bundle refused, with a reason code (``reason``, a :class:`RefusalReason`) and a
    message for people; ``str()`` gives ``"<reason>: <message>"``. ``key_id`` names the
    signing key when the refusal is about it (``unknown-signer``), else it is empty."""

    def __init__(self, reason: RefusalReason | str, message: str, key_id: str = "") -> None:
        super().__init__(RefusalReason(reason), message)
        self.key_id = key_id

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


_DAMAGED = (
    "The file was changed after it was signed, or damaged on the way. Ask the sender"
    " for a new copy; do not repair it by hand."
)
_NOT_OURS = "This is not a QA Desktop bundle. Check that you picked the right file."
_WHAT_TO_DO = {
    "unknown-signer": "Nobody you trust signed it. If you know the signer, add their public key"
    " ({trust_key}) and import it again.",
    "revoked-signer": "The signer's key was revoked here. Ask them to sign it again with their"
    " current key.",
    "role-not-allowed": "The signer's key is trusted, but not for this kind of bundle (only an"
    " issuer signs case batches; reviewers and leads sign verdicts). Change"
    " the key's role only if that is really their job.",
    "wrong-kind": "A case batch and a verdict bundle are imported in different places:"
    " {import_batch} for case batches, {import_bundles} for verdicts.",
    "expired": "Ask the issuer for a freshly signed copy of the batch.",
    "replay": "The signer used this sequence number for another bundle already. Ask them to"
    " export again: a new export takes a new number.",
    "equivocation": "Two different bundles carry the same id. Keep both files and tell the"
    " signer and your lead: one of them was not made by QA Desktop.",
    "history-rewritten": "The signer's earlier history differs from what they sent before (a"
    " restored backup or an edited database). Tell your lead.",
    "impersonation": "The bundle holds verdicts in someone else's name. Tell your lead.",
    "supersedes-other": "The bundle tries to replace or restore someone else's verdict; only"
    " its author can. Tell your lead.",
    "future-timestamp": "The signer's clock is ahead of yours. Ask them to set their clock"
    " right (or check yours), then to sync again.",
    "bad-timestamp": "The bundle holds a time QA Desktop never writes. Tell your lead.",
    "unknown-role": "The bundle holds a verdict role QA Desktop does not know. Tell your lead.",
    "unknown-label": "The verdicts use a label that is not in the case's guideline pack. Import"
    " the pack the signer used, or tell your lead.",
    "unknown-section": "The verdicts cite a guideline section in no pack you have. Import the"
    " packs the signer used, or tell your lead.",
    "sequence-jump": "The bundle's sequence number is far beyond the signer's last one. Tell"
    " your lead: QA Desktop numbers bundles one by one.",
    "unknown-case": "Import the case batch these verdicts are about first, then this bundle.",
    "event-conflict": "An event id was reused with other content. Tell the signer and your lead.",
    "zip-bomb": "The file is larger than a bundle may be (or expands too much). Ask the sender"
    " to split it.",
    "unreadable": "The file could not be read. Check that it is fully copied, then try again.",
}


PLACES = {
    "trust_key": "to the keys you trust",
    "import_batch": "import it as a case batch",
    "import_bundles": "import them as bundles",
}
"""Where advice sends people, in words that name no front end. The GUI and the CLI pass
their own (a menu, a command) to :func:`what_to_do`."""


def what_to_do(reason: str, places: dict[str, str] | None = None) -> str:
    """Advice for a person about a bundle refused with ``reason`` (a reason code).

    ``places`` names where the front end does each thing (keys of :data:`PLACES`)::

        what_to_do("unknown-signer", {**PLACES, "trust_key": "`qa-desktop keys trust`"})
    """
    if reason in ("not-a-zip", "not-a-bag", "empty"):
        return _NOT_OURS
    return _WHAT_TO_DO.get(reason, _DAMAGED).format_map({**PLACES, **(places or {})})


def quarantine(folder: Path, name: str, data: bytes, reason: BundleRejected) -> Path:
    """Copy a refused bundle into ``folder`` with a ``<name>.reason.txt`` beside it.

    The folder is private (0700) and the files are readable by the user alone (0600).
    """
    private_dir(folder)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-100:] or "bundle"
    target = f"{hashlib.sha256(data).hexdigest()[:12]}-{safe}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"{reason.reason}\n{reason.message}\nrefused at {stamp}\n{what_to_do(reason.reason)}\n"
    write_atomically(folder, f"{target}.reason.txt", text.encode(), mode=0o600)
    return write_atomically(folder, target, data, mode=0o600)
