"""The batch header, ``batch.json``: which batch, from whom, for which guideline pack."""

from __future__ import annotations

from dataclasses import dataclass

from . import limits
from .fields import (
    _check_fields,
    _decode_json_document,
    _is_token,
    _json_type,
    _shown,
    _timestamp_problem,
    _token_problem,
)
from .problems import BatchError, _Problems
from .sources import HEADER_FILE, _read_member, _Source

FORMAT_VERSION = 1
"""The batch format version this module reads (``format_version`` in ``batch.json``)."""

_HEADER_FIELDS = frozenset(
    ("format_version", "id", "name", "issuer", "market", "guideline_pack", "created_at")
)
_PACK_FIELDS = frozenset(("id", "version"))


@dataclass(frozen=True)
class _Header:
    id: str
    name: str
    issuer: str
    market: str
    pack_id: str
    pack_version: str
    created_at: str
    format_version: int


def _read_header(source: _Source) -> tuple[_Header, bytes]:
    label = source.label(HEADER_FILE)
    data = _read_member(source, HEADER_FILE, limits.MAX_HEADER_BYTES)
    obj = _decode_json_document(label, data)
    problems = _Problems()
    if not isinstance(obj, dict):
        raise BatchError(f"{label}: expected a JSON object, got {_json_type(obj)}")
    version = obj.get("format_version")
    if type(version) is not int:
        raise BatchError(
            f"{label}, field 'format_version': expected the integer {FORMAT_VERSION}, got"
            f" {_shown(version) if 'format_version' in obj else 'nothing (missing)'}"
        )
    if version != FORMAT_VERSION:
        raise BatchError(
            f"{label}, field 'format_version': unsupported format_version {version};"
            f" this app reads format_version {FORMAT_VERSION}"
        )
    _check_fields(obj, _HEADER_FIELDS, _HEADER_FIELDS, "", label, problems)
    pack = obj.get("guideline_pack")
    if "guideline_pack" in obj and not isinstance(pack, dict):
        problems.add(
            f"{label}, field 'guideline_pack': expected an object with id and version,"
            f" got {_json_type(pack)}"
        )
    elif isinstance(pack, dict):
        _check_fields(pack, _PACK_FIELDS, _PACK_FIELDS, "guideline_pack.", label, problems)
    problems.raise_if_any()
    assert isinstance(pack, dict)
    values = {
        "id": obj["id"],
        "name": obj["name"],
        "issuer": obj["issuer"],
        "market": obj["market"],
        "guideline_pack.id": pack["id"],
        "guideline_pack.version": pack["version"],
    }
    for name, value in values.items():
        if not _is_token(value):
            problems.add(f"{label}, field {name!r}: {_token_problem(value)}")
    time_problem = _timestamp_problem(obj["created_at"])
    if time_problem:
        problems.add(f"{label}, field 'created_at': {time_problem}")
    problems.raise_if_any()
    header = _Header(
        id=obj["id"],
        name=obj["name"],
        issuer=obj["issuer"],
        market=obj["market"],
        pack_id=pack["id"],
        pack_version=pack["version"],
        created_at=obj["created_at"],
        format_version=version,
    )
    return header, data
