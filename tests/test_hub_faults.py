"""The hub's faults: bad objects in the bucket refused with a ``.reason`` beside them and never
loaded; two hubs at once; the database going away mid-ingest; a listing that repeats a key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import psycopg
import pytest

from qa_desktop.core import api
from qa_desktop.core.sync_targets import S3Bucket, S3Location
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .hub_services import Postgres, new_bucket, postgres, s3_endpoint
from .recording import record
from .test_bundles import flip_a_content_byte

__all__ = ["postgres", "s3_endpoint"]  # the fixtures, imported for pytest

Pair = tuple[Workspace, Workspace]


def publish(ws: Workspace, url: str, endpoint: str, cases: list[str]) -> None:
    """One bundle per case: record, then sync (which exports and publishes it)."""
    for case in cases:
        record(ws, case, "vh_remove")
        ws.sync.to(ws.trust.identity(PASSPHRASE), url, endpoint_url=endpoint)


def loaded(database: str) -> tuple[list[tuple[str, str]], int]:
    """(key, state) of every bundle the hub took, and how many events it holds."""
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT key, state FROM hub_bundles ORDER BY key").fetchall()
        events = conn.execute("SELECT count(*) FROM hub_events").fetchone()
    assert events is not None
    return rows, int(events[0])


def objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=endpoint)
    listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing
    }


@pytest.mark.slow
def test_bad_objects_are_refused_with_a_reason_and_never_loaded(
    keyed_pair: Pair, tmp_path: Path, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    name = new_bucket(s3_endpoint)
    url = f"s3://{name}"
    stranger = make_workspace(tmp_path, "Cy")  # nobody trusts Cy's key
    publish(a, url, s3_endpoint, ["t-0"])
    publish(stranger, url, s3_endpoint, ["t-1"])
    cy = stranger.trust.public_key().key_id
    good = next(k for k in objects(s3_endpoint, name) if a.trust.public_key().key_id in k)
    outbox = next((a.data_dir / "outbox").rglob("*.zip"))
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bad = {
        "bundles/0000000000000001/0000000001-not.zip": b"this is not a bundle",
        "bundles/0000000000000002/0000000001-tampered.zip": flip_a_content_byte(outbox),
        "bundles/0000000000000003/0000000001-truncated.zip": outbox.read_bytes()[:300],
    }
    for key, data in bad.items():
        client.put_object(Bucket=name, Key=key, Body=data)
    database = postgres.new_database()

    report = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)

    reasons = dict(report.refused)
    assert report.loaded == [good] and report.events == 1
    untrusted = next(k for k in objects(s3_endpoint, name) if cy in k)
    assert reasons == {
        untrusted: "unknown-signer",
        "bundles/0000000000000001/0000000001-not.zip": "not-a-zip",
        "bundles/0000000000000002/0000000001-tampered.zip": "corrupt",
        "bundles/0000000000000003/0000000001-truncated.zip": "not-a-zip",
    }
    stored = objects(s3_endpoint, name)
    for key in reasons:
        assert stored[key + ".reason"].decode().startswith(reasons[key])
    rows, events = loaded(database)
    assert events == 1 and sorted(state for _, state in rows) == ["loaded"] + ["refused"] * 3
    rerun = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert rerun.loaded == [] and loaded(database)[1] == 1
    assert rerun.refused == [(untrusted, "unknown-signer")]  # waits for its key, as on a laptop
    introduce(b, stranger)
    stranger.close()
    trusted = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert trusted.loaded == [untrusted] and trusted.refused == [] and loaded(database)[1] == 2


def test_a_trust_dir_without_a_workspace_is_an_error_not_an_empty_trust_store(
    tmp_path: Path, s3_endpoint: str
) -> None:
    url = f"s3://{new_bucket(s3_endpoint)}"
    with pytest.raises(api.QADesktopError, match="not a QA Desktop data directory"):
        api.hub_ingest(tmp_path, url, "postgresql://unused", endpoint_url=s3_endpoint)
    assert not (tmp_path / "qa.db").exists()


@pytest.mark.slow
def test_a_revoked_key_is_refused(keyed_pair: Pair, s3_endpoint: str, postgres: Postgres) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    publish(a, url, s3_endpoint, ["t-0"])
    b.trust.revoke(a.trust.public_key().key_id)
    report = api.hub_ingest(b.data_dir, url, postgres.new_database(), endpoint_url=s3_endpoint)
    assert [reason for _, reason in report.refused] == ["revoked-signer"] and report.events == 0


@pytest.mark.slow
def test_two_hubs_at_once_load_each_bundle_once(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    publish(a, url, s3_endpoint, ["t-0", "t-1", "t-2"] * 3)
    database = postgres.new_database()
    command = [sys.executable, "-m", "qa_desktop", "hub", "ingest", "--bucket", url]
    command += ["--database", database, "--trust", str(b.data_dir), "--endpoint-url", s3_endpoint]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [w.communicate(timeout=100)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    counts = [int(out.split("loaded ")[1].split(" ")[0]) for out in outputs]
    assert sum(counts) == 9, outputs
    rows, events = loaded(database)
    assert len(rows) == 9 and events == 9


@pytest.mark.slow
def test_the_database_going_away_mid_ingest_then_resuming_loads_nothing_twice(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    publish(a, url, s3_endpoint, ["t-0", "t-1", "t-2", "t-0", "t-1"])
    database = postgres.new_database()

    def stop_at_third(done: int, total: int) -> None:
        if done == 3:
            postgres.stop("immediate")

    try:
        with pytest.raises(api.HubDatabaseError, match="run ingest again"):
            api.hub_ingest(
                b.data_dir, url, database, endpoint_url=s3_endpoint, progress=stop_at_third
            )
    finally:
        postgres.start()
    rows, events = loaded(database)
    assert len(rows) == 3 and events == 3
    resumed = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert len(resumed.loaded) == 2 and resumed.already == 0
    rows, events = loaded(database)
    assert len(rows) == 5 and len({k for k, _ in rows}) == 5 and events == 5


class RepeatingBucket(S3Bucket):
    """A store whose listing returns every key twice (eventually consistent listings do)."""

    def bundles_after(self, key_id: str, after: str) -> list[str]:
        keys = super().bundles_after(key_id, after)
        return [k for key in keys for k in (key, key)]


@pytest.mark.slow
def test_a_listing_that_repeats_a_key_loads_it_once(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    publish(a, url, s3_endpoint, ["t-0", "t-1"])
    database = postgres.new_database()
    store = RepeatingBucket(S3Location.parse(url, endpoint_url=s3_endpoint))
    report = api.hub_ingest(b.data_dir, url, database, bucket=store)
    assert len(report.loaded) == 2 and report.events == 2 and report.already == 0
    assert loaded(database)[1] == 2
    taken = b.sync.to(b.trust.identity(PASSPHRASE), url, endpoint_url=s3_endpoint)
    assert taken.new_events == 2


@pytest.mark.slow
def test_a_changed_event_under_a_known_id_is_refused_and_the_first_kept(
    keyed_pair: Pair, s3_endpoint: str, postgres: Postgres
) -> None:
    from qa_desktop.core.formats.canonical import dumps_canonical

    from .test_bundle_tamper import sign_events

    a, b = keyed_pair
    name = new_bucket(s3_endpoint)
    url = f"s3://{name}"
    publish(a, url, s3_endpoint, ["t-0"])
    identity = a.trust.identity(PASSPHRASE)
    first = a.verdicts.events()[0].to_json()
    changed = dumps_canonical({**first, "label": "no_violation"})
    forged = sign_events(identity, [changed], seq=5, start=100, prev_head="a" * 64)
    key = f"bundles/{identity.key_id}/0000000005-forged.zip"
    boto3.client("s3", endpoint_url=s3_endpoint).put_object(Bucket=name, Key=key, Body=forged)
    database = postgres.new_database()
    report = api.hub_ingest(b.data_dir, url, database, endpoint_url=s3_endpoint)
    assert report.refused == [(key, "event-conflict")] and report.events == 1
    with psycopg.connect(database) as conn:
        labels = conn.execute("SELECT label FROM hub_events").fetchall()
    assert labels == [("vh_remove",)]
    assert objects(s3_endpoint, name)[key + ".reason"].startswith(b"event-conflict")
