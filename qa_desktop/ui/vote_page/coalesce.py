"""One refresh per window of time for a stream of states: the GUI thread need not redraw
for every vote a room sends.

A room of 50 voting at once makes the page's thread push a state after each burst it
serves; each one, delivered to the GUI thread, would refresh the laptop's screen and the
presenter. :class:`Latest` passes the first state at once, then at most one state per
``window_ms``: the newest one, so the last state always arrives and nothing shown is stale
for longer than the window. States are complete (counts, not increments), so skipping the
ones in between loses nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

WINDOW_MS = 50
"""At most one state this often (20 a second: quicker than anyone reads a count)."""


class Latest(QObject):
    """Coalesces :meth:`put` calls into :attr:`delivered` signals (see the module)."""

    delivered = Signal(dict)

    def __init__(self, window_ms: int = WINDOW_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._held: dict[str, Any] | None = None
        self._window = QTimer(self)
        self._window.setSingleShot(True)
        self._window.setInterval(window_ms)
        self._window.timeout.connect(self._window_over)

    @property
    def holding(self) -> bool:
        """True while a state waits for the window to end."""
        return self._held is not None

    @Slot(dict)
    def put(self, state: dict[str, Any]) -> None:
        """A new state: delivered now if the window is over, else held (replacing any held
        one) until it is."""
        if self._window.isActive():
            self._held = state
            return
        self._window.start()
        self.delivered.emit(state)

    def flush(self) -> None:
        """Deliver a held state now (the page stops: its last count still shows)."""
        self._window.stop()
        held, self._held = self._held, None
        if held is not None:
            self.delivered.emit(held)

    def _window_over(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._window.start()
            self.delivered.emit(held)
