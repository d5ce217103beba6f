"""Hash chains over verdict events: the local audit log and each signer's exported chain.

Every verdict event in the database is appended to ``audit_log``, a hash chain, so rewriting
history (which the append-only triggers already forbid) would also break the chain::

    sync_chain(db)          # append any verdict rows not yet chained, oldest first
    verify_chain(db)        # [] when every link and every event hash still holds

A link is ``hash = sha256(prev_hash bytes + event_sha256 bytes)``, starting from
:data:`GENESIS`; ``event_sha256`` is the SHA-256 of the event's RFC 8785 canonical JSON
(:func:`event_sha256`). The same link rule builds each signer's chain of exported events,
whose heads travel in signed bundle checkpoints (see docs/bundle-format.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlite_utils

from .formats.canonical import INT_MAX, dumps_canonical, dumps_plain
from .store import transaction
from .verdicts import Citation, VerdictEvent

GENESIS = "0" * 64
"""The head of an empty chain."""


_FIELDS = tuple(VerdictEvent.__dataclass_fields__)
_CITATION_FIELDS = tuple(Citation.__dataclass_fields__)


def event_bytes(event: VerdictEvent) -> bytes:
    """The event as RFC 8785 canonical JSON bytes (every field).

    The JSON is ``event.to_json()``, built field by field: its values are plain, so the
    deep copy ``dataclasses.asdict`` makes would only cost time.
    """
    data = {name: getattr(event, name) for name in _FIELDS}
    data["citations"] = [
        {name: getattr(citation, name) for name in _CITATION_FIELDS} for citation in event.citations
    ]
    return canonical_event(data)


def canonical_event(data: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of an event's JSON (``event.to_json()``'s shape: strings, null,
    integers, citations as a list of objects of strings), as :func:`dumps_canonical` gives.

    That shape is checked flatly here and encoded by the stdlib's C encoder directly, not
    walked by ``dumps_canonical``'s general test; anything else goes through it.
    """
    if _plain_event(data):
        try:
            return dumps_plain(data)
        except UnicodeEncodeError:
            pass  # a lone surrogate: dumps_canonical says why
    return dumps_canonical(data)


def _plain_event(data: dict[str, Any]) -> bool:
    try:
        if not "".join(data).isascii():
            return False
    except TypeError:  # a key that is not a string
        return False
    for value in data.values():
        kind = type(value)
        if kind is str or value is None:
            continue
        if kind is int:
            if -INT_MAX <= value <= INT_MAX:
                continue
            return False
        if kind is not list or not all(
            type(item) is dict and _plain_strings(item) for item in value
        ):
            return False
    return True


def _plain_strings(data: dict[Any, Any]) -> bool:
    """True for an object of ASCII-named strings (a citation)."""
    try:
        return "".join(data).isascii() and all(type(v) is str for v in data.values())
    except TypeError:
        return False


def event_sha256(event: VerdictEvent) -> str:
    """SHA-256 (hex) of the event's canonical JSON."""
    return hashlib.sha256(event_bytes(event)).hexdigest()


def link(prev_hash: str, event_hash: str) -> str:
    """The next chain head after appending an event with hash ``event_hash``."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(event_hash)).hexdigest()


def chain_head(prev_hash: str, event_hashes: Iterable[str]) -> str:
    """The head reached from ``prev_hash`` by appending ``event_hashes`` in order."""
    return chain_head_of_digests(prev_hash, map(bytes.fromhex, event_hashes))


def chain_head_of_digests(prev_hash: str, event_digests: Iterable[bytes]) -> str:
    """:func:`chain_head` of the events' SHA-256 digests as bytes, not hex."""
    head = bytes.fromhex(prev_hash)
    for digest in event_digests:
        head = hashlib.sha256(head + digest).digest()
    return head.hex()


def head(db: sqlite_utils.Database) -> tuple[int, str]:
    """The audit log's length and head hash (``(0, GENESIS)`` when empty)."""
    row = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), row[1]) if row else (0, GENESIS)


