"""The hub's pipeline: batch *n + 1* is claimed and verified while batch *n* loads.

A claimed batch's keys stay locked until its load commits, so another worker passing in
between takes none of them; the database going away while one batch loads and the next is
verified loses nothing and loads nothing twice."""

from __future__ import annotations

import importlib

import psycopg
import pytest

from qa_desktop.core import api
from qa_desktop.core.sync_targets import S3Bucket, S3Location
from qa_desktop.core.workspace import Workspace

from .hub_services import Postgres, postgres, s3_endpoint
from .test_hub_batches import Chain, hub_state

__all__ = ["postgres", "s3_endpoint"]  # the fixtures, imported for pytest

Pair = tuple[Workspace, Workspace]


@pytest.mark.slow
def test_a_worker_passing_between_claim_and_load_takes_none_of_the_claimed_keys(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    url = chain.url
    keys_put = [chain.put(seq, [chain.event()]) for seq in range(1, 9)]
    database = postgres.new_database()
    other: list[api.IngestReport] = []

    def second_worker(done: int, total: int) -> None:
        # progress(1): the first batch committed, the second (keys 1 and 2) claimed and
        # verified, its load not started: another worker runs to the end right here
        if done == 1:
            other.append(api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint))

    first = api.hub_ingest(
        b.data_dir, url, database, endpoint_url=s3_endpoint, progress=second_worker
    )

    (second,) = other
    assert second.busy == 2 and second.loaded == keys_put[3:]
    assert first.loaded == keys_put[:3] and first.already == 5
    rows, ids = hub_state(database)
    assert sorted(rows) == keys_put and set(rows.values()) == {"loaded"}
    assert len(ids) == len(set(ids)) == 8
    with psycopg.connect(database) as conn:
        cursors = conn.execute("SELECT last_key FROM hub_signers").fetchall()
    assert cursors == [(keys_put[-1],)]


class StoppingBucket(S3Bucket):
    """A store whose first ``.reason`` write (made by the loader, inside the batch's
    transaction, while the calling thread verifies the next batch) stops the database."""

    def __init__(self, location: S3Location, pg: Postgres) -> None:
        super().__init__(location)
        self.pg: Postgres | None = pg

    def put(self, key: str, data: bytes) -> None:
        super().put(key, data)
        if self.pg is not None:
            self.pg.stop("immediate")
            self.pg = None


@pytest.mark.slow
def test_the_database_going_away_while_a_batch_loads_and_the_next_verifies(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    name, url = chain.bucket, chain.url
    keys_put = [chain.put(seq, [chain.event(), chain.event()]) for seq in range(1, 9)]
    # batches of 1, 2, 4, 1 keys: a bundle that is not one in the third batch
    broken = keys_put[4].replace(".zip", "-broken.zip")
    chain.client.put_object(Bucket=name, Key=broken, Body=b"not a bundle")
    good = keys_put
    database = postgres.new_database()
    store = StoppingBucket(S3Location.parse(url, endpoint_url=s3_endpoint), postgres)
    try:
        with pytest.raises(api.HubDatabaseError, match="run ingest again"):
            api.hub_ingest(b.data_dir, url, database, bucket=store)
    finally:
        postgres.start()
    rows, ids = hub_state(database)
    assert sorted(rows) == good[:3] and len(ids) == 6  # the first two batches, whole

    resumed = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)

    assert resumed.loaded == good[3:] and resumed.already == 0 and resumed.events == 10
    assert resumed.refused == [(broken, "not-a-zip")]
    rows, ids = hub_state(database)
    assert rows == {**dict.fromkeys(good, "loaded"), broken: "refused"}
    assert len(ids) == len(set(ids)) == 16
    again = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert again.loaded == [] and again.refused == [] and hub_state(database)[1] == ids


def test_a_loaded_row_is_the_apps_verdicts_row_field_for_field() -> None:
    from qa_desktop.core.verdicts import Citation, VerdictEvent

    # the module (``hub.ingest`` is also the name of its function)
    ingest = importlib.import_module("qa_desktop.core.hub.ingest")
    plain = VerdictEvent(id="e-1", case_id="t-1", reviewer_id="r-1", label="vh_remove")
    full = VerdictEvent(
        id="e-2",
        case_id="t-2",
        reviewer_id="r-2",
        label="vh_remove",
        citations=(Citation("p", "1", "s-1", "a quote"),),
        notes="n",
        time_on_case_ms=5,
        created_at="2026-01-01T00:00:00Z",
        confidence=3,
        rca_reason="unclear",
        gap_kind="missing",
    )
    for event in (plain, full):
        row = ingest._row(event)
        assert row == event.to_row() and list(row) == list(event.to_row())


@pytest.mark.slow
def test_an_event_loaded_before_and_sent_again_loads_its_bundle_and_only_the_new_events(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    # the first COPY of a batch does not look first: here it meets the primary key, is
    # taken back, and the batch is loaded again after a look
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    url = chain.url
    again = chain.event()
    first = chain.put(1, [again, chain.event()])
    database = postgres.new_database()
    assert api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint).events == 2
    second = chain.put(2, [chain.event(), again, chain.event()])

    report = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)

    assert report.loaded == [second] and report.refused == [] and report.events == 2
    rows, ids = hub_state(database)
    assert rows == {first: "loaded", second: "loaded"} and len(ids) == len(set(ids)) == 4
    with psycopg.connect(database) as conn:
        counts = dict(conn.execute("SELECT key, events FROM hub_bundles").fetchall())
    assert counts == {first: 2, second: 2}
