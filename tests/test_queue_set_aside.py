"""The lead's queue leaves out the cases it holds only as answers to a known key (issue 14):
the copies of the quizzes it built and the hidden-gold copies of the batches it shipped.
They exist so reviewers' verdicts and attempts merge; they are not cases to review, and the
frontline-accuracy reports never count them. Counts, pages (keyset and offset), positions
and rows agree with each other under every kind of filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .recording import record
from .test_gold import report_case_ids
from .test_quizzes import lead_with_gold
from .windows import open_window


def _walk(ws: Workspace, flt: QueueFilter | None) -> list[str]:
    """Every case id of the (filtered) queue, by keyset pages of 3."""
    ids: list[str] = []
    page = ws.queue.page(filter=flt, limit=3)
    while page:
        ids += [r.id for r in page]
        page = ws.queue.page(filter=flt, after_seq=page[-1].seq, limit=3)
    return ids


@pytest.fixture
def shipped(tmp_path: Path) -> tuple[Workspace, Workspace, set[str]]:
    """A lead who built and shipped a 2-case exam and a 6-case batch with 2 hidden gold;
    Rae answered everything and synced. Returns lead, Rae and the set-aside case ids."""
    lead = lead_with_gold(tmp_path)
    rae = make_workspace(tmp_path, "Rae", cases=0)
    introduce(rae, lead, role="issuer")
    introduce(lead, rae)
    identity = lead.trust.identity(PASSPHRASE)
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2)
    rae.quizzes.receive(lead.quizzes.ship(quiz.id, identity, tmp_path / "out"))
    weekly = write_batch(
        tmp_path / "weekly", [case_record(f"w-{i}", "text", [], tags=[]) for i in range(6)], "wk"
    )
    result = lead.gold.ship_batch(
        identity, lead.batches.read_for_signing(weekly), tmp_path / "out", share=0.25, seed=1
    )
    assert result.gold == 2
    rae.batches.import_batch(result.path, trust_unsigned=False)
    db = lead.database_for_tests()
    hidden = {
        r[0] for r in db.execute("SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL")
    }
    aside = hidden | {i.case_id for i in quiz.items}
    assert len(aside) == 4
    for n, row in enumerate(_walk(rae, None)):  # Rae's queue holds every case she got
        record(rae, row, "no_violation" if n % 2 else "vh_remove")
    folder = tmp_path / "shared"
    folder.mkdir()
    rae.sync.folder(rae.trust.identity(PASSPHRASE), folder)
    taken = lead.sync.folder(identity, folder)
    assert taken.refused == [] and taken.new_events == 10
    yield lead, rae, aside
    lead.close()
    rae.close()


def test_the_leads_queue_leaves_out_quiz_and_hidden_gold_copies(
    shipped: tuple[Workspace, Workspace, set[str]],
) -> None:
    lead, rae, aside = shipped
    every = [r[0] for r in lead.database_for_tests().execute("SELECT id FROM cases ORDER BY seq")]
    visible = [c for c in every if c not in aside]
    assert len(every) == 6 + 2 + 8 and len(visible) == 12
    assert lead.queue.count() == 12
    assert _walk(lead, None) == visible
    for offset in range(len(visible) + 1):
        assert [r.id for r in lead.queue.page(offset=offset, limit=3)] == visible[offset:][:3]
    for position, case_id in enumerate(visible):
        assert lead.queue.index(case_id) == position
    for case_id in aside:
        assert lead.queue.row(case_id) is None and lead.queue.index(case_id) is None
        assert lead.queue.index(case_id, QueueFilter(status="open")) is None
    # Rae's own queue is left alone: her quiz and hidden-gold cases are hers to answer.
    assert rae.queue.count() == 2 + 8


@pytest.mark.parametrize(
    "flt",
    [
        QueueFilter(status="open"),
        QueueFilter(status="done", reviewer="REVIEWER"),
        QueueFilter(status="all", reviewer="REVIEWER"),
        QueueFilter(outcome="agree", reviewer="REVIEWER"),
        QueueFilter(status="done", market="DE", reviewer="REVIEWER"),
        QueueFilter(text="Synthetic"),
        QueueFilter(status="disputed"),
    ],
)
def test_filtered_counts_pages_and_positions_agree_without_set_aside_cases(
    shipped: tuple[Workspace, Workspace, set[str]], flt: QueueFilter
) -> None:
    lead, rae, aside = shipped
    if flt.reviewer == "REVIEWER":
        assert rae.reviewer is not None
        flt = QueueFilter(**{**flt.__dict__, "reviewer": rae.reviewer.id})
    ids = _walk(lead, flt)
    assert not set(ids) & aside
    assert lead.queue.count(flt) == len(ids)
    for position, case_id in enumerate(ids):
        assert lead.queue.index(case_id, flt) == position
    for offset in (0, 1, 4):
        assert [r.id for r in lead.queue.page(offset=offset, limit=2, filter=flt)] == ids[
            offset : offset + 2
        ]
    if flt.status == "done":  # Rae decided 6 ordinary cases the lead reviews
        assert len(ids) == 6


def test_reports_never_count_quiz_or_hidden_gold_copies(
    shipped: tuple[Workspace, Workspace, set[str]],
) -> None:
    lead, _, aside = shipped
    counted = report_case_ids(lead)
    assert not counted & aside
    # The lead's six rulings on the gold cases' own frontline decisions and Rae's six
    # verdicts on the ordinary cases; none of her four answers on copies.
    assert lead.reports.performance().overall.decided == 12


def _combo_values(combo: QComboBox) -> list[str]:
    return [str(combo.itemData(i)) for i in range(1, combo.count())]  # item 0: "any ..."


@pytest.mark.slow
def test_the_leads_batch_filters_leave_out_the_quiz_batch(
    qtbot: QtBot, shipped: tuple[Workspace, Workspace, set[str]]
) -> None:
    """The batch of a quiz the lead built holds only set-aside copies: no filter offers it,
    neither the queue's (a choice that shows nothing) nor the reports' (none counted). The
    hidden-gold batch stays: its ordinary cases are in the queue."""
    lead, rae, _ = shipped
    db = lead.database_for_tests()
    (quiz_batch,) = [r[0] for r in db.execute("SELECT batch_id FROM quizzes")]
    assert db.execute("SELECT 1 FROM batches WHERE id = ?", [quiz_batch]).fetchone()
    assert quiz_batch not in lead.queue.facets()["batch_id"]
    assert quiz_batch not in lead.queue.batch_names()
    assert quiz_batch not in lead.reports.filter_values()["batch"]
    assert "wk" in lead.queue.batch_names() and "wk" in lead.queue.facets()["batch_id"]
    assert "wk" in lead.reports.filter_values()["batch"]
    # Rae's quiz cases are in her queue, so her queue offers their batch.
    assert quiz_batch in rae.queue.batch_names()

    window = open_window(qtbot, lead)
    offered = _combo_values(window.review.filter_bar.batch)
    assert quiz_batch not in offered and "wk" in offered
    screen = window.show_reports()
    batches = screen.combos["batch"]
    qtbot.waitUntil(lambda: batches.count() > 0 and screen.report is not None, timeout=10000)
    listed = [batches.item(i).text() for i in range(batches.count())]
    assert quiz_batch not in listed and "wk" in listed
