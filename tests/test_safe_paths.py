"""The one rule for file names from outside: whatever it accepts stays inside its folder."""

from __future__ import annotations

import posixpath
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa_desktop.core.formats.safe_paths import relative_path_problem

PARTS = st.sampled_from(["a", "media", "..", ".", "", "C:", "x:y", "\\", "é", "e\u0301", "\x00"])


@given(st.lists(PARTS | st.text(max_size=6), min_size=1, max_size=5).map("/".join))
def test_an_accepted_name_stays_inside_its_folder(name: str) -> None:
    if relative_path_problem(name) is not None:
        return
    joined = posixpath.normpath(posixpath.join("/base", name))
    assert joined.startswith("/base/") and "\\" not in name
    assert not re.match(r"[A-Za-z]:", name)  # no Windows drive either


@given(st.text(max_size=20))
def test_strict_accepts_a_subset_of_plain(name: str) -> None:
    if relative_path_problem(name, strict=True) is None:
        assert relative_path_problem(name) is None
        assert ":" not in name and unicodedata.is_normalized("NFC", name)


@pytest.mark.parametrize(
    ("name", "strict", "problem"),
    [
        ("media/cat.png", True, None),
        ("", False, "is empty"),
        ("a\\b", False, "contains a backslash"),
        ("/etc/passwd", False, "is an absolute path"),
        ("C:/x", False, "is an absolute path"),
        ("a/../b", False, "contains '..'"),
        ("a//b", False, "is not a plain relative path"),
        ("./a", False, "is not a plain relative path"),
        ("a\nb", False, "contains control characters"),
        ("bad\ud800", False, "is not valid Unicode"),
        ("ab:c", False, None),
        ("ab:c", True, "contains ':'"),
        ("e\u0301.png", False, None),
        ("e\u0301.png", True, "is not in Unicode NFC form"),
    ],
)
def test_each_refusal_says_why(name: str, strict: bool, problem: str | None) -> None:
    found = relative_path_problem(name, strict=strict)
    assert found == problem if problem is None else found.startswith(problem)
