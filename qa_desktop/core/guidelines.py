"""Guideline packs: versioned, market-localized guidelines with labels and citable sections.

A global pack holds the labels (with their enforcement action) and a tree of sections with
stable ids (``VH-2.3``). A market overlay pack names a global pack version as its base and
adds, replaces (localized title and body) or retires sections. The format is specified in
``docs/guideline-pack.md``::

    store_packs(db, [load_pack(p) for p in paths])          # globals first, one transaction
    g = resolve_guideline(db, "demo-global", "1.0.0", "FR")  # global + the FR overlay in force
    g.section("VH-2.3").title, g.search("dismember")[0].id

Every problem in a pack raises :class:`PackError` naming the file and the JSON path in it,
e.g. ``demo-fr-1.1.0.json: sections[3].labels[0]: unknown label 'vh_remov'``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import sqlite_utils

from .errors import QADesktopError
from .store import transaction

if TYPE_CHECKING:
    from .cases import Case

ACTIONS = ("no_action", "reduce_reach", "age_restrict", "remove")
"""Enforcement actions, weakest first."""

FORMAT_VERSION = 1
"""The pack format version this code reads (the ``format_version`` field)."""

GLOBAL = "global"
"""The market of a global pack."""

CHANGES = ("add", "replace", "retire")
"""What an overlay section does to its base pack."""

STATUSES = ("active", "retired")

SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
"""Semantic Versioning 2.0.0 (semver.org), matched against the whole string."""


class PackError(QADesktopError, ValueError):
    """A guideline pack that cannot be loaded; the message names the file and the place."""


class GuidelineNotFound(PackError, LookupError):
    """The guideline pack (id and version) asked for is not loaded."""


# -- the model ---------------------------------------------------------------------------


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
    """One section as a pack file states it, e.g. ``VH-2.3``.

    In an overlay pack, ``change`` says what the section does to the base (``add``,
    ``replace`` or ``retire``) and only the fields that change carry text.
    """

    id: str
    policy: str
    title: str
    body: str
    labels: tuple[str, ...]
    examples: tuple[str, ...] = ()
    parent: str | None = None
    status: str = "active"
    change: str = ""


@dataclass(frozen=True)
class Pack:
    """One version of a guideline pack: global (``base`` is None) or a market overlay."""

    id: str
    version: str
    market: str
    language: str
    title: str
    labels: tuple[Label, ...]
    sections: tuple[Section, ...]
    source_sha256: str = ""
    effective_date: str = ""
    base: tuple[str, str] | None = None
    source: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def is_overlay(self) -> bool:
        """True for a market overlay of a global pack."""
        return self.base is not None


@dataclass(frozen=True)
class PackSummary:
    """One stored pack version, as ``list_packs`` shows it."""

    id: str
    version: str
    market: str
    language: str
    title: str
    effective_date: str
    base: tuple[str, str] | None


@dataclass(frozen=True)
class EffectiveSection:
    """A section of the guideline in force for a market: base text or its localization."""

    id: str
    policy: str
    title: str
    body: str
    labels: tuple[str, ...]
    examples: tuple[str, ...]
    parent: str | None
    pack_id: str
    pack_version: str
    status: str
    localized: bool
    global_title: str = ""
    """For a section an overlay replaced: the global pack's title (its own otherwise)."""
    global_body: str = ""
    """For a section an overlay replaced: the global pack's text (its own otherwise)."""


@dataclass(frozen=True)
class SectionMatch:
    """One section a citation search found, and why it ranks where it does."""

    section: EffectiveSection
    wording: str
    """Whose words matched: ``"global"`` or the market (``"FR"``); ``"FR + global"`` when
    the words were found only across both."""
    supports: bool
    """The section supports the label the search was asked for."""


