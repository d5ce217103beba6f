"""Writing an import, a chunk at a time inside its one transaction: what is new against the
database, then the inserts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from .. import bundles
from ..clock import utc_now_iso
from .header import _Header
from .problems import BatchError
from .records import _ROW_SHA, _Cases
from .sources import UNSIGNED, _Source

_CASE_COLUMNS = 14
_INSERT_CASES_FROM_JSON = (
    "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags, metadata,"
    " orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
    " SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(_CASE_COLUMNS))
    + " FROM json_each(?)"
)
"""A chunk's rows in one statement, from a JSON array of rows (:func:`rows_json`)."""
_INSERT_MEDIA = (
    "INSERT INTO media (case_id, position, name, sha256, mime, size) VALUES (?,?,?,?,?,?)"
)


def _check_header(db: sqlite_utils.Database, header: _Header, header_label: str) -> bool:
    """Refuse a changed batch header; True if the batch is new."""
    stored = db.execute(
        "SELECT name, issuer, market, pack_id, pack_version, created_at, format_version"
        " FROM batches WHERE id = ?",
        [header.id],
    ).fetchone()
    if stored is not None:
        _check_same_header(header, header_label, stored)
    return stored is None


def _check_chunk_against_database(db: sqlite_utils.Database, batch_id: str, cases: _Cases) -> None:
    """Note ids of this chunk that belong to other batches (``cases.database_problems``) and
    the cases already in this batch (``cases.existing``, for the content check).

    Run before the chunk is inserted; the file's own duplicates never get here.
    """
    ids = json.dumps([row[0] for row in cases.rows])
    found = db.execute(
        "SELECT id, batch_id, content_sha256 FROM cases"
        " WHERE id IN (SELECT value FROM json_each(?))",
        [ids],
    ).fetchall()
    for case_id, stored_batch, content_sha256 in found:
        if stored_batch == batch_id:
            cases.existing[case_id] = content_sha256
        else:
            cases.database_problems.add(
                f"{cases.label} line {cases.lines[case_id]}, field 'id': case {case_id!r}"
                f" already belongs to batch {stored_batch!r}; case ids must be unique across"
                " batches"
            )


def _check_same_header(header: _Header, label: str, stored: tuple[Any, ...]) -> None:
    name, issuer, market, pack_id, pack_version, created_at, format_version = stored
    changed = [
        (field_name, old, new)
        for field_name, old, new in (
            ("name", name, header.name),
            ("issuer", issuer, header.issuer),
            ("market", market, header.market),
            (
                "guideline_pack",
                f"{pack_id} {pack_version}",
                f"{header.pack_id} {header.pack_version}",
            ),
            ("created_at", created_at, header.created_at),
            ("format_version", format_version, header.format_version),
        )
        if old != new
    ]
    if changed:
        field_name, old, new = changed[0]
        raise BatchError(
            f"{label}, field {field_name!r}: batch {header.id!r} is already imported with"
            f" {field_name} {old!r}, this file says {new!r}; a changed batch needs a new id"
        )


def _select_new_cases(cases: _Cases) -> tuple[list[Any], int]:
    """The rows of this chunk to insert, and how many cases are already present unchanged.

    A case already imported in this batch with other content is a conflict
    (``cases.conflicts``).
    """
    if not cases.existing:
        return cases.rows, 0
    new_rows, present = [], 0
    for row in cases.rows:
        stored = cases.existing.get(row[0])
        if stored is None:
            new_rows.append(row)
        elif stored == row[_ROW_SHA]:
            present += 1
        else:
            cases.conflicts.add(
                f"{cases.label} line {cases.lines[row[0]]}, field 'id': case {row[0]!r} is"
                f" already imported in batch {row[1]!r} with different content; a changed"
                " case needs a new id"
            )
    return new_rows, present


def _write_batch(
    db: sqlite_utils.Database,
    header: _Header,
    source_sha256: str,
    batch_is_new: bool,
    count: int,
    source: _Source,
) -> None:
    """Inside the import's transaction, before its cases: the batch row if it is new; for a
    signed source, its ``bundle_log`` entry, and a batch known as unsigned marked signed."""
    conn = db.conn
    if source.bundle is not None:
        bundles.log_imported_bundle(db, source.bundle, count)
        conn.execute(
            "UPDATE batches SET signature_status = ? WHERE id = ? AND signature_status = ?",
            [source.signature_status, header.id, UNSIGNED],
        )
    if batch_is_new:
        conn.execute(
            "INSERT INTO batches (id, name, issuer, market, pack_id, pack_version,"
            " created_at, format_version, imported_at, source_sha256, signature_status,"
            " sampling_weights) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                header.id,
                header.name,
                header.issuer,
                header.market,
                header.pack_id,
                header.pack_version,
                header.created_at,
                header.format_version,
                utc_now_iso(),
                source_sha256,
                source.signature_status,
                header.sampling_weights_json,
            ],
        )


def rows_json(rows: list[Any]) -> str:
    """Case rows (all strings) as the JSON array :data:`_INSERT_CASES_FROM_JSON` reads."""
    return _ROWS_JSON(rows)


_ROWS_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def _write_chunk(db: sqlite_utils.Database, new_rows: list[Any], cases: _Cases) -> None:
    """Insert a chunk's new cases and their media (inside the import's transaction).

    The cases go in with one statement over a JSON array of their rows, not one statement
    a row (``executemany``): SQLite then works the whole chunk without Python's GIL (the
    thread reading the next chunk runs meanwhile), and, the cases table having a trigger,
    it keeps one statement journal for the chunk instead of one a row (about ten pages
    copied a row)."""
    conn = db.conn
    if new_rows:
        encoded = cases.rows_json if new_rows is cases.rows else None
        conn.execute(_INSERT_CASES_FROM_JSON, [encoded or rows_json(new_rows)])
    if cases.media_rows:
        conn.executemany(_INSERT_MEDIA, _media_rows_of(new_rows, cases.media_rows))


def _database_changed(batch_id: str, exc: sqlite3.IntegrityError) -> BatchError:
    return BatchError(
        f"batch {batch_id!r}: the database changed during the import (another import of"
        f" the same cases?): {exc}. Nothing was imported; try again."
    )


def _media_rows_of(
    rows: list[Any], media_rows: dict[str, list[tuple[Any, ...]]]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield from media_rows.get(row[0], ())
