"""The records of the cases file, ``cases.jsonl`` (or ``cases.csv``), a chunk at a time:
every record checked, each problem naming its line and field, rows ready to insert."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..formats.safe_paths import relative_path_problem
from ..vocab import ContentType
from . import limits
from .fields import (
    _T,
    _check_keys,
    _check_token,
    _DuplicateKey,
    _is_token,
    _json_error,
    _json_type,
    _loads,
    _shown,
    _timestamp_problem,
    _token_problem,
    _unknown_name,
)
from .problems import _Bad, _Problems

CONTENT_TYPES = tuple(ContentType)
"""What a case may show (``content_type``)."""
CSV_COLUMNS = (
    "id",
    "content_type",
    "media",
    "text",
    "market",
    "language",
    "tags",
    "label",
    "policy",
    "moderator_id",
    "queue",
    "decided_at",
    "metadata",
)
CSV_REQUIRED_COLUMNS = frozenset(
    (
        "id",
        "content_type",
        "market",
        "language",
        "label",
        "policy",
        "moderator_id",
        "queue",
        "decided_at",
    )
)

_CASE_FIELDS = frozenset(
    ("id", "content_type", "media", "text", "market", "language", "tags", "metadata", "decision")
)
_CASE_REQUIRED = frozenset(("id", "content_type", "market", "language", "decision"))
_DECISION_FIELDS = frozenset(("label", "policy", "moderator_id", "queue", "decided_at"))
_HEADER_FIELDS = frozenset(
    ("format_version", "id", "name", "issuer", "market", "guideline_pack", "created_at")
)
_PACK_FIELDS = frozenset(("id", "version"))

# A token: 1..MAX_TOKEN_LENGTH characters, no control characters, no surrounding whitespace.
_LIST_CELL_SEPARATORS = re.compile(r"[;|]")

_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode
_CHUNK_CASES = 2000  # media inspected at a time
_ROW_SHA = 13  # index of content_sha256 in a case row


@dataclass
class _Cases:
    """One chunk of checked case rows, ready to insert, with what is still to check about
    their media; and what the import found so far in the whole file.

    Problems are kept by kind and reported in this order, as when the file was checked in
    phases: records, then the database (ids of other batches), then media, then conflicts
    with cases already imported in this batch.
    """

    label: str
    lines: dict[str, int] = field(default_factory=dict)  # whole file: case id -> line
    rows: list[Any] = field(default_factory=list)
    media_cases: list[tuple[int, list[str], bytes]] = field(default_factory=list)
    media_rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    previews: dict[str, bytes] = field(default_factory=dict)  # media sha256 -> its preview
    existing: dict[str, str] = field(default_factory=dict)  # same batch: id -> content_sha256
    malformed: int = 0  # records of the chunk that have no row
    rows_json: str | None = None  # the rows as JSON, when complete (writer.rows_json)
    problems: _Problems = field(default_factory=_Problems)
    database_problems: _Problems = field(default_factory=_Problems)
    media_problems: _Problems = field(default_factory=_Problems)
    conflicts: _Problems = field(default_factory=_Problems)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def size(self) -> int:
        """The chunk's records, with or without a row."""
        return len(self.rows) + self.malformed

    def chunk(self) -> _Cases:
        """A new chunk: no rows yet, the whole file's ids and problems shared with this one."""
        return replace(
            self,
            rows=[],
            media_cases=[],
            media_rows={},
            previews={},
            existing={},
            malformed=0,
            rows_json=None,
        )

    @property
    def found_problems(self) -> bool:
        return any(
            p.messages
            for p in (self.problems, self.database_problems, self.media_problems, self.conflicts)
        )

    def raise_if_any(self) -> None:
        """Raise :class:`BatchError` listing the problems of the first kind found."""
        for problems in (self.problems, self.database_problems, self.media_problems):
            problems.raise_if_any()
        self.conflicts.raise_if_any()


def _add_jsonl_chunk(cases: _Cases, chunk: list[tuple[int, str]], batch_id: str) -> None:
    """Check one chunk of cases.jsonl lines into ``cases``' rows (or its problems)."""
    records = [_decode_line(cases, n, s) for n, s in chunk]
    _add_cases(cases, [n for n, _ in chunk], records, batch_id, None)
    cases.malformed = len(chunk) - len(cases.rows)


