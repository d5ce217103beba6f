"""GUI memory after browsing the demo (issue 15): resident memory of a fresh app process that
opens the main window on the demo data and presses J 50 times, waiting for each case's
content (image, storyboard, first video frame) to be painted.

Each run is its own process (``python -m benchmarks.bench_gui_memory CHILD DATA``), so one
run's memory never counts in the next; the figure is the median (range) of the runs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .targets import judge

PRESSES = 50
RUNS = 5


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux /proc; else the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_demo_data(data: Path) -> None:
    """The demo workspace, as ``qa-desktop demo`` makes it."""
    from qa_desktop.core.workspace import Workspace
    from qa_desktop.demo import DEMO_PACKS, generate_demo_batch

    with tempfile.TemporaryDirectory(prefix="qa-bench-demo-") as tmp:
        batch = generate_demo_batch(Path(tmp) / "demo-batch")
        with Workspace.open(data) as ws:
            ws.guidelines.import_packs(DEMO_PACKS)
            ws.ensure_reviewer("Bench")
            ws.batches.import_batch(batch)


def browse(data: Path, presses: int = PRESSES) -> tuple[float, float, int]:
    """In this process: open the window, press J ``presses`` times, each time until the new
    case's content is painted. Returns (MiB at start, MiB after, cases shown)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from qa_desktop.core.workspace import Workspace
    from qa_desktop.ui.app import make_application
    from qa_desktop.ui.main_window import MainWindow

    from .gui_paint import content_painted, settle, watch

    app = make_application()
    with Workspace.open(data) as ws:
        window = MainWindow(ws)
        window.resize(1366, 768)
        window.show()
        window.activateWindow()
        review = window.review
        settle(app, review)
        start = rss_mib()
        shown = 1
        for _ in range(presses):
            before = review.case.id if review.case is not None else None
            watch(review).arm()
            QTest.keyClick(review.queue, Qt.Key.Key_J)
            if review.case is None or review.case.id == before:
                break  # the end of the queue
            content_painted(app, review)
            shown += 1
        after = rss_mib()
        window.close()
        app.processEvents()
    return start, after, shown


def run(tmp: Path, runs: int = RUNS) -> list[str]:
    """Median (range) of the resident memory after browsing, one fresh process per run."""
    data = tmp / "data"
    make_demo_data(data)
    starts, afters, shown = [], [], 0
    for i in range(runs):
        copy = tmp / f"data-{i}"
        shutil.copytree(data, copy)  # every run starts from the same, unread workspace
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_gui_memory", "child", str(copy)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.split()
        starts.append(float(out[-3]))
        afters.append(float(out[-2]))
        shown = int(out[-1])
    median = statistics.median(afters)
    return [
        f"GUI memory (RSS) after browsing {shown} demo cases with J, each until painted, "
        f"median (range) of {runs} fresh processes",
        f"  {median:.0f} MiB ({min(afters):.0f}-{max(afters):.0f}) "
        f"{judge('GUI memory after 50 cases', median)}; at start "
        f"{statistics.median(starts):.0f} MiB ({min(starts):.0f}-{max(starts):.0f})",
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        first, last, count = browse(Path(sys.argv[2]))
        print(f"{first:.1f} {last:.1f} {count}")
    else:
        with tempfile.TemporaryDirectory(prefix="qa-bench-gui-memory-") as folder:
            print("\n".join(run(Path(folder))))
