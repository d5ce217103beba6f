"""Time, in one place, so tests can reason about it."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return iso_utc_ms(datetime.now(UTC))


def iso_utc_ms(moment: datetime) -> str:
    """``moment`` (aware) as ISO 8601 UTC with milliseconds and a ``Z``, the form of every
    event's ``created_at``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_utc(moment: datetime) -> str:
    """``moment`` (aware) as ISO 8601 UTC with seconds and a ``Z`` (bag-info.txt times)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
