"""Checking the fields of batch.json and cases.jsonl: tokens, timestamps, JSON text, and
messages that name what was expected and what was found."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from datetime import datetime
from typing import Any

from . import limits
from .problems import BatchError, _Bad, _Problems

# A token: 1..MAX_TOKEN_LENGTH characters, no control characters, no surrounding whitespace.
_T = rf"(?!\s)[^\x00-\x1f\x7f-\x9f]{{1,{limits.MAX_TOKEN_LENGTH}}}(?<!\s)"
_TOKEN = re.compile(_T).fullmatch


def _check_fields(
    obj: dict[str, Any],
    allowed: frozenset[str],
    required: frozenset[str],
    prefix: str,
    label: str,
    problems: _Problems,
) -> None:
    """Add a problem for each unknown and each missing field of a header object."""
    try:
        _check_keys(obj, allowed, required, prefix)
    except _Bad as bad:
        problems.add_bad(label, bad)


def _check_keys(
    obj: dict[str, Any], allowed: frozenset[str], required: frozenset[str], prefix: str
) -> None:
    """Raise :class:`_Bad` for the unknown fields (with a suggestion) or the missing ones."""
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        others = f"; also unknown: {', '.join(map(repr, unknown[1:]))}" if unknown[1:] else ""
        raise _Bad(prefix + unknown[0], _unknown_name("field", unknown[0], allowed) + others)
    missing = [k for k in sorted(required) if k not in obj]
    if missing:
        raise _Bad(
            prefix + missing[0],
            "missing (required)"
            + (f"; also missing: {', '.join(missing[1:])}" if missing[1:] else ""),
        )


def _unknown_name(kind: str, name: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    """'unknown field (did you mean ...?); allowed: ...' for a typo'd field or column."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind}{hint}; allowed: {', '.join(sorted(allowed))}"


def _check_token(name: str, value: Any) -> None:
    if not _is_token(value):
        raise _Bad(name, _token_problem(value))


def _is_token(value: Any) -> bool:
    return type(value) is str and _TOKEN(value) is not None


def _token_problem(value: Any) -> str:
    if type(value) is not str:
        return f"expected a string, got {_json_type(value)}"
    if not value:
        return "must not be empty"
    if re.search(r"[\x00-\x1f\x7f-\x9f]", value):
        return f"must not contain control characters, got {value!r}"
    if len(value) > limits.MAX_TOKEN_LENGTH:
        return f"longer than {limits.MAX_TOKEN_LENGTH} characters"
    return f"must not start or end with whitespace, got {value!r}"


def _sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _decode_utf8(label: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BatchError(
            f"{label} line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at column"
            f" {column}); save the file as UTF-8"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


class _DuplicateKey(ValueError):
    """A JSON object names the same key twice (json.loads would keep the last silently)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r} (each key may appear once in an object)")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json.loads: refuse a key given twice, like bundles do."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return record


_DECODE = json.JSONDecoder(object_pairs_hook=_unique_keys).decode


def _loads(text: str) -> Any:
    """json.loads, refusing duplicate keys (:class:`_DuplicateKey`)."""
    if text.startswith("\ufeff"):  # as json.loads does (one decoder for every line is faster)
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODE(text)


def _decode_json_document(label: str, data: bytes) -> Any:
    text = _decode_utf8(label, data)
    try:
        return _loads(text)
    except _DuplicateKey as exc:
        raise BatchError(f"{label}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BatchError(
            f"{label} line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BatchError(f"{label}: not valid JSON ({exc})") from None


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


def _timestamp_problem(value: Any) -> str | None:
    """Why ``value`` is not an ISO 8601 date and time with a UTC offset, or None."""
    example = "like 2026-10-30T12:00:00Z"
    if type(value) is not str:
        return f"expected an ISO 8601 timestamp {example}, got {_json_type(value)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"expected an ISO 8601 timestamp {example}, got {value!r}"
    if parsed.tzinfo is None:
        return f"the timestamp needs a UTC offset (Z or +hh:mm), {example}; got {value!r}"
    return None


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)
