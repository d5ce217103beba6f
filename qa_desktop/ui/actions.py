"""One registry of everything the reviewer can do: menus, keys, the shortcut map, the README.

Each :class:`Action` is (id, keys, description, menu, callable). From :data:`ACTIONS` come
the menu bar (:func:`build_menus`), the single-key dispatch (:class:`KeyDispatcher`, which
never fires while a text field has focus), the shortcut map (``?``) and the key table in
README.md (``python -m qa_desktop.ui.actions --markdown``; a test fails when it is stale).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

if TYPE_CHECKING:
    from .main_window import MainWindow

Command = Callable[["MainWindow"], object]
"""What an action does, given the main window it acts in."""

K = Qt.Key
README_START = "<!-- keys:start -->"
README_END = "<!-- keys:end -->"
MENUS = ("&File", "&Keys", "&Review", "&View", "Re&ports", "&Help")
"""The menu bar, left to right; an action's ``menu`` may name a submenu as ``"&View/Video"``."""


@dataclass(frozen=True)
class Action:
    """One thing the reviewer can do, and every way to reach it."""

    id: str
    keys: str
    """The keys as the shortcut map shows them ("" when only in a menu)."""
    description: str
    menu: str | None
    """The menu (``"&Review"``, ``"&View/Video"``) it appears in; None for keys only."""
    run: Command | None
    menu_text: str = ""
    """The menu item's words (with its ``&`` accelerator); the description if empty."""
    shortcuts: tuple[str, ...] = ()
    """Real Qt shortcuts (Ctrl+…) of its menu item; the first is the one shown."""
    single_keys: tuple[Qt.Key, ...] = ()
    """Plain keys that run it from the review loop (never while typing)."""
    release: Command | None = None
    """For hold keys (Space): what releasing the key does."""
    digit: Callable[[MainWindow, int], object] | None = None
    """For number keys 1–9: called with the number."""

    @property
    def menu_label(self) -> str:
        """The menu item's text: its words, then (after a tab) the single keys to press."""
        text = self.menu_text or self.description
        return f"{text}\t{self.keys}" if self.single_keys and self.keys else text


def _label_key(window: MainWindow, number: int) -> None:
    if not window.review.panel.select_label(number):
        window.statusBar().showMessage(f"No label on key {number}", 3000)


def _open_vote_page(window: MainWindow) -> object:
    from .vote_page.launcher import open_vote_page

    return open_vote_page(window)


def _a(
    id: str, keys: str, description: str, menu: str | None, run: Command | None, **kw: object
) -> Action:
    return Action(id, keys, description, menu, run, **kw)  # type: ignore[arg-type]


