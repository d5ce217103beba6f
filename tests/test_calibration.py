"""Calibration sessions: blind votes, reveal, notes, the arbiter's ruling (issue 11).

Everything goes through the Workspace (``ws.calibration``) or the CLI, on real data
directories; "hidden" is checked on every result the room and the CLI give before a reveal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.cli import cli
from qa_desktop.core import calibration
from qa_desktop.core.api import (
    Citation,
    QueueFilter,
    RefusalReason,
    Refused,
    VerdictDraft,
)
from qa_desktop.core.workspace import Workspace

from .factory import case_record, make_workspace, write_batch
from .recording import record, supporting_citation

LABELS = (
    "no_violation",
    "vh_remove",
    "vh_age_restrict",
    "hs_remove",
    "an_remove",
    "an_age_restrict",
    "hb_remove",
    "sh_remove",
    "sp_reduce",
)
"""Every label of the demo pack: none may show in anything the room says before a reveal."""


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    """The SME's workspace: the demo pack and text cases t-0, t-1, t-2 (market DE)."""
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


def assert_hidden(result: object) -> None:
    """Nothing in ``result`` (a room's answer) names a label: no vote is visible."""
    text = repr(result)
    assert not [label for label in LABELS if label in text], text


def table_counts(ws: Workspace) -> tuple[int, ...]:
    """How many rows each table a calibration writes holds (to check nothing was written)."""
    db = ws.database_for_tests()
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in (
            "verdicts",
            "calibration_sessions",
            "calibration_participants",
            "calibration_cases",
            "calibration_events",
        )
    )


def vh(ws: Workspace, case_id: str = "t-0") -> tuple[Citation, ...]:
    return supporting_citation(ws, case_id, "vh_remove")


def test_a_whole_session_through_the_room(lead: Workspace) -> None:
    room = lead.calibration
    session = room.create(
        "DE week 46", cases=["t-0", "t-1"], participants=["Ana", "Bo", "Cy"], mode="live"
    )
    assert (session.market, session.pack_id, session.mode) == ("DE", "demo-global", "live")
    assert session.arbiter_id == lead.reviewer.id
    assert [p.name for p in session.participants] == ["Ana", "Bo", "Cy"]
    assert not any(p.known for p in session.participants)
    assert session.case_ids == ("t-0", "t-1")

    results: list[object] = [session, room.sessions(), room.session("DE week 46")]
    results.append(room.vote(session.id, "t-0", "Ana", "vh_remove", vh(lead)))
    results.append(room.vote(session.id, "t-0", "bo", "no_violation"))  # names ignore case
    results.append(room.vote("DE week 46", "t-0", "Cy", "vh_remove"))
    results.append(room.vote(session.id, "t-1", "Cy", "sp_reduce"))
    results += [room.case_state(session.id, "t-0"), room.states(session.id)]
    results.append(room.note(session.id, "t-0", "is the weapon real?"))
    for result in results:
        assert_hidden(result)
    before = room.case_state(session.id, "t-0")
    assert before.status_text == "3 of 3 voted"
    assert before.voters == ("Ana", "Bo", "Cy")  # who voted, in participant order
    assert before.revealed is None and before.ruling is None
    assert room.case_state(session.id, "t-1").status_text == "1 of 3 voted"

    after = room.reveal(session.id, "t-0")
    assert after.revealed is not None
    distribution = dict(after.revealed.distribution)
    assert tuple(distribution) == LABELS  # every label of the pack, in its order
    assert distribution["vh_remove"] == 2 and distribution["no_violation"] == 1
    assert sum(distribution.values()) == 3
    assert [(v.voter, v.label) for v in after.revealed.votes] == [
        ("Ana", "vh_remove"),
        ("Bo", "no_violation"),
        ("Cy", "vh_remove"),
    ]
    assert [c.section_id for c in after.revealed.votes[0].citations] == [
        c.section_id for c in vh(lead)
    ]
    assert [n.text for n in after.notes] == ["is the weapon real?"]
    assert room.reveal(session.id, "t-0").revealed.revealed_at == after.revealed.revealed_at
    assert_hidden(room.case_state(session.id, "t-1"))  # one reveal shows one case

    ruling, warnings = room.rule(session.id, "t-0", VerdictDraft("vh_remove", vh(lead)))
    assert warnings == []
    assert (ruling.role, ruling.session_id) == ("arbiter", session.id)
    final = lead.verdicts.final("t-0")
    assert final is not None and final.status == "ruled" and final.label == "vh_remove"
    assert final.event is not None and final.event.id == ruling.id
    assert room.case_state(session.id, "t-0").status_text == (
        "3 of 3 voted; revealed: no_violation 1, vh_remove 2; ruled vh_remove"
    )


