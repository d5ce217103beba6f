"""The ``verdicts`` payload: a reviewer's verdict events, their chain checkpoint, evidence.

``data/events.jsonl`` (one RFC 8785 canonical event a line), ``data/checkpoint.json`` (the
signer's event chain before and after these events) and ``data/evidence/<file>`` (optional,
stored uncompressed). Signed by ``reviewer`` or ``lead`` keys; merged as a set union of
events by id::

    result = export_bundle(db, identity, Path("outbox"))   # None if nothing new
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import sqlite_utils

from ... import audit, event_json, keys, store
from ...clock import iso_utc_ms, utc_now_iso
from ...errors import CancelCheck, check_cancelled
from ...event_json import with_citations
from ...formats import bagit, zip_safety
from ...formats.bagit import MANIFEST
from ...formats.canonical import (
    INT_MAX,
    DuplicateKeyError,
    StrictJSONError,
    dumps_canonical,
    dumps_plain,
    is_canonical_by_reference,
    loads_strict,
)
from ...formats.safe_paths import relative_path_problem
from ...store import transaction
from ...verdicts import Citation, VerdictEvent, check_details
from ...vocab import KeyRole, RefusalReason, Role
from .. import ledger
from ..atomic_files import publish, remove_stale_temporaries
from ..export import signed_tags, write_bag_file
from ..layout import FORMAT_VERSION
from ..rejection import BundleRejected
from .kind import MergePlan, PayloadKind, SignedBag, VerifiedBundle

KIND_VERDICTS = "verdicts"
KIND_CALIBRATION = "calibration"
"""Async calibration votes (format version 2): written by the same export, read and merged
by :mod:`.calibration`."""
EVENTS = "data/events.jsonl"
VOTES = "data/votes.jsonl"
"""A ``calibration`` bundle's votes: verdict events of role ``participant`` with a session."""
CHECKPOINT = "data/checkpoint.json"
EVIDENCE_DIR = "data/evidence/"
"""Evidence files of a verdict bundle: ``data/evidence/<plain file name>``, stored uncompressed."""
CHAIN_FORMAT = "qa-desktop-signer-chain"

_CHECKPOINT_FIELDS = frozenset(
    ("format", "version", "key_id", "reviewer_id", "start", "prev_head", "count", "head", "created")
)
_EVENT_FIELDS = frozenset(VerdictEvent.__dataclass_fields__)
_CITATION_FIELDS = frozenset(Citation.__dataclass_fields__)
_STR_FIELDS = (
    "id",
    "case_id",
    "reviewer_id",
    "notes",
    "created_at",
    "role",
    "rca_note",
    "gap_note",
)
_OPTIONAL_STR_FIELDS = ("label", "supersedes", "session_id", "restores", "rca_reason", "gap_kind")
_ROLES = frozenset(role.value for role in Role)
_COLUMNS = tuple(VerdictEvent.__dataclass_fields__)
_CITATION_COLUMNS = tuple(Citation.__dataclass_fields__)
_CITATIONS_AT = _COLUMNS.index("citations")
_SELECT_EVENT = f"SELECT {', '.join('v.' + c for c in _COLUMNS)} FROM verdicts v"
_HEX64 = re.compile(r"[0-9a-f]{64}")
CREATED_AT = re.compile(r"(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z")
"""An event's ``created_at`` as QA Desktop writes it (``clock.utc_now_iso``): RFC 3339, UTC,
milliseconds, a time of day that exists. One form, so times compare as text the way they
compare as times."""
MAX_CLOCK_AHEAD = timedelta(minutes=10)
"""How far an event's ``created_at`` may be after the importer's clock. Later is refused
(``future-timestamp``): a clock set in the future cannot make a verdict the newest for long."""


@dataclass(frozen=True)
class Checkpoint:
    """A signer's chain of exported events: head before and after this bundle's events."""

    key_id: str
    reviewer_id: str
    start: int
    prev_head: str
    count: int
    head: str
    created: str

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as ``data/checkpoint.json`` holds it."""
        return {
            "format": CHAIN_FORMAT,
            "version": 1,
            "key_id": self.key_id,
            "reviewer_id": self.reviewer_id,
            "start": self.start,
            "prev_head": self.prev_head,
            "count": self.count,
            "head": self.head,
            "created": self.created,
        }


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_bundle` wrote: one bundle, or several when the events do not fit
    in one (``path``, ``bundle_id`` and ``seq`` are the last one's)."""

    path: Path
    bundle_id: str
    seq: int
    event_count: int
    """Events exported, in all the bundles."""
    paths: tuple[Path, ...] = ()
    """Every bundle written, in sequence order."""
    undeliverable: tuple[str, ...] = ()
    """Ids of events too large for any bundle (left unexported; see ``MAX_EVENTS_BYTES``)."""


MAX_EVENTS_PER_BUNDLE = 50_000
"""Most events one bundle carries; an export with more writes several bundles."""
MAX_EVENTS_BYTES = 64 * zip_safety.MiB
"""Largest ``data/events.jsonl`` one bundle carries (well under every ``BUNDLE_LIMITS``
limit, evidence included); an export with more writes several bundles."""


