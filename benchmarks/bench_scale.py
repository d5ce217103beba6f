"""The app at a million cases against a thousand, same run: the queue's paths the GUI runs
(pages first/middle/last, a filter change, a find keystroke, record + next), GUI start-up,
and the longest GUI-thread stall while a real MainWindow starts, drags the scroll bar,
jumps, filters, finds, records, opens Reports, opens the findings (RCA escalations, until
their rows show) and makes the first export of the session (the signing key opened with the
real scrypt cost, until the result shows) (a heartbeat QTimer measures the gaps).

The big database is built once into ``QA_BENCH_SCALE_DIR`` (default ``/tmp/scale-1m``,
``big`` and ``small`` folders, by :func:`bench_queue.fill`) and copied for each run, never
rebuilt. ``QA_BENCH_SCALE_RUNS`` runs (default 5) give the median and range.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qa_desktop.core.api import QueueFilter, VerdictDraft
from qa_desktop.core.workspace import Workspace

from . import bench_queue
from .targets import judge

BIG = 1_000_000
SMALL = 1000
RUNS = int(os.environ.get("QA_BENCH_SCALE_RUNS", "5"))
STORE = Path(os.environ.get("QA_BENCH_SCALE_DIR", "/tmp/scale-1m"))
PAGE = 200
DONE_PAGE = 100
"""The done filter's page: both queues fill it (a tenth of the cases are done, so the
1,000-case queue has 100 of them, where a 200-row page at 1M held twice its rows)."""
COUNT_PREFIX = "count in a worker, "


def _database(name: str, cases: int, tmp: Path) -> Path:
    """A copy (in ``tmp``) of the stored ``name`` workspace, built first if absent."""
    stored = STORE / name
    if not (stored / "qa.db").is_file():
        ws = bench_queue._open(stored, cases)
        ws.close()
    copy = tmp / name
    shutil.copytree(stored, copy)
    return copy


def _timed(job: Callable[[], object], before: Callable[[], object] = lambda: None) -> list[float]:
    job()  # warm the page cache
    samples = []
    for _ in range(RUNS):
        before()
        started = time.perf_counter()
        job()
        samples.append(time.perf_counter() - started)
    return samples


def _core(path: Path, cases: int) -> dict[str, list[float]]:
    """The queue calls the GUI makes, timed in this process."""
    ws = Workspace.open(path)
    try:
        mid = cases // 2 // PAGE * PAGE
        last = (cases - 1) // PAGE * PAGE
        done, find = QueueFilter(status="done"), QueueFilter(text="c00001")
        ids = iter(f"c{i:07d}" for i in range(1, cases, 10))  # a fresh undecided case each run

        def record_next() -> None:
            case_id = next(ids)
            ws.verdicts.record(case_id, VerdictDraft("no_violation"))
            ws.queue.row(case_id)  # the row repainted
            ws.queue.page(after_seq=ws.queue.row(case_id).seq, limit=1)  # type: ignore[union-attr]

        # Each size's page holds the same rows, else the larger does more work, not slower.
        assert len(ws.queue.page(filter=done, limit=DONE_PAGE)) == DONE_PAGE
        assert len(ws.queue.page(filter=find, limit=PAGE)) == 100  # c00001xx at each size
        return {
            "first page": _timed(lambda: ws.queue.page(offset=0, limit=PAGE)),
            "middle page": _timed(lambda: ws.queue.page(offset=mid, limit=PAGE)),
            "last page": _timed(lambda: ws.queue.page(offset=last, limit=PAGE)),
            "filter change (done): first page": _timed(
                lambda: ws.queue.page(filter=done, limit=DONE_PAGE)
            ),
            "position under a filter (done)": _timed(lambda: ws.queue.index("c0000000", done)),
            "find keystroke: first page": _timed(lambda: ws.queue.page(filter=find, limit=PAGE)),
            "record + next": _timed(record_next),
            # Counts grow with the cases they count; the issue asks only that they never run
            # on the GUI thread (the stall lines below), so they are printed without a target.
            COUNT_PREFIX + "filter (done)": _timed(lambda: ws.queue.count(done)),
            COUNT_PREFIX + "find": _timed(lambda: ws.queue.count(find)),
        }
    finally:
        ws.close()


_GUI = """
import json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6.QtCore import QElapsedTimer, QTimer, Qt
from PySide6.QtTest import QTest
from qa_desktop.core.api import QueueFilter
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.app import make_application
from qa_desktop.ui.main_window import MainWindow

app = make_application()
clock = QElapsedTimer()
clock.start()
gaps = {"last": 0, "worst": 0}
def beat():
    now = clock.elapsed()
    gaps["worst"] = max(gaps["worst"], now - gaps["last"])
    gaps["last"] = now
heart = QTimer()
heart.setInterval(5)
heart.timeout.connect(beat)

def settle(ms=300):
    QTest.qWait(ms)

found = {}
def stall(name, action):
    settle(50)
    gaps["last"], gaps["worst"] = clock.elapsed(), 0
    action()
    settle()
    beat()
    found[name] = gaps["worst"]

PASSPHRASE = "bench passphrase"
ws = Workspace.open(Path(sys.argv[1]))
if not ws.trust.has_identity():  # made before the clock starts, at the real scrypt cost
    ws.trust.create_identity(PASSPHRASE)
ws.close()

