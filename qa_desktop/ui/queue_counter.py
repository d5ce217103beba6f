"""The queue's counts and positions, off the GUI thread.

Under a filter, counting the queue or finding a case's position in it reads as many rows as
match (a tenth of a million cases is tens of milliseconds): the queue model asks here and
goes on showing the rows it has. Each request is a :class:`~.workers.WorkspaceTask` (its own
Workspace, its own SQLite connection) in a one-thread pool, so they are answered in the order
they came, each with the generation of the model's filter it was asked under; the model drops
answers to an older generation, and a request that went stale while it waited is skipped::

    counter = QueueCounter(ws.data_dir)
    counter.answered.connect(model.take_answer)  # (generation, case id or "", result)
    counter.count(generation, QueueFilter(status="done"))
    counter.position(generation, QueueFilter(status="done"), "case-7")

A result is an int, None (the case is not in the filtered queue) or the exception the query
raised. :meth:`QueueCounter.stop` drops what still waits and waits for the request being
answered.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from ..core.api import QueueFilter
from ..core.workspace import Workspace
from .workers import TaskSignals, WorkspaceTask

log = logging.getLogger(__name__)

_STALE = object()
"""What a skipped request answers (never emitted)."""


class QueueCounter(QObject):
    """Counts the queue and finds positions in a worker thread, one request at a time."""

    answered = Signal(int, str, object)
    """(generation, case id or "" for a count, the int, None or the exception raised)."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.current = 0
        """The newest generation asked about: older requests still waiting are skipped."""
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # in the order asked
        self._signals = TaskSignals(self)
        self._signals.done.connect(self._done)
        self._signals.failed.connect(self._done)
        self._asked: dict[int, tuple[int, str]] = {}
        self._number = 0

    def count(self, generation: int, queue_filter: QueueFilter) -> None:
        """Ask how many cases pass ``queue_filter``."""
        self._ask(generation, queue_filter, "")

    def position(self, generation: int, queue_filter: QueueFilter, case_id: str) -> None:
        """Ask where ``case_id`` is in the queue under ``queue_filter``."""
        self._ask(generation, queue_filter, case_id)

    def stop(self) -> None:
        """Drop the requests still waiting; wait for the one being answered."""
        self.current += 1  # whatever still waits is stale
        self._pool.clear()
        self._pool.waitForDone()
        self._asked.clear()

    def _ask(self, generation: int, queue_filter: QueueFilter, case_id: str) -> None:
        self.current = max(self.current, generation)
        self._number += 1
        self._asked[self._number] = (generation, case_id)

        def job(ws: Workspace) -> object:
            if generation < self.current:
                return _STALE
            if case_id:
                return ws.queue.index(case_id, queue_filter)
            return ws.queue.count(queue_filter)

        self._pool.start(WorkspaceTask(self._number, self.data_dir, job, self._signals))

    def _done(self, number: int, result: object) -> None:
        asked = self._asked.pop(number, None)
        if asked is None or result is _STALE:
            return
        if isinstance(result, Exception):  # the model says so
            log.warning("counting the queue failed: %s", type(result).__name__)
        self.answered.emit(asked[0], asked[1], result)
