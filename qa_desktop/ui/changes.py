"""One hub for "the data changed" signals, so every view refreshes itself.

Whoever changes the data (record, undo, import, sync) says so once; the queue model, the
status bar and the screens listen::

    changes.verdicts_changed.emit(["case-1"])   # after recording on case-1
    changes.cases_changed.emit()                # after an import or a sync
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Changes(QObject):
    """The app's change signals (one instance, owned by the main window)."""

    verdicts_changed = Signal(list)
    """Verdicts on these case ids were recorded or undone here."""
    cases_changed = Signal()
    """Cases or events arrived from outside (a batch, bundles, a sync): reload everything."""
    guidelines_changed = Signal()
    """A guideline pack was imported: the case on screen may cite other sections now."""
    filters_changed = Signal()
    """The protection filters or the reveal state of the case on screen changed."""

    def verdicts(self, *case_ids: str) -> None:
        """Say that the verdicts on ``case_ids`` changed."""
        self.verdicts_changed.emit(list(case_ids))