def sync_chain(
    db: sqlite_utils.Database,
    known: Mapping[str, str] | None = None,
    through: tuple[str, str] | None = None,
) -> int:
    """Append every verdict event not yet in the audit log, in (created_at, id) order.

    ``known`` maps event ids to their :func:`event_sha256` when the caller has the
    canonical bytes already (an export or an import just hashed them): those events are not
    canonicalized again. ``through`` (created_at, id) stops at that event: the rest stay
    for a later call, which appends them after it in the same order (an export of several
    bundles chains each bundle's events with the bundle). Returns how many were appended.
    """
    known = known or {}
    sql = (
        "SELECT v.id FROM verdicts v WHERE NOT EXISTS"
        " (SELECT 1 FROM audit_log a WHERE a.event_id = v.id)"
    )
    params: list[str] = []
    if through is not None:
        sql += " AND (v.created_at, v.id) <= (?, ?)"
        params.extend(through)
    with transaction(db):
        seq, prev = head(db)
        ids = _unchained_among_known(db, known, through)
        if ids is None:
            ids = [row[0] for row in db.execute(sql + " ORDER BY v.created_at, v.id", params)]
        hashes = {**_stored_event_hashes(db, [i for i in ids if i not in known]), **known}
        entries = list(_entries(seq, prev, ids, hashes))
        db.conn.executemany(
            "INSERT INTO audit_log (seq, event_id, event_sha256, prev_hash, hash)"
            " VALUES (?,?,?,?,?)",
            entries,
        )
    return len(entries)


def _entries(
    seq: int, prev: str, ids: list[str], hashes: Mapping[str, str]
) -> Iterator[tuple[int, str, str, str, str]]:
    """The audit log rows appending ``ids`` after entry ``seq`` with head ``prev``: (seq,
    event id, event hash, previous head, head), each link as :func:`link` makes it."""
    before = bytes.fromhex(prev)
    for n, event_id in enumerate(ids, seq + 1):
        event_hash = hashes[event_id]
        after = hashlib.sha256(before + bytes.fromhex(event_hash)).digest()
        head = after.hex()
        yield n, event_id, event_hash, prev, head
        before, prev = after, head


def _unchained_among_known(
    db: sqlite_utils.Database, known: Mapping[str, str], through: tuple[str, str] | None
) -> list[str] | None:
    """The events :func:`sync_chain` appends, in chain order, found without reading every
    event: none when every event is chained, else, when every unchained event is among
    ``known`` (the events an import or export just handled), those, by an index lookup of
    each; None when that cannot be shown (then the caller looks at every event).

    The log only grows and events are never deleted, so the unchained events number
    ``COUNT(verdicts) - COUNT(audit_log)``; when as many of the ``known`` ids are stored
    and unchained, they are all of them.
    """
    stored, chained = db.execute(
        "SELECT (SELECT COUNT(*) FROM verdicts), (SELECT COUNT(*) FROM audit_log)"
    ).fetchone()
    if stored == chained:
        return []
    if stored - chained > len(known):
        return None  # more unchained events than known ones (an export of several bundles)
    if through is not None and len(known) * 4 > stored:
        # An export of a large share of every event: one scan of them costs a third of
        # looking each one up (issue 15).
        return None
    found = db.execute(
        "SELECT v.created_at, v.id FROM verdicts v"
        " WHERE v.id IN (SELECT value FROM json_each(?))"
        " AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = v.id)"
        # SQLite sorts (the GIL free between rows): a list.sort of 50k rows held it for
        # 30-40 ms in one call (issue 15). Binary order of UTF-8 is Python's str order.
        " ORDER BY created_at, id",
        [json.dumps(list(known))],
    ).fetchall()
    if len(found) != stored - chained:
        return None
    if through is not None:
        found = [row for row in found if (row[0], row[1]) <= through]
    return [row[1] for row in found]


def _stored_event_hashes(db: sqlite_utils.Database, ids: list[str]) -> dict[str, str]:
    """:func:`event_sha256` of stored events, by id (canonicalized from their rows)."""
    hashes: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM verdicts WHERE id IN ({marks})", chunk):
            hashes[row["id"]] = event_sha256(VerdictEvent.from_row(row))
    return hashes


def verify_chain(db: sqlite_utils.Database) -> list[str]:
    """Every problem with the audit log: broken links, changed or missing events.

    An empty list means the chain holds. Events not yet chained are not problems
    (:func:`sync_chain` appends them).
    """
    problems: list[str] = []
    prev, expected_seq = GENESIS, 1
    for row in db.query("SELECT * FROM audit_log ORDER BY seq"):
        where = f"audit log entry {row['seq']}"
        if row["seq"] != expected_seq:
            problems.append(f"{where}: expected entry {expected_seq} (entries missing)")
        if row["prev_hash"] != prev:
            problems.append(f"{where}: does not link to the entry before it")
        if link(row["prev_hash"], row["event_sha256"]) != row["hash"]:
            problems.append(f"{where}: its hash is wrong")
        found = list(db.query("SELECT * FROM verdicts WHERE id = ?", [row["event_id"]]))
        if not found:
            problems.append(f"{where}: event {row['event_id']} is missing")
        elif event_sha256(VerdictEvent.from_row(found[0])) != row["event_sha256"]:
            problems.append(f"{where}: event {row['event_id']} was changed")
        prev, expected_seq = row["hash"], row["seq"] + 1
    return problems
