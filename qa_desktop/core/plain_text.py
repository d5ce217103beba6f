"""Guideline text quoted as plain text: the markdown emphasis and heading markers taken out.

Guideline bodies mark emphasis the markdown way (``**age-restricted**``); a quote in the
training feedback shows the words, never the markers and never markup::

    without_markers("is **age-restricted** here")   # 'is age-restricted here'

Only markers go: ``**``/``__``/``*`` around a run of text that starts and ends with a
non-space, and a heading's leading ``#``s with the blanks after them. Everything else stays,
in order (a lone ``*``, ``snake_case`` ids like ``vh_remove``, ``#`` inside a line).
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^[ ]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_EMPHASIS = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])", re.DOTALL)


def without_markers(text: str) -> str:
    """``text`` without markdown emphasis (``**``, ``__``, ``*``) and heading (``#``)
    markers; every other character kept, in order."""
    text = _HEADING.sub("", text)
    text = _STRONG.sub(r"\2", text)
    return _EMPHASIS.sub(r"\1", text)
