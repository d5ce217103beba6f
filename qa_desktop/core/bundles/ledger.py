"""The ledger of bundles: what was exported and imported, by whom, with which sequence
number, and the signers' event chain points; replays and equivocations are refused here.

Tables: ``bundle_log`` (every bundle exported or imported), ``chain_points`` (a signer's
event chain head at a position), ``exported_events``, ``seen_bundles``, and
``pending_exports``/``abandoned_exports`` (an export is recorded before its file appears:
see :func:`recover_exports`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from .. import audit
from ..clock import utc_now_iso
from ..store import transaction
from ..vocab import RefusalReason
from .atomic_files import publish
from .rejection import BundleRejected

if TYPE_CHECKING:
    from .payloads.kind import VerifiedBundle
    from .payloads.verdicts import Checkpoint


MAX_SEQ_JUMP = 10_000
"""How far past a signer's highest known sequence number a bundle's may be (the first
bundle seen from a signer: at most this). QA Desktop numbers a key's bundles 1, 2, 3, ...;
a bigger jump is refused (``sequence-jump``) so no gap is ever too large to describe."""


def next_seq(db: sqlite_utils.Database, key_id: str) -> int:
    """The next unused sequence number of ``key_id``'s bundles."""
    row = db.execute("SELECT MAX(seq) FROM bundle_log WHERE key_id = ?", [key_id]).fetchone()
    return int(row[0] or 0) + 1


def seq_used_by(db: sqlite_utils.Database, key_id: str, seq: int) -> str | None:
    """The id of the bundle that used ``key_id``'s sequence number ``seq``, if any."""
    row = db.execute(
        "SELECT bundle_id FROM bundle_log WHERE key_id = ? AND seq = ?", [key_id, seq]
    ).fetchone()
    return row[0] if row else None


def latest_chain_point(db: sqlite_utils.Database, key_id: str) -> tuple[int, str]:
    """``(position, head)`` of ``key_id``'s latest chain point (the genesis if none)."""
    row = db.execute(
        "SELECT position, head FROM chain_points WHERE key_id = ? ORDER BY position DESC LIMIT 1",
        [key_id],
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, audit.GENESIS)


def log_bundle(
    db: sqlite_utils.Database,
    bundle_id: str,
    key_id: str,
    seq: int,
    kind: str,
    digest: str,
    event_count: int,
    direction: str,
) -> None:
    """Add one bundle to ``bundle_log`` (``direction`` ``export`` or ``import``)."""
    db.table("bundle_log").insert(
        {
            "bundle_id": bundle_id,
            "key_id": key_id,
            "seq": seq,
            "kind": kind,
            "digest": digest,
            "event_count": event_count,
            "direction": direction,
            "logged_at": utc_now_iso(),
        }
    )


def add_chain_points(db: sqlite_utils.Database, cp: Checkpoint, bundle_id: str) -> None:
    """Record the chain points a checkpoint vouches for (its start and its end)."""
    for position, head in ((cp.start, cp.prev_head), (cp.count, cp.head)):
        db.execute(
            "INSERT OR IGNORE INTO chain_points (key_id, position, head, bundle_id)"
            " VALUES (?,?,?,?)",
            [cp.key_id, position, head, bundle_id],
        )


def check_chain_points(db: sqlite_utils.Database, cp: Checkpoint) -> None:
    """Refuse (``history-rewritten``) a checkpoint contradicting the signer's earlier ones."""
    for position, head in ((cp.start, cp.prev_head), (cp.count, cp.head)):
        row = db.execute(
            "SELECT head FROM chain_points WHERE key_id = ? AND position = ?",
            [cp.key_id, position],
        ).fetchone()
        if row is not None and row[0] != head:
            raise BundleRejected(
                RefusalReason.HISTORY_REWRITTEN,
                f"key {cp.key_id}'s event chain at position {position} differs from an"
                " earlier bundle's",
            )


def exported_bundle_ids(db: sqlite_utils.Database, key_id: str) -> set[str]:
    """The ids of the bundles this database exported, signed by ``key_id``."""
    return {
        row[0]
        for row in db.execute(
            "SELECT bundle_id FROM bundle_log WHERE key_id = ? AND direction = 'export'",
            [key_id],
        )
    }


def remember_seen(db: sqlite_utils.Database, sha256: str, name: str, outcome: str) -> None:
    """Note a bundle file (by SHA-256) that a sync need not read again."""
    db.execute(
        "INSERT OR IGNORE INTO seen_bundles (sha256, name, outcome, seen_at) VALUES (?,?,?,?)",
        [sha256, name, outcome, utc_now_iso()],
    )


