"""A worker's queries leave the interpreter to other threads (the GUI's) now and then.

CPython's ``sqlite3`` releases the GIL around every ``sqlite3_step`` (one row) and takes it
back at once. A thread waiting for the GIL (the GUI thread, to run any Python slot, event
filter or model method) is woken too late to win it, and never asks for a forced switch
because the lock keeps changing hands (the GIL "convoy"): a worker reading or writing 100k
rows starved the GUI thread for 50-110 ms at a time (issue 15, measured at 1M cases).
:func:`share_interpreter` installs a progress handler on a worker's connection that, every
:data:`EVERY_S` of the worker's wall time, sleeps :data:`PAUSE_S` without the GIL, long
enough for a waiting thread to take it.
"""

from __future__ import annotations

import sqlite3
from time import perf_counter, sleep

EVERY_S = 0.003
"""How much of the worker's time passes between two pauses."""
PAUSE_S = 0.0003
"""One pause: long enough for a woken thread to take the GIL (about 10% of the worker's time
while it queries)."""
VM_STEPS = 5000
"""SQLite virtual-machine steps between two looks at the clock (well under a millisecond)."""


def share_interpreter(conn: sqlite3.Connection) -> None:
    """Make ``conn``'s statements pause now and then so other threads get the GIL (for a
    connection used in a worker thread of the GUI; the CLI's single thread needs none)."""
    last = perf_counter()

    def pause_now_and_then() -> int:
        nonlocal last
        now = perf_counter()
        if now - last >= EVERY_S:
            sleep(PAUSE_S)
            last = perf_counter()
        return 0  # never interrupts the statement

    conn.set_progress_handler(pause_now_and_then, VM_STEPS)
