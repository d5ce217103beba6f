"""CSV cells are data, never formulas, whatever text comes in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa_desktop.core.spreadsheet import FORMULA_STARTS, safe_cell


@given(st.text(max_size=30) | st.sampled_from(["=1+2", "+1", "-x", "@SUM(A1)", "\t=1"]))
def test_no_cell_starts_like_a_formula_and_nothing_is_lost(text: str) -> None:
    cell = safe_cell(text)
    assert isinstance(cell, str)
    if cell.startswith(FORMULA_STARTS):
        float(cell)  # only a plain number may start with + or -
    assert cell in (text, "'" + text)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("-", "'-"),
        ("@x", "'@x"),
        ("plain", "plain"),
        (42, 42),
        (None, None),
        ("", ""),
    ],
)
def test_examples(value: object, cell: object) -> None:
    assert safe_cell(value) == cell
