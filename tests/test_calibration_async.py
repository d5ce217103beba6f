"""Async calibration sessions across laptops (issue 11): the lead ships a session in a signed
case batch, participants vote blind on their own machines, their signed bundles (format
version 2, kind ``calibration``) bring the votes back, and the lead's imports attach each
vote once, whatever the order, repeats or lateness.

Real data directories, real keys, real signed files; the CLI end to end in subprocess-free
``CliRunner`` calls on three data directories.
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.cli import cli
from qa_desktop.core import bundles
from qa_desktop.core.api import BatchError, RefusalReason, Refused, VerdictDraft
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import supporting_citation

CASES = ["t-0", "t-1"]


@dataclass
class Team:
    """A lead and two participants: Ana has no cases yet (the shipped batch brings them),
    Bo already has the batch the cases come from."""

    root: Path
    lead: Workspace
    ana: Workspace
    bo: Workspace

    def close(self) -> None:
        for ws in (self.lead, self.ana, self.bo):
            ws.close()


def make_team(root: Path) -> Team:
    lead = make_workspace(root, "Lead", cases=3)
    ana = make_workspace(root, "Ana", cases=0)
    bo = make_workspace(root, "Bo", cases=3)
    for participant in (ana, bo):
        introduce(lead, participant)
        introduce(participant, lead, role="lead")
    return Team(root, lead, ana, bo)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    t = make_team(tmp_path)
    yield t
    t.close()


def ship(team: Team, name: str = "Async DE") -> tuple[str, Path]:
    session = team.lead.calibration.create(
        name, cases=CASES, participants=["Ana", "Bo"], mode="async"
    )
    identity = team.lead.trust.identity(PASSPHRASE)
    path = team.lead.calibration.ship(session.id, identity, team.root / "shipped")
    return session.id, path


def export(ws: Workspace, out: Path) -> list[Path]:
    result = ws.bundles.export(ws.trust.identity(PASSPHRASE), out)
    assert result is not None
    return list(result.paths)


def vote_ids(ws: Workspace, session_id: str) -> set[str]:
    db = ws.database_for_tests()
    return {
        r[0]
        for r in db.execute(
            "SELECT id FROM verdicts WHERE session_id = ? AND role = 'participant'", [session_id]
        )
    }


def bundle_kind(path: Path) -> tuple[str, str]:
    """(Bundle-Kind, Format-Version) of a bundle file."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/bag-info.txt"))
        info = dict(
            line.split(": ", 1) for line in archive.read(name).decode().splitlines() if line
        )
    return info["Bundle-Kind"], info["Format-Version"]


# -- shipping and voting ----------------------------------------------------------------------


def test_a_shipped_session_arrives_on_each_laptop_as_an_async_session(team: Team) -> None:
    session_id, path = ship(team)
    for ws, added in ((team.ana, 2), (team.bo, 0)):
        report = ws.batches.import_batch(path, trust_unsigned=False)
        assert report.calibration_session == "Async DE"
        assert report.signed and report.cases_added == added
        (session,) = ws.calibration.sessions()
        assert (session.id, session.mode, session.case_ids) == (session_id, "async", tuple(CASES))
        assert session.arbiter_id == team.lead.reviewer.id
        assert [p.id for p in session.participants] == [team.ana.reviewer.id, team.bo.reviewer.id]
    # importing the same shipped batch again changes nothing
    team.ana.batches.import_batch(path, trust_unsigned=False)
    assert len(team.ana.calibration.sessions()) == 1
    # Ana's copy of the cases is the lead's: the same content hash
    db_lead, db_ana = team.lead.database_for_tests(), team.ana.database_for_tests()
    sql = "SELECT id, content_sha256 FROM cases WHERE id IN ('t-0', 't-1') ORDER BY id"
    assert db_ana.execute(sql).fetchall() == db_lead.execute(sql).fetchall()


