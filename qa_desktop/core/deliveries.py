"""Who has sent what: per signing key, the bundles received and the ones still missing.

Every export takes the signer's next sequence number (1, 2, 3 …), so a number below the
highest one seen that never arrived is a bundle that did not reach this database: a lead
sees it and asks that reviewer to sync again, instead of merging an incomplete set without
knowing. Numbers come from ``bundle_log``; names and roles from the trust store::

    for d in signer_deliveries(db):
        print(d.signer_name, d.bundles, d.last_seq, format_ranges(d.missing))

Gaps are kept as ranges (first, last), never as lists of numbers: a signer's number may be
far beyond the last one seen (import caps each jump, ``ledger.MAX_SEQ_JUMP``), and a
description of what is missing costs one pair per gap, whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from . import keys
from .signer_names import display_text


@dataclass(frozen=True)
class SignerDeliveries:
    """The bundles of one signing key this database has seen."""

    key_id: str
    signer_name: str
    role: str
    revoked: bool
    own: bool
    """This database's own key: its bundles were sent from here, not received."""
    bundles: int
    items: int
    """Events in those bundles (cases, for an issuer's case batches)."""
    last_seq: int
    """The highest sequence number seen (0: none yet)."""
    missing: tuple[tuple[int, int], ...]
    """Sequence numbers below ``last_seq`` that never arrived, as ``(first, last)`` ranges."""
    last_at: str | None
    """When the newest of them was logged here."""


def signer_deliveries(db: sqlite_utils.Database) -> list[SignerDeliveries]:
    """Every trusted key and every key seen in ``bundle_log``; signers with gaps first."""
    trusted = {k.key_id: k for k in keys.list_keys(db)}
    own = keys.local_key_id(db)
    logged: dict[str, list[tuple[int, int, str]]] = {}
    for key_id, seq, count, at in db.execute(
        "SELECT key_id, seq, event_count, logged_at FROM bundle_log ORDER BY key_id, seq"
    ):
        logged.setdefault(key_id, []).append((seq, count, at))
    result = []
    for key_id in sorted(set(trusted) | set(logged)):
        rows = logged.get(key_id, [])
        seqs = [seq for seq, _, _ in rows]  # ascending, one per bundle
        last = seqs[-1] if seqs else 0
        key = trusted.get(key_id)
        result.append(
            SignerDeliveries(
                key_id=key_id,
                signer_name=key.signer_name if key else "(no longer trusted)",
                role=key.role if key else "",
                revoked=bool(key and key.revoked),
                own=key_id == own,
                bundles=len(rows),
                items=sum(count for _, count, _ in rows),
                last_seq=last,
                missing=gaps(seqs),
                last_at=max((at for _, _, at in rows), default=None),
            )
        )
    result.sort(key=lambda d: (not d.missing, d.own, d.signer_name.casefold(), d.key_id))
    return result


def gaps(seqs: list[int]) -> tuple[tuple[int, int], ...]:
    """The ``(first, last)`` ranges of numbers from 1 up to ``max(seqs)`` not in ``seqs``
    (ascending, distinct): one pair per gap, computed without listing the numbers."""
    found: list[tuple[int, int]] = []
    previous = 0
    for seq in seqs:
        if seq > previous + 1:
            found.append((previous + 1, seq - 1))
        previous = seq
    return tuple(found)


def missing_count(ranges: tuple[tuple[int, int], ...]) -> int:
    """How many numbers ``ranges`` cover."""
    return sum(last - first + 1 for first, last in ranges)


def format_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    """``((1, 3), (5, 5))`` as ``"1–3, 5"``; empty for none."""
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)


def format_numbers(numbers: tuple[int, ...]) -> str:
    """``(1, 2, 3, 5, 7, 8)`` as ``"1–3, 5, 7–8"``; empty for none."""
    ranges: list[list[int]] = []
    for n in numbers:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)


def missing_summary(rows: list[SignerDeliveries]) -> str:
    """One line per signer with bundles that never arrived; empty when none are missing."""
    return "\n".join(
        f"Missing from {display_text(d.signer_name)} ({d.key_id}):"
        f" bundle(s) {format_ranges(d.missing)}"
        " — ask them to sync again."
        for d in rows
        if d.missing
    )