def _add_csv_chunk(
    cases: _Cases, columns: list[str], chunk: list[tuple[int, list[str]]], batch_id: str
) -> None:
    """Check one chunk of cases.csv rows into ``cases``' rows (or its problems)."""
    records = [_record_from_csv_row(cases, columns, line, row) for line, row in chunk]
    _add_cases(cases, [line for line, _ in chunk], records, batch_id, _CSV_FIELD_NAMES)
    cases.malformed = len(chunk) - len(cases.rows)


_MALFORMED = object()


def _decode_line(cases: _Cases, line: int, text: str) -> Any:
    """The JSON value of one line, or ``_MALFORMED`` after noting the problem."""
    try:
        return _loads(text)
    except _DuplicateKey as exc:
        cases.problems.add(f"{cases.label} line {line}: {exc}")
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        cases.problems.add(f"{cases.label} line {line}: not valid JSON ({_json_error(exc)})")
    except RecursionError:
        cases.problems.add(f"{cases.label} line {line}: not valid JSON (nested too deeply)")
    return _MALFORMED


_CSV_FIELD_NAMES = {f"decision.{name}": name for name in _DECISION_FIELDS}


def _csv_columns(label: str, header: list[str]) -> list[str]:
    columns = [cell.strip() for cell in header]
    problems = _Problems()
    seen: set[str] = set()
    for column in columns:
        if column not in CSV_COLUMNS:
            problems.add(
                f"{label} line 1, field {column!r}: {_unknown_name('column', column, CSV_COLUMNS)}"
            )
        elif column in seen:
            problems.add(f"{label} line 1, field {column!r}: the column appears twice")
        seen.add(column)
    for column in CSV_COLUMNS:
        if column in CSV_REQUIRED_COLUMNS and column not in seen:
            problems.add(f"{label} line 1, field {column!r}: missing column (required)")
    problems.raise_if_any()
    return columns


def _record_from_csv_row(cases: _Cases, columns: list[str], line: int, row: list[str]) -> Any:
    """The record of one CSV row, or ``_MALFORMED`` after noting the problem."""
    if len(row) != len(columns):
        cases.problems.add(
            f"{cases.label} line {line}: {len(row)} cells, but the header names"
            f" {len(columns)} columns"
        )
        return _MALFORMED
    try:
        return _record_from_csv(dict(zip(columns, row, strict=True)))
    except _Bad as bad:
        cases.problems.add_bad(f"{cases.label} line {line}", bad)
        return _MALFORMED


