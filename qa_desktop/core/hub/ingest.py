"""Ingest: every new bundle of the bucket, verified once, its events loaded once.

Per key, in one PostgreSQL transaction: an advisory lock on the key (another worker holding
it has the key), a look in ``hub_bundles`` (done keys are never redone), the bytes read and
verified in memory with the app's verifier and trust store, then either the events
(``INSERT ... ON CONFLICT DO NOTHING``) and a ``loaded`` row, or a ``.reason`` object
beside the bundle and a ``refused`` row. A crash before the commit leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import bundles
from ..errors import Cancelled, QADesktopError
from ..store import open_database
from ..sync_targets import S3Bucket, S3Location
from ..vocab import RefusalReason
from ..workspace import DB_FILENAME
from . import schema

EVENTS_BATCH = 1000


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

    ``trust_dir`` is a QA Desktop data directory whose trust store decides whom to believe.
    Restartable at any point and safe to run in several processes at once.
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
    trust = open_database(trust_dir / DB_FILENAME)
    report = IngestReport()
    try:
        conn = connect(database_url)
        try:
            schema.create(conn)
            _ingest(conn, trust, store, report, progress, cancelled)
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


def _ingest(
    conn: Any,
    trust: Any,
    store: S3Bucket,
    report: IngestReport,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    cursors = dict(conn.execute("SELECT key_id, last_key FROM hub_signers").fetchall())
    todo = [
        (s, list(dict.fromkeys(store.bundles_after(s, cursors.get(s, "")))))
        for s in store.signers()
    ]  # a listing may repeat a key: each is met once
    total = sum(len(keys) for _, keys in todo)
    done = 0
    with _Prefetch(store, [key for _, keys in todo for key in keys]) as fetch:
        for signer, listed in todo:
            done = _signer(
                conn, trust, fetch, report, signer, listed, done, total, progress, cancelled
            )
    if progress is not None:
        progress(total, total)


def _signer(
    conn: Any,
    trust: Any,
    fetch: _Prefetch,
    report: IngestReport,
    signer: str,
    listed: list[str],
    done: int,
    total: int,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> int:
    """Take one signer's listed keys in order; how many keys are done overall after them."""
    moving = True
    for key in listed:
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled():
            raise Cancelled("ingest cancelled; every bundle loaded is whole")
        done += 1
        if not _one(conn, trust, fetch, key, report):
            moving = False
        elif moving:  # a restart lists after the last of an unbroken run of done keys
            conn.execute(
                "INSERT INTO hub_signers (key_id, last_key) VALUES (%s, %s)"
                " ON CONFLICT (key_id) DO UPDATE"
                " SET last_key = GREATEST(hub_signers.last_key, EXCLUDED.last_key)",
                [signer, key],
            )
    return done


class _Prefetch:
    """Reads the next few objects in threads while the current bundle is verified and loaded
    (reading is waiting on the network; verifying and loading are not)."""

    AHEAD = 4

    def __init__(self, store: S3Bucket, keys: list[str]) -> None:
        self.store = store
        self._keys = keys
        self._next = 0
        self._futures: dict[str, Future[bytes]] = {}
        self._pool = ThreadPoolExecutor(self.AHEAD, thread_name_prefix="hub-fetch")

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


def _one(conn: Any, trust: Any, fetch: _Prefetch, key: str, report: IngestReport) -> bool:
    """Take one key; True once it is done (by this worker or before), False if busy."""
    store = fetch.store
    with conn.transaction():
        locked = conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [key]
        ).fetchone()[0]
        if not locked:
            report.busy += 1
            fetch.forget(key)
            return False
        if conn.execute("SELECT 1 FROM hub_bundles WHERE key = %s", [key]).fetchone():
            report.already += 1
            fetch.forget(key)
            return True
        data = fetch.get(key)
        sha = hashlib.sha256(data).hexdigest()
        signer = store.location.signer_of(key)
        try:
            bundle = bundles.verify_bundle(trust, data)
            _check_log(conn, bundle, key)
            with conn.transaction():  # a savepoint: a conflict takes back this bundle's rows
                inserted = _load_events(conn, bundle, key)
        except bundles.BundleRejected as exc:
            note = f"{exc.reason}\n{exc.message}\n"
            store.put(key + ".reason", note.encode("utf-8"))
            report.refused.append((key, str(exc.reason)))
            if exc.reason == RefusalReason.UNKNOWN_SIGNER:
                return False  # not done: taken once the key is trusted (as a laptop does)
            conn.execute(
                "INSERT INTO hub_bundles (key, signer_key_id, sha256, state, reason, message)"
                " VALUES (%s, %s, %s, 'refused', %s, %s)",
                [key, signer, sha, str(exc.reason), exc.message],
            )
            return True
        conn.execute(
            "INSERT INTO hub_bundles (key, signer_key_id, bundle_id, seq, sha256, state, events)"
            " VALUES (%s, %s, %s, %s, %s, 'loaded', %s)",
            [key, bundle.signer.key_id, bundle.bundle_id, bundle.seq, sha, inserted],
        )
    report.loaded.append(key)
    report.events += inserted
    return True


def _check_log(conn: Any, bundle: bundles.VerifiedBundle, key: str) -> None:
    """Refuse a bundle whose sequence number another loaded bundle of its signer holds."""
    row = conn.execute(
        "SELECT bundle_id, key FROM hub_bundles WHERE signer_key_id = %s AND seq = %s"
        " AND state = 'loaded'",
        [bundle.signer.key_id, bundle.seq],
    ).fetchone()
    if row and row[0] != bundle.bundle_id:
        raise bundles.BundleRejected(
            RefusalReason.REPLAY,
            f"sequence {bundle.seq} of key {bundle.signer.key_id} is already {row[1]}",
        )


def _load_events(conn: Any, bundle: bundles.VerifiedBundle, key: str) -> int:
    """Insert the bundle's events (set union by id); how many were new.

    An event id already loaded with other content refuses the bundle (``event-conflict``),
    as the app's import does; the caller's savepoint takes back what was inserted."""
    inserted = 0
    rows = [
        (
            e.id,
            e.case_id,
            e.reviewer_id,
            e.role,
            e.label,
            e.created_at,
            json.dumps(e.to_row(), ensure_ascii=False),
            key,
        )
        for e in bundle.events
    ]
    with conn.cursor() as cur:
        for start in range(0, len(rows), EVENTS_BATCH):
            chunk = rows[start : start + EVENTS_BATCH]
            placeholders = ",".join(["(%s,%s,%s,%s,%s,%s,%s::jsonb,%s)"] * len(chunk))
            cur.execute(
                "INSERT INTO hub_events (id, case_id, reviewer_id, role, label, created_at, row,"
                f" bundle_key) VALUES {placeholders} ON CONFLICT (id) DO NOTHING",
                [value for row in chunk for value in row],
            )
            inserted += cur.rowcount
    if inserted < len(rows):
        _check_known(conn, bundle, key)
    return inserted


def _check_known(conn: Any, bundle: bundles.VerifiedBundle, key: str) -> None:
    """Refuse the bundle if an event it holds was loaded before with other content."""
    mine = {e.id: e.to_row() for e in bundle.events}
    for event_id, stored, where in conn.execute(
        "SELECT id, row, bundle_key FROM hub_events WHERE id = ANY(%s) AND bundle_key <> %s",
        [list(mine), key],
    ):
        if stored != mine[event_id]:
            raise bundles.BundleRejected(
                RefusalReason.EVENT_CONFLICT,
                f"event {event_id} differs from the one loaded from {where}",
            )
