"""The reviewer's protection and playback preferences, kept in the data dir's settings.ini."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from ...core.api import Preferences

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
