"""Signing key, trusted signers, and syncing signed bundles, from the GUI.

The passphrase is asked when the key is needed and kept in memory for the session only.
Sync, export and import run off the GUI thread with progress and cancel; every refusal is
reported with its reason (and the refused file is in the quarantine folder).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    BundleImportReport,
    KeyFormatError,
    NoIdentity,
    SyncReport,
    TrustError,
    display_text,
    distinct_names,
    untrusted_summary,
)
from ..core.workspace import Workspace
from .advice import advice
from .plain_text import ask, inform, warn
from .tables import fill_table, read_only_table

ROLES = ("reviewer", "lead", "issuer")


def ask_passphrase(parent: QWidget, prompt: str, confirm: bool = False) -> str | None:
    """A passphrase typed twice when ``confirm`` (a new key); None if cancelled or empty."""
    first, ok = QInputDialog.getText(parent, "Signing key", prompt, QLineEdit.EchoMode.Password)
    if not ok or not first:
        return None
    if confirm:
        again, ok = QInputDialog.getText(
            parent, "Signing key", "Type the passphrase again:", QLineEdit.EchoMode.Password
        )
        if not ok:
            return None
        if again != first:
            warn(parent, "Signing key", "The two passphrases differ. Try again.")
            return None
    return first


MAX_NAMES = 5
"""Refused file names listed per reason in a report's main text (all are in the details)."""


