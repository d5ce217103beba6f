"""The reveal state machine (pure, no Qt): what shows sharp, and when it is protected again."""

from __future__ import annotations

from qa_desktop.core.api import RevealState


def test_protected_by_default_and_held_reveals_everything() -> None:
    state = RevealState()
    assert not state.full
    assert state.fraction(media_on_screen=True, region_fraction=0.0, fully_shown=state.full) == 0
    state.hold(True)
    assert state.full
    assert state.fraction(True, 0.0, state.full) == 1.0
    state.hold(False)
    assert not state.full


def test_case_reveal_only_with_media_on_screen_and_always_undoable() -> None:
    state = RevealState()
    assert not state.toggle_case(media_on_screen=False)  # warning screen or text case
    assert not state.case_revealed
    assert state.toggle_case(media_on_screen=True)
    assert state.case_revealed and state.full
    assert state.toggle_case(media_on_screen=False)  # protecting again always works
    assert not state.case_revealed


def test_navigation_reprotects_even_with_space_down() -> None:
    state = RevealState(held=True, case_revealed=True, warning_accepted=True)
    state.open_case()
    assert state == RevealState()


def test_protect_keeps_the_warning_opt_in() -> None:
    state = RevealState(held=True, case_revealed=True, warning_accepted=True)
    state.protect()
    assert not state.full and state.warning_accepted


def test_warning_screen_until_accepted() -> None:
    state = RevealState()
    assert state.shows_warning(warning_screen=True)
    assert not state.shows_warning(warning_screen=False)
    state.accept_warning()
    assert not state.shows_warning(warning_screen=True)


def test_fraction_counts_regions_only_for_media_on_screen() -> None:
    assert RevealState.fraction(False, 0.5, True) == 0.0
    assert RevealState.fraction(True, 0.25) == 0.25
    assert RevealState.fraction(True, 1.7) == 1.0
    assert RevealState.fraction(True, 0.25, fully_shown=True) == 1.0


def test_describe_says_what_is_visible() -> None:
    state = RevealState()
    assert state.describe(text_case=True, fraction=0.0, regions=0) == "text"
    assert state.describe(False, 0.0, 0) == "protected"
    assert state.describe(False, 0.2, 2) == "2 region(s) revealed"
    assert state.describe(False, 1.0, 0) == "REVEALED"
    state.toggle_case(True)
    assert state.describe(False, 1.0, 0) == "REVEALED FOR THIS CASE"
