"""SQLite's canonical JSON of an event row is the RFC 8785 encoder's, byte for byte (issue 15).

An export takes each event's line from ``event_json.LINE_SQL`` (SQLite's ``json_object``)
with the stored citations spliced in. For any row a ``verdicts`` table can hold (text with
every escape, control character and non-ASCII character, integers at and past the exact
range, reals, blobs, nulls; citations well and badly formed), the line is the reference
encoder's bytes of the event, or NULL (the Python path then writes or refuses it).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import event_json
from qa_desktop.core.formats.canonical import INT_MAX, StrictJSONError
from qa_desktop.core.verdicts import Citation, VerdictEvent
from qa_desktop.core.workspace import Workspace

_FIELDS = tuple(VerdictEvent.__dataclass_fields__)
_CITATION_FIELDS = tuple(Citation.__dataclass_fields__)
_SPECIAL = [
    '"',
    "\\",
    "\x00",
    "\x1f",
    "\x7f",
    "\b\t\n\f\r\x0b",
    "\u2028\u2029",
    "é中😀𝄞\ufeff\uffff",
    ',"citations":[],',
    '"citations":[]',
    "</script>",
]
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10) | st.sampled_from(
    _SPECIAL
)
_int = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from(
    [INT_MAX, -INT_MAX, INT_MAX + 1, -INT_MAX - 1, 0, -1]
)
_scalar = (
    st.none()
    | _text
    | _int
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.binary(max_size=4)
)
_cite_value = st.none() | _text | _int | st.floats(allow_nan=False, allow_infinity=False)
_citation = st.dictionaries(
    st.sampled_from([*_CITATION_FIELDS, "extra", "é"]), _cite_value, max_size=5
) | st.fixed_dictionaries({f: _text for f in _CITATION_FIELDS[:3]}, optional={"quote": _text})
_LONE = '[{"pack_id": "\\ud800", "pack_version": "1", "section_id": "s"}]'
"""A citation with a lone surrogate: it has no UTF-8 form, so no canonical JSON."""
_citation_lists = st.tuples(
    st.lists(_citation, min_size=1, max_size=3), st.booleans(), st.sampled_from([None, 1])
).map(lambda t: json.dumps(t[0], ensure_ascii=t[1], indent=t[2]))
_odd_citations = st.sampled_from(
    ["[]", "", "[ ]", "null", "{}", "[1]", "not json", '"\\ud800"', _LONE]
)
_citations = _citation_lists | _odd_citations | _scalar
_plain_scalar = st.none() | _text | st.integers(min_value=-INT_MAX, max_value=INT_MAX)
_row = st.fixed_dictionaries(
    {f: (_citation_lists | _odd_citations) if f == "citations" else _plain_scalar for f in _FIELDS}
) | st.fixed_dictionaries({f: _citations if f == "citations" else _scalar for f in _FIELDS})
"""Mostly rows SQLite writes (plain values), and rows of any values."""


def _reference(row: dict[str, Any]) -> bytes | str:
    """What the format defines: the reference RFC 8785 bytes of the event as the Python
    path reads the row (citations parsed into citations of exactly their fields)."""
    data = dict(row)
    try:
        cited = data["citations"]
        data["citations"] = (
            [
                {f: getattr(c, f) for f in _CITATION_FIELDS}
                for c in (Citation(**c) for c in json.loads(cited))
            ]
            if cited and cited != "[]"
            else []
        )
        return bytes(rfc8785.dumps(data))
    except (StrictJSONError, rfc8785.CanonicalizationError, TypeError, ValueError):
        return "refused"


def _plain(value: Any) -> bool:
    return value is None or type(value) is str or (type(value) is int and abs(value) <= INT_MAX)


@pytest.mark.parametrize("table", ["typeless", "declared"])
def test_sqlite_lines_are_the_reference_encoders(tmp_path: Path, table: str) -> None:
    """Typeless columns hold any value, so every column is checked; the app's declared
    types (TEXT affinity: only text, null or a blob) let most checks go."""
    assert event_json.sqlite_writes_canonical()
    ws = Workspace.open(tmp_path / "app")
    declared = ws.database_for_tests().execute("PRAGMA table_info(verdicts)").fetchall()
    ws.close()
    types = {row[1]: row[2] if table == "declared" else "" for row in declared}
    assert set(types) == set(_FIELDS)
    conn = sqlite3.connect(tmp_path / "rows.db", isolation_level=None)
    conn.execute(f"CREATE TABLE verdicts ({', '.join(f'{f} {types[f]}' for f in _FIELDS)})")
    db = sqlite_utils.Database(conn)
    written = []

    @settings(max_examples=400, deadline=None)
    @given(_row)
    def check(row: dict[str, Any]) -> None:
        conn.execute("DELETE FROM verdicts")
        conn.execute(
            f"INSERT INTO verdicts VALUES ({', '.join('?' * len(_FIELDS))})",
            [row[f] for f in _FIELDS],
        )
        stored = dict(zip(_FIELDS, conn.execute("SELECT * FROM verdicts").fetchone(), strict=True))
        try:
            citations, text = conn.execute(
                f"SELECT v.citations, {event_json.line_sql(db)} FROM verdicts v"
            ).fetchone()
        except sqlite3.Error:  # a blob in a text column: the export asks again without
            assert any(type(v) is bytes for v in stored.values())
            return
        scalars_plain = all(_plain(v) for f, v in stored.items() if f != "citations")
        # Citations are spliced in by Python, so a declared table does not check them.
        readable = type(stored["citations"]) is str or table == "declared"
        assert (text is not None) == (scalars_plain and readable)
        if text is None:
            return  # the Python path's (tests/test_bundle_fast_paths.py)
        written.append(citations)
        expected = _reference(stored)
        try:
            line: bytes | str = event_json.with_citations(text.encode("utf-8"), citations)
        except (StrictJSONError, TypeError, ValueError):
            line = "refused"
        assert line == expected

    check()
    conn.close()
    assert len(written) > 100  # most examples went through SQLite's JSON
    assert sum(type(c) is str and c.lstrip("[\n ").startswith("{") for c in written) > 40


def test_an_sqlite_that_escaped_differently_would_not_be_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event_json.sqlite_writes_canonical.cache_clear()
    monkeypatch.setattr(event_json, "_PROBE", "\x01")  # any probe: the answer is recomputed
    assert event_json.sqlite_writes_canonical()
    event_json.sqlite_writes_canonical.cache_clear()
    monkeypatch.setattr(event_json, "dumps_plain", lambda data: b"{}")
    assert not event_json.sqlite_writes_canonical()
    assert event_json.line_sql() == "NULL"
    event_json.sqlite_writes_canonical.cache_clear()