def answer_dialogs():
    # Close the result boxes, and the findings once their rows show (progress dialogs stay).
    from PySide6.QtWidgets import QApplication, QMessageBox
    from qa_desktop.ui.findings_dialog import FindingsDialog
    dialog = QApplication.activeModalWidget()
    if isinstance(dialog, QMessageBox) or (isinstance(dialog, FindingsDialog) and dialog.loaded):
        dialog.done(0)
answerer = QTimer()
answerer.setInterval(20)
answerer.timeout.connect(answer_dialogs)
answerer.start()

started = time.perf_counter()
ws = Workspace.open(Path(sys.argv[1]))
window = MainWindow(ws)
window.show()
# Before the event loop runs there is no window on screen yet: this block is start-up time
# (its own line), printed apart; from here the heartbeat times the window as the user sees it.
found["window built, before it first shows (ms)"] = (time.perf_counter() - started) * 1000
heart.start()
gaps["last"], gaps["worst"] = clock.elapsed(), 0
review = window.review
while review.case is None and time.perf_counter() - started < 10:
    QTest.qWait(2)
found["start-up s"] = time.perf_counter() - started
settle()
beat()
found["start (from first show to the first case shown)"] = gaps["worst"]
bar = review.queue.verticalScrollBar()
def drag():
    for part in (3, 2, 1):
        bar.setValue(bar.maximum() // part)
        app.processEvents()
stall("scroll-bar drag", drag)
stall("jump to the end", review.last_case)
stall("jump to the start", review.first_case)
stall("filter change (done)", lambda: review.apply_filter(QueueFilter(status="done")))
stall("filter cleared", lambda: review.apply_filter(None))
review.filter_bar.text.setFocus()
stall("find keystroke", lambda: QTest.keyClicks(review.filter_bar.text, "c00001"))
review.filter_bar.clear()
review.leave_text_input()
def record_next():
    review.panel.select_label(1)
    review.record_and_next()
stall("record + next", record_next)
stall("opening Reports", window.show_reports)
window.show_review()
stall("opening the findings (RCA escalations)", window.show_rca_escalations)
out = Path(sys.argv[1]).with_name(Path(sys.argv[1]).name + "-bundles")
out.mkdir(exist_ok=True)
stall(
    "first export (the key opened at the real scrypt cost)",
    lambda: window.export_bundle(out, PASSPHRASE),
)
print(json.dumps(found), flush=True)
# Reports compute in a worker over every case (minutes at 1M): don't wait for it on close.
os._exit(0)
"""


def _gui(path: Path) -> list[dict[str, float]]:
    """Start-up and stalls, each run in a fresh process on a fresh copy of the database."""
    runs = []
    for _ in range(RUNS):
        copy = path.with_name(path.name + "-gui")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(path, copy)
        out = subprocess.run(
            [sys.executable, "-c", _GUI, str(copy)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(copy.with_name(copy.name + "-bundles"), ignore_errors=True)
    return runs


def _line(name: str, samples: list[float], base: list[float], unit: float = 1000) -> str:
    median, reference = statistics.median(samples), statistics.median(base)
    ratio = median / reference if reference else float("inf")
    if name.startswith(COUNT_PREFIX):
        verdict = "(no target: off the GUI thread)"
    elif name == "record + next":
        verdict = judge("record + next at 1M vs 1k", ratio, f"scale: {name}")
    elif name.startswith("GUI start-up"):
        verdict = judge("GUI start-up at 1M vs 1k", ratio, f"scale: {name}")
    else:
        verdict = judge("queue page at 1M vs 1k", ratio, f"scale: {name}")
    return (
        f"  {name}: {median * unit:.1f} ms (range {min(samples) * unit:.1f}–"
        f"{max(samples) * unit:.1f}) vs {reference * unit:.2f} ms at {SMALL:,}:"
        f" {ratio:.1f}x, {verdict}"
    )


def run(tmp: Path) -> list[str]:
    """Measure every scale figure at ``BIG`` cases against ``SMALL`` cases."""
    small, big = _database("small", SMALL, tmp), _database("big", BIG, tmp)
    lines = [f"scale: {BIG:,} cases vs {SMALL:,} (median and range of {RUNS} runs)"]
    small_core, big_core = _core(small, SMALL), _core(big, BIG)
    for name, samples in big_core.items():
        lines.append(_line(name, samples, small_core[name]))
    small_gui, big_gui = _gui(small), _gui(big)
    start_big = [r["start-up s"] for r in big_gui]
    start_small = [r["start-up s"] for r in small_gui]
    lines.append(_line("GUI start-up (MainWindow shown)", start_big, start_small))
    built = [r.pop("window built, before it first shows (ms)") for r in big_gui]
    built_small = [r.pop("window built, before it first shows (ms)") for r in small_gui]
    lines.append(
        f"  window built before it first shows (part of start-up, no heartbeat can run):"
        f" {statistics.median(built):.0f} ms (range {min(built):.0f}–{max(built):.0f}) vs"
        f" {statistics.median(built_small):.0f} ms at {SMALL:,}"
    )
    for name in big_gui[0]:
        if name == "start-up s":
            continue
        worst = [r[name] for r in big_gui]
        median = statistics.median(worst)
        lines.append(
            f"  longest GUI-thread stall, {name}: {median:.0f} ms (range {min(worst):.0f}–"
            f"{max(worst):.0f}) vs {statistics.median(r[name] for r in small_gui):.0f} ms at"
            f" {SMALL:,}: {judge('longest GUI-thread stall', median, f'scale: stall, {name}')}"
        )
    return lines
