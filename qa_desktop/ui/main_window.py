"""The main window: queue on the left, the case in the middle, the verdict panel on the right.

Every single-key shortcut lives in :data:`KEYMAP`; the window handles them in one event
filter so that typing in the citation or notes field never triggers them.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QElapsedTimer,
    QEvent,
    QItemSelectionModel,
    QObject,
    QSettings,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    MAX_BLUR_LEVEL,
    BreakAdvisor,
    BundleImportReport,
    Case,
    CitationError,
    Clock,
    EffectiveSection,
    ExportResult,
    ExposureMeter,
    Guideline,
    Identity,
    PackError,
    Preferences,
    Protection,
    QueueFilter,
    SyncReport,
    WrongPassphrase,
    apply_filters,
    is_animated_image,
    missing_summary,
    protection_for,
    tag_key,
)
from ..core.workspace import Workspace
from .background_task import run_with_progress
from .deliveries_dialog import DeliveriesDialog
from .findings_dialog import FindingsDialog
from .guideline_browser import GuidelineBrowser
from .history_dialog import HistoryDialog
from .import_dialog import run_import
from .plain_text import inform, warn
from .preferences_dialog import PreferencesDialog
from .protection_bar import TRANSPARENCY_STEPS, ProtectionBar
from .queue_filter_bar import QueueFilterBar
from .queue_view import QueueModel, QueueView
from .render import RenderCache, Rendered, ViewSettings
from .shortcut_map import ShortcutMapDialog
from .signing import (
    TrustDialog,
    ask_passphrase,
    import_summary,
    plural,
    sync_summary,
)
from .verdict_panel import VerdictPanel
from .viewer import CaseViewer
from .wellbeing_dialogs import SNOOZE_MINUTES, BreakDialog, SummaryDialog

PREFETCH_AHEAD = 3
PREFERENCES_KEY = "wellbeing/preferences"


def load_preferences(settings: QSettings) -> Preferences:
    """The reviewer's protection and playback preferences (defaults if none or unreadable)."""
    raw = settings.value(PREFERENCES_KEY, "")
    try:
        return Preferences.from_dict(json.loads(str(raw))) if raw else Preferences()
    except ValueError:
        return Preferences()


def save_preferences(settings: QSettings, preferences: Preferences) -> None:
    """Keep the preferences for the next start."""
    settings.setValue(PREFERENCES_KEY, json.dumps(preferences.to_dict()))
    settings.sync()


@dataclass(frozen=True)
class KeyBinding:
    """One shortcut: the keys, what it does (for the map), and the method it calls."""

    keys: str
    description: str
    action: str


KEYMAP: tuple[KeyBinding, ...] = (
    KeyBinding("Space (hold)", "Reveal while held; release to blur again (mouse too)", ""),
    KeyBinding("J / ↓", "Next case", "next_case"),
    KeyBinding("K / ↑", "Previous case", "previous_case"),
    KeyBinding("1 – 9", "Choose label", ""),
    KeyBinding("Ctrl+Enter", "Record verdict and go to the next case", "record_and_next"),
    KeyBinding("U", "Undo your last verdict on this case", "undo_verdict"),
    KeyBinding("C", "Cite a section (type id, title or words; Enter adds)", "focus_citation"),
    KeyBinding("B", "Show / hide the guideline browser", "toggle_guidelines"),
    KeyBinding("/", "Search the guidelines (Enter cites the section)", "focus_guideline_search"),
    KeyBinding("Ctrl+1 – 3", "Confidence low / medium / high", ""),
    KeyBinding("R", "RCA escalation: choose a reason, then a note", "choose_rca"),
    KeyBinding("P", "Policy gap: silent / ambiguous / conflicting / outdated", "choose_gap"),
    KeyBinding("H", "History of this case (every event)", "show_history"),
    KeyBinding("N", "Write notes", "focus_notes"),
    KeyBinding("Esc", "Leave the citation or notes field", ""),
    KeyBinding("T", "Reveal this case until you leave it (always shown in red)", ""),
    KeyBinding("Shift+drag", "Reveal only a region (several allowed); Esc blurs them", ""),
    KeyBinding("W", "Show the media of a case behind a warning screen / expand text", ""),
    KeyBinding("[  /  ]", "Weaker / stronger blur", ""),
    KeyBinding("X  G  E", "Pixelate, grayscale, sepia on/off (this case)", ""),
    KeyBinding("O  D", "Fade toward the background; reduced detail (illustration)", ""),
    KeyBinding("Ctrl+Shift+D", "Keep this case's filters as my defaults", ""),
    KeyBinding("L", "Video: play / pause (always blurred unless revealed)", ""),
    KeyBinding("←  /  →", "Video: jump back / forward (5 s)", ""),
    KeyBinding(",  /  .", "Video: previous / next frame", ""),
    KeyBinding("<  /  >", "Video: slower / faster (0.5×–2×)", ""),
    KeyBinding("M", "Video: sound on / off for this case (muted by default)", ""),
    KeyBinding("+  /  −  /  0", "Zoom in / out / fit", ""),
    KeyBinding("Ctrl+F", "Find in the queue (Esc back to the cases)", ""),
    KeyBinding("Ctrl+O", "Import a case batch", "import_batch"),
    KeyBinding("?", "This shortcut map", "show_shortcuts"),
)

