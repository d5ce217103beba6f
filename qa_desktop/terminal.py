"""What the CLI prints to a terminal cannot drive the terminal.

Notes, guideline text and signer names come from outside; an escape sequence in one of them
(``\\x1b]…``, ``\\x1b[2J``) would otherwise retitle, clear or reprogram the user's terminal
when printed, and a bidi control (U+202A-202E, U+2066-2069, U+200E/200F, U+061C) would
reorder the line so a name or id reads as something else. When stdout or stderr is a
terminal, both are shown as U+FFFD (control characters other than newline and tab);
output to a file or a pipe is left exactly as it is::

    sys.stdout = TerminalSafe(sys.stdout)
"""

from __future__ import annotations

import io
import re
from typing import TextIO

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character but newline and tab, and every bidi control,
    replaced by U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


class TerminalSafe(io.TextIOBase):
    """A text stream that writes :func:`terminal_safe` text to ``inner``."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._inner.encoding

    def writable(self) -> bool:
        return True


def guard_terminal_streams(streams: dict[str, TextIO]) -> dict[str, TextIO]:
    """``streams`` (e.g. stdout, stderr), each wrapped in :class:`TerminalSafe` if a tty."""
    guarded: dict[str, TextIO] = {}
    for name, stream in streams.items():
        guarded[name] = TerminalSafe(stream) if stream.isatty() else stream  # type: ignore[assignment]
    return guarded
