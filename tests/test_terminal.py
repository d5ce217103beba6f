"""Outside text printed by the CLI cannot drive the user's terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qa_desktop.terminal import terminal_safe

from .factory import case_record, make_workspace, write_batch
from .recording import record

ESCAPE = "\x1b]0;pwned\x07\x1b[2J"


@given(st.text())
def test_only_newline_and_tab_survive_among_control_characters(text: str) -> None:
    safe = terminal_safe(text)
    assert len(safe) == len(text)
    assert all(c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in safe)


def run_in_terminal(args: list[str]) -> str:
    """Run the CLI with its stdout on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from qa_desktop.__main__ import main; main()", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode("utf-8")


def test_a_note_with_escape_sequences_reaches_a_terminal_defused(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "data", cases=0, reviewer="Ana", key=False)
    ws.batches.import_batch(
        write_batch(tmp_path / "batch", [case_record("t-0", "text", [], tags=[])])
    )
    record(ws, "t-0", "no_violation", notes=f"look{ESCAPE}here")
    ws.close()
    args = ["--data-dir", str(tmp_path / "data"), "verdicts", "--format", "csv"]
    shown = run_in_terminal(args)
    assert "look" in shown and "here" in shown and "\x1b" not in shown and "\x07" not in shown
    piped = subprocess.run(
        [sys.executable, "-c", "from qa_desktop.__main__ import main; main()", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ESCAPE in piped.stdout  # a file or a pipe gets the data exactly