_SINGLE_KEYS: dict[int, str] = {
    Qt.Key.Key_J: "next_case",
    Qt.Key.Key_Down: "next_case",
    Qt.Key.Key_K: "previous_case",
    Qt.Key.Key_Up: "previous_case",
    Qt.Key.Key_U: "undo_verdict",
    Qt.Key.Key_G: "toggle_grayscale",
    Qt.Key.Key_X: "toggle_pixelate",
    Qt.Key.Key_E: "toggle_sepia",
    Qt.Key.Key_D: "toggle_reduced_detail",
    Qt.Key.Key_O: "cycle_transparency",
    Qt.Key.Key_T: "toggle_case_reveal",
    Qt.Key.Key_W: "accept_warning",
    Qt.Key.Key_Escape: "clear_regions",
    Qt.Key.Key_L: "toggle_play",
    Qt.Key.Key_Left: "jump_back",
    Qt.Key.Key_Right: "jump_forward",
    Qt.Key.Key_Comma: "previous_frame",
    Qt.Key.Key_Period: "next_frame",
    Qt.Key.Key_Less: "slower",
    Qt.Key.Key_Greater: "faster",
    Qt.Key.Key_M: "toggle_mute",
    Qt.Key.Key_BracketLeft: "weaker_blur",
    Qt.Key.Key_BracketRight: "stronger_blur",
    Qt.Key.Key_Plus: "zoom_in",
    Qt.Key.Key_Equal: "zoom_in",
    Qt.Key.Key_Minus: "zoom_out",
    Qt.Key.Key_0: "zoom_fit",
    Qt.Key.Key_C: "focus_citation",
    Qt.Key.Key_N: "focus_notes",
    Qt.Key.Key_Question: "show_shortcuts",
    Qt.Key.Key_B: "toggle_guidelines",
    Qt.Key.Key_Slash: "focus_guideline_search",
    Qt.Key.Key_R: "choose_rca",
    Qt.Key.Key_P: "choose_gap",
    Qt.Key.Key_H: "show_history",
}
_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit)


