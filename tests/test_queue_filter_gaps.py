"""Queue filters on the original decision's moderator and queue, content type and batch; find
in tags; saved views renamed and deleted (core and filter bar, driven by real keys and clicks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import QueueFilter, Refused
from qa_desktop.core.workspace import Workspace

from .factory import case_record, mixed_batch, write_batch
from .windows import answer_dialog, open_window


def _decision(moderator: str, queue: str) -> dict:
    return {
        "label": "vh_remove",
        "policy": "VH",
        "moderator_id": moderator,
        "queue": queue,
        "decided_at": "2026-10-30T12:00:00Z",
    }


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Batch "first": three text cases by two moderators in two queues, with tags; batch
    "test-batch": one image and one text case by m-001 in queue "test"."""
    records = [
        case_record("a-1", "text", [], tags=["Weapons", "night"], decision=_decision("m-7", "vh")),
        case_record("a-2", "text", [], tags=["sports"], decision=_decision("m-7", "hs-fast")),
        case_record("a-3", "text", [], tags=[], decision=_decision("m-9", "vh")),
    ]
    workspace.batches.import_batch(write_batch(tmp_path / "first", records, batch_id="first"))
    workspace.batches.import_batch(mixed_batch(tmp_path / "mixed", images=1, videos=0, texts=1))
    return workspace


def _ids(ws: Workspace, queue_filter: QueueFilter) -> list[str]:
    return [row.id for row in ws.queue.page(filter=queue_filter)]


def test_the_queue_filters_on_moderator_queue_content_type_and_batch(ws: Workspace) -> None:
    assert _ids(ws, QueueFilter(moderator="m-7")) == ["a-1", "a-2"]
    assert _ids(ws, QueueFilter(queue="vh")) == ["a-1", "a-3"]
    assert _ids(ws, QueueFilter(moderator="m-7", queue="vh")) == ["a-1"]
    assert _ids(ws, QueueFilter(content_type="image")) == ["img-0"]
    assert _ids(ws, QueueFilter(batch_id="test-batch")) == ["img-0", "txt-0"]
    assert ws.queue.count(QueueFilter(batch_id="first", queue="vh")) == 2
    assert ws.queue.index("a-3", QueueFilter(queue="vh")) == 1
    facets = ws.queue.facets()
    assert facets["orig_moderator"] == ["m-001", "m-7", "m-9"]
    assert facets["orig_queue"] == ["hs-fast", "test", "vh"]
    assert facets["content_type"] == ["image", "text"]
    assert facets["batch_id"] == ["first", "test-batch"]
    assert ws.queue.batch_names() == {"first": "Batch first", "test-batch": "Batch test-batch"}
    with pytest.raises(ValueError, match="content_type"):
        QueueFilter(content_type="audio")


def test_find_matches_tags_ignoring_case_and_survives_a_malformed_tag_list(
    ws: Workspace,
) -> None:
    assert _ids(ws, QueueFilter(text="weapon")) == ["a-1"]
    assert _ids(ws, QueueFilter(text="SPORT")) == ["a-2"]
    assert _ids(ws, QueueFilter(text="violence")) == ["img-0"]  # mixed_batch's default tag
    ws.database_for_tests().execute("UPDATE cases SET tags = 'not json' WHERE id = 'a-3'")
    assert _ids(ws, QueueFilter(text="night")) == ["a-1"]
    assert _ids(ws, QueueFilter(text="a-3")) == ["a-3"]


def test_saved_views_round_trip_the_new_fields_and_old_views_still_load(ws: Workspace) -> None:
    full = QueueFilter(moderator="m-7", queue="vh", content_type="text", batch_id="first")
    ws.queue.save_view("m7 vh", full)
    assert ws.queue.saved_views() == [("m7 vh", full)]
    old = {"status": "open", "market": "DE", "policy": None, "original_label": None,
           "outcome": None, "flag": None, "reviewer": None, "text": "cats"}  # fmt: skip
    ws.database_for_tests()["saved_views"].insert(
        {"name": "from last year", "filter": json.dumps(old), "saved_at": "2025-01-01T00:00:00Z"}
    )
    views = dict(ws.queue.saved_views())
    assert views["from last year"] == QueueFilter(status="open", market="DE", text="cats")


def test_a_saved_view_is_renamed_in_one_step_and_never_over_another(ws: Workspace) -> None:
    ws.queue.save_view("a", QueueFilter(market="DE"))
    ws.queue.save_view("b", QueueFilter(market="FR"))
    assert ws.queue.rename_view("a", "  c ")
    assert ws.queue.saved_views() == [
        ("b", QueueFilter(market="FR")),
        ("c", QueueFilter(market="DE")),
    ]
    with pytest.raises(Refused, match="already a saved view named 'b'"):
        ws.queue.rename_view("c", "b")
    with pytest.raises(ValueError, match="needs a name"):
        ws.queue.rename_view("c", "  ")
    assert not ws.queue.rename_view("nope", "d")
    assert [name for name, _ in ws.queue.saved_views()] == ["b", "c"]
    assert ws.queue.delete_view("c") and not ws.queue.delete_view("c")


# -- the filter bar ------------------------------------------------------------------------


def choose(qtbot: QtBot, combo: QComboBox, value: str) -> None:
    """Pick ``value`` in ``combo`` as a user does: click it, arrow keys in its list, Enter."""
    target = combo.findData(value)
    assert target >= 0, f"{value!r} is not offered"
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Home)
    for _ in range(target):
        qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not popup.isVisible())
    assert combo.currentData() == value


