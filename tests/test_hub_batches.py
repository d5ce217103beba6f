"""The hub's batched ingest: keys taken in batches (1, 2, 4, ... keys, one transaction
each), objects read ahead by a pool of threads, a batch's events loaded in one COPY.

A failing read mid-batch loses nothing and loads nothing twice; one refused bundle in a
batch does not stop the others, and gets its ``.reason``."""

from __future__ import annotations

import hashlib
import importlib
import uuid

import boto3
import psycopg
import pytest

from qa_desktop.core import api, audit, keys
from qa_desktop.core.clock import utc_now_iso
from qa_desktop.core.sync_targets import S3Bucket, S3Location, SyncTargetError
from qa_desktop.core.verdicts import VerdictEvent
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE
from .hub_services import Postgres, new_bucket, postgres, s3_endpoint
from .test_bundle_tamper import sign_events

__all__ = ["postgres", "s3_endpoint"]  # the fixtures, imported for pytest

Pair = tuple[Workspace, Workspace]


class Chain:
    """A signer's bundles, built and signed here, put straight into the bucket."""

    def __init__(self, identity: keys.Identity, endpoint: str, bucket: str) -> None:
        self.identity = identity
        self.client = boto3.client("s3", endpoint_url=endpoint)
        self.bucket = bucket
        self.url = f"s3://{bucket}"
        self.start, self.head = 0, audit.GENESIS

    @classmethod
    def in_new_bucket(cls, signer: Workspace, endpoint: str) -> Chain:
        """The chain of ``signer``'s key (passphrase ``PASSPHRASE``) in a bucket of its own."""
        return cls(signer.trust.identity(PASSPHRASE), endpoint, new_bucket(endpoint))

    def event(self, label: str = "vh_remove", event_id: str | None = None) -> bytes:
        """One canonical event line by this signer's reviewer."""
        return audit.event_bytes(
            VerdictEvent(
                id=event_id or str(uuid.uuid4()),
                case_id=f"t-{uuid.uuid4().hex[:6]}",
                reviewer_id=self.identity.reviewer_id,
                label=label,
                created_at=utc_now_iso(),
            )
        )

    def put(self, seq: int, lines: list[bytes], name: str | None = None) -> str:
        """Sign ``lines`` as bundle ``seq`` and put it; its key."""
        bundle_id = name or str(uuid.uuid4())
        data = sign_events(
            self.identity,
            lines,
            seq=seq,
            start=self.start,
            prev_head=self.head,
            bundle_id=bundle_id,
        )
        self.head = audit.chain_head(self.head, [hashlib.sha256(x).hexdigest() for x in lines])
        self.start += len(lines)
        key = f"bundles/{self.identity.key_id}/{seq:010d}-{bundle_id}.zip"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key


def hub_state(database: str) -> tuple[dict[str, str], list[str]]:
    """(key -> state of every bundle row, every loaded event id)."""
    with psycopg.connect(database) as conn:
        rows: dict[str, str] = dict(conn.execute("SELECT key, state FROM hub_bundles").fetchall())
        ids = [r[0] for r in conn.execute("SELECT id FROM hub_events ORDER BY id")]
    return rows, ids


class FailingBucket(S3Bucket):
    """A store whose read of one key fails once (a network error mid-batch)."""

    def __init__(self, location: S3Location, failing: str) -> None:
        super().__init__(location)
        self.failing: str | None = failing

    def get(self, key: str) -> bytes:
        if key == self.failing:
            self.failing = None
            raise SyncTargetError(f"{key}: connection reset while reading")
        return super().get(key)


@pytest.mark.slow
def test_a_failing_read_mid_batch_loses_nothing_and_loads_nothing_twice(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    url = chain.url
    keys_put = [chain.put(seq, [chain.event(), chain.event()]) for seq in range(1, 9)]
    database = postgres.new_database()
    # batches of 1, 2, 4, 1 keys: the fifth key is in the third batch, read ahead in a thread
    store = FailingBucket(S3Location.parse(url, endpoint_url=s3_endpoint), keys_put[4])
    with pytest.raises(SyncTargetError, match="connection reset"):
        api.hub_ingest(b.data_dir, url, database, bucket=store)
    rows, ids = hub_state(database)
    assert sorted(rows) == keys_put[:3] and len(ids) == 6  # the first two batches, whole

    resumed = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)

    assert resumed.loaded == keys_put[3:] and resumed.already == 0 and resumed.events == 10
    rows, ids = hub_state(database)
    assert sorted(rows) == keys_put and set(rows.values()) == {"loaded"}
    assert len(ids) == len(set(ids)) == 16
    again = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert again.loaded == [] and again.events == 0 and hub_state(database)[1] == ids


@pytest.mark.slow
def test_a_refused_bundle_in_a_batch_gets_its_reason_and_the_others_load(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    name, url = chain.bucket, chain.url
    first = [chain.put(seq, [chain.event()]) for seq in (1, 2, 3)]  # batches of 1 and 2
    shared = str(uuid.uuid4())
    same = chain.event(event_id=shared)
    # the third batch: 4 and 7 load; 5 changes 4's event (conflict); 6 replays seq 4
    four = chain.put(4, [same, chain.event()], name="a")
    five = chain.put(5, [chain.event(), chain.event("no_violation", event_id=shared)])
    six = chain.put(4, [chain.event()], name="b")
    seven = chain.put(7, [same, chain.event()])  # the same event again: set union
    database = postgres.new_database()

    report = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)

    assert report.loaded == [*first, four, seven]
    assert sorted(report.refused) == sorted([(five, "event-conflict"), (six, "replay")])
    assert report.events == 3 + 2 + 1
    rows, ids = hub_state(database)
    assert rows == {
        **dict.fromkeys([*first, four, seven], "loaded"),
        five: "refused",
        six: "refused",
    }
    assert len(ids) == len(set(ids)) == 6
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    for key, reason in ((five, b"event-conflict"), (six, b"replay")):
        note = client.get_object(Bucket=name, Key=key + ".reason")["Body"].read()
        assert note.startswith(reason)
    with psycopg.connect(database) as conn:
        label = conn.execute("SELECT label FROM hub_events WHERE id = %s", [shared]).fetchone()
        where = conn.execute("SELECT bundle_key FROM hub_events WHERE id = %s", [shared]).fetchone()
    assert label == ("vh_remove",) and where == (four,)


@pytest.mark.slow
def test_big_bundles_end_a_batch_early_and_each_loads_once(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the module (``hub.ingest`` is also the name of its function)
    ingest = importlib.import_module("qa_desktop.core.hub.ingest")
    monkeypatch.setattr(ingest, "MAX_BATCH_EVENTS", 3)  # a batch holds what 2 bundles hold
    a, b = keyed_pair
    chain = Chain.in_new_bucket(a, s3_endpoint)
    keys_put = [chain.put(seq, [chain.event(), chain.event()]) for seq in range(1, 7)]
    database = postgres.new_database()
    seen: list[int] = []

    report = api.hub_ingest(
        b.data_dir,
        chain.url,
        database,
        endpoint_url=s3_endpoint,
        progress=lambda done, total: seen.append(done),
    )

    assert seen == [0, 1, 3, 5, 6]  # batches of 1, 2, 2 (not 4), 1 keys
    assert report.loaded == keys_put and report.events == 12
    rows, ids = hub_state(database)
    assert sorted(rows) == keys_put and len(ids) == len(set(ids)) == 12