class MainWindow(QMainWindow):
    """The review loop over one Workspace."""

    def __init__(
        self,
        workspace: Workspace,
        clock: Clock = time.monotonic,
        summary_on_close: bool = False,
    ) -> None:
        super().__init__()
        self.ws = workspace
        self.case: Case | None = None
        self.guideline: Guideline | None = None
        self.summary_on_close = summary_on_close
        self.preferences_file = QSettings(
            str(workspace.data_dir / "settings.ini"), QSettings.Format.IniFormat
        )
        self.prefs = load_preferences(self.preferences_file)
        self.protection = Protection(self.prefs.filters)
        self.case_filters = self.prefs.filters
        self.case_revealed = False
        self.warning_accepted = False
        self._held = False
        self._animation_cache: dict[Path, bool] = {}
        self._passphrase: str | None = None
        self.meter = ExposureMeter(clock, listener=self._exposure_accrued)
        self.advisor = BreakAdvisor(self.prefs.break_rules, clock)
        self.session_id = workspace.wellbeing.start_session() if workspace.reviewer else None
        self.renderer = RenderCache(workspace.media_dir, parent=self)
        self.renderer.rendered.connect(self._on_rendered)
        self.time_on_case = QElapsedTimer()

        self.setWindowTitle(
            f"QA Desktop — {workspace.reviewer.display_name if workspace.reviewer else ''}"
        )
        self.model = QueueModel(workspace, self)
        self.queue = QueueView(self.model)
        self.queue.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._open_row(current.row())
        )

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        header_font = QFont(self.header.font())
        header_font.setPointSizeF(header_font.pointSizeF() * 1.15)
        self.header.setFont(header_font)
        self.viewer = CaseViewer()
        self.viewer.regions_changed.connect(self._reveal_changed)
        self.viewer.image_view.reveal_changed.connect(lambda _revealed: self._reveal_changed())
        self.viewer.hold_requested.connect(self.hold_reveal)
        self.viewer.player.set_speed(self.prefs.playback_speed)
        self.viewer.player.set_jump_seconds(self.prefs.jump_seconds)
        self.protection_bar = ProtectionBar()
        self.protection_bar.action.connect(lambda name: getattr(self, name)())
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(4, 4, 4, 4)
        center_layout.addWidget(self.header)
        center_layout.addWidget(self.protection_bar)
        center_layout.addWidget(self.viewer, 1)

        self.panel = VerdictPanel()
        self.panel.record_requested.connect(self.record_and_next)
        self.panel.text_editing_done.connect(self._leave_text_input)

        self.filter_bar = QueueFilterBar()
        self.filter_bar.filter_changed.connect(self.apply_filter)
        self.filter_bar.view_saved.connect(self._save_view)
        self.filter_bar.editing_done.connect(self._leave_text_input)
        self.queue_pane = QWidget()
        queue_layout = QVBoxLayout(self.queue_pane)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addWidget(self.filter_bar)
        queue_layout.addWidget(self.queue, 1)
        self._refresh_filter_choices()

        self.splitter = QSplitter()
        self.splitter.addWidget(self.queue_pane)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.setCentralWidget(self.splitter)

        self.browser = GuidelineBrowser()
        self.browser.cite_requested.connect(self._cite_from_browser)
        self.browser.escaped.connect(self._leave_text_input)
        self.guideline_dock = QDockWidget("Guidelines", self)
        self.guideline_dock.setObjectName("guidelines")
        self.guideline_dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.guideline_dock)
        self.guideline_dock.hide()
        self.guideline_dock.visibilityChanged.connect(self._guidelines_shown)

        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)
        self.meter_timer = QTimer(self)
        self.meter_timer.setInterval(250)
        self.meter_timer.timeout.connect(self._tick_exposure)
        self.meter_timer.start()
        self.break_timer = QTimer(self)
        self.break_timer.setInterval(5000)
        self.break_timer.timeout.connect(self.check_break)
        self.break_timer.start()
        self._build_menu()
        QApplication.instance().installEventFilter(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # As big as the screen allows, up to 1600x950; the case gets the largest share.
        available = self.screen().availableGeometry()
        width = min(1600, available.width())
        self.resize(width, min(950, available.height()))
        queue, panel = round(width * 0.30), round(width * 0.23)
        self.splitter.setSizes([queue, width - queue - panel, panel])
        self._queue_width = queue
        self.open_start_case()
        # Start with keys going to the review loop, not into the citation field.
        self.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- menus and Ctrl shortcuts -------------------------------------------------------------
    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&Import batch…", QKeySequence("Ctrl+O"), self.import_batch)
        self._add_action(
            file_menu, "Import &guideline pack…", QKeySequence("Ctrl+Shift+O"),
            self.import_guideline_pack,
        )
        self._add_action(
            file_menu, "&Sync now…", QKeySequence("Ctrl+Shift+S"), lambda: self.sync_now()
        )
        self._add_action(file_menu, "&Export verdict bundle…", None, lambda: self.export_bundle())
        self._add_action(file_menu, "Export verdict bundle with e&vidence…", None,
                         lambda: self.export_bundle(ask_evidence=True))
        self._add_action(file_menu, "Import &bundles…", None, lambda: self.import_bundles())
        self._add_action(file_menu, "&Quit", QKeySequence("Ctrl+Q"), self.close)
        keys_menu = self.menuBar().addMenu("&Keys")
        self._add_action(keys_menu, "&Create my signing key…", None, lambda: self.create_key())
        self._add_action(keys_menu, "&Trusted signers…", None, self.show_trust_store)
        review = self.menuBar().addMenu("&Review")
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            self._add_action(
                review,
                "&Record verdict and next",
                QKeySequence(keys),
                self.record_and_next,
                visible=keys == "Ctrl+Return",
            )
        self._add_action(review, "&Undo last verdict  (U)", None, self.undo_verdict)
        for level, name in ((1, "low"), (2, "medium"), (3, "high")):
            self._add_action(
                review,
                f"Confidence {level} ({name})",
                QKeySequence(f"Ctrl+{level}"),
                lambda level=level: self.panel.details.set_confidence(level),
            )
        self._add_action(review, "RCA &escalation…  (R)", None, self.choose_rca)
        self._add_action(review, "&Policy gap…  (P)", None, self.choose_gap)
        self._add_action(review, "Case &history  (H)", None, self.show_history)
        view = self.menuBar().addMenu("&View")
        self._add_action(
            view, "&Find in queue", QKeySequence("Ctrl+F"), self.filter_bar.text.setFocus
        )
        self._add_action(view, "&Clear queue filter", None, self.filter_bar.clear)
        self._add_action(view, "&Wellbeing preferences…", None, lambda: self.edit_preferences())
        self._add_action(
            view,
            "&Keep this case's filters as my defaults",
            QKeySequence("Ctrl+Shift+D"),
            self.keep_filters_as_defaults,
        )
        self._add_action(view, "&Guidelines  (B)", None, self.toggle_guidelines)
        reports = self.menuBar().addMenu("Re&ports")
        self._add_action(reports, "&RCA escalations…", None, self.show_rca_escalations)
        self._add_action(reports, "&Policy gaps…", None, self.show_policy_gaps)
        self._add_action(reports, "&Bundles received…", None, self.show_deliveries)
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "&Shortcut map  (?)", None, self.show_shortcuts)
        self._add_action(help_menu, "Session s&ummary", None, self.show_session_summary)

    def _add_action(
        self,
        menu: object,
        text: str,
        keys: QKeySequence | None,
        slot: Callable[[], object],
        visible: bool = True,
    ) -> None:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        if visible:
            menu.addAction(action)  # type: ignore[attr-defined]

    # -- single keys, hold-to-reveal ----------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self:
            return False
        if QApplication.activeModalWidget() is not None:
            return False
        if isinstance(QApplication.focusWidget(), _TEXT_INPUTS):
            return False
        key_event: QKeyEvent = event  # type: ignore[assignment]
        if key_event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            return False
        key = key_event.key()
        if key == Qt.Key.Key_Space:
            if not key_event.isAutoRepeat():
                self.hold_reveal(kind == QEvent.Type.KeyPress)
            return True
        if kind == QEvent.Type.KeyRelease:
            return False
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            if not self.panel.select_label(key - Qt.Key.Key_0):
                self.statusBar().showMessage(f"No label on key {key - Qt.Key.Key_0}", 3000)
            return True
        action = _SINGLE_KEYS.get(key)
        if action is None:
            return False
        getattr(self, action)()
        return True

    def changeEvent(self, event: QEvent) -> None:
        # Losing focus (alt-tab, a dialog) never leaves content revealed.
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.hold_reveal(False)
            self.viewer.image_view.set_revealed(self.case_revealed)
        super().changeEvent(event)

    def _leave_text_input(self) -> None:
        self.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- navigation ---------------------------------------------------------------------------
    def open_start_case(self) -> None:
        """Open the case the reviewer left off on, else the first case."""
        if self.model.rowCount() == 0:
            self.case = None
            self.header.setText("<b>No cases yet.</b>")
            self.viewer.show_visual(
                None,
                "No cases yet.\n\nImport a case batch with File ▸ Import batch… (Ctrl+O),\n"
                "or run  qa-desktop demo  to make the synthetic demo batch.",
            )
            self._update_status()
            return
        last = self.ws.queue.last_case_id()
        row = self.model.row_of(last) if last else None
        self.go_to_row(row if row is not None else 0)

    def go_to_row(self, row: int) -> None:
        """Select queue row ``row`` (which opens its case)."""
        if not 0 <= row < self.model.rowCount():
            return
        index = self.model.index(row, 0)
        self.queue.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.queue.scrollTo(index)

    def current_row(self) -> int:
        """The queue row on screen (-1 when none)."""
        return self.queue.selectionModel().currentIndex().row()

    def next_case(self) -> None:
        """Go to the next case in the queue."""
        self.go_to_row(self.current_row() + 1)

    def previous_case(self) -> None:
        """Go to the previous case in the queue."""
        self.go_to_row(self.current_row() - 1)

    def _open_row(self, row: int) -> None:
        case_id = self.model.case_id_at(row)
        if case_id is not None:
            self.open_case(case_id)

    def open_case(self, case_id: str) -> None:
        """Show a case: blurred, fitted, with its pack's labels and the reviewer's draft."""
        case = self.ws.queue.case(case_id)
        if case is None:
            return
        self._stop_reveals()
        self.case = case
        self._held = False  # navigation always re-protects, even with Space still down
        self.case_revealed = False
        self.warning_accepted = False
        self.protection = protection_for(case.tags, self.prefs)
        self.case_filters = self.protection.filters
        self.viewer.image_view.reset_view()
        self.viewer.leave_video()
        self.advisor.observe_case(case.id, case.severe)
        self.time_on_case.restart()
        self.header.setText(self._header_html(case))
        try:
            self.guideline = self.ws.guidelines.for_case(case)
        except PackError:
            self.guideline = None
        guideline = self.guideline
        self.panel.set_case_context(
            list(guideline.labels) if guideline else [],
            (case.pack_id, case.pack_version),
            guideline.search if guideline else (lambda _text: []),
        )
        self.browser.set_guideline(guideline)
        self.panel.load_draft(self.ws.verdicts.mine(case_id))
        self._show_content()
        self._prefetch()
        self.ws.queue.set_last_case_id(case_id)
        self._update_status()

    def _header_html(self, case: Case) -> str:
        # Every value comes from a batch file: escaped, so none can add markup (an <img>
        # of a file on disk, say) to the header.
        e = html.escape
        o = case.original
        tags = ", ".join(case.tags) or "none"
        row = self.ws.queue.row(case.id)
        outcome = row.outcome.replace("_", " ") if row and row.outcome else "not decided"
        provenance = (
            f"batch signed by {e(case.batch_signer)}" if case.batch_signer
            else "<span style='color:#b45f06'><b>unsigned batch</b></span>"
        )
        return (
            f"<span style='font-size:large'><b>{e(case.id)}</b></span> · {case.content_type} · "
            f"{e(case.market)} / {e(case.language)} · warnings: <b>{e(tags)}</b> · {provenance}"
            f"<br>Original decision: <b>{e(o.label)}</b> ({e(o.policy)}) by {e(o.moderator_id)}"
            f" in {e(o.queue)} at {e(o.decided_at)} · QA outcome: <b>{outcome}</b>"
        )

    # -- content --------------------------------------------------------------------------------
    def _show_content(self) -> None:
        case = self.case
        if case is None:
            return
        warned = tuple(t for t in case.tags if self.protection.warning_screen)
        if case.content_type == "text" or not case.media:
            self.viewer.show_text(case.text, () if self.warning_accepted else warned)
            return
        if self.protection.warning_screen and not self.warning_accepted:
            self.viewer.show_warning(case.tags)
            return
        self.viewer.player.set_protect(self._video_protect())
        rendered = self.renderer.request(case, self.case_filters)
        if rendered is not None:
            self._display(rendered)
        else:
            self._display(None, "Preparing the blurred view…")

    def _animated(self, path: Path) -> bool:
        if path not in self._animation_cache:
            self._animation_cache[path] = is_animated_image(path)
        return self._animation_cache[path]

    def _video_protect(self) -> Callable[[np.ndarray], np.ndarray]:
        filters = self.case_filters
        return lambda frame: apply_filters(frame, filters)

    def _display(self, rendered: Rendered | None, message: str = "") -> None:
        if rendered is not None and rendered.error:
            rendered, message = None, (
                f"Cannot show this media:\n{rendered.error}\n\n"
                "You can still decide the case and note the problem."
            )
        case = self.case
        path = self.ws.queue.media_path(case.media[0]) if case is not None and case.media else None
        if case is not None and path is not None and case.content_type == "video":
            self.viewer.show_video(path, rendered, message)
        elif path is not None and self._animated(path):
            self.viewer.show_video(path, rendered, message, storyboard=False)
        else:
            self.viewer.show_visual(rendered, message)
        self._apply_reveal()

    def _on_rendered(self, rendered: Rendered) -> None:
        if (
            self.case is not None
            and rendered.case_id == self.case.id
            and (rendered.settings == self.case_filters or rendered.error)
            and self.viewer.currentWidget() is self.viewer.media_page
        ):
            self._display(rendered)

    def _prefetch(self) -> None:
        row = self.current_row()
        for ahead in (*range(1, PREFETCH_AHEAD + 1), -1):
            case_id = self.model.case_id_at(row + ahead)
            if case_id is None:
                continue
            case = self.ws.queue.case(case_id)
            if case is not None and case.content_type != "text" and case.media:
                self.renderer.request(case, self.settings_for(case))

    @property
    def settings(self) -> ViewSettings:
        """The reviewer's own default filters (harm types may raise them per case)."""
        return self.prefs.filters

    def settings_for(self, case: Case) -> ViewSettings:
        """The filters a case starts with: the reviewer's, raised for its harm types."""
        return protection_for(case.tags, self.prefs).filters

    def _change_filters(self, **changes: object) -> None:
        """Change the filters of the case on screen (the next case starts from its defaults)."""
        self.case_filters = replace(self.case_filters, **changes)  # type: ignore[arg-type]
        self.viewer.player.set_protect(self._video_protect())
        self._show_content()
        self._update_status()

    def toggle_grayscale(self) -> None:
        """Grayscale on or off for this case."""
        self._change_filters(grayscale=not self.case_filters.grayscale)

    def toggle_sepia(self) -> None:
        """Sepia on or off for this case."""
        self._change_filters(sepia=not self.case_filters.sepia)

    def toggle_pixelate(self) -> None:
        """Pixelate instead of blur (or back) for this case."""
        kind = "gaussian" if self.case_filters.blur_kind == "pixelate" else "pixelate"
        self._change_filters(blur_kind=kind)

    def toggle_reduced_detail(self) -> None:
        """Show this case as an illustration (reduced detail), or not."""
        self._change_filters(reduced_detail=not self.case_filters.reduced_detail)

    def cycle_transparency(self) -> None:
        """Fade the picture toward the background: 0 %, 30 %, 60 %, then back."""
        steps = TRANSPARENCY_STEPS
        current = min(steps, key=lambda v: abs(v - self.case_filters.transparency))
        self._change_filters(transparency=steps[(steps.index(current) + 1) % len(steps)])

    def stronger_blur(self) -> None:
        """One blur level stronger."""
        level = min(MAX_BLUR_LEVEL, self.case_filters.blur_level + 1)
        self._change_filters(blur_level=level, blur_kind=self._blurring_kind())

    def weaker_blur(self) -> None:
        """One blur level weaker (level 1 still hides detail)."""
        self._change_filters(blur_level=max(1, self.case_filters.blur_level - 1),
                             blur_kind=self._blurring_kind())

    def _blurring_kind(self) -> str:
        kind = self.case_filters.blur_kind
        return "gaussian" if kind == "none" else kind

    def keep_filters_as_defaults(self) -> None:
        """Make the filters on screen the reviewer's own defaults (saved in settings.ini)."""
        self.prefs = replace(self.prefs, filters=self.case_filters)
        save_preferences(self.preferences_file, self.prefs)
        self.statusBar().showMessage("These filters are now your defaults", 4000)

    def edit_preferences(self, dialog: PreferencesDialog | None = None) -> bool:
        """Default protection, playback and break rules, kept in settings.ini."""
        dialog = dialog or PreferencesDialog(self.prefs, self)
        if not dialog.exec():
            return False
        self.set_preferences(dialog.preferences())
        return True

    def set_preferences(self, preferences: Preferences) -> None:
        """Use and keep new preferences (the case on screen keeps its own filters)."""
        self.prefs = preferences
        save_preferences(self.preferences_file, preferences)
        self.advisor.rules = preferences.break_rules
        self.viewer.player.set_speed(preferences.playback_speed)
        self.viewer.player.set_jump_seconds(preferences.jump_seconds)
        self.statusBar().showMessage("Preferences saved", 3000)

    # -- reveal and exposure ---------------------------------------------------------------------
    def hold_reveal(self, held: bool) -> None:
        """Space (or the mouse) held: reveal; released: back to protected."""
        self._held = held
        self._apply_reveal()

    def toggle_case_reveal(self) -> None:
        """Reveal this case until you leave it, or protect it again.

        Only media on screen can be revealed: behind a warning screen (or on a text case)
        the key does nothing, so opting in with W still shows the media protected first.
        """
        if self.case is None or (
            not self.case_revealed and self.viewer.currentWidget() is not self.viewer.media_page
        ):
            return
        self.case_revealed = not self.case_revealed
        self._apply_reveal()

    def clear_regions(self) -> None:
        """Blur the regions revealed on this case again."""
        self.viewer.clear_regions()

    def accept_warning(self) -> None:
        """Opt in to this case's media behind a warning screen (or expand collapsed text)."""
        if self.case is None:
            return
        self.warning_accepted = True
        self._show_content()

    def _apply_reveal(self) -> None:
        full = self._held or self.case_revealed
        view = self.viewer.image_view
        view.set_pinned(self.case_revealed)
        view.set_revealed(full)
        self.viewer.player.set_revealed(full and self.viewer.video_active())
        self._reveal_changed()

    def _revealed_fraction(self) -> float:
        if self.viewer.currentWidget() is not self.viewer.media_page:
            return 0.0
        if self.viewer.player.revealed or self.viewer.image_view.revealed:
            return 1.0
        return self.viewer.revealed_region_fraction()

    def _reveal_changed(self) -> None:
        fraction = self._revealed_fraction() if self.case is not None else 0.0
        if fraction > 0 and self.case is not None:
            if self.meter.revealing:
                self.meter.set_fraction(fraction)
            else:
                self.meter.start_reveal(self.case.id, self._category(self.case), fraction)
        else:
            self._stop_reveals()
        self._update_status()

    def _stop_reveals(self) -> None:
        span = self.meter.stop_reveal()
        if span is not None and span.unblurred_ms > 0:
            self.ws.wellbeing.record_exposure(self.session_id, span)

    @staticmethod
    def _category(case: Case) -> str:
        return tag_key(case.tags[0]) if case.tags else "untagged"

    def _exposure_accrued(
        self, case_id: str, _category: str, _unblurred_ms: float, weighted_ms: float
    ) -> None:
        severe = self.case is not None and self.case.id == case_id and self.case.severe
        self.advisor.observe_exposure(weighted_ms, severe)

    def _tick_exposure(self) -> None:
        if self.meter.revealing:
            self.meter.tick()
            self._update_status()

    def check_break(self) -> None:
        """Suggest a break if a rule says one is due (the content is protected meanwhile)."""
        suggestion = self.advisor.due()
        if suggestion is None or QApplication.activeModalWidget() is not None:
            return
        self.hold_reveal(False)
        self.case_revealed = False
        self._apply_reveal()
        self.viewer.player.pause()
        if BreakDialog(suggestion, self).exec() == BreakDialog.TOOK_BREAK:
            self.advisor.took_break()
            if self.session_id is not None:
                self.ws.wellbeing.record_break(self.session_id, suggestion.rule.kind)
        else:
            self.advisor.snooze(SNOOZE_MINUTES)

    def show_session_summary(self) -> None:
        """What this session amounted to so far."""
        self._stop_reveals()
        if self.session_id is not None:
            SummaryDialog(self.ws.wellbeing.session_summary(self.session_id), self).exec()

    # -- video -------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play or pause the video (frames stay protected unless revealed)."""
        if self.viewer.video_active():
            self.viewer.player.toggle_play()

    def jump_back(self) -> None:
        """Jump back a few seconds."""
        if self.viewer.video_active():
            self.viewer.player.jump(-self.prefs.jump_seconds)

    def jump_forward(self) -> None:
        """Jump forward a few seconds."""
        if self.viewer.video_active():
            self.viewer.player.jump(self.prefs.jump_seconds)

    def previous_frame(self) -> None:
        """One frame back (pauses)."""
        if self.viewer.video_active():
            self.viewer.player.step_frame(-1)

    def next_frame(self) -> None:
        """One frame forward (pauses)."""
        if self.viewer.video_active():
            self.viewer.player.step_frame(1)

    def slower(self) -> None:
        """Play slower (down to 0.5×)."""
        if self.viewer.video_active():
            self.viewer.player.slower()

    def faster(self) -> None:
        """Play faster (up to 2×)."""
        if self.viewer.video_active():
            self.viewer.player.faster()

    def toggle_mute(self) -> None:
        """Sound on or off for this case's video (every case starts muted)."""
        if self.viewer.video_active():
            self.viewer.player.toggle_mute()
            self._update_status()

    def zoom_in(self) -> None:
        """Zoom in (the blur stays)."""
        self.viewer.image_view.zoom_in()

    def zoom_out(self) -> None:
        """Zoom out."""
        self.viewer.image_view.zoom_out()

    def zoom_fit(self) -> None:
        """Fit to the view."""
        self.viewer.image_view.zoom_fit()

    # -- verdicts -----------------------------------------------------------------------------
    def record_and_next(self) -> None:
        """Record the drafted verdict now, then go to the next case."""
        if self.case is None:
            return
        draft = self.panel.draft()
        if draft is None:
            self.statusBar().showMessage("Choose a label first (keys 1–9)", 4000)
            return
        try:
            warnings = self.ws.verdicts.check(self.case.id, draft)
            self.ws.verdicts.record(
                self.case.id, draft, time_on_case_ms=self.time_on_case.elapsed()
            )
        except CitationError as exc:
            self.statusBar().showMessage(f"Not recorded: {exc} (C to cite)", 8000)
            return
        except ValueError as exc:
            self.statusBar().showMessage(f"Not recorded: {exc}", 8000)
            return
        self.model.refresh_case(self.case.id)
        self._leave_text_input()  # the next case starts with keys driving the review loop
        warned = f" — warning: {'; '.join(warnings)}" if warnings else ""
        self.statusBar().showMessage(
            f"Recorded {draft.label} on {self.case.id}{warned}", 8000 if warnings else 3000
        )
        if self.current_row() + 1 < self.model.rowCount():
            self.next_case()
        else:
            self.panel.load_draft(self.ws.verdicts.mine(self.case.id))
            self._update_status()

    def undo_verdict(self) -> None:
        """Undo your last verdict on this case (a new event that supersedes it)."""
        if self.case is None:
            return
        event = self.ws.verdicts.undo(self.case.id)
        if event is None:
            self.statusBar().showMessage("Nothing to undo on this case", 3000)
            return
        self.model.refresh_case(self.case.id)
        self.panel.load_draft(self.ws.verdicts.mine(self.case.id))
        restored = event.label or "undecided"
        self.statusBar().showMessage(f"Undone: {self.case.id} is now {restored}", 3000)

    def focus_citation(self) -> None:
        """Put the cursor in the citation field."""
        self.panel.citation_field.setFocus()

    def toggle_guidelines(self) -> None:
        """Show or hide the guideline browser (the queue folds away while it is open)."""
        self.show_guidelines(not self.guideline_dock.isVisible())

    def show_guidelines(self, show: bool = True) -> None:
        """Open (or close) the guideline browser.

        A laptop screen cannot hold queue, case, verdict and guidelines side by side: the
        queue is hidden before the browser opens (its minimum width would otherwise widen
        the window past the screen) and comes back when it closes.
        """
        if show:
            self._fold_queue(True)
        self.guideline_dock.setVisible(show)

    def _guidelines_shown(self, visible: bool) -> None:
        # Also when the dock's own close button (or anything else) hides or shows it.
        self._fold_queue(visible)

    def _fold_queue(self, fold: bool) -> None:
        sizes = self.splitter.sizes()
        if fold and self.queue_pane.isVisible():
            self._queue_width = sizes[0]
            self.queue_pane.hide()
            # Recompute the window's minimum width now, without the queue: else the dock
            # about to open is added to the old one and pushes the window past the screen.
            QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        elif not fold and not self.queue_pane.isVisible():
            self.queue_pane.show()
            self.splitter.setSizes([self._queue_width, max(200, sizes[1] - self._queue_width),
                                    sizes[2]])

    def focus_guideline_search(self) -> None:
        """Open the guideline browser with the cursor in its search field."""
        self.show_guidelines()
        self.browser.focus_search()

    def _cite_from_browser(self, section: EffectiveSection, quote: str) -> None:
        self.panel.add_citation(section, quote)
        self.statusBar().showMessage(f"Cited {section.id}", 3000)

    def choose_rca(self) -> None:
        """Escalate this verdict for root-cause analysis (a reason, then a note)."""
        self.panel.details.choose_rca()

    def choose_gap(self) -> None:
        """Flag a policy gap on this verdict (a kind, then a note)."""
        self.panel.details.choose_gap()

    def show_history(self) -> None:
        """Every verdict event on this case, oldest first."""
        if self.case is None:
            return
        HistoryDialog(
            self.case.id,
            self.ws.verdicts.history(self.case.id),
            self.ws.verdicts.reviewer_names(),
            self,
        ).exec()

    def show_rca_escalations(self) -> None:
        """RCA escalations grouped by the section they cite."""
        FindingsDialog("RCA escalations", self.ws.reports.rca_escalations(), self.open_case_by_id,
                       self).exec()

    def show_deliveries(self) -> None:
        """Per signer: the bundles received and the ones that never arrived."""
        DeliveriesDialog(self.ws.bundles.deliveries(), self).exec()

    def show_policy_gaps(self) -> None:
        """Policy gaps grouped by the section they cite."""
        FindingsDialog(
            "Policy gaps", self.ws.reports.policy_gaps(), self.open_case_by_id, self
        ).exec()

    def apply_filter(self, queue_filter: QueueFilter | None) -> None:
        """Show only the cases the filter lets through; stay on the current case if it does."""
        current = self.case.id if self.case else None
        self.model.set_filter(queue_filter)
        row = self.model.row_of(current) if current else None
        if row is not None:
            self.go_to_row(row)
        elif self.model.rowCount():
            self.go_to_row(0)
        self._update_status()

    def _save_view(self, name: str) -> None:
        self.ws.queue.save_view(name, self.filter_bar.current_filter() or QueueFilter())
        self._refresh_filter_choices()
        self.statusBar().showMessage(f"Saved view “{name}”", 3000)

    def _refresh_filter_choices(self) -> None:
        facets = self.ws.queue.facets()
        self.filter_bar.set_choices(
            facets["market"],
            facets["orig_policy"],
            facets["orig_label"],
            self.ws.queue.saved_views(),
            {
                rid: name
                for rid, name in self.ws.verdicts.reviewer_names().items()
                if self.ws.reviewer is None or rid != self.ws.reviewer.id
            },
        )

    def open_case_by_id(self, case_id: str) -> None:
        """Select a case in the queue (clearing a filter that hides it)."""
        row = self.model.row_of(case_id)
        if row is None and self.model.filter is not None:
            self.model.set_filter(None)
            row = self.model.row_of(case_id)
        if row is not None:
            self.go_to_row(row)

    def focus_notes(self) -> None:
        """Put the cursor in the notes field."""
        self.panel.notes.setFocus()

    # -- dialogs -------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        """Show the shortcut map."""
        ShortcutMapDialog(KEYMAP, self).exec()

    def import_batch(self, path: Path | None = None, trust_unsigned: bool | None = None) -> None:
        """Choose a batch and import it with a cancellable progress dialog."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self,
                "Import case batch",
                str(Path.home()),
                "Case batches (batch.json *.zip *.csv);;All files (*)",
            )
            if not chosen:
                return
            path = Path(chosen)
            if path.name == "batch.json":
                path = path.parent
        if run_import(self, self.ws, path, trust_unsigned) is not None:
            self.model.reload()
            self._refresh_filter_choices()
            if self.case is None:
                self.open_start_case()
            self._update_status()

    def import_guideline_pack(self, path: Path | None = None) -> bool:
        """Choose a guideline pack file (or a folder of them) and import it, all or nothing."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Import guideline pack", str(Path.home()), "Guideline packs (*.json)"
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            added = [was_added for _, was_added in self.ws.guidelines.import_packs([path])]
        except PackError as exc:
            warn(
                self,
                "Guideline pack not imported",
                f"{exc}\n\nNothing was imported. Fix the pack (see docs/guideline-pack.md) "
                "and import it again.",
            )
            return False
        message = "imported" if any(added) else "already imported: nothing changed"
        inform(self, "Guideline pack", f"{path.name}: {message}.")
        if self.case is not None:
            self.open_case(self.case.id)
        return True

    # -- signing and sync -------------------------------------------------------------------------
    def _open_identity(self, passphrase: str | None = None) -> Identity | None:
        """The signing key, opened with the passphrase (asked once per session)."""
        if not self.ws.trust.has_identity():
            inform(
                self, "No signing key",
                "Create your signing key first (Keys ▸ Create my signing key…): every bundle "
                "you send is signed with it.",
            )
            return None
        passphrase = passphrase or self._passphrase or ask_passphrase(
            self, "Passphrase of your signing key:"
        )
        if passphrase is None:
            return None
        try:
            identity = self.ws.trust.identity(passphrase)
        except WrongPassphrase:
            self._passphrase = None
            warn(self, "Signing key", "Wrong passphrase: the key did not open.")
            return None
        self._passphrase = passphrase
        return identity

    def create_key(self, passphrase: str | None = None) -> bool:
        """Make your Ed25519 signing key, encrypted with a passphrase."""
        if self.ws.trust.has_identity():
            inform(self, "Signing key", "You already have a signing key.")
            return False
        passphrase = passphrase or ask_passphrase(
            self, "Choose a passphrase for your new signing key:", confirm=True
        )
        if passphrase is None:
            return False
        identity = self.ws.trust.create_identity(passphrase)
        self._passphrase = passphrase
        self.statusBar().showMessage(f"Signing key {identity.key_id} created", 5000)
        return True

    def show_trust_store(self) -> None:
        """Trusted signers: add, revoke, export your public key."""
        TrustDialog(self.ws, self).exec()

    def sync_now(self, folder: Path | None = None, passphrase: str | None = None) -> bool:
        """Send your new verdicts to the sync folder and take everyone else's."""
        identity = self._open_identity(passphrase)
        if identity is None:
            return False
        if folder is None:
            remembered = str(self.preferences_file.value("sync/folder", "") or "")
            chosen = QFileDialog.getExistingDirectory(
                self, "Sync folder (shared or cloud-synced)", remembered or str(Path.home())
            )
            if not chosen:
                return False
            folder = Path(chosen)
        self.preferences_file.setValue("sync/folder", str(folder))
        result, error = run_with_progress(
            self, "Sync", f"Syncing with {folder}…", self.ws.data_dir,
            lambda ws, progress, cancelled: ws.sync.folder(identity, folder, progress, cancelled),
        )
        if error is not None:
            warn(self, "Sync failed", f"{error}\n\nNothing was half-written.")
            return False
        assert isinstance(result, SyncReport)
        self._after_new_events()
        text, details = sync_summary(result)
        gaps = missing_summary(self.ws.bundles.deliveries())
        inform(self, "Sync", f"{text}\n{gaps}" if gaps else text, details)
        return True

    def export_bundle(
        self,
        folder: Path | None = None,
        passphrase: str | None = None,
        evidence: list[Path] | None = None,
        ask_evidence: bool = False,
    ) -> bool:
        """Write your new verdicts (and any ``evidence`` files) as one signed bundle."""
        identity = self._open_identity(passphrase)
        if identity is None:
            return False
        if ask_evidence and evidence is None:
            chosen_files, _ = QFileDialog.getOpenFileNames(
                self, "Evidence files to attach (stored in the bundle as they are)",
                str(Path.home()),
            )
            if not chosen_files:
                return False
            evidence = [Path(f) for f in chosen_files]
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(
                self, "Write the bundle into", str(Path.home())
            )
            if not chosen:
                return False
            folder = Path(chosen)
        target, attached = folder, evidence
        result, error = run_with_progress(
            self, "Export", f"Signing and writing the bundle into {folder}…", self.ws.data_dir,
            lambda ws, progress, cancelled: ws.bundles.export(identity, target, evidence=attached),
        )
        if error is not None:
            warn(self, "Not exported", f"{error}\n\nNothing was written.")
            return False
        exported = result if isinstance(result, ExportResult) else None
        files = f" and {plural(len(evidence), 'evidence file')}" if exported and evidence else ""
        inform(
            self, "Export",
            f"Wrote {plural(exported.event_count, 'event')}{files} to {exported.path}" if exported
            else "Nothing new to export: every verdict of yours is in an earlier bundle"
            + (" (evidence files travel with new verdicts)." if evidence else "."),
        )
        return exported is not None

    def import_bundles(self, paths: list[Path] | None = None) -> bool:
        """Verify and merge bundles from other reviewers (refused ones are quarantined)."""
        if paths is None:
            chosen, _ = QFileDialog.getOpenFileNames(
                self, "Import bundles", str(Path.home()), "Bundles (*.zip)"
            )
            if not chosen:
                return False
            paths = [Path(p) for p in chosen]
        chosen_paths = paths
        result, error = run_with_progress(
            self, "Import bundles", f"Verifying and merging {len(paths)} bundle file(s)…",
            self.ws.data_dir,
            lambda ws, progress, cancelled: ws.bundles.import_files(
                chosen_paths, progress, cancelled
            ),
        )
        if error is not None:
            warn(self, "Import failed", f"{error}\n\nNothing was half-written.")
            return False
        assert isinstance(result, list)
        reports: list[BundleImportReport] = result
        self._after_new_events()
        text, details = import_summary(reports)
        if len(reports) < len(paths):
            text += (f"\nCancelled after {len(reports)} of {len(paths)} files: each was"
                     " imported whole; import the rest again.")
        inform(self, "Import bundles", text, details)
        return len(reports) == len(paths) and all(not r.refused for r in reports)

    def _after_new_events(self) -> None:
        self.model.reload()
        self._refresh_filter_choices()
        if self.case is not None:
            row = self.model.row_of(self.case.id)
            if row is not None:
                self.go_to_row(row)
        self._update_status()

    # -- status ----------------------------------------------------------------------------
    def _update_status(self) -> None:
        view = self.viewer.image_view
        fraction = self._revealed_fraction() if self.case is not None else 0.0
        if self.case is not None and (self.case.content_type == "text" or not self.case.media):
            shown = "text"
        elif self.case_revealed:
            shown = "REVEALED FOR THIS CASE"
        elif fraction >= 1.0:
            shown = "REVEALED"
        elif fraction > 0:
            shown = f"{len(view.regions)} region(s) revealed"
        else:
            shown = "protected"
        severe = "  ·  severe: stronger protection" if self.case and self.case.severe else ""
        position = f"case {self.current_row() + 1} of {self.model.rowCount()}"
        if self.model.filter is not None:
            position += f" (filtered from {self.model.total_count})"
        exposure = self.meter.session_total_ms / 1000
        self.status.setText(
            f"{position}  ·  content {shown}{severe}  ·  unblurred this session "
            f"{exposure:.1f} s  ·  ? for shortcuts"
        )
        self.protection_bar.show_state(
            self.case_filters,
            self.case_revealed,
            self.viewer.player.muted,
            self.viewer.video_active(),
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        QApplication.instance().removeEventFilter(self)
        self.meter_timer.stop()
        self.break_timer.stop()
        self.viewer.leave_video()
        self.renderer.shutdown()
        if self.ws.is_open:  # else its owner closed it first: nothing left to record into
            self._stop_reveals()
            if self.session_id is not None:
                if self.summary_on_close:
                    self.show_session_summary()
                self.ws.wellbeing.end_session(self.session_id)
        super().closeEvent(event)
