"""The reveal state machine of the case on screen: pure Python, no Qt.

Content is protected by default. It shows sharp only on an explicit act: Space or the
mouse held (:meth:`RevealState.hold`), the case revealed until the reviewer leaves it
(:meth:`RevealState.toggle_case`), or regions dragged open (their fraction comes from the
viewer). A warning screen hides media until the reviewer opts in. Navigation re-protects::

    state = RevealState()
    state.hold(True)
    state.fraction(media_on_screen=True, region_fraction=0.0)   # 1.0
    state.open_case()                                           # protected again
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .media import FilterSettings

MIN_PROTECTIVE_LEVEL: dict[str, int] = {"gaussian": 4, "pixelate": 5}
"""The weakest blur (and pixelation) level that still counts as protection.

Measured on the synthetic demo images (30 pictures, ``docs/wellbeing.md``): below these
levels the blurred picture keeps most of the mid-scale structure of the original (the scale
of facial features and wounds at display size), so a face or a wound can still be made out.
Anything weaker shows the content: it is counted as exposure of the whole picture, like a
reveal, and the status bar says so."""


def protects(filters: FilterSettings) -> bool:
    """Whether ``filters`` hide the detail of a picture (see :data:`MIN_PROTECTIVE_LEVEL`).

    Reduced detail (an illustration) protects at any level; grayscale, sepia and a fade
    alone do not: they change colour, not what can be recognised.
    """
    if filters.reduced_detail:
        return True
    minimum = MIN_PROTECTIVE_LEVEL.get(filters.blur_kind)
    return minimum is not None and filters.blur_level >= minimum


def revealed_filters(filters: FilterSettings) -> FilterSettings:
    """What a reveal still applies: the case's colour filters (grayscale, sepia) stay.

    A reveal removes what hides shape and detail (blur, pixelation, reduced detail, the
    fade); the least exposure needed keeps colour off until the reviewer turns it off.
    """
    return replace(filters, blur_kind="none", reduced_detail=False, transparency=0.0)


@dataclass
class RevealState:
    """What the reviewer revealed on the case on screen (view state, never stored)."""

    held: bool = False
    """Space or the mouse is held down."""
    case_revealed: bool = False
    """Revealed until the reviewer leaves the case (T)."""
    warning_accepted: bool = False
    """The reviewer opted in to media behind a warning screen (W)."""

    @property
    def full(self) -> bool:
        """Whether the whole picture should show sharp (held or revealed for this case)."""
        return self.held or self.case_revealed

    def open_case(self) -> None:
        """A new case: everything protected again, even with Space still down."""
        self.held = False
        self.case_revealed = False
        self.warning_accepted = False

    def hold(self, held: bool) -> None:
        """Space (or the mouse) pressed or released."""
        self.held = held

    def toggle_case(self, media_on_screen: bool) -> bool:
        """Reveal the case until it is left, or protect it again; whether anything changed.

        Only media on screen can be revealed: behind a warning screen or on a text case
        the toggle does nothing (protecting again always works).
        """
        if not self.case_revealed and not media_on_screen:
            return False
        self.case_revealed = not self.case_revealed
        return True

    def accept_warning(self) -> None:
        """Opt in to the media behind the warning screen (it still shows protected)."""
        self.warning_accepted = True

    def protect(self) -> None:
        """Back to protected now (a break, losing focus), keeping the warning opt-in."""
        self.held = False
        self.case_revealed = False

    def shows_warning(self, warning_screen: bool) -> bool:
        """Whether the warning screen stands in front of the media."""
        return warning_screen and not self.warning_accepted

    @staticmethod
    def fraction(
        media_on_screen: bool,
        region_fraction: float,
        fully_shown: bool = False,
        protected: bool = True,
    ) -> float:
        """How much of the content shows sharp: 0 when no media is on screen, 1 when the
        whole picture or video is shown sharp or its filters are too weak to protect it
        (``protected`` False), else the revealed regions' share."""
        if not media_on_screen:
            return 0.0
        if fully_shown or not protected:
            return 1.0
        return max(0.0, min(1.0, region_fraction))

    def describe(
        self, text_case: bool, fraction: float, regions: int, protected: bool = True
    ) -> str:
        """The status bar's words for what the reviewer sees now."""
        if text_case:
            return "text"
        if self.case_revealed:
            return "REVEALED FOR THIS CASE"
        if fraction >= 1.0 and not protected:
            return "NOT PROTECTED (blur too weak: counted as exposure)"
        if fraction >= 1.0:
            return "REVEALED"
        if fraction > 0:
            return f"{regions} region(s) revealed"
        return "protected"