def check_bundle_log(db: sqlite_utils.Database, bundle: VerifiedBundle) -> bool:
    """True if this very bundle was logged before; refuses ``equivocation`` and ``replay``.

    The same bundle id with other signed content is equivocation; a signer's sequence
    number already used by another bundle id is a replay; one more than
    :data:`MAX_SEQ_JUMP` past the signer's highest known is a ``sequence-jump``.
    """
    logged = db.execute(
        "SELECT digest FROM bundle_log WHERE bundle_id = ?", [bundle.bundle_id]
    ).fetchone()
    if logged is not None:
        if logged[0] != bundle.digest:
            raise BundleRejected(
                RefusalReason.EQUIVOCATION,
                f"bundle {bundle.bundle_id} was seen with other content",
            )
        return True
    highest = next_seq(db, bundle.signer.key_id) - 1
    if bundle.seq > highest + MAX_SEQ_JUMP:
        raise BundleRejected(
            RefusalReason.SEQUENCE_JUMP,
            f"sequence number {bundle.seq} of key {bundle.signer.key_id} is more than"
            f" {MAX_SEQ_JUMP} past its highest known one ({highest})",
        )
    other = seq_used_by(db, bundle.signer.key_id, bundle.seq)
    if other is not None:
        raise BundleRejected(
            RefusalReason.REPLAY,
            f"sequence number {bundle.seq} of key {bundle.signer.key_id} was already"
            f" used by bundle {other}",
        )
    return False


def log_imported_bundle(db: sqlite_utils.Database, bundle: VerifiedBundle, count: int) -> None:
    """Record an imported bundle in ``bundle_log`` (no-op if it is there already)."""
    if db.execute("SELECT 1 FROM bundle_log WHERE bundle_id = ?", [bundle.bundle_id]).fetchone():
        return
    log_bundle(
        db,
        bundle.bundle_id,
        bundle.signer.key_id,
        bundle.seq,
        bundle.kind,
        bundle.digest,
        count,
        "import",
    )


# -- exports that survive a crash ------------------------------------------------------------


def begin_export(db: sqlite_utils.Database, bundle_id: str, tmp: Path, final: Path) -> None:
    """Note that ``bundle_id`` (logged in this transaction) is about to be renamed into place."""
    db.table("pending_exports").insert(
        {
            "bundle_id": bundle_id,
            "tmp_path": str(tmp),
            "final_path": str(final),
            "started_at": utc_now_iso(),
        }
    )


def finish_export(db: sqlite_utils.Database, bundle_id: str) -> None:
    """The bundle's file is in place: it is no longer pending."""
    with transaction(db):
        db.execute("DELETE FROM pending_exports WHERE bundle_id = ?", [bundle_id])


def recover_exports(db: sqlite_utils.Database) -> tuple[int, int]:
    """Settle the exports a crash left pending: ``(adopted, abandoned)``.

    A pending bundle whose temporary or final file is there is put in place and kept (it was
    complete and fsynced before it was recorded). One whose files are both gone is abandoned:
    its events become unexported again (the next export sends them in a new bundle) and its
    chain points go, but its sequence number stays used, so no other content ever takes it.
    A bundle whose folder cannot be reached (an unmounted share) stays pending for next time.
    """
    adopted = abandoned = 0
    for bundle_id, tmp_path, final_path in db.execute(
        "SELECT bundle_id, tmp_path, final_path FROM pending_exports ORDER BY started_at"
    ).fetchall():
        final = Path(final_path)
        if not final.parent.is_dir():
            continue
        in_place = publish(Path(tmp_path), final)
        with transaction(db):
            if not db.execute(
                "SELECT 1 FROM pending_exports WHERE bundle_id = ?", [bundle_id]
            ).fetchone():
                continue  # another process settled it
            db.execute("DELETE FROM pending_exports WHERE bundle_id = ?", [bundle_id])
            if in_place:
                adopted += 1
                continue
            db.execute("DELETE FROM exported_events WHERE bundle_id = ?", [bundle_id])
            db.execute("DELETE FROM chain_points WHERE bundle_id = ?", [bundle_id])
            db.execute(  # a quiz-attempts bundle's attempts go out again in a new one
                "UPDATE quiz_attempts SET exported = 0, bundle_id = NULL"
                " WHERE bundle_id = ? AND source = 'local'",
                [bundle_id],
            )
            db.execute(
                "INSERT OR IGNORE INTO abandoned_exports (bundle_id, abandoned_at) VALUES (?, ?)",
                [bundle_id, utc_now_iso()],
            )
            abandoned += 1
    return adopted, abandoned
