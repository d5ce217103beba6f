"""The protection bar above the content: this case's filters, always visible, each a key.

Every button says its key; the keys work without touching the mouse. Changes apply to the
case on screen only; *View ▸ Keep these filters as my defaults* makes them the reviewer's own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QToolButton, QWidget

from ..core.api import (
    FilterSettings,
)
from .flow_layout import FlowLayout

TRANSPARENCY_STEPS = (0.0, 0.3, 0.6)


class ProtectionBar(QWidget):
    """Emits ``action(id)``: the id of the registry action (ui/actions.py) a button runs."""

    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = FlowLayout(self)  # wraps onto a second row in a narrow window
        self.buttons: dict[str, QToolButton] = {}
        for name, text, tip in (
            ("weaker_blur", "−", "Weaker blur ( [ )"),
            ("stronger_blur", "+", "Stronger blur ( ] )"),
            ("toggle_pixelate", "Pixelate X", "Blur or pixelate (X)"),
            ("toggle_grayscale", "Gray G", "Grayscale (G)"),
            ("toggle_sepia", "Sepia E", "Sepia (E)"),
            ("cycle_transparency", "Fade O", "Fade toward the background (O)"),
            ("toggle_reduced_detail", "Illustrate D", "Reduced detail: an illustration (D)"),
            ("toggle_case_reveal", "Reveal case T", "Reveal this case until you leave it (T)"),
            ("toggle_mute", "Muted M", "Sound of this video (M); muted on every new case"),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setCheckable(name not in ("weaker_blur", "stronger_blur", "cycle_transparency"))
            button.clicked.connect(lambda _checked=False, n=name: self.action.emit(n))
            self.buttons[name] = button
            if name == "toggle_pixelate":
                self.blur_label = QLabel()
                layout.addWidget(self.blur_label)
            layout.addWidget(button)
        self.blur_label.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        self.blur_label.setMinimumHeight(self.buttons["toggle_pixelate"].sizeHint().height())

    def show_state(
        self, filters: FilterSettings, case_revealed: bool, muted: bool, video: bool
    ) -> None:
        """Reflect the filters and reveal state of the case on screen."""
        kind = "Pixelate" if filters.blur_kind == "pixelate" else "Blur"
        self.blur_label.setText(f"{kind} {filters.blur_level}/10")
        checks = {
            "toggle_pixelate": filters.blur_kind == "pixelate",
            "toggle_grayscale": filters.grayscale,
            "toggle_sepia": filters.sepia,
            "toggle_reduced_detail": filters.reduced_detail,
            "toggle_case_reveal": case_revealed,
            "toggle_mute": muted,
        }
        for name, on in checks.items():
            self.buttons[name].setChecked(on)
        self.buttons["cycle_transparency"].setText(f"Fade {round(filters.transparency * 100)}% O")
        self.buttons["toggle_mute"].setText("Muted M" if muted else "Sound on M")
        self.buttons["toggle_mute"].setVisible(video)
        reveal = self.buttons["toggle_case_reveal"]
        reveal.setStyleSheet("background: #c83228; color: white;" if case_revealed else "")
