"""The team hub end to end: two laptops and a lead sync through S3, the hub loads PostgreSQL,
and the org-wide report matches the lead's laptop (docs/team-hub.md)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core import api
from qa_desktop.core.sync_targets import S3Bucket, S3Location
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .hub_services import Postgres, new_bucket, postgres, s3_endpoint
from .recording import record
from .test_bundles import verdict_rows

__all__ = ["postgres", "s3_endpoint"]  # the fixtures, imported for pytest

Pair = tuple[Workspace, Workspace]


def s3_sync(ws: Workspace, url: str, endpoint: str, **kwargs: object) -> api.SyncReport:
    return ws.sync.to(ws.trust.identity(PASSPHRASE), url, endpoint_url=endpoint, **kwargs)  # type: ignore[arg-type]


def hub_events(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, bundle_key FROM hub_events ORDER BY id").fetchall()


@pytest.mark.slow
def test_two_laptops_and_a_lead_through_s3_hub_and_org_report(
    keyed_pair: Pair, tmp_path: Path, s3_endpoint: str, postgres: Postgres
) -> None:
    a, b = keyed_pair
    lead = make_workspace(tmp_path, "Lea", reviewer="Lea")
    try:
        for laptop in (a, b):
            introduce(lead, laptop)
            introduce(laptop, lead, "lead")
        url = f"s3://{new_bucket(s3_endpoint)}/emea"
        record(a, "t-0", "vh_remove")
        record(b, "t-0", "no_violation")
        record(b, "t-1", "vh_remove")
        record(lead, "t-2", "no_violation")
        assert s3_sync(a, url, s3_endpoint).exported is not None
        assert s3_sync(b, url, s3_endpoint).new_events == 1
        assert s3_sync(lead, url, s3_endpoint).new_events == 3
        assert s3_sync(a, url, s3_endpoint).new_events == 3
        again = s3_sync(b, url, s3_endpoint)
        assert again.new_events == 1 and not again.refused
        assert verdict_rows(a) == verdict_rows(b) == verdict_rows(lead)
        rerun = s3_sync(a, url, s3_endpoint)  # cursors: nothing listed again, nothing new
        assert rerun.exported is None and rerun.new_events == 0 and rerun.skipped_seen == 0

        database = postgres.new_database()
        run = CliRunner().invoke(
            cli,
            [
                "hub",
                "ingest",
                "--bucket",
                url,
                "--database",
                database,
                "--trust",
                str(lead.data_dir),
                "--endpoint-url",
                s3_endpoint,
            ],
            obj={},
        )
        assert run.exit_code == 0, run.output
        assert "loaded 3 bundles (4 new events), 0 refused" in run.output
        assert [e[0] for e in hub_events(database)] == [r["id"] for r in verdict_rows(lead)]
        again_run = api.hub_ingest(lead.data_dir, url, database, endpoint_url=s3_endpoint)
        assert again_run.loaded == [] and again_run.events == 0

        local = lead.reports.performance()
        with api.hub_report_workspace(lead.data_dir, database) as org:
            assert org.reports.performance() == local
        for source in ([], ["--source", database]):
            out = tmp_path / f"csv{len(source)}"
            done = CliRunner().invoke(
                cli,
                [
                    "--data-dir",
                    str(lead.data_dir),
                    "report",
                    "--format",
                    "csv",
                    "--out",
                    str(out),
                    *source,
                ],
                obj={},
            )
            assert done.exit_code == 0, done.output
        assert {p.name: p.read_text() for p in (tmp_path / "csv0").iterdir()} == {
            p.name: p.read_text() for p in (tmp_path / "csv2").iterdir()
        }

        rebuilt = api.hub_rebuild(lead.data_dir, url, database, endpoint_url=s3_endpoint)
        assert rebuilt.events == 4 and len(rebuilt.loaded) == 3
        assert [e[0] for e in hub_events(database)] == [r["id"] for r in verdict_rows(lead)]
    finally:
        lead.close()


def test_a_second_conditional_put_is_412_and_counts_as_published(s3_endpoint: str) -> None:
    bucket = S3Bucket(S3Location.parse(f"s3://{new_bucket(s3_endpoint)}", endpoint_url=s3_endpoint))
    assert bucket.put_if_absent("bundles/K/0000000001-x.zip", b"one")
    assert not bucket.put_if_absent("bundles/K/0000000001-x.zip", b"two")
    assert bucket.get("bundles/K/0000000001-x.zip") == b"one"


def test_a_missing_bucket_is_an_error_naming_it(keyed_pair: Pair, s3_endpoint: str) -> None:
    a, _ = keyed_pair
    record(a, "t-0", "vh_remove")
    with pytest.raises(api.SyncTargetError, match=r"no-such-qa-bucket.*does not exist"):
        s3_sync(a, "s3://no-such-qa-bucket/x", s3_endpoint)


def test_an_unreachable_store_loses_nothing_and_the_next_sync_resumes(
    keyed_pair: Pair, s3_endpoint: str
) -> None:
    from .hub_services import free_port

    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    record(a, "t-0", "vh_remove")
    with pytest.raises(api.SyncTargetError, match=r"cannot be reached.*nothing was lost"):
        s3_sync(a, url, f"http://127.0.0.1:{free_port()}")
    assert s3_sync(a, url, s3_endpoint).exported is not None  # nothing was taken for done
    assert s3_sync(b, url, s3_endpoint).new_events == 1


def test_a_lost_answer_to_a_put_is_published_again_without_harm(
    keyed_pair: Pair, s3_endpoint: str
) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    record(a, "t-0", "vh_remove")
    s3_sync(a, url, s3_endpoint)
    for marker in (a.data_dir / "outbox").rglob("*.published"):
        marker.unlink()  # as if the store's 200 never arrived
    assert s3_sync(a, url, s3_endpoint).refused == []
    assert s3_sync(b, url, s3_endpoint).new_events == 1


def test_cancel_between_bundles_and_progress(keyed_pair: Pair, s3_endpoint: str) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    record(a, "t-0", "vh_remove")
    s3_sync(a, url, s3_endpoint)
    record(a, "t-1", "vh_remove")
    s3_sync(a, url, s3_endpoint)
    seen: list[tuple[int, int]] = []
    stopped = s3_sync(
        b, url, s3_endpoint, progress=lambda d, t: seen.append((d, t)), cancelled=lambda: bool(seen)
    )
    assert stopped.cancelled and stopped.new_events == 0 and seen == [(0, 2)]
    rest: list[tuple[int, int]] = []
    done = s3_sync(b, url, s3_endpoint, progress=lambda d, t: rest.append((d, t)))
    assert done.new_events == 2 and rest[-1] == (2, 2)


class DroppingBucket(S3Bucket):
    """A store whose connection drops on the second read (as a network would)."""

    reads = 0

    def get(self, key: str) -> bytes:
        DroppingBucket.reads += 1
        if DroppingBucket.reads == 2:
            raise api.SyncTargetError(f"{key}: connection reset; nothing was lost")
        return super().get(key)


def test_a_network_failure_mid_pull_keeps_what_was_taken_and_the_next_sync_resumes(
    keyed_pair: Pair, s3_endpoint: str
) -> None:
    from qa_desktop.core.sync_targets import S3Target

    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}"
    for case in ("t-0", "t-1", "t-2"):
        record(a, case, "vh_remove")
        s3_sync(a, url, s3_endpoint)
    location = S3Location.parse(url, endpoint_url=s3_endpoint)
    with pytest.raises(api.SyncTargetError, match="connection reset"):
        S3Target(location).sync(
            b.database_for_tests(),
            b.trust.identity(PASSPHRASE),
            data_dir=b.data_dir,
            bucket=DroppingBucket(location),
        )
    assert len(verdict_rows(b)) == 1  # the first bundle, whole
    resumed = s3_sync(b, url, s3_endpoint)
    assert resumed.new_events == 2 and resumed.skipped_seen == 0 and not resumed.refused
    assert verdict_rows(a) == verdict_rows(b)


def test_the_cli_syncs_with_an_s3_url(keyed_pair: Pair, s3_endpoint: str) -> None:
    a, b = keyed_pair
    url = f"s3://{new_bucket(s3_endpoint)}/cli"
    record(a, "t-0", "vh_remove")
    for ws, expected in ((a, "imported 0 bundles"), (b, "imported 1 bundles (1 new events)")):
        run = CliRunner().invoke(
            cli,
            ["--data-dir", str(ws.data_dir), "sync", url, "--endpoint-url", s3_endpoint],
            obj={},
            env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE},
        )
        assert run.exit_code == 0, run.output
        assert expected in run.output
    missing = CliRunner().invoke(
        cli,
        ["--data-dir", str(a.data_dir), "sync", "s3://qa-nope", "--endpoint-url", s3_endpoint],
        obj={},
        env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE},
    )
    assert missing.exit_code == 1 and "qa-nope" in missing.output