ACTIONS: tuple[Action, ...] = (
    # -- File ------------------------------------------------------------------------------
    _a("import_batch", "Ctrl+O", "Import a case batch", "&File",
       lambda w: w.import_batch(), menu_text="&Import batch…", shortcuts=("Ctrl+O",)),
    _a("load_demo", "", "Load the synthetic demo batch and its guideline packs", "&File",
       lambda w: w.load_demo(), menu_text="Load the &demo batch…"),
    _a("import_guideline_pack", "Ctrl+Shift+O", "Import a guideline pack", "&File",
       lambda w: w.import_guideline_pack(), menu_text="Import &guideline pack…",
       shortcuts=("Ctrl+Shift+O",)),
    _a("sync_now", "Ctrl+Shift+S",
       "Sync now: send your new verdicts as a signed bundle, take everyone else's", "&File",
       lambda w: w.sync_now(), menu_text="&Sync now…", shortcuts=("Ctrl+Shift+S",)),
    _a("send_quiz_attempts", "Ctrl+Shift+U",
       "Send your submitted exam attempts to your lead now (a sync with your sync folder)",
       "&File", lambda w: w.send_quiz_attempts(), menu_text="Send quiz &attempts now",
       shortcuts=("Ctrl+Shift+U",)),
    _a("export_bundle", "", "Export your new verdicts as one signed bundle", "&File",
       lambda w: w.export_bundle(), menu_text="&Export verdict bundle…"),
    _a("export_bundle_evidence", "", "Export a signed bundle with evidence files", "&File",
       lambda w: w.export_bundle(ask_evidence=True),
       menu_text="Export verdict bundle with e&vidence…"),
    _a("import_bundles", "", "Verify and merge bundles from other reviewers", "&File",
       lambda w: w.import_bundles(), menu_text="Import &bundles…"),
    _a("quit", "Ctrl+Q", "Quit", "&File", lambda w: w.close(), menu_text="&Quit",
       shortcuts=("Ctrl+Q",)),
    # -- Keys ------------------------------------------------------------------------------
    _a("create_key", "", "Create your signing key", "&Keys", lambda w: w.create_key(),
       menu_text="&Create my signing key…"),
    _a("trusted_signers", "", "Trusted signers: add, revoke, export your public key", "&Keys",
       lambda w: w.show_trust_store(), menu_text="&Trusted signers…"),
    # -- Review ----------------------------------------------------------------------------
    _a("hold_reveal", "Space (hold) / mouse (hold)",
       "Reveal while held; release to blur again", None,
       lambda w: w.review.hold_reveal(True), single_keys=(K.Key_Space,),
       release=lambda w: w.review.hold_reveal(False)),
    _a("next_case", "J / ↓", "Next case", "&Review", lambda w: w.review.next_case(),
       menu_text="&Next case", single_keys=(K.Key_J, K.Key_Down)),
    _a("previous_case", "K / ↑", "Previous case", "&Review",
       lambda w: w.review.previous_case(), menu_text="&Previous case",
       single_keys=(K.Key_K, K.Key_Up)),
    _a("next_undecided", "A", "Next case awaiting your verdict (wraps round)", "&Review",
       lambda w: w.review.next_undecided(), menu_text="Next &undecided case",
       single_keys=(K.Key_A,)),
    _a("first_case", "Home", "First case in the queue", "&Review",
       lambda w: w.review.first_case(), menu_text="&First case", single_keys=(K.Key_Home,)),
    _a("last_case", "End", "Last case in the queue", "&Review",
       lambda w: w.review.last_case(), menu_text="&Last case", single_keys=(K.Key_End,)),
    _a("page_up", "PgUp", "A page of cases up the queue", "&Review",
       lambda w: w.review.page_up(), menu_text="Pa&ge up", single_keys=(K.Key_PageUp,)),
    _a("page_down", "PgDn", "A page of cases down the queue", "&Review",
       lambda w: w.review.page_down(), menu_text="Page do&wn", single_keys=(K.Key_PageDown,)),
    _a("choose_label", "1 – 9", "Choose a label of the case's guideline pack", None, None,
       single_keys=tuple(Qt.Key(K.Key_0 + n) for n in range(1, 10)), digit=_label_key),
    _a("record_and_next", "Ctrl+Enter",
       "Record the verdict and go to the next case (an enforcing label needs a citation of "
       "a section that supports it)", "&Review", lambda w: w.review.record_and_next(),
       menu_text="&Record verdict and next", shortcuts=("Ctrl+Return", "Ctrl+Enter")),
    _a("undo_verdict", "U", "Undo your last verdict on this case", "&Review",
       lambda w: w.review.undo_verdict(), menu_text="Un&do last verdict",
       single_keys=(K.Key_U,)),
    _a("confidence_low", "Ctrl+1", "Confidence low", "&Review",
       lambda w: w.review.panel.details.set_confidence(1), menu_text="Confidence 1 (low)",
       shortcuts=("Ctrl+1",)),
    _a("confidence_medium", "Ctrl+2", "Confidence medium", "&Review",
       lambda w: w.review.panel.details.set_confidence(2), menu_text="Confidence 2 (medium)",
       shortcuts=("Ctrl+2",)),
    _a("confidence_high", "Ctrl+3", "Confidence high", "&Review",
       lambda w: w.review.panel.details.set_confidence(3), menu_text="Confidence 3 (high)",
       shortcuts=("Ctrl+3",)),
    _a("focus_citation", "C",
       "Cite a section: type its id, words of its title or body, ↑/↓ choose, Enter adds",
       "&Review", lambda w: w.review.focus_citation(), menu_text="&Cite a section",
       single_keys=(K.Key_C,)),
    _a("choose_rca", "R", "RCA escalation: a numbered reason, then a note", "&Review",
       lambda w: w.review.choose_rca(), menu_text="RCA &escalation…", single_keys=(K.Key_R,)),
    _a("choose_gap", "P",
       "Policy gap: silent / ambiguous / conflicting / outdated, then a note", "&Review",
       lambda w: w.review.choose_gap(), menu_text="Polic&y gap…", single_keys=(K.Key_P,)),
    _a("focus_notes", "N", "Write notes (Esc leaves the field)", "&Review",
       lambda w: w.review.focus_notes(), menu_text="N&otes", single_keys=(K.Key_N,)),
    _a("remove_citation", "Backspace / Delete",
       "Remove the selected citation (the newest unless you clicked another); Ctrl+Backspace "
       "in an empty citation field does the same", "&Review", lambda w: w.review.remove_citation(),
       menu_text="Remove the selected c&itation", single_keys=(K.Key_Backspace, K.Key_Delete)),
    _a("leave_field", "Esc",
       "Leave the citation, notes, search or guideline field (the field says so while it has "
       "the keys; Enter that adds a citation leaves too)", None, None),
    _a("show_history", "H", "History of this case: every event, nothing merged", "&Review",
       lambda w: w.review.show_history(), menu_text="Case &history", single_keys=(K.Key_H,)),
    # -- View: queue, guidelines, protection -------------------------------------------------
    _a("find_in_queue", "Ctrl+F",
       "Find in the queue; the bar above it filters by status, market, policy, original "
       "decision, QA outcome and flags, and saves views (Esc back to the cases)", "&View",
       lambda w: w.review.filter_bar.text.setFocus(), menu_text="&Find in queue",
       shortcuts=("Ctrl+F",)),
    _a("clear_queue_filter", "", "Clear the queue filter", "&View",
       lambda w: w.review.filter_bar.clear(), menu_text="&Clear queue filter"),
    _a("toggle_guidelines", "B",
       "Show / hide the guideline browser (the case's market overlay and version)", "&View",
       lambda w: w.toggle_guidelines(), menu_text="&Guidelines", single_keys=(K.Key_B,)),
    _a("focus_guideline_search", "/",
       "Search the guidelines; Enter cites the section (selected words become a quote)",
       "&View", lambda w: w.focus_guideline_search(), menu_text="&Search the guidelines",
       single_keys=(K.Key_Slash,)),
    _a("edit_preferences", "", "Wellbeing preferences: protection, playback, breaks", "&View",
       lambda w: w.edit_preferences(), menu_text="&Wellbeing preferences…"),
    _a("toggle_case_reveal", "T",
       "Reveal this case until you leave it (a red frame says so; never carries to the next "
       "case)", "&View/&Protection", lambda w: w.review.toggle_case_reveal(),
       menu_text="&Reveal this case", single_keys=(K.Key_T,)),
    _a("reveal_region", "Shift+drag", "Reveal only a region (several allowed)", None, None),
    _a("clear_regions", "Esc", "Blur the revealed regions again", "&View/&Protection",
       lambda w: w.review.clear_regions(), menu_text="&Blur the regions again",
       single_keys=(K.Key_Escape,)),
    _a("accept_warning", "W",
       "Show the media behind a warning screen (cases tagged graphic/severe), or expand "
       "collapsed text", "&View/&Protection", lambda w: w.review.accept_warning(),
       menu_text="Show behind the &warning", single_keys=(K.Key_W,)),
    _a("weaker_blur", "[", "Weaker blur (this case)", "&View/&Protection",
       lambda w: w.review.weaker_blur(), single_keys=(K.Key_BracketLeft,)),
    _a("stronger_blur", "]", "Stronger blur (this case)", "&View/&Protection",
       lambda w: w.review.stronger_blur(), single_keys=(K.Key_BracketRight,)),
    _a("toggle_pixelate", "X", "Pixelate instead of blur, on/off (this case)",
       "&View/&Protection", lambda w: w.review.toggle_pixelate(), single_keys=(K.Key_X,)),
    _a("toggle_grayscale", "G", "Grayscale on/off (this case)", "&View/&Protection",
       lambda w: w.review.toggle_grayscale(), single_keys=(K.Key_G,)),
    _a("toggle_sepia", "E", "Sepia on/off (this case)", "&View/&Protection",
       lambda w: w.review.toggle_sepia(), single_keys=(K.Key_E,)),
    _a("cycle_transparency", "O", "Fade toward the background: 0 %, 30 %, 60 % (this case)",
       "&View/&Protection", lambda w: w.review.cycle_transparency(), single_keys=(K.Key_O,)),
    _a("toggle_reduced_detail", "D", "Reduced detail: show as an illustration (this case)",
       "&View/&Protection", lambda w: w.review.toggle_reduced_detail(),
       single_keys=(K.Key_D,)),
    _a("keep_filters_as_defaults", "Ctrl+Shift+D", "Keep this case's filters as my defaults",
       "&View", lambda w: w.review.keep_filters_as_defaults(),
       menu_text="&Keep this case's filters as my defaults", shortcuts=("Ctrl+Shift+D",)),
    _a("zoom_in", "+", "Zoom in (the blur stays; Ctrl+wheel zooms, wheel pans)", "&View/&Zoom",
       lambda w: w.review.zoom_in(), single_keys=(K.Key_Plus, K.Key_Equal)),
    _a("zoom_out", "−", "Zoom out", "&View/&Zoom", lambda w: w.review.zoom_out(),
       single_keys=(K.Key_Minus,)),
    _a("zoom_fit", "0", "Zoom to fit", "&View/&Zoom", lambda w: w.review.zoom_fit(),
       single_keys=(K.Key_0,)),
    # -- View ▸ Video ----------------------------------------------------------------------
    _a("toggle_play", "L", "Video: play / pause (always protected unless revealed)",
       "&View/V&ideo", lambda w: w.review.video.toggle_play(), single_keys=(K.Key_L,)),
    _a("jump_back", "←", "Video: jump back (5 s)", "&View/V&ideo",
       lambda w: w.review.video.jump_back(), single_keys=(K.Key_Left,)),
    _a("jump_forward", "→", "Video: jump forward (5 s)", "&View/V&ideo",
       lambda w: w.review.video.jump_forward(), single_keys=(K.Key_Right,)),
    _a("previous_frame", ",", "Video: previous frame", "&View/V&ideo",
       lambda w: w.review.video.previous_frame(), single_keys=(K.Key_Comma,)),
    _a("next_frame", ".", "Video: next frame", "&View/V&ideo",
       lambda w: w.review.video.next_frame(), single_keys=(K.Key_Period,)),
    _a("slower", "<", "Video: slower (down to 0.5×)", "&View/V&ideo",
       lambda w: w.review.video.slower(), single_keys=(K.Key_Less,)),
    _a("faster", ">", "Video: faster (up to 2×)", "&View/V&ideo",
       lambda w: w.review.video.faster(), single_keys=(K.Key_Greater,)),
    _a("toggle_mute", "M", "Video: sound on / off for this case (muted on every case)",
       "&View/V&ideo", lambda w: w.review.toggle_mute(), single_keys=(K.Key_M,)),
    _a("open_vote_page", "", "Open the vote page for a live calibration session (participants"
       " vote from their own browsers)", "&Review", _open_vote_page,
       menu_text="Open &vote page for the session…"),
    # -- Reports, Help -------------------------------------------------------------------------
    _a("take_quiz", "", "Take a knowledge quiz (receive a shipped quiz file first)",
       "Re&ports", lambda w: w.take_quiz(), menu_text="Take a &quiz…"),
    _a("quiz_results", "", "Quiz results: who passed what", "Re&ports",
       lambda w: w.show_quiz_results(), menu_text="Quiz res&ults"),
    _a("performance_reports", "Ctrl+Shift+R",
       "Performance reports: accuracy with intervals, errors, confusion, throughput; export "
       "XLSX, CSV, PDF", "Re&ports", lambda w: w.show_reports(),
       menu_text="P&erformance reports", shortcuts=("Ctrl+Shift+R",)),
    _a("calibration_sessions", "Ctrl+Shift+C",
       "Calibration sessions: blind votes on a grid, reveal, discussion notes, the ruling",
       "&Review", lambda w: w.show_calibration(), menu_text="Calibration &sessions",
       shortcuts=("Ctrl+Shift+C",)),
    _a("rca_escalations", "", "RCA escalations grouped by the section they cite",
       "Re&ports", lambda w: w.show_rca_escalations(), menu_text="&RCA escalations…"),
    _a("policy_gaps", "", "Policy gaps grouped by the section they cite", "Re&ports",
       lambda w: w.show_policy_gaps(), menu_text="&Policy gaps…"),
    _a("deliveries", "", "Bundles received per signer, and the ones missing", "Re&ports",
       lambda w: w.show_deliveries(), menu_text="&Bundles received…"),
    _a("show_shortcuts", "?", "This shortcut map", "&Help", lambda w: w.show_shortcuts(),
       menu_text="&Shortcut map", single_keys=(K.Key_Question,)),
    _a("take_break", "", "Take a break now: content hidden, session clock and exposure paused",
       "&Help", lambda w: w.review.take_break("taken"), menu_text="Take a &break now"),
    _a("session_summary", "", "What this session amounted to so far", "&Help",
       lambda w: w.review.show_session_summary(), menu_text="Session s&ummary"),
)  # fmt: skip

BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}


def keyed(actions: Iterable[Action] = ACTIONS) -> list[Action]:
    """The actions reached by a key (the rows of the shortcut map and the README table)."""
    return [action for action in actions if action.keys]


def single_key_map(actions: Iterable[Action] = ACTIONS) -> dict[int, Action]:
    """Plain key → the action it runs; raises ValueError if two actions claim one key."""
    table: dict[int, Action] = {}
    for action in actions:
        for key in action.single_keys:
            if key in table:
                raise ValueError(f"{key!r} is bound to {table[key].id} and {action.id}")
            table[int(key)] = action
    return table


def markdown_table(actions: Iterable[Action] = ACTIONS) -> str:
    """The README's key table, generated from the registry."""
    lines = ["| keys | does |", "| --- | --- |"]
    for action in keyed(actions):
        keys, does = (text.replace("|", "\\|") for text in (action.keys, action.description))
        lines.append(f"| {keys} | {does} |")
    return "\n".join(lines) + "\n"


def readme_key_table(readme: str) -> str:
    """The key table as README.md has it now (between the ``keys`` markers)."""
    start, end = readme.index(README_START), readme.index(README_END)
    return readme[start + len(README_START) : end].strip("\n") + "\n"


def with_key_table(readme: str, actions: Iterable[Action] = ACTIONS) -> str:
    """README.md's text with the table between the markers replaced by a fresh one."""
    start, end = readme.index(README_START), readme.index(README_END)
    return readme[: start + len(README_START)] + "\n" + markdown_table(actions) + readme[end:]


