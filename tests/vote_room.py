"""A room of participants voting from another process, and the GUI thread's heartbeat: the
load tests of the vote page (issue 12) drive the room and print the heartbeat's gaps."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace


class Room:
    """``tests/vote_load_client.py`` in another process (each participant from its own
    address 127.0.0.x), driven one command line at a time; each answers one JSON line."""

    def __init__(self, qtbot: QtBot, port: int, code: str, people: int) -> None:
        self.qtbot = qtbot
        self.lines: list[list[int]] = []
        self._buffer = bytearray()
        self.process = QProcess()
        self.process.setProgram(sys.executable)
        self.process.setArguments(
            ["-m", "tests.vote_load_client", "127.0.0.1", str(port), code, str(people)]
        )
        self.process.setWorkingDirectory(str(Path(__file__).parent.parent))
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.start()
        assert self.process.waitForStarted(10_000)

    def _read(self) -> None:
        self._buffer.extend(self.process.readAllStandardOutput().data())
        while b"\n" in self._buffer:
            line, _, rest = bytes(self._buffer).partition(b"\n")
            self._buffer[:] = rest
            self.lines.append(json.loads(line))

    def command(self, text: str) -> list[int]:
        """Send ``text`` ("join", "vote CASE N"); the HTTP statuses the room got."""
        count = len(self.lines)
        self.process.write(text.encode() + b"\n")
        self.qtbot.waitUntil(lambda: len(self.lines) > count, timeout=60_000)
        return self.lines[-1]

    def close(self) -> None:
        """Let the room's process end."""
        self.process.closeWriteChannel()
        self.process.waitForFinished(10_000)


class Heartbeat:
    """A 5 ms timer on the GUI thread recording the gaps between its beats (a gap counts
    from :meth:`start`, so what runs before the first beat counts too)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        """Start beating; the first gap counts from now."""
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stop beating."""
        self._timer.stop()

    @property
    def longest_ms(self) -> float:
        """The longest gap, in ms."""
        return max(self.gaps) * 1000

    def summary(self) -> str:
        """The longest and median gap, the beats and how many gaps were over 50 ms."""
        median = sorted(self.gaps)[len(self.gaps) // 2] * 1000
        over = sum(g > 0.05 for g in self.gaps)
        return (
            f"GUI heartbeat (5 ms) longest gap {self.longest_ms:.1f} ms, median {median:.1f} ms"
            f" over {len(self.gaps)} beats; gaps over 50 ms: {over}"
        )


def participant_votes(ws: Workspace) -> int:
    """How many participants' votes the database holds."""
    db = ws.database_for_tests()
    return int(db.execute("SELECT COUNT(*) FROM verdicts WHERE role = 'participant'").fetchone()[0])