def test_the_shipped_metadata_names_participants_with_their_key_ids(team: Team) -> None:
    _, path = ship(team)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("calibration-session.json"))
        meta = json.loads(archive.read(name))
    assert meta["mode"] == "async" and meta["anonymous"] is False
    assert meta["pack_id"] == "demo-global" and meta["market"] == "DE"
    assert [(p["id"], p["key_id"]) for p in meta["participants"]] == [
        (team.ana.reviewer.id, team.ana.trust.public_key().key_id),
        (team.bo.reviewer.id, team.bo.trust.public_key().key_id),
    ]


def test_votes_travel_in_a_v2_calibration_bundle_and_the_lead_attaches_them(team: Team) -> None:
    session_id, path = ship(team)
    for ws, label in ((team.ana, "vh_remove"), (team.bo, "no_violation")):
        ws.batches.import_batch(path, trust_unsigned=False)
        state = ws.calibration.vote(session_id, "t-0", ws.reviewer.id, label)
        assert state.voted == 1 and state.revealed is None
    ana_files = export(team.ana, team.root / "out-ana")
    assert [bundle_kind(p) for p in ana_files] == [("calibration", "2")]
    bo_files = export(team.bo, team.root / "out-bo")
    reports = team.lead.bundles.import_files(ana_files + bo_files)
    assert [(r.refused, r.new_events) for r in reports] == [(False, 1), (False, 1)]
    state = team.lead.calibration.case_state(session_id, "t-0")
    assert (state.voted, state.revealed) == (2, None)
    revealed = team.lead.calibration.reveal(session_id, "t-0").revealed
    assert revealed is not None
    assert dict(revealed.distribution)["vh_remove"] == 1
    assert dict(revealed.distribution)["no_violation"] == 1
    _event, _ = team.lead.calibration.rule(
        session_id,
        "t-0",
        VerdictDraft("vh_remove", supporting_citation(team.lead, "t-0", "vh_remove")),
    )
    final = team.lead.verdicts.final("t-0")
    assert final is not None and final.label == "vh_remove"
    # votes never count as anyone's verdict
    db = team.lead.database_for_tests()
    roles = {r[0] for r in db.execute("SELECT role FROM effective_verdicts WHERE case_id='t-0'")}
    assert roles == {"arbiter"}


def test_a_participants_app_has_no_one_elses_votes(team: Team) -> None:
    session_id, path = ship(team)
    for ws in (team.ana, team.bo):
        ws.batches.import_batch(path, trust_unsigned=False)
    introduce(team.bo, team.ana)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    (report,) = team.bo.bundles.import_files(export(team.ana, team.root / "out-ana"))
    assert not report.refused and report.new_events == 0 and report.unseen == 1
    assert vote_ids(team.bo, session_id) == set()
    assert team.bo.calibration.kept_aside() == 0  # not even kept aside: nothing stored
    assert team.bo.calibration.case_state(session_id, "t-0").voted == 0


def test_votes_reaching_a_participant_before_the_session_are_dropped_when_it_arrives(
    team: Team,
) -> None:
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    introduce(team.bo, team.ana)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    team.bo.bundles.import_files(export(team.ana, team.root / "out-ana"))
    assert team.bo.calibration.kept_aside() == 1  # the session is not on Bo's app yet
    team.bo.batches.import_batch(path, trust_unsigned=False)
    db = team.bo.database_for_tests()
    assert db.execute("SELECT COUNT(*) FROM calibration_pending_votes").fetchone()[0] == 0
    assert vote_ids(team.bo, session_id) == set()


# -- attaching once, whatever the order -------------------------------------------------------


