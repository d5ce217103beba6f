"""Exam attempts travel through sync (issue 14): a reviewer's submitted attempts go out as a
signed ``quiz-attempts`` bundle with the same folder sync that sends verdicts; the lead's sync
scores them once; bad attempts are refused with their reason and nothing written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.api import RefusalReason, Refused
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .hub_services import new_bucket, s3_endpoint
from .recording import record
from .test_quizzes import attempts_bundle, counts, lead_with_gold

__all__ = ["s3_endpoint"]  # the fixture, imported for pytest


@pytest.fixture
def team(tmp_path: Path) -> tuple[Workspace, Workspace, Workspace]:
    """A lead with gold, and two reviewers (Rae, Bo); everyone trusts everyone."""
    lead = lead_with_gold(tmp_path)
    rae = make_workspace(tmp_path, "Rae", cases=0)
    bo = make_workspace(tmp_path, "Bo", cases=0)
    for reviewer in (rae, bo):
        introduce(reviewer, lead, role="issuer")
        introduce(lead, reviewer)
    introduce(rae, bo)
    introduce(bo, rae)
    yield lead, rae, bo
    for ws in (lead, rae, bo):
        ws.close()


def sync(ws: Workspace, folder: Path):  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    return ws.sync.folder(ws.trust.identity(PASSPHRASE), folder)


def test_an_exam_attempt_reaches_the_lead_by_folder_sync(
    tmp_path: Path, team: tuple[Workspace, Workspace, Workspace]
) -> None:
    lead, rae, bo = team
    folder = tmp_path / "shared"
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=4, pass_mark=0.5)
    shipped = lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    got = rae.quizzes.receive(shipped)
    bo.quizzes.receive(shipped)
    attempt = rae.quizzes.start(got.id)
    key = {i.case_id: i.label for i in quiz.items}
    for n, item in enumerate(got.items):
        rae.quizzes.answer(attempt, item.case_id, key[item.case_id] if n < 2 else "hs_remove")
    record(rae, got.items[0].case_id, "vh_remove")  # a verdict travels in the same sync
    assert rae.quizzes.unsent() == 0  # not submitted yet: nothing to send
    rae.quizzes.submit(attempt)
    assert rae.quizzes.unsent() == 1

    sent = sync(rae, folder)
    assert sent.attempts_sent == 1 and sent.exported is not None
    assert rae.quizzes.unsent() == 0
    taken = sync(lead, folder)
    assert taken.refused == [] and taken.attempts_received == 1 and taken.new_events == 1
    [row] = lead.quizzes.results()
    assert (row.reviewer, row.correct, row.total, row.passed) == ("Rae", 2, 4, True)

    # Idempotent: a second sync on either side sends and adds nothing.
    again = sync(lead, folder)
    assert (again.attempts_received, again.new_events, again.refused) == (0, 0, [])
    assert sync(rae, folder).attempts_sent == 0
    assert len(lead.quizzes.results()) == 1
    # Bo (a reviewer who shipped no quiz) takes Rae's bundles without a refusal and stores
    # none of her attempts: they are for the lead.
    colleague = sync(bo, folder)
    rae_files = {p.name for p in (folder / rae.trust.public_key().key_id).iterdir()}
    assert len(rae_files) == 2  # her verdicts and her attempts
    assert not [r for r in colleague.refused if r.name in rae_files]  # (Bo trusts the lead
    assert {r.name for r in colleague.imported} == rae_files  # as an issuer only)
    assert colleague.attempts_received == 0
    assert counts(bo)[2:4] == (0, 0)
    assert not [d for d in bo.bundles.deliveries() if d.missing]


def test_bad_attempts_arriving_by_sync_are_refused_and_nothing_written(
    tmp_path: Path, team: tuple[Workspace, Workspace, Workspace]
) -> None:
    lead, rae, _ = team
    folder = tmp_path / "shared"
    identity = lead.trust.identity(PASSPHRASE)
    first = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2)
    other = lead.quizzes.build("F", mode="exam", market="DE", policy="VH", count=2)
    for quiz in (first, other):
        lead.quizzes.ship(quiz.id, identity, tmp_path / "out")
    answer = {
        "case_id": first.items[0].case_id,
        "label": first.items[0].label,
        "answered_at": "2026-12-01T10:01:00Z",
    }
    outbox = folder / rae.trust.public_key().key_id  # as Rae's sync would publish them
    outbox.mkdir(parents=True)
    attempts_bundle(rae, outbox, id="a-1", quiz_id=first.id, answers=[answer])
    attempts_bundle(rae, outbox, id="a-2", quiz_id=first.id)  # a second where one is allowed
    attempts_bundle(rae, outbox, id="a-3", quiz_id="never-shipped")
    attempts_bundle(rae, outbox, id="a-4", quiz_id=other.id, answers=[answer])  # not in F
    before = counts(lead)
    report = sync(lead, folder)
    assert report.attempts_received == 1
    assert {r.name: r.refused_reason for r in report.refused} == {
        "a-2.zip": RefusalReason.ATTEMPT_LIMIT,
        "a-3.zip": RefusalReason.QUIZ_NOT_SHIPPED,
        "a-4.zip": RefusalReason.NOT_IN_QUIZ,
    }
    assert all(r.refused_message for r in report.refused)
    after = counts(lead)
    assert after[2:4] == (before[2] + 1, before[3] + 1)  # only a-1 and its answer
    # Refused bundles are tried again by the next sync, and refused again: still nothing.
    rerun = sync(lead, folder)
    assert len(rerun.refused) == 3 and counts(lead) == after
    [row] = lead.quizzes.results()
    assert (row.quiz_name, row.correct) == ("E", 1)


def test_an_app_that_shipped_no_quiz_refuses_an_attempts_file(
    tmp_path: Path, team: tuple[Workspace, Workspace, Workspace]
) -> None:
    _lead, rae, bo = team
    path = attempts_bundle(rae, tmp_path / "bad", id="a-1", quiz_id="q")
    before = counts(bo)
    with pytest.raises(Refused) as refused:
        bo.quizzes.import_attempts(path)
    assert refused.value.reason == RefusalReason.QUIZ_NOT_SHIPPED
    assert "shipped no quiz" in str(refused.value) and path.name in str(refused.value)
    assert counts(bo) == before


def test_the_sync_command_says_what_attempts_went_and_came(
    tmp_path: Path, team: tuple[Workspace, Workspace, Workspace]
) -> None:
    lead, rae, _ = team
    folder = tmp_path / "shared"
    folder.mkdir()
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=1)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    attempt = rae.quizzes.start(got.id)
    rae.quizzes.answer(attempt, got.items[0].case_id, "vh_remove")
    rae.quizzes.submit(attempt)
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    sent = runner.invoke(cli, ["--data-dir", str(rae.data_dir), "sync", str(folder)], obj={})
    assert sent.exit_code == 0, sent.output
    assert "sent 1 quiz attempt(s) to your lead" in sent.output
    taken = runner.invoke(cli, ["--data-dir", str(lead.data_dir), "sync", str(folder)], obj={})
    assert taken.exit_code == 0, taken.output
    assert "received 1 quiz attempt(s)" in taken.output


def test_an_exam_attempt_reaches_the_lead_through_an_s3_bucket(
    tmp_path: Path, team: tuple[Workspace, Workspace, Workspace], s3_endpoint: str
) -> None:
    lead, rae, _ = team
    url = f"s3://{new_bucket(s3_endpoint)}/emea"
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    attempt = rae.quizzes.start(got.id)
    for item in got.items:
        rae.quizzes.answer(attempt, item.case_id, "vh_remove")
    rae.quizzes.submit(attempt)

    def s3_sync(ws: Workspace):  # type: ignore[no-untyped-def]
        return ws.sync.to(ws.trust.identity(PASSPHRASE), url, endpoint_url=s3_endpoint)

    assert s3_sync(rae).attempts_sent == 1
    taken = s3_sync(lead)
    assert taken.refused == [] and taken.attempts_received == 1
    assert [s.reviewer for s in lead.quizzes.results()] == ["Rae"]
    assert s3_sync(lead).attempts_received == 0 and s3_sync(rae).attempts_sent == 0


def test_each_lead_scores_its_own_quizzes_and_passes_over_the_others(tmp_path: Path) -> None:
    """Two leads ship an exam each to one reviewer; her sync sends one attempts bundle per
    lead, each naming its lead's key. Each lead's sync stores and scores the attempt for its
    own quiz and logs the other lead's bundle without refusing or storing it, every time."""
    ada = lead_with_gold(tmp_path / "a", "Ada")
    ben = lead_with_gold(tmp_path / "b", "Ben")
    rae = make_workspace(tmp_path, "Rae", cases=0)
    for lead in (ada, ben):
        introduce(rae, lead, role="issuer")
        introduce(lead, rae)
    folder = tmp_path / "shared"
    quizzes = {}
    for lead, name in ((ada, "Ada's exam"), (ben, "Ben's exam")):
        quiz = lead.quizzes.build(name, mode="exam", market="DE", policy="VH", count=2)
        got = rae.quizzes.receive(
            lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
        )
        attempt = rae.quizzes.start(got.id)
        key = {i.case_id: i.label for i in quiz.items}
        for item in got.items:
            rae.quizzes.answer(attempt, item.case_id, key[item.case_id])
        rae.quizzes.submit(attempt)
        quizzes[name] = attempt
    sent = sync(rae, folder)
    assert sent.attempts_sent == 2 and sent.refused == []
    outbox = folder / rae.trust.public_key().key_id
    issuers = set()
    for path in outbox.glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            info = next(n for n in archive.namelist() if n.endswith("bag-info.txt"))
            text = archive.read(info).decode()
        if "quiz-attempts" in text:
            issuers |= {line.split(": ")[1] for line in text.splitlines() if "Quiz-Issuer" in line}
    assert issuers == {ada.trust.public_key().key_id, ben.trust.public_key().key_id}

    for lead, own in ((ada, "Ada's exam"), (ben, "Ben's exam")):
        for _ in range(2):  # and again: nothing refused on a later sync either
            taken = sync(lead, folder)
            assert [(r.name, r.refused_reason) for r in taken.refused] == []
        [row] = lead.quizzes.results()
        assert (row.quiz_name, row.reviewer, row.correct, row.total) == (own, "Rae", 2, 2)
        stored = lead.database_for_tests().execute("SELECT id FROM quiz_attempts").fetchall()
        assert stored == [(quizzes[own],)]
        assert not [d for d in lead.bundles.deliveries() if d.missing]
    for ws in (ada, ben, rae):
        ws.close()


