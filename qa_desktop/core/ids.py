"""Identifiers: UUIDv7 (time-ordered, so ids sort by creation) for events and profiles."""

from __future__ import annotations

import uuid6


def new_event_id() -> str:
    """A fresh UUIDv7 as a string, e.g. ``'019a...-7...'``."""
    return str(uuid6.uuid7())
