"""One root error for everything core refuses, and one way to cancel.

Every error core raises on purpose is a :class:`QADesktopError`, so the GUI and the CLI can
show any of them the same way (the message is written for people; it names the file, line
or field, and never a GUI menu: each front end says where to go itself)::

    try:
        ws.verdicts.record(case_id, draft)
    except Refused as refusal:
        show(refusal.reason, str(refusal))

Long operations take a ``cancelled`` callable and raise :class:`Cancelled` when it answers
True; nothing half-done is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from .vocab import RefusalReason


class QADesktopError(Exception):
    """The root of every error core raises on purpose."""


class Refused(QADesktopError, ValueError):
    """A request core will not carry out, with a reason code and a message for people."""

    def __init__(self, reason: RefusalReason | str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class NoReviewer(QADesktopError, RuntimeError):
    """An operation needs the local reviewer profile and there is none yet."""


class Cancelled(QADesktopError):
    """The user cancelled a long operation; what it was doing was not kept."""


Progress = Callable[[int, int], None]
"""``progress(done, total)``: how far a long operation got."""
CancelCheck = Callable[[], bool]
"""``cancelled()``: True once the user asked to stop."""


def check_cancelled(cancelled: CancelCheck | None, message: str = "cancelled") -> None:
    """Raise :class:`Cancelled` with ``message`` if ``cancelled`` says so."""
    if cancelled is not None and cancelled():
        raise Cancelled(message)
