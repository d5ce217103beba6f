"""The team hub (docs/team-hub.md): a headless worker that verifies the signed bundles of an
S3 bucket and loads their events into PostgreSQL, a projection rebuilt from the bucket.

- :mod:`.schema`: the PostgreSQL tables;
- :mod:`.ingest`: list, lock, verify, load (idempotent, restartable, several workers);
- :mod:`.source`: org-wide reports, the app's report code over the hub's events.

psycopg is imported only when a function here runs (the ``team`` extra).
"""

from __future__ import annotations

from .ingest import HubDatabaseError, IngestReport, ingest, rebuild
from .source import hub_report_workspace

__all__ = ["HubDatabaseError", "IngestReport", "hub_report_workspace", "ingest", "rebuild"]
