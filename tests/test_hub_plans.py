"""The hub's per-batch queries probe indexes, whatever the size of ``hub_bundles``: a scan
of the whole table per batch would make every bundle cost more than the one before."""

from __future__ import annotations

import importlib

import psycopg
import pytest

from qa_desktop.core.hub import schema

from .hub_services import Postgres, postgres

__all__ = ["postgres"]  # the fixture, imported for pytest

# the module (``hub.ingest`` is also the name of its function)
ingest = importlib.import_module("qa_desktop.core.hub.ingest")

BUNDLES = 20_000
SIGNERS = 200


def plan(conn: psycopg.Connection[tuple[object, ...]], sql: str, params: list[object]) -> str:
    return "\n".join(str(row[0]) for row in conn.execute("EXPLAIN " + sql, params))


@pytest.mark.slow
def test_the_claim_and_replay_lookups_probe_indexes_in_a_grown_table(
    postgres: Postgres,
) -> None:
    with psycopg.connect(postgres.new_database(), autocommit=True) as conn:
        schema.create(conn)
        conn.execute(
            "INSERT INTO hub_bundles (key, signer_key_id, bundle_id, seq, sha256, state, events)"
            " SELECT 'bundles/s' || (n %% %s) || '/' || lpad(n::text, 10, '0') || '.zip',"
            " 's' || (n %% %s), 'b' || n, n / %s, 'x', 'loaded', 50"
            " FROM generate_series(1, %s) AS n",
            [SIGNERS, SIGNERS, SIGNERS, BUNDLES],
        )
        conn.execute("ANALYZE hub_bundles")
        keys = [f"bundles/s{n % SIGNERS}/{n:010d}.zip" for n in range(1, 129)]
        pairs = [[f"s{n % SIGNERS}" for n in range(1, 129)], [n // SIGNERS for n in range(1, 129)]]

        known = plan(conn, ingest.KNOWN_SQL, [keys])
        held = plan(conn, ingest.HELD_SEQ_SQL, pairs)

        assert "Seq Scan on hub_bundles" not in known, known
        assert "hub_bundles_pkey" in known, known
        assert "Seq Scan on hub_bundles" not in held, held
        assert "hub_bundles_signer_seq" in held, held
        assert len(conn.execute(ingest.KNOWN_SQL, [keys]).fetchall()) == 128
        assert len(conn.execute(ingest.HELD_SEQ_SQL, pairs).fetchall()) == 128
