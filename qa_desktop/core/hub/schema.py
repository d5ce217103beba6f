"""The hub's PostgreSQL tables: a projection of the bucket, dropped and rebuilt at will."""

from __future__ import annotations

from typing import Any

TABLES = ("hub_events", "hub_bundles", "hub_signers")

SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_bundles (
    key text PRIMARY KEY,
    signer_key_id text NOT NULL,
    bundle_id text,
    seq bigint,
    sha256 text NOT NULL,
    state text NOT NULL CHECK (state IN ('loaded', 'refused')),
    reason text,
    message text,
    events integer NOT NULL DEFAULT 0,
    ingested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS hub_bundles_signer_seq ON hub_bundles (signer_key_id, seq);
CREATE TABLE IF NOT EXISTS hub_signers (
    key_id text PRIMARY KEY,
    last_key text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS hub_events (
    id text PRIMARY KEY,
    case_id text NOT NULL,
    reviewer_id text NOT NULL,
    role text,
    label text,
    created_at text NOT NULL,
    row jsonb NOT NULL,
    bundle_key text NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_events_case ON hub_events (case_id);
"""


def create(conn: Any) -> None:
    """Create the tables that are missing (one transaction; an advisory lock serialises
    workers creating them at once)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7316001)")
        conn.execute(SCHEMA)


def drop(conn: Any) -> None:
    """Drop the projection (``hub rebuild`` makes it again from the bucket)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7316001)")
        conn.execute("DROP TABLE IF EXISTS " + ", ".join(TABLES))
