"""What the review loop holds about the case on screen (view state; the rest is in the db)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.api import Case, FilterSettings, Guideline, Protection, RevealState


@dataclass
class ReviewState:
    """The case on screen, its guideline, how it is protected and what is revealed."""

    case: Case | None = None
    guideline: Guideline | None = None
    protection: Protection = field(default_factory=lambda: Protection(FilterSettings()))
    filters: FilterSettings = field(default_factory=FilterSettings)
    """This case's filters (start from its protection; the keys change them)."""
    reveal: RevealState = field(default_factory=RevealState)

    def open(self, case: Case, guideline: Guideline | None, protection: Protection) -> None:
        """A new case on screen: its own protection, nothing revealed."""
        self.case, self.guideline, self.protection = case, guideline, protection
        self.filters = protection.filters
        self.reveal.open_case()

    @property
    def is_text(self) -> bool:
        """The case shows text only (no media to protect)."""
        return self.case is not None and (self.case.content_type == "text" or not self.case.media)