@dataclass(frozen=True)
class _Planned:
    ids: list[str]
    case_ids: set[str]
    lines: list[bytes]
    seq: int
    start: int
    prev_head: str
    skipped: list[str]
    cursor: tuple[str, str]
    taken: int
    """How many of the pending events this plan went through (taken or skipped)."""


class _Overtaken(Exception):
    """Another process exported the same events (or took the sequence number) first."""


# -- writing --------------------------------------------------------------------------------


def verdict_payload(
    lines: list[bytes], checkpoint: Checkpoint, events_file: str = EVENTS
) -> dict[str, bytes]:
    """The ``data/`` files of a verdict (or calibration) bundle: events (one JSON line
    each) and checkpoint."""
    return {
        events_file: b"\n".join([*lines, b""]) if lines else b"",  # a newline after each
        CHECKPOINT: dumps_canonical(checkpoint.to_json()) + b"\n",
    }


def export_bundle(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    out_dir: Path,
    since: str | None = None,
    evidence: list[Path] | None = None,
    cancelled: CancelCheck | None = None,
    *,
    max_events: int = MAX_EVENTS_PER_BUNDLE,
    max_bytes: int = MAX_EVENTS_BYTES,
    format_version: int = FORMAT_VERSION,
) -> ExportResult | None:
    """Write the reviewer's events not yet exported as ``out_dir/<bundle_id>.zip``.

    ``since`` (an ISO timestamp) leaves out events created before it. ``evidence`` files
    go into the (first) bundle as ``data/evidence/<file name>`` (listed and hashed like every
    payload file, stored uncompressed, streamed: never all in memory); their names must be
    plain and unique, else ValueError. Returns None when there is nothing to export.

    Events that do not fit in one bundle (``max_events``, ``max_bytes``) go into several,
    each within every limit an importer checks; an event too large for any bundle stays
    unexported (``undeliverable``). Each bundle is written to a temporary file (fsynced),
    then recorded in the database as pending (committed), then renamed into place, then
    marked done: a crash at any point leaves either nothing recorded (the temporary file is
    cleaned later) or a pending bundle that :func:`ledger.recover_exports` adopts or
    abandons, so a sequence number is never used for two bundles. Nothing is recorded for
    a bundle whose archive an importer would refuse. ``cancelled()`` is polled while writing
    and before each bundle is recorded: :class:`Cancelled` then; bundles already written stay.

    Calibration votes (role ``participant`` with a session) go into ``calibration`` bundles
    (``data/votes.jsonl``, format version 2) after the verdict bundles, on the same chain;
    ``format_version=1`` writes what a version-1 writer wrote (votes as plain events).
    """
    attached = _evidence_members(evidence)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    ledger.recover_exports(db)
    upto = int(db.execute("SELECT COALESCE(MAX(rowid), 0) FROM verdicts").fetchone()[0])
    written: list[tuple[Path, str, int]] = []
    undeliverable: list[str] = []
    exported = 0
    overtaken = 0
    kinds = (None,) if format_version < 2 else (KIND_VERDICTS, KIND_CALIBRATION)
    # One look for the events of every kind at first, not one a bundle (nor one a kind).
    looked = _unexported_rowids(db, identity.reviewer_id, since, upto, ("", ""), kinds)
    for kind in kinds:
        cursor = ("", "")
        pending: list[int] | None = None
        while True:
            if pending is None:
                pending = looked.pop(kind, None)
            if pending is None:  # overtaken by another export: look again, after the cursor
                pending = _unexported_rowids(
                    db, identity.reviewer_id, since, upto, cursor, (kind,)
                )[kind]
            budget = max_bytes
            if attached and not written:
                budget = min(
                    budget,
                    zip_safety.BUNDLE_LIMITS.max_archive_bytes - sum(m[2] for m in attached),
                )
            plan = _plan(db, identity, pending, cursor, max_events, max(budget, 1))
            if plan is None:
                break
            undeliverable.extend(plan.skipped)
            if not plan.ids:
                cursor = plan.cursor
                del pending[: plan.taken]
                continue
            try:
                done = _write_one(
                    db,
                    identity,
                    out_dir,
                    plan,
                    attached if not written else [],
                    cancelled,
                    kind or KIND_VERDICTS,
                    format_version,
                )
            except _Overtaken:
                overtaken += 1
                if overtaken > 20:
                    raise RuntimeError("another export kept taking the same events") from None
                pending = None  # look again
                continue
            written.append(done)
            exported += len(plan.ids)
            cursor = plan.cursor
            del pending[: plan.taken]
    if not written:
        return None
    path, bundle_id, seq = written[-1]
    return ExportResult(
        path, bundle_id, seq, exported, tuple(w[0] for w in written), tuple(undeliverable)
    )