def test_a_reviewer_who_trusts_the_lead_as_lead_takes_its_quiz_and_syncs_with_it(
    tmp_path: Path,
) -> None:
    """The usual team: the reviewer trusts the lead's key as a lead's (it also signs the
    lead's verdicts and calibration sessions). A quiz it ships is received (it was refused:
    only an issuer's key could ship one); a plain case batch signed by the same key is still
    refused: batches come from an issuer."""
    lead = lead_with_gold(tmp_path)
    rae = make_workspace(tmp_path, "Rae", cases=0)
    try:
        introduce(rae, lead, role="lead")
        introduce(lead, rae)
        quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2)
        shipped = lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
        got = rae.quizzes.receive(shipped)
        attempt = rae.quizzes.start(got.id)
        for item in got.items:
            rae.quizzes.answer(attempt, item.case_id, "no_violation")
        rae.quizzes.submit(attempt)
        folder = tmp_path / "shared"
        sent = sync(rae, folder)
        assert sent.refused == [] and sent.attempts_sent == 1
        taken = sync(lead, folder)
        assert taken.refused == [] and taken.attempts_received == 1
        [row] = lead.quizzes.results()
        assert (row.reviewer, row.total) == ("Rae", 2)

        # A plain case batch (no quiz.json, no calibration session) under the same key.
        src = write_batch(tmp_path / "plain-src", [case_record("p-0", "text", [])], "plain")
        identity = lead.trust.identity(PASSPHRASE)
        plain = lead.batches.sign(identity, lead.batches.read_for_signing(src), tmp_path / "p")
        with pytest.raises(Exception, match="lead's: it signs case batches only"):
            rae.batches.import_batch(plain)
        assert rae.queue.case("p-0") is None
    finally:
        rae.close()
        lead.close()
