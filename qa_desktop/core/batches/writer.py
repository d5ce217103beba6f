"""Writing an import: what is new against the database, then one transaction of inserts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from .. import bundles
from ..clock import utc_now_iso
from ..store import find_index_deferred, transaction
from .header import _Header
from .problems import BatchError
from .progress import _Progress
from .records import _CHUNK_CASES, _ROW_SHA, _Cases
from .sources import UNSIGNED, _Source

_INSERT_CASE = (
    "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags, metadata,"
    " orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_MEDIA = (
    "INSERT INTO media (case_id, position, name, sha256, mime, size) VALUES (?,?,?,?,?,?)"
)


def _check_against_database(
    db: sqlite_utils.Database, header: _Header, header_label: str, cases: _Cases
) -> bool:
    """Refuse a changed batch header and case ids of other batches; True if the batch is new.

    Cases already in this batch are noted (``cases.existing``) for the content check.
    """
    stored = db.execute(
        "SELECT name, issuer, market, pack_id, pack_version, created_at, format_version"
        " FROM batches WHERE id = ?",
        [header.id],
    ).fetchone()
    if stored is not None:
        _check_same_header(header, header_label, stored)
    if db.execute("SELECT 1 FROM cases LIMIT 1").fetchone() is None:
        return stored is None
    ids = json.dumps([row[0] for row in cases.rows])
    found = db.execute(
        "SELECT id, batch_id, content_sha256 FROM cases"
        " WHERE id IN (SELECT value FROM json_each(?))",
        [ids],
    ).fetchall()
    for case_id, batch_id, content_sha256 in found:
        if batch_id == header.id:
            cases.existing[case_id] = content_sha256
        else:
            cases.problems.add(
                f"{cases.label} line {cases.lines[case_id]}, field 'id': case {case_id!r}"
                f" already belongs to batch {batch_id!r}; case ids must be unique across"
                " batches"
            )
    cases.problems.raise_if_any()
    return stored is None


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
    """The rows to insert, and how many cases are already present unchanged.

    A case already imported in this batch with other content is a conflict.
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
            cases.problems.add(
                f"{cases.label} line {cases.lines[row[0]]}, field 'id': case {row[0]!r} is"
                f" already imported in batch {row[1]!r} with different content; a changed"
                " case needs a new id"
            )
    cases.problems.raise_if_any()
    return new_rows, present


def _write(
    db: sqlite_utils.Database,
    header: _Header,
    source_sha256: str,
    batch_is_new: bool,
    cases: _Cases,
    new_rows: list[Any],
    tracker: _Progress,
    source: _Source,
) -> None:
    """Insert the batch, its new cases and their media in one transaction.

    A signed source is logged in ``bundle_log`` and marks a batch known as unsigned signed.
    """
    tracker.check_cancelled()
    tracker.advance(cases.count - len(new_rows))
    if not new_rows and not batch_is_new and source.bundle is None:
        return
    signature_status = source.signature_status
    conn = db.conn
    try:
        with transaction(db):
            if source.bundle is not None:
                bundles.log_imported_bundle(db, source.bundle, cases.count)
                conn.execute(
                    "UPDATE batches SET signature_status = ? WHERE id = ? AND signature_status = ?",
                    [signature_status, header.id, UNSIGNED],
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
                        signature_status,
                        header.sampling_weights_json,
                    ],
                )
            with find_index_deferred(db):  # the find index in one statement at the end
                for start in range(0, len(new_rows), _CHUNK_CASES * 5):
                    tracker.check_cancelled()
                    chunk = new_rows[start : start + _CHUNK_CASES * 5]
                    conn.executemany(_INSERT_CASE, chunk)
                    tracker.advance(len(chunk))
            if cases.media_rows:
                tracker.check_cancelled()
                conn.executemany(_INSERT_MEDIA, _media_rows_of(new_rows, cases.media_rows))
    except sqlite3.IntegrityError as exc:
        raise BatchError(
            f"batch {header.id!r}: the database changed during the import (another import of"
            f" the same cases?): {exc}. Nothing was imported; try again."
        ) from exc


def _media_rows_of(
    rows: list[Any], media_rows: dict[str, list[tuple[Any, ...]]]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield from media_rows.get(row[0], ())
