"""Ingest: every new bundle of the bucket, verified once, its events loaded once.

Keys are taken in batches (1, 2, 4, ... up to :data:`MAX_BATCH` keys) and go through two
stages that overlap, one batch apart:

1. *claim and verify* (the calling thread): session advisory locks on the batch's keys on a
   claim connection (a key another worker holds is that worker's), one look in
   ``hub_bundles`` (done keys are never redone), the bytes read ahead by a pool of threads
   and verified in memory with the app's verifier and a snapshot of the trust store taken
   when the run starts;
2. *load* (one loader thread, its own connection), in one PostgreSQL transaction a batch:
   the accepted bundles' new events in one ``COPY``, every bookkeeping row of the batch in
   one statement each, and a ``.reason`` object beside each refused bundle.

While batch *n* loads, batch *n + 1* is verified (PostgreSQL does the COPY in its own
process and psycopg leaves the GIL while it waits). A batch's keys stay locked until its
load commits, so no other worker takes them in between. A crash before a commit leaves
nothing of that batch; after it, none of its keys is taken again. Nothing is loaded before
its bundle verified: the loader only ever sees verified bundles.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from .. import bundles
from ..errors import Cancelled, QADesktopError
from ..store import open_database
from ..sync_targets import S3Bucket, S3Location
from ..verdicts import VerdictEvent, citations_json
from ..vocab import RefusalReason
from ..workspace import DB_FILENAME
from . import schema

MAX_BATCH = 128
MAX_BATCH_EVENTS = 50_000
"""A batch ends early once its bundles hold this many events (one big bundle is a batch)."""
"""Most keys one transaction takes (the first batches are smaller: 1, 2, 4, ..., so that a
small bucket shows progress and a failure early on costs little; big bundles end a batch
sooner, see :data:`MAX_BATCH_EVENTS`)."""
FETCH_THREADS = 8
"""Objects read at once (reading is waiting on the store; verifying and loading are not)."""
KNOWN_SQL = (
    "SELECT t.k FROM unnest(%s::text[]) AS t(k)"
    " CROSS JOIN LATERAL (SELECT 1 FROM hub_bundles b WHERE b.key = t.k OFFSET 0) AS found"
)
"""The keys of a batch ``hub_bundles`` has. Each key is probed in the primary key (the
``OFFSET 0`` keeps the planner from joining with a scan of the whole table, whose cost
grows with every bundle loaded; ``tests/test_hub_plans.py`` checks the plan)."""
HELD_SEQ_SQL = (
    "SELECT b.signer_key_id, b.seq, b.bundle_id, b.key"
    " FROM unnest(%s::text[], %s::bigint[]) AS t(signer, seq)"
    " CROSS JOIN LATERAL (SELECT * FROM hub_bundles b WHERE b.signer_key_id = t.signer"
    " AND b.seq = t.seq AND b.state = 'loaded' OFFSET 0) AS b"
)
"""The loaded bundles holding a batch's (signer, sequence number) pairs: probes of
``hub_bundles_signer_seq``, as :data:`KNOWN_SQL` probes the primary key."""
_EVENT_COLUMNS = "id, case_id, reviewer_id, role, label, created_at, row, bundle_key"
_BUNDLE_COLUMNS = "key, signer_key_id, bundle_id, seq, sha256, state, reason, message, events"


class HubDatabaseError(QADesktopError):
    """The hub's database cannot be reached or failed; nothing is half-loaded, rerun."""


@dataclass
class IngestReport:
    """What one ingest run did."""

    loaded: list[str] = field(default_factory=list)
    """Keys whose events this run loaded."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(key, reason) of bundles this run refused (a ``.reason`` object beside each)."""
    already: int = 0
    """Keys done before (by an earlier run or another worker)."""
    busy: int = 0
    """Keys another worker held while this one passed."""
    events: int = 0
    """Events inserted by this run."""


def connect(database_url: str) -> Any:
    """A psycopg connection to the hub's database (:class:`HubDatabaseError` if none)."""
    import psycopg

    try:
        return psycopg.connect(database_url, autocommit=True)
    except psycopg.Error as exc:
        raise HubDatabaseError(f"cannot connect to the hub database: {exc}") from exc