@dataclass(frozen=True)
class Guideline:
    """The effective guideline for a market: a global pack version plus the overlay in force."""

    pack_id: str
    pack_version: str
    market: str
    language: str
    overlay: tuple[str, str] | None
    labels: tuple[Label, ...]
    sections: tuple[EffectiveSection, ...]
    _by_id: dict[str, EffectiveSection] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_id.update((s.id, s) for s in self.sections)

    def section(self, section_id: str) -> EffectiveSection | None:
        """The section with that id (active or retired), or None."""
        return self._by_id.get(section_id)

    def children(self, parent_id: str | None) -> list[EffectiveSection]:
        """The sections whose parent is ``parent_id`` (None: the top level), in order."""
        return [s for s in self.sections if s.parent == parent_id]

    def search(self, text: str, limit: int = 20) -> list[EffectiveSection]:
        """Sections whose id, title or body contain every word of ``text`` (any case), in the
        market's wording or the global one; ranked as :meth:`find` ranks them."""
        return [match.section for match in self.find(text, limit=limit)]

    def find(
        self,
        text: str,
        label: str | None = None,
        policy: str | None = None,
        limit: int = 20,
    ) -> list[SectionMatch]:
        """Sections matching every word of ``text`` in their id, title or body, searched in
        the market's wording and in the global wording it localizes (a reviewer on a French
        case may type the English words of the global pack), each saying whose words matched.

        Ranked: active sections first; then those that support ``label`` (the label the
        reviewer chose); then those of ``policy`` (the case's policy); then id-prefix, title,
        body matches; then document order.
        """
        words = text.lower().split()
        if not words:
            return []
        found: list[tuple[tuple[int, ...], SectionMatch]] = []
        for position, section in enumerate(self.sections):
            wording = self._wording(section, words)
            if wording is None:
                continue
            supports = label is not None and label in section.labels
            rank = (
                section.status != "active",
                label is not None and not supports,
                policy is not None and section.policy != policy,
                _search_rank(section, words),
                position,
            )
            found.append((tuple(int(r) for r in rank), SectionMatch(section, wording, supports)))
        found.sort(key=lambda pair: pair[0])
        return [match for _, match in found[:limit]]

    def _wording(self, section: EffectiveSection, words: list[str]) -> str | None:
        own = _haystack(section)
        market = self.market.upper() if section.localized else "global"
        if all(w in own for w in words):
            return market
        if not section.localized:
            return None
        base = _global_haystack(section)
        if all(w in base for w in words):
            return "global"
        if all(w in own or w in base for w in words):
            return f"{market} + global"
        return None

    def label(self, label_id: str) -> Label | None:
        """The label with that id, or None."""
        return next((lb for lb in self.labels if lb.id == label_id), None)


def _haystack(section: EffectiveSection) -> str:
    return f"{section.id}\n{section.title}\n{section.body}".lower()


def _global_haystack(section: EffectiveSection) -> str:
    return f"{section.id}\n{section.global_title}\n{section.global_body}".lower()


def _search_rank(section: EffectiveSection, words: list[str]) -> int:
    if section.id.lower().startswith(words[0]):
        return 0
    titles = f"{section.id}\n{section.title}\n{section.global_title}".lower()
    if all(w in titles for w in words):
        return 1
    return 2


# -- versions ----------------------------------------------------------------------------


def semver_key(version: str) -> tuple[Any, ...]:
    """A sort key ordering versions by semver precedence; ValueError if not a semver.

    >>> sorted(["1.10.0", "1.2.0", "1.2.0-rc.1"], key=semver_key)
    ['1.2.0-rc.1', '1.2.0', '1.10.0']
    """
    match = SEMVER.fullmatch(version)
    if not match:
        raise ValueError(f"bad semver {version!r}")
    major, minor, patch, pre = match.groups()
    core = (int(major), int(minor), int(patch))
    if pre is None:
        return (*core, 1, ())
    idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, idents)


# -- the schema --------------------------------------------------------------------------