def test_a_vote_changes_until_the_reveal_with_a_superseding_event(lead: Workspace) -> None:
    session = lead.calibration.create("s", cases=["t-0"], participants=["Ana", "Bo"])
    first = lead.calibration.vote(session.id, "t-0", "Ana", "no_violation")
    again = lead.calibration.vote(session.id, "t-0", "Ana", "vh_remove", vh(lead))
    assert first.voted == again.voted == 1
    assert_hidden(again)
    votes = [e for e in lead.verdicts.history("t-0") if e.role == "participant"]
    assert len(votes) == 2 and votes[1].supersedes == votes[0].id
    shown = lead.calibration.reveal(session.id, "t-0").revealed
    assert shown is not None
    assert [(v.voter, v.label) for v in shown.votes] == [("Ana", "vh_remove")]
    assert dict(shown.distribution)["no_violation"] == 0


PEOPLE = ("Ana", "Bo", "Cy", "Di")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PEOPLE), st.sampled_from(LABELS), st.sampled_from(["t-0", "t-1"])
        ),
        max_size=12,
    )
)
def test_any_run_of_votes_supersedes_each_voters_own_last_and_counts_each_voter_once(
    lead: Workspace, votes: list[tuple[str, str, str]]
) -> None:
    """Votes read only what they need (the voter's current vote, who voted): after any run
    of votes and changes, on two cases and in two sessions over the same cases, each new
    vote supersedes its voter's last one on that case in that session, the counts before
    the reveal name each voter once (in participant order), and the reveal shows each
    voter's last label."""
    sessions = [
        lead.calibration.create(
            f"s{len(lead.calibration.sessions())}-{n}", cases=["t-0", "t-1"], participants=PEOPLE
        )
        for n in range(2)
    ]
    last: dict[tuple[str, str, str], tuple[str, str]] = {}  # session, case, who -> id, label
    for n, (who, label, case_id) in enumerate(votes):
        session = sessions[n % 2]
        state = lead.calibration.vote(session.id, case_id, who, label)
        assert_hidden(state)
        event = next(
            e
            for e in reversed(lead.verdicts.history(case_id))
            if e.session_id == session.id and e.role == "participant"
        )
        before = last.get((session.id, case_id, who))
        assert event.supersedes == (before[0] if before else None)
        last[(session.id, case_id, who)] = (event.id, label)
        voters = [p for p in PEOPLE if (session.id, case_id, p) in last]
        assert state.voted == len(voters) and list(state.voters) == voters
    for session in sessions:
        for case_id in ("t-0", "t-1"):
            shown = lead.calibration.reveal(session.id, case_id).revealed
            assert shown is not None
            want = {
                p: last[(session.id, case_id, p)][1]
                for p in PEOPLE
                if (session.id, case_id, p) in last
            }
            assert {v.voter: v.label for v in shown.votes} == want
            assert sum(n for _, n in shown.distribution) == len(want)


def test_an_anonymous_session_reveals_votes_without_names(lead: Workspace) -> None:
    session = lead.calibration.create(
        "anon", cases=["t-0"], participants=["Ana", "Bo", "Cy"], anonymous=True
    )
    for who, label in (("Ana", "vh_remove"), ("Bo", "no_violation"), ("Cy", "hs_remove")):
        lead.calibration.vote(session.id, "t-0", who, label)
    shown = lead.calibration.reveal(session.id, "t-0").revealed
    assert shown is not None
    # Sorted by label, not by participant: the order gives nobody away.
    assert [(v.voter, v.label) for v in shown.votes] == [
        ("Voter 1", "hs_remove"),
        ("Voter 2", "no_violation"),
        ("Voter 3", "vh_remove"),
    ]
    assert not {"Ana", "Bo", "Cy"} & {v.voter for v in shown.votes}


def test_a_session_from_a_saved_view_or_a_batch(lead: Workspace, tmp_path: Path) -> None:
    records = [case_record(f"o-{i}", "text", [], tags=[], market="AT") for i in range(2)]
    lead.batches.import_batch(write_batch(tmp_path / "other", records, batch_id="other"))
    lead.queue.save_view("austria", QueueFilter(market="AT"))
    from_view = lead.calibration.create("v", view="austria", participants=["Ana"])
    assert (from_view.case_ids, from_view.source, from_view.market) == (
        ("o-0", "o-1"),
        "view:austria",
        "AT",
    )
    from_batch = lead.calibration.create("b", batch_id="test-batch", participants=["Ana"])
    assert from_batch.case_ids == ("t-0", "t-1", "t-2")
    assert from_batch.source == "batch:test-batch"
    mixed = lead.calibration.create("m", cases=["t-0", "o-0"], participants=["Ana"])
    assert mixed.market == "AT,DE"


