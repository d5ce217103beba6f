"""Guidelines and verdict details through real widgets: browser, citations, details, history,
queue filters, findings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACKS
from qa_desktop.ui.findings_dialog import FindingsDialog
from qa_desktop.ui.history_dialog import HistoryDialog
from qa_desktop.ui.main_window import MainWindow

from .factory import case_record, write_batch
from .recording import record as decide
from .windows import answer_dialog, note_and_close, open_window


@pytest.fixture
def markets(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Every demo pack, and text cases in DE, FR and BR (frontline: vh_remove under VH)."""
    workspace.guidelines.import_packs(DEMO_PACKS)
    records = [
        case_record("de-1", "text", [], market="DE", language="de", tags=[]),
        case_record("fr-1", "text", [], market="FR", language="fr", tags=[]),
        case_record("br-1", "text", [], market="BR", language="pt", tags=[]),
        case_record("br-2", "text", [], market="BR", language="pt", tags=[]),
    ]
    workspace.batches.import_batch(write_batch(tmp_path / "b", records, batch_id="markets"))
    return workspace


def key(
    qtbot: QtBot,
    window: MainWindow,
    k: Qt.Key,
    modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    qtbot.keyClick(window.review.queue, k, modifier)


def record(qtbot: QtBot, window: MainWindow) -> None:
    key(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def cite_by_typing(qtbot: QtBot, window: MainWindow, text: str) -> None:
    key(qtbot, window, Qt.Key.Key_C)
    qtbot.keyClicks(window.review.panel.citation_field, text)
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Return)


def test_each_market_cites_its_own_localized_section(qtbot: QtBot, markets: Workspace) -> None:
    window = open_window(qtbot, markets)
    assert window.review.case is not None and window.review.case.id == "de-1"
    key(qtbot, window, Qt.Key.Key_2)
    cite_by_typing(qtbot, window, "VH-2.3")
    record(qtbot, window)
    assert window.review.case.id == "fr-1"
    guideline = window.review.guideline
    assert guideline is not None and guideline.overlay == ("demo-fr", "1.0.0")
    key(qtbot, window, Qt.Key.Key_2)
    cite_by_typing(qtbot, window, "organes")  # a word of the French title
    record(qtbot, window)
    key(qtbot, window, Qt.Key.Key_2)  # br-1: no overlay, the global text
    cite_by_typing(qtbot, window, "dismember")
    record(qtbot, window)

    cited = {e.case_id: e.citations[0] for e in markets.verdicts.events()}
    assert (cited["de-1"].pack_id, cited["de-1"].section_id) == ("demo-de", "VH-2.3")
    assert (cited["fr-1"].pack_id, cited["fr-1"].section_id) == ("demo-fr", "VH-2.3")
    assert (cited["br-1"].pack_id, cited["br-1"].section_id) == ("demo-global", "VH-2.3")


def test_guideline_browser_searches_and_cites_with_a_quote(
    qtbot: QtBot, markets: Workspace
) -> None:
    window = open_window(qtbot, markets)
    key(qtbot, window, Qt.Key.Key_J)
    key(qtbot, window, Qt.Key.Key_J)  # br-1: the global text, in English
    key(qtbot, window, Qt.Key.Key_Slash)
    assert window.guideline_dock.isVisible()
    assert QApplication.focusWidget() is window.browser.search
    qtbot.keyClicks(window.browser.search, "dismember")
    current = window.browser.tree.currentItem()
    assert current is not None and current.text(0).startswith("VH-2.3")
    assert "VH-2.3" in window.browser.text.toPlainText()
    hidden = [
        window.browser.tree.topLevelItem(i).isHidden()
        for i in range(window.browser.tree.topLevelItemCount())
    ]
    assert any(hidden)  # other policies are filtered out

    cursor = window.browser.text.document().find("visible injuries")
    assert not cursor.isNull()
    window.browser.text.setTextCursor(cursor)
    qtbot.keyClick(window.browser.search, Qt.Key.Key_Return)
    draft_citations = [c for c, _ in window.review.panel._citations]
    assert [(c.section_id, c.quote) for c in draft_citations] == [("VH-2.3", "visible injuries")]
    qtbot.keyClick(window.browser.search, Qt.Key.Key_Escape)
    # The queue is folded away while the guidelines are open: the screen holds the keys.
    assert QApplication.focusWidget() is window.review
    key(qtbot, window, Qt.Key.Key_B)
    assert QApplication.focusWidget() is window.review.queue
    assert not window.guideline_dock.isVisible()


def test_retired_sections_show_but_citing_one_warns(qtbot: QtBot, markets: Workspace) -> None:
    window = open_window(qtbot, markets)
    key(qtbot, window, Qt.Key.Key_J)  # fr-1: the FR overlay retires SP-1.2
    section = window.review.guideline.section("SP-1.2") if window.review.guideline else None
    assert section is not None and section.status == "retired"
    key(qtbot, window, Qt.Key.Key_9)  # sp_reduce
    window.review.panel.add_citation(section)
    record(qtbot, window)
    assert markets.verdicts.mine("fr-1") is not None
    assert "warning" in window.statusBar().currentMessage()
    assert "retired" in window.statusBar().currentMessage()


def test_confidence_rca_and_gap_from_the_keyboard_then_history(
    qtbot: QtBot, markets: Workspace
) -> None:
    window = open_window(qtbot, markets)
    key(qtbot, window, Qt.Key.Key_1)  # no_violation: over-enforcement by the frontline
    key(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.review.panel.details.confidence == 2

    with answer_dialog(qtbot, lambda menu: qtbot.keyClick(menu, Qt.Key.Key_1)):  # frontline_error
        key(qtbot, window, Qt.Key.Key_R)
    assert window.review.panel.details.rca_reason == "frontline_error"
    assert QApplication.focusWidget() is window.review.panel.details.rca_note
    qtbot.keyClicks(window.review.panel.details.rca_note, "missed the news context")
    qtbot.keyClick(window.review.panel.details.rca_note, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is window.review.queue

    with answer_dialog(qtbot, lambda menu: qtbot.keyClick(menu, Qt.Key.Key_2)):  # ambiguous
        key(qtbot, window, Qt.Key.Key_P)
    qtbot.keyClicks(window.review.panel.details.gap_note, "newsworthy gore unclear")
    qtbot.keyClick(window.review.panel.details.gap_note, Qt.Key.Key_Escape)
    record(qtbot, window)

    event = markets.verdicts.mine("de-1")
    assert event is not None
    assert (event.confidence, event.rca_reason, event.rca_note) == (
        2,
        "frontline_error",
        "missed the news context",
    )
    assert (event.gap_kind, event.gap_note) == ("ambiguous", "newsworthy gore unclear")
    assert window.review.model.data(window.review.model.index(0, 0)) == "✓ R G"
    assert window.review.model.data(window.review.model.index(0, 6)) == "over enforcement"

    key(qtbot, window, Qt.Key.Key_K)
    assert window.review.panel.details.rca_reason == "frontline_error"  # the draft starts from it
    seen: list[list[str]] = []

    def read_history(dialog: QDialog) -> None:
        assert isinstance(dialog, HistoryDialog)
        table = dialog.table
        seen.extend(
            [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())
        )
        dialog.reject()

    with answer_dialog(qtbot, read_history):
        key(qtbot, window, Qt.Key.Key_H)
    assert len(seen) == 1 and seen[0][2] == "verdict" and seen[0][3] == "no_violation"
    assert seen[0][1] == "Test Reviewer"


def test_queue_filters_outcomes_and_saved_views(
    qtbot: QtBot, markets: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, markets)
    key(qtbot, window, Qt.Key.Key_1)
    record(qtbot, window)  # de-1: over-enforcement
    bar = window.review.filter_bar
    bar.outcome.setCurrentIndex(bar.outcome.findData("over_enforcement"))
    assert window.review.model.rowCount() == 1 and window.review.case.id == "de-1"  # type: ignore[union-attr]
    assert "filtered from 4" in window.status.text()

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Over-enforced", True))
    bar.save_button.click()
    assert [name for name, _ in markets.queue.saved_views()] == ["Over-enforced"]
    bar.clear()
    assert window.review.model.rowCount() == 4
    bar.market.setCurrentIndex(bar.market.findData("BR"))
    assert window.review.model.rowCount() == 2
    bar.clear()
    bar.views.setCurrentIndex(bar.views.findData("Over-enforced"))
    bar.views.activated.emit(bar.views.currentIndex())
    assert window.review.model.rowCount() == 1

    bar.clear()
    key(qtbot, window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is bar.text
    qtbot.keyClicks(bar.text, "fr-")
    qtbot.waitUntil(lambda: window.review.model.rowCount() == 1)  # once the keys pause
    assert window.review.case.id == "fr-1"  # type: ignore[union-attr]
    qtbot.keyClick(bar.text, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.review.queue
    bar.clear()

    from qa_desktop.core.verdicts import record_verdict

    markets.database_for_tests()["reviewers"].insert(
        {"id": "r-ana", "display_name": "Ana", "created_at": "2026-11-25T00:00:00Z"}
    )
    record_verdict(
        markets.database_for_tests(), case_id="br-2", reviewer_id="r-ana", label="no_violation"
    )
    window.review.refresh_filter_choices()
    bar.status.setCurrentIndex(bar.status.findData("done"))
    assert window.review.model.rowCount() == 1  # mine: de-1
    bar.reviewer.setCurrentIndex(bar.reviewer.findData("r-ana"))
    assert window.review.model.rowCount() == 1 and window.review.model.case_id_at(0) == "br-2"


def test_rca_and_gap_lists_fill_from_verdicts_and_export(
    qtbot: QtBot, markets: Workspace, tmp_path: Path
) -> None:
    cite = markets.guidelines.for_case(markets.queue.case("br-1")).section("VH-2.3")  # type: ignore[arg-type]
    assert cite is not None
    from qa_desktop.core.verdicts import Citation

    for case_id in ("br-1", "br-2"):
        decide(
            markets,
            case_id,
            "vh_remove",
            [Citation(cite.pack_id, cite.pack_version, cite.id)],
            rca_reason="guideline_misread",
            gap_kind="outdated",
        )
    groups = markets.reports.rca_escalations()
    assert [(g.section_id, g.count) for g in groups] == [("VH-2.3", 2)]
    opened: list[str] = []
    dialog = FindingsDialog("RCA escalations", groups, opened.append)
    qtbot.addWidget(dialog)
    assert dialog.table.item(0, 0).text() == "VH-2.3" and dialog.table.item(0, 2).text() == "2"
    out = dialog.export(tmp_path / "rca.csv")
    assert out is not None
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["section_id"] == "VH-2.3" and rows[0]["count"] == "2"
    dialog.table.cellDoubleClicked.emit(0, 0)
    assert opened == ["br-1"]

    window = open_window(qtbot, markets)

    def one_gap(dialog: FindingsDialog) -> None:
        qtbot.waitUntil(lambda: dialog.loaded)  # read in a worker
        rows = dialog.table.rowCount()
        dialog.reject()
        assert rows == 1

    with answer_dialog(qtbot, one_gap, kind=FindingsDialog):
        window.show_policy_gaps()


def test_shortcut_map_lists_the_new_keys(qtbot: QtBot, markets: Workspace) -> None:
    from qa_desktop.ui.shortcut_map import ShortcutMapDialog

    window = open_window(qtbot, markets)
    keys: list[str] = []  # the map's rows, as the "?" key shows them

    def read_map(dialog: ShortcutMapDialog) -> None:
        keys.extend(dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount()))
        dialog.reject()

    with answer_dialog(qtbot, read_map, kind=ShortcutMapDialog):
        key(qtbot, window, Qt.Key.Key_Question)
    for expected in ("B", "/", "R", "P", "H", "Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+F"):
        assert expected in keys


def test_importing_a_bad_guideline_pack_from_the_gui_says_what_is_wrong(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    window = open_window(qtbot, workspace)
    bad = tmp_path / "broken-pack.json"
    bad.write_text('{"id": "x", "version": "one"}', encoding="utf-8")
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.import_guideline_pack(bad)
    assert "broken-pack.json" in messages[0] and "Nothing was imported" in messages[0]
    assert workspace.guidelines.packs() == []

    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window.import_guideline_pack(DEMO_PACKS[0])
    assert "imported" in messages[1]
    assert [p.id for p in workspace.guidelines.packs()] == ["demo-global"]