def ingest(
    trust_dir: Path,
    bucket_url: str,
    database_url: str,
    *,
    endpoint_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    bucket: S3Bucket | None = None,
) -> IngestReport:
    """Load every bundle of ``bucket_url`` not loaded yet into ``database_url``.

    ``trust_dir`` is a QA Desktop data directory whose trust store decides whom to believe
    (read once, when the run starts). ``progress(done, total)`` counts the keys of the
    batches committed. Restartable at any point and safe to run in several processes at once.
    """
    import psycopg

    if not (trust_dir / DB_FILENAME).is_file():
        # an empty trust store would refuse every bundle: say so instead
        raise QADesktopError(
            f"{trust_dir} is not a QA Desktop data directory (no {DB_FILENAME}); give the"
            " one whose trust store the hub should use"
        )
    store = bucket or S3Bucket(S3Location.parse(bucket_url, endpoint_url=endpoint_url))
    store.check()
    trust = trust_snapshot(trust_dir)
    report = IngestReport()
    try:
        conn = connect(database_url)
        try:
            schema.create(conn)
            claims = connect(database_url)
            try:
                _ingest(conn, claims, trust, store, report, progress, cancelled)
            finally:
                claims.close()  # its session locks go with it
        finally:
            conn.close()
    except psycopg.Error as exc:
        raise HubDatabaseError(
            f"the hub database failed mid-ingest ({type(exc).__name__}: {exc}); nothing was"
            " half-loaded, run ingest again to resume"
        ) from exc
    finally:
        trust.close()
    return report


def trust_snapshot(trust_dir: Path) -> sqlite_utils.Database:
    """The trust store of ``trust_dir`` copied into memory: what one run believes.

    The verifier looks a bundle's key up twice; in memory that costs microseconds, not a
    read of the workspace file (which another process may be writing) per bundle.
    """
    source = open_database(trust_dir / DB_FILENAME)
    try:
        (table,) = source.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'trusted_keys'"
        ).fetchone()
        rows = list(source.query("SELECT * FROM trusted_keys"))
    finally:
        source.close()
    memory = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
    memory.execute(table)
    if rows:
        memory.table("trusted_keys").insert_all(rows)
    return memory