def test_a_known_reviewer_votes_under_their_reviewer_id(lead: Workspace) -> None:
    me = lead.reviewer
    session = lead.calibration.create("k", cases=["t-0"], participants=["lead", "Room Guest"])
    assert [(p.id == me.id, p.known, p.name) for p in session.participants] == [
        (True, True, "Lead"),
        (False, False, "Room Guest"),
    ]
    lead.calibration.vote(session.id, "t-0", "Room Guest", "no_violation")
    (vote,) = [e for e in lead.verdicts.history("t-0") if e.role == "participant"]
    assert vote.reviewer_id == session.participants[1].id


def test_votes_never_count_as_the_local_reviewers_verdict(lead: Workspace) -> None:
    """The local reviewer votes in a session: the queue, "mine", the final verdict and the
    findings still see only their own verdicts (before migration 12 the vote became their
    newest event and hid their verdict)."""
    record(lead, "t-1", "no_violation", gap_kind="ambiguous")
    session = lead.calibration.create("me", cases=["t-0", "t-1"], participants=["Lead", "Bo"])
    lead.calibration.vote(session.id, "t-0", "Lead", "vh_remove", vh(lead))
    lead.calibration.vote(session.id, "t-1", "Lead", "vh_remove", vh(lead, "t-1"))

    assert lead.verdicts.mine("t-0") is None
    mine = lead.verdicts.mine("t-1")
    assert mine is not None and mine.label == "no_violation"
    rows = {row.id: row for row in lead.queue.page(limit=10)}
    assert rows["t-0"].my_label is None and rows["t-0"].final_label is None
    assert rows["t-1"].my_label == "no_violation" and rows["t-1"].gap
    assert lead.verdicts.final("t-0").status == "open"
    final = lead.verdicts.final("t-1")
    assert final is not None and (final.status, final.label) == ("decided", "no_violation")
    assert [r.id for r in lead.queue.page(filter=QueueFilter(status="open"))] == ["t-0", "t-2"]
    assert [c.case_id for c in lead.reports.gap_cases()] == ["t-1"]
    assert lead.verdicts.undo("t-0") is None  # a vote is not a verdict to undo


def test_a_ruling_follows_the_verdict_rules_and_needs_the_reveal(lead: Workspace) -> None:
    session = lead.calibration.create("r", cases=["t-0"], participants=["Ana"])
    lead.calibration.vote(session.id, "t-0", "Ana", "vh_remove")
    before = table_counts(lead)
    with pytest.raises(Refused) as early:
        lead.calibration.rule(session.id, "t-0", VerdictDraft("vh_remove", vh(lead)))
    assert early.value.reason == RefusalReason.NOT_REVEALED
    lead.calibration.reveal(session.id, "t-0")
    before = table_counts(lead)
    for draft, reason in (
        (VerdictDraft("vh_remove"), RefusalReason.CITATION_REQUIRED),
        (VerdictDraft("not_a_label"), RefusalReason.UNKNOWN_LABEL),
    ):
        with pytest.raises(Refused) as refused:
            lead.calibration.rule(session.id, "t-0", draft)
        assert refused.value.reason == reason
    assert table_counts(lead) == before
    assert lead.verdicts.final("t-0").status == "open"
    # Someone other than the arbiter cannot rule.
    with pytest.raises(Refused) as other:
        calibration.rule_case(
            lead.database_for_tests(),
            lead.calibration.session(session.id),
            "t-0",
            "someone-else",
            VerdictDraft("vh_remove", vh(lead)),
        )
    assert other.value.reason == RefusalReason.NOT_ARBITER
    assert table_counts(lead) == before


def test_a_ruling_overrides_disputing_sme_verdicts(tmp_path: Path, lead: Workspace) -> None:
    """The SMEs disagree (the case is disputed); the session's ruling becomes final."""
    record(lead, "t-0", "no_violation")
    lead.database_for_tests()["verdicts"].insert(
        {
            "id": "0190f3a2-0000-7000-8000-000000000001",
            "case_id": "t-0",
            "reviewer_id": "other-sme",
            "role": "sme",
            "label": "vh_remove",
            "created_at": "2026-11-01T10:00:00.000Z",
        }
    )
    assert lead.verdicts.final("t-0").status == "disputed"
    session = lead.calibration.create("d", cases=["t-0"], participants=["Ana"])
    lead.calibration.reveal(session.id, "t-0")
    lead.calibration.rule(session.id, "t-0", VerdictDraft("vh_remove", vh(lead)))
    final = lead.verdicts.final("t-0")
    assert final is not None and (final.status, final.label) == ("ruled", "vh_remove")
    assert lead.queue.page(limit=1)[0].final_label == "vh_remove"


