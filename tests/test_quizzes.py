"""Knowledge quizzes (issue 14): built from gold, shipped signed, taken on a reviewer's data
directory in training and exam mode, scored by the lead; bad input refused, nothing written."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.cli import cli
from qa_desktop.core.api import RefusalReason, Refused, VerdictDraft
from qa_desktop.core.bundles.payloads.case_batches import sign_case_batch_files
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .recording import supporting_citation

# g-0..g-5: the calibration votes each case drew and the ruling (all VH, market DE).
RULINGS = {
    "g-0": ("vh_remove", ["no_violation", "no_violation", "vh_remove"]),
    "g-1": ("vh_remove", ["vh_age_restrict", "vh_remove", "vh_remove"]),
    "g-2": ("no_violation", ["no_violation", "no_violation", "no_violation"]),
    "g-3": ("vh_age_restrict", ["vh_remove", "vh_remove", "no_violation"]),
    "g-4": ("vh_remove", ["vh_remove", "vh_remove", "vh_remove"]),
    "g-5": ("no_violation", ["vh_remove", "vh_remove", "no_violation"]),
}


def lead_with_gold(root: Path, name: str = "Lead") -> Workspace:
    """A lead (``root/name``) whose six gold cases were ruled in one calibration session,
    with a note."""
    lead = make_workspace(root, name, cases=0)
    records = [case_record(c, "text", [], tags=[]) for c in RULINGS]
    lead.batches.import_batch(write_batch(root / "gold-src", records, batch_id="gold-src"))
    session = lead.calibration.create("VH", cases=list(RULINGS), participants=["Ana", "Bo", "Cy"])
    for case_id, (label, votes) in RULINGS.items():
        for who, vote in zip(("Ana", "Bo", "Cy"), votes, strict=True):
            lead.calibration.vote(session.id, case_id, who, vote)
        lead.calibration.reveal(session.id, case_id)
        if case_id == "g-0":
            lead.calibration.note(session.id, case_id, "The threat names a real target.")
        cited = supporting_citation(lead, case_id, label)
        lead.calibration.rule(session.id, case_id, VerdictDraft(label, cited))
        lead.gold.promote(case_id)
    return lead


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    lead = lead_with_gold(tmp_path)
    reviewer = make_workspace(tmp_path, "Rae", cases=0)
    introduce(reviewer, lead, role="issuer")
    introduce(lead, reviewer)
    yield lead, reviewer
    lead.close()
    reviewer.close()


def test_build_takes_the_hardest_gold_and_burns_it(pair: tuple[Workspace, Workspace]) -> None:
    lead, _ = pair
    quiz = lead.quizzes.build(
        "VH basics", mode="training", market="DE", policy="VH", count=3, min_difficulty=0.3
    )
    gold_ids = [
        r[0]
        for r in lead.database_for_tests().execute(
            "SELECT gold_case_id FROM quiz_items ORDER BY position"
        )
    ]
    # Difficulty: g-3 3/3 wrong, g-0 and g-5 2/3 (then by id), g-1 1/3.
    assert gold_ids == ["g-3", "g-0", "g-5"]
    assert {g.case_id for g in lead.gold.cases() if g.quiz_id == quiz.id} == set(gold_ids)
    first = quiz.items[1].explanation
    assert first is not None and first.ruling == "vh_remove"
    assert first.common_wrong == "no_violation"
    assert first.notes == ("The threat names a real target.",)
    assert first.sections and first.sections[0].text
    with pytest.raises(Refused) as short:
        lead.quizzes.build("more", mode="exam", market="DE", policy="VH", count=4)
    assert short.value.reason == RefusalReason.NOT_ENOUGH_GOLD  # 3 left
    assert len(lead.quizzes.quizzes()) == 1


def test_a_training_quiz_end_to_end(tmp_path: Path, pair: tuple[Workspace, Workspace]) -> None:
    lead, rae = pair
    quiz = lead.quizzes.build("T", mode="training", market="DE", policy="VH", count=4)
    path = lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    got = rae.quizzes.receive(path)
    assert got.has_key and [i.case_id for i in got.items] == [i.case_id for i in quiz.items]
    attempt = rae.quizzes.start(got.id)
    key = {i.case_id: i.label for i in quiz.items}
    items = got.items
    feedback = [
        rae.quizzes.answer(attempt, item.case_id, key[item.case_id] if n else "hs_remove")
        for n, item in enumerate(items)
    ]
    assert feedback[0] is not None and not feedback[0].correct
    assert feedback[0].explanation.ruling == key[items[0].case_id]
    assert all(f is not None and f.correct for f in feedback[1:])
    score = rae.quizzes.submit(attempt)
    assert score is not None and (score.correct, score.total) == (3, 4)
    assert not score.passed  # 75 % < 80 %
    assert sum(s.total for s in score.by_section) >= 4
    [history] = rae.quizzes.history()
    assert history.score is not None and history.score.correct == 3
    # The lead gets the attempt too and scores it the same.
    sent = rae.quizzes.export_attempts(rae.trust.identity(PASSPHRASE), tmp_path / "outbox")
    assert sent is not None
    assert lead.quizzes.import_attempts(sent) == 1
    [row] = lead.quizzes.results()
    assert (row.reviewer, row.correct, row.total, row.passed) == ("Rae", 3, 4, False)


def test_an_exam_end_to_end(tmp_path: Path, pair: tuple[Workspace, Workspace]) -> None:
    lead, rae = pair
    quiz = lead.quizzes.build(
        "E", mode="exam", market="DE", policy="VH", count=5, pass_mark=0.6, max_attempts=1
    )
    path = lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(next(archive.read(n) for n in archive.namelist() if "quiz.json" in n))
    assert "key" not in meta
    got = rae.quizzes.receive(path)
    assert not got.has_key
    attempt = rae.quizzes.start(got.id)
    key = {i.case_id: i.label for i in quiz.items}
    for n, item in enumerate(got.items):
        assert (
            rae.quizzes.answer(attempt, item.case_id, key[item.case_id] if n < 3 else "hs_remove")
            is None
        )
    assert rae.quizzes.submit(attempt) is None  # no key here
    with pytest.raises(Refused) as again:
        rae.quizzes.start(got.id)
    assert again.value.reason == RefusalReason.ATTEMPT_LIMIT
    sent = rae.quizzes.export_attempts(rae.trust.identity(PASSPHRASE), tmp_path / "outbox")
    assert sent is not None
    assert lead.quizzes.import_attempts(sent) == 1
    [row] = lead.quizzes.results()
    assert (row.correct, row.total, row.passed) == (3, 5, True)  # 60 % meets 60 %
    assert lead.quizzes.import_attempts(sent) == 0  # the same bundle again adds nothing


def attempts_bundle(rae: Workspace, out: Path, **change: object) -> Path:
    """A quiz-attempts bundle signed by Rae with one attempt, changed as given."""
    from qa_desktop.core.bundles.export import build_bag
    from qa_desktop.core.bundles.payloads.quiz_attempts import KIND_QUIZ_ATTEMPTS
    from qa_desktop.core.formats.canonical import dumps_canonical

    assert rae.reviewer is not None
    attempt = {
        "id": "a-1",
        "quiz_id": "q",
        "reviewer_id": rae.reviewer.id,
        "started_at": "2026-12-01T10:00:00Z",
        "submitted_at": "2026-12-01T10:05:00Z",
        "answers": [],
    }
    attempt.update(change)
    bag = build_bag(
        rae.trust.identity(PASSPHRASE),
        kind=KIND_QUIZ_ATTEMPTS,
        bundle_id=f"b-{attempt['id']}",
        seq=int(str(attempt["id"]).split("-")[1]),
        payload={"data/attempts.jsonl": dumps_canonical(attempt) + b"\n"},
        info={"Event-Count": "1", "Batch-Ids": str(attempt["quiz_id"])},
    )
    out.mkdir(exist_ok=True)
    path = out / f"{attempt['id']}.zip"
    path.write_bytes(bag.data)
    return path


def counts(ws: Workspace) -> tuple[int, ...]:
    db = ws.database_for_tests()
    return tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("quizzes", "quiz_items", "quiz_attempts", "quiz_answers", "bundle_log")
    )


def test_bad_attempts_are_refused_and_nothing_is_written(
    tmp_path: Path, pair: tuple[Workspace, Workspace]
) -> None:
    lead, rae = pair
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2)
    unshipped = lead.quizzes.build("U", mode="exam", market="DE", policy="VH", count=1)
    lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    item = quiz.items[0].case_id
    answer = {"case_id": item, "label": "vh_remove", "answered_at": "2026-12-01T10:01:00Z"}
    out = tmp_path / "bad"
    cases = [
        (attempts_bundle(rae, out, id="a-1", quiz_id=unshipped.id), RefusalReason.QUIZ_NOT_SHIPPED),
        (attempts_bundle(rae, out, id="a-2", quiz_id="never"), RefusalReason.QUIZ_NOT_SHIPPED),
        (
            attempts_bundle(
                rae, out, id="a-3", quiz_id=quiz.id, answers=[{**answer, "case_id": "c-x"}]
            ),
            RefusalReason.NOT_IN_QUIZ,
        ),
        (
            attempts_bundle(
                rae, out, id="a-4", quiz_id=quiz.id, answers=[{**answer, "label": "x"}]
            ),
            RefusalReason.UNKNOWN_LABEL,
        ),
        (
            attempts_bundle(rae, out, id="a-5", quiz_id=quiz.id, reviewer_id="someone-else"),
            RefusalReason.IMPERSONATION,
        ),
    ]
    before = counts(lead)
    for path, reason in cases:
        with pytest.raises(Refused) as refused:
            lead.quizzes.import_attempts(path)
        assert refused.value.reason == reason, path.name
        assert counts(lead) == before
    # One attempt is allowed: the first is taken, a second is refused.
    assert (
        lead.quizzes.import_attempts(
            attempts_bundle(rae, out, id="a-6", quiz_id=quiz.id, answers=[answer])
        )
        == 1
    )
    before = counts(lead)
    with pytest.raises(Refused) as second:
        lead.quizzes.import_attempts(attempts_bundle(rae, out, id="a-7", quiz_id=quiz.id))
    assert second.value.reason == RefusalReason.ATTEMPT_LIMIT
    assert counts(lead) == before


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda m: m["key"].pop(), RefusalReason.KEY_MISMATCH),
        (lambda m: m["key"][0].update(label="not-a-label"), RefusalReason.KEY_MISMATCH),
        (lambda m: m["items"].append("c-extra"), RefusalReason.KEY_MISMATCH),
        (lambda m: m.pop("key"), RefusalReason.KEY_MISMATCH),
        (lambda m: m.pop("mode"), RefusalReason.SCHEMA),
    ],
)
def test_a_quiz_whose_key_disagrees_is_refused(
    tmp_path: Path, pair: tuple[Workspace, Workspace], edit: object, reason: RefusalReason
) -> None:
    lead, rae = pair
    quiz = lead.quizzes.build("T", mode="training", market="DE", policy="VH", count=2)
    from qa_desktop.core.quizzes import quiz_files

    files = quiz_files(lead.database_for_tests(), lead.media_store, quiz, "Lead")
    meta = json.loads(files["quiz.json"])
    edit(meta)  # type: ignore[operator]
    files["quiz.json"] = json.dumps(meta).encode()
    path = sign_case_batch_files(
        lead.trust.identity(PASSPHRASE), files, tmp_path / "out", db=lead.database_for_tests()
    )
    before = counts(rae)
    cases = rae.database_for_tests().execute("SELECT count(*) FROM cases").fetchone()[0]
    with pytest.raises(Refused) as refused:
        rae.quizzes.receive(path)
    assert refused.value.reason == reason
    assert path.name in str(refused.value)
    assert counts(rae) == before
    assert rae.database_for_tests().execute("SELECT count(*) FROM cases").fetchone()[0] == cases


def test_answers_outside_the_quiz_are_refused(
    tmp_path: Path, pair: tuple[Workspace, Workspace]
) -> None:
    lead, rae = pair
    quiz = lead.quizzes.build("T", mode="training", market="DE", policy="VH", count=2)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    attempt = rae.quizzes.start(got.id)
    with pytest.raises(Refused) as outside:
        rae.quizzes.answer(attempt, "g-0", "vh_remove")
    assert outside.value.reason == RefusalReason.NOT_IN_QUIZ
    with pytest.raises(Refused) as label:
        rae.quizzes.answer(attempt, got.items[0].case_id, "nope")
    assert label.value.reason == RefusalReason.UNKNOWN_LABEL
    assert rae.quizzes.answers(attempt) == {}


def test_quiz_cli_build_ship_take_score(tmp_path: Path, pair: tuple[Workspace, Workspace]) -> None:
    lead, rae = pair
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    at_lead = ["--data-dir", str(lead.data_dir)]
    at_rae = ["--data-dir", str(rae.data_dir)]
    built = runner.invoke(
        cli,
        [*at_lead, "quiz", "build", "--name", "Q", "--mode", "exam", "--market", "DE",
         "--policy", "VH", "--count", "2"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    shipped = runner.invoke(cli, [*at_lead, "quiz", "ship", "Q", str(tmp_path / "out")])
    assert shipped.exit_code == 0, shipped.output
    [path] = (tmp_path / "out").glob("*.zip")
    quiz = lead.quizzes.quiz("Q")
    key = {i.case_id: i.label for i in quiz.items}
    answers = [f"{c}={label}" for c, label in key.items()]
    taken = runner.invoke(
        cli, [*at_rae, "quiz", "take", str(path), *answers, "--send", str(tmp_path / "outbox")]
    )
    assert taken.exit_code == 0, taken.output
    [sent] = (tmp_path / "outbox").glob("*.zip")
    nothing = runner.invoke(cli, [*at_rae, "quiz", "send", str(tmp_path / "outbox")])
    assert nothing.exit_code == 0 and "nothing to send" in nothing.output
    scored = runner.invoke(cli, [*at_lead, "quiz", "score", str(sent)])
    assert scored.exit_code == 0, scored.output
    assert "Rae\tQ\t2\t2\t1.000\tpassed" in scored.output


def test_a_verdict_on_a_quiz_case_merges_and_counts_nowhere(
    tmp_path: Path, pair: tuple[Workspace, Workspace]
) -> None:
    """Quiz cases sit in the reviewer's queue like any case: a verdict recorded on one
    travels in their verdict bundle, merges at the lead's, and no report counts it."""
    from .recording import record

    lead, rae = pair
    quiz = lead.quizzes.build("T", mode="training", market="DE", policy="VH", count=2)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    copy = got.items[0].case_id
    record(rae, copy, "no_violation")
    assert rae.reports.performance().overall.decided == 0
    exported = rae.bundles.export(rae.trust.identity(PASSPHRASE), tmp_path / "outbox")
    assert exported is not None
    [report] = lead.bundles.import_files([exported.path])
    assert not report.refused, report.refused_message
    decided_before = 6  # the lead's rulings on g-0..g-5
    assert lead.reports.performance().overall.decided == decided_before
    with pytest.raises(Refused) as copy_gold:
        lead.gold.promote(copy)
    assert copy_gold.value.reason == RefusalReason.ALREADY_GOLD


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
@settings(max_examples=200, deadline=None)
def test_parse_attempts_refuses_any_garbage_with_a_reason(data: bytes) -> None:
    from qa_desktop.core.bundles.payloads.quiz_attempts import parse_attempts

    try:
        attempts = parse_attempts(data)
    except Refused as exc:
        assert exc.reason in (RefusalReason.SCHEMA, RefusalReason.EMPTY)
    else:
        assert attempts and all(set(a) >= {"id", "quiz_id", "answers"} for a in attempts)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.text(min_size=1, max_size=8),
                "quiz_id": st.text(min_size=1, max_size=8),
                "reviewer_id": st.text(min_size=1, max_size=8),
                "started_at": st.text(min_size=1, max_size=8),
                "submitted_at": st.text(min_size=1, max_size=8),
                "answers": st.lists(
                    st.fixed_dictionaries(
                        {
                            "case_id": st.text(min_size=1, max_size=8),
                            "label": st.text(min_size=1, max_size=8),
                            "answered_at": st.text(min_size=1, max_size=8),
                        }
                    ),
                    max_size=3,
                    unique_by=lambda a: a["case_id"],
                ),
            }
        ),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=100, deadline=None)
def test_parse_attempts_reads_back_what_was_written(attempts: list[dict[str, object]]) -> None:
    from qa_desktop.core.bundles.payloads.quiz_attempts import parse_attempts
    from qa_desktop.core.formats.canonical import dumps_canonical

    data = b"".join(dumps_canonical(a) + b"\n" for a in attempts)
    assert parse_attempts(data) == attempts