_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$", "maxLength": 64}
_TEXT = {"type": "string", "pattern": "\\S", "maxLength": 100_000}
_NAME = {"type": "string", "pattern": "\\S", "maxLength": 500}
_VERSION = {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+([-+].*)?$"}
_LABEL_REFS = {"type": "array", "items": _ID, "minItems": 1}
_EXAMPLES = {"type": "array", "items": _TEXT}

_LABEL = {
    "type": "object",
    "required": ["id", "name", "action", "severity", "policy"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "name": _NAME,
        "action": {"enum": list(ACTIONS)},
        "severity": {"type": "integer", "minimum": 0, "maximum": 100},
        "policy": _ID,
    },
}

_SECTION_FIELDS = {
    "id": _ID,
    "policy": _ID,
    "title": _NAME,
    "body": _TEXT,
    "labels": _LABEL_REFS,
    "examples": _EXAMPLES,
    "parent": _ID,
    "status": {"enum": list(STATUSES)},
}

_SECTION = {
    "type": "object",
    "required": ["id", "policy", "title", "body", "labels"],
    "additionalProperties": False,
    "properties": _SECTION_FIELDS,
}


def _overlay_change(change: str, required: list[str], allowed: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"change": {"const": change}}, "required": ["change"]},
        "then": {
            "required": required,
            "propertyNames": {"enum": ["change", *allowed]},
        },
    }


_OVERLAY_SECTION = {
    "type": "object",
    "required": ["id", "change"],
    "properties": {**_SECTION_FIELDS, "change": {"enum": list(CHANGES)}},
    "additionalProperties": False,
    "allOf": [
        _overlay_change(
            "add",
            ["id", "policy", "title", "body", "labels"],
            ["id", "policy", "title", "body", "labels", "examples", "parent"],
        ),
        _overlay_change("replace", ["id", "title", "body"], ["id", "title", "body", "examples"]),
        _overlay_change("retire", ["id"], ["id"]),
    ],
}

_HEADER = {
    "format_version": {"const": FORMAT_VERSION},
    "id": _ID,
    "version": _VERSION,
    "market": {"type": "string", "pattern": "^(global|[A-Z]{2,8})$"},
    "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
    "title": _NAME,
    "effective_date": {"type": "string", "format": "date"},
}

PACK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "QA Desktop guideline pack",
    "type": "object",
    "required": [
        "format_version",
        "id",
        "version",
        "market",
        "language",
        "title",
        "effective_date",
        "sections",
    ],
    "if": {"type": "object", "required": ["base"]},
    "then": {
        "properties": {
            **_HEADER,
            "market": {"type": "string", "pattern": "^[A-Z]{2,8}$"},
            "base": {
                "type": "object",
                "required": ["id", "version"],
                "additionalProperties": False,
                "properties": {"id": _ID, "version": _VERSION},
            },
            "sections": {"type": "array", "items": _OVERLAY_SECTION, "minItems": 1},
        },
        "not": {"required": ["labels"]},
    },
    "else": {
        "required": ["labels"],
        "properties": {
            **_HEADER,
            "market": {"const": GLOBAL},
            "labels": {"type": "array", "items": _LABEL, "minItems": 1},
            "sections": {"type": "array", "items": _SECTION, "minItems": 1},
        },
    },
    "propertyNames": {"enum": [*_HEADER, "base", "labels", "sections"]},
}
"""The JSON Schema (draft 2020-12) every pack file is checked against first."""


@cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(PACK_SCHEMA)
    return cls(PACK_SCHEMA, format_checker=cls.FORMAT_CHECKER)


# -- loading -----------------------------------------------------------------------------


def load_pack(path: Path) -> Pack:
    """Read and check a pack file; raise :class:`PackError` naming the file and the problem.

    Checks that need other packs (an overlay's base) wait for :func:`store_pack`.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path.name}: cannot read ({exc.strerror})") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PackError(f"{path.name}: not valid UTF-8 JSON ({exc})") from exc
    return parse_pack(data, path.name)


def pack_files(paths: Iterable[Path]) -> list[Path]:
    """The pack files ``paths`` name: a file itself, a folder's ``.json`` files by name.

    :class:`PackError` for a folder with no ``.json`` file.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise PackError(f"{path}: no .json pack files")
            files.extend(found)
        else:
            files.append(path)
    return files