def rebuild(
    trust_dir: Path,
    bucket_url: str,
    database_url: str,
    *,
    endpoint_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Drop the hub's tables and load the whole bucket again (the bucket alone is the truth)."""
    conn = connect(database_url)
    try:
        schema.drop(conn)
    finally:
        conn.close()
    return ingest(trust_dir, bucket_url, database_url, endpoint_url=endpoint_url, progress=progress)


@dataclass
class _Claim:
    """A batch claimed and verified, waiting for (or in) its load."""

    keys: list[str]
    """Every key of the batch, in listing order."""
    locked: list[str]
    """The keys this worker locked (released once the batch's load has ended)."""
    known: set[str]
    """Keys done before (by an earlier run or another worker)."""
    taken: list[_Taken]
    """The keys to load or refuse, verified."""


def _ingest(
    conn: Any,
    claims: Any,
    trust: Any,
    store: S3Bucket,
    report: IngestReport,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    cursors = dict(conn.execute("SELECT key_id, last_key FROM hub_signers").fetchall())
    signers = store.signers()
    with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="hub-list") as pool:
        # one listing per signer, after its cursor: several at once (each is a round trip)
        listings = list(pool.map(lambda s: store.bundles_after(s, cursors.get(s, "")), signers))
    listed = [key for keys in listings for key in dict.fromkeys(keys)]
    # a listing may repeat a key: each is met once
    total = len(listed)
    moving: dict[str, bool] = {}  # per signer: still an unbroken run of done keys
    claimed, done, size = 0, 0, 1
    pending: tuple[_Claim, Future[None]] | None = None
    if progress is not None and total:
        progress(0, total)

    def finish(batch: _Claim, loading: Future[None]) -> None:
        """Wait for a batch's load (its error, if any, is raised here), then free its keys."""
        nonlocal done
        try:
            loading.result()
        finally:
            _release(claims, batch.locked)
        done += len(batch.keys)
        if progress is not None and done < total:
            progress(done, total)
        if cancelled is not None and cancelled():
            raise Cancelled("ingest cancelled; every bundle loaded is whole")

    with (
        _Prefetch(store, listed) as fetch,
        ThreadPoolExecutor(1, thread_name_prefix="hub-load") as loader,
    ):
        try:
            if cancelled is not None and cancelled():
                raise Cancelled("ingest cancelled; every bundle loaded is whole")
            while claimed < total:
                batch = _claim(claims, trust, fetch, report, listed[claimed : claimed + size])
                claimed += len(batch.keys)
                size = min(size * 2, MAX_BATCH)
                if pending is not None:
                    loading, pending = pending, None
                    finish(*loading)
                pending = batch, loader.submit(_load_batch, conn, store, report, batch, moving)
            if pending is not None:
                loading, pending = pending, None
                finish(*loading)
        finally:
            if pending is not None:
                # a failure while the next batch was claimed: the one loading ends first
                # (committed whole or not at all) before the error goes up
                with contextlib.suppress(Exception):
                    finish(*pending)
    if progress is not None:
        progress(total, total)


def _claim(
    claims: Any, trust: Any, fetch: _Prefetch, report: IngestReport, batch: list[str]
) -> _Claim:
    """Lock the batch's keys (session locks on the claim connection), skip those done or
    held by another worker, and verify the rest: the first ones, as many as hold
    :data:`MAX_BATCH_EVENTS` events (the rest are freed again and wait for the next batch)."""
    locked = dict(
        claims.execute(
            "SELECT k, pg_try_advisory_lock(hashtextextended(k, 0))"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
            [batch],
        ).fetchall()
    )
    mine = [key for key in batch if locked[key]]
    known = {row[0] for row in claims.execute(KNOWN_SQL, [mine])}
    taken: list[_Taken] = []
    held = 0
    for at, key in enumerate(batch):
        if held >= MAX_BATCH_EVENTS:
            # big bundles: fewer keys a batch, bounded memory
            _release(claims, [k for k in batch[at:] if locked[k]])
            batch = batch[:at]
            break
        if not locked[key]:
            report.busy += 1
            fetch.forget(key)
        elif key in known:
            report.already += 1
            fetch.forget(key)
        else:
            taken.append(_verified(trust, fetch, key))
            bundle = taken[-1].bundle
            held += len(bundle.events) if bundle is not None else 0
    return _Claim(batch, [k for k in batch if locked[k]], known, taken)


def _release(claims: Any, keys: list[str]) -> None:
    """Free the session locks on ``keys`` (taken by :func:`_claim`)."""
    if keys:
        claims.execute(
            "SELECT pg_advisory_unlock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS t(k)",
            [keys],
        )


def _load_batch(
    conn: Any, store: S3Bucket, report: IngestReport, batch: _Claim, moving: dict[str, bool]
) -> None:
    """Load a claimed batch in one transaction (the loader thread)."""
    finished = set(batch.known)
    taken = batch.taken
    with conn.transaction():
        _check_logs(conn, taken)
        counts = _load(conn, taken)
        for item in taken:
            if item.refusal is not None:
                exc = item.refusal
                note = f"{exc.reason}\n{exc.message}\n"
                store.put(item.key + ".reason", note.encode("utf-8"))
                if exc.reason != RefusalReason.UNKNOWN_SIGNER:
                    finished.add(item.key)
                # an unknown signer's bundle gets no row: taken once the key is trusted
            else:
                finished.add(item.key)
        _record_bundles(conn, store, taken, counts)
        _move_cursors(conn, store, batch.keys, finished, moving)
    # counted once committed: a batch taken back counts nothing
    for item in taken:
        if item.refusal is not None:
            report.refused.append((item.key, str(item.refusal.reason)))
        else:
            report.loaded.append(item.key)
            report.events += counts[item.key]


def _move_cursors(
    conn: Any, store: S3Bucket, batch: list[str], finished: set[str], moving: dict[str, bool]
) -> None:
    """Move each signer's cursor past the keys of its unbroken run of done keys (a restart
    lists after it); ``GREATEST``, so two workers never move it back. One statement."""
    last: dict[str, str] = {}
    for key in batch:
        signer = store.location.signer_of(key)
        if key not in finished:
            moving[signer] = False
        elif moving.setdefault(signer, True):
            last[signer] = key
    if last:
        ordered = sorted(last.items())
        conn.execute(
            "INSERT INTO hub_signers (key_id, last_key)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT (key_id) DO UPDATE"
            " SET last_key = GREATEST(hub_signers.last_key, EXCLUDED.last_key)",
            [[k for k, _ in ordered], [v for _, v in ordered]],
        )


class _Prefetch:
    """Reads the next objects in a pool of threads while the current ones are verified and
    loaded (reading is waiting on the network; verifying and loading are not)."""

    AHEAD = FETCH_THREADS  # objects held ahead (a bundle may be up to 256 MiB)

    def __init__(self, store: S3Bucket, keys: list[str]) -> None:
        self.store = store
        self._keys = keys
        self._next = 0
        self._futures: dict[str, Future[bytes]] = {}
        self._pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="hub-fetch")

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def get(self, key: str) -> bytes:
        """The object's bytes (read ahead when it was among the next keys)."""
        while self._next < len(self._keys) and len(self._futures) < self.AHEAD + 1:
            upcoming = self._keys[self._next]
            self._next += 1
            self._futures.setdefault(upcoming, self._pool.submit(self.store.get, upcoming))
        future = self._futures.pop(key, None)
        return future.result() if future is not None else self.store.get(key)

    def forget(self, key: str) -> None:
        """Drop a read ahead that will not be used (the key was done or busy)."""
        future = self._futures.pop(key, None)
        if future is not None:
            future.cancel()


