"""QA Desktop: an offline review workstation for Trust & Safety QA subject-matter experts."""

__version__ = "0.1.0"
