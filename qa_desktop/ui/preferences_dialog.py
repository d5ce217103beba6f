"""The reviewer's wellbeing preferences: default protection, playback, break rules."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ..core.api import (
    ConsecutiveSevereRule,
    FilterSettings,
    Preferences,
    SessionTimeRule,
    SevereExposureRule,
)

_Rule = TypeVar("_Rule", SessionTimeRule, SevereExposureRule, ConsecutiveSevereRule)


def _rule(preferences: Preferences, kind: type[_Rule]) -> _Rule | None:
    return next((r for r in preferences.break_rules if isinstance(r, kind)), None)


class PreferencesDialog(QDialog):
    """A form over :class:`Preferences`; ``preferences()`` gives what it shows."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Wellbeing preferences")
        self.original = preferences
        f = preferences.filters
        self.blur_kind = QComboBox()
        for kind, text in (("gaussian", "blur"), ("pixelate", "pixelate")):
            self.blur_kind.addItem(text, kind)
        self.blur_kind.setCurrentIndex(max(0, self.blur_kind.findData(f.blur_kind)))
        self.blur_level = QSpinBox()
        self.blur_level.setRange(1, 10)
        self.blur_level.setValue(f.blur_level)
        self.grayscale = QCheckBox("grayscale")
        self.grayscale.setChecked(f.grayscale)
        self.warning_tags = QLineEdit(", ".join(sorted(preferences.warning_screen_tags)))
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.5, 2.0)
        self.speed.setSingleStep(0.25)
        self.speed.setValue(preferences.playback_speed)
        self.jump = QDoubleSpinBox()
        self.jump.setRange(1, 120)
        self.jump.setValue(preferences.jump_seconds)
        session = _rule(preferences, SessionTimeRule)
        severe = _rule(preferences, SevereExposureRule)
        streak = _rule(preferences, ConsecutiveSevereRule)
        self.session_minutes = QSpinBox()
        self.session_minutes.setRange(0, 600)
        self.session_minutes.setSpecialValueText("never")
        self.session_minutes.setValue(int(session.minutes) if session else 0)
        self.severe_seconds = QSpinBox()
        self.severe_seconds.setRange(0, 3600)
        self.severe_seconds.setSpecialValueText("never")
        self.severe_seconds.setValue(int(severe.seconds) if severe else 0)
        self.severe_window = QSpinBox()
        self.severe_window.setRange(1, 240)
        self.severe_window.setValue(int(severe.window_minutes) if severe else 15)
        self.streak = QSpinBox()
        self.streak.setRange(0, 500)
        self.streak.setSpecialValueText("never")
        self.streak.setValue(int(streak.cases) if streak else 0)
        form = QFormLayout(self)
        form.addRow("Default protection", self.blur_kind)
        form.addRow("Default strength (1–10)", self.blur_level)
        form.addRow("", self.grayscale)
        form.addRow("Warning screen for tags", self.warning_tags)
        form.addRow("Default playback speed", self.speed)
        form.addRow("Jump (seconds)", self.jump)
        form.addRow("Break after minutes of reviewing", self.session_minutes)
        form.addRow("Break after seconds of severe content unblurred…", self.severe_seconds)
        form.addRow("…within the last minutes", self.severe_window)
        form.addRow("Break after severe cases in a row", self.streak)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        """The preferences as the form shows them (harm-type overrides are kept)."""
        filters = replace(
            self.original.filters or FilterSettings(),
            blur_kind=str(self.blur_kind.currentData()),
            blur_level=self.blur_level.value(),
            grayscale=self.grayscale.isChecked(),
        )
        rules: list[SessionTimeRule | SevereExposureRule | ConsecutiveSevereRule] = []
        if self.session_minutes.value():
            rules.append(SessionTimeRule(minutes=self.session_minutes.value()))
        if self.severe_seconds.value():
            rules.append(
                SevereExposureRule(
                    seconds=self.severe_seconds.value(),
                    window_minutes=self.severe_window.value(),
                )
            )
        if self.streak.value():
            rules.append(ConsecutiveSevereRule(cases=self.streak.value()))
        words = self.warning_tags.text().split(",")
        tags = frozenset(t.strip().lower() for t in words if t.strip())
        return replace(
            self.original,
            filters=filters,
            warning_screen_tags=tags,
            playback_speed=self.speed.value(),
            jump_seconds=self.jump.value(),
            break_rules=tuple(rules),
        )