@dataclass
class _Taken:
    """One key of a batch this worker verifies and loads or refuses."""

    key: str
    sha256: str
    bundle: bundles.VerifiedBundle | None = None
    refusal: bundles.BundleRejected | None = None


def _verified(trust: Any, fetch: _Prefetch, key: str) -> _Taken:
    """Read and verify one object (a refusal is kept, not raised)."""
    data = fetch.get(key)
    item = _Taken(key, hashlib.sha256(data).hexdigest())
    try:
        item.bundle = bundles.verify_bundle(trust, data)
    except bundles.BundleRejected as exc:
        item.refusal = exc
    return item


def _check_logs(conn: Any, taken: list[_Taken]) -> None:
    """Refuse a bundle whose sequence number another loaded bundle of its signer holds (in
    the database, or earlier in this batch), as the app's import does (``replay``)."""
    accepted = [t for t in taken if t.bundle is not None and t.refusal is None]
    if not accepted:
        return
    held: dict[tuple[str, int], tuple[str, str]] = {
        (signer, int(seq)): (bundle_id, key)
        for signer, seq, bundle_id, key in conn.execute(
            HELD_SEQ_SQL,
            [[t.bundle.signer.key_id for t in accepted], [t.bundle.seq for t in accepted]],  # type: ignore[union-attr]
        )
    }
    for item in accepted:
        bundle = item.bundle
        assert bundle is not None
        where = (bundle.signer.key_id, bundle.seq)
        found = held.setdefault(where, (bundle.bundle_id, item.key))
        if found[0] != bundle.bundle_id:
            item.refusal = bundles.BundleRejected(
                RefusalReason.REPLAY,
                f"sequence {bundle.seq} of key {bundle.signer.key_id} is already {found[1]}",
            )


