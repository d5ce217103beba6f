"""An event's RFC 8785 canonical JSON, built by SQLite from its ``verdicts`` row.

An export writes every event as canonical JSON (:func:`audit.event_bytes`). Building that
in Python cost a dict and an encoder call an event, more than the rest of the export
together (issue 15); SQLite's ``json_object`` writes the same bytes from the row directly
when every value is plain::

    sql = f"SELECT v.citations, {event_json.line_sql()} FROM verdicts v"  # NULL: not plain
    line = event_json.with_citations(text.encode(), citations_column)

Why it is the same: the keys are the event's field names, ASCII, given in sorted order (RFC
8785 sorts keys by UTF-16 code units, which for ASCII is that order); ``json_object`` writes
no whitespace; integers within +-(2**53 - 1) as RFC 8785 writes them; strings raw (non-ASCII
as UTF-8, U+2028 and U+007F unescaped) but for ``"``, ``\\``, ``\\b \\t \\n \\f \\r`` and
``\\u00xx`` (lower case) for the other control characters, as RFC 8785 does. A row with any
other value (a real, a blob, a larger integer) gets NULL and takes the Python path, which
says why it cannot be written. The escapes are checked against the Python encoder once a
process (:func:`sqlite_writes_canonical`): an SQLite that escapes differently gets NULL for
every row. Only the columns that can hold other values are checked (:func:`line_sql`): one of
TEXT affinity holds text, null or a blob, and a blob fails the query (the caller asks again
without SQLite's lines). Citations are written as ``[]`` by SQLite and the stored citations
spliced in (:func:`with_citations`). ``tests/test_event_json.py`` holds the two equal under
Hypothesis.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any

import sqlite_utils

from .formats.canonical import INT_MAX, dumps_canonical, dumps_plain
from .verdicts import Citation, VerdictEvent

_FIELDS = tuple(sorted(VerdictEvent.__dataclass_fields__))
_CITATION_FIELDS = tuple(Citation.__dataclass_fields__)
_NO_CITATIONS = b',"citations":[],'
"""What SQLite writes for the citations: the first key, ``case_id``, comes before them, and
its value (a string, whose quotes are all escaped, an integer or null) cannot hold this."""


def _plain_value(column: str) -> str:
    return (
        f"(typeof({column}) IN ('text', 'null')"
        f" OR (typeof({column}) = 'integer' AND {column} BETWEEN {-INT_MAX} AND {INT_MAX}))"
    )


def _guarded(text_columns: frozenset[str]) -> str:
    """:data:`LINE_SQL` checking only the columns not in ``text_columns``: a column of TEXT
    affinity holds only text, null or a blob (SQLite stores a number given to it as text),
    and ``json_object`` refuses a blob with an error (the caller then asks again with
    ``NULL``: the Python path says why such a row cannot be written)."""
    checks = [
        "typeof(v.citations) = 'text'" if f == "citations" else _plain_value(f"v.{f}")
        for f in _FIELDS
        if f not in text_columns
    ]
    return f"CASE WHEN {' AND '.join(checks)} THEN {_OBJECT} END" if checks else _OBJECT


_OBJECT = "json_object({})".format(
    ", ".join(f"'{f}', " + ("json_array()" if f == "citations" else f"v.{f}") for f in _FIELDS)
)
LINE_SQL = _guarded(frozenset())
"""The canonical JSON of the event in row ``v`` of ``verdicts``, citations as ``[]``; NULL
when a value is not plain (the caller then builds the line in Python)."""

_PROBE = "".join(chr(c) for c in range(0x80)) + "é\u2028\u2029\ufeff\uffff😀𝄞"
"""Every ASCII character (each control character, quote and backslash), non-ASCII ones in
and beyond the BMP, and the separators JavaScript once refused raw."""


def line_sql(db: sqlite_utils.Database | None = None) -> str:
    """:data:`LINE_SQL` when this process's SQLite writes RFC 8785 strings, else ``NULL``;
    given the database, without checking the types of its ``verdicts`` columns of TEXT
    affinity (a blob there makes the query fail: run it again with ``NULL``)."""
    if not sqlite_writes_canonical():
        return "NULL"
    if db is None:
        return LINE_SQL
    declared = tuple((row[1], row[2]) for row in db.execute("PRAGMA table_info(verdicts)"))
    return _line_sql_for(declared)


@functools.cache
def _line_sql_for(declared: tuple[tuple[str, str], ...]) -> str:
    return _guarded(frozenset(name for name, kind in declared if _text_affinity(kind)))


def _text_affinity(declared_type: str) -> bool:
    """SQLite's rule for a column's affinity: TEXT when the declared type names CHAR, CLOB or
    TEXT and not INT (https://sqlite.org/datatype3.html, 3.1)."""
    kind = declared_type.upper()
    return "INT" not in kind and any(word in kind for word in ("CHAR", "CLOB", "TEXT"))


@functools.cache
def sqlite_writes_canonical() -> bool:
    """True when SQLite's ``json_object`` writes the probe values as RFC 8785 does (asked
    once: a process has one SQLite library)."""
    conn = sqlite3.connect(":memory:")
    try:
        row = conn.execute(
            "SELECT json_object('a', ?, 'b', ?, 'c', ?, 'd', NULL, 'e', json_array())",
            [_PROBE, INT_MAX, -INT_MAX],
        ).fetchone()
    except sqlite3.Error:
        conn.close()
        return False
    try:
        conn.execute("SELECT json_object('a', x'00')").fetchone()
    except sqlite3.Error:
        blob_refused = True  # what line_sql(db) counts on
    else:
        blob_refused = False
    finally:
        conn.close()
    expected = {"a": _PROBE, "b": INT_MAX, "c": -INT_MAX, "d": None, "e": []}
    return blob_refused and bool(row[0].encode("utf-8") == dumps_plain(expected))


def with_citations(line: bytes, citations: Any) -> bytes:
    """``line`` (:data:`LINE_SQL`'s, as UTF-8) with the row's ``citations`` column in place
    of its ``[]``: the canonical form :func:`audit.event_bytes` gives them."""
    if not citations or citations == "[]":
        return line
    return line.replace(_NO_CITATIONS, b',"citations":' + citations_bytes(citations) + b",", 1)


@functools.lru_cache(maxsize=4096)
def citations_bytes(citations: str) -> bytes:
    """The canonical JSON of a stored citations column (a JSON list of citation objects),
    each citation with exactly its fields: TypeError or ValueError for anything else."""
    cited = [
        {f: getattr(citation, f) for f in _CITATION_FIELDS}
        for citation in (Citation(**c) for c in json.loads(citations))
    ]
    return dumps_canonical(cited)