@pytest.mark.parametrize(
    ("case_id", "who", "label", "reason"),
    [
        ("t-2", "Ana", "vh_remove", RefusalReason.NOT_IN_SESSION),
        ("nope", "Ana", "vh_remove", RefusalReason.NOT_IN_SESSION),
        ("t-0", "Zed", "vh_remove", RefusalReason.NOT_A_PARTICIPANT),
        ("t-0", "Ana", "not_a_label", RefusalReason.UNKNOWN_LABEL),
        ("t-0", "Ana", "", RefusalReason.UNKNOWN_LABEL),
        ("t-1", "Ana", "vh_remove", RefusalReason.ALREADY_REVEALED),
        ("t-3", "Ana", "vh_remove", RefusalReason.ALREADY_RULED),
    ],
)
def test_bad_votes_are_refused_and_write_nothing(
    tmp_path: Path, case_id: str, who: str, label: str, reason: RefusalReason
) -> None:
    ws = make_workspace(tmp_path, "Lead", cases=4, key=False)
    try:
        session = ws.calibration.create("s", cases=["t-0", "t-1", "t-3"], participants=["Ana"])
        ws.calibration.reveal(session.id, "t-1")
        ws.calibration.reveal(session.id, "t-3")
        ws.calibration.rule(session.id, "t-3", VerdictDraft("vh_remove", vh(ws, "t-3")))
        before = table_counts(ws)
        with pytest.raises(Refused) as refused:
            ws.calibration.vote(session.id, case_id, who, label)
        assert refused.value.reason == reason
        assert table_counts(ws) == before
    finally:
        ws.close()


def test_bad_sessions_are_refused_and_write_nothing(lead: Workspace, tmp_path: Path) -> None:
    lead.calibration.create("taken", cases=["t-0"], participants=["Ana"])
    other_pack = [case_record("p-0", "text", [], tags=[])]
    folder = write_batch(tmp_path / "p", other_pack, batch_id="p")
    text = (folder / "batch.json").read_text(encoding="utf-8")
    (folder / "batch.json").write_text(text.replace('"1.0.0"', '"9.9.9"'), encoding="utf-8")
    lead.batches.import_batch(folder)
    before = table_counts(lead)
    cases = {"cases": ["t-0"]}
    for kwargs, reason in (
        ({"name": "taken", **cases, "participants": ["Ana"]}, RefusalReason.DUPLICATE_NAME),
        ({"name": " ", **cases, "participants": ["Ana"]}, RefusalReason.EMPTY),
        ({"name": "x", "cases": ["t-0", "zz"], "participants": ["A"]}, RefusalReason.UNKNOWN_CASE),
        ({"name": "x", "view": "none", "participants": ["A"]}, RefusalReason.UNKNOWN_VIEW),
        ({"name": "x", "batch_id": "none", "participants": ["A"]}, RefusalReason.UNKNOWN_BATCH),
        ({"name": "x", **cases, "participants": []}, RefusalReason.EMPTY),
        ({"name": "x", **cases, "participants": ["Ana", "ana"]}, RefusalReason.DUPLICATE_NAME),
        ({"name": "x", **cases, "participants": ["Ana", " "]}, RefusalReason.EMPTY),
        ({"name": "x", "cases": ["t-0", "p-0"], "participants": ["A"]}, RefusalReason.MIXED_PACKS),
        ({"name": "x", "cases": ["p-0"], "participants": ["A"]}, RefusalReason.UNKNOWN_LABEL),
    ):
        with pytest.raises(Refused) as refused:
            lead.calibration.create(**kwargs)  # type: ignore[arg-type]
        assert refused.value.reason == reason, kwargs
    with pytest.raises(ValueError, match="one way"):
        lead.calibration.create("x", cases=["t-0"], batch_id="test-batch", participants=["A"])
    with pytest.raises(ValueError, match="live or async"):
        lead.calibration.create("x", cases=["t-0"], participants=["A"], mode="remote")
    with pytest.raises(Refused) as unknown:
        lead.calibration.vote("no such session", "t-0", "Ana", "vh_remove")
    assert unknown.value.reason == RefusalReason.UNKNOWN_SESSION
    assert table_counts(lead) == before


