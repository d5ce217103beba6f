"""Next-case latency with prefetch on 4000x3000 images: keypress to image set, in frames."""

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

FRAME_MS = 1000 / 60
IMAGES = 12
TARGET_FRAMES = 1.0


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


def run(tmp: Path) -> list[str]:
    """Open the main window, let prefetch finish, then time J presses."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from qa_desktop.ui.app import make_application
    from qa_desktop.ui.main_window import MainWindow

    write_image_batch(tmp / "batch", IMAGES)
    ws = Workspace.open(tmp / "data")
    ws.ensure_reviewer("Bench")
    ws.guidelines.import_pack(DEMO_PACK)
    ws.batches.import_batch(tmp / "batch")
    app = make_application()
    window = MainWindow(ws)
    window.show()
    samples = []
    for _ in range(IMAGES - 1):
        window.review.renderer.wait()
        app.processEvents()  # deliver the prefetched renders
        started = time.perf_counter()
        QTest.keyClick(window.review.queue, Qt.Key.Key_J)
        if window.review.viewer.image_view.current_image() is not None:
            samples.append((time.perf_counter() - started) * 1000)
        else:  # not prefetched: wait for the render, and count that time too
            while window.review.viewer.image_view.current_image() is None:
                app.processEvents()
            samples.append((time.perf_counter() - started) * 1000)
    window.close()
    ws.close()
    median = statistics.median(samples)
    frames = median / FRAME_MS
    verdict = "meets" if frames <= TARGET_FRAMES else "MISSES"
    return [
        f"next-case latency with prefetch, 4000x3000 JPEGs ({len(samples)} presses of J)",
        f"  median {median:.2f} ms = {frames:.2f} of a 16.7 ms frame  "
        f"(target <= {TARGET_FRAMES} frame: {verdict});  max {max(samples):.2f} ms",
    ]
