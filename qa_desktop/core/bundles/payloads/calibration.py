"""The ``calibration`` payload (bundle format version 2): a participant's async session votes.

``data/votes.jsonl`` holds verdict events of role ``participant`` with their ``session_id``
(one RFC 8785 canonical event a line, exactly as in ``events.jsonl``) and
``data/checkpoint.json`` the signer's chain, which runs on from their verdict bundles: the
same ``bundle export`` writes both kinds (:func:`.verdicts.export_bundle`). Signed by
``reviewer`` or ``lead`` keys.

Merging attaches each vote to its session once, whatever the order, repeats or lateness:

- a vote already here (same bytes) is known; the same id with other bytes refuses the
  bundle (``event-conflict``);
- a vote for a session not here yet is kept aside (``calibration_pending_votes``) and
  attached when the session arrives (:func:`..calibration.attach_pending`);
- another participant's vote reaching a participant's own app is not stored at all (votes
  are blind there; the arbiter has the signed original);
- a vote the session refuses (case not in it, voter not a participant, case already ruled,
  label outside the pack) is not written and is named in the import report; the others are
  attached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlite_utils

from ... import audit
from ...verdicts import VerdictEvent
from ...vocab import KeyRole, RefusalReason, Role
from .. import ledger
from ..rejection import BundleRejected
from .kind import MergePlan, PayloadKind, SignedBag, VerifiedBundle

if TYPE_CHECKING:
    from ...calibration import Session

from .verdicts import (
    CHECKPOINT,
    KIND_CALIBRATION,
    VOTES,
    _check_not_local_reviewer,
    _check_references,
    _parse_checkpoint,
    _parse_events,
    export_bundle,
    insert_merged_events,
    log_merged_bundle,
)


def read_calibration(bag: SignedBag) -> VerifiedBundle:
    """Check a calibration bag's payload: only votes and a checkpoint, each valid."""
    files = bag.files
    extra = sorted(n for n in files if n.startswith("data/") and n not in (VOTES, CHECKPOINT))
    if extra:
        raise BundleRejected(
            RefusalReason.SCHEMA, f"a calibration bundle holds only votes and a checkpoint: {extra}"
        )
    for name in (VOTES, CHECKPOINT):
        if name not in files:
            raise BundleRejected(RefusalReason.MISSING_FILE, f"the bundle has no {name}")
    events, lines = _parse_events(files[VOTES], bag.info, bag.signer, VOTES)
    for number, event in enumerate(events, 1):
        if event.role != Role.PARTICIPANT or not event.session_id or event.label is None:
            raise BundleRejected(
                RefusalReason.SCHEMA,
                f"{VOTES} line {number}: a vote has role participant, a session and a label",
            )
    checkpoint = _parse_checkpoint(files[CHECKPOINT], bag.signer, lines)
    return bag.verified(events=events, event_lines=lines, checkpoint=checkpoint)


def plan_calibration_merge(
    db: sqlite_utils.Database, bundle: VerifiedBundle, logged: bool
) -> MergePlan:
    """Which votes are new, kept aside, unseen, known or refused (see the module); refuses
    the bundle for a rewritten chain, an event conflict or a vote replacing someone else's."""
    _check_not_local_reviewer(db, bundle.signer)
    if bundle.checkpoint is not None:
        ledger.check_chain_points(db, bundle.checkpoint)
    return plan_votes(db, bundle, bundle.events, bundle.event_lines, logged)


def plan_votes(
    db: sqlite_utils.Database,
    bundle: VerifiedBundle,
    votes: Sequence[VerdictEvent],
    lines: Sequence[bytes],
    logged: bool,
) -> MergePlan:
    """Place each signed vote (:func:`..calibration.place_vote`); known ones are counted."""
    from ... import calibration  # not at import: calibration reads the queue, which needs us

    in_bundle = {e.id: e for e in bundle.events}
    new: list[VerdictEvent] = []
    aside: list[tuple[VerdictEvent, bytes]] = []
    refused: list[tuple[str, str, str]] = []
    known = unseen = 0
    sessions: dict[str, Session | None] = {}
    for vote, line in zip(votes, lines, strict=True):
        rows = list(db.query("SELECT * FROM verdicts WHERE id = ?", [vote.id]))
        stored = audit.event_bytes(VerdictEvent.from_row(rows[0])) if rows else None
        stored = stored if stored is not None else calibration.pending_line(db, vote.id)
        if stored is not None:
            if stored != line:
                raise BundleRejected(
                    RefusalReason.EVENT_CONFLICT, f"vote {vote.id} differs from the stored one"
                )
            known += 1
            continue
        _check_references(db, vote, in_bundle)
        place, problem = calibration.place_vote(db, vote, sessions)
        if place == "aside":
            aside.append((vote, line))
        elif place == "unseen":
            unseen += 1
        elif problem is not None:
            refused.append((vote.id, *problem))
        else:
            new.append(vote)
    return MergePlan(logged, tuple(new), known, tuple(aside), tuple(refused), unseen)


def apply_calibration_merge(
    db: sqlite_utils.Database, bundle: VerifiedBundle, plan: MergePlan
) -> None:
    """Attach the new votes, keep the others aside, log the bundle and its chain points."""
    from ... import calibration

    inserted = insert_merged_events(db, plan.new_events)
    for vote, line in plan.kept_aside:
        calibration.keep_aside(db, vote, line, bundle.bundle_id)
    log_merged_bundle(db, bundle, inserted)


CALIBRATION = PayloadKind(
    name=KIND_CALIBRATION,
    signer_roles=(KeyRole.REVIEWER, KeyRole.LEAD),
    write=export_bundle,
    read=read_calibration,
    plan_merge=plan_calibration_merge,
    apply_merge=apply_calibration_merge,
    since_version=2,
)
"""Async calibration votes: written by :func:`.verdicts.export_bundle` after the verdicts."""