@dataclass
class Scenario:
    """Data directories before any vote came back: the lead's (session created) and an
    observer's (a second lead who trusts everyone and has no session yet); the shipped
    batch and every vote bundle."""

    lead_dir: Path
    observer_dir: Path
    session_id: str
    shipped: Path
    files: list[Path]
    expected: set[str]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from qa_desktop.core import keys

    saved = keys.SCRYPT_N
    keys.SCRYPT_N = 2**4
    root = tmp_path_factory.mktemp("async")
    t = make_team(root)
    observer = make_workspace(root, "Observer", cases=0)
    try:
        for ws in (t.ana, t.bo):
            introduce(observer, ws)
        introduce(observer, t.lead, role="lead")
        session_id, path = ship(t)
        for ws in (t.ana, t.bo):
            ws.batches.import_batch(path, trust_unsigned=False)
        files: list[Path] = []
        # Ana votes, sends; changes her vote, sends again; votes t-1, sends: three bundles
        for case, label in (("t-0", "vh_remove"), ("t-0", "no_violation"), ("t-1", "hs_remove")):
            t.ana.calibration.vote(session_id, case, "Ana", label)
            files += export(t.ana, root / "out-ana")
        t.bo.calibration.vote(session_id, "t-0", "Bo", "vh_remove")
        t.bo.calibration.vote(session_id, "t-1", "Bo", "vh_remove")
        files += export(t.bo, root / "out-bo")
        expected = vote_ids(t.ana, session_id) | vote_ids(t.bo, session_id)
        assert len(expected) == 5
        t.lead.close()
        observer.close()
        yield Scenario(root / "Lead", root / "Observer", session_id, path, files, expected)
    finally:
        keys.SCRYPT_N = saved
        t.ana.close()
        t.bo.close()


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_lead_ends_with_exactly_the_votes_in_any_order_with_repeats(
    scenario: Scenario, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """On the lead's app (session there from the start) or an observer's (the session
    arrives somewhere in the order, maybe twice): exactly the votes, each once."""
    on_observer = data.draw(st.booleans(), label="observer")
    items = scenario.files + ([scenario.shipped] if on_observer else [])
    order = data.draw(
        st.lists(st.sampled_from(items), max_size=6)
        .map(lambda xs: xs + items)  # every file at least once
        .flatmap(st.permutations),
        label="order",
    )
    source = scenario.observer_dir if on_observer else scenario.lead_dir
    copy = tmp_path_factory.mktemp("copy") / source.name
    shutil.copytree(source, copy)
    with Workspace.open(copy) as ws:
        for path in order:
            if path == scenario.shipped:
                report = ws.batches.import_batch(path, trust_unsigned=False)
                assert report.refused_votes == ()
                continue
            (imported,) = ws.bundles.import_files([path])
            assert not imported.refused, imported
            assert imported.refused_votes == ()
        assert vote_ids(ws, scenario.session_id) == scenario.expected
        assert ws.calibration.kept_aside() == 0
        # each participant's current vote is their last one
        state = ws.calibration.reveal(scenario.session_id, "t-0")
        assert state.revealed is not None
        assert sorted(v.label for v in state.revealed.votes) == ["no_violation", "vh_remove"]


def test_votes_before_the_session_exists_are_kept_aside_and_attached_when_it_arrives(
    team: Team,
) -> None:
    # an observer (a second lead) trusts everyone; the votes reach them before the session
    observer = make_workspace(team.root, "Observer", cases=0)
    try:
        for ws in (team.ana, team.bo):
            introduce(observer, ws)
        introduce(observer, team.lead, role="lead")
        session_id, path = ship(team)
        team.ana.batches.import_batch(path, trust_unsigned=False)
        team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
        ana_files = export(team.ana, team.root / "out-ana")
        for _ in range(2):
            (report,) = observer.bundles.import_files(ana_files)
            assert not report.refused and report.new_events == 0
        assert observer.calibration.kept_aside() == 1
        observer.batches.import_batch(path, trust_unsigned=False)
        assert observer.calibration.kept_aside() == 0
        assert vote_ids(observer, session_id) == vote_ids(team.ana, session_id)
        assert observer.calibration.case_state(session_id, "t-0").voted == 1
        # and again: nothing twice
        observer.bundles.import_files(ana_files)
        observer.batches.import_batch(path, trust_unsigned=False)
        assert len(vote_ids(observer, session_id)) == 1
    finally:
        observer.close()


def test_a_late_vote_after_the_reveal_is_attached_once(team: Team) -> None:
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    files = export(team.ana, team.root / "out-ana")
    team.lead.calibration.reveal(session_id, "t-0")
    for _ in range(2):
        team.lead.bundles.import_files(files)
    state = team.lead.calibration.case_state(session_id, "t-0")
    assert state.voted == 1 and state.revealed is not None


# -- refusals -----------------------------------------------------------------------------


def plant_vote(ws: Workspace, session_id: str, case_id: str, label: str) -> None:
    """A vote an outside (older or tampered) app wrote, in the local reviewer's name: it goes
    out signed in their next bundle, like any of their votes."""
    from qa_desktop.core.ids import new_event_id
    from qa_desktop.core.verdicts import VerdictEvent

    event = VerdictEvent(
        id=new_event_id(),
        case_id=case_id,
        reviewer_id=ws.reviewer.id,
        label=label,
        citations=(),
        created_at="2026-01-01T00:00:00.000Z",
        role="participant",
        session_id=session_id,
    )
    ws.database_for_tests().table("verdicts").insert(event.to_row())


def lead_counts(ws: Workspace) -> tuple[int, int]:
    db = ws.database_for_tests()
    return (
        db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM calibration_pending_votes").fetchone()[0],
    )


@pytest.mark.parametrize(
    ("case_id", "label", "reason"),
    [
        ("t-2", "vh_remove", RefusalReason.NOT_IN_SESSION),
        ("t-0", "not_a_label", RefusalReason.UNKNOWN_LABEL),
    ],
)
def test_a_vote_the_session_refuses_is_reported_and_not_written(
    team: Team, case_id: str, label: str, reason: RefusalReason
) -> None:
    session_id, path = ship(team)
    team.bo.batches.import_batch(path, trust_unsigned=False)
    team.bo.calibration.vote(session_id, "t-1", "Bo", "vh_remove")
    plant_vote(team.bo, session_id, case_id, label)
    files = export(team.bo, team.root / "out-bo")
    before = lead_counts(team.lead)
    (report,) = team.lead.bundles.import_files(files)
    assert not report.refused and report.new_events == 1  # the good vote still joins
    assert [r[1] for r in report.refused_votes] == [reason]
    assert "Async DE" in report.refused_votes[0][2]
    assert lead_counts(team.lead) == (before[0] + 1, before[1])


def test_a_vote_from_someone_not_in_the_session_is_refused(team: Team) -> None:
    session_id, path = ship(team)
    cy = make_workspace(team.root, "Cy", cases=0)
    try:
        introduce(cy, team.lead, role="lead")
        introduce(team.lead, cy)
        cy.batches.import_batch(path, trust_unsigned=False)
        # Cy is not a participant: the room refuses, so a vote can only be planted
        with pytest.raises(Refused) as refused:
            cy.calibration.vote(session_id, "t-0", "Cy", "vh_remove")
        assert refused.value.reason == RefusalReason.NOT_A_PARTICIPANT
        plant_vote(cy, session_id, "t-0", "vh_remove")
        before = lead_counts(team.lead)
        (report,) = team.lead.bundles.import_files(export(cy, team.root / "out-cy"))
        assert [r[1] for r in report.refused_votes] == [RefusalReason.NOT_A_PARTICIPANT]
        assert "not a participant" in report.refused_votes[0][2]
        assert lead_counts(team.lead) == before
    finally:
        cy.close()


def test_a_vote_arriving_after_the_ruling_is_refused(team: Team) -> None:
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    files = export(team.ana, team.root / "out-ana")
    team.lead.calibration.reveal(session_id, "t-0")
    team.lead.calibration.rule(
        session_id,
        "t-0",
        VerdictDraft("vh_remove", supporting_citation(team.lead, "t-0", "vh_remove")),
    )
    before = lead_counts(team.lead)
    (report,) = team.lead.bundles.import_files(files)
    assert [r[1] for r in report.refused_votes] == [RefusalReason.ALREADY_RULED]
    assert lead_counts(team.lead) == before
    assert team.lead.calibration.case_state(session_id, "t-0").voted == 0


def test_a_kept_aside_vote_the_arriving_session_refuses_is_dropped(team: Team) -> None:
    observer = make_workspace(team.root, "Observer", cases=0)
    try:
        introduce(observer, team.bo)
        introduce(observer, team.lead, role="lead")
        session_id, path = ship(team)
        team.bo.batches.import_batch(path, trust_unsigned=False)
        plant_vote(team.bo, session_id, "t-2", "vh_remove")  # t-2 is not in the session
        observer.bundles.import_files(export(team.bo, team.root / "out-bo"))
        assert observer.calibration.kept_aside() == 1
        report = observer.batches.import_batch(path, trust_unsigned=False)
        assert [r[1] for r in report.refused_votes] == [RefusalReason.NOT_IN_SESSION]
        assert observer.calibration.kept_aside() == 0
        assert vote_ids(observer, session_id) == set()
    finally:
        observer.close()


def test_a_batch_signed_by_a_lead_without_a_session_is_refused(team: Team) -> None:
    identity = team.lead.trust.identity(PASSPHRASE)
    files = team.lead.batches.read_for_signing(team.root / "batch-Lead")
    path = team.lead.batches.sign(identity, files, team.root / "signed")
    with pytest.raises(BatchError) as error:
        team.ana.batches.import_batch(path, trust_unsigned=False)
    assert "role-not-allowed" in str(error.value) and path.name in str(error.value)
    assert team.ana.calibration.sessions() == []


def test_a_session_shipped_by_someone_who_is_not_its_arbiter_is_refused(team: Team) -> None:
    # Bo is trusted as a lead by Ana, but the session names the lead as its arbiter
    introduce(team.ana, team.bo, role="lead")
    _, path = ship(team)
    files = _unsigned_files(path)
    bo_signed = team.bo.batches.sign(
        team.bo.trust.identity(PASSPHRASE), files, team.root / "bo-signed"
    )
    with pytest.raises(BatchError) as error:
        team.ana.batches.import_batch(bo_signed, trust_unsigned=False)
    assert "not-arbiter" in str(error.value) and bo_signed.name in str(error.value)
    assert team.ana.calibration.sessions() == []
    assert team.ana.database_for_tests().execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def _unsigned_files(signed: Path) -> dict[str, bytes]:
    """The ``data/`` files of a signed batch, by name (to re-sign them)."""
    with zipfile.ZipFile(signed) as archive:
        return {
            n.split("/data/", 1)[1]: archive.read(n)
            for n in archive.namelist()
            if "/data/" in n and not n.endswith("/")
        }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update(mode="live"), "async"),
        (lambda m: m.pop("participants"), "exactly its fields"),
        (lambda m: m.update(participants=[]), "participants"),
        (lambda m: m.update(case_ids=["t-0", "t-0"]), "case_ids"),
        (lambda m: m.update(name=""), "name"),
        (lambda m: m.update(version=9), "version 1"),
    ],
)
def test_bad_session_metadata_in_a_shipped_batch_is_refused(
    team: Team, change: object, problem: str
) -> None:
    _, path = ship(team)
    files = _unsigned_files(path)
    meta = json.loads(files["calibration-session.json"])
    change(meta)  # type: ignore[operator]
    files["calibration-session.json"] = json.dumps(meta).encode()
    resigned = team.lead.batches.sign(
        team.lead.trust.identity(PASSPHRASE), files, team.root / "resigned"
    )
    with pytest.raises(BatchError) as error:
        team.ana.batches.import_batch(resigned, trust_unsigned=False)
    assert "calibration-session.json" in str(error.value) and problem in str(error.value)
    assert team.ana.calibration.sessions() == []
    assert team.ana.database_for_tests().execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_only_the_arbiter_ships_only_an_async_session(team: Team) -> None:
    live = team.lead.calibration.create("Live", cases=CASES, participants=["Ana"], mode="live")
    identity = team.lead.trust.identity(PASSPHRASE)
    with pytest.raises(Refused) as refused:
        team.lead.calibration.ship(live.id, identity, team.root / "out")
    assert refused.value.reason == RefusalReason.NOT_ASYNC
    typed = team.lead.calibration.create(
        "Room", cases=CASES, participants=["Ana", "Someone New"], mode="async"
    )
    with pytest.raises(Refused) as refused:
        team.lead.calibration.ship(typed.id, identity, team.root / "out")
    assert refused.value.reason == RefusalReason.NOT_A_PARTICIPANT
    assert "Someone New" in refused.value.message
    assert not (team.root / "out").exists() or not list((team.root / "out").iterdir())