def test_the_filter_bar_offers_moderator_queue_content_and_batch_and_finds_tags(
    qtbot: QtBot, ws: Workspace
) -> None:
    window = open_window(qtbot, ws)
    bar, model = window.review.filter_bar, window.review.model
    assert [bar.batch.itemText(i) for i in range(bar.batch.count())] == [
        "any batch", "Batch first", "Batch test-batch"
    ]  # fmt: skip
    choose(qtbot, bar.moderator, "m-7")
    assert [model.case_id_at(r) for r in range(model.rowCount())] == ["a-1", "a-2"]
    choose(qtbot, bar.queue, "vh")
    assert model.rowCount() == 1 and model.case_id_at(0) == "a-1"
    qtbot.mouseClick(bar.clear_button, Qt.MouseButton.LeftButton)
    choose(qtbot, bar.content_type, "image")
    assert model.rowCount() == 1 and model.case_id_at(0) == "img-0"
    qtbot.mouseClick(bar.clear_button, Qt.MouseButton.LeftButton)
    choose(qtbot, bar.batch, "test-batch")
    assert model.rowCount() == 2
    qtbot.mouseClick(bar.clear_button, Qt.MouseButton.LeftButton)
    bar.text.setFocus()
    qtbot.keyClicks(bar.text, "weapons")
    qtbot.waitUntil(lambda: model.rowCount() == 1)  # once the keys pause
    assert model.case_id_at(0) == "a-1"
    qtbot.keyClick(bar.text, Qt.Key.Key_Escape)


def test_saved_views_are_renamed_deleted_and_clear_leaves_no_view_chosen(
    qtbot: QtBot, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, ws)
    bar, model = window.review.filter_bar, window.review.model
    choose(qtbot, bar.moderator, "m-9")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Moderator 9", True))
    qtbot.mouseClick(bar.save_button, Qt.MouseButton.LeftButton)
    assert ws.queue.saved_views() == [("Moderator 9", QueueFilter(moderator="m-9"))]
    qtbot.mouseClick(bar.clear_button, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 5
    assert not bar.rename_button.isEnabled() and not bar.delete_button.isEnabled()

    choose(qtbot, bar.views, "Moderator 9")  # the arrow keys apply the view
    assert model.rowCount() == 1 and model.case_id_at(0) == "a-3"
    assert bar.rename_button.isEnabled() and bar.delete_button.isEnabled()
    qtbot.mouseClick(bar.clear_button, Qt.MouseButton.LeftButton)
    assert bar.views.currentText() == "Saved views…" and model.rowCount() == 5
    assert not bar.delete_button.isEnabled()

    choose(qtbot, bar.views, "Moderator 9")
    choose(qtbot, bar.market, "DE")  # still the view's cases, but no longer the view
    assert bar.views.currentText() == "Saved views…"

    choose(qtbot, bar.views, "Moderator 9")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("m9 only", True))
    qtbot.mouseClick(bar.rename_button, Qt.MouseButton.LeftButton)
    assert ws.queue.saved_views() == [("m9 only", QueueFilter(moderator="m-9"))]
    assert bar.views.currentText() == "m9 only"
    assert [bar.views.itemText(i) for i in range(bar.views.count())] == [
        "Saved views…", "m9 only"
    ]  # fmt: skip

    def say_yes(box: QMessageBox) -> None:
        assert "m9 only" in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    with answer_dialog(qtbot, say_yes, kind=QMessageBox):
        qtbot.mouseClick(bar.delete_button, Qt.MouseButton.LeftButton)
    assert ws.queue.saved_views() == []
    assert [bar.views.itemText(i) for i in range(bar.views.count())] == ["Saved views…"]


def test_renaming_a_view_onto_another_name_is_refused_and_both_stay(
    qtbot: QtBot, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.queue.save_view("one", QueueFilter(queue="vh"))
    ws.queue.save_view("two", QueueFilter(queue="test"))
    window = open_window(qtbot, ws)
    bar = window.review.filter_bar
    choose(qtbot, bar.views, "one")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("two", True))
    qtbot.mouseClick(bar.rename_button, Qt.MouseButton.LeftButton)
    assert [name for name, _ in ws.queue.saved_views()] == ["one", "two"]
    assert "already a saved view named 'two'" in window.statusBar().currentMessage()


def test_the_find_field_filters_once_the_keys_pause_or_at_enter(
    qtbot: QtBot, ws: Workspace
) -> None:
    """Each filter of the queue reads every case's text: typing a word filters once, not
    once a key; Enter (or Esc) applies what is typed at once."""
    window = open_window(qtbot, ws)
    bar, model = window.review.filter_bar, window.review.model
    seen: list[QueueFilter | None] = []
    bar.filter_changed.connect(seen.append)
    bar.text.setFocus()
    qtbot.keyClicks(bar.text, "weapons")
    assert seen == [] and model.rowCount() == 5  # no query per key
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0] == QueueFilter(text="weapons") and model.rowCount() == 1
    bar.clear()
    seen.clear()
    bar.text.setFocus()
    qtbot.keyClicks(bar.text, "sports")
    qtbot.keyClick(bar.text, Qt.Key.Key_Return)
    assert seen == [QueueFilter(text="sports")]
    assert model.rowCount() == 1 and model.case_id_at(0) == "a-2"
    qtbot.wait(2 * bar.find_delay.interval())  # and the pause that follows changes nothing
    assert seen == [QueueFilter(text="sports")]
