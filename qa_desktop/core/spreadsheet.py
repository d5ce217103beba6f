"""CSV for people who open it in a spreadsheet: a cell is data, never a formula.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (``=HYPERLINK(...)`` sends data away when clicked). Case ids, notes and section
titles come from outside, so every CSV this app writes passes its cells through
:func:`safe_cell`, which puts an apostrophe before such text (the spreadsheets' own way to
say "this is text"; they hide it)::

    safe_cell("=1+2")   # "'=1+2"
    safe_cell("-5")     # "-5": a number stays a number
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Mapping[str, object]) -> dict[str, object]:
    """A CSV row (field -> value) with every cell made :func:`safe_cell`."""
    return {key: safe_cell(value) for key, value in row.items()}
