"""The queue's counts and positions, off the GUI thread.

Under a filter, counting the queue or finding a case's position in it reads as many rows as
match (a tenth of a million cases is tens of milliseconds): the queue model asks here and
goes on showing the rows it has. One worker thread holds its own Workspace (its own SQLite
connection) and answers the requests in the order they came, each with the generation of
the model's filter it was asked under; the model drops answers to an older generation, and
the worker skips requests that went stale while they waited::

    counter = QueueCounter(ws.data_dir)
    counter.answered.connect(model.take_answer)  # (generation, case id or "", result)
    counter.count(generation, QueueFilter(status="done"))
    counter.position(generation, QueueFilter(status="done"), "case-7")

A result is an int, None (the case is not in the filtered queue) or the exception the query
raised. The worker is a daemon thread, so an app that quits with a request pending never
waits for it; :meth:`QueueCounter.stop` ends it and closes its Workspace.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..core.api import QueueFilter
from ..core.workspace import Workspace

log = logging.getLogger(__name__)

_Request = tuple[int, QueueFilter, str]


class QueueCounter(QObject):
    """A worker thread with its own Workspace that counts the queue and finds positions."""

    answered = Signal(int, str, object)
    """(generation, case id or "" for a count, the int, None or the exception raised)."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.current = 0
        """The newest generation asked about: older requests still waiting are skipped."""

    def count(self, generation: int, queue_filter: QueueFilter) -> None:
        """Ask how many cases pass ``queue_filter``."""
        self._ask((generation, queue_filter, ""))

    def position(self, generation: int, queue_filter: QueueFilter, case_id: str) -> None:
        """Ask where ``case_id`` is in the queue under ``queue_filter``."""
        self._ask((generation, queue_filter, case_id))

    def stop(self) -> None:
        """End the worker after the request it is answering; close its Workspace."""
        if self._thread is not None:
            self.current += 1  # whatever still waits is stale
            self._requests.put(None)
            self._thread.join()
            self._thread = None

    def _ask(self, request: _Request) -> None:
        self.current = max(self.current, request[0])
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="queue-counter", daemon=True)
            self._thread.start()
        self._requests.put(request)

    def _serve(self) -> None:
        ws: Workspace | None = None
        try:
            while (request := self._requests.get()) is not None:
                generation, queue_filter, case_id = request
                if generation < self.current:
                    continue
                result: int | Exception | None
                try:
                    if ws is None:
                        ws = Workspace.open(self.data_dir)
                    if case_id:
                        result = ws.queue.index(case_id, queue_filter)
                    else:
                        result = ws.queue.count(queue_filter)
                except Exception as exc:  # the model says so; the thread goes on
                    log.warning("counting the queue failed: %s", type(exc).__name__)
                    result = exc
                try:
                    self.answered.emit(generation, case_id, result)
                except RuntimeError:  # the model (and this object) is gone
                    return
        finally:
            if ws is not None:
                ws.close()
