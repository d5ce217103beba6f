"""A case batch rebuilt from the database: the cases of an async calibration session, with
the session's metadata, for the lead to sign and ship to the participants.

The batch keeps the header of the batch the cases came from (same id, name, issuer,
market, pack, creation time), so a participant who already has that batch gets nothing
twice (the same cases, byte for byte the same content hash); one who does not gets a batch
of just these cases. Media are decrypted into memory only, straight into the files to sign::

    files = session_batch_files(db, media_store, ["c-1", "c-2"], {"id": ...})
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from ..bundles.payloads.case_batches import SESSION_FILE
from ..cases import MediaFile
from ..errors import Refused
from ..formats.canonical import dumps_canonical
from ..media_store import MediaStore
from ..vocab import RefusalReason
from .sources import HEADER_FILE

CASES_FILE = "cases.jsonl"


def session_batch_files(
    db: sqlite_utils.Database,
    media: MediaStore,
    case_ids: Sequence[str],
    session: dict[str, Any],
) -> dict[str, bytes]:
    """``{name: bytes}`` of a case batch holding exactly ``case_ids`` and ``session``.

    :class:`Refused` (``mixed-packs``) when the cases come from more than one batch: a
    shipped batch keeps its origin batch's id.
    """
    marks = json.dumps(list(case_ids))
    batch_ids = [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT batch_id FROM cases WHERE id IN (SELECT value FROM json_each(?))",
            [marks],
        )
    ]
    if len(batch_ids) != 1:
        raise Refused(
            RefusalReason.MIXED_PACKS,
            f"the session's cases come from {len(batch_ids)} batches ({', '.join(batch_ids)});"
            " an async session ships as one batch: make one session per batch",
        )
    (batch,) = db.query("SELECT * FROM batches WHERE id = ?", batch_ids)
    header: dict[str, Any] = {
        "format_version": batch["format_version"],
        "id": batch["id"],
        "name": batch["name"],
        "issuer": batch["issuer"],
        "market": batch["market"],
        "guideline_pack": {"id": batch["pack_id"], "version": batch["pack_version"]},
        "created_at": batch["created_at"],
    }
    weights = json.loads(batch["sampling_weights"] or "{}")
    if weights:
        header["sampling_weights"] = weights
    files: dict[str, bytes] = {HEADER_FILE: dumps_canonical(header) + b"\n"}
    lines: list[bytes] = []
    for case_id in case_ids:
        (row,) = db.query("SELECT * FROM cases WHERE id = ?", [case_id])
        record: dict[str, Any] = {
            "id": row["id"],
            "content_type": row["content_type"],
            "market": row["market"],
            "language": row["language"],
            "tags": json.loads(row["tags"]),
            "metadata": json.loads(row["metadata"]),
            "decision": {
                "label": row["orig_label"],
                "policy": row["orig_policy"],
                "moderator_id": row["orig_moderator"],
                "queue": row["orig_queue"],
                "decided_at": row["orig_decided_at"],
            },
        }
        if row["text"]:
            record["text"] = row["text"]
        names: list[str] = []
        for m in db.query("SELECT * FROM media WHERE case_id = ? ORDER BY position", [case_id]):
            stored = media.media(MediaFile(m["name"], m["sha256"], m["mime"], m["size"]))
            files[m["name"]] = stored.read_bytes()
            names.append(m["name"])
        if names:
            record["media"] = names
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
    files[CASES_FILE] = b"".join(line + b"\n" for line in lines)
    files[SESSION_FILE] = dumps_canonical(session) + b"\n"
    return files
