"""The team hub at a simulated scale (docs/team-hub.md), every figure from the same run.

Signers publish signed verdict bundles to a moto S3 server through the S3 sync target; the
hub ingests them into a local PostgreSQL 15. Figures:

- events/s of the hub (list, read, verify, load) as a ratio to a plain ``COPY`` of the same
  rows into a table of the same shape in the same database (target >= 0.5);
- the hub's cost per bundle for the last phase of bundles against the first phase, with the
  bucket grown in between (target: no more, ratio <= 1).

The issue's scale (1,000 signers x 100 bundles x 50 events) is far beyond this machine; the
size here is ``SIGNERS x BUNDLES x EVENTS`` below, printed with the figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from qa_desktop.core import api
from qa_desktop.core.workspace import Workspace
from tests.factory import PASSPHRASE, introduce, make_workspace
from tests.hub_services import new_bucket, running_moto, running_postgres
from tests.recording import record

SIGNERS = 4
BUNDLES = 12
EVENTS = 50
PHASES = 3  # first, middle (untimed), last


def run(tmp: Path) -> Iterator[str]:
    """Publish, ingest in phases, compare with COPY."""
    import psycopg

    yield f"hub: {SIGNERS} signers x {BUNDLES} bundles x {EVENTS} events (scaled down)"
    with running_moto() as endpoint, running_postgres() as pg:
        url = f"s3://{new_bucket(endpoint)}/bench"
        database = pg.new_database()
        lead = make_workspace(tmp, "lead", cases=0)
        signers = [make_workspace(tmp, f"s{i}", cases=BUNDLES * EVENTS) for i in range(SIGNERS)]
        for ws in signers:
            introduce(lead, ws)
        per_phase = BUNDLES // PHASES
        timings: list[tuple[int, int, float]] = []  # (bundles, events, seconds) per phase
        for phase in range(PHASES):
            for ws in signers:
                _publish(ws, url, endpoint, phase * per_phase, per_phase)
            started = time.perf_counter()
            done = api.hub_ingest(lead.data_dir, url, database, endpoint_url=endpoint)
            timings.append((len(done.loaded), done.events, time.perf_counter() - started))
        for ws in (lead, *signers):
            ws.close()
        bundles = sum(t[0] for t in timings)
        events = sum(t[1] for t in timings)
        hub_seconds = sum(t[2] for t in timings)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("CREATE TABLE copy_events (LIKE hub_events INCLUDING ALL)")
            rows = conn.execute(
                "SELECT id, case_id, reviewer_id, role, label, created_at, row::text, bundle_key"
                " FROM hub_events"
            ).fetchall()
            started = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY copy_events (id, case_id, reviewer_id, role, label, created_at, row,"
                    " bundle_key) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            copy_seconds = time.perf_counter() - started
    hub_rate, copy_rate = events / hub_seconds, len(rows) / copy_seconds
    yield f"  hub ingest: {bundles} bundles, {events} events in {hub_seconds:.2f} s"
    yield f"  hub {hub_rate:,.0f} events/s vs COPY {copy_rate:,.0f} events/s"
    yield f"  ratio hub/COPY = {hub_rate / copy_rate:.3f} (target >= 0.5)"
    first, last = timings[0], timings[-1]
    growth = (last[2] / last[0]) / (first[2] / first[0])
    yield (
        f"  per bundle: first {per_phase * SIGNERS} {1000 * first[2] / first[0]:.1f} ms,"
        f" last {per_phase * SIGNERS} {1000 * last[2] / last[0]:.1f} ms:"
        f" ratio last/first = {growth:.2f} (target <= 1)"
    )


def _publish(ws: Workspace, url: str, endpoint: str, start: int, count: int) -> None:
    """``count`` bundles of ``EVENTS`` verdicts each, published by the S3 sync target."""
    identity = ws.trust.identity(PASSPHRASE)
    for bundle in range(start, start + count):
        for n in range(EVENTS):
            record(ws, f"t-{bundle * EVENTS + n}", "no_violation")
        ws.sync.to(identity, url, endpoint_url=endpoint)
