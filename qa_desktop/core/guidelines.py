"""Guideline packs: labels (with their enforcement action) and sections with stable ids.

A pack is one JSON file (see ``resources/guidelines/``)::

    pack = load_pack(Path("resources/guidelines/demo-global-1.0.0.json"))
    store_pack(db, pack)
    search_sections(db, "demo-global", "1.0.0", "gore")   # by id, title or body words

This is the foundation's reader; overlays and schema validation grow here (issue 4).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from .store import transaction

ACTIONS = ("no_action", "reduce_reach", "age_restrict", "remove")
"""Enforcement actions, weakest first."""


class PackError(ValueError):
    """A guideline pack that cannot be loaded; the message names the file and the place."""


@dataclass(frozen=True)
class Label:
    """A decision a reviewer can take, and what it enforces."""

    id: str
    name: str
    action: str
    severity: int
    policy: str

    @property
    def enforces(self) -> bool:
        """True when the label takes action against the content."""
        return self.action != "no_action"


@dataclass(frozen=True)
class Section:
    """One citable section of the guidelines, e.g. ``VH-2.3``."""

    id: str
    policy: str
    title: str
    body: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Pack:
    """One version of a guideline pack."""

    id: str
    version: str
    market: str
    language: str
    title: str
    labels: tuple[Label, ...]
    sections: tuple[Section, ...]
    source_sha256: str = ""


def load_pack(path: Path) -> Pack:
    """Read and check a pack file; raise :class:`PackError` naming the file and the problem."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise PackError(f"{path}: cannot read ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PackError(f"{path}: the pack must be a JSON object")
    try:
        labels = tuple(
            Label(
                id=_str(lb, "id"),
                name=_str(lb, "name"),
                action=_str(lb, "action"),
                severity=int(lb.get("severity", 0)),
                policy=_str(lb, "policy"),
            )
            for lb in data["labels"]
        )
        sections = tuple(
            Section(
                id=_str(s, "id"),
                policy=_str(s, "policy"),
                title=_str(s, "title"),
                body=_str(s, "body"),
                labels=tuple(s.get("labels", [])),
            )
            for s in data["sections"]
        )
        pack = Pack(
            id=_str(data, "id"),
            version=_str(data, "version"),
            market=_str(data, "market"),
            language=_str(data, "language"),
            title=_str(data, "title"),
            labels=labels,
            sections=sections,
            source_sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PackError(f"{path}: missing or wrong field {exc}") from exc
    label_ids = {lb.id for lb in labels}
    for lb in labels:
        if lb.action not in ACTIONS:
            raise PackError(f"{path}: label {lb.id!r} has unknown action {lb.action!r}")
    seen: set[str] = set()
    for s in sections:
        if s.id in seen:
            raise PackError(f"{path}: duplicate section id {s.id!r}")
        seen.add(s.id)
        for ref in s.labels:
            if ref not in label_ids:
                raise PackError(f"{path}: section {s.id!r} names unknown label {ref!r}")
    return pack


def store_pack(db: sqlite_utils.Database, pack: Pack) -> bool:
    """Store ``pack`` unless that id and version are already there; True if it was added."""
    if db.execute(
        "SELECT 1 FROM guideline_packs WHERE id = ? AND version = ?", [pack.id, pack.version]
    ).fetchone():
        return False
    with transaction(db):
        db["guideline_packs"].insert(
            {
                "id": pack.id,
                "version": pack.version,
                "market": pack.market,
                "language": pack.language,
                "title": pack.title,
                "source_sha256": pack.source_sha256,
            }
        )
        db["guideline_labels"].insert_all(
            {"pack_id": pack.id, "pack_version": pack.version, "position": i, **vars(lb)}
            for i, lb in enumerate(pack.labels)
        )
        db["guideline_sections"].insert_all(
            {
                "pack_id": pack.id,
                "pack_version": pack.version,
                "position": i,
                "id": s.id,
                "policy": s.policy,
                "title": s.title,
                "body": s.body,
                "labels": json.dumps(list(s.labels)),
            }
            for i, s in enumerate(pack.sections)
        )
    return True


def pack_labels(db: sqlite_utils.Database, pack_id: str, version: str) -> list[Label]:
    """The pack's labels in their order (the order of keys 1-9)."""
    return [
        Label(r["id"], r["name"], r["action"], r["severity"], r["policy"])
        for r in db.query(
            "SELECT * FROM guideline_labels WHERE pack_id = ? AND pack_version = ?"
            " ORDER BY position",
            [pack_id, version],
        )
    ]


def pack_sections(db: sqlite_utils.Database, pack_id: str, version: str) -> list[Section]:
    """Every section of the pack, in document order."""
    return _sections(db, pack_id, version, "", [])


def search_sections(
    db: sqlite_utils.Database, pack_id: str, version: str, text: str, limit: int = 20
) -> list[Section]:
    """Sections whose id, title or body contain every word of ``text`` (case-insensitive).

    Sections whose id starts with the text come first, then title matches, then body.
    """
    words = text.lower().split()
    if not words:
        return []
    where, params = "", []
    for word in words:
        where += " AND (lower(id) LIKE ? OR lower(title) LIKE ? OR lower(body) LIKE ?)"
        params += [f"%{word}%"] * 3
    found = _sections(db, pack_id, version, where, params)
    first = words[0]

    def rank(s: Section) -> tuple[int, int]:
        if s.id.lower().startswith(first):
            return (0, 0)
        if all(w in s.title.lower() or w in s.id.lower() for w in words):
            return (1, 0)
        return (2, 0)

    return sorted(found, key=rank)[:limit]


def _sections(
    db: sqlite_utils.Database, pack_id: str, version: str, where: str, params: list[str]
) -> list[Section]:
    return [
        Section(r["id"], r["policy"], r["title"], r["body"], tuple(json.loads(r["labels"])))
        for r in db.query(
            "SELECT * FROM guideline_sections WHERE pack_id = ? AND pack_version = ?"
            f"{where} ORDER BY position",
            [pack_id, version, *params],
        )
    ]


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string")
    return value