def build_menus(window: QMainWindow, run: Callable[[Action], None]) -> dict[str, QAction]:
    """Fill the window's menu bar from the registry; every QAction carries its action id."""
    menus: dict[str, QMenu] = {}

    def menu_for(path: str) -> QMenu:
        if path not in menus:
            parent, _, name = path.rpartition("/")
            owner = menu_for(parent) if parent else window.menuBar()
            menus[path] = owner.addMenu(name)
        return menus[path]

    for name in MENUS:
        menu_for(name)
    made: dict[str, QAction] = {}
    for action in ACTIONS:
        if action.menu is None or action.run is None:
            continue
        qaction = QAction(action.menu_label, window)
        qaction.setData(action.id)
        if action.shortcuts:
            qaction.setShortcuts([QKeySequence(keys) for keys in action.shortcuts])
            qaction.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        qaction.triggered.connect(lambda _checked=False, a=action: run(a))
        window.addAction(qaction)
        menu_for(action.menu).addAction(qaction)
        made[action.id] = qaction
    return made


_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit)


_KEY_PRESS = QEvent.Type.KeyPress
_KEY_RELEASE = QEvent.Type.KeyRelease


class KeyDispatcher(QObject):
    """Runs single-key actions for one window: an application event filter.

    Keys go to a text field when one has focus, to a modal dialog when one is open, to a
    dock (the guideline browser) when it has focus, and Ctrl/Alt combinations to the menu
    shortcuts; everything else is looked up here, once: a key that a widget ignored and Qt
    passes on to its parents is not run again on the way up.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.table = single_key_map()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Handle a plain key press (or a hold key's release) meant for the window."""
        kind = event.type()
        if kind is not _KEY_PRESS and kind is not _KEY_RELEASE:
            return False  # every event of the application passes here: the cheapest test first
        if not isinstance(watched, QWidget) or watched.window() is not self.window:
            return False
        if QApplication.activeModalWidget() is not None:
            return False
        if self.window.screens.currentWidget() is not self.window.review:
            return False  # another screen of the stack (reports, calibration, quiz): its keys
        focus = QApplication.focusWidget()
        if isinstance(focus, _TEXT_INPUTS) or _in_dock(focus) or _in_dock(watched):
            return False
        if focus is not None and focus is not watched and watched.isAncestorOf(focus):
            return False  # the key is propagating up from the focus widget: seen there
        key_event: QKeyEvent = event  # type: ignore[assignment]
        if key_event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            return False
        action = self.table.get(key_event.key())
        if action is None:
            return False
        if action.release is not None:  # a hold key: press and release, no auto-repeat
            if not key_event.isAutoRepeat():
                command = action.run if kind is _KEY_PRESS else action.release
                if command is not None:
                    command(self.window)
            return True
        if kind is _KEY_RELEASE:
            return False
        if action.digit is not None:
            action.digit(self.window, key_event.key() - Qt.Key.Key_0)
        elif action.run is not None:
            action.run(self.window)
        return True


def _in_dock(widget: QWidget | None) -> bool:
    """The widget is inside a dock (its keys are its own: they never drive the queue)."""
    while widget is not None:
        if isinstance(widget, QDockWidget):
            return True
        widget = widget.parentWidget()
    return False


def main(argv: list[str] | None = None) -> int:
    """``python -m qa_desktop.ui.actions --markdown``: print the README key table."""
    parser = argparse.ArgumentParser(prog="python -m qa_desktop.ui.actions")
    parser.add_argument("--markdown", action="store_true", help="print the README key table")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