def parse_pack(data: Any, source: str) -> Pack:
    """Check decoded JSON ``data`` against the schema and the pack rules; build the Pack.

    ``source`` (the file name) starts every error message.
    """
    try:
        error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    except RecursionError as exc:
        raise PackError(f"{source}: nested too deeply") from exc
    if error is not None:
        raise _pack_error(source, list(error.absolute_path), _schema_message(error))
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    pack = _build_pack(data, source, hashlib.sha256(canonical.encode()).hexdigest())
    for where, message in _pack_problems(pack):
        raise _pack_error(source, where, message)
    return pack


def _build_pack(data: dict[str, Any], source: str, sha256: str) -> Pack:
    base = data.get("base")
    return Pack(
        id=data["id"],
        version=data["version"],
        market=data["market"],
        language=data["language"],
        title=data["title"],
        labels=tuple(
            Label(lb["id"], lb["name"], lb["action"], int(lb["severity"]), lb["policy"])
            for lb in data.get("labels", [])
        ),
        sections=tuple(_build_section(s) for s in data["sections"]),
        source_sha256=sha256,
        effective_date=data["effective_date"],
        base=(base["id"], base["version"]) if base else None,
        source=source,
        format_version=data["format_version"],
    )


def _build_section(s: dict[str, Any]) -> Section:
    return Section(
        id=s["id"],
        policy=s.get("policy", ""),
        title=s.get("title", ""),
        body=s.get("body", ""),
        labels=tuple(s.get("labels", ())),
        examples=tuple(s.get("examples", ())),
        parent=s.get("parent"),
        status=s.get("status", "active"),
        change=s.get("change", ""),
    )


Where = list[str | int]
Problem = tuple[Where, str]


def _pack_problems(pack: Pack) -> Iterator[Problem]:
    """The rules a schema cannot say: versions, unique ids, references, an acyclic tree."""
    for key, version in (("version", pack.version), ("base", pack.base and pack.base[1])):
        if version is not None and not SEMVER.fullmatch(version):
            yield ([key, "version"] if key == "base" else [key]), f"bad semver {version!r}"
    yield from _duplicates(pack.labels, "labels", "label")
    yield from _duplicates(pack.sections, "sections", "section")
    if pack.is_overlay:
        return  # labels and parents are checked against the base when stored
    label_ids = {lb.id for lb in pack.labels}
    yield from _dangling_labels(enumerate(pack.sections), label_ids)
    parents = {s.id: s.parent for s in pack.sections}
    yield from _dangling_parents(enumerate(pack.sections), set(parents))
    yield from _cycles(enumerate(pack.sections), parents)


