"""Text from batches, packs and files is shown as text: no markup, and never a picture from
disk. A hostile batch names a bright red PNG (standing in for an unblurred original) in
``<img>`` tags; nothing the app shows may contain a single pure red pixel of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.guideline_browser import GuidelineBrowser
from qa_desktop.ui.import_dialog import run_import
from qa_desktop.ui.render import qimage_to_rgb

from .factory import case_record, make_workspace, write_batch
from .windows import answer_dialog, open_window


@pytest.fixture
def red_png(tmp_path: Path) -> Path:
    path = tmp_path / "red.png"
    Image.new("RGB", (400, 300), (255, 0, 0)).save(path)
    return path


def red_pixels(widget: QWidget) -> int:
    """Pure red pixels in what ``widget`` paints."""
    rgb = qimage_to_rgb(widget.grab().toImage())
    return int(np.count_nonzero(np.all(rgb == (255, 0, 0), axis=2)))


def hostile_workspace(tmp_path: Path, red_png: Path) -> Workspace:
    tag = f'<img src="{red_png}">'
    folder = tmp_path / "batch"
    (folder / "media").mkdir(parents=True)
    Image.new("RGB", (320, 240), (20, 40, 200)).save(folder / "media" / "blue.png")
    record = case_record("evil-1", "image", ["media/blue.png"], tags=["graphic", tag])
    record["decision"]["moderator_id"] = tag
    text = case_record(tag, "text", [], text=f"{tag}\nhello", tags=[tag])
    write_batch(folder, [record, text])
    ws = make_workspace(tmp_path, "data", cases=0, reviewer="Ina", pack=True, key=False)
    ws.batches.import_batch(folder)
    return ws


def test_a_hostile_batch_shows_its_tags_as_text_and_no_picture(
    qtbot: QtBot, tmp_path: Path, red_png: Path
) -> None:
    ws = hostile_workspace(tmp_path, red_png)
    window = open_window(qtbot, ws)
    window.resize(1400, 900)
    window.review.open_case("evil-1")
    viewer = window.review.viewer
    qtbot.waitUntil(lambda: viewer.currentWidget() is viewer.warning_view, timeout=5000)
    assert "<img" in viewer.warning_view.text()  # shown, as the characters they are
    assert red_pixels(viewer.warning_view) == 0
    assert "&lt;img" in window.review.header.text() and red_pixels(window.review.header) == 0
    tip = window.review.model.data(window.review.model.index(1, 0), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;img" in tip and "<img" not in tip
    window.review.open_case(f'<img src="{red_png}">')
    qtbot.waitUntil(lambda: viewer.currentWidget() is viewer.text_view, timeout=5000)
    assert red_pixels(window) == 0
    ws.close()


def test_an_error_quoting_a_hostile_value_is_plain_text(
    qtbot: QtBot, tmp_path: Path, red_png: Path, workspace: Workspace
) -> None:
    folder = tmp_path / "bad"
    write_batch(folder, [case_record("c-1", "image", [f'<img src="{red_png}">'])])
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[tuple[object, int]] = []

    def look(box: QMessageBox) -> None:
        seen.append((box.text(), box.textFormat(), red_pixels(box)))
        box.done(0)

    with answer_dialog(qtbot, look, kind=QMessageBox):
        assert run_import(parent, workspace, folder, trust_unsigned=True) is None
    ((text, text_format, red),) = seen
    assert f'<img src="{red_png}">' in text and "Nothing was imported" in text
    assert (text_format, red) == (Qt.TextFormat.PlainText, 0)


def test_a_guideline_section_cannot_show_a_picture_from_disk(
    qtbot: QtBot, tmp_path: Path, red_png: Path, workspace: Workspace
) -> None:
    pack = json.loads(DEMO_PACK.read_text(encoding="utf-8"))
    pack["version"] = "9.9.9"
    body = f'![evidence]({red_png})\n\n<img src="{red_png}">\n\n**bold** stays bold'
    pack["sections"][0]["body"] = body
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(pack), encoding="utf-8")
    workspace.guidelines.import_pack(path)
    guideline = workspace.guidelines.guideline(pack["id"], "9.9.9", "DE")
    browser = GuidelineBrowser()
    qtbot.addWidget(browser)
    browser.resize(900, 700)
    browser.show()
    browser.set_guideline(guideline)
    assert browser.show_section(pack["sections"][0]["id"])
    assert "bold stays bold" in browser.text.toPlainText()
    assert red_pixels(browser.text.viewport()) == 0
