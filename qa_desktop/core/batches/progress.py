"""Progress of an import: ``progress(done, total)`` now and then, and cancel polling."""

from __future__ import annotations

import time
from collections.abc import Callable

from .problems import ImportCancelled


class _Progress:
    """Reports ``progress(done, total)`` now and then (not on every unit) and polls cancel."""

    def __init__(
        self, report: Callable[[int, int], None] | None, cancelled: Callable[[], bool] | None
    ) -> None:
        self._report = report
        self._cancelled = cancelled
        self.total = 0
        self.done = 0
        self._reported_done = 0
        self._reported_at = 0.0
        self._step = 1

    def start(self, total: int) -> None:
        self.total = total
        self._step = max(1, total // 200)
        self._emit()

    def advance(self, units: int) -> None:
        self.done += units
        if (
            self.done - self._reported_done >= self._step
            or time.monotonic() - self._reported_at >= 0.2
        ):
            self._emit()

    def check_cancelled(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ImportCancelled("import cancelled; nothing was imported")

    def finish(self) -> None:
        self.done = self.total
        if self._reported_done != self.total:
            self._emit()

    def _emit(self) -> None:
        self._reported_done, self._reported_at = self.done, time.monotonic()
        if self._report is not None:
            self._report(min(self.done, self.total), self.total)
