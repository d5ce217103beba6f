"""Reports ▸ Bundles received: per signer, what arrived and which bundles are missing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    SignerDeliveries,
    distinct_names,
    format_ranges,
    missing_summary,
)
from .tables import read_only_table

COLUMNS = ("Signer", "Role", "Key id", "Bundles", "Events", "Last seq", "Missing", "Last (UTC)")
MISSING_COLOUR = QColor(190, 90, 0)


class DeliveriesDialog(QDialog):
    """A read-only table of :class:`SignerDeliveries`, signers with gaps first."""

    def __init__(self, rows: list[SignerDeliveries], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Bundles received")
        names = distinct_names([(d.key_id, d.signer_name) for d in rows])
        cells = [
            (
                names[d.key_id],
                "you (sent)" if d.own else d.role + (", revoked" if d.revoked else ""),
                d.key_id,
                str(d.bundles),
                str(d.items),
                str(d.last_seq or ""),
                format_ranges(d.missing),
                (d.last_at or "")[:16],
            )
            for d in rows
        ]
        self.table = read_only_table(COLUMNS, cells, self)
        for r, d in enumerate(rows):
            for c in range(len(COLUMNS) if d.missing else 0):
                item = self.table.item(r, c)
                if item is not None:
                    item.setForeground(MISSING_COLOUR)
        gaps = missing_summary(rows)
        self.summary = QLabel(
            gaps or "Nothing is missing: every signer's bundles arrived up to the last one seen."
        )
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # signer names are outside text
        self.summary.setWordWrap(True)
        explanation = QLabel(
            "Each export takes its signer's next sequence number, so a number below the last "
            "one seen that never arrived is a bundle that did not reach you."
        )
        explanation.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(explanation)
        layout.addWidget(buttons)
        self.resize(900, 420)
