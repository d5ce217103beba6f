"""Waiting until a case's content is painted (for the GUI benchmarks): not until a widget
was told what to show, but until its paint event has drawn it."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer


class PaintWatch(QObject):
    """Notes when a viewer picture widget paints while the case's content is set."""

    def __init__(self, review: Any) -> None:
        super().__init__()
        self.review = review
        self.painted_at: float | None = None
        viewer = review.viewer
        self.widgets = (viewer.image_view, viewer.player.screen_view, viewer.text_view.viewport(),
                        viewer.warning_view)  # fmt: skip
        for widget in self.widgets:
            widget.installEventFilter(self)

    def arm(self) -> None:
        """Forget earlier paints (call right before the key press)."""
        self.painted_at = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and self.painted_at is None
            and content_ready(self.review)
        ):
            # the paint event reaches this filter before the widget paints: time it after
            QTimer.singleShot(0, self._mark)
        return False

    def _mark(self) -> None:
        if self.painted_at is None:
            self.painted_at = time.perf_counter()


def content_ready(review: Any) -> bool:
    """True when what the case shows (picture, first video frame, text, warning) is set."""
    viewer = review.viewer
    case = review.case
    if case is None:
        return True
    current = viewer.currentWidget()
    if current is not viewer.media_page:
        return True  # text or the warning screen: set at once
    if viewer.video_active():
        return viewer.player.current_frame() is not None or bool(viewer.player.error)
    return viewer.image_view.current_image() is not None


_WATCHES: dict[int, PaintWatch] = {}


def watch(review: Any) -> PaintWatch:
    """The paint watch of ``review`` (made on first use)."""
    found = _WATCHES.get(id(review))
    if found is None:
        found = _WATCHES[id(review)] = PaintWatch(review)
    return found


_WAKE: list[QTimer] = []


def wait_for_events(app: Any) -> None:
    """One pass of the event loop that sleeps until an event comes, as the app's own loop
    does. A loop spinning ``processEvents()`` retakes the GIL the moment it lets go of it, so
    the render threads (which need it between the blocks they decode) waited behind the
    measurement itself: a preview took 5-10x longer than in the running app (issue 15)."""
    if not _WAKE:  # wakes the wait now and then, so a caller's timeout is still checked
        _WAKE.append(QTimer())
        _WAKE[0].start(50)
    app.processEvents(
        QEventLoop.ProcessEventsFlag.AllEvents | QEventLoop.ProcessEventsFlag.WaitForMoreEvents
    )


def content_painted(app: Any, review: Any, timeout_s: float = 30.0) -> float:
    """Process events until the current case's content has been painted since the watch
    was armed; returns ``time.perf_counter()`` at that paint."""
    paints = watch(review)
    deadline = time.perf_counter() + timeout_s
    while paints.painted_at is None:
        wait_for_events(app)
        if time.perf_counter() > deadline:
            raise TimeoutError("the case's content was never painted")
    return paints.painted_at


def settle(app: Any, review: Any) -> None:
    """Wait for the content on screen now and paint it once more (before the first press)."""
    paints = watch(review)
    paints.arm()
    while not content_ready(review):
        wait_for_events(app)
    for widget in paints.widgets:
        widget.update()
    content_painted(app, review)
