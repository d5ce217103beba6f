"""The review screen: queue on the left, the case in the middle, the verdict panel right.

It is the review loop (like Anki's ``Reviewer``): the current case and navigation, record
and undo, the verdict panel, protection and reveal (the pure state machine lives in
:class:`~qa_desktop.core.api.RevealState`), exposure counting and the video keys. The main
window around it owns menus, docks, the status bar and the dialogs; data changes arrive
through :class:`~qa_desktop.ui.changes.Changes`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.api import (
    MAX_BLUR_LEVEL,
    BreakAdvisor,
    Case,
    CitationError,
    Clock,
    DatabaseError,
    EffectiveSection,
    ExposureMeter,
    FilterSettings,
    Guideline,
    MediaKeyError,
    PackError,
    Preferences,
    QueueFilter,
    Refused,
    SectionMatch,
    StoredMedia,
    apply_filters,
    is_animated_image,
    protection_for,
    protects,
    revealed_filters,
    tag_key,
)
from ...core.workspace import Workspace
from ..changes import Changes
from ..history_dialog import HistoryDialog
from ..protection_bar import TRANSPARENCY_STEPS, ProtectionBar
from ..queue_filter_bar import QueueFilterBar
from ..queue_view import QueueModel, QueueView
from ..render import RenderCache, Rendered, ViewSettings
from ..verdict_panel import VerdictPanel
from ..video_frame import FilterProtect
from ..viewer import CaseViewer
from ..wellbeing_dialogs import SNOOZE_MINUTES, BreakDialog, BreakScreen, SummaryDialog
from .header import header_html
from .preferences import load_preferences, save_preferences
from .state import ReviewState
from .video import VideoControls

PREFETCH_AHEAD = 3
log = logging.getLogger(__name__)  # ids only: never case text, notes or quotes


class ReviewScreen(QWidget):
    """The review loop over one Workspace (a screen of the main window's stack)."""

    status_text = Signal(str)
    """The permanent status line changed."""
    message = Signal(str, int)
    """A passing message for the status bar (text, milliseconds)."""
    guideline_shown = Signal(object)
    """The guideline of the case on screen (a Guideline, or None)."""
    action_requested = Signal(str)
    """A protection bar button: the id of the registry action it stands for."""

    def __init__(
        self,
        workspace: Workspace,
        changes: Changes,
        settings: QSettings,
        clock: Clock = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.changes = changes
        self.preferences_file = settings
        self.prefs = load_preferences(settings)
        self.state = ReviewState(protection=protection_for((), self.prefs))
        self._animation_cache: dict[str, bool] = {}
        self._clock = clock
        self.meter = ExposureMeter(clock, listener=self._exposure_accrued)
        self.advisor = BreakAdvisor(self.prefs.break_rules, clock)
        self.session_id = workspace.wellbeing.start_session() if workspace.reviewer else None
        self.renderer = RenderCache(workspace.queue.open_media, parent=self)
        self.renderer.rendered.connect(self._on_rendered)
        self.renderer.previewed.connect(self._on_previewed)
        self.time_on_case = QElapsedTimer()
        # The screen itself holds the keys when the queue is folded away (never a text field).
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

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
        self.video = VideoControls(self.viewer, lambda: self.prefs.jump_seconds)
        self.protection_bar = ProtectionBar()
        self.protection_bar.action.connect(self.action_requested)
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(4, 4, 4, 4)
        center_layout.addWidget(self.header)
        self.demo_button = QPushButton("Load the demo batch")
        self.demo_button.setToolTip("Synthetic cases and guideline packs to try the app on")
        self.demo_button.clicked.connect(lambda: self.action_requested.emit("load_demo"))
        self.demo_button.hide()
        center_layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        center_layout.addWidget(self.protection_bar)
        center_layout.addWidget(self.viewer, 1)

        self.panel = VerdictPanel()
        self.panel.record_requested.connect(self.record_and_next)
        self.panel.text_editing_done.connect(self.leave_text_input)

        self.filter_bar = QueueFilterBar()
        self.filter_bar.filter_changed.connect(self.apply_filter)
        self.filter_bar.view_saved.connect(self._save_view)
        self.filter_bar.view_renamed.connect(self._rename_view)
        self.filter_bar.view_deleted.connect(self._delete_view)
        self.filter_bar.editing_done.connect(self.leave_text_input)
        self.queue_pane = QWidget()
        queue_layout = QVBoxLayout(self.queue_pane)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addWidget(self.filter_bar)
        queue_layout.addWidget(self.queue, 1)
        self.refresh_filter_choices()

        self.splitter = QSplitter()
        self.splitter.addWidget(self.queue_pane)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._queue_width = 0
        self._cases_stale = False
        """Cases changed while another screen was current: reload when shown."""

        self.model.follow(changes)
        self.model.counted.connect(self.update_status)
        self.model.located.connect(self._located)
        self._awaiting: str | None = None
        """A case whose queue row the model's worker is finding, to select when it is known."""
        changes.verdicts_changed.connect(self._verdicts_changed)
        changes.cases_changed.connect(self._cases_changed)
        changes.guidelines_changed.connect(self._guidelines_changed)

        self.meter_timer = QTimer(self)
        self.meter_timer.setInterval(250)
        self.meter_timer.timeout.connect(self._tick_exposure)
        self.meter_timer.start()
        self.break_timer = QTimer(self)
        self.break_timer.setInterval(5000)
        self.break_timer.timeout.connect(self.check_break)
        self.break_timer.start()

    # -- the state, as the rest of the app reads it -------------------------------------------
    @property
    def case(self) -> Case | None:
        """The case on screen."""
        return self.state.case

    @property
    def guideline(self) -> Guideline | None:
        """The guideline (pack and market overlay) of the case on screen."""
        return self.state.guideline

    @property
    def case_filters(self) -> FilterSettings:
        """The filters of the case on screen."""
        return self.state.filters

    @property
    def case_revealed(self) -> bool:
        """The case is revealed until the reviewer leaves it (T)."""
        return self.state.reveal.case_revealed

    @property
    def settings(self) -> ViewSettings:
        """The reviewer's own default filters (harm types may raise them per case)."""
        return self.prefs.filters

    def settings_for(self, case: Case) -> ViewSettings:
        """The filters a case starts with: the reviewer's, raised for its harm types."""
        return protection_for(case.tags, self.prefs).filters

    def set_sizes(self, width: int) -> None:
        """Share ``width`` out: the case gets the largest part."""
        queue, panel = round(width * 0.30), round(width * 0.23)
        self.splitter.setSizes([queue, width - queue - panel, panel])
        self._queue_width = queue

    def leave_text_input(self) -> None:
        """Send keys back to the review loop (out of the citation, notes or search field):
        to the queue, or to the screen itself while the queue is folded away."""
        if self.queue_pane.isVisible():
            self.queue.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- navigation -------------------------------------------------------------------------
    def open_start_case(self) -> None:
        """Open the case the reviewer left off on, else the first case."""
        if self.model.rowCount() == 0:
            self.state.case = None
            self.header.setText("<b>No cases yet.</b>")
            self.demo_button.show()
            self.viewer.show_visual(
                None,
                "No cases yet.\n\nImport a case batch with File ▸ Import batch… (Ctrl+O),\n"
                "or try the app on synthetic cases: Load the demo batch (File menu).",
            )
            self.update_status()
            return
        self.demo_button.hide()
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

    def first_case(self) -> None:
        """Go to the first case in the queue."""
        self.go_to_row(0)

    def last_case(self) -> None:
        """Go to the last case in the queue."""
        self.go_to_row(self.model.rowCount() - 1)

    def page_rows(self) -> int:
        """How many queue rows one page (PageUp / PageDown) moves: the rows in view."""
        row_height = max(1, self.queue.verticalHeader().defaultSectionSize())
        return max(1, self.queue.viewport().height() // row_height - 1)

    def page_down(self) -> None:
        """A page of cases further down the queue (or the last case)."""
        self.go_to_row(min(self.model.rowCount() - 1, self.current_row() + self.page_rows()))

    def page_up(self) -> None:
        """A page of cases up the queue (or the first case)."""
        self.go_to_row(max(0, self.current_row() - self.page_rows()))

    def next_undecided(self) -> None:
        """The next case without your verdict, after this one (wrapping round once)."""
        count = self.model.rowCount()
        start = self.current_row()
        for step in range(1, count + 1):
            row = (start + step) % count
            found = self.model.row_at(row)
            if found is not None and not found.my_label:
                self.go_to_row(row)
                return
        self.message.emit("Every case in the queue has your verdict", 4000)

    def _open_row(self, row: int) -> None:
        self._awaiting = None  # a row chosen since: an answer on its way goes nowhere
        case_id = self.model.case_id_at(row)
        # The case on screen selected again (after the queue reloaded) is not reopened:
        # reopening would drop the draft being typed.
        if case_id is not None and (self.case is None or case_id != self.case.id):
            self.open_case(case_id)

    def open_case(self, case_id: str) -> None:
        """Show a case: blurred, fitted, with its pack's labels and the reviewer's draft.

        Its picture is asked for (and the cases after it prefetched) first, before the
        header, the panel and the draft: the next case's preview starts sooner, and a J
        pressed again meanwhile finds it further along (issue 15)."""
        with self.renderer.opening(case_id):
            case = self.ws.queue.case(case_id)
            if case is None:
                return
            self._stop_reveals()
            try:
                guideline = self.ws.guidelines.for_case(case)
            except PackError:
                guideline = None
            # Navigation always re-protects, even with Space still down.
            self.state.open(case, guideline, protection_for(case.tags, self.prefs))
            self.viewer.image_view.reset_view()
            self.viewer.leave_video()
            self._show_content()
            self._prefetch()
        self.advisor.observe_case(case.id, case.severe)
        self.time_on_case.restart()
        self.header.setText(header_html(case, self.ws.queue.row(case.id)))
        policy = case.original.policy

        def search(text: str, label: str | None) -> list[SectionMatch]:
            if guideline is None:
                return []
            return guideline.find(text, label=label, policy=policy)

        self.panel.set_case_context(
            list(guideline.labels) if guideline else [],
            (case.pack_id, case.pack_version),
            search,
            localized=guideline is not None and guideline.overlay is not None,
        )
        self.guideline_shown.emit(guideline)
        self.panel.load_draft(self.ws.verdicts.mine(case_id))
        self.ws.queue.set_last_case_id(case_id)
        self.update_status()

    def open_case_by_id(self, case_id: str) -> None:
        """Select a case in the queue (clearing a filter that hides it)."""
        row = self.model.row_of(case_id)
        queue_filter = self.model.filter
        if row is None and queue_filter is not None:
            if self.ws.queue.row(case_id, queue_filter) is not None:
                self._find_row(case_id)
                return
            self.model.set_filter(None)
            row = self.model.row_of(case_id)
        if row is not None:
            self.go_to_row(row)

    def _find_row(self, case_id: str) -> None:
        """Select ``case_id`` once the model's worker found its row (the case on screen
        stays meanwhile; choosing another row first forgets it)."""
        self._awaiting = case_id
        self.model.locate(case_id)

    def _located(self, case_id: str, row: int) -> None:
        if case_id == self._awaiting:
            self._awaiting = None
            if row >= 0 and row != self.current_row():
                self.go_to_row(row)
                self.update_status()  # the same case selected again is not reopened

    # -- the queue ----------------------------------------------------------------------------
    def apply_filter(self, queue_filter: QueueFilter | None) -> None:
        """Show only the cases the filter lets through; stay on the current case if it does."""
        current = self.case.id if self.case else None
        self.model.set_filter(queue_filter)
        row = self.model.row_of(current) if current else None
        if row is not None:
            self.go_to_row(row)
        elif (
            current is not None
            and queue_filter is not None
            and self.ws.queue.row(current, queue_filter) is not None
        ):
            self._find_row(current)  # past the first page: its row comes from the worker
        elif self.model.rowCount():
            self.go_to_row(0)
        self.update_status()

    def _save_view(self, name: str) -> None:
        self.ws.queue.save_view(name, self.filter_bar.current_filter() or QueueFilter())
        self.refresh_filter_choices()
        self.message.emit(f"Saved view “{name}”", 3000)

    def _rename_view(self, old: str, new: str) -> None:
        try:
            self.ws.queue.rename_view(old, new)
        except Refused as exc:
            self.message.emit(f"Not renamed: {exc.message}", 5000)
            return
        self.refresh_filter_choices()
        self.filter_bar.views.setCurrentIndex(self.filter_bar.views.findData(new))
        self.message.emit(f"Renamed view “{old}” to “{new}”", 3000)

    def _delete_view(self, name: str) -> None:
        self.ws.queue.delete_view(name)
        self.refresh_filter_choices()
        self.message.emit(f"Deleted view “{name}”", 3000)

    def refresh_filter_choices(self) -> None:
        """Offer the markets, policies, labels, views and reviewers the data has now."""
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
            moderators=facets["orig_moderator"],
            queues=facets["orig_queue"],
            batches=self.ws.queue.batch_names(),
        )

    def fold_queue(self, fold: bool) -> None:
        """Hide the queue (to make room for the guideline browser) or bring it back."""
        sizes = self.splitter.sizes()
        if fold and self.queue_pane.isVisible():
            self._queue_width = sizes[0]
            focus = QApplication.focusWidget()
            if focus is not None and self.queue_pane.isAncestorOf(focus):
                # Else Qt hands the focus to the next field in the tab chain: the citation
                # field, which would swallow J and K as text.
                self.setFocus(Qt.FocusReason.OtherFocusReason)
            self.queue_pane.hide()
            # Recompute the window's minimum width now, without the queue: else the dock
            # about to open is added to the old one and pushes the window past the screen.
            QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        elif not fold and not self.queue_pane.isVisible():
            self.queue_pane.show()
            self.splitter.setSizes(
                [self._queue_width, max(200, sizes[1] - self._queue_width), sizes[2]]
            )
            if QApplication.focusWidget() in (self, None):
                self.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- data changes (from the hub) ------------------------------------------------------------
    def _verdicts_changed(self, case_ids: list[str]) -> None:
        if self.case is not None:
            if self.case.id in case_ids:
                self.header.setText(header_html(self.case, self.ws.queue.row(self.case.id)))
            self._keep_position()
        self.update_status()

    def _keep_position(self) -> None:
        """After the queue reloaded: select the case on screen again if it is still listed."""
        if self.case is None:
            return
        row = self.model.row_of(self.case.id)
        if row is not None and row != self.current_row():
            self.go_to_row(row)
        elif row is None and self.model.filter is not None:
            self._find_row(self.case.id)

    def _cases_changed(self) -> None:
        if self.isHidden():
            # Another screen of the stack is current (a live room's page votes change the
            # data every second): reload when this screen is shown again, not on every change.
            self._cases_stale = True
            return
        self._cases_stale = False
        self.model.reload()
        self.refresh_filter_choices()
        if self.case is None:
            self.open_start_case()
        else:
            self._keep_position()
        self.update_status()

    def showEvent(self, event: QShowEvent) -> None:
        """Shown again: catch up with the cases that changed meanwhile."""
        super().showEvent(event)
        if self._cases_stale:
            self._cases_changed()

    def _guidelines_changed(self) -> None:
        if self.case is not None:
            self.open_case(self.case.id)

    # -- content --------------------------------------------------------------------------------
    def _show_content(self) -> None:
        case = self.case
        if case is None:
            return
        reveal, protection = self.state.reveal, self.state.protection
        if self.state.is_text:
            warned = tuple(case.tags) if reveal.shows_warning(protection.warning_screen) else ()
            self.viewer.show_text(case.text, warned)
            return
        if reveal.shows_warning(protection.warning_screen):
            self.viewer.show_warning(case.tags)
            return
        self.viewer.player.set_protect(self._video_protect(), self._video_reveal())
        rendered = self.renderer.request(case, self.state.filters, preview=True)
        if rendered is None:  # a preview (protected, small) until the render arrives
            rendered = self.renderer.preview_of(case.id, self.state.filters)
        if rendered is not None:
            self._display(rendered)
        else:
            self._display(None, "Preparing the blurred view…")

    def _animated(self, stored: StoredMedia) -> bool:
        if stored.sha256 not in self._animation_cache:
            self._animation_cache[stored.sha256] = is_animated_image(stored)
        return self._animation_cache[stored.sha256]

    def _video_protect(self) -> Callable[[np.ndarray], np.ndarray]:
        return FilterProtect(self.state.filters)  # the player's fast path for filters

    def _video_reveal(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """What a reveal of a playing video still applies (the case's colour filters)."""
        kept = revealed_filters(self.state.filters)
        if not (kept.grayscale or kept.sepia):
            return None
        return lambda frame: apply_filters(frame, kept)

    def _display(self, rendered: Rendered | None, message: str = "") -> None:
        if rendered is not None and rendered.error:
            message = (
                f"Cannot show this media:\n{rendered.error}\n\n"
                "You can still decide the case and note the problem."
            )
            rendered = None
        case = self.case
        stored: StoredMedia | None = None
        if case is not None and case.media:
            try:
                stored = self.ws.queue.open_media(case.media[0])
            except MediaKeyError as exc:
                message = f"Cannot show this media:\n{exc}"
                rendered = None
        if case is not None and stored is not None and case.content_type == "video":
            self.viewer.show_video(stored, rendered, message)
        elif stored is not None and self._animated(stored):
            self.viewer.show_video(stored, rendered, message, storyboard=False)
        else:
            self.viewer.show_visual(rendered, message)
        self._apply_reveal()

    def _on_rendered(self, rendered: Rendered) -> None:
        if (
            self.case is not None
            and rendered.case_id == self.case.id
            and (rendered.settings == self.state.filters or rendered.error)
            and self._media_on_screen()
        ):
            self._display(rendered)

    def _on_previewed(self, preview: Rendered) -> None:
        """Show a case's preview while its full render is still on its way (never over it)."""
        shown = self.viewer.image_view.rendered
        if (
            self.case is not None
            and preview.case_id == self.case.id
            and preview.settings == self.state.filters
            and self._media_on_screen()
            and (shown is None or shown.preview or shown.case_id != preview.case_id)
        ):
            self._display(preview)

    def _prefetch(self) -> None:
        row = self.current_row()
        for rank, step in enumerate((*range(1, PREFETCH_AHEAD + 1), -1), start=1):
            case_id = self.model.case_id_at(row + step)
            if case_id is None:
                continue
            case = self.ws.queue.case(case_id)
            if case is not None and case.content_type != "text" and case.media:
                self.renderer.request(case, self.settings_for(case), ahead=rank, preview=True)

    # -- protection filters -------------------------------------------------------------------
    def _change_filters(self, **changes: object) -> None:
        """Change the filters of the case on screen (the next case starts from its defaults).

        Filters too weak to protect count as exposure from now on, like a reveal.
        """
        self.state.filters = replace(self.state.filters, **changes)  # type: ignore[arg-type]
        self.viewer.player.set_protect(self._video_protect(), self._video_reveal())
        self._show_content()
        self._reveal_changed()

    def toggle_grayscale(self) -> None:
        """Grayscale on or off for this case."""
        self._change_filters(grayscale=not self.state.filters.grayscale)

    def toggle_sepia(self) -> None:
        """Sepia on or off for this case."""
        self._change_filters(sepia=not self.state.filters.sepia)

    def toggle_pixelate(self) -> None:
        """Pixelate instead of blur (or back) for this case."""
        kind = "gaussian" if self.state.filters.blur_kind == "pixelate" else "pixelate"
        self._change_filters(blur_kind=kind)

    def toggle_reduced_detail(self) -> None:
        """Show this case as an illustration (reduced detail), or not."""
        self._change_filters(reduced_detail=not self.state.filters.reduced_detail)

    def cycle_transparency(self) -> None:
        """Fade the picture toward the background: 0 %, 30 %, 60 %, then back."""
        steps = TRANSPARENCY_STEPS
        current = min(steps, key=lambda v: abs(v - self.state.filters.transparency))
        self._change_filters(transparency=steps[(steps.index(current) + 1) % len(steps)])

    def stronger_blur(self) -> None:
        """One blur level stronger."""
        level = min(MAX_BLUR_LEVEL, self.state.filters.blur_level + 1)
        self._change_filters(blur_level=level, blur_kind=self._blurring_kind())

    def weaker_blur(self) -> None:
        """One blur level weaker (below the protective minimum it counts as exposure)."""
        self._change_filters(
            blur_level=max(1, self.state.filters.blur_level - 1), blur_kind=self._blurring_kind()
        )

    def _blurring_kind(self) -> str:
        kind = self.state.filters.blur_kind
        return "gaussian" if kind == "none" else kind

    def keep_filters_as_defaults(self) -> None:
        """Make the filters on screen the reviewer's own defaults (saved in settings.ini)."""
        self.prefs = replace(self.prefs, filters=self.state.filters)
        save_preferences(self.preferences_file, self.prefs)
        self.message.emit("These filters are now your defaults", 4000)

    def set_preferences(self, preferences: Preferences) -> None:
        """Use and keep new preferences (the case on screen keeps its own filters)."""
        self.prefs = preferences
        save_preferences(self.preferences_file, preferences)
        self.advisor.rules = preferences.break_rules
        self.viewer.player.set_speed(preferences.playback_speed)
        self.viewer.player.set_jump_seconds(preferences.jump_seconds)
        self.message.emit("Preferences saved", 3000)

    # -- reveal and exposure ---------------------------------------------------------------------
    def _media_on_screen(self) -> bool:
        return self.viewer.currentWidget() is self.viewer.media_page

    def hold_reveal(self, held: bool) -> None:
        """Space (or the mouse) held: reveal; released: back to protected."""
        self.state.reveal.hold(held)
        self._apply_reveal()

    def toggle_case_reveal(self) -> None:
        """Reveal this case until you leave it, or protect it again.

        Only media on screen can be revealed: behind a warning screen (or on a text case)
        the key does nothing, so opting in with W still shows the media protected first.
        """
        if self.case is not None and self.state.reveal.toggle_case(self._media_on_screen()):
            self._apply_reveal()

    def clear_regions(self) -> None:
        """Blur the regions revealed on this case again."""
        self.viewer.clear_regions()

    def accept_warning(self) -> None:
        """Opt in to this case's media behind a warning screen (or expand collapsed text)."""
        if self.case is None:
            return
        self.state.reveal.accept_warning()
        self._show_content()

    def protect(self) -> None:
        """Back to protected now (the window lost focus, a break): nothing stays revealed."""
        self.state.reveal.protect()
        self._apply_reveal()

    def _apply_reveal(self) -> None:
        reveal = self.state.reveal
        view = self.viewer.image_view
        view.set_pinned(reveal.case_revealed)
        view.set_revealed(reveal.full)
        self.viewer.player.set_revealed(reveal.full and self.viewer.video_active())
        self._reveal_changed()

    def _revealed_fraction(self) -> float:
        if self.case is None:
            return 0.0
        fully = self.viewer.player.revealed or self.viewer.image_view.revealed
        return self.state.reveal.fraction(
            self._media_on_screen(),
            self.viewer.revealed_region_fraction() if self._media_on_screen() else 0.0,
            fully,
            self._protected(),
        )

    def _protected(self) -> bool:
        """Whether the filters of the case on screen hide its detail (too weak a blur does not)."""
        return self.state.is_text or protects(self.state.filters)

    def _reveal_changed(self) -> None:
        fraction = self._revealed_fraction()
        if fraction > 0 and self.case is not None:
            if self.meter.revealing:
                self.meter.set_fraction(fraction)
            else:
                self.meter.start_reveal(self.case.id, self._category(self.case), fraction)
        else:
            self._stop_reveals()
        self.update_status()

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
            self.update_status()

    def check_break(self) -> None:
        """Suggest a break if a rule says one is due (the content is protected meanwhile)."""
        suggestion = self.advisor.due()
        if suggestion is None or QApplication.activeModalWidget() is not None:
            return
        self.protect()
        self.viewer.player.pause()
        if BreakDialog(suggestion, self).exec() == BreakDialog.TOOK_BREAK:
            self.take_break(suggestion.rule.kind)
        else:
            self.advisor.snooze(SNOOZE_MINUTES)

    def take_break(self, reason: str = "") -> None:
        """A break now: content protected, the session clock and exposure paused, a calm
        screen with a timer until the reviewer's key; recorded in the session."""
        self.protect()
        self._stop_reveals()
        self.viewer.player.pause()
        self.meter_timer.stop()
        self.break_timer.stop()
        if self.session_id is not None:
            self.ws.wellbeing.record_break(self.session_id, reason)
        log.info("break started (%s)", reason or "taken")
        screen = BreakScreen(self._clock, self.window())
        screen.exec()
        log.info("break ended after %.0f s", screen.elapsed_s)
        self.advisor.took_break()
        self.time_on_case.restart()
        self.meter_timer.start()
        self.break_timer.start()
        self.message.emit(f"Welcome back: the break lasted {screen.timer_text()}", 5000)
        self.update_status()

    def show_session_summary(self) -> None:
        """What this session amounted to so far."""
        self._stop_reveals()
        if self.session_id is not None:
            SummaryDialog(self.ws.wellbeing.session_summary(self.session_id), self).exec()

    def toggle_mute(self) -> None:
        """Sound on or off for this case's video (every case starts muted)."""
        if self.video.toggle_mute():
            self.update_status()

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
        case = self.case
        if case is None:
            return
        if self.panel.selected_label() is None:
            self._refuse("Not recorded: choose a label first (keys 1–9)")
            return
        if not self.panel.take_typed_citation():  # never drop a half-typed citation
            self.message.emit(self.panel.problem.text(), 8000)
            return
        draft = self.panel.draft()
        if draft is None:
            return
        following = self.model.case_id_at(self.current_row() + 1)
        try:
            warnings = self.ws.verdicts.check(case.id, draft)
            self.ws.verdicts.record(case.id, draft, time_on_case_ms=self.time_on_case.elapsed())
        except CitationError as exc:
            self._refuse(f"Not recorded: {exc} (C to cite)")
            return
        except (Refused, ValueError) as exc:
            self._refuse(f"Not recorded: {exc}")
            return
        except DatabaseError as exc:
            # Another window or command kept the database busy, or the disk failed: the
            # draft stays in the panel, and the message stays until the next one.
            log.warning("recording a verdict failed: %s", type(exc).__name__)
            self.message.emit(
                f"Not recorded: {exc}. Your draft is kept; record it again (Ctrl+Return).", 0
            )
            return
        log.info("recorded a verdict on %s", case.id)
        self.panel.clear_problem()
        self.changes.verdicts(case.id)
        self.leave_text_input()  # the next case starts with keys driving the review loop
        warned = f" — warning: {'; '.join(warnings)}" if warnings else ""
        self.message.emit(
            f"Recorded {draft.label} on {case.id}{warned}", 8000 if warnings else 3000
        )
        # By id: under a filter the recorded case may have left the queue.
        next_row = self.model.row_of(following) if following is not None else None
        if next_row is not None:
            self.go_to_row(next_row)
        else:
            self.panel.load_draft(self.ws.verdicts.mine(case.id))
            if following is not None and self.model.filter is not None:
                self._find_row(following)

    def _refuse(self, text: str) -> None:
        """Not recorded: say why in the verdict panel (and the status bar); keep the draft."""
        self.panel.show_problem(text)
        self.message.emit(text, 8000)

    def undo_verdict(self) -> None:
        """Undo your last verdict on this case (a new event that supersedes it)."""
        case = self.case
        if case is None:
            return
        event = self.ws.verdicts.undo(case.id)
        if event is None:
            self.message.emit("Nothing to undo on this case", 3000)
            return
        log.info("undid the last verdict on %s", case.id)
        self.changes.verdicts(case.id)
        self.panel.load_draft(self.ws.verdicts.mine(case.id))
        restored = event.label or "undecided"
        self.message.emit(f"Undone: {case.id} is now {restored}", 3000)

    def remove_citation(self) -> None:
        """Remove the selected citation from the draft (the newest unless another is selected)."""
        removed = self.panel.remove_selected_citation()
        self.message.emit(f"Removed the citation of {removed}" if removed else "No citation", 3000)

    def focus_citation(self) -> None:
        """Put the cursor in the citation field."""
        self.panel.citation_field.setFocus()

    def focus_notes(self) -> None:
        """Put the cursor in the notes field."""
        self.panel.notes.setFocus()

    def cite(self, section: EffectiveSection, quote: str) -> None:
        """Add a citation chosen in the guideline browser."""
        self.panel.add_citation(section, quote)
        self.message.emit(f"Cited {section.id}", 3000)

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

    # -- status ----------------------------------------------------------------------------
    def update_status(self) -> None:
        """Say where the reviewer is, what is visible, and the unblurred time so far."""
        fraction = self._revealed_fraction()
        shown = self.state.reveal.describe(
            self.state.is_text, fraction, len(self.viewer.image_view.regions), self._protected()
        )
        severe = "  ·  severe: stronger protection" if self.case and self.case.severe else ""
        position = f"case {self.current_row() + 1} of {self.model.rowCount()}"
        if self.model.counting:
            position += "+ (counting…)"
        if self.model.filter is not None:
            position += f" (filtered from {self.model.total_count})"
        exposure = self.meter.session_total_ms / 1000
        self.status_text.emit(
            f"{position}  ·  content {shown}{severe}  ·  unblurred this session "
            f"{exposure:.1f} s  ·  ? for shortcuts"
        )
        self.protection_bar.show_state(
            self.state.filters,
            self.state.reveal.case_revealed,
            self.viewer.player.muted,
            self.viewer.video_active(),
        )

    def shutdown(self, summary: bool) -> None:
        """The window closes: stop timers and workers, record the last exposure and session."""
        self.meter_timer.stop()
        self.break_timer.stop()
        self.model.shutdown()
        self.viewer.leave_video(wait=True)
        self.renderer.shutdown()
        if self.ws.is_open:  # else its owner closed it first: nothing left to record into
            self._stop_reveals()
            if self.session_id is not None:
                if summary:
                    self.show_session_summary()
                self.ws.wellbeing.end_session(self.session_id)
