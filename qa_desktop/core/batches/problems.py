"""What goes wrong with a batch: :class:`BatchError` and the problems it collects."""

from __future__ import annotations

from ..errors import Cancelled, QADesktopError
from . import limits


class BatchError(QADesktopError, ValueError):
    """A batch that cannot be imported. The message names the file, line and field.

    ``problems`` holds every problem found (the message lists the first
    :data:`limits.MAX_REPORTED_PROBLEMS`).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


class UnsignedBatch(BatchError):
    """An unsigned batch offered without ``trust_unsigned``: the user must choose to trust it."""


class ImportCancelled(Cancelled):
    """The user cancelled the import; nothing was written."""


class _Bad(Exception):
    """One problem with one field of one record (the caller adds file and line)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Unusable(Exception):
    """A file of the batch cannot be used; the message says why (the caller names it)."""


class _Problems:
    """Problems collected while checking, so one BatchError can list many of them."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def add_bad(self, where: str, bad: _Bad, names: dict[str, str] | None = None) -> None:
        """Add a field problem found at ``where`` (e.g. ``cases.jsonl line 3``)."""
        if bad.field is None:
            self.add(f"{where}: {bad.message}")
        else:
            name = names.get(bad.field, bad.field) if names else bad.field
            self.add(f"{where}, field {name!r}: {bad.message}")

    def raise_if_any(self) -> None:
        count = len(self.messages)
        if count == 1:
            raise BatchError(self.messages[0])
        if count > 1:
            shown = self.messages[: limits.MAX_REPORTED_PROBLEMS]
            lines = [f"{count} problems in this batch:", *(f"- {m}" for m in shown)]
            if count > len(shown):
                lines.append(f"- ... and {count - len(shown)} more")
            raise BatchError("\n".join(lines), tuple(self.messages))
