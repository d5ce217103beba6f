"""The calibration screen: the SME's laptop runs a session from here.

A screen of the main window's stack (Review ▸ Calibration sessions). The sessions on the
left; for the open one, the case on screen (blurred, the warning screen first for severe
cases), a per-case timer, the progress strip of the session, the vote grid
(:class:`~.vote_grid.VoteGrid`), then after the reveal who voted what, the sections cited,
the distribution as a chart and a text table,
the discussion notes and the arbiter's ruling under the citation rule of any verdict.

Before a case's reveal nothing here says what anyone voted: core gives only who voted.
Keys (never while typing): arrows, 1-9 and Enter/Space in the grid; R reveals (asks
first); N writes a note (Ctrl+Enter adds it, Esc leaves); Alt+1-9 chooses the ruling's
label, C cites, Ctrl+Enter records the ruling; W shows media behind the warning (still
blurred); PgDn/PgUp next/previous case (Ctrl+PgDn/PgUp: another session); Ctrl+N a new
session; P puts the presenter
(:class:`~.presenter.PresenterWindow`) full screen on the projector, following this screen's
case; M shows the case's media to the room (asks first); A opens the session report; V serves
the vote page (``ui/vote_page/``) and puts its join card on the presenter; S ships an async
session to its participants (a signed case batch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QHideEvent, QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.api import (
    CalibrationCaseState,
    CalibrationSession,
    Case,
    Guideline,
    Label,
    PackError,
    Preferences,
    QADesktopError,
    QueueFilter,
    Refused,
    SectionMatch,
    VerdictDraft,
    VerdictEvent,
    protection_for,
)
from ...core.workspace import Workspace
from ..changes import Changes
from ..plain_text import ask, escaped
from ..render import RenderCache, Rendered
from ..verdict_panel import VerdictPanel
from ..viewer import CaseViewer
from ..vote_page.host import VotePageHost
from ..vote_page.launcher import start_vote_page
from ..workers import run_in_background
from .distribution_chart import DistributionChart
from .presenter import PresenterWindow, projector_screen
from .progress_strip import ProgressStrip
from .session_dialog import SessionDialog, SessionRequest, create_from
from .session_report import SessionReportView
from .vote_grid import VoteGrid

log = logging.getLogger(__name__)  # ids and errors only: never case text or notes

T = TypeVar("T")

QueueContext = Callable[[], tuple[tuple[str, ...], QueueFilter | None]]
"""The queue's selected case ids and its filter (where a new session's cases come from)."""

_CTRL_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_MOUSE_REVEALS = (
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseMove,
)
_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit)


def _plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def distribution_table(state: CalibrationCaseState) -> str:
    """The revealed distribution as a plain text table (label, votes, share)."""
    if state.revealed is None:
        return ""
    rows = state.revealed.distribution
    width = max((len(label) for label, _ in rows), default=5)
    total = sum(n for _, n in rows) or 1
    lines = [f"{'label':<{width}}  votes  share"]
    lines += [f"{label:<{width}}  {n:>5}  {n / total:>5.0%}" for label, n in rows]
    return "\n".join(lines)


class _StatesLoader(QObject):
    """Loads every case state of a session in a worker thread (its own Workspace)."""

    loaded = Signal(str, object)  # session id, list of case states

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibration")
        self._futures: set[Future[None]] = set()

    def load(self, session_id: str) -> None:
        """Start loading; :attr:`loaded` brings the states to the GUI thread."""
        future = self._pool.submit(self._run, session_id)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _run(self, session_id: str) -> None:
        try:
            with Workspace.open(self.data_dir) as ws:
                states = ws.calibration.states(session_id)
        except QADesktopError as exc:
            log.warning("calibration states not loaded: %s", type(exc).__name__)
            return
        self.loaded.emit(session_id, states)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until started loads are done (tests, shutdown)."""
        _, not_done = futures_wait(list(self._futures), timeout=msecs / 1000)
        return not not_done

    def shutdown(self) -> None:
        """Finish the running load, drop queued ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Writer(QObject):
    """Runs the screen's database work on a thread of its own with its own Workspace: the
    writes a room's votes contend with (the reveal, the ruling; waiting for the page
    thread's write lock, SQLite's busy handler sleeps up to 100 ms at a time) and, on a
    second one, the reads of the next case (issue 15: nothing on the GUI thread waits for
    SQLite)."""

    _landed = Signal()

    def __init__(
        self, data_dir: Path, parent: QObject | None = None, name: str = "calibration-write"
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._ws: Workspace | None = None  # opened and used on the pool's thread only
        self.busy = False
        self._closed = False

    def _call(self, job: Callable[[Workspace], T]) -> T:
        if self._ws is None:
            self._ws = Workspace.open(self.data_dir)
        return job(self._ws)

    def warm(self) -> None:
        """Open the writer's Workspace ahead of the first write (a session was opened)."""
        if not self._closed:
            self._pool.submit(self._call, lambda _ws: None)

    def run(self, job: Callable[[Workspace], T]) -> T:
        """Run ``job`` on the writer's thread; its result, or raise what it raised.

        The caller waits, the GUI thread does not: it serves timers, repaints and the vote
        page's updates meanwhile, and holds the user's input (keys typed meanwhile are
        delivered, in order, once the write has landed and been shown)."""
        self.busy = True
        loop = QEventLoop()
        self._landed.connect(loop.quit)
        try:
            future = self._pool.submit(self._call, job)
            future.add_done_callback(lambda _f: self._landed.emit())
            if not future.done():
                loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
            return future.result()
        finally:
            self._landed.disconnect(loop.quit)
            self.busy = False

    def shutdown(self) -> None:
        """Finish the running write, close the writer's Workspace."""

        if self._closed:
            return
        self._closed = True

        def close() -> None:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

        self._pool.submit(close)
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class _CaseRead:
    """What showing a session's case needs from the database, read on the reader thread."""

    case: Case | None
    guideline: Guideline | None
    state: CalibrationCaseState | None
    refused: Refused | None
    names: dict[str, str]
    """Reviewer names by id, when the case has discussion notes to sign."""


