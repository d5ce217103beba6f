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
every row. Citations are written as ``[]`` by SQLite and the stored citations spliced in
(:func:`with_citations`). ``tests/test_event_json.py`` holds the two equal under Hypothesis.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any

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


_PLAIN_ROW = " AND ".join(
    "typeof(v.citations) = 'text'" if f == "citations" else _plain_value(f"v.{f}") for f in _FIELDS
)
_OBJECT = "json_object({})".format(
    ", ".join(f"'{f}', " + ("json_array()" if f == "citations" else f"v.{f}") for f in _FIELDS)
)
LINE_SQL = f"CASE WHEN {_PLAIN_ROW} THEN {_OBJECT} END"
"""The canonical JSON of the event in row ``v`` of ``verdicts``, citations as ``[]``; NULL
when a value is not plain (the caller then builds the line in Python)."""

_PROBE = "".join(chr(c) for c in range(0x80)) + "é\u2028\u2029\ufeff\uffff😀𝄞"
"""Every ASCII character (each control character, quote and backslash), non-ASCII ones in
and beyond the BMP, and the separators JavaScript once refused raw."""


def line_sql() -> str:
    """:data:`LINE_SQL` when this process's SQLite writes RFC 8785 strings, else ``NULL``."""
    return LINE_SQL if sqlite_writes_canonical() else "NULL"


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
        return False
    finally:
        conn.close()
    expected = {"a": _PROBE, "b": INT_MAX, "c": -INT_MAX, "d": None, "e": []}
    return bool(row[0].encode("utf-8") == dumps_plain(expected))


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
