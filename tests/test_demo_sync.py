"""The demo's finished calibration session stays on the laptop that made it.

``qa-desktop demo`` rules five cases with the local key, whoever's it is. A lead's app
refuses a ruling signed by a reviewer's key (``role-not-allowed``), so a reviewer who had
run the demo could never sync: every sync sent the rulings again and the lead refused the
bundle. The demo session is now local (``local_sessions``): its votes and rulings are never
exported, on any laptop, and the demo still shows a finished session everywhere."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from qa_desktop.core import store
from qa_desktop.core.api import SyncReport
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACKS, DEMO_RULINGS, DEMO_SESSION, add_demo_calibration

from .factory import PASSPHRASE, introduce, make_workspace
from .hub_services import new_bucket, s3_endpoint
from .recording import record

__all__ = ["s3_endpoint"]  # the fixture, imported for pytest


def _with_demo(root: Path, name: str, reviewer: str, demo_batch: Path) -> Workspace:
    """A laptop on which ``qa-desktop demo`` ran (its steps, on the generated batch)."""
    ws = make_workspace(root, name, cases=0, pack=False, reviewer=reviewer)
    ws.guidelines.import_packs(DEMO_PACKS)
    ws.batches.import_batch(demo_batch)
    assert add_demo_calibration(ws) is not None
    return ws


def _ids_in_bundles(folder: Path) -> set[str]:
    """Every event id (verdicts and calibration votes) in the bundles under ``folder``."""
    ids: set[str] = set()
    for path in folder.rglob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(("data/events.jsonl", "data/votes.jsonl")):
                    ids.update(json.loads(line)["id"] for line in archive.read(member).splitlines())
    return ids


def _session_events(ws: Workspace) -> set[str]:
    return {e.id for e in ws.verdicts.events() if e.session_id}


def _event_ids(ws: Workspace) -> set[str]:
    return {e.id for e in ws.verdicts.events()}


@pytest.mark.slow
@pytest.mark.parametrize("target", ["folder", "s3"])
def test_a_reviewer_who_ran_the_demo_syncs_with_a_lead(
    tmp_path: Path, demo_batch: Path, target: str, request: pytest.FixtureRequest
) -> None:
    lead = _with_demo(tmp_path, "lead", "Lead", demo_batch)
    # Named like a demo participant: her demo votes are hers too, not only the rulings.
    ana = _with_demo(tmp_path, "ana", "Ana Lima", demo_batch)
    introduce(lead, ana)  # a reviewer's key: it may not sign rulings
    introduce(ana, lead, role="lead")
    assert ana.reviewer is not None
    assert any(
        e.reviewer_id == ana.reviewer.id and e.role == "participant" for e in ana.verdicts.events()
    )
    folder = tmp_path / "shared"
    folder.mkdir()
    endpoint: str | None = None
    where: str | Path = folder
    if target == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        where = f"s3://{new_bucket(endpoint)}/team"

    def sync(ws: Workspace) -> SyncReport:
        return ws.sync.to(ws.trust.identity(PASSPHRASE), where, endpoint_url=endpoint)

    # Ana records a verdict on an ordinary case and one on a case the demo ruled, and syncs.
    mine = [record(ana, "demo-001", "no_violation"), record(ana, "demo-009", "vh_remove")]
    sent = sync(ana)
    taken = sync(lead)
    assert taken.refused == [] and taken.untrusted == []  # was: role-not-allowed, every sync
    assert taken.new_events == 2
    assert sent.refused == [] and sent.exported is not None
    assert sent.exported.event_count == 2  # not her demo votes and rulings
    assert {e.id for e in mine} <= {e.id for e in lead.verdicts.events()}
    assert lead.verdicts.final("demo-001") is not None

    # And the syncs after that refuse nothing either, on both sides.
    later = record(ana, "demo-002", "no_violation")
    again = sync(ana)
    assert again.refused == [] and again.new_events == 0
    taken = sync(lead)
    assert taken.refused == [] and taken.new_events == 1
    assert later.id in {e.id for e in lead.verdicts.events()}
    assert sync(ana).refused == [] and sync(lead).refused == []

    # Neither laptop's demo session left it; each still shows its finished session.
    assert not _session_events(ana) & _event_ids(lead)
    assert not _session_events(lead) & _event_ids(ana)
    if target == "folder":
        assert not _ids_in_bundles(folder) & (_session_events(ana) | _session_events(lead))
    for ws in (ana, lead):
        [session] = ws.calibration.sessions()
        assert session.name == DEMO_SESSION
        assert all(s.ruling is not None for s in ws.calibration.states(session.id))
    lead.close()
    ana.close()


def test_a_demo_session_made_before_becomes_local(tmp_path: Path, demo_batch: Path) -> None:
    """A laptop that ran the demo before the fix: its session is made local by the migration,
    so its rulings (never accepted by a lead) stop going out with every sync."""
    ws = make_workspace(tmp_path, "old", cases=0, pack=False)
    ws.guidelines.import_packs(DEMO_PACKS)
    ws.batches.import_batch(demo_batch)
    old = ws.calibration.create(DEMO_SESSION, cases=list(DEMO_RULINGS), participants=["Bo Berg"])
    other = ws.calibration.create("Weekly", cases=["demo-001"], participants=["Bo Berg"])
    db = ws.database_for_tests()
    store._migration_20(db)  # the migration, as it runs over such a database
    local = {r[0] for r in db.execute("SELECT session_id FROM local_sessions")}
    assert local == {old.id} and other.id not in local
    store._migration_20(db)  # running it again changes nothing
    ws.close()