def _read_case(ws: Workspace, session_id: str, case_id: str) -> _CaseRead:
    """The case, its guideline, its calibration state and the notes' authors' names."""
    case = ws.queue.case(case_id)
    guideline = None
    if case is not None:
        try:
            guideline = ws.guidelines.for_case(case)
        except PackError:
            guideline = None
    try:
        state = ws.calibration.case_state(session_id, case_id)
    except Refused as exc:
        return _CaseRead(case, guideline, None, exc, {})
    names = ws.verdicts.reviewer_names() if state.notes else {}
    return _CaseRead(case, guideline, state, None, names)


class CalibrationScreen(QWidget):
    """Runs a calibration session: cases, blind votes, reveal, notes, ruling."""

    back_requested = Signal()
    message = Signal(str, int)
    presenter_case_changed = Signal(str)
    ship_requested = Signal(str)
    """Ship this async session to its participants (the window signs and writes it)."""
    """The case on screen, or its state, changed (see :meth:`_presenter_changed`)."""

    def __init__(
        self,
        ws: Workspace,
        changes: Changes,
        prefs: Preferences,
        queue_context: QueueContext = lambda: ((), None),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.changes = changes
        self.prefs = prefs
        self.queue_context = queue_context
        self.session: CalibrationSession | None = None
        self.labels: list[Label] = []
        self.position = -1
        self.case: Case | None = None
        self.state: CalibrationCaseState | None = None
        self.warning_accepted = False
        self.presenter: PresenterWindow | None = None
        self.report_window: SessionReportView | None = None
        self.vote_page: VotePageHost | None = None
        self._note_drafts: dict[tuple[str, str], str] = {}
        self._ruling_drafts: dict[tuple[str, str], tuple[VerdictDraft | None, str, str]] = {}
        self.renderer = RenderCache(ws.queue.open_media, parent=self)
        self.renderer.rendered.connect(self._on_rendered)
        self.loader = _StatesLoader(ws.data_dir, self)
        self.loader.loaded.connect(self._states_loaded)
        self.writer = _Writer(ws.data_dir, self)
        self.reader = _Writer(ws.data_dir, self, name="calibration-read")
        self.case_clock = QElapsedTimer()
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._show_time)

        # -- left: the sessions ---
        back = QPushButton("← Back to review")
        back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        back.clicked.connect(self.back_requested)
        self.new_button = QPushButton("New session…  (Ctrl+N)")
        self.new_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.new_button.clicked.connect(lambda: self.new_session())
        self.present_button = QPushButton("Presenter on the projector  (P)")
        self.report_button = QPushButton("Session report  (A)")
        self.vote_page_button = QPushButton("Vote page  (V)")
        self.ship_button = QPushButton("Ship to participants  (S)")
        for button, run in (
            (self.present_button, self.open_presenter),
            (self.report_button, self.open_report),
            (self.vote_page_button, self.open_vote_page),
            (self.ship_button, self.ship),
        ):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, go=run: go())
        self.session_list = QListWidget()
        self.session_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.session_list.itemClicked.connect(
            lambda item: self.open_session(item.data(Qt.ItemDataRole.UserRole))
        )
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(back)
        left_layout.addWidget(_plain("Calibration sessions"))
        left_layout.addWidget(self.session_list, 1)
        left_layout.addWidget(self.new_button)
        left_layout.addWidget(self.present_button)
        left_layout.addWidget(self.report_button)
        left_layout.addWidget(self.vote_page_button)
        left_layout.addWidget(self.ship_button)

        # -- middle: the case ---
        self.header = _plain("No session open: pick one, or make a new one (Ctrl+N)")
        font = QFont(self.header.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.header.setFont(font)
        self.timer_label = _plain("")
        self.strip = ProgressStrip()
        self.strip.case_clicked.connect(self.show_case)
        self.viewer = CaseViewer()
        # The laptop never reveals: no hold-to-reveal, no revealed regions (a reveal to the
        # room is the presenter's act, counted as exposure there).
        self.viewer.image_view.blurred_hint = "Blurred — the laptop shows this case blurred"
        self.viewer.image_view.installEventFilter(self)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.timer_label)
        middle_layout.addLayout(top)
        middle_layout.addWidget(self.strip)
        middle_layout.addWidget(self.viewer, 1)
        self.hints = _plain(
            "Grid: arrows move · 1–9 label · Enter/Space vote — R reveal · N note · "
            "Alt+1–9 ruling label · C cite · Ctrl+Enter rule · W show behind warning · "
            "PgDn/PgUp next/previous case · Ctrl+PgDn/PgUp another session — "
            "P presenter on the projector · M show media to the room · A session report · "
            "V vote page for participants' own devices · S ship an async session"
        )
        middle_layout.addWidget(self.hints)

        # -- right: votes, reveal, notes, ruling ---
        self.status = _plain("")
        self.status.setObjectName("vote_status")
        self.grid = VoteGrid()
        self.grid.vote_requested.connect(self.vote)
        self.problem = _plain("")
        self.problem.setStyleSheet(
            "background:#fde2e1; color:#8a1c13; padding:3px; font-weight:bold"
        )
        self.problem.hide()
        self.reveal_button = QPushButton("Reveal the votes  (R)")
        self.reveal_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reveal_button.clicked.connect(lambda: self.reveal())

        self.revealed_box = QWidget()
        revealed_layout = QVBoxLayout(self.revealed_box)
        revealed_layout.setContentsMargins(0, 0, 0, 0)
        revealed_layout.addWidget(_plain("Votes"))
        self.votes_table = QTableWidget(0, 3)
        self.votes_table.setHorizontalHeaderLabels(["Voter", "Label", "Cited"])
        self.votes_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.votes_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.votes_table.verticalHeader().hide()
        self.votes_table.horizontalHeader().setStretchLastSection(True)
        revealed_layout.addWidget(self.votes_table)
        revealed_layout.addWidget(_plain("Distribution"))
        self.distribution = _plain("")
        self.distribution.setFont(QFont("monospace"))
        self.distribution.setObjectName("distribution_table")
        revealed_layout.addWidget(self.distribution)
        self.chart = DistributionChart()
        self.chart.setObjectName("distribution_chart")
        self.chart.set_font_px(max(12, self.fontInfo().pixelSize()))
        self.chart.setMinimumHeight(160)
        revealed_layout.addWidget(self.chart)
        self.revealed_box.hide()

        self.notes_list = QListWidget()
        self.notes_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.notes_list.setWordWrap(True)
        self.notes_list.setMaximumHeight(100)
        self.note_draft = QPlainTextEdit()
        self.note_draft.setPlaceholderText("Discussion note (N) — Ctrl+Enter adds it, Esc leaves")
        self.note_draft.setMaximumHeight(70)
        self.note_draft.installEventFilter(self)
        add_note = QPushButton("Add note  (Ctrl+Enter)")
        add_note.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        add_note.clicked.connect(lambda: self.add_note())

        self.ruling = VerdictPanel()
        self._word_ruling_panel()
        self.ruling.record_requested.connect(lambda: self.rule())
        self.ruling.text_editing_done.connect(self.focus_grid)
        self.ruling.hide()

        previous = QPushButton("← Previous case  (PgUp)")
        following = QPushButton("Next case  (PgDn) →")
        for button, run in ((previous, self.previous_case), (following, self.next_case)):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, go=run: go())
        navigation = QHBoxLayout()
        navigation.addWidget(previous)
        navigation.addWidget(following)

        controls = QWidget()
        controls_layout = QVBoxLayout(controls)
        controls_layout.addWidget(self.status)
        controls_layout.addWidget(self.grid)
        controls_layout.addWidget(self.problem)
        controls_layout.addWidget(self.reveal_button)
        controls_layout.addWidget(self.revealed_box)
        controls_layout.addWidget(_plain("Discussion notes"))
        controls_layout.addWidget(self.notes_list)
        controls_layout.addWidget(self.note_draft)
        controls_layout.addWidget(add_note)
        controls_layout.addWidget(self.ruling)
        controls_layout.addLayout(navigation)
        controls_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for pane in (left, middle, scroll):
            self.splitter.addWidget(pane)
        self.splitter.setSizes([200, 560, 560])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)

        shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: self.new_session())
        changes.cases_changed.connect(self._outside_changed)

    def _word_ruling_panel(self) -> None:
        """The verdict panel, worded for the arbiter's ruling and this screen's keys."""
        words = {"Verdict": "Ruling (the arbiter's)", "Label (keys 1–9)": "Label (Alt+1–9)"}
        for label in self.ruling.findChildren(QLabel):
            if label.text() in words:
                label.setText(words[label.text()])
        self.ruling.record_button.setText("Record the ruling  (Ctrl+Enter)")
        self.ruling.notes.setPlaceholderText("Ruling notes — Ctrl+Enter records, Esc leaves")

    # -- the screen ------------------------------------------------------------------------------
    def open_screen(self) -> None:
        """Shown: list the sessions, refresh the open one, keys to the grid."""
        self.refresh_sessions()
        if self.session is not None:
            self._reload_state()
        elif self.session_list.count():
            self.open_session(
                self.session_list.item(self.session_list.count() - 1).data(Qt.ItemDataRole.UserRole)
            )
        self.focus_grid()

    def refresh_sessions(self) -> None:
        """The session list, newest last."""
        self.session_list.clear()
        for session in self.ws.calibration.sessions():
            count = len(session.case_ids)
            item = QListWidgetItem(f"{session.name}\n{session.mode} · {count} cases")
            item.setData(Qt.ItemDataRole.UserRole, session.id)
            item.setToolTip(escaped(f"{session.market} · {session.pack_id} {session.pack_version}"))
            self.session_list.addItem(item)
            if self.session is not None and session.id == self.session.id:
                self.session_list.setCurrentItem(item)

    def step_session(self, step: int) -> None:
        """Open the next (1) or previous (-1) session of the list (Ctrl+PgDn / Ctrl+PgUp)."""
        count = self.session_list.count()
        if count == 0:
            return
        row = self.session_list.currentRow()
        row = min(max(row + step, 0), count - 1) if row >= 0 else count - 1
        self.open_session(self.session_list.item(row).data(Qt.ItemDataRole.UserRole))
        self.session_list.setCurrentRow(row)
        self.focus_grid()

    def focus_grid(self) -> None:
        """Keys back to the vote grid."""
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)

    def new_session(self) -> str | None:
        """Ask for a new session (cases from the queue, a view or a batch) and open it."""
        selected, queue_filter = self.queue_context()
        dialog = SessionDialog(self.ws, selected, queue_filter, self, create=self._create)
        if not dialog.exec() or dialog.session_id is None:
            return None
        self.refresh_sessions()
        self.open_session(dialog.session_id)
        self.message.emit("Calibration session created", 4000)
        return dialog.session_id

    def _create(self, request: SessionRequest) -> str:
        """Create in a worker (a view or batch is a query over many cases); raise what failed."""
        outcome = run_in_background(
            self,
            "Calibration session",
            "Creating the calibration session…",
            self.ws.data_dir,
            lambda ws, _progress, _cancelled: create_from(ws, request),
        )
        if outcome.error is not None:
            raise outcome.error
        if outcome.result is None:
            raise QADesktopError("the session was not created")
        return outcome.result

    def open_session(self, session_id: str) -> None:
        """Open a session at its first case (every case's state loads in a worker)."""
        self._keep_drafts()
        self.state = None  # the drafts kept: nothing of the session left belongs to the next
        session = self.ws.calibration.session(session_id)
        if self.session is not None and session.id != self.session.id:
            self.close_vote_page()  # the page serves one session
            self.close_presenter()
        self.session = session
        me = self.ws.reviewer.id if self.ws.reviewer else ""
        people = list(session.participants)
        if session.mode == "async" and me != session.arbiter_id:
            people = [p for p in people if p.id == me]  # my laptop: only my own row
        first = self.ws.queue.case(session.case_ids[0]) if session.case_ids else None
        try:
            self.labels = self.ws.guidelines.labels_for(first) if first else []
        except PackError:
            self.labels = []
        self.grid.set_session(people, self.labels)
        self.strip.set_count(len(session.case_ids))
        self.loader.load(session.id)
        self.writer.warm()
        self.reader.warm()
        self.refresh_sessions()
        self.position = -1
        self.show_case(0)
        self.focus_grid()

    def _states_loaded(self, session_id: str, states: list[CalibrationCaseState]) -> None:
        if self.session is None or session_id != self.session.id:
            return
        for state in states:
            if state.position != self.position:  # the case on screen is fresher already
                self.strip.set_state(state)

    # -- the case on screen ----------------------------------------------------------------------
    def show_case(self, position: int) -> None:
        """Show the session's case at ``position``: blurred, its votes' state, its drafts.

        The case is read on the reader thread; meanwhile the GUI thread paints and serves
        timers, and keys typed are held and arrive, in order, once the case is shown."""
        session = self.session
        if session is None or not 0 <= position < len(session.case_ids) or self.reader.busy:
            return
        self._keep_drafts()
        case_id = session.case_ids[position]
        read = self.reader.run(lambda ws: _read_case(ws, session.id, case_id))
        if self.session is not session:
            return  # another session opened meanwhile
        self.position = position
        self.case = read.case
        self.warning_accepted = False
        self.case_clock.restart()
        self.ticker.start()
        self._show_time()
        self.strip.set_current(position)
        self.header.setText(
            f"{session.name} — case {position + 1} of {len(session.case_ids)}:"
            f" {case_id}"
            + (f" · {self.case.market} · {self.case.content_type}" if self.case else "")
        )
        self._set_ruling_context(read.guideline)
        self._restore_ruling_draft(case_id)
        self.note_draft.setPlainText(self._note_drafts.get((session.id, case_id), ""))
        self.problem.hide()
        self._show_content()
        if read.state is not None:
            self._show_state(read.state, read.names)
        elif read.refused is not None:
            self._show_problem(read.refused)
        self.grid.after_vote(-1)

    def _set_ruling_context(self, guideline: Guideline | None) -> None:
        """The ruling panel's labels and section search: the case's guideline (None: its
        pack is not here)."""
        case = self.case
        if case is None:
            self.ruling.set_case_context([], ("", ""), lambda _t, _l: [])
            return
        if guideline is None:
            self.ruling.set_case_context([], (case.pack_id, case.pack_version), lambda _t, _l: [])
            return
        policy = case.original.policy

        def search(text: str, label: str | None) -> list[SectionMatch]:
            return guideline.find(text, label=label, policy=policy)

        self.ruling.set_case_context(
            list(guideline.labels),
            (case.pack_id, case.pack_version),
            search,
            localized=guideline.overlay is not None,
        )

    def _show_time(self) -> None:
        seconds = self.case_clock.elapsed() // 1000 if self.case_clock.isValid() else 0
        self.timer_label.setText(f"On this case {seconds // 60}:{seconds % 60:02d}")

    def _show_content(self) -> None:
        """The case's content, protected: the warning screen first, media always blurred."""
        case = self.case
        if case is None:
            self.viewer.show_visual(None, "This case is not in the queue")
            return
        protection = protection_for(case.tags, self.prefs)
        warn = (protection.warning_screen or case.severe) and not self.warning_accepted
        self.viewer.image_view.set_revealed(False)
        if case.content_type == "text" or not case.media:
            self.viewer.show_text(case.text, tuple(case.tags) if warn else ())
            return
        if warn:
            self.viewer.show_warning(case.tags)
            return
        self.viewer.leave_video()
        rendered = self.renderer.request(case, protection.filters)
        self.viewer.show_visual(rendered, "" if rendered else "Preparing the blurred view…")

    def _on_rendered(self, rendered: Rendered) -> None:
        if (
            self.case is None
            or rendered.case_id != self.case.id
            or self.viewer.currentWidget() is not self.viewer.media_page
        ):
            return
        if rendered.error:
            self.viewer.show_visual(None, f"Cannot show this media:\n{rendered.error}")
        else:
            self.viewer.show_visual(rendered)
        self.viewer.image_view.set_revealed(False)

    def accept_warning(self) -> None:
        """Show the media behind the warning screen (still blurred)."""
        if self.case is not None and not self.warning_accepted:
            self.warning_accepted = True
            if self.viewer.currentWidget() is self.viewer.text_view:
                self.viewer.text_view.expand()
            else:
                self._show_content()

    def _reload_state(self) -> None:
        if self.session is None or self.position < 0:
            return
        case_id = self.session.case_ids[self.position]
        try:
            state = self.ws.calibration.case_state(self.session.id, case_id)
        except Refused as exc:
            self._show_problem(exc)
            return
        self._show_state(state)

    def _show_state(self, state: CalibrationCaseState, names: dict[str, str] | None = None) -> None:
        """Who voted (and, once revealed, what), the notes and the ruling of the case
        (``names``: the notes' authors' names, read with the state; else read here)."""
        self.state = state
        self.grid.show_state(state)
        self.strip.set_state(state)
        status = f"{state.voted} of {state.participants} voted"
        if state.revealed is not None:
            status += " · revealed"
        if state.ruling is not None:
            status += " · ruled"
        self.status.setText(status)
        revealed = state.revealed is not None
        self.reveal_button.setEnabled(not revealed)
        self.revealed_box.setVisible(revealed)
        self.ruling.setVisible(revealed)
        if state.revealed is not None:
            votes = state.revealed.votes
            self.votes_table.setRowCount(len(votes))
            for row, vote in enumerate(votes):
                cited = ", ".join(c.section_id for c in vote.citations) or "—"
                for column, text in enumerate((vote.voter, vote.label, cited)):
                    self.votes_table.setItem(row, column, QTableWidgetItem(text))
            self.distribution.setText(distribution_table(state))
            self.chart.set_state(state, [label.id for label in self.labels])
        else:
            self.votes_table.setRowCount(0)
            self.distribution.clear()
        self.ruling.show_current(state.ruling)
        self.notes_list.clear()
        if names is None:
            names = self.ws.verdicts.reviewer_names() if state.notes else {}
        for note in state.notes:
            who = names.get(note.author_id, note.author_id)
            self.notes_list.addItem(f"{note.created_at[11:16]} {who}: {note.text}")
        self._presenter_changed(state.case_id, state)

    def _presenter_changed(self, case_id: str, state: CalibrationCaseState | None = None) -> None:
        """The case on screen or its state changed (vote, reveal, note, ruling, next).

        The one place the presenter window is told: it follows the laptop's case.
        (``PresenterWindow.show_case``/``refresh``); until then it emits
        :attr:`presenter_case_changed`."""
        self.presenter_case_changed.emit(case_id)
        if self.vote_page is not None and self.vote_page.running:
            self.vote_page.set_current(case_id)
        presenter = self.presenter
        if presenter is None or not presenter.isVisible():
            return
        if presenter.state is not None and presenter.state.case_id == case_id:
            presenter.refresh(state)  # the state just read: one read a vote, not two
        else:
            presenter.show_case(case_id)

    def open_presenter(self) -> PresenterWindow | None:
        """The session on the room's screen: full screen on the projector (the screen that
        is not the laptop's), following this screen's case."""
        if self.session is None or self.state is None:
            self.message.emit("Open a session first", 4000)
            return None
        if self.presenter is None or self.presenter.session.id != self.session.id:
            self.close_presenter()
            self.presenter = PresenterWindow(self.ws, self.session.id)
        self.presenter.show_case(self.state.case_id)
        if self.vote_page is not None and self.vote_page.running:
            self.presenter.show_join(self.vote_page.url, self.vote_page.code)
        self.presenter.place_on(projector_screen())
        self.window().activateWindow()  # the keys stay on the laptop
        return self.presenter

    def close_presenter(self) -> None:
        """Close the room's screen (media shown to the room end there)."""
        if self.presenter is not None:
            self.presenter.close()
            self.presenter.deleteLater()
            self.presenter = None

    def show_media_to_room(self) -> bool:
        """Ask, then show the current case's media unblurred on the presenter (exposure
        for everyone in the session; blurred again on the next case)."""
        if self.presenter is None or not self.presenter.isVisible():
            self.message.emit("Open the presenter first (P)", 4000)
            return False
        return self.presenter.reveal_media_to_room()

    def open_vote_page(self) -> VotePageHost | None:
        """Serve the live session's vote page (asks where), following this screen's case;
        the presenter shows its join card. Votes from the page arrive as the grid's do."""
        if self.session is None or self.state is None:
            self.message.emit("Open a session first", 4000)
            return None
        if self.session.mode != "live":
            self.message.emit("The vote page is for live sessions (async ones travel)", 5000)
            return None
        if self.vote_page is not None and self.vote_page.running:
            return self.vote_page
        host = start_vote_page(self.window(), self.session.id)
        if host is None:
            return None
        self.vote_page = host
        host.set_current(self.state.case_id)
        host.changed.connect(self._page_changed)
        host.stopped.connect(self._page_stopped)
        if self.presenter is not None:
            self.presenter.show_join(host.url, host.code)
        return host

    def close_vote_page(self) -> None:
        """Stop serving the vote page (leaving the session or the app)."""
        if self.vote_page is not None:
            self.vote_page.stop()

    def _page_changed(self, page: dict[str, object]) -> None:
        """A vote arrived through the page: show the new count here and on the presenter."""
        state = self.state
        same_case = state is not None and page.get("case_id") == state.case_id
        if same_case and state is not None and page.get("voted") != state.voted:
            self._reload_state()

    def _page_stopped(self) -> None:
        self.vote_page = None
        if self.presenter is not None:
            self.presenter.hide_join()

    def ship(self) -> bool:
        """Ask the window to ship the open async session to its participants' laptops."""
        if self.session is None:
            self.message.emit("Open a session first", 4000)
            return False
        if self.session.mode != "async":
            self.message.emit("Only an async session is shipped (a live one runs here)", 5000)
            return False
        self.ship_requested.emit(self.session.id)
        return True

    def open_report(self) -> SessionReportView | None:
        """The open session's agreement report in its own window (figures, the cases of
        low agreement to file as policy gaps, XLSX/CSV export)."""
        if self.session is None:
            self.message.emit("Open a session first", 4000)
            return None
        if self.report_window is not None:
            self.report_window.close()
            self.report_window.deleteLater()
        view = SessionReportView(self.ws, self.session.id)
        view.setWindowFlag(Qt.WindowType.Window)
        view.setWindowTitle(f"{self.session.name} — session report")
        view.resize(1100, 700)
        view.show()
        view.refresh()
        self.report_window = view
        return view

    # -- acts ------------------------------------------------------------------------------------
    def vote(self, participant_id: str, label: str) -> bool:
        """Record a participant's vote on the case on screen; a refusal is shown."""
        if self.session is None or self.state is None:
            return False
        row = self.grid.currentRow()
        try:
            state = self.ws.calibration.vote(
                self.session.id, self.state.case_id, participant_id, label
            )
        except Refused as exc:
            self._show_problem(exc)
            self.grid.after_vote(row - 1)  # off the label cell, on the same row
            return False
        self.problem.hide()
        self._show_state(state)
        self.grid.after_vote(row)
        name = next((p.name for p in self.session.participants if p.id == participant_id), "")
        self.message.emit(f"Vote recorded for {name}", 3000)
        return True

    def reveal(self, confirm: bool = True) -> bool:
        """Reveal the case's votes (asked first); then who voted what."""
        if (
            self.session is None
            or self.state is None
            or self.state.revealed is not None
            or self.writer.busy
        ):
            return False
        if confirm and not ask(
            self,
            "Reveal the votes",
            f"Reveal the votes on case {self.state.case_id}? "
            f"{self.state.voted} of {self.state.participants} voted; voting closes.",
        ):
            return False
        session_id, case_id = self.session.id, self.state.case_id
        try:
            state = self.writer.run(lambda ws: ws.calibration.reveal(session_id, case_id))
        except Refused as exc:
            self._show_problem(exc)
            return False
        self.problem.hide()
        self._show_landed(state)
        return True

    def add_note(self) -> bool:
        """Add the typed discussion note; on a refusal the draft stays."""
        if self.session is None or self.state is None:
            return False
        try:
            state = self.ws.calibration.note(
                self.session.id, self.state.case_id, self.note_draft.toPlainText()
            )
        except Refused as exc:
            self._show_problem(exc)
            return False
        self.note_draft.clear()
        self._note_drafts.pop((self.session.id, self.state.case_id), None)
        self.problem.hide()
        self._show_state(state)
        self.focus_grid()
        return True

    def rule(self) -> bool:
        """Record the arbiter's ruling (label, citations) on the revealed case."""
        if self.session is None or self.state is None or self.writer.busy:
            return False
        if not self.ruling.take_typed_citation():
            return False
        draft = self.ruling.draft()
        if draft is None:
            self.ruling.show_problem("Not recorded: choose the ruling's label (Alt+1–9)")
            return False
        session_id, case_id = self.session.id, self.state.case_id
        try:
            event, warnings = self.writer.run(
                lambda ws: ws.calibration.rule(session_id, case_id, draft)
            )
        except Refused as exc:
            self.ruling.show_problem(f"Not recorded ({exc.reason}): {exc.message}")
            self.message.emit(f"Ruling not recorded: {exc.message}", 6000)
            return False
        self.ruling.clear_problem()
        self._ruling_drafts.pop((self.session.id, event.case_id), None)
        self.changes.verdicts(event.case_id)
        self._reload_state()
        self.message.emit(
            "Ruling recorded" + (f" ({'; '.join(warnings)})" if warnings else ""), 5000
        )
        self.focus_grid()
        return True

    def _show_landed(self, state: CalibrationCaseState) -> None:
        """A write's state, shown if its case is still the one on screen (else on the strip)."""
        if self.state is not None and state.case_id == self.state.case_id:
            self._show_state(state)
        else:
            self.strip.set_state(state)

    def next_case(self) -> None:
        """The session's next case."""
        self.show_case(self.position + 1)

    def previous_case(self) -> None:
        """The session's previous case."""
        self.show_case(self.position - 1)

    def _show_problem(self, exc: Refused) -> None:
        self.problem.setText(f"Refused ({exc.reason}): {exc.message}")
        self.problem.show()
        self.message.emit(f"Refused: {exc.message}", 6000)

    def _keep_drafts(self) -> None:
        """Nothing typed is lost: the note and the ruling being written stay with their case."""
        if self.session is None or self.state is None:
            return
        key = (self.session.id, self.state.case_id)
        text = self.note_draft.toPlainText()
        if text.strip():
            self._note_drafts[key] = text
        else:
            self._note_drafts.pop(key, None)
        draft = self.ruling.draft()
        notes, typed = self.ruling.notes.toPlainText(), self.ruling.citation_field.text()
        if draft is not None or notes.strip() or typed.strip():
            self._ruling_drafts[key] = (draft, notes, typed)
        else:
            self._ruling_drafts.pop(key, None)

    def _restore_ruling_draft(self, case_id: str) -> None:
        """The ruling as it was drafted when the arbiter left the case (else empty)."""
        key = (self.session.id if self.session else "", case_id)
        draft, notes, typed = self._ruling_drafts.get(key, (None, "", ""))
        event = None
        if draft is not None:
            event = VerdictEvent(
                id="",
                case_id=case_id,
                reviewer_id="",
                label=draft.label,
                citations=draft.citations,
                notes=draft.notes,
                confidence=draft.confidence,
                rca_reason=draft.rca_reason,
                rca_note=draft.rca_note,
                gap_kind=draft.gap_kind,
                gap_note=draft.gap_note,
            )
        self.ruling.load_draft(event)
        self.ruling.notes.setPlainText(notes)
        self.ruling.citation_field.setText(typed)

    def _outside_changed(self) -> None:
        if self.isVisible() and self.session is not None:
            self._reload_state()

    # -- keys ------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The screen's keys when the screen itself has the focus."""
        if not self._screen_key(event):
            super().keyPressEvent(event)

    def _screen_key(self, event: QKeyEvent) -> bool:
        """Run the screen's key (none of them is a grid key); whether it was one."""
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        alt = bool(mods & Qt.KeyboardModifier.AltModifier)
        if ctrl and key in _CTRL_ENTER:
            self.rule()
        elif alt and Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            if self.ruling.isVisible() and not self.ruling.select_label(key - Qt.Key.Key_0):
                self.message.emit(f"No label on key {key - Qt.Key.Key_0}", 3000)
        elif ctrl and key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            self.step_session(1 if key == Qt.Key.Key_PageDown else -1)
        elif ctrl or alt:
            return False
        elif key == Qt.Key.Key_R:
            self.reveal()
        elif key == Qt.Key.Key_N:
            self.note_draft.setFocus(Qt.FocusReason.ShortcutFocusReason)
        elif key == Qt.Key.Key_C and self.ruling.isVisible():
            self.ruling.citation_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        elif key == Qt.Key.Key_W:
            self.accept_warning()
        elif key == Qt.Key.Key_P:
            self.open_presenter()
        elif key == Qt.Key.Key_M:
            self.show_media_to_room()
        elif key == Qt.Key.Key_A:
            self.open_report()
        elif key == Qt.Key.Key_V:
            self.open_vote_page()
        elif key == Qt.Key.Key_S:
            self.ship()
        elif key == Qt.Key.Key_PageDown:
            self.next_case()
        elif key == Qt.Key.Key_PageUp:
            self.previous_case()
        elif key == Qt.Key.Key_Escape:
            self.focus_grid()
        else:
            return False
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Enter belongs to this screen (not the review's record shortcut); Esc and
        Ctrl+Enter in the note field."""
        kind = event.type()
        if watched is self.viewer.image_view and kind in _MOUSE_REVEALS:
            return True  # never revealed here
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(
            event, QKeyEvent
        ):
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            inside = isinstance(watched, QWidget) and (
                watched is self or self.isAncestorOf(watched)
            )
            if kind == QEvent.Type.ShortcutOverride:
                if inside and ctrl and event.key() in _CTRL_ENTER:
                    event.accept()  # delivered as a key press here, not as a window shortcut
                    return True
                return False
            if watched is self.note_draft:
                if ctrl and event.key() in _CTRL_ENTER:
                    self.add_note()
                    return True
                if event.key() == Qt.Key.Key_Escape:
                    self.focus_grid()
                    return True
            # The screen's keys before the scroll area takes PgUp/PgDn; never while typing.
            focus = QApplication.focusWidget()
            if inside and not isinstance(focus, _TEXT_INPUTS) and self._screen_key(event):
                return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        """Take Ctrl+Enter from the window's shortcuts while shown."""
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        """Give Ctrl+Enter back; keep the note draft."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._keep_drafts()
        self.ticker.stop()
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Leaving the app: finish the workers."""
        self.close_vote_page()
        self.close_presenter()
        if self.report_window is not None:
            self.report_window.close()
        self.loader.shutdown()
        self.writer.shutdown()
        self.reader.shutdown()
        self.renderer.shutdown()