def test_calibration_records_are_append_only(lead: Workspace) -> None:
    session = lead.calibration.create("a", cases=["t-0"], participants=["Ana"])
    lead.calibration.reveal(session.id, "t-0")
    db = lead.database_for_tests()
    for sql in (
        "UPDATE calibration_sessions SET name = 'b'",
        "DELETE FROM calibration_participants",
        "DELETE FROM calibration_cases",
        "UPDATE calibration_events SET kind = 'note'",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.execute(sql)


# -- the command line --------------------------------------------------------------------------


def run(data: Path, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "calibration", *args], obj={})
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_a_whole_session_through_the_cli(lead: Workspace) -> None:
    data = lead.data_dir
    section = vh(lead)[0].section_id
    lead.close()
    out = run(data, "create", "--name", "DE46", "--cases", "t-0,t-1", "-p", "Ana", "-p", "Bo")
    assert "2 cases, 2 participants (live, demo-global 1.0.0, market DE)" in out
    hidden = [out, run(data, "list"), run(data, "show", "DE46")]
    hidden.append(run(data, "vote", "DE46", "t-0", "Ana", "vh_remove", "--cite", section))
    hidden.append(run(data, "vote", "DE46", "t-0", "Bo", "no_violation"))
    hidden.append(run(data, "show", "DE46"))
    hidden.append(run(data, "note", "DE46", "t-0", "context matters"))
    hidden.append(run(data, "rule", "DE46", "t-0", "vh_remove", "--cite", section, ok=False))
    for output in hidden:
        assert not [label for label in LABELS if label in output], output
    assert "vote recorded on t-0: 2 of 2 voted" in hidden[4]
    assert "t-0\t2 of 2 voted\n" in hidden[5] and "t-1\t0 of 2 voted\n" in hidden[5]
    assert "refused (not-revealed)" in hidden[-1]

    revealed = run(data, "reveal", "DE46", "t-0")
    assert "2 of 2 voted; revealed: no_violation 1, vh_remove 1" in revealed
    assert f"Ana: vh_remove (cites {section})" in revealed and "Bo: no_violation" in revealed
    refused = run(data, "vote", "DE46", "t-0", "Bo", "vh_remove", ok=False)
    assert "refused (already-revealed)" in refused
    assert "refused (citation-required)" in run(data, "rule", "DE46", "t-0", "vh_remove", ok=False)
    assert "ruled vh_remove on t-0" in run(
        data, "rule", "DE46", "t-0", "vh_remove", "--cite", section
    )
    shown = run(data, "show", "DE46")
    assert f"ruling: vh_remove (cites {section})" in shown and "note: context matters" in shown
    assert "t-1\t0 of 2 voted\n" in shown
    with Workspace.open(data) as ws:
        assert ws.verdicts.final("t-0").status == "ruled"


def test_cli_refusals_name_the_reason(lead: Workspace) -> None:
    data = lead.data_dir
    lead.close()
    run(data, "create", "--name", "S", "--cases", "t-0", "-p", "Ana")
    assert "refused (not-in-session)" in run(data, "vote", "S", "t-2", "Ana", "sp_reduce", ok=False)
    assert "refused (not-a-participant)" in run(
        data, "vote", "S", "t-0", "Zed", "sp_reduce", ok=False
    )
    assert "refused (unknown-label)" in run(data, "vote", "S", "t-0", "Ana", "nope", ok=False)
    assert "refused (unknown-session)" in run(data, "show", "T", ok=False)
    assert "exactly one of" in run(data, "create", "--name", "X", "-p", "Ana", ok=False)
    out = run(data, "create", "--name", "Y", "--view", "none", "-p", "Ana", ok=False)
    assert "refused (unknown-view)" in out


def test_a_vote_is_not_a_case_decided_in_the_session_summary(lead: Workspace) -> None:
    """The session summary counts the reviewer's own decisions, never their calibration votes."""
    session_id = lead.wellbeing.start_session()
    session = lead.calibration.create("sum", cases=["t-0"], participants=["Lead", "Bo"])
    lead.calibration.vote(session.id, "t-0", "Lead", "no_violation")
    assert lead.wellbeing.session_summary(session_id).decided == 0
    record(lead, "t-1", "no_violation")
    assert lead.wellbeing.session_summary(session_id).decided == 1


def test_the_cli_offers_exactly_core_s_session_modes() -> None:
    """The CLI spells the modes out (importing core for --help would slow it down)."""
    from qa_desktop.cli import cli
    from qa_desktop.core.api import CALIBRATION_MODES

    create = cli.commands["calibration"].commands["create"]  # type: ignore[attr-defined]
    (mode,) = [p for p in create.params if p.name == "mode"]
    assert tuple(mode.type.choices) == tuple(CALIBRATION_MODES)