def _record_from_csv(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the record a cases.jsonl line would hold (cells trimmed, except text)."""
    record: dict[str, Any] = {
        "id": cells["id"].strip(),
        "content_type": cells["content_type"].strip(),
        "market": cells["market"].strip(),
        "language": cells["language"].strip(),
        "decision": {name: cells[name].strip() for name in _DECISION_FIELDS},
    }
    for name in ("media", "tags"):
        if cells.get(name, "").strip():
            record[name] = [
                p.strip() for p in _LIST_CELL_SEPARATORS.split(cells[name]) if p.strip()
            ]
    if cells.get("text"):
        record["text"] = cells["text"]
    metadata = cells.get("metadata", "").strip()
    if metadata:
        try:
            record["metadata"] = _loads(metadata)
        except _DuplicateKey as exc:
            raise _Bad("metadata", str(exc)) from None
        except ValueError as exc:
            raise _Bad("metadata", f"not valid JSON ({_json_error(exc)})") from None
        except RecursionError:
            raise _Bad("metadata", "not valid JSON (nested too deeply)") from None
    return record


def _add_cases(
    cases: _Cases,
    lines: list[int],
    records: list[Any],
    batch_id: str,
    names: dict[str, str] | None,
) -> None:
    """Check records (from ``lines``) and keep their rows, or note why they cannot be imported.

    ``_MALFORMED`` records were already reported.
    """
    rows, seen, media_cases, case_row = cases.rows, cases.lines, cases.media_cases, _case_row
    for line, record in zip(lines, records, strict=True):
        if record is _MALFORMED:
            continue
        try:
            row, media, canonical = case_row(record, batch_id)
        except _Bad as bad:
            cases.problems.add_bad(f"{cases.label} line {line}", bad, names)
            continue
        case_id = row[0]
        if case_id in seen:
            cases.problems.add(
                f"{cases.label} line {line}, field 'id': duplicate case id {case_id!r}"
                f" (first on line {seen[case_id]})"
            )
            continue
        seen[case_id] = line
        if media:
            media_cases.append((len(rows), media, canonical))
        rows.append(row)


# The canonical form of a case joins its fields with NUL, which none of them can contain
# (tokens have no control characters, text refuses NUL, JSON escapes it). One regex over it
# checks every token at once: this is the hot loop of a 100,000-case import.
_ANY = r"[^\x00]*"
_CONTENT_TYPE = f"(?:{'|'.join(CONTENT_TYPES)})"
_CANONICAL_OK = re.compile(
    "\x00".join((_T, _CONTENT_TYPE, _ANY, _T, _T, _ANY, _ANY, _T, _T, _T, _T, _ANY))
).fullmatch


class _NotValid(Exception):
    """The fast path met something it does not accept; the thorough check says what."""


def _case_row(record: Any, batch_id: str) -> tuple[list[Any], list[str], bytes]:
    """The database row of one case record, its media paths and its canonical bytes.

    For a text case the row is complete. For an image or video case ``content_sha256`` is
    still to be computed from the canonical bytes and the media hashes. The fast path below
    accepts only valid records; anything else goes to :func:`_case_problem` for a precise
    message.
    """
    try:
        if type(record) is not dict:
            raise _NotValid
        keys = record.keys()
        decision = record["decision"]
        if not (
            keys <= _CASE_FIELDS
            and keys >= _CASE_REQUIRED
            and type(decision) is dict
            and decision.keys() == _DECISION_FIELDS
        ):
            raise _NotValid
        content_type = record["content_type"]
        text = record.get("text")
        if text is None:
            text = ""
        tags = record.get("tags")
        metadata = record.get("metadata")
        media = record.get("media")
        decided_at = decision["decided_at"]
        if type(tags) is list and tags:
            tags_json = _TAG_LISTS.get(tuple(tags)) or _tags_json(tags)
        else:
            tags_json = "[]" if tags is None or tags == [] else _tags_json(tags)
        metadata_json = "{}" if metadata is None or metadata == {} else _metadata_json(metadata)
        if len(text) > limits.MAX_FIELD_CHARS or len(metadata_json) > limits.MAX_FIELD_CHARS:
            raise _NotValid
        fields = (
            record["id"], content_type, text, record["market"], record["language"],
            tags_json, metadata_json, decision["label"], decision["policy"],
            decision["moderator_id"], decision["queue"], decided_at,
        )  # fmt: skip
        canonical = "\x00".join(fields)
        if not _CANONICAL_OK(canonical):
            raise _NotValid
        if decided_at not in _VALID_TIMES:
            _check_timestamp("decision.decided_at", decided_at)
        if content_type == "text":
            if media or media not in (None, []) or not text or text.isspace():
                raise _NotValid
            media = []
        else:
            _check_media_paths(media, content_type)
        encoded = canonical.encode()
    except (_NotValid, LookupError, TypeError, UnicodeEncodeError):
        raise _case_problem(record) from None
    row = [
        fields[0], batch_id, content_type, fields[3], fields[4], text, tags_json, metadata_json,
        fields[7], fields[8], fields[9], fields[10], decided_at,
        None if media else hashlib.sha256(encoded).hexdigest(),
    ]  # fmt: skip
    return row, media, encoded  # type: ignore[return-value]  # media: checked above


def _case_problem(record: Any) -> _Bad:
    """The first problem of a case record, checked field by field, for the message."""
    try:
        _check_case(record)
    except _Bad as bad:
        return bad
    return _Bad(None, "not a valid case record")


def _check_case(record: Any) -> None:
    """Raise :class:`_Bad` for the first problem of a case record; the rules, spelled out."""
    if type(record) is not dict:
        raise _Bad(None, f"expected a JSON object, got {_json_type(record)}")
    _check_keys(record, _CASE_FIELDS, _CASE_REQUIRED, "")
    decision = record["decision"]
    if type(decision) is not dict:
        raise _Bad("decision", f"expected an object, got {_json_type(decision)}")
    _check_keys(decision, _DECISION_FIELDS, _DECISION_FIELDS, "decision.")
    for name in ("id", "market", "language"):
        _check_token(name, record[name])
    for name in ("label", "policy", "moderator_id", "queue"):
        _check_token(f"decision.{name}", decision[name])
    content_type = record["content_type"]
    if type(content_type) is not str or content_type not in CONTENT_TYPES:
        raise _Bad(
            "content_type",
            f"expected one of {', '.join(CONTENT_TYPES)}, got {_shown(content_type)}",
        )
    _check_timestamp("decision.decided_at", decision["decided_at"])
    text = record.get("text")
    if text is None:
        text = ""
    if type(text) is not str:
        raise _Bad("text", f"expected a string, got {_json_type(text)}")
    if "\x00" in text:
        raise _Bad("text", "must not contain NUL characters")
    if len(text) > limits.MAX_FIELD_CHARS:
        raise _Bad("text", f"is {len(text):,} characters long; {_field_limit()}")
    tags, metadata, media = record.get("tags"), record.get("metadata"), record.get("media")
    if tags is not None:
        _tags_json(tags)
    if metadata is not None and len(stored := _metadata_json(metadata)) > limits.MAX_FIELD_CHARS:
        raise _Bad("metadata", f"is {len(stored):,} characters long as JSON; {_field_limit()}")
    if content_type == "text":
        if not text.strip():
            raise _Bad("text", "a text case needs text")
        if media is not None and type(media) is not list:
            raise _Bad("media", f"expected a list of paths, got {_json_type(media)}")
        if media:
            raise _Bad("media", "a text case has no media; use content_type image or video")
    else:
        _check_media_paths(media, content_type)
    for name, value in record.items():
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise _Bad(name, "invalid Unicode (an unpaired surrogate escape)") from None


def _field_limit() -> str:
    return f"the limit for one field is {limits.MAX_FIELD_CHARS:,} characters"


_VALID_TIMES: set[str] = set()
"""Timestamps already seen valid: batches repeat them a lot, and checking is not free."""


def _check_timestamp(name: str, value: Any) -> None:
    problem = _timestamp_problem(value)
    if problem:
        raise _Bad(name, problem)
    if len(_VALID_TIMES) < 100_000:
        _VALID_TIMES.add(value)


def _tags_json(tags: Any) -> str:
    """The stored (canonical JSON) form of a list of tags, once they are checked."""
    if type(tags) is not list:
        raise _Bad("tags", f"expected a list of strings, got {_json_type(tags)}")
    for tag in tags:
        if not _is_token(tag):
            raise _Bad("tags", f"each tag: {_token_problem(tag)}")
    encoded = _CANONICAL(tags)
    if len(_TAG_LISTS) < 10_000:
        _TAG_LISTS[tuple(tags)] = encoded
    return encoded


_TAG_LISTS: dict[tuple[str, ...], str] = {}
"""Tag lists already checked, and their JSON: batches repeat a few of them a lot."""


def _metadata_json(metadata: Any) -> str:
    """The stored (canonical JSON, sorted keys) form of a metadata object."""
    if type(metadata) is not dict:
        raise _Bad("metadata", f"expected an object, got {_json_type(metadata)}")
    try:
        return _CANONICAL(metadata)
    except ValueError:
        raise _Bad("metadata", "numbers must be finite (no NaN or Infinity)") from None
    except RecursionError:
        raise _Bad("metadata", "nested too deeply") from None


def _check_media_paths(media: Any, content_type: str) -> None:
    if media is None or media == []:
        article = "an" if content_type[0] in "aeiou" else "a"
        raise _Bad("media", f"{article} {content_type} case needs at least one media file")
    if type(media) is not list:
        raise _Bad("media", f"expected a list of paths, got {_json_type(media)}")
    if len(media) > limits.MAX_MEDIA_PER_CASE:
        raise _Bad("media", f"{len(media)} files, more than the {limits.MAX_MEDIA_PER_CASE} limit")
    for path in media:
        if type(path) is not str:
            raise _Bad("media", f"expected paths (strings), got {_json_type(path)}")
        problem = relative_path_problem(path)
        if problem:
            raise _Bad("media", f"{path!r} {problem}")
