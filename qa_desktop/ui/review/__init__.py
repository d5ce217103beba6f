"""The review loop: one case at a time, protected, decided from the keyboard."""

from .screen import ReviewScreen
from .state import ReviewState

__all__ = ["ReviewScreen", "ReviewState"]