def _plan(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    pending: list[int],
    cursor: tuple[str, str],
    max_events: int,
    max_bytes: int,
) -> _Planned | None:
    """The next bundle's events (the first of ``pending``, the rowids of the events still to
    export, in order; ``cursor`` is the last one exported), sequence number and chain start."""
    if not pending:
        return None
    candidates = _event_lines(db, pending[:max_events])
    every_line = [
        _row_bytes(db.execute(f"{_SELECT_EVENT} WHERE v.rowid = ?", [rowid]).fetchone())
        if text is None
        else text.encode("utf-8")
        if citations == "[]"
        else with_citations(text.encode("utf-8"), citations)
        for rowid, _, _, _, citations, text in candidates
    ]
    start, prev_head = ledger.latest_chain_point(db, identity.key_id)
    seq = ledger.next_seq(db, identity.key_id)
    if sum(map(len, every_line)) + len(every_line) <= max_bytes:  # all fit (the usual case)
        return _Planned(
            [row[1] for row in candidates],
            {row[2] for row in candidates},
            every_line,
            seq,
            start,
            prev_head,
            [],
            (candidates[-1][3], candidates[-1][1]),
            len(candidates),
        )
    ids: list[str] = []
    case_ids: set[str] = set()
    lines: list[bytes] = []
    skipped: list[str] = []
    size = 0
    last = cursor
    taken = 0
    for (_, event_id, case_id, created_at, _, _), line in zip(candidates, every_line, strict=True):
        if len(line) + 1 > max_bytes:
            if not ids:
                skipped.append(event_id)
                last = (created_at, event_id)
                taken += 1
                continue
            break
        if size + len(line) + 1 > max_bytes:
            break
        ids.append(event_id)
        case_ids.add(case_id)
        lines.append(line)
        size += len(line) + 1
        last = (created_at, event_id)
        taken += 1
    return _Planned(ids, case_ids, lines, seq, start, prev_head, skipped, last, taken)


def _write_one(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    out_dir: Path,
    plan: _Planned,
    attached: list[tuple[str, Path, int]],
    cancelled: CancelCheck | None,
    kind: str = KIND_VERDICTS,
    format_version: int = FORMAT_VERSION,
) -> tuple[Path, str, int]:
    """Write, record (pending), rename into place and mark done one bundle."""
    bundle_id = str(uuid.uuid4())
    digests = [hashlib.sha256(line).digest() for line in plan.lines]
    hashes = [digest.hex() for digest in digests]
    checkpoint = Checkpoint(
        key_id=identity.key_id,
        reviewer_id=identity.reviewer_id,
        start=plan.start,
        prev_head=plan.prev_head,
        count=plan.start + len(plan.lines),
        head=audit.chain_head_of_digests(plan.prev_head, digests),
        created=utc_now_iso(),
    )
    info = {"Event-Count": str(len(plan.lines)), "Batch-Ids": _batch_ids(db, plan.case_ids)}

    def tags(hashes: dict[str, str], sizes: dict[str, int]) -> tuple[dict[str, bytes], str]:
        return signed_tags(
            identity,
            kind=kind,
            bundle_id=bundle_id,
            seq=plan.seq,
            hashes=hashes,
            sizes=sizes,
            info=info,
            created=checkpoint.created,
            format_version=format_version,
        )

    name = f"{bundle_id}.zip"
    final = out_dir / name
    events_file = VOTES if kind == KIND_CALIBRATION else EVENTS
    payload = verdict_payload(plan.lines, checkpoint, events_file)
    tmp, digest = write_bag_file(out_dir, name, bundle_id, payload, attached, tags, cancelled)
    try:
        check_cancelled(cancelled, "export cancelled; nothing was written of this bundle")
        with transaction(db):
            ids = plan.ids
            if (
                ledger.next_seq(db, identity.key_id) != plan.seq
                or ledger.latest_chain_point(db, identity.key_id) != (plan.start, plan.prev_head)
                or _any_exported(db, ids)
            ):
                raise _Overtaken
            ledger.log_bundle(
                db,
                bundle_id,
                identity.key_id,
                plan.seq,
                kind,
                digest,
                len(plan.lines),
                "export",
            )
            db.execute(
                "INSERT INTO exported_events (event_id, bundle_id)"
                " SELECT value, ? FROM json_each(?)",
                [bundle_id, json.dumps(ids)],
            )
            ledger.add_chain_points(db, checkpoint, bundle_id)
            ledger.begin_export(db, bundle_id, tmp, final)
            audit.sync_chain(db, dict(zip(ids, hashes, strict=True)), through=plan.cursor)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # Recorded: from here on a crash leaves a pending export that recover_exports settles.
    publish(tmp, final)
    ledger.finish_export(db, bundle_id)
    return final, bundle_id, plan.seq


def _any_exported(db: sqlite_utils.Database, ids: list[str]) -> bool:
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        if db.execute(
            f"SELECT 1 FROM exported_events WHERE event_id IN ({marks}) LIMIT 1", chunk
        ).fetchone():
            return True
    return False


def _evidence_members(evidence: list[Path] | None) -> list[tuple[str, Path, int]]:
    """``(member name, path, size)`` of each evidence file; ValueError for bad names/files."""
    limits = zip_safety.BUNDLE_LIMITS
    members: list[tuple[str, Path, int]] = []
    folded: set[str] = set()
    for item in evidence or []:
        path = Path(item)
        name = path.name
        if relative_path_problem(name, strict=True) or len(name) > 255:
            raise ValueError(f"evidence file name {name!r} is not a plain, portable file name")
        if name.casefold() in folded:
            raise ValueError(f"two evidence files are named {name!r} (names must be unique)")
        folded.add(name.casefold())
        if path.is_symlink() or not path.is_file():
            raise ValueError(f"evidence {path} is not a regular file")
        size = path.stat().st_size
        if size > limits.max_member_bytes:
            raise ValueError(f"evidence {name!r} is larger than {limits.max_member_bytes} bytes")
        members.append((EVIDENCE_DIR + name, path, size))
    if sum(m[2] for m in members) > limits.max_archive_bytes - zip_safety.MiB:
        raise ValueError(
            f"the evidence does not fit in one bundle ({limits.max_archive_bytes} bytes)"
        )
    return members