def _duplicates(items: Sequence[Label | Section], key: str, kind: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            yield [key, i, "id"], f"duplicate {kind} id {item.id!r}"
        seen.add(item.id)


def _dangling_labels(
    sections: Iterable[tuple[int, Section]], label_ids: set[str]
) -> Iterator[Problem]:
    for i, s in sections:
        for j, ref in enumerate(s.labels):
            if ref not in label_ids:
                yield ["sections", i, "labels", j], f"unknown label {ref!r}"


def _dangling_parents(
    sections: Iterable[tuple[int, Section]], section_ids: set[str]
) -> Iterator[Problem]:
    for i, s in sections:
        if s.parent is not None and s.parent not in section_ids:
            yield ["sections", i, "parent"], f"unknown section {s.parent!r}"


def _cycles(
    sections: Iterable[tuple[int, Section]], parents: dict[str, str | None]
) -> Iterator[Problem]:
    """A cycle in the parent links, reported at the first of its members listed."""
    for i, s in sections:
        chain = [s.id]
        node = parents.get(s.id)
        while node is not None and node in parents:
            chain.append(node)
            if node == s.id:
                yield ["sections", i, "parent"], "cycle in the section tree: " + " -> ".join(chain)
                return
            if len(chain) > len(parents):
                break  # a cycle above this section: reported at one of its members
            node = parents[node]


def _schema_message(error: jsonschema.ValidationError) -> str:
    """A reader's message for a schema violation."""
    key = error.absolute_path[-1] if error.absolute_path else None
    value = error.instance
    kind = error.validator
    if kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        return f"missing field {missing[0]!r}" if missing else error.message
    if "propertyNames" in error.schema_path:
        allowed = ", ".join(error.validator_value)
        return f"field {_short(value)} is not allowed here (allowed: {allowed})"
    if kind == "additionalProperties":
        return _unknown_field(error)
    if kind == "type":
        return f"expected {error.validator_value}, got {_json_type(value)}"
    if kind == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        return f"{_short(value)} is not one of {options}"
    if kind == "const":
        return f"{_short(value)} must be {error.validator_value!r}"
    if kind == "pattern":
        return _pattern_message(key, value)
    if kind == "format":
        return f"bad date {_short(value)} (expected YYYY-MM-DD)"
    if kind in ("minItems", "minLength"):
        return "must not be empty"
    if kind == "not":
        return "an overlay (a pack with 'base') cannot define labels; its base's apply"
    return str(error.message)


def _unknown_field(error: jsonschema.ValidationError) -> str:
    value = error.instance
    allowed = set(error.schema.get("properties", {}))
    extra = sorted(k for k in value if k not in allowed) if isinstance(value, dict) else []
    return f"unknown field {extra[0]!r}" if extra else error.message


def _pattern_message(key: Any, value: Any) -> str:
    if key == "version":
        return f"bad semver {_short(value)}"
    if key in ("title", "body", "name") or isinstance(key, int):
        return "must not be empty"
    if key == "market":
        return f"bad market {_short(value)} (expected 'global' or a code like 'FR')"
    if key == "language":
        return f"bad language {_short(value)} (expected a code like 'fr' or 'pt-BR')"
    return f"bad id {_short(value)} (letters, digits, '.', '_' and '-')"


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pack_error(source: str, where: Where, message: str) -> PackError:
    path = json_path(where)
    return PackError(f"{source}: {path}: {message}" if path else f"{source}: {message}")


def json_path(where: Iterable[str | int]) -> str:
    """``["sections", 3, "labels", 0]`` as ``sections[3].labels[0]``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


# -- storing -----------------------------------------------------------------------------


def store_pack(db: sqlite_utils.Database, pack: Pack) -> bool:
    """Store ``pack`` unless that id and version are already there; True if it was added.

    An overlay is checked against its base pack in the database first. Storing the same
    id and version with different content is a :class:`PackError` (versions are immutable).
    Everything is written in one transaction: nothing is ever half-stored.
    """
    with transaction(db):
        stored = db.execute(
            "SELECT source_sha256 FROM guideline_packs WHERE id = ? AND version = ?",
            [pack.id, pack.version],
        ).fetchone()
        if stored:
            if stored[0] != pack.source_sha256:
                raise PackError(
                    f"{pack.source or pack.id}: version: {pack.id} {pack.version} is already "
                    "stored with different content; publish it as a new version"
                )
            return False
        if pack.base is not None:
            _check_overlay(db, pack)
        _insert_pack(db, pack)
    return True


def store_packs(db: sqlite_utils.Database, packs: Iterable[Pack]) -> list[bool]:
    """Store several packs in one transaction, global packs first; all or nothing.

    Returns, in the order given, whether each pack was added.
    """
    packs = list(packs)
    order = sorted(range(len(packs)), key=lambda i: packs[i].is_overlay)
    added = [False] * len(packs)
    with transaction(db):
        for i in order:
            added[i] = store_pack(db, packs[i])
    return added


def _check_overlay(db: sqlite_utils.Database, pack: Pack) -> None:
    """Check an overlay against its base pack as stored; raise PackError on the first problem."""
    assert pack.base is not None
    base_id, base_version = pack.base
    base = _pack_row(db, base_id, base_version)
    if base is None:
        versions = _stored_versions(db, base_id)
        known = f"stored: {', '.join(versions)}" if versions else "no version is stored"
        raise _pack_error(
            pack.source, ["base"], f"unknown base pack {base_id} {base_version} ({known})"
        )
    if base["base_id"] is not None:
        raise _pack_error(pack.source, ["base"], f"{base_id} {base_version} is an overlay itself")
    for where, message in _overlay_problems(db, pack):
        raise _pack_error(pack.source, where, message)


def _overlay_problems(db: sqlite_utils.Database, pack: Pack) -> Iterator[Problem]:
    assert pack.base is not None
    base_name = " ".join(pack.base)
    base_sections = {s.id: s for s in _stored_sections(db, *pack.base)}
    for i, s in enumerate(pack.sections):
        known = s.id in base_sections
        if s.change == "add" and known:
            yield ["sections", i, "id"], f"section {s.id!r} is already in {base_name}"
        elif s.change != "add" and not known:
            yield ["sections", i, "id"], f"unknown section {s.id!r} (not in {base_name})"
        elif s.change == "replace" and base_sections[s.id].status == "retired":
            yield ["sections", i, "id"], f"section {s.id!r} is retired in {base_name}"
    added = [(i, s) for i, s in enumerate(pack.sections) if s.change == "add"]
    label_ids = {lb.id for lb in pack_labels(db, *pack.base)}
    yield from _dangling_labels(added, label_ids)
    parents = {sid: s.parent for sid, s in base_sections.items()}
    parents.update((s.id, s.parent) for _, s in added)
    yield from _dangling_parents(added, set(parents))
    yield from _cycles(added, parents)


def _insert_pack(db: sqlite_utils.Database, pack: Pack) -> None:
    db.table("guideline_packs").insert(
        {
            "id": pack.id,
            "version": pack.version,
            "market": pack.market,
            "language": pack.language,
            "title": pack.title,
            "source_sha256": pack.source_sha256,
            "format_version": pack.format_version,
            "effective_date": pack.effective_date,
            "base_id": pack.base[0] if pack.base else None,
            "base_version": pack.base[1] if pack.base else None,
        }
    )
    db.table("guideline_labels").insert_all(
        {"pack_id": pack.id, "pack_version": pack.version, "position": i, **vars(lb)}
        for i, lb in enumerate(pack.labels)
    )
    db.table("guideline_sections").insert_all(
        {
            "pack_id": pack.id,
            "pack_version": pack.version,
            "position": i,
            "id": s.id,
            "policy": s.policy,
            "title": s.title,
            "body": s.body,
            "labels": json.dumps(list(s.labels)),
            "examples": json.dumps(list(s.examples), ensure_ascii=False),
            "parent": s.parent,
            "status": s.status,
            "change": s.change,
        }
        for i, s in enumerate(pack.sections)
    )


# -- reading back ------------------------------------------------------------------------


def list_packs(db: sqlite_utils.Database) -> list[PackSummary]:
    """Every stored pack version: by id, then by version (semver order)."""
    rows = [_summary(r) for r in db.query("SELECT * FROM guideline_packs")]
    return sorted(rows, key=lambda p: (p.id, _version_key(p.version)))


def _summary(r: dict[str, Any]) -> PackSummary:
    return PackSummary(
        id=r["id"],
        version=r["version"],
        market=r["market"],
        language=r["language"],
        title=r["title"],
        effective_date=r["effective_date"],
        base=(r["base_id"], r["base_version"]) if r["base_id"] is not None else None,
    )


def _version_key(version: str) -> tuple[Any, ...]:
    try:
        return (0, semver_key(version))
    except ValueError:  # stored before versions were checked
        return (1, version)


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
    """Every section of the pack as stored, in document order (an overlay's: its changes)."""
    return _stored_sections(db, pack_id, version)


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
    found = _stored_sections(db, pack_id, version, where, params)
    first = words[0]

    def rank(s: Section) -> int:
        if s.id.lower().startswith(first):
            return 0
        if all(w in s.title.lower() or w in s.id.lower() for w in words):
            return 1
        return 2

    return sorted(found, key=rank)[:limit]


def _stored_sections(
    db: sqlite_utils.Database,
    pack_id: str,
    version: str,
    where: str = "",
    params: Sequence[str] = (),
) -> list[Section]:
    return [
        Section(
            r["id"],
            r["policy"],
            r["title"],
            r["body"],
            tuple(json.loads(r["labels"])),
            examples=tuple(json.loads(r["examples"])),
            parent=r["parent"],
            status=r["status"],
            change=r["change"],
        )
        for r in db.query(
            "SELECT * FROM guideline_sections WHERE pack_id = ? AND pack_version = ?"
            f"{where} ORDER BY position",
            [pack_id, version, *params],
        )
    ]


def _pack_row(db: sqlite_utils.Database, pack_id: str, version: str) -> dict[str, Any] | None:
    rows = list(
        db.query("SELECT * FROM guideline_packs WHERE id = ? AND version = ?", [pack_id, version])
    )
    return rows[0] if rows else None


def _stored_versions(db: sqlite_utils.Database, pack_id: str) -> list[str]:
    rows = db.execute("SELECT version FROM guideline_packs WHERE id = ?", [pack_id]).fetchall()
    return sorted((r[0] for r in rows), key=_version_key)


# -- resolving ---------------------------------------------------------------------------


def check_resolvable(db: sqlite_utils.Database, pack_id: str, version: str) -> None:
    """Raise what :func:`resolve_guideline` raises for a pack it cannot resolve
    (:class:`GuidelineNotFound`, :class:`PackError` for an overlay), reading one row rather
    than every section: for a check that needs no section."""
    row = db.execute(
        "SELECT base_id, base_version, market FROM guideline_packs WHERE id = ? AND version = ?",
        [pack_id, version],
    ).fetchone()
    if row is None:
        raise GuidelineNotFound(f"guideline pack {pack_id} {version} is not loaded")
    base_id, base_version, market = row
    if base_id is not None:
        raise PackError(
            f"{pack_id} {version} is the {market} overlay of {base_id} "
            f"{base_version}: resolve that with market {market}"
        )


def resolve_guideline(
    db: sqlite_utils.Database,
    pack_id: str,
    version: str,
    market: str,
    on_date: str | None = None,
) -> Guideline:
    """The guideline in force for ``market`` on ``on_date`` (default today) under a global pack.

    The overlay applied is the newest version, among the market's overlays of exactly this
    base version, whose effective date is on or before ``on_date``. Raises
    :class:`GuidelineNotFound` when the global pack version is not loaded.
    """
    base = _pack_row(db, pack_id, version)
    if base is None:
        raise GuidelineNotFound(f"guideline pack {pack_id} {version} is not loaded")
    if base["base_id"] is not None:
        raise PackError(
            f"{pack_id} {version} is the {base['market']} overlay of {base['base_id']} "
            f"{base['base_version']}: resolve that with market {base['market']}"
        )
    day = (on_date or date.today().isoformat())[:10]
    overlay = _overlay_in_force(db, pack_id, version, market, day)
    sections = [_from_base(s, pack_id, version) for s in _stored_sections(db, pack_id, version)]
    if overlay is not None:
        sections = _apply_overlay(
            sections, _stored_sections(db, overlay.id, overlay.version), overlay
        )
    return Guideline(
        pack_id=pack_id,
        pack_version=version,
        market=market,
        language=overlay.language if overlay else base["language"],
        overlay=(overlay.id, overlay.version) if overlay else None,
        labels=tuple(pack_labels(db, pack_id, version)),
        sections=tuple(sections),
    )


def _overlay_in_force(
    db: sqlite_utils.Database, pack_id: str, version: str, market: str, day: str
) -> PackSummary | None:
    if not market or market.lower() == GLOBAL:
        return None
    rows = db.query(
        "SELECT * FROM guideline_packs WHERE base_id = ? AND base_version = ?"
        " AND upper(market) = upper(?) AND effective_date <= ?",
        [pack_id, version, market, day],
    )
    candidates = [_summary(r) for r in rows]
    return max(
        candidates,
        key=lambda p: (_version_key(p.version), p.effective_date, p.id),
        default=None,
    )


def _from_base(s: Section, pack_id: str, version: str) -> EffectiveSection:
    return EffectiveSection(
        id=s.id,
        policy=s.policy,
        title=s.title,
        body=s.body,
        labels=s.labels,
        examples=s.examples,
        parent=s.parent,
        pack_id=pack_id,
        pack_version=version,
        status=s.status,
        localized=False,
    )


def _apply_overlay(
    sections: list[EffectiveSection], changes: list[Section], overlay: PackSummary
) -> list[EffectiveSection]:
    """The base sections with the overlay's replacements, retirements and additions."""
    result = list(sections)
    position = {s.id: i for i, s in enumerate(result)}
    for change in changes:
        if change.change == "add":
            local = _localized(change, overlay)
            result.insert(_insertion_point(result, change.parent), local)
            position = {s.id: i for i, s in enumerate(result)}
        elif change.id in position:
            i = position[change.id]
            result[i] = _changed(result[i], change, overlay)
    return result


def _changed(section: EffectiveSection, change: Section, overlay: PackSummary) -> EffectiveSection:
    if change.change == "retire":
        return replace(section, status="retired")
    return replace(
        section,
        title=change.title,
        body=change.body,
        examples=change.examples or section.examples,
        pack_id=overlay.id,
        pack_version=overlay.version,
        localized=True,
        global_title=section.global_title or section.title,
        global_body=section.global_body or section.body,
    )


def _localized(section: Section, overlay: PackSummary) -> EffectiveSection:
    return EffectiveSection(
        id=section.id,
        policy=section.policy,
        title=section.title,
        body=section.body,
        labels=section.labels,
        examples=section.examples,
        parent=section.parent,
        pack_id=overlay.id,
        pack_version=overlay.version,
        status="active",
        localized=True,
    )


def _insertion_point(sections: list[EffectiveSection], parent: str | None) -> int:
    """After the last section of ``parent``'s subtree (at the end for a top-level section)."""
    if parent is None:
        return len(sections)
    parents = {s.id: s.parent for s in sections}
    last = None
    for i, s in enumerate(sections):
        if _descends_from(s.id, parent, parents):
            last = i
    return len(sections) if last is None else last + 1


def _descends_from(section_id: str, ancestor: str, parents: dict[str, str | None]) -> bool:
    node: str | None = section_id
    for _ in range(len(parents) + 1):
        if node is None:
            return False
        if node == ancestor:
            return True
        node = parents.get(node)
    return False


class Guidelines:
    """The guidelines room (``ws.guidelines``): import packs, resolve the guideline in force."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def import_pack(self, path: Path) -> Pack:
        """Load and store a guideline pack file (a no-op if that version is stored)."""
        pack = load_pack(path)
        store_pack(self._db, pack)
        return pack

    def import_packs(self, paths: list[Path]) -> list[tuple[Pack, bool]]:
        """Load every pack file (for a folder: every ``.json`` in it), then store them all,
        globals first, in one transaction; nothing is stored if any pack is bad.

        Returns each pack with whether it was added (False: that version was stored).
        """
        packs = [load_pack(path) for path in pack_files(paths)]
        return list(zip(packs, store_packs(self._db, packs), strict=True))

    def packs(self) -> list[PackSummary]:
        """Every stored guideline pack version, global and overlay."""
        return list_packs(self._db)

    def guideline(
        self, pack_id: str, version: str, market: str, on_date: str | None = None
    ) -> Guideline:
        """The guideline in force for ``market`` under a global pack version (default: today)."""
        return resolve_guideline(self._db, pack_id, version, market, on_date)

    def for_case(self, case: Case, on_date: str | None = None) -> Guideline:
        """The guideline a case is judged against: its batch's pack, its market's overlay."""
        return resolve_guideline(self._db, case.pack_id, case.pack_version, case.market, on_date)

    def labels_for(self, case: Case) -> list[Label]:
        """The labels of the pack the case's batch names."""
        return pack_labels(self._db, case.pack_id, case.pack_version)

    def search(self, case: Case, text: str) -> list[Section]:
        """Sections of the case's pack matching ``text`` by id, title or body."""
        return search_sections(self._db, case.pack_id, case.pack_version, text)
