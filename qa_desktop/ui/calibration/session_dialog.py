"""The dialog that makes a calibration session: its cases, people, mode and reveal setting.

The cases come one way: the cases selected in the queue, the cases the queue's filter lets
through, a saved view or a batch. Participants are known reviewers ticked in a list and/or
names typed for the room. The session is created by core (in a worker thread: a view or a
batch is a query over many cases); a refusal is shown in the dialog, which keeps every field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.api import CALIBRATION_MODES, QADesktopError, QueueFilter
from ...core.workspace import Workspace

MAX_CASES = 500
"""Most cases a session holds (core refuses more; a bigger source is cut one past it)."""


@dataclass(frozen=True)
class SessionRequest:
    """What the dialog asks core to create."""

    name: str
    source: tuple[str, object]
    """("cases", ids), ("filter", QueueFilter), ("view", name) or ("batch", id)."""
    participants: tuple[str, ...]
    mode: str
    anonymous: bool
    market: str | None = None


def create_from(ws: Workspace, request: SessionRequest) -> str:
    """Create the session ``request`` describes in ``ws``; its id (runs in a worker)."""
    kind, value = request.source
    common = {
        "participants": list(request.participants),
        "mode": request.mode,
        "anonymous": request.anonymous,
        "market": request.market,
    }
    if kind == "cases":
        assert isinstance(value, tuple)
        session = ws.calibration.create(request.name, cases=list(value), **common)  # type: ignore[arg-type]
    elif kind == "filter":
        assert isinstance(value, QueueFilter)
        rows = ws.queue.page(filter=value, limit=MAX_CASES + 1)
        ids = [r.id for r in rows]
        session = ws.calibration.create(request.name, cases=ids, **common)  # type: ignore[arg-type]
    elif kind == "view":
        session = ws.calibration.create(request.name, view=str(value), **common)  # type: ignore[arg-type]
    else:
        session = ws.calibration.create(request.name, batch_id=str(value), **common)  # type: ignore[arg-type]
    return session.id


class SessionDialog(QDialog):
    """Name, cases, pack (shown), participants, mode, anonymous reveal."""

    def __init__(
        self,
        ws: Workspace,
        selected: tuple[str, ...] = (),
        queue_filter: QueueFilter | None = None,
        parent: QWidget | None = None,
        create: Callable[[SessionRequest], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self._create = create
        self.session_id: str | None = None
        """The session made (after the dialog was accepted)."""
        self.setWindowTitle("New calibration session")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. DE weekly, week 46")
        self.source = QComboBox()
        if selected:
            count = len(selected)
            what = "case" if count == 1 else "cases"
            self.source.addItem(f"Selected in the queue ({count} {what})", ("cases", selected))
        if queue_filter is not None:
            self.source.addItem("The cases the queue's filter shows", ("filter", queue_filter))
        for view, _filter in ws.queue.saved_views():
            self.source.addItem(f"Saved view: {view}", ("view", view))
        for batch_id, batch_name in ws.queue.batch_names().items():
            self.source.addItem(f"Batch: {batch_name}", ("batch", batch_id))
        self.source.currentIndexChanged.connect(self._show_pack)
        self.pack = QLabel()
        self.pack.setTextFormat(Qt.TextFormat.PlainText)
        self.market = QLineEdit()
        self.market.setPlaceholderText("(the cases' market)")
        self.known = QListWidget()
        self.known.setMaximumHeight(120)
        for name in self._known_names():
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.known.addItem(item)
        self.typed = QLineEdit()
        self.typed.setPlaceholderText("Names for the room, separated by commas")
        self.mode = QComboBox()
        for mode in CALIBRATION_MODES:
            self.mode.addItem(
                {"live": "Live: one room", "async": "Async: on each laptop"}.get(mode, mode), mode
            )
        self.anonymous = QCheckBox("Anonymous reveal (Voter 1, Voter 2… instead of names)")
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("background:#fde2e1; color:#8a1c13; padding:3px")
        self.problem.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create session")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Cases", self.source)
        form.addRow("Guideline pack", self.pack)
        form.addRow("Market", self.market)
        form.addRow("Known reviewers", self.known)
        form.addRow("Other participants", self.typed)
        form.addRow("Mode", self.mode)
        form.addRow("", self.anonymous)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self._show_pack()

    def _known_names(self) -> list[str]:
        names = set(self.ws.verdicts.reviewer_names().values())
        names.update(
            k.signer_name for k in self.ws.trust.trusted_keys() if k.reviewer_id and not k.revoked
        )
        return sorted(names, key=str.casefold)

    def _show_pack(self) -> None:
        """The guideline pack of the chosen cases (their votes are on its labels)."""
        data = self.source.currentData()
        first: str | None = None
        if data is not None:
            kind, value = data
            if kind == "cases":
                first = value[0] if value else None
            else:
                found = (
                    value
                    if kind == "filter"
                    else dict(self.ws.queue.saved_views()).get(str(value))
                    if kind == "view"
                    else QueueFilter(batch_id=str(value))
                )
                rows = self.ws.queue.page(filter=found, limit=1)
                first = rows[0].id if rows else None
        case = self.ws.queue.case(first) if first else None
        self.pack.setText(
            f"{case.pack_id} {case.pack_version} (votes are on its labels)"
            if case
            else "(no cases)"
        )

    def request(self) -> SessionRequest | None:
        """What to create, or None (the problem shown) when the form is incomplete."""
        people = [
            self.known.item(i).text()
            for i in range(self.known.count())
            if self.known.item(i).checkState() == Qt.CheckState.Checked
        ]
        people += [n.strip() for n in self.typed.text().split(",") if n.strip()]
        data = self.source.currentData()
        if data is None:
            self.show_problem("No cases to calibrate: select cases in the queue or import a batch")
            return None
        return SessionRequest(
            name=self.name.text().strip(),
            source=data,
            participants=tuple(people),
            mode=str(self.mode.currentData()),
            anonymous=self.anonymous.isChecked(),
            market=self.market.text().strip() or None,
        )

    def accept(self) -> None:
        """Create the session; on a refusal say why and stay open with the fields kept.

        ``create`` returns the new session's id, or raises with the reason to show."""
        request = self.request()
        if request is None or self._create is None:
            return
        try:
            self.session_id = self._create(request)
        except (QADesktopError, ValueError) as exc:  # shown; the fields stay as typed
            self.show_problem(f"Not created: {exc}")
            return
        super().accept()

    def show_problem(self, text: str) -> None:
        """Say why the session was not created (the fields stay as typed)."""
        self.problem.setText(text)
        self.problem.show()
