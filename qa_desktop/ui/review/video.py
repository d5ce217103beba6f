"""The video keys: each does nothing unless a video (or animation) is on screen."""

from __future__ import annotations

from collections.abc import Callable

from ..viewer import CaseViewer


class VideoControls:
    """Play, jump, step and speed for the viewer's player (jump length from preferences)."""

    def __init__(self, viewer: CaseViewer, jump_seconds: Callable[[], float]) -> None:
        self.viewer = viewer
        self.jump_seconds = jump_seconds

    @property
    def active(self) -> bool:
        """A video is on screen."""
        return self.viewer.video_active()

    def toggle_play(self) -> None:
        """Play or pause the video (frames stay protected unless revealed)."""
        if self.active:
            self.viewer.player.toggle_play()

    def jump_back(self) -> None:
        """Jump back a few seconds."""
        if self.active:
            self.viewer.player.jump(-self.jump_seconds())

    def jump_forward(self) -> None:
        """Jump forward a few seconds."""
        if self.active:
            self.viewer.player.jump(self.jump_seconds())

    def previous_frame(self) -> None:
        """One frame back (pauses)."""
        if self.active:
            self.viewer.player.step_frame(-1)

    def next_frame(self) -> None:
        """One frame forward (pauses)."""
        if self.active:
            self.viewer.player.step_frame(1)

    def slower(self) -> None:
        """Play slower (down to 0.5×)."""
        if self.active:
            self.viewer.player.slower()

    def faster(self) -> None:
        """Play faster (up to 2×)."""
        if self.active:
            self.viewer.player.faster()

    def toggle_mute(self) -> bool:
        """Sound on or off for this case's video (every case starts muted); whether it did."""
        if not self.active:
            return False
        self.viewer.player.toggle_mute()
        return True
