"""Wellbeing accounting through real widgets: a blur too weak to protect counts as exposure,
a reveal keeps the case's colour filters, and a break pauses the session and is recorded."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import FilterSettings, RevealState, protects, revealed_filters
from qa_desktop.core.wellbeing import Preferences, SessionTimeRule
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.render import qimage_to_rgb
from qa_desktop.ui.wellbeing_dialogs import BreakDialog, BreakScreen

from . import windows
from .test_wellbeing_ui import (  # noqa: F401 (the fixture)
    FakeClock,
    batch,
    go_to,
    key,
    open_window,
    save_preferences_for,
)


def test_the_weakest_protective_blur_is_defined_per_kind() -> None:
    assert protects(FilterSettings("gaussian", 4)) and not protects(FilterSettings("gaussian", 3))
    assert protects(FilterSettings("pixelate", 5)) and not protects(FilterSettings("pixelate", 4))
    assert not protects(FilterSettings("none", 10, grayscale=True, transparency=0.6))
    assert protects(FilterSettings("none", 2, reduced_detail=True))
    assert RevealState.fraction(True, 0.0, fully_shown=False, protected=False) == 1.0
    assert RevealState.fraction(False, 0.0, fully_shown=False, protected=False) == 0.0


def test_a_reveal_removes_the_blur_and_keeps_the_colour_filters() -> None:
    under = FilterSettings("pixelate", 9, grayscale=True, sepia=True, transparency=0.3)
    kept = revealed_filters(under)
    assert kept.blur_kind == "none" and kept.transparency == 0 and not kept.reduced_detail
    assert kept.grayscale and kept.sepia


def test_a_blur_too_weak_to_protect_counts_as_exposure_of_the_whole_picture(
    qtbot: QtBot,
    batch: Workspace,  # noqa: F811 (the fixture)
) -> None:
    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    assert window.review.case_filters.blur_level == 5
    key(qtbot, window, Qt.Key.Key_BracketLeft)  # 4: still protects
    clock.advance(10)
    window.review._tick_exposure()
    assert "content protected" in window.status.text()
    assert not window.review.meter.revealing
    key(qtbot, window, Qt.Key.Key_BracketLeft)  # 3: too weak
    assert "NOT PROTECTED" in window.status.text()
    assert window.review.meter.revealing
    clock.advance(6)
    key(qtbot, window, Qt.Key.Key_BracketRight)  # back to 4: protected, the span is stored
    assert not window.review.meter.revealing
    totals = batch.wellbeing.exposure_for_case("img-0")
    assert totals.unblurred_ms == pytest.approx(6000)
    assert totals.weighted_ms == pytest.approx(6000)  # the whole picture


def test_revealing_a_grayscale_case_keeps_it_grey(
    qtbot: QtBot,
    batch: Workspace,  # noqa: F811 (the fixture)
) -> None:
    window = open_window(qtbot, batch)
    view = window.review.viewer.image_view
    key(qtbot, window, Qt.Key.Key_G)  # the case is now under grayscale
    windows.wait_for_full_render(qtbot, view, lambda s: s.grayscale)
    key(qtbot, window, Qt.Key.Key_T)
    assert view.revealed
    image = view.current_image()
    assert image is not None
    rgb = qimage_to_rgb(image)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    key(qtbot, window, Qt.Key.Key_G)  # the reviewer turns it off: colour comes back
    windows.wait_for_full_render(qtbot, view, lambda s: not s.grayscale)
    key(qtbot, window, Qt.Key.Key_T)
    if not view.revealed:
        key(qtbot, window, Qt.Key.Key_T)
    colour = qimage_to_rgb(view.current_image())  # type: ignore[arg-type]
    assert not np.array_equal(colour[..., 0], colour[..., 1])


def test_taking_a_break_pauses_the_session_shows_calm_content_and_ends_on_a_key(
    qtbot: QtBot,
    batch: Workspace,  # noqa: F811 (the fixture)
) -> None:
    save_preferences_for(batch, Preferences(break_rules=(SessionTimeRule(minutes=1),)))
    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    clock.advance(61)
    key(qtbot, window, Qt.Key.Key_T)  # revealed when the break comes
    seen: list[str] = []

    def take(dialog: BreakDialog) -> None:
        qtbot.keyClick(dialog, Qt.Key.Key_Return)  # "I'm taking a break" is the default

    def on_break(screen: BreakScreen) -> None:
        assert not window.review.viewer.image_view.revealed
        assert not window.review.meter.revealing
        seen.append(screen.timer_text())
        clock.advance(95)
        screen.tick()
        seen.append(screen.timer_text())
        qtbot.keyClick(screen, Qt.Key.Key_Return)

    with windows.answer_dialog(qtbot, take, on_break):
        window.review.check_break()
    assert seen == ["0:00", "1:35"]
    assert QApplication.activeModalWidget() is None
    summary = batch.wellbeing.session_summary(window.review.session_id)  # type: ignore[arg-type]
    assert summary.breaks_taken == 1
    assert summary.unblurred_ms == pytest.approx(0, abs=1)  # nothing counted during the break
    window.review.check_break()
    assert QApplication.activeModalWidget() is None  # the session clock restarted


def test_revealing_a_grayscale_video_while_it_plays_keeps_it_grey(
    qtbot: QtBot,
    batch: Workspace,  # noqa: F811 (the fixture)
) -> None:
    """The playing video too: T reveals the frames without blur, still grey under G."""

    window = open_window(qtbot, batch)
    go_to(qtbot, window, "vid-0")
    player = window.review.viewer.player
    qtbot.waitUntil(lambda: player.current_frame() is not None, timeout=10000)
    key(qtbot, window, Qt.Key.Key_L)  # play
    qtbot.waitUntil(lambda: player.playing, timeout=5000)
    key(qtbot, window, Qt.Key.Key_G)
    key(qtbot, window, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: player.revealed, timeout=5000)

    def grey_frame() -> bool:
        frame = player.current_frame()
        return frame is not None and bool(
            np.array_equal(frame[..., 0], frame[..., 1])
            and np.array_equal(frame[..., 1], frame[..., 2])
        )

    qtbot.waitUntil(grey_frame, timeout=5000)
    key(qtbot, window, Qt.Key.Key_L)  # pause
