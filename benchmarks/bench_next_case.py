"""Next-case latency on 4000x3000 images (issue 15): J until the new case is painted."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .batches import write_batch_header
from .targets import judge

FRAME_MS = 1000 / 60
RUNS = 5
IMAGES = 4 * RUNS + 2


def write_image_batch(folder: Path, count: int) -> None:
    """A batch of ``count`` synthetic 4000x3000 JPEG image cases."""
    media = folder / "media"
    media.mkdir(parents=True)
    rng = np.random.default_rng(3)
    write_batch_header(folder, "bench-images", "Big images")
    lines = []
    for i in range(count):
        img = rng.integers(0, 255, (375, 500, 3), dtype=np.uint8)
        img = cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_NEAREST)
        cv2.circle(img, (2000, 1500), 900, (i * 20 % 255, 80, 200), -1)
        cv2.imwrite(str(media / f"big-{i}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        lines.append(
            json.dumps(
                {
                    "id": f"big-{i:03d}",
                    "content_type": "image",
                    "media": [f"media/big-{i}.jpg"],
                    "text": "",
                    "market": "DE",
                    "language": "de",
                    "tags": [],
                    "metadata": {},
                    "decision": {
                        "label": "no_violation",
                        "policy": "none",
                        "moderator_id": "m-001",
                        "queue": "bench",
                        "decided_at": "2026-10-30T12:00:00Z",
                    },
                }
            )
        )
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def spread(samples: list[float]) -> str:
    """``median (min-max) ms`` of ``samples``."""
    return f"{statistics.median(samples):.1f} ms ({min(samples):.1f}-{max(samples):.1f})"


def run(tmp: Path) -> list[str]:
    """Open the main window and time J until the new case's content is painted: after the
    prefetch finished, before it finished (J pressed twice in a row), and for a case nobody
    prefetched (the render cache emptied first).

    Before the prefetch finished: the cache is emptied, J starts the renders of the case
    and the three after it, and J again at once lands on one still being rendered."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from qa_desktop.ui.app import make_application
    from qa_desktop.ui.main_window import MainWindow

    from .gui_paint import content_painted, settle, wait_for_events, watch

    write_image_batch(tmp / "batch", IMAGES)
    ws = Workspace.open(tmp / "data")
    ws.ensure_reviewer("Bench")
    ws.guidelines.import_pack(DEMO_PACK)
    ws.batches.import_batch(tmp / "batch")
    app = make_application()
    window = MainWindow(ws)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    review = window.review
    settle(app, review)

    full_ms: list[float] = []

    def press_j() -> float:
        """J until the first protected content is painted (a preview counts: it is what the
        reviewer sees); also notes when the full, revealable render is on screen."""
        watch(review).arm()
        started = time.perf_counter()
        QTest.keyClick(review.queue, Qt.Key.Key_J)
        painted = content_painted(app, review)
        view = review.viewer.image_view
        while view.rendered is None or view.rendered.preview:
            wait_for_events(app)
        full_ms.append((time.perf_counter() - started) * 1000)
        return (painted - started) * 1000

    def settled() -> None:
        review.renderer.wait()
        app.processEvents()  # deliver the prefetched renders

    prefetched, early, cold = [], [], []
    for _ in range(RUNS):
        settled()
        prefetched.append(press_j())
        settled()
        review.renderer.clear()
        QTest.keyClick(review.queue, Qt.Key.Key_J)  # the next cases' prefetch starts now...
        early.append(press_j())  # ...and J again before it finished
        settled()
        review.renderer.clear()  # nobody prefetched the next case
        cold.append(press_j())
    window.close()
    ws.close()
    rows = (
        ("prefetched", prefetched, "next case, prefetched"),
        ("before prefetch finished", early, "next case, J before the prefetch finished"),
        ("nobody prefetched", cold, "next case, nobody prefetched"),
    )
    lines = [
        f"next case: J until the new case's content is painted (4000x3000 JPEGs), "
        f"median (range) of {RUNS}; a frame is {FRAME_MS:.1f} ms"
    ]
    for label, samples, target in rows:
        lines.append(
            f"  {label:>24}: {spread(samples)} {judge(target, statistics.median(samples))}"
        )
    cold_full = full_ms[2::3]  # the third press of every run: nobody prefetched
    lines.append(
        f"  {'full render on screen':>24}: {spread(cold_full)} when nobody prefetched "
        "(until then a protected preview shows; a reveal waits for it)"
    )
    return lines
