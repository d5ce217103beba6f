"""The team hub at a simulated scale (docs/team-hub.md), every figure from the same run.

Real signed ``verdicts`` bundles (one Ed25519 key per signer, each trusted by the hub's
trust store, chained checkpoints, canonical events) are built here and put straight into a
moto S3 server under the bucket layout the S3 sync target writes; the hub ingests them with
the real verifier into a local PostgreSQL 15. Figures:

- events/s as a ratio to a plain ``COPY`` of the same rows into a table of the same shape
  in the same database, median and range of ``RUNS`` runs each: (a) the hub end to end
  (list, read, verify, load; target >= 0.5), (b) the hub's own work on bundles already
  fetched (the same ``ingest``, over a bucket held in memory: verify and load), (c) moto's
  GETs alone (same thread pool), and the verifier alone;
- the hub's cost per bundle for the last 1,000 bundles of a bucket grown as large as
  ``QA_BENCH_HUB_GROW`` seconds allow (up to 100,000 bundles) against the first 1,000
  (target: no more, ratio <= 1), each part alone: the hub's own work (verify and load into
  the grown database, the bundles already fetched), moto's GETs (all of a window's objects
  in the pool, and one object at a time) and moto's listing (it scans its whole bucket on
  every ``ListObjectsV2``; S3 does not).

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

from .targets import judge

RUNS = 5
GROWTH_STEP = 1000
"""Bundles in the first and in the last phase of the growth figure."""
MAX_BUCKET = 100_000
SINGLE_GETS = 50
"""Objects of a growth window read one at a time (moto's cost of one GET)."""


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


def _publish(
    store: S3Bucket, signers: list[Signer], per_signer: int, events: int
) -> dict[str, bytes]:
    """``per_signer`` new bundles of each signer put into the bucket (in threads); their
    keys and bytes."""
    keys_put: dict[str, bytes] = {}
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        futures = []
        for _ in range(per_signer):
            for signer in signers:
                seq, bundle_id, data = signer.next_bundle(events)
                key = store.location.bundle_key(signer.identity.key_id, seq, bundle_id)
                futures.append(pool.submit(store.put_if_absent, key, data))
                keys_put[key] = data
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


class MemoryBucket(S3Bucket):
    """Objects already fetched, served from memory; the listing from ``listing`` (the moto
    bucket, timed) or from memory. The hub's own work is what ``ingest`` spends over it."""

    def __init__(self, location: S3Location, listing: S3Bucket | None = None) -> None:
        self.location = location
        self.objects: dict[str, bytes] = {}
        self._listing = listing

    def check(self) -> None:
        pass

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def signers(self) -> list[str]:
        if self._listing is not None:
            return self._listing.signers()
        return sorted({self.location.signer_of(k) for k in self.objects})

    def bundles_after(self, key_id: str, after: str) -> list[str]:
        if self._listing is not None:
            return self._listing.bundles_after(key_id, after)
        prefix = f"{self.location.prefix}bundles/{key_id}/"
        return sorted(
            k for k in self.objects if k.startswith(prefix) and k > after and k.endswith(".zip")
        )


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
        fetched = MemoryBucket(store.location)
        fetched.objects.update(zip(listed, datas, strict=True))
        own: list[float] = []
        for _ in range(RUNS):
            database = pg.new_database()
            started = time.perf_counter()
            report = api.hub_ingest(lead.data_dir, url, database, bucket=fetched)
            own.append(time.perf_counter() - started)
            assert report.events == events, report.refused
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
        yield f"  (a) ratio hub end to end/COPY = {ratio:.3f} {judge('hub vs COPY', ratio)}"
        for name, times in (
            ("(b) hub's own work on fetched bundles (verify + load)", own),
            (f"(c) moto GETs alone ({FETCH_THREADS} threads)", gets),
        ):
            rates = [events / t for t in times]
            yield (
                f"  {name}: {_spread(rates, ' events/s')}"
                f" = {statistics.median(rates) / statistics.median(copy_rate):.3f} x COPY"
            )
        yield "  the parts alone, as events/s and as a ratio to COPY (medians):"
        for name, times in (
            ("listing", listing),
            (f"GETs ({FETCH_THREADS} threads)", gets),
            ("hub's own work", own),
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
    published and ingested in ``RUNS`` runs of 200, each part timed alone: moto's GETs of
    the run's objects (in the pool, then ``SINGLE_GETS`` of them one at a time), then the
    hub's ``ingest`` over those objects in memory with moto's listing (timed): the hub's
    own work is the ingest less the listing. Median and range per bundle."""
    budget = float(os.environ.get("QA_BENCH_HUB_GROW", "180"))
    url = f"s3://{new_bucket(endpoint)}/grow"
    moto = TimedBucket(S3Location.parse(url, endpoint_url=endpoint))
    database = pg.new_database()

    def phase(bundles: int, measure: bool) -> dict[str, float]:
        """Publish about ``bundles`` more and ingest them: seconds of each part, bundles."""
        put = _publish(moto, signers, max(1, bundles // len(signers)), n_events)
        fetched = MemoryBucket(moto.location, listing=moto if measure else None)
        fetched.objects.update(put)
        parts: dict[str, float] = {}
        if measure:
            parts["gets"] = _timed(lambda: _get_all(moto, list(put)))
            single = list(put)[:: max(1, len(put) // SINGLE_GETS)]
            parts["one get"] = _timed(lambda: [moto.get(k) for k in single]) / len(single)
        moto.reset()
        started = time.perf_counter()
        report = api.hub_ingest(trust_dir, url, database, bucket=fetched)
        parts["ingest"] = time.perf_counter() - started
        parts["listing"] = moto.listing
        parts["own"] = parts["ingest"] - parts["listing"]
        parts["bundles"] = len(report.loaded)
        assert len(report.loaded) == len(put), report.refused
        return parts

    step = GROWTH_STEP // RUNS
    first = [phase(step, True) for _ in range(RUNS)]
    total = sum(int(r["bundles"]) for r in first)
    started = time.perf_counter()
    while time.perf_counter() - started < budget and total + 2 * GROWTH_STEP <= MAX_BUCKET:
        total += int(phase(GROWTH_STEP, False)["bundles"])
    last = [phase(step, True) for _ in range(RUNS)]
    total += sum(int(r["bundles"]) for r in last)
    yield (
        f"  growth: a bucket of {total:,} bundles ({total * n_events:,} events) built and"
        f" ingested in {time.perf_counter() - started:.0f} s (budget {budget:.0f} s), load"
        f" average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    lines = (
        ("hub's own work (verify + load)", lambda r: r["own"] / r["bundles"]),
        ("moto listing", lambda r: r["listing"] / r["bundles"]),
        (f"moto GETs ({FETCH_THREADS} threads)", lambda r: r["gets"] / r["bundles"]),
        ("moto GET of one object", lambda r: r["one get"]),
        (
            "sum (own + listing + GETs)",
            lambda r: (r["own"] + r["listing"] + r["gets"]) / r["bundles"],
        ),
    )
    for name, per in lines:
        a, b = [statistics.median(per(r) for r in runs) for runs in (first, last)]
        verdict = (
            judge("hub cost, last 1,000 bundles vs first 1,000", b / a, f"hub growth: {name}")
            if name.startswith("hub's own work")
            else "(moto's)"
        )
        yield (
            f"    {name:<32} first {_spread([per(r) for r in first], ' ms', 1000)};"
            f" last {_spread([per(r) for r in last], ' ms', 1000)}; last/first = {b / a:.3f}"
            f" {verdict}"
        )
    yield from _side_by_side(pg, trust_dir, endpoint, moto, database, signers, n_events)
    yield "    (target: last/first <= 1 for the hub's own work; moto's parts are moto's)"


def _side_by_side(
    pg: Any,
    trust_dir: Path,
    endpoint: str,
    grown: S3Bucket,
    database: str,
    signers: list[Signer],
    n_events: int,
) -> Iterator[str]:
    """The same growth figures measured in the same minutes, run for run alternating
    between a young database / bucket and the grown ones: on a shared machine whose load
    drifts over the minutes the bucket took to grow, this is the ratio to trust."""
    young_db = pg.new_database()
    young = S3Bucket(S3Location.parse(f"s3://{new_bucket(endpoint)}/young", endpoint_url=endpoint))
    step = GROWTH_STEP // RUNS
    own: dict[str, list[float]] = {"young": [], "grown": []}
    get: dict[str, list[float]] = {"young": [], "grown": []}
    for _ in range(RUNS):
        for name, target, bucket in (("young", young_db, young), ("grown", database, grown)):
            fetched = MemoryBucket(bucket.location)
            for _ in range(max(1, step // len(signers))):
                for signer in signers:
                    seq, bundle_id, data = signer.next_bundle(n_events)
                    key = bucket.location.bundle_key(signer.identity.key_id, seq, bundle_id)
                    fetched.objects[key] = data
            started = time.perf_counter()
            report = api.hub_ingest(trust_dir, "s3://unused/x", target, bucket=fetched)
            own[name].append((time.perf_counter() - started) / len(report.loaded))
            single = list(fetched.objects)[: SINGLE_GETS // RUNS]
            for key in single:
                bucket.put(key, fetched.objects[key])
            get[name].append(_timed(lambda b=bucket, s=single: [b.get(k) for k in s]) / len(single))
    for name, times in (("hub's own work (verify + load)", own), ("moto GET of one object", get)):
        a, b = statistics.median(times["young"]), statistics.median(times["grown"])
        yield (
            f"    side by side, {name:<30} young {_spread(times['young'], ' ms', 1000)};"
            f" grown {_spread(times['grown'], ' ms', 1000)}; grown/young = {b / a:.2f}"
        )