def _load(conn: Any, taken: list[_Taken]) -> Counter[str]:
    """COPY the new events of the batch's accepted bundles (set union by id); per key, how
    many were new. An event id loaded before (or earlier in the batch) with other content
    refuses its bundle (``event-conflict``), as the app's import does.

    The first COPY does not look first: an event id is loaded once, so nearly always none
    of a batch's ids is there yet, and the COPY's own primary key check is the look (a
    separate look would probe the same random index pages once more for every event, a cost
    that grows with the table). If one is there (an event sent again in another bundle),
    the COPY fails on the primary key, its savepoint takes it back and the batch is looked
    at again, against what is loaded. Another worker may insert one of the same event ids
    between the look and the COPY: the same, once more."""
    import psycopg

    for attempt in range(6):
        rows = _new_rows(conn, taken, look=attempt > 0)
        try:
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY hub_events ({_EVENT_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            continue
        return Counter(row[7] for row in rows)
    raise HubDatabaseError("other workers kept loading the same events; run ingest again")


def _new_rows(conn: Any, taken: list[_Taken], *, look: bool) -> list[tuple[str, ...]]:
    """The rows to load: each event id not loaded yet (when ``look``; else every one), once,
    from the first accepted bundle that holds it; a bundle holding an id with other content
    than loaded (or earlier in the batch) is refused."""
    accepted = [t for t in taken if t.bundle is not None and t.refusal is None]
    ids = [e.id for t in accepted for e in t.bundle.events]  # type: ignore[union-attr]
    # the ids go as one JSON array (C-encoded): a text[] parameter of thousands of ids
    # costs far more to build in Python
    stored: dict[str, tuple[str, dict[str, Any]]] = (
        {
            event_id: (where, row if isinstance(row, dict) else json.loads(row))
            for event_id, row, where in conn.execute(
                "SELECT id, row, bundle_key FROM hub_events"
                " WHERE id IN (SELECT jsonb_array_elements_text(%s::jsonb))",
                [_dumps(ids)],
            )
        }
        if ids and look
        else {}
    )
    seen: dict[str, tuple[str, str]] = {}  # id -> (bundle key, row JSON) earlier in the batch
    rows: list[tuple[str, ...]] = []
    for item in accepted:
        bundle = item.bundle
        assert bundle is not None
        mine: list[tuple[str, ...]] = []
        conflict = None
        for event in bundle.events:
            row = _row(event)
            text = _dumps(row)
            if event.id in stored:
                where, before = stored[event.id]
                if before != row:
                    conflict = (event.id, where)
                    break
            elif event.id in seen:
                if seen[event.id][1] != text:
                    conflict = (event.id, seen[event.id][0])
                    break
            else:
                mine.append(
                    (
                        event.id,
                        event.case_id,
                        event.reviewer_id,
                        event.role,
                        event.label,  # type: ignore[arg-type]
                        event.created_at,
                        text,
                        item.key,
                    )
                )
        if conflict is not None:
            item.refusal = bundles.BundleRejected(
                RefusalReason.EVENT_CONFLICT,
                f"event {conflict[0]} differs from the one loaded from {conflict[1]}",
            )
            continue
        for row_values in mine:
            seen[row_values[0]] = (item.key, row_values[6])
        rows.extend(mine)
    return rows


_dumps = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)`` without making an encoder per call."""


def _row(event: VerdictEvent) -> dict[str, Any]:
    """``event.to_row()`` (the app's ``verdicts`` row, citations as JSON text), from a copy
    of the instance's fields (a frozen dataclass's ``__dict__`` holds its fields, in order):
    the deep copy of ``dataclasses.asdict`` would only cost time."""
    row = vars(event).copy()
    row["citations"] = citations_json(event.citations) if event.citations else "[]"
    return row


def _record_bundles(conn: Any, store: S3Bucket, taken: list[_Taken], counts: Counter[str]) -> None:
    """One ``hub_bundles`` row per bundle taken (none for an unknown signer's)."""
    rows: list[tuple[Any, ...]] = []
    for item in taken:
        signer = store.location.signer_of(item.key)
        if item.refusal is None:
            bundle = item.bundle
            assert bundle is not None
            rows.append(
                (
                    item.key,
                    bundle.signer.key_id,
                    bundle.bundle_id,
                    bundle.seq,
                    item.sha256,
                    "loaded",
                    None,
                    None,
                    counts[item.key],
                )
            )
        elif item.refusal.reason != RefusalReason.UNKNOWN_SIGNER:
            reason = item.refusal
            rows.append(
                (
                    item.key,
                    signer,
                    None,
                    None,
                    item.sha256,
                    "refused",
                    str(reason.reason),
                    reason.message,
                    0,
                )
            )
    if rows:
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY hub_bundles ({_BUNDLE_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
