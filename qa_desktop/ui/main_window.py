"""The main window: a shell of menus, docks, the status bar and a stack of screens.

The screens do the work (the review loop is :class:`~qa_desktop.ui.review.ReviewScreen`;
presenter, reports and quizzes come later). Menus and single keys come from the one action
registry (:mod:`qa_desktop.ui.actions`); data changes go through one hub
(:class:`~qa_desktop.ui.changes.Changes`) that the queue, the screens and the status bar
follow. Long work runs off the GUI thread through :func:`~qa_desktop.ui.workers.run_in_background`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QEvent, QSettings, Qt, QThreadPool, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
)

from ..core.api import (
    Clock,
    ExportResult,
    Identity,
    PackError,
    QueueFilter,
    Refused,
    SyncReport,
    WrongPassphrase,
    missing_summary,
)
from ..core.workspace import Workspace
from .actions import ACTIONS, BY_ID, Action, KeyDispatcher, build_menus, keyed
from .calibration.screen import CalibrationScreen
from .changes import Changes
from .deliveries_dialog import DeliveriesDialog
from .findings_dialog import FindingsDialog
from .guideline_browser import GuidelineBrowser
from .import_dialog import choose_batch, run_import
from .plain_text import inform, show_message, warn
from .preferences_dialog import PreferencesDialog
from .quiz.screen import QuizScreen
from .reports.screen import ReportsScreen
from .review import ReviewScreen
from .shortcut_map import ShortcutMapDialog
from .signing import TrustDialog, ask_passphrase, import_summary, plural, sync_summary
from .workers import (
    START_AFTER_MS,
    IsCancelled,
    Outcome,
    Progress,
    TaskSignals,
    WorkspaceTask,
    run_in_background,
)

log = logging.getLogger(__name__)  # ids and errors only: never case text or notes

T = TypeVar("T")

OpenKey = Callable[[Workspace], Identity]
"""Gives a worker thread the signing key (opening it there: scrypt takes ~0.5 s)."""

OUTSIDE_CHANGES_MS = 1500
"""How often the window asks SQLite whether another process changed the data."""


def _meet_text_controls() -> None:
    """Let PySide meet Qt's internal text-control class now, while the window is built.

    The key filter sees every event of the application. The first event of an object whose
    class PySide has no wrapper for (a selectable label's ``QWidgetTextControl``) makes it
    build the Python types of every loaded Qt module, some 30 ms: paid here, before the
    window first shows, not as a freeze when the first case's header is set after it.
    """
    label = QLabel()
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(" ")
    label.deleteLater()


class MainWindow(QMainWindow):
    """The shell around the screens of one Workspace."""

    def __init__(
        self,
        workspace: Workspace,
        clock: Clock = time.monotonic,
        summary_on_close: bool = False,
    ) -> None:
        super().__init__()
        self.ws = workspace
        self.summary_on_close = summary_on_close
        self.clock = clock
        self.changes = Changes(self)
        self.preferences_file = QSettings(str(workspace.settings_path), QSettings.Format.IniFormat)
        self._identity: Identity | None = None
        """The signing key once opened (in a worker), kept in memory for the session."""
        self._opened: list[Identity] = []
        """What a worker's :meth:`_key_opener` opened, taken by :meth:`_unlocked`."""
        self.tasks = QThreadPool(self)
        """Non-modal queries of the window's dialogs (findings), one at a time."""
        self.tasks.setMaxThreadCount(1)
        self.task_signals = TaskSignals(self)
        self.task_signals.done.connect(self._task_done)
        self.task_signals.failed.connect(self._task_failed)
        self._task_number = 0
        self._task_handlers: dict[
            int, tuple[Callable[[object], None], Callable[[Exception], None]]
        ] = {}
        self.setWindowTitle(
            f"QA Desktop — {workspace.reviewer.display_name if workspace.reviewer else ''}"
        )

        self.status = QLabel()
        self.review: ReviewScreen = ReviewScreen(
            workspace, self.changes, self.preferences_file, clock
        )
        self.review.status_text.connect(self.status.setText)
        self.review.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.review.action_requested.connect(self.trigger)
        self.screens = QStackedWidget()
        self.screens.addWidget(self.review)
        self.reports: ReportsScreen | None = None  # made when first opened
        self.calibration: CalibrationScreen | None = None  # made when first opened
        self.quiz: QuizScreen | None = None  # made when first opened
        self.setCentralWidget(self.screens)
        # The status line speaks of the case on screen: only the review screen has one.
        self.screens.currentChanged.connect(
            lambda _index: self.status.setVisible(self.screens.currentWidget() is self.review)
        )

        self.browser = GuidelineBrowser()
        self.browser.cite_requested.connect(self.review.cite)
        self.browser.escaped.connect(self.review.leave_text_input)
        self.review.guideline_shown.connect(self.browser.set_guideline)
        self.guideline_dock = QDockWidget("Guidelines", self)
        self.guideline_dock.setObjectName("guidelines")
        self.guideline_dock.setWidget(self.browser)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.guideline_dock)
        self.guideline_dock.hide()
        # Also when the dock's own close button (or anything else) hides or shows it.
        self.guideline_dock.visibilityChanged.connect(self.review.fold_queue)

        self.statusBar().addPermanentWidget(self.status)
        self.menu_actions = build_menus(self, self.trigger)
        self.keys = KeyDispatcher(self)
        _application().installEventFilter(self.keys)
        _meet_text_controls()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # As big as the screen allows, up to 1600x950; the case gets the largest share.
        available = self.screen().availableGeometry()
        width = min(1600, available.width())
        self.resize(width, min(950, available.height()))
        self.review.set_sizes(width)
        # After the window's first paint: building the window and opening a case are two
        # blocks of the GUI thread, not one (issue 15: no stall over 50 ms at start).
        QTimer.singleShot(0, self.review, self.review.open_start_case)
        # What another process (the CLI, a second window) commits shows up here too.
        self._data_version = workspace.data_version()
        self.outside_changes = QTimer(self)
        self.outside_changes.setInterval(OUTSIDE_CHANGES_MS)
        self.outside_changes.timeout.connect(self.check_outside_changes)
        self.outside_changes.start()
        # Start with keys going to the review loop, not into the citation field.
        self.review.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    def check_outside_changes(self) -> bool:
        """Refresh everything when another process changed the data; whether it did.

        Skipped while a modal dialog runs (an import's own worker commits too, and says so
        itself when it ends); the next poll picks the change up.
        """
        if not self.ws.is_open or QApplication.activeModalWidget() is not None:
            return False
        version = self.ws.data_version()
        if version == self._data_version:
            return False
        self._data_version = version
        log.info("data changed outside this window: refreshing")
        # Not guidelines_changed: that reopens the case on screen and would drop a draft.
        self.changes.cases_changed.emit()
        return True

    def trigger(self, action: Action | str) -> None:
        """Run a registry action (by id or itself)."""
        found = BY_ID[action] if isinstance(action, str) else action
        if found.run is not None:
            found.run(self)

    def changeEvent(self, event: QEvent) -> None:
        """Losing focus (alt-tab, a dialog) never leaves content revealed."""
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.review.hold_reveal(False)
            self.review.viewer.image_view.set_revealed(self.review.case_revealed)
            if self.quiz is not None:
                self.quiz.protect()
        super().changeEvent(event)

    # -- guidelines dock -----------------------------------------------------------------------
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
            self.review.fold_queue(True)
        self.guideline_dock.setVisible(show)

    def focus_guideline_search(self) -> None:
        """Open the guideline browser with the cursor in its search field."""
        self.show_guidelines()
        self.browser.focus_search()

    # -- the reports screen ----------------------------------------------------------------------
    def show_reports(self) -> ReportsScreen:
        """Switch the stack to the reports screen (made on first use) and compute its report."""
        if self.reports is None:
            self.reports = ReportsScreen(self.ws)
            self.reports.back_requested.connect(self.show_review)
            self.reports.open_cases.connect(self.open_cases_in_queue)
            self.screens.addWidget(self.reports)
        self.screens.setCurrentWidget(self.reports)
        self.reports.open_screen()
        return self.reports

    # -- the calibration screen --------------------------------------------------------------------
    def show_calibration(self) -> CalibrationScreen:
        """Switch the stack to the calibration screen (made on first use)."""
        if self.calibration is None:
            self.calibration = CalibrationScreen(
                self.ws, self.changes, self.review.prefs, self._queue_context
            )
            self.calibration.back_requested.connect(self.show_review)
            self.calibration.ship_requested.connect(self.ship_calibration)
            self.calibration.message.connect(
                lambda text, ms: self.statusBar().showMessage(text, ms)
            )
            self.screens.addWidget(self.calibration)
        self.screens.setCurrentWidget(self.calibration)
        self.calibration.open_screen()
        return self.calibration

    def _queue_context(self) -> tuple[tuple[str, ...], QueueFilter | None]:
        """The queue's selected case and its filter (a new session's cases)."""
        case = self.review.case
        return ((case.id,) if case else ()), self.review.model.filter

    # -- the quiz screen -------------------------------------------------------------------------
    def quiz_screen(self) -> QuizScreen:
        """The quiz screen (made on first use), current in the stack."""
        if self.quiz is None:
            self.quiz = QuizScreen(
                self.ws, self.preferences_file, self.review.session_id, self.clock
            )
            self.quiz.back_requested.connect(self.show_review)
            self.screens.addWidget(self.quiz)
        self.review.protect()
        self.screens.setCurrentWidget(self.quiz)
        self.quiz.setFocus(Qt.FocusReason.OtherFocusReason)
        return self.quiz

    def show_quiz(self, quiz: str) -> QuizScreen | None:
        """Take a received quiz on the quiz screen (a refusal shows in the status bar)."""
        try:
            screen = self.quiz_screen()
            screen.open_quiz(quiz)
        except Refused as exc:
            self.show_review()
            self.statusBar().showMessage(f"Quiz: {exc}", 8000)
            return None
        return screen

    def take_quiz(self) -> None:
        """Receive a shipped quiz (.zip) or choose one already received, and take it."""
        from PySide6.QtWidgets import QFileDialog, QInputDialog

        received = [q for q in self.ws.quizzes.quizzes() if q.received_at]
        choices = [q.name for q in received] + ["Receive a quiz file…"]
        choice, ok = QInputDialog.getItem(self, "Take a quiz", "Quiz:", choices, 0, False)
        if not ok:
            return
        if choice == choices[-1]:
            path, _ = QFileDialog.getOpenFileName(self, "Receive a quiz", "", "Quiz (*.zip)")
            if not path:
                return
            try:
                choice = self.ws.quizzes.receive(Path(path)).id
            except Refused as exc:
                self.statusBar().showMessage(f"Quiz refused: {exc}", 10000)
                return
        self.show_quiz(choice)

    def send_quiz_attempts(self, passphrase: str | None = None) -> bool:
        """Send the submitted exam attempts now: a sync (in the background, like Sync now)
        with the sync folder or bucket used last, asked for when there is none."""
        waiting = self.ws.quizzes.unsent()
        if not waiting:
            self.statusBar().showMessage("No submitted quiz attempt waits to be sent", 5000)
            return False
        remembered = str(self.preferences_file.value("sync/folder", "") or "")
        target: Path | str | None = None
        if remembered:
            target = remembered if remembered.lower().startswith("s3://") else Path(remembered)
        done = self.sync_now(target, passphrase)
        if self.quiz is not None:
            self.quiz.attempts_sent(self.ws.quizzes.unsent())
        return done

    def show_quiz_results(self) -> QuizScreen:
        """The lead's table of who passed what."""
        screen = self.quiz_screen()
        screen.show_results()
        return screen

    def show_review(self) -> None:
        """Back to the review screen."""
        self.screens.setCurrentWidget(self.review)
        self.review.queue.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_cases_in_queue(self, case_ids: list[str]) -> None:
        """Show the review screen with the queue narrowed to ``case_ids`` (a report figure's)."""
        self.show_review()
        self.review.apply_filter(QueueFilter(case_ids=tuple(case_ids)))
        self.statusBar().showMessage(
            f"The queue shows the {len(case_ids)} cases behind the report figure", 5000
        )

    # -- dialogs -------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        """Show the shortcut map (every keyed action of the registry)."""
        ShortcutMapDialog(keyed(ACTIONS), self).exec()

    def show_rca_escalations(self) -> None:
        """RCA escalations grouped by the section they cite (read in the background)."""
        self._show_findings(
            "RCA escalations", lambda ws: (ws.reports.rca_escalations(), ws.reports.rca_cases())
        )

    def show_policy_gaps(self) -> None:
        """Policy gaps grouped by the section they cite (read in the background)."""
        self._show_findings(
            "Policy gaps", lambda ws: (ws.reports.policy_gaps(), ws.reports.gap_cases())
        )

    def _show_findings(self, title: str, query: Callable[[Workspace], object]) -> None:
        """Open the findings dialog at once, saying it reads; the query runs in a worker and
        fills it (keys typed meanwhile wait for the rows)."""
        dialog = FindingsDialog(title, None, self.review.open_case_by_id, self)

        def fill(result: object) -> None:
            assert isinstance(result, tuple)
            dialog.fill(*result)

        numbers: list[int] = []
        # The query starts once the dialog is up: the window under it repaints first (many
        # Python calls, each waiting for the GIL while a worker runs Python; issue 15).
        starter = QTimer(dialog)
        starter.setSingleShot(True)
        starter.timeout.connect(lambda: numbers.append(self.run_task(query, fill, dialog.failed)))
        starter.start(START_AFTER_MS)
        dialog.exec()
        starter.stop()
        for number in numbers:
            self._task_handlers.pop(number, None)  # an answer after the dialog closed is dropped
        dialog.deleteLater()

    def run_task(
        self,
        job: Callable[[Workspace], object],
        then: Callable[[object], None],
        failed: Callable[[Exception], None],
    ) -> int:
        """Run ``job`` on its own Workspace in the window's worker thread, never modal;
        ``then(result)`` or ``failed(exception)`` run back on the GUI thread. Returns the
        task's number (pop it from ``_task_handlers`` to drop its answer)."""
        self._task_number += 1
        self._task_handlers[self._task_number] = (then, failed)
        self.tasks.start(WorkspaceTask(self._task_number, self.ws.data_dir, job, self.task_signals))
        return self._task_number

    def _task_done(self, number: int, result: object) -> None:
        handlers = self._task_handlers.pop(number, None)
        if handlers is not None:
            handlers[0](result)

    def _task_failed(self, number: int, error: Exception) -> None:
        handlers = self._task_handlers.pop(number, None)
        if handlers is not None:
            handlers[1](error)

    def show_deliveries(self) -> None:
        """Per signer: the bundles received and the ones that never arrived."""
        DeliveriesDialog(self.ws.bundles.deliveries(), self).exec()

    def edit_preferences(self, dialog: PreferencesDialog | None = None) -> bool:
        """Default protection, playback and break rules, kept in settings.ini."""
        dialog = dialog or PreferencesDialog(self.review.prefs, self)
        if not dialog.exec():
            return False
        self.review.set_preferences(dialog.preferences())
        return True

    # -- imports -------------------------------------------------------------------------------
    def load_demo(self) -> bool:
        """Generate the synthetic demo batch and import it with its guideline packs.

        Generating takes a while: it runs off the GUI thread, behind a progress dialog.
        """
        outcome = run_in_background(
            self,
            "Load the demo batch",
            "Generating the synthetic demo batch and importing it…",
            self.ws.data_dir,
            _import_demo,
        )
        if outcome.cancelled:
            inform(self, "Demo batch", "Cancelled. Nothing was imported.")
            return False
        if outcome.error is not None:
            log.warning("demo load failed: %s", type(outcome.error).__name__)
            warn(self, "Demo batch not loaded", f"{outcome.error}\n\nNothing was imported.")
            return False
        self.changes.cases_changed.emit()
        self.statusBar().showMessage(f"Demo batch loaded: {outcome.result} cases added", 5000)
        return True

    def import_batch(self, path: Path | None = None, trust_unsigned: bool | None = None) -> None:
        """Choose a batch and import it with a cancellable progress dialog."""
        if path is None:
            path = choose_batch(self)
            if path is None:
                return
        if (report := run_import(self, self.ws, path, trust_unsigned)) is not None:
            log.info("imported batch %s", report.batch_id)
            self.changes.cases_changed.emit()

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
        self.changes.guidelines_changed.emit()
        return True

    # -- signing and sync -------------------------------------------------------------------------
    def _key_opener(self, passphrase: str | None = None) -> OpenKey | None:
        """How the worker about to sign gets the signing key: the one opened earlier this
        session, or opened there with ``passphrase`` (asked now if not given). scrypt takes
        ~0.5 s at its real cost, so it never runs on the GUI thread. None when there is no
        key yet or the reviewer cancelled the passphrase."""
        if not self.ws.trust.has_identity():
            inform(
                self,
                "No signing key",
                "Create your signing key first (Keys ▸ Create my signing key…): every bundle "
                "you send is signed with it.",
            )
            return None
        known = self._identity
        if known is not None and passphrase is None:
            return lambda _ws: known
        typed = passphrase or ask_passphrase(self, "Passphrase of your signing key:")
        if typed is None:
            return None
        opened = self._opened

        def open_key(ws: Workspace) -> Identity:
            identity = ws.trust.identity(typed)
            opened.append(identity)  # read back on the GUI thread once the worker ended
            return identity

        return open_key

    def _unlocked(self, outcome: Outcome[T]) -> bool:
        """After a job that opened the key: keep the key if it opened; False (and say so)
        if the passphrase was wrong."""
        if self._opened:
            self._identity = self._opened.pop()
            self._opened.clear()
        if isinstance(outcome.error, WrongPassphrase):
            self._identity = None
            warn(self, "Signing key", "Wrong passphrase: the key did not open.")
            return False
        return True

    def create_key(self, passphrase: str | None = None) -> bool:
        """Make your Ed25519 signing key, encrypted with a passphrase (in a worker: scrypt)."""
        if self.ws.trust.has_identity():
            inform(self, "Signing key", "You already have a signing key.")
            return False
        typed = passphrase or ask_passphrase(
            self, "Choose a passphrase for your new signing key:", confirm=True
        )
        if typed is None:
            return False
        outcome = run_in_background(
            self,
            "Signing key",
            "Creating your signing key…",
            self.ws.data_dir,
            lambda ws, _progress, _cancelled: ws.trust.create_identity(typed),
        )
        if outcome.error is not None or outcome.result is None:
            warn(self, "Signing key", f"The key was not created: {outcome.error}")
            return False
        self._identity = outcome.result
        self.statusBar().showMessage(f"Signing key {self._identity.key_id} created", 5000)
        return True

    def _choose_sync_target(self) -> Path | str | None:
        """Ask where to sync: an ``s3://bucket/prefix`` URL typed in, or a folder chosen."""
        remembered = str(self.preferences_file.value("sync/folder", "") or "")
        typed, ok = QInputDialog.getText(
            self,
            "Sync with",
            "An S3 bucket (s3://bucket/prefix), or leave empty to choose a folder:",
            text=remembered if remembered.lower().startswith("s3://") else "",
        )
        if not ok:
            return None
        if typed.strip():
            return typed.strip()
        chosen = QFileDialog.getExistingDirectory(
            self,
            "Sync folder (shared or cloud-synced)",
            "" if remembered.lower().startswith("s3://") else remembered or str(Path.home()),
        )
        return Path(chosen) if chosen else None

    def show_trust_store(self) -> None:
        """Trusted signers: add, revoke, export your public key."""
        TrustDialog(self.ws, self).exec()

    def sync_now(self, folder: Path | str | None = None, passphrase: str | None = None) -> bool:
        """Send your new verdicts to the sync folder (or S3 bucket) and take everyone else's."""
        open_key = self._key_opener(passphrase)
        if open_key is None:
            return False
        if folder is None:
            folder = self._choose_sync_target()
            if folder is None:
                return False
        self.preferences_file.setValue("sync/folder", str(folder))
        target = folder if isinstance(folder, Path) else str(folder)

        def job(ws: Workspace, progress: Progress, cancelled: IsCancelled) -> SyncReport:
            # s3:// endpoint and credentials: AWS_ENDPOINT_URL, AWS_PROFILE, ~/.aws/config
            return ws.sync.to(open_key(ws), target, progress=progress, cancelled=cancelled)

        outcome = run_in_background(self, "Sync", f"Syncing with {folder}…", self.ws.data_dir, job)
        if not self._unlocked(outcome):
            return False
        if outcome.cancelled:
            self.changes.cases_changed.emit()  # whatever was taken before the cancel stays
            inform(self, "Sync", "Sync cancelled. What was already exchanged is kept whole.")
            return False
        if outcome.error is not None or outcome.result is None:
            log.warning("sync failed: %s", type(outcome.error).__name__)
            warn(self, "Sync failed", f"{outcome.error}\n\nNothing was half-written.")
            return False
        self.changes.cases_changed.emit()
        report = outcome.result
        text, details = sync_summary(report)
        gaps = missing_summary(self.ws.bundles.deliveries())
        text = f"{text}\n{gaps}" if gaps else text
        if not report.untrusted:
            inform(self, "Sync", text, details)
            return True
        dismiss = "Dismiss these signers"
        pressed = show_message(
            self,
            QMessageBox.Icon.Information,
            "Sync",
            text,
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Ignore,
            details,
            labels={QMessageBox.StandardButton.Ignore: dismiss},
        )
        if pressed == QMessageBox.StandardButton.Ignore:
            for signer in report.untrusted:
                self.ws.sync.dismiss_signer(signer.key_id)
            self.statusBar().showMessage(
                f"Dismissed {plural(len(report.untrusted), 'signer')}: trust a key to take"
                " its bundles",
                5000,
            )
        return True

    def export_bundle(
        self,
        folder: Path | None = None,
        passphrase: str | None = None,
        evidence: list[Path] | None = None,
        ask_evidence: bool = False,
    ) -> bool:
        """Write your new verdicts (and any ``evidence`` files) as one signed bundle."""
        open_key = self._key_opener(passphrase)
        if open_key is None:
            return False
        if ask_evidence and evidence is None:
            chosen_files, _ = QFileDialog.getOpenFileNames(
                self,
                "Evidence files to attach (stored in the bundle as they are)",
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

        def export(
            ws: Workspace, _progress: Progress, cancelled: IsCancelled
        ) -> ExportResult | None:
            return ws.bundles.export(open_key(ws), target, evidence=attached, cancelled=cancelled)

        outcome = run_in_background(
            self,
            "Export",
            f"Signing and writing the bundle into {folder}…",
            self.ws.data_dir,
            export,
        )
        if not self._unlocked(outcome):
            return False
        if outcome.cancelled:
            inform(self, "Export", "Export cancelled. Nothing was written.")
            return False
        if outcome.error is not None:
            log.warning("export failed: %s", type(outcome.error).__name__)
            warn(self, "Not exported", f"{outcome.error}\n\nNothing was written.")
            return False
        exported = outcome.result
        log.info("exported bundle %s", exported.path.name if exported else "(nothing new)")
        files = f" and {plural(len(evidence), 'evidence file')}" if exported and evidence else ""
        inform(
            self,
            "Export",
            f"Wrote {plural(exported.event_count, 'event')}{files} to {exported.path}"
            if exported
            else "Nothing new to export: every verdict of yours is in an earlier bundle"
            + (" (evidence files travel with new verdicts)." if evidence else "."),
        )
        return exported is not None

    def ship_calibration(
        self, session_id: str, folder: Path | None = None, passphrase: str | None = None
    ) -> Path | None:
        """Ship an async calibration session to its participants: a case batch of its cases
        with the session inside, signed with your key; the .zip written (None: not shipped)."""
        open_key = self._key_opener(passphrase)
        if open_key is None:
            return None
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(
                self, "Write the session for participants into", str(Path.home())
            )
            if not chosen:
                return None
            folder = Path(chosen)
        target = folder

        def ship(ws: Workspace, _progress: Progress, _cancelled: IsCancelled) -> Path:
            return ws.calibration.ship(session_id, open_key(ws), target)

        outcome = run_in_background(
            self, "Ship", f"Signing the session into {folder}…", self.ws.data_dir, ship
        )
        if not self._unlocked(outcome):
            return None
        if outcome.error is not None:
            warn(self, "Not shipped", f"{outcome.error}\n\nNothing was written.")
            return None
        path = outcome.result
        inform(
            self,
            "Shipped",
            f"Wrote {path}.\n\nParticipants import it (File ▸ Import), vote on their own "
            "laptops and send their votes back by sync or bundle export.",
        )
        return path

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
        outcome = run_in_background(
            self,
            "Import bundles",
            f"Verifying and merging {len(paths)} bundle file(s)…",
            self.ws.data_dir,
            lambda ws, progress, cancelled: ws.bundles.import_files(
                chosen_paths, progress, cancelled
            ),
        )
        if outcome.error is not None or outcome.result is None:
            log.warning("bundle import failed: %s", type(outcome.error).__name__)
            warn(self, "Import failed", f"{outcome.error}\n\nNothing was half-written.")
            return False
        reports = outcome.result
        self.changes.cases_changed.emit()
        text, details = import_summary(reports)
        if len(reports) < len(paths):
            text += (
                f"\nCancelled after {len(reports)} of {len(paths)} files: each was"
                " imported whole; import the rest again."
            )
        inform(self, "Import bundles", text, details)
        return len(reports) == len(paths) and all(not r.refused for r in reports)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop listening for keys, end the review session (its summary if asked)."""
        _application().removeEventFilter(self.keys)
        self.outside_changes.stop()
        if self.calibration is not None:
            self.calibration.shutdown()

        if self.quiz is not None:
            self.quiz.shutdown()
        self.review.shutdown(self.summary_on_close)
        super().closeEvent(event)


def _import_demo(ws: Workspace, progress: Progress, cancelled: IsCancelled) -> int:
    """The demo packs and a freshly generated demo batch, imported (a worker's job).

    The generated files are only the import's source: the media store keeps its own copy.
    """
    from ..demo import DEMO_PACKS, generate_demo_batch

    ws.guidelines.import_packs(DEMO_PACKS)
    with tempfile.TemporaryDirectory(prefix="qa-demo-") as tmp:
        batch = generate_demo_batch(Path(tmp) / "demo-batch")
        return ws.batches.import_batch(batch, progress, cancelled).cases_added


def _application() -> QApplication:
    """The running QApplication (a MainWindow only exists inside one)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app
