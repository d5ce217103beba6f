"""The team hub at a simulated scale (docs/team-hub.md), every figure from the same run.

Real signed ``verdicts`` bundles (one Ed25519 key per signer, each trusted by the hub's
trust store, chained checkpoints, canonical events) are built here and put straight into a
moto S3 server under the bucket layout the S3 sync target writes; the hub ingests them with
the real verifier into a local PostgreSQL 15. Figures:

- events/s of the hub (list, read, verify, load) as a ratio to a plain ``COPY`` of the same
  rows into a table of the same shape in the same database (target >= 0.5), median and
  range of ``RUNS`` runs each, with the parts a hub cannot go below measured alone: the
  GETs (same thread pool), the verifier, the COPY;
- the hub's cost per bundle for the last 1,000 bundles of a bucket grown as large as
  ``QA_BENCH_HUB_GROW`` seconds allow (up to 100,000 bundles) against the first 1,000
  (target: no more, ratio <= 1), with and without the listing (moto scans its whole bucket
  on every ``ListObjectsV2``; S3 does not).

The issue's scale is 1,000 signers x 100 bundles x 50 events. The default here is scaled
down to ``20x50x50`` (1,000 bundles, 50,000 events) for CI's budget; set
``QA_BENCH_HUB=1000x100x50`` for the full size.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qa_desktop.core import api, audit, keys
from qa_desktop.core.bundles import build_bag, verify_bundle
from qa_desktop.core.bundles.payloads.verdicts import Checkpoint, verdict_payload
from qa_desktop.core.clock import utc_now_iso
from qa_desktop.core.hub.ingest import FETCH_THREADS
from qa_desktop.core.store import open_database
from qa_desktop.core.sync_targets import S3Bucket, S3Location
from qa_desktop.core.verdicts import VerdictEvent
from qa_desktop.core.workspace import DB_FILENAME
from tests.factory import make_workspace
from tests.hub_services import new_bucket, running_moto, running_postgres

RUNS = 5
GROWTH_STEP = 1000
"""Bundles in the first and in the last phase of the growth figure."""
MAX_BUCKET = 100_000


def _size() -> tuple[int, int, int]:
    signers, bundles, events = os.environ.get("QA_BENCH_HUB", "20x50x50").split("x")
    return int(signers), int(bundles), int(events)


class Signer:
    """One laptop's key and its chain: builds its next signed bundles."""

    def __init__(self, number: int) -> None:
        self.identity = keys.generate_identity(f"r-{number}", f"Signer {number}")
        self.seq, self.start, self.head = 0, 0, audit.GENESIS

    def next_bundle(self, events: int) -> tuple[int, str, bytes]:
        """(sequence number, bundle id, the signed .zip) of a bundle of ``events`` verdicts."""
        self.seq += 1
        now = utc_now_iso()
        lines = [
            audit.event_bytes(
                VerdictEvent(
                    id=str(uuid.uuid4()),
                    case_id=f"t-{self.seq}-{n}",
                    reviewer_id=self.identity.reviewer_id,
                    label="no_violation",
                    created_at=now,
                )
            )
            for n in range(events)
        ]
        head = audit.chain_head(self.head, [hashlib.sha256(line).hexdigest() for line in lines])
        checkpoint = Checkpoint(
            self.identity.key_id,
            self.identity.reviewer_id,
            self.start,
            self.head,
            self.start + len(lines),
            head,
            now,
        )
        self.start, self.head = self.start + len(lines), head
        bundle_id = str(uuid.uuid4())
        bag = build_bag(
            self.identity,
            kind="verdicts",
            bundle_id=bundle_id,
            seq=self.seq,
            payload=verdict_payload(lines, checkpoint),
            info={"Event-Count": str(len(lines)), "Batch-Ids": ""},
            created=now,
        )
        return self.seq, bundle_id, bag.data


