"""Content-warning tags: the harm type a tag names, and which harm types are severe.

A case's tags (``"violence"``, ``"Severe:Violence"``, ``"graphic"``) drive its protection.
This is the one definition of "severe" every screen and rule uses::

    tag_key("Severe:Violence")         # 'severe'
    is_severe(("graphic", "weapons"))  # True
"""

from __future__ import annotations

from collections.abc import Iterable

SEVERE_HARM_TYPES = frozenset({"severe", "graphic", "gore"})
"""Harm types that get the strongest protection, the warning screen and count as severe
exposure for breaks."""


def tag_key(tag: str) -> str:
    """The harm type a content-warning tag names: ``"Severe:Violence"`` -> ``"severe"``."""
    return tag.strip().lower().split(":", 1)[0].strip()


def is_severe(tags: Iterable[str]) -> bool:
    """True when any tag names a severe harm type (see :data:`SEVERE_HARM_TYPES`)."""
    return any(tag_key(tag) in SEVERE_HARM_TYPES for tag in tags)
