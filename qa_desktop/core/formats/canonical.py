"""Canonical JSON: strict parsing (no duplicate keys, no NaN) and RFC 8785 serialization.

Signed bundles carry JSON that must mean one thing to every reader::

    data = loads_strict(b'{"a": 1}')     # DuplicateKeyError for '{"a": 1, "a": 2}'
    dumps_canonical(data) == b'{"a":1}'  # RFC 8785 (JCS) bytes, the same on every machine
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ..errors import QADesktopError


class StrictJSONError(QADesktopError, ValueError):
    """Text that is not strict JSON (bad syntax, NaN/Infinity, not UTF-8)."""


class DuplicateKeyError(StrictJSONError):
    """A JSON object names the same key twice (readers would disagree on its value)."""


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE: Any = (
    _C_MAKE_ENCODER(None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    if _C_MAKE_ENCODER is not None
    else None
)
"""The C encoder ``_ENCODER.encode`` makes on every call (with ``_ENCODER``'s settings:
no markers, no default, ``ensure_ascii=False``, sorted keys, no NaN), made once: making it
was about a third of the cost of encoding one event."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not JSON")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON, refusing duplicate object keys, NaN/Infinity and invalid UTF-8.

    Raises :class:`DuplicateKeyError` or :class:`StrictJSONError`.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StrictJSONError(f"not UTF-8 ({exc.reason})") from None
    try:
        return json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except DuplicateKeyError:
        raise
    except (json.JSONDecodeError, RecursionError) as exc:
        raise StrictJSONError(f"not JSON ({exc})") from None


INT_MAX = 2**53 - 1
"""Largest integer RFC 8785 serializes exactly (an IEEE 754 double's integer range)."""


def _plain(value: Any) -> bool:
    """True when the stdlib encoder writes ``value`` exactly as RFC 8785 does: strings,
    null, booleans, integers within +-(2**53 - 1), lists, and objects with ASCII string keys
    (where code point order is UTF-16 order). Floats and everything else are not plain."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-INT_MAX <= value <= INT_MAX)
    if kind is dict:
        try:
            if not "".join(value).isascii():
                return False
        except TypeError:  # a key that is not a string
            return False
        for item in value.values():
            if type(item) is not str and item is not None and not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item) for item in value)
    return isinstance(value, str)


def dumps_canonical(data: Any) -> bytes:
    """``data`` as RFC 8785 canonical JSON bytes (UTF-8, sorted keys, no whitespace).

    Plain data (see :func:`_plain`) goes through the stdlib's C encoder, whose output is
    then byte for byte RFC 8785 (same escapes, same key order); anything else (floats,
    non-ASCII keys, lone surrogates) through the reference implementation.
    Raises :class:`StrictJSONError` for values JSON cannot hold exactly.
    """
    if _plain(data):
        try:
            return dumps_plain(data)
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference implementation says why
    try:
        return rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise StrictJSONError(f"cannot be canonical JSON ({exc})") from None


def dumps_plain(data: Any) -> bytes:
    """The stdlib encoding of plain data (see :func:`_plain`; the caller has checked),
    which is then its RFC 8785 form. UnicodeEncodeError for a lone surrogate."""
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(data, 0)).encode("utf-8")
    return _ENCODER.encode(data).encode("utf-8")


def is_canonical(line: bytes) -> bool:
    """True when ``line`` is exactly the RFC 8785 canonical JSON of the value it holds
    (so strict parsing reads it: UTF-8, no duplicate key, no NaN).

    The fast path parses with the stdlib's C parser and re-encodes with its C encoder
    (sorted keys, no whitespace, no ASCII escaping) when the value is plain (see
    :func:`_plain`), where those bytes are RFC 8785's: then byte equality decides. Equal
    bytes hold no whitespace, keys in order and no duplicate (a duplicate would make the
    line longer than its re-encoding); unequal bytes are not the canonical form of that
    value. What the fast path cannot decide goes to :func:`is_canonical_by_reference`:
    floats and numbers past +-(2**53 - 1) (the stdlib writes ``1e+20`` and ``1.0`` where
    RFC 8785 writes ``100000000000000000000`` and ``1``), keys outside ASCII (RFC 8785
    sorts by UTF-16 code units, which put U+10000 and above before U+E000..U+FFFF; the
    stdlib sorts by code point), lone surrogates (no UTF-8 form), and text that does not
    parse. Control characters (``\\u001f``, ``\\n``) and U+2028/U+2029 (written raw) are
    escaped the same way by both, so they stay on the fast path.
    """
    try:
        value = json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return is_canonical_by_reference(line)
    if _plain(value):
        try:
            return dumps_plain(value) == line
        except UnicodeEncodeError:
            pass  # a lone surrogate
    return is_canonical_by_reference(line)


def is_canonical_by_reference(line: bytes) -> bool:
    """The full check of :func:`is_canonical`: strict parsing, then the reference RFC 8785
    encoder, then byte equality."""
    try:
        return bytes(rfc8785.dumps(loads_strict(line))) == line
    except (StrictJSONError, rfc8785.CanonicalizationError, TypeError, ValueError):
        return False