def _publish(store: S3Bucket, signers: list[Signer], per_signer: int, events: int) -> list[str]:
    """``per_signer`` new bundles of each signer put into the bucket (in threads); keys."""
    keys_put: list[str] = []
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        futures = []
        for _ in range(per_signer):
            for signer in signers:
                seq, bundle_id, data = signer.next_bundle(events)
                key = store.location.bundle_key(signer.identity.key_id, seq, bundle_id)
                futures.append(pool.submit(store.put_if_absent, key, data))
                keys_put.append(key)
        for future in futures:
            future.result()
    return keys_put


class TimedBucket(S3Bucket):
    """The S3 bucket, timing the listing: the wall time from the first listing call to the
    end of the last (the hub lists signers in threads, so their times overlap)."""

    def __init__(self, location: S3Location) -> None:
        super().__init__(location)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Start timing a new run."""
        self._first: float | None = None
        self._last = 0.0

    @property
    def listing(self) -> float:
        """Seconds of listing in this run."""
        return 0.0 if self._first is None else self._last - self._first

    def _timed(self, list_some: Callable[[], list[str]]) -> list[str]:
        started = time.perf_counter()
        with self._lock:
            self._first = started if self._first is None else min(self._first, started)
        try:
            return list_some()
        finally:
            with self._lock:
                self._last = max(self._last, time.perf_counter())

    def signers(self) -> list[str]:
        return self._timed(super().signers)

    def bundles_after(self, key_id: str, after: str) -> list[str]:
        return self._timed(lambda: super(TimedBucket, self).bundles_after(key_id, after))


def _spread(values: list[float], unit: str = "", scale: float = 1.0) -> str:
    v = sorted(x * scale for x in values)
    return f"{statistics.median(v):,.1f}{unit} (range {v[0]:,.1f}-{v[-1]:,.1f})"


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(tmp: Path) -> Iterator[str]:
    """Build the bucket, ingest it ``RUNS`` times, compare with COPY; then grow a bucket."""
    import psycopg

    n_signers, per_signer, n_events = _size()
    yield (
        f"hub: {n_signers} signers x {per_signer} bundles x {n_events} events"
        f" ({'the issue size' if (n_signers, per_signer) == (1000, 100) else 'scaled down'};"
        " QA_BENCH_HUB=SxBxE), load average"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with running_moto() as endpoint, running_postgres() as pg:
        url = f"s3://{new_bucket(endpoint)}/bench"
        lead = make_workspace(tmp, "lead", cases=0)
        signers = [Signer(i) for i in range(n_signers)]
        for signer in signers:
            lead.trust.trust(
                signer.identity.public_key,
                signer.identity.display_name,
                "reviewer",
                signer.identity.reviewer_id,
            )
        lead.close()
        store = TimedBucket(S3Location.parse(url, endpoint_url=endpoint))
        seconds = _timed(lambda: _publish(store, signers, per_signer, n_events))
        listed = [k for s in store.signers() for k in store.bundles_after(s, "")]
        yield f"  built and put {len(listed):,} signed bundles in {seconds:.1f} s"

        hub: list[float] = []
        listing: list[float] = []
        events = 0
        for _ in range(RUNS):
            database = pg.new_database()
            store.reset()
            started = time.perf_counter()
            report = api.hub_ingest(lead.data_dir, url, database, bucket=store)
            hub.append(time.perf_counter() - started)
            listing.append(store.listing)
            events = report.events
            assert len(report.loaded) == len(listed) and not report.refused, report.refused
        with psycopg.connect(database, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT id, case_id, reviewer_id, role, label, created_at, row::text, bundle_key"
                " FROM hub_events"
            ).fetchall()
            copy = [_copy(conn, rows, run) for run in range(RUNS)]
        gets = [_timed(lambda: _get_all(store, listed)) for _ in range(RUNS)]
        datas = _get_all(store, listed)
        trust = open_database(lead.data_dir / DB_FILENAME)
        try:
            verify = [_timed(lambda: [verify_bundle(trust, d) for d in datas]) for _ in range(RUNS)]
        finally:
            trust.close()
        hub_rate = [events / s for s in hub]
        copy_rate = [len(rows) / s for s in copy]
        ratio = statistics.median(hub_rate) / statistics.median(copy_rate)
        yield f"  hub ingest ({events:,} events): {_spread(hub_rate, ' events/s')}"
        yield f"  COPY of the same rows:        {_spread(copy_rate, ' events/s')}"
        yield f"  ratio hub/COPY = {ratio:.3f} (target >= 0.5)"
        yield "  the parts alone, as events/s and as a ratio to COPY (medians):"
        for name, times in (
            ("listing", listing),
            (f"GETs ({FETCH_THREADS} threads)", gets),
            ("verify", verify),
            ("COPY", copy),
        ):
            rate = events / statistics.median(times)
            yield (
                f"    {name:<18} {_spread([events / t for t in times], ' events/s')}"
                f"  = {rate / statistics.median(copy_rate):.2f} x COPY,"
                f" {1000 * statistics.median(times) / len(listed):.2f} ms/bundle"
            )
        yield from _growth(pg, lead.data_dir, endpoint, signers, n_events)


def _copy(conn: Any, rows: list[tuple[Any, ...]], run: int) -> float:
    """Seconds to COPY ``rows`` into a fresh table like ``hub_events`` (keys, indexes)."""
    table = f"copy_events_{run}"
    conn.execute(f"CREATE TABLE {table} (LIKE hub_events INCLUDING ALL)")
    started = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(
            f"COPY {table} (id, case_id, reviewer_id, role, label, created_at, row,"
            " bundle_key) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def _get_all(store: S3Bucket, listed: list[str]) -> list[bytes]:
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        return list(pool.map(store.get, listed))


def _growth(
    pg: Any, trust_dir: Path, endpoint: str, signers: list[Signer], n_events: int
) -> Iterator[str]:
    """The first 1,000 bundles of a bucket against its last 1,000, the bucket grown in
    between as far as ``QA_BENCH_HUB_GROW`` seconds (default 180) allow. Each 1,000 is
    published and ingested in ``RUNS`` runs of 200: median and range per bundle."""
    budget = float(os.environ.get("QA_BENCH_HUB_GROW", "180"))
    url = f"s3://{new_bucket(endpoint)}/grow"
    store = TimedBucket(S3Location.parse(url, endpoint_url=endpoint))
    database = pg.new_database()

    def phase(bundles: int) -> tuple[float, float, int]:
        """Publish about ``bundles`` more and ingest them: (seconds, listing, bundles)."""
        _publish(store, signers, max(1, bundles // len(signers)), n_events)
        store.reset()
        started = time.perf_counter()
        report = api.hub_ingest(trust_dir, url, database, bucket=store)
        return time.perf_counter() - started, store.listing, len(report.loaded)

    step = GROWTH_STEP // RUNS
    first = [phase(step) for _ in range(RUNS)]
    total = sum(r[2] for r in first)
    started = time.perf_counter()
    while time.perf_counter() - started < budget and total + 2 * GROWTH_STEP <= MAX_BUCKET:
        total += phase(GROWTH_STEP)[2]
    last = [phase(step) for _ in range(RUNS)]
    total += sum(r[2] for r in last)
    yield (
        f"  growth: a bucket of {total:,} bundles built and ingested in"
        f" {time.perf_counter() - started:.0f} s (budget {budget:.0f} s)"
    )
    for name, runs in (("first", first), ("last", last)):
        yield (
            f"    {name} {sum(r[2] for r in runs):,} bundles:"
            f" {_spread([r[0] / r[2] for r in runs], ' ms/bundle', 1000)};"
            f" without the listing {_spread([(r[0] - r[1]) / r[2] for r in runs], ' ms', 1000)}"
        )
    whole = [statistics.median(r[0] / r[2] for r in runs) for runs in (first, last)]
    bare = [statistics.median((r[0] - r[1]) / r[2] for r in runs) for runs in (first, last)]
    yield (
        f"    ratio last/first = {whole[1] / whole[0]:.2f}; without the listing"
        f" {bare[1] / bare[0]:.2f} (target <= 1)"
    )