def _unexported_rowids(
    db: sqlite_utils.Database,
    reviewer_id: str,
    since: str | None,
    upto: int,
    cursor: tuple[str, str],
    kinds: tuple[str | None, ...],
) -> dict[str | None, list[int]]:
    """The rowids of the reviewer's unexported events after ``cursor`` (created_at, id), in
    that order, among those that existed when the export started (rowid <= ``upto``), for
    each of ``kinds`` (in one scan): verdicts, calibration votes, or both (None, a version-1
    export). A local session's votes and rulings (``local_sessions``: the demo's) are never
    exported."""
    sql = (
        "SELECT v.rowid, v.role = 'participant' AND v.session_id IS NOT NULL"
        " FROM verdicts v WHERE v.reviewer_id = ? AND v.rowid <= ?"
        " AND (v.created_at, v.id) > (?, ?) AND NOT EXISTS"
        " (SELECT 1 FROM exported_events x WHERE x.event_id = v.id)"
        " AND (v.session_id IS NULL"
        " OR v.session_id NOT IN (SELECT session_id FROM local_sessions))"
    )
    params: list[Any] = [reviewer_id, upto, *cursor]
    if since:
        sql += " AND v.created_at >= ?"
        params.append(since)
    sql += " ORDER BY v.created_at, v.id"
    found: dict[str | None, list[int]] = {kind: [] for kind in kinds}
    both = None in found
    for rowid, vote in db.execute(sql, params):
        kind = None if both else KIND_CALIBRATION if vote else KIND_VERDICTS
        if kind in found:
            found[kind].append(rowid)
    return found


def _event_lines(db: sqlite_utils.Database, rowids: list[int]) -> list[tuple[Any, ...]]:
    """``(rowid, id, case_id, created_at, citations column, line)`` of these events, in
    this order: ``line`` their canonical JSON built by SQLite (:mod:`...event_json`; None
    when a value is not plain). Verdict rows never change, so they are the rows a look
    for their rowids found."""
    sql = (
        "SELECT v.rowid, v.id, v.case_id, v.created_at, v.citations, {} FROM verdicts v"
        " WHERE v.rowid IN (SELECT value FROM json_each(?))"
    )
    params = [json.dumps(rowids)]
    try:
        found = {row[0]: row for row in db.execute(sql.format(event_json.line_sql(db)), params)}
    except sqlite3.Error:  # a blob in a text column: the Python path says what is wrong
        found = {row[0]: row for row in db.execute(sql.format("NULL"), params)}
    return [found[rowid] for rowid in rowids]


def _row_bytes(values: tuple[Any, ...]) -> bytes:
    """``audit.event_bytes(VerdictEvent.from_row(row))`` for a row of :data:`_SELECT_EVENT`'s
    columns, in order, without building the event."""
    data = dict(zip(_COLUMNS, values, strict=True))
    cited = data["citations"]
    data["citations"] = (
        [
            {f: getattr(citation, f) for f in _CITATION_COLUMNS}
            for citation in (Citation(**c) for c in json.loads(cited))
        ]
        if cited and cited != "[]"
        else []
    )
    return audit.canonical_event(data)


def _batch_ids(db: sqlite_utils.Database, cases: set[str]) -> str:
    """The batches of ``cases``, sorted, space-separated (bag-info.txt's ``Batch-Ids``)."""
    # Not sorted: one sort of 50k ids held the GIL for 23-40 ms at a time (issue 15).
    found = db.execute(
        "SELECT DISTINCT batch_id FROM cases WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(cases))],
    )
    return " ".join(sorted(row[0] for row in found))


# -- verifying ------------------------------------------------------------------------------


def read_verdicts(bag: SignedBag) -> VerifiedBundle:
    """Check a verdict bag's payload: only events, a checkpoint and evidence, each valid."""
    files, info, signer = bag.files, bag.info, bag.signer
    listed = bagit.parse_manifest(files[MANIFEST], MANIFEST)  # checked with the bag
    evidence = {
        n.removeprefix(EVIDENCE_DIR): listed[n]
        for n in files
        if n.startswith(EVIDENCE_DIR) and "/" not in n.removeprefix(EVIDENCE_DIR)
    }
    extra = sorted(
        n
        for n in files
        if n.startswith("data/")
        and n not in (EVENTS, CHECKPOINT)
        and n.removeprefix(EVIDENCE_DIR) not in evidence
    )
    if extra:
        raise BundleRejected(
            RefusalReason.SCHEMA,
            f"a verdict bundle holds only events, a checkpoint and evidence files: {extra}",
        )
    for name in (EVENTS, CHECKPOINT):
        if name not in files:
            raise BundleRejected(RefusalReason.MISSING_FILE, f"the bundle has no {name}")
    events, lines = _parse_events(files[EVENTS], info, signer)
    hashes = tuple(hashlib.sha256(line).hexdigest() for line in lines)
    checkpoint = _parse_checkpoint(files[CHECKPOINT], signer, lines, hashes)
    return bag.verified(
        events=events,
        event_lines=lines,
        event_hashes=hashes,
        checkpoint=checkpoint,
        evidence=evidence,
    )


