"""The reports room (``ws.reports``): what the verdicts add up to, for the lead and management.

Today: the findings (RCA escalations and policy gaps by cited section). The performance
reports (accuracy by policy, market, moderator and week) come here next::

    for group in ws.reports.rca_escalations(): ...
"""

from __future__ import annotations

import sqlite_utils

from . import findings


class Reports:
    """Read-only figures over one database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def rca_escalations(self, reviewer_id: str | None = None) -> list[findings.FindingGroup]:
        """Verdicts escalated for RCA, grouped by cited section (one reviewer's, if given)."""
        return findings.rca_escalations(self._db, reviewer_id)

    def policy_gaps(self, reviewer_id: str | None = None) -> list[findings.FindingGroup]:
        """Verdicts flagging a policy gap, grouped by cited section (one reviewer's, if given)."""
        return findings.policy_gaps(self._db, reviewer_id)

    def rca_cases(self, reviewer_id: str | None = None) -> list[findings.FindingCase]:
        """The RCA-escalated verdicts one row each: notes, market, moderator, reviewer."""
        return findings.rca_cases(self._db, reviewer_id)

    def gap_cases(self, reviewer_id: str | None = None) -> list[findings.FindingCase]:
        """The policy-gap verdicts one row each: notes, market, moderator, reviewer."""
        return findings.gap_cases(self._db, reviewer_id)