def plural(n: int, thing: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def report_lines(reports: list[BundleImportReport]) -> list[str]:
    """One line per bundle: what it added, or why it was refused."""
    lines = []
    for r in reports:
        if r.refused:
            lines.append(f"REFUSED {r.name}: {r.refused_reason} — {r.refused_message}")
        else:
            lines.append(
                f"{r.name}: {plural(r.new_events, 'new event')}, {r.already_known} already known"
                + (f" (signed by {r.signer})" if r.signer else "")
            )
    return lines


def refusal_lines(reports: list[BundleImportReport]) -> list[str]:
    """The refused bundles grouped by reason: the reason, what to do, and (some) file names."""
    by_reason: dict[str, list[str]] = {}
    for r in reports:
        if r.refused:
            by_reason.setdefault(r.refused_reason or "", []).append(r.name)
    lines = []
    for reason, names in sorted(by_reason.items()):
        shown = ", ".join(names[:MAX_NAMES])
        more = f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
        lines.append(f"REFUSED ({reason}): {shown}{more}")
        lines.append(f"    What to do: {advice(reason)}")
    if lines:
        lines.append("Refused files are in the quarantine folder, each with its reason.")
    return lines


def import_summary(reports: list[BundleImportReport]) -> tuple[str, str]:
    """(main text, details) for an import of bundle files."""
    accepted = [r for r in reports if not r.refused]
    text = [
        f"Imported {plural(len(accepted), 'bundle')}:"
        f" {plural(sum(r.new_events for r in accepted), 'new event')},"
        f" {sum(r.already_known for r in accepted)} already known."
    ]
    return "\n".join(text + refusal_lines(reports)), "\n".join(report_lines(reports))


def sync_summary(report: SyncReport) -> tuple[str, str]:
    """(main text, details) of a sync for the reviewer."""
    exported = (
        f"Sent {plural(report.exported.event_count, 'event')} of yours as"
        f" {report.exported.path.name}."
        if report.exported
        else "Nothing new of yours to send."
    )
    lines = [
        exported,
        f"Received {plural(report.new_events, 'new event')} from"
        f" {plural(len(report.imported), 'bundle')}.",
    ]
    if report.attempts_sent:
        lines.append(f"Sent {plural(report.attempts_sent, 'quiz attempt')} to your lead.")
    if report.attempts_received:
        lines.append(
            f"Received {plural(report.attempts_received, 'quiz attempt')} to score"
            " (Reports ▸ Quiz results)."
        )
    if report.skipped_seen:
        lines.append(f"{plural(report.skipped_seen, 'bundle')} had been delivered before.")
    waiting = untrusted_summary(report.untrusted, "Keys ▸ Trusted signers…")
    if waiting:
        lines.append(waiting + ", or dismiss them to stop hearing about them.")
    lines += refusal_lines(report.refused)
    if report.cancelled:
        lines.append("Cancelled: every bundle was imported whole or not at all.")
    details = report_lines(report.imported + report.refused)
    details += [
        f"NOT TRUSTED {name}: signed by key {signer.key_id}"
        for signer in report.untrusted
        for name in signer.names
    ]
    if report.dismissed:
        details.append(f"{plural(report.dismissed, 'bundle')} from dismissed signers left alone.")
    return "\n".join(lines), "\n".join(details)


class TrustDialog(QDialog):
    """The trust store: who may sign what, with add, revoke and export of your own key."""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Trusted signers")
        self.table = read_only_table(
            ["Signer", "Role", "Key id", "Signs for reviewer", "Added", "Revoked"], [], self
        )
        self.mine = QLabel()
        add = QPushButton("Trust a public key…")
        add.clicked.connect(lambda: self.add_key())
        revoke = QPushButton("Revoke selected")
        revoke.clicked.connect(lambda: self.revoke_selected())
        remove = QPushButton("Remove selected")
        remove.clicked.connect(lambda: self.remove_selected())
        export = QPushButton("Export my public key…")
        export.clicked.connect(lambda: self.export_mine())
        row = QHBoxLayout()
        for button in (add, revoke, remove, export):
            row.addWidget(button)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.mine)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(820, 380)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the trust store."""
        try:
            mine = self.ws.trust.public_key()
            self.mine.setText(f"Your signing key: <b>{mine.key_id}</b>")
        except NoIdentity:
            self.mine.setText("You have no signing key yet: <i>Keys ▸ Create my signing key…</i>")
        trusted = self.ws.trust.trusted_keys()
        shown = distinct_names([(k.key_id, k.signer_name) for k in trusted])
        fill_table(
            self.table,
            [
                (
                    shown[k.key_id],
                    k.role,
                    display_text(k.key_id),
                    (k.reviewer_id and display_text(k.reviewer_id)) or "",
                    k.added_at[:19],
                    (k.revoked_at or "")[:19],
                )
                for k in trusted
            ],
        )

    def add_key(
        self,
        path: Path | None = None,
        name: str = "",
        role: str = "",
        reviewer_id: str = "",
        confirm: bool = True,
    ) -> bool:
        """Trust the minisign public key in a file (asking for the file, name, role and, for
        a reviewer or lead key, the reviewer id it signs for), after showing the key id and
        the binding and asking to confirm them (unless ``confirm`` is False)."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Trust a public key", str(Path.home()), "Public keys (*.pub);;All (*)"
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            public_key = self.ws.trust.read_public_key(path)
        except KeyFormatError as exc:
            warn(self, "Not trusted", str(exc))
            return False
        key_id = display_text(public_key.key_id)
        if not name:
            name, ok = QInputDialog.getText(
                self,
                "Trust a public key",
                f"Key id {key_id}: compare it with the signer (phone, in person).\nSigner's name:",
            )
            if not ok or not name.strip():
                return False
        if not role:
            role, ok = QInputDialog.getItem(self, "Trust a public key", "Role:", ROLES, 0, False)
            if not ok:
                return False
        if role != "issuer" and not reviewer_id:
            # The file's comment is not signed: it is offered as a suggestion, to be confirmed.
            suggested = public_key.suggested_reviewer_id or ""
            reviewer_id, ok = QInputDialog.getText(
                self,
                "Trust a public key",
                f"Key id {key_id} signs verdicts for one reviewer id. Ask the signer for it"
                " (the file suggests the one below, but anyone could have written it).\n"
                "Reviewer id:",
                QLineEdit.EchoMode.Normal,
                display_text(suggested),
            )
            if not ok or not reviewer_id.strip():
                return False
        binding = (
            f"signs for reviewer {display_text(reviewer_id.strip())}"
            if role != "issuer"
            else "signs case batches"
        )
        if confirm and not ask(
            self,
            "Trust a public key",
            f"Trust key {key_id} as {display_text(name.strip())} ({role}): it {binding}."
            "\n\nOnly if the signer confirmed this key id to you.",
        ):
            return False
        try:
            self.ws.trust.trust(
                public_key, name.strip(), role, reviewer_id.strip() if role != "issuer" else None
            )
        except TrustError as exc:
            warn(self, "Not trusted", str(exc))
            return False
        self.refresh()
        return True

    def revoke_selected(self, confirm: bool = True) -> bool:
        """Revoke the selected key: its new bundles are refused, what it sent stays."""
        row = self.table.currentRow()
        if row < 0:
            return False
        key_id = self._cell(row, 2)
        if confirm and not ask(
            self, "Revoke", f"Revoke key {key_id}? Its new bundles will be refused."
        ):
            return False
        self.ws.trust.revoke(key_id)
        self.refresh()
        return True

    def remove_selected(self, confirm: bool = True) -> bool:
        """Forget the selected key (trusted by mistake); what it sent stays."""
        row = self.table.currentRow()
        if row < 0:
            return False
        key_id = self._cell(row, 2)
        if confirm and not ask(
            self,
            "Remove",
            f"Forget key {key_id}? Its bundles will be refused as from an unknown signer until"
            " you trust it again; what it sent stays. To refuse it for good, revoke it instead.",
        ):
            return False
        try:
            self.ws.trust.remove(key_id)
        except TrustError as exc:
            warn(self, "Not removed", str(exc))
            return False
        self.refresh()
        return True

    def export_mine(self, path: Path | None = None) -> Path | None:
        """Write your public key in minisign's format, for others to trust."""
        try:
            text = self.ws.trust.public_key().to_minisign()
        except NoIdentity:
            inform(self, "No key", "Create your signing key first.")
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export my public key", str(Path.home() / "qa-desktop.pub"), "*.pub"
            )
            if not chosen:
                return None
            path = Path(chosen)
        path.write_text(text, encoding="utf-8")
        return path

    def _cell(self, row: int, column: int) -> str:
        """The text of one cell of the trust-store table."""
        item = self.table.item(row, column)
        return item.text() if item is not None else ""