def _proposed_values(lines: list[bytes]) -> list[Any]:
    """For each line, the value it seems to hold: the lines parsed as one JSON array when
    they can be (one call into the C parser), else each alone (None where it fails).

    That only proposes each line's value: :func:`_parse_event` takes it only when the
    line is exactly the RFC 8785 form of it (then strict parsing reads the same: canonical
    bytes are UTF-8 and hold no duplicate key and no NaN), else parses the line strictly,
    which says why it is refused.
    """
    try:
        values = json.loads(b"[" + b",".join(lines) + b"]", parse_constant=_not_json)
    except (ValueError, RecursionError):
        values = None
    if not isinstance(values, list) or len(values) != len(lines):
        values = [_parsed_or_none(line) for line in lines]
    return values


def _parsed_or_none(line: bytes) -> Any:
    try:
        return json.loads(line, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return None


def _is_canonical(data: dict[str, Any], line: bytes) -> bool:
    """True when ``line`` is the RFC 8785 form of ``data``, an event that passed
    :func:`_event_problem` (so it is plain JSON but for a too large ``time_on_case_ms``):
    :func:`..formats.canonical.is_canonical`'s fast path on the value already parsed, and
    its full check where that cannot decide."""
    if data["time_on_case_ms"] <= INT_MAX:
        try:
            return dumps_plain(data) == line
        except UnicodeEncodeError:
            pass  # a lone surrogate: the full check says no
    return is_canonical_by_reference(line)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_event(
    line: bytes,
    number: int,
    data: dict[str, Any] | None,
    name: str = EVENTS,
    latest: str | None = None,
) -> VerdictEvent:
    """The event on line ``number`` of ``name`` (``data``: the value proposed for it, see
    :func:`_proposed_values`); ``latest``: the latest ``created_at`` taken (by default
    :func:`_latest_created_at`)."""
    problem = None
    if type(data) is dict and data.keys() == _EVENT_FIELDS:
        problem = _event_problem(data)
        if problem is not None or not _is_canonical(data, line):
            data = None
    else:
        data = None
    if data is None:
        data = _strictly_parsed_event(line, f"{name} line {number}")
        problem = _event_problem(data)
    if problem:
        raise BundleRejected(RefusalReason.SCHEMA, f"{name} line {number}: {problem}")
    if not _takes_created_at(data["created_at"], latest or _latest_created_at()):
        _refuse_created_at(data["created_at"], f"{name} line {number}")
    if data["role"] not in _ROLES:
        raise BundleRejected(
            RefusalReason.UNKNOWN_ROLE,
            f"{name} line {number}: role {data['role']!r} is not one of {', '.join(Role)}",
        )
    cited = data["citations"]
    data = {**data, "citations": tuple(Citation(**c) for c in cited) if cited else ()}
    return VerdictEvent.from_checked(data)


def _latest_created_at() -> str:
    """The latest ``created_at`` an import takes: this machine's clock + MAX_CLOCK_AHEAD,
    in the events' own form (so it compares as text)."""
    return iso_utc_ms(datetime.now(UTC) + MAX_CLOCK_AHEAD)


def _takes_created_at(value: str, latest: str) -> bool:
    """True for a time QA Desktop writes (a day that exists) no later than ``latest``."""
    shape = CREATED_AT.fullmatch(value)
    return shape is not None and _is_day(shape[1]) and value <= latest


@functools.lru_cache(maxsize=1024)
def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _strictly_parsed_event(line: bytes, where: str) -> dict[str, Any]:
    """A line that is not a canonical event, parsed strictly: the refusal that says why
    (a line that passes here was canonical after all)."""
    try:
        data = loads_strict(line)
    except DuplicateKeyError as exc:
        raise BundleRejected(RefusalReason.DUPLICATE_KEY, f"{where}: {exc}") from None
    except StrictJSONError as exc:
        raise BundleRejected(RefusalReason.SCHEMA, f"{where}: {exc}") from None
    if not isinstance(data, dict) or set(data) != _EVENT_FIELDS:
        raise BundleRejected(
            RefusalReason.SCHEMA, f"{where}: not a verdict event with exactly its fields"
        )
    try:
        if dumps_canonical(data) != line:
            raise BundleRejected(RefusalReason.SCHEMA, f"{where}: not RFC 8785 canonical JSON")
    except StrictJSONError as exc:
        raise BundleRejected(RefusalReason.SCHEMA, f"{where}: {exc}") from None
    assert isinstance(data, dict)
    return data


def _refuse_created_at(value: str, where: str) -> NoReturn:
    """The refusal of a ``created_at`` :func:`_takes_created_at` did not take: one QA
    Desktop never writes, or one after the latest it takes."""
    shape = CREATED_AT.fullmatch(value)
    if shape is None or not _is_day(shape[1]):
        raise BundleRejected(
            RefusalReason.BAD_TIMESTAMP,
            f"{where}: created_at {value[:40]!r} is not a UTC time like 2026-01-31T09:30:00.000Z",
        )
    raise BundleRejected(
        RefusalReason.FUTURE_TIMESTAMP,
        f"{where}: created_at {value} is more than {MAX_CLOCK_AHEAD.seconds // 60} minutes"
        " after this computer's clock",
    )


def _event_problem(data: dict[str, Any]) -> str | None:
    for name in _STR_FIELDS:
        if not isinstance(data[name], str):
            return f"{name} must be a string"
    for name in _OPTIONAL_STR_FIELDS:
        if data[name] is not None and not isinstance(data[name], str):
            return f"{name} must be a string or null"
    if not data["id"] or not data["case_id"] or not data["reviewer_id"]:
        return "id, case_id and reviewer_id must not be empty"
    ms = data["time_on_case_ms"]
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        return "time_on_case_ms must be a whole number >= 0"
    citations = data["citations"]
    if not isinstance(citations, list) or not all(
        isinstance(c, dict)
        and set(c) == _CITATION_FIELDS
        and all(isinstance(v, str) for v in c.values())
        for c in citations
    ):
        return "citations must be a list of {pack_id, pack_version, section_id, quote}"
    try:
        check_details(
            data["confidence"],
            data["rca_reason"],
            data["rca_note"],
            data["gap_kind"],
            data["gap_note"],
        )
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _parse_events(
    data: bytes, info: dict[str, str], signer: keys.TrustedKey, name: str = EVENTS
) -> tuple[tuple[VerdictEvent, ...], tuple[bytes, ...]]:
    if data and not data.endswith(b"\n"):
        raise BundleRejected(RefusalReason.SCHEMA, f"{name} must end with a newline")
    lines = data.split(b"\n")[:-1] if data else []
    if not lines:
        raise BundleRejected(RefusalReason.EMPTY, "the bundle holds no events")
    parsed = _proposed_values(lines)
    latest = _latest_created_at()
    events = tuple(
        _parse_event(line, i, data, name, latest)
        for i, (line, data) in enumerate(zip(lines, parsed, strict=True), 1)
    )
    if len({e.id for e in events}) != len(events):
        raise BundleRejected(RefusalReason.SCHEMA, f"{name} lists an event twice")
    if int(info["Event-Count"]) != len(events):
        raise BundleRejected(RefusalReason.SCHEMA, "Event-Count does not match the events")
    for event in events:
        if event.role == Role.ARBITER and signer.role != KeyRole.LEAD:
            # A ruling decides a case over every SME: only a lead's key may sign one.
            raise BundleRejected(
                RefusalReason.ROLE_NOT_ALLOWED,
                f"event {event.id} is an arbiter's ruling, but key {signer.key_id} is a"
                f" {signer.role}'s (only a lead's key signs rulings)",
            )
        if signer.reviewer_id is None or event.reviewer_id != signer.reviewer_id:
            raise BundleRejected(
                RefusalReason.IMPERSONATION,
                f"event {event.id} is in reviewer {event.reviewer_id}'s name, but the key"
                f" {signer.key_id} belongs to {signer.reviewer_id or 'no reviewer'}",
            )
    return events, tuple(lines)


def _parse_checkpoint(
    data: bytes,
    signer: keys.TrustedKey,
    lines: tuple[bytes, ...],
    hashes: tuple[str, ...] | None = None,
) -> Checkpoint:
    """The checkpoint, checked against the signer and the lines (``hashes``: their
    SHA-256, if the caller has them)."""
    try:
        raw = loads_strict(data)
    except DuplicateKeyError as exc:
        raise BundleRejected(RefusalReason.DUPLICATE_KEY, f"{CHECKPOINT}: {exc}") from None
    except StrictJSONError as exc:
        raise BundleRejected(RefusalReason.SCHEMA, f"{CHECKPOINT}: {exc}") from None
    if (
        not isinstance(raw, dict)
        or set(raw) != _CHECKPOINT_FIELDS
        or raw["format"] != CHAIN_FORMAT
        or raw["version"] != 1
        or not all(isinstance(raw[k], str) for k in ("key_id", "reviewer_id", "created"))
        or not all(
            isinstance(raw[k], int) and not isinstance(raw[k], bool) and raw[k] >= 0
            for k in ("start", "count")
        )
        or not all(
            isinstance(raw[k], str) and _HEX64.fullmatch(raw[k]) for k in ("prev_head", "head")
        )
    ):
        raise BundleRejected(RefusalReason.SCHEMA, f"{CHECKPOINT} is not a version 1 checkpoint")
    cp = Checkpoint(**{k: raw[k] for k in Checkpoint.__dataclass_fields__})
    if hashes is None:
        hashes = tuple(hashlib.sha256(line).hexdigest() for line in lines)
    if (
        cp.key_id != signer.key_id
        or cp.reviewer_id != signer.reviewer_id
        or cp.count != cp.start + len(lines)
        or (cp.start == 0 and cp.prev_head != audit.GENESIS)
        or audit.chain_head(cp.prev_head, hashes) != cp.head
    ):
        raise BundleRejected(
            RefusalReason.SCHEMA, f"{CHECKPOINT} does not match the signer and the events"
        )
    return cp


# -- merging --------------------------------------------------------------------------------


def plan_verdicts_merge(
    db: sqlite_utils.Database, bundle: VerifiedBundle, logged: bool
) -> MergePlan:
    """The events not yet in the database; refuses a rewritten chain (``history-rewritten``),
    an event id with other content (``event-conflict``), events on unknown cases, an event
    that supersedes or restores another reviewer's (``supersedes-other``), labels not in
    the case's pack (``unknown-label``) and citations of sections in no pack
    (``unknown-section``).

    The database is read in batches (stored events and cases by the hundred, each pack's
    label and section once); the checks run event by event, in bundle order, as ever."""
    _check_not_local_reviewer(db, bundle.signer)
    if bundle.checkpoint is not None:
        ledger.check_chain_points(db, bundle.checkpoint)
    in_bundle = {e.id: e for e in bundle.events}
    stored = _rows_by_id(db, "SELECT * FROM verdicts WHERE id IN ({})", list(in_bundle))
    case_packs = {
        row["id"]: (row["pack_id"], row["pack_version"])
        for row in _rows_by_id(
            db,
            "SELECT c.id, b.pack_id, b.pack_version FROM cases c"
            " LEFT JOIN batches b ON b.id = c.batch_id WHERE c.id IN ({})",
            sorted({e.case_id for e in bundle.events if e.id not in stored}),
        ).values()
    }
    vocabulary = _Vocabulary(db)
    new: list[VerdictEvent] = []
    known = 0
    votes: list[tuple[VerdictEvent, bytes]] = []
    for event, line in zip(bundle.events, bundle.event_lines, strict=True):
        if event.role == Role.PARTICIPANT and event.session_id:
            votes.append((event, line))  # a calibration vote: the session's rules
            continue
        row = stored.get(event.id)
        if row is not None:
            if audit.event_bytes(VerdictEvent.from_row(row)) != line:
                raise BundleRejected(
                    RefusalReason.EVENT_CONFLICT, f"event {event.id} differs from the stored one"
                )
            known += 1
            continue
        if event.case_id not in case_packs:
            raise BundleRejected(
                RefusalReason.UNKNOWN_CASE,
                f"event {event.id} is on case {event.case_id},"
                " which is not in this database (import its batch first)",
            )
        _check_references(db, event, in_bundle)
        vocabulary.check(event, case_packs[event.case_id])
        new.append(event)
    if not votes:
        return MergePlan(logged, tuple(new), known)
    # A version-1 writer put calibration votes among the events: they join their session
    # under the same rules as a calibration bundle's (never as plain events).
    from .calibration import plan_votes

    placed = plan_votes(db, bundle, [v for v, _ in votes], [line for _, line in votes], logged)
    return MergePlan(
        logged,
        (*new, *placed.new_events),
        known + placed.already_known,
        placed.kept_aside,
        placed.refused,
        placed.unseen,
    )


def _rows_by_id(db: sqlite_utils.Database, sql: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Rows of ``sql`` (whose ``IN ({})`` takes the ids) by their ``id`` column, in one
    query (the ids travel as one JSON array: an index lookup each, one statement)."""
    if not ids:
        return {}
    return {
        row["id"]: row
        for row in db.query(sql.format("SELECT value FROM json_each(?)"), [json.dumps(ids)])
    }


def _check_not_local_reviewer(db: sqlite_utils.Database, signer: keys.TrustedKey) -> None:
    """Refuse (``impersonation``) another key signing in the local reviewer's name: only the
    local key signs for the local reviewer (a binding made before that rule was enforced
    must not turn someone's events into ours, nor let our next export re-sign them)."""
    local = db.execute("SELECT value FROM meta WHERE key = 'local_reviewer'").fetchone()
    if (
        local is not None
        and signer.reviewer_id == local[0]
        and signer.key_id != keys.local_key_id(db)
    ):
        raise BundleRejected(
            RefusalReason.IMPERSONATION,
            f"key {signer.key_id} signs as reviewer {local[0]}, who is you; only your own key"
            " does. Remove that key and trust it again bound to its own reviewer id",
        )


def _check_references(
    db: sqlite_utils.Database, event: VerdictEvent, in_bundle: dict[str, VerdictEvent]
) -> None:
    """Refuse an event that supersedes or restores another reviewer's event, or one on
    another case. (An event it names that is not here yet cannot be checked; the
    ``effective_verdicts`` view ignores it if it turns out to be someone else's.)"""
    for field, target_id in (("supersedes", event.supersedes), ("restores", event.restores)):
        if target_id is None:
            continue
        target = in_bundle.get(target_id)
        if target is not None:
            owner, case_id = target.reviewer_id, target.case_id
        else:
            row = db.execute(
                "SELECT reviewer_id, case_id FROM verdicts WHERE id = ?", [target_id]
            ).fetchone()
            if row is None:
                continue
            owner, case_id = row
        if owner != event.reviewer_id or case_id != event.case_id:
            raise BundleRejected(
                RefusalReason.SUPERSEDES_OTHER,
                f"event {event.id} {field} event {target_id}, which is "
                + (
                    f"reviewer {owner}'s, not {event.reviewer_id}'s"
                    if owner != event.reviewer_id
                    else f"on case {case_id}, not {event.case_id}"
                ),
            )


class _Vocabulary:
    """Refuses a label not in the case's guideline pack and a citation of a section that is
    in no imported pack: values no honest QA Desktop writes. Each pack's label and each
    section is looked up once per merge."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._labels: dict[tuple[Any, Any, str], bool] = {}
        self._sections: dict[tuple[str, str, str], bool] = {}

    def check(self, event: VerdictEvent, pack: tuple[Any, Any]) -> None:
        """Refuse ``event`` (on a case of ``pack``: id, version) if its label or a citation
        is unknown."""
        if event.label is not None:
            key = (*pack, event.label)
            if key not in self._labels:
                self._labels[key] = (
                    self._db.execute(
                        "SELECT 1 FROM guideline_labels"
                        " WHERE pack_id = ? AND pack_version = ? AND id = ?",
                        list(key),
                    ).fetchone()
                    is not None
                )
            if not self._labels[key]:
                raise BundleRejected(
                    RefusalReason.UNKNOWN_LABEL,
                    f"event {event.id}: label {event.label!r} is not in the guideline pack of"
                    f" case {event.case_id} (or that pack is not imported here)",
                )
        for citation in event.citations:
            cited = (citation.pack_id, citation.pack_version, citation.section_id)
            if cited not in self._sections:
                self._sections[cited] = (
                    self._db.execute(
                        "SELECT 1 FROM guideline_sections"
                        " WHERE pack_id = ? AND pack_version = ? AND id = ?",
                        list(cited),
                    ).fetchone()
                    is not None
                )
            if not self._sections[cited]:
                raise BundleRejected(
                    RefusalReason.UNKNOWN_SECTION,
                    f"event {event.id} cites section {citation.section_id!r} of"
                    f" {citation.pack_id} {citation.pack_version}, which is in no pack here",
                )


def apply_verdicts_merge(
    db: sqlite_utils.Database, bundle: VerifiedBundle, plan: MergePlan
) -> None:
    """Insert the new events (and keep aside votes for sessions not here), log the bundle
    and its chain points, extend the audit chain."""
    inserted = insert_merged_events(db, plan.new_events)
    if plan.kept_aside:
        from ... import calibration  # not at import: calibration reads the queue

        for vote, line in plan.kept_aside:
            calibration.keep_aside(db, vote, line, bundle.bundle_id)
    log_merged_bundle(db, bundle, inserted)


def log_merged_bundle(
    db: sqlite_utils.Database, bundle: VerifiedBundle, inserted: list[str]
) -> None:
    """After a merge inserted ``inserted`` (event ids): log the bundle and its chain points
    and extend the audit chain with the events' own bytes (hashed once, never
    re-canonicalized)."""
    ledger.log_bundle(
        db,
        bundle.bundle_id,
        bundle.signer.key_id,
        bundle.seq,
        bundle.kind,
        bundle.digest,
        len(bundle.events),
        "import",
    )
    if bundle.checkpoint is not None:
        ledger.add_chain_points(db, bundle.checkpoint, bundle.bundle_id)
    new = set(inserted)
    hashes = bundle.event_hashes or tuple(
        hashlib.sha256(line).hexdigest() for line in bundle.event_lines
    )
    audit.sync_chain(
        db,
        {
            event.id: event_hash
            for event, event_hash in zip(bundle.events, hashes, strict=True)
            if event.id in new
        },
    )


_ROW_VALUES = operator.attrgetter(*_COLUMNS)
_INSERT = f"INSERT INTO verdicts ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def insert_merged_events(db: sqlite_utils.Database, events: tuple[VerdictEvent, ...]) -> list[str]:
    """Insert verified, checked events (one ``executemany``, in the caller's transaction);
    their ids, in bundle order. Each row is what ``VerdictEvent.to_row`` gives."""
    rows = []
    cited: dict[tuple[Citation, ...], str] = {(): "[]"}  # reviewers cite the same sections
    for event in events:
        row = list(_ROW_VALUES(event))
        citations = event.citations
        text = cited.get(citations)
        if text is None:
            text = cited[citations] = json.dumps(
                [{f: getattr(c, f) for f in _CITATION_COLUMNS} for c in citations],
                ensure_ascii=False,
            )
        row[_CITATIONS_AT] = text
        rows.append(row)
    touched = {event.case_id for event in events}
    superseded = [event.supersedes for event in events if event.supersedes]
    if superseded:
        touched.update(
            r[0]
            for r in db.execute(
                "SELECT case_id FROM verdicts WHERE id IN (SELECT value FROM json_each(?))",
                [json.dumps(superseded)],
            )
        )
    store.insert_verdicts_in_bulk(db, _INSERT, rows, touched)
    return [event.id for event in events]


VERDICTS = PayloadKind(
    name=KIND_VERDICTS,
    signer_roles=(KeyRole.REVIEWER, KeyRole.LEAD),
    write=export_bundle,
    read=read_verdicts,
    plan_merge=plan_verdicts_merge,
    apply_merge=apply_verdicts_merge,
)
"""Verdict events: written by :func:`export_bundle`, merged as a set union by event id."""
