"""The batch header, ``batch.json``: which batch, from whom, for which guideline pack."""

from __future__ import annotations

import json
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
_OPTIONAL_FIELDS = frozenset(("sampling_weights",))
WEIGHT_STRATA = ("policy", "market")
"""What a batch may declare sampling weights by (``sampling_weights.stratum``)."""
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
    sampling_weights_json: str = "{}"
    """``sampling_weights`` as canonical JSON (``{}`` when the batch declares none)."""


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
    _check_fields(obj, _HEADER_FIELDS | _OPTIONAL_FIELDS, _HEADER_FIELDS, "", label, problems)
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
    weights = (
        _sampling_weights(obj["sampling_weights"], label, problems)
        if "sampling_weights" in obj
        else "{}"
    )
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
        sampling_weights_json=weights,
    )
    return header, data


def _sampling_weights(spec: object, label: str, problems: _Problems) -> str:
    """The optional ``sampling_weights`` object checked, as canonical JSON.

    ``{"stratum": "policy" | "market", "weights": {"<value>": number > 0, ...}}``: how many
    frontline decisions each sampled case of that stratum stands for.
    """
    where = f"{label}, field 'sampling_weights'"
    if not isinstance(spec, dict) or set(spec) != {"stratum", "weights"}:
        problems.add(
            f"{where}: expected an object with exactly 'stratum' and 'weights', got {_shown(spec)}"
        )
        return "{}"
    stratum, weights = spec["stratum"], spec["weights"]
    if stratum not in WEIGHT_STRATA:
        problems.add(
            f"{where}.stratum: expected one of {', '.join(WEIGHT_STRATA)}, got {_shown(stratum)}"
        )
    if not isinstance(weights, dict) or not weights:
        problems.add(
            f"{where}.weights: expected a non-empty object value -> weight, got {_shown(weights)}"
        )
        return "{}"
    for key, weight in weights.items():
        if not _is_token(key):
            problems.add(f"{where}.weights: stratum {_shown(key)}: {_token_problem(key)}")
        if type(weight) not in (int, float) or not 0 < weight < 1e12:
            problems.add(
                f"{where}.weights[{key!r}]: expected a number above 0, got {_shown(weight)}"
            )
    return json.dumps({"stratum": stratum, "weights": weights}, sort_keys=True)
