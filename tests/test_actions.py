"""The one action registry against its four readers: menus, keys, shortcut map, README."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QMenu
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.actions import (
    ACTIONS,
    Action,
    keyed,
    markdown_table,
    readme_key_table,
    single_key_map,
)
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.shortcut_map import ShortcutMapDialog

from .factory import mixed_batch
from .windows import open_window

README = Path(__file__).resolve().parents[1] / "README.md"
KEY_ONLY = {"hold_reveal", "choose_label", "leave_field", "reveal_region"}
"""Keys that are no menu command: a hold, a number, leaving a field, a mouse drag."""


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch"))
    return workspace


def menu_actions(window: MainWindow) -> dict[str, tuple[str, QAction]]:
    """Action id -> (menu path, QAction) for every item of the menu bar, submenus included."""
    found: dict[str, tuple[str, QAction]] = {}

    def walk(menu: QMenu, path: str) -> None:
        for item in menu.actions():
            if item.menu() is not None:
                walk(item.menu(), f"{path}/{item.menu().title()}")
            elif item.data():
                found[item.data()] = (path, item)

    for top in window.menuBar().actions():
        walk(top.menu(), top.menu().title())
    return found


def test_every_action_is_in_its_menu_with_its_shortcut(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    in_menus = menu_actions(window)
    for action in ACTIONS:
        if action.menu is None:
            assert action.id in KEY_ONLY, f"{action.id} is in no menu"
            continue
        assert action.id in in_menus, f"{action.id} missing from the menus"
        path, qaction = in_menus[action.id]
        assert path == action.menu
        if action.shortcuts:
            assert qaction.shortcuts() == [QKeySequence(k) for k in action.shortcuts]
        if action.single_keys:
            assert qaction.text().endswith(f"\t{action.keys}"), qaction.text()
    assert set(in_menus) == {a.id for a in ACTIONS if a.menu is not None}


def test_the_shortcut_map_shows_every_keyed_action(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    rows: list[tuple[str, str]] = []

    def read_map() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ShortcutMapDialog):
            QTimer.singleShot(30, read_map)
            return
        table = dialog.table
        rows.extend(
            (table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())
        )
        dialog.done(QDialog.DialogCode.Accepted)

    QTimer.singleShot(30, read_map)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Question)
    assert rows == [(a.keys, a.description) for a in keyed()]
    assert {a.id for a in ACTIONS if a.single_keys or a.shortcuts} <= {a.id for a in keyed()}


def test_readme_key_table_is_generated_from_the_registry() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme_key_table(readme) == markdown_table(), (
        "README.md's key table is stale: regenerate it with "
        "python -m qa_desktop.ui.actions --markdown"
    )


def test_no_key_is_bound_twice() -> None:
    table = single_key_map()
    assert sum(len(a.single_keys) for a in ACTIONS) == len(table)


def test_every_single_key_reaches_its_action_by_real_key_events(
    qtbot: QtBot, loaded: Workspace
) -> None:
    window = open_window(qtbot, loaded)
    ran: list[str] = []

    def spy(action: Action) -> Action:
        return replace(
            action,
            run=lambda _w, a=action: ran.append(a.id),
            release=(lambda _w, a=action: ran.append(f"{a.id}:release"))
            if action.release
            else None,
            digit=(lambda _w, n, a=action: ran.append(f"{a.id}:{n}")) if action.digit else None,
        )

    window.keys.table = {key: spy(action) for key, action in window.keys.table.items()}
    expected: list[str] = []
    for key, action in single_key_map().items():
        qtbot.keyClick(window.review.queue, Qt.Key(key))
        if action.release is not None:
            expected += [action.id, f"{action.id}:release"]
        elif action.digit is not None:
            expected.append(f"{action.id}:{key - Qt.Key.Key_0}")
        else:
            expected.append(action.id)
    assert ran == expected
    # and typing in a text field never triggers them
    ran.clear()
    window.review.panel.citation_field.setFocus()
    qtbot.keyClicks(window.review.panel.citation_field, "jkutgx")
    assert ran == []


def test_every_menu_command_runs(qtbot: QtBot, loaded: Workspace) -> None:
    """Each callable reaches a real method (dialogs it opens are dismissed at once)."""
    window = open_window(qtbot, loaded)
    dismissed: list[str] = []

    def dismiss() -> None:
        popup = QApplication.activePopupWidget()
        modal = QApplication.activeModalWidget()
        if popup is not None:
            popup.close()
            dismissed.append(type(popup).__name__)
        elif modal is not None:
            modal.close() if not isinstance(modal, QDialog) else modal.reject()
            dismissed.append(type(modal).__name__)

    closer = QTimer()
    closer.timeout.connect(dismiss)
    closer.start(50)
    try:
        for action in ACTIONS:
            if action.run is not None and action.id != "quit":
                window.trigger(action.id)
    finally:
        closer.stop()
    assert dismissed  # the dialogs opened and were answered
    window.trigger("quit")
    assert not window.isVisible()


def test_every_menu_item_has_its_own_accelerator_letter() -> None:
    """Alt+menu letter then the item's letter reaches exactly one item (two "&R"s in one menu
    made Alt+P R open the quiz results instead of the RCA escalations)."""
    import re
    from collections import defaultdict

    from qa_desktop.ui.actions import ACTIONS

    letters: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for action in ACTIONS:
        if action.menu is None:
            continue
        text = action.menu_text or action.description
        found = re.search(r"&([^&])", text)
        if found:
            letters[action.menu][found.group(1).lower()].append(action.id)
    clashes = {
        menu: {k: ids for k, ids in keys.items() if len(ids) > 1} for menu, keys in letters.items()
    }
    assert {m: c for m, c in clashes.items() if c} == {}