# -- format versions ------------------------------------------------------------------------


def test_a_v2_bundle_offered_to_a_v1_reader_is_refused_naming_both_versions(team: Team) -> None:
    """A version-1 reader is this reader configured to know versions up to 1: the check is
    "above what this reader knows", so the same code refuses version 3 here tomorrow."""
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    (file,) = export(team.ana, team.root / "out-ana")
    data = file.read_bytes()
    with pytest.raises(bundles.BundleRejected) as rejected:
        bundles.verify_bundle(team.lead.database_for_tests(), data, max_format_version=1)
    assert rejected.value.reason == RefusalReason.UNSUPPORTED_VERSION
    assert "format version 2" in rejected.value.message
    assert "up to 1" in rejected.value.message
    # the current reader takes it
    assert bundles.verify_bundle(team.lead.database_for_tests(), data).kind == "calibration"


def test_a_v1_bundle_still_imports(team: Team) -> None:
    from .recording import record

    ana_cases = make_workspace(team.root, "Ana2", cases=3, reviewer="Ana 2")
    try:
        introduce(team.lead, ana_cases)
        record(ana_cases, "t-0", "vh_remove")
        result = bundles.export_bundle(
            ana_cases.database_for_tests(),
            ana_cases.trust.identity(PASSPHRASE),
            team.root / "v1",
            format_version=1,
        )
        assert result is not None
        assert bundle_kind(result.path) == ("verdicts", "1")
        (report,) = team.lead.bundles.import_files([result.path])
        assert not report.refused and report.new_events == 1
    finally:
        ana_cases.close()


def test_a_calibration_bundle_claiming_version_1_is_refused(team: Team) -> None:
    from qa_desktop.core.bundles.export import build_bag

    identity = team.ana.trust.identity(PASSPHRASE)
    bag = build_bag(
        identity,
        kind="calibration",
        bundle_id="00000000-0000-4000-8000-000000000001",
        seq=1,
        payload={"data/votes.jsonl": b"", "data/checkpoint.json": b"{}"},
        info={"Event-Count": "0", "Batch-Ids": ""},
        format_version=1,
    )
    with pytest.raises(bundles.BundleRejected) as rejected:
        bundles.verify_bundle(team.lead.database_for_tests(), bag.data)
    assert rejected.value.reason == RefusalReason.SCHEMA
    assert "format version 2 or later" in rejected.value.message


# -- the CLI, three data directories ------------------------------------------------------------


def run(runner: CliRunner, data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.slow
def test_an_async_session_end_to_end_through_the_cli(tmp_path: Path) -> None:
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    lead_dir, ana_dir, bo_dir = (tmp_path / n for n in ("lead", "ana", "bo"))
    # the lead has the cases and the pack; the reviewers only the pack
    t = make_workspace(tmp_path, "seed", cases=3, key=False)
    t.close()
    for d, name in ((lead_dir, "Lead"), (ana_dir, "Ana"), (bo_dir, "Bo")):
        with Workspace.open(d) as ws:
            ws.ensure_reviewer(name)
            from qa_desktop.demo import DEMO_PACK

            ws.guidelines.import_pack(DEMO_PACK)
        run(runner, d, "keys", "create", "--name", name)
        run(runner, d, "keys", "export", "--out", str(tmp_path / f"{name}.pub"))
    run(runner, lead_dir, "import", "--trust-unsigned", str(tmp_path / "batch-seed"))
    ids = {}
    for d, name in ((lead_dir, "Lead"), (ana_dir, "Ana"), (bo_dir, "Bo")):
        with Workspace.open(d) as ws:
            ids[name] = ws.reviewer.id
    for name in ("Ana", "Bo"):
        run(runner, lead_dir, "keys", "trust", str(tmp_path / f"{name}.pub"), "--name", name,
            "--role", "reviewer", "--reviewer-id", ids[name])  # fmt: skip
    for d in (ana_dir, bo_dir):
        run(runner, d, "keys", "trust", str(tmp_path / "Lead.pub"), "--name", "Lead",
            "--role", "lead", "--reviewer-id", ids["Lead"])  # fmt: skip
    run(runner, lead_dir, "calibration", "create", "--name", "DE46", "--cases", "t-0,t-1",
        "-p", "Ana", "-p", "Bo", "--mode", "async")  # fmt: skip
    out = run(runner, lead_dir, "calibration", "ship", "DE46", str(tmp_path / "ship"))
    (shipped,) = (tmp_path / "ship").glob("*.zip")
    assert shipped.name in out
    for d, me, label in ((ana_dir, "Ana", "vh_remove"), (bo_dir, "Bo", "no_violation")):
        out = run(runner, d, "import", str(shipped))
        assert "calibration session DE46" in out
        assert "DE46" in run(runner, d, "calibration", "list")
        out = run(runner, d, "calibration", "vote", "DE46", "t-0", me, label)
        assert "1 of 2 voted" in out
        run(runner, d, "calibration", "vote", "DE46", "t-1", me, label)
        run(runner, d, "bundle", "export", str(tmp_path / f"out-{me}"))
    files = sorted((tmp_path / "out-Ana").glob("*.zip")) + sorted(
        (tmp_path / "out-Bo").glob("*.zip")
    )
    rng = random.Random(11)
    order = files * 2
    rng.shuffle(order)
    for path in order:
        run(runner, lead_dir, "bundle", "import", str(path))
    out = run(runner, lead_dir, "calibration", "show", "DE46")
    assert "2 of 2 voted" in out and "vh_remove" not in out
    out = run(runner, lead_dir, "calibration", "reveal", "DE46", "t-0")
    assert "Ana: vh_remove" in out and "Bo: no_violation" in out
    with Workspace.open(lead_dir) as ws:
        (citation,) = supporting_citation(ws, "t-0", "vh_remove")
    out = run(runner, lead_dir, "calibration", "rule", "DE46", "t-0", "vh_remove",
              "--cite", citation.section_id)  # fmt: skip
    assert "vh_remove" in out
    with Workspace.open(lead_dir) as ws:
        final = ws.verdicts.final("t-0")
        assert final is not None and final.label == "vh_remove"
        assert len(vote_ids(ws, ws.calibration.session("DE46").id)) == 4


def test_votes_come_back_through_a_shared_sync_folder(team: Team) -> None:
    session_id, path = ship(team)
    folder = team.root / "share"
    folder.mkdir()
    for ws, label in ((team.ana, "vh_remove"), (team.bo, "hs_remove")):
        ws.batches.import_batch(path, trust_unsigned=False)
        ws.calibration.vote(session_id, "t-0", ws.reviewer.id, label)
    introduce(team.ana, team.bo)
    introduce(team.bo, team.ana)
    for ws in (team.lead, team.ana, team.bo, team.lead, team.ana, team.bo, team.lead):
        report = ws.sync.folder(ws.trust.identity(PASSPHRASE), folder)
        assert not report.refused, report.refused
    assert vote_ids(team.lead, session_id) == vote_ids(team.ana, session_id) | vote_ids(
        team.bo, session_id
    )
    assert len(vote_ids(team.lead, session_id)) == 2
    assert len(vote_ids(team.ana, session_id)) == 1  # still only her own
    assert team.ana.calibration.case_state(session_id, "t-0").voted == 1


@pytest.mark.parametrize("ruled", [False, True])
def test_votes_in_a_v1_verdict_bundle_follow_the_same_rules(team: Team, ruled: bool) -> None:
    """A version-1 writer put votes among the events: they still join their session only
    under its rules (never as plain events that skip them)."""
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    team.ana.calibration.vote(session_id, "t-0", "Ana", "vh_remove")
    result = bundles.export_bundle(
        team.ana.database_for_tests(),
        team.ana.trust.identity(PASSPHRASE),
        team.root / "v1",
        format_version=1,
    )
    assert result is not None and bundle_kind(result.path) == ("verdicts", "1")
    if ruled:
        team.lead.calibration.reveal(session_id, "t-0")
        team.lead.calibration.rule(
            session_id,
            "t-0",
            VerdictDraft("vh_remove", supporting_citation(team.lead, "t-0", "vh_remove")),
        )
    (first,) = team.lead.bundles.import_files([result.path])
    (again,) = team.lead.bundles.import_files([result.path])
    assert not first.refused and not again.refused
    assert [r[1] for r in first.refused_votes] == ([RefusalReason.ALREADY_RULED] if ruled else [])
    assert (first.new_events, again.new_events, again.refused_votes) == (int(not ruled), 0, ())
    voted = team.lead.calibration.case_state(session_id, "t-0").voted
    assert voted == (0 if ruled else 1)


def test_in_an_async_session_each_participant_votes_only_as_themselves(team: Team) -> None:
    session_id, path = ship(team)
    team.ana.batches.import_batch(path, trust_unsigned=False)
    for ws, who in ((team.ana, "Bo"), (team.lead, "Ana")):
        before = lead_counts(ws)
        with pytest.raises(Refused) as refused:
            ws.calibration.vote(session_id, "t-0", who, "vh_remove")
        assert refused.value.reason == RefusalReason.NOT_A_PARTICIPANT
        assert "own app" in refused.value.message
        assert lead_counts(ws) == before


def test_the_cli_says_why_a_session_is_not_shipped_and_which_votes_it_refused(
    team: Team,
) -> None:
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    team.lead.calibration.create("Live", cases=CASES, participants=["Ana"], mode="live")
    out = run(runner, team.root / "Lead", "calibration", "ship", "Live", str(team.root / "o"),
              code=1)  # fmt: skip
    assert "refused (not-async)" in out
    session_id, path = ship(team)
    team.bo.batches.import_batch(path, trust_unsigned=False)
    plant_vote(team.bo, session_id, "t-2", "vh_remove")
    team.bo.calibration.vote(session_id, "t-0", "Bo", "vh_remove")
    (file,) = export(team.bo, team.root / "out-bo")
    out = run(runner, team.root / "Lead", "bundle", "import", str(file))
    assert "1 new events" in out
    assert "refused (not-in-session)" in out and "t-2" in out


@pytest.mark.slow
def test_a_shipped_session_carries_image_and_video_cases_byte_for_byte(tmp_path: Path) -> None:
    from .factory import mixed_batch

    lead = make_workspace(tmp_path, "Lead", cases=0)
    ana = make_workspace(tmp_path, "Ana", cases=0)
    try:
        introduce(lead, ana)
        introduce(ana, lead, role="lead")
        lead.batches.import_batch(mixed_batch(tmp_path / "mixed", images=2, videos=1, texts=1))
        session = lead.calibration.create(
            "Media", batch_id="test-batch", participants=["Ana"], mode="async"
        )
        path = lead.calibration.ship(session.id, lead.trust.identity(PASSPHRASE), tmp_path / "o")
        report = ana.batches.import_batch(path, trust_unsigned=False)
        assert (report.cases_added, report.media_added) == (4, 3)
        for sql in (
            "SELECT id, content_type, content_sha256, text, tags FROM cases ORDER BY id",
            "SELECT case_id, position, name, sha256, mime, size FROM media ORDER BY case_id",
        ):
            assert (
                ana.database_for_tests().execute(sql).fetchall()
                == lead.database_for_tests().execute(sql).fetchall()
            )
        media = ana.queue.case("img-0").media[0]
        assert (
            ana.queue.open_media(media).read_bytes()
            == (tmp_path / "mixed" / "media" / "img0.png").read_bytes()
        )
    finally:
        lead.close()
        ana.close()
