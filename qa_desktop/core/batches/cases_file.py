"""The cases file (``cases.jsonl`` or ``cases.csv``) read as a stream, never whole.

An import reads it twice: one scan (:func:`_scan_cases_file`) checks its size, its UTF-8 and
(for a .csv) its CSV syntax and columns, counts its records and hashes it; then
:func:`_chunks` gives its records in chunks of :data:`CHUNK_CASES`, each with its line number.
What either holds at once is one read block (:data:`_BLOCK`) and one chunk of lines.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from ..formats import zip_safety
from ..formats.zip_safety import size_text
from . import limits
from .problems import BatchError, _Unusable
from .records import _csv_columns, _field_limit
from .sources import CSV_FILE, JSONL_FILE, _FolderSource, _Source

CHUNK_CASES = 5000
"""Records checked and inserted at a time (one ``executemany``)."""
_BLOCK = 1 * zip_safety.MiB
"""Bytes read from the cases file at a time."""


@dataclass(frozen=True)
class _CasesFile:
    """What the scan found: the file, how many records it holds, the batch's source hash."""

    name: str
    label: str
    count: int
    sha256: str
    """SHA-256 of batch.json's bytes followed by the cases file's bytes."""
    columns: tuple[str, ...] | None = None
    """The CSV columns (None for cases.jsonl)."""

    @property
    def is_csv(self) -> bool:
        return self.columns is not None


def _cases_file_name(source: _Source) -> str:
    """The cases file of a batch: cases.jsonl or cases.csv (or the .csv chosen)."""
    if isinstance(source, _FolderSource) and source.cases_name:
        return source.cases_name
    has_jsonl, has_csv = source.has(JSONL_FILE), source.has(CSV_FILE)
    if has_jsonl and has_csv:
        raise BatchError(
            f"{source.label(JSONL_FILE)}: the batch also has a {CSV_FILE}; keep only one cases file"
        )
    if not (has_jsonl or has_csv):
        raise BatchError(
            f"{source.label(JSONL_FILE)}: missing; a batch needs {JSONL_FILE} or {CSV_FILE}"
        )
    return JSONL_FILE if has_jsonl else CSV_FILE


def _scan_cases_file(source: _Source, header_bytes: bytes) -> _CasesFile:
    """Check the cases file as a whole, block by block; count its records and hash it.

    Raises :class:`BatchError` for a file too large, not UTF-8, not valid CSV, with bad CSV
    columns, with no cases or with more than :data:`limits.MAX_CASES`.
    """
    name = _cases_file_name(source)
    label = source.label(name)
    digest = hashlib.sha256(header_bytes)
    is_csv = name.lower().endswith(".csv")
    count, columns = 0, None

    def hashed() -> Iterator[bytes]:
        for block in _byte_blocks(source, name, label):
            digest.update(block)
            yield block

    if is_csv:
        header, rows = _csv_rows(hashed(), label)
        count = sum(1 for _ in rows)
        if not header:
            raise BatchError(f"{label}: empty; expected a header row naming the columns")
        columns = tuple(_csv_columns(label, header[0]))
    else:
        for text in _text_blocks(hashed(), label):
            count += sum(1 for s in text.split("\n") if s and not s.isspace())
    if count == 0:
        raise BatchError(f"{label}: the batch has no cases")
    if count > limits.MAX_CASES:
        raise BatchError(f"{label}: {count:,} cases, more than the {limits.MAX_CASES:,} limit")
    return _CasesFile(name, label, count, digest.hexdigest(), columns)


def _chunks(
    source: _Source, cases_file: _CasesFile, header_bytes: bytes
) -> Iterator[list[tuple[int, str]]]:
    """The records of a scanned cases.jsonl: chunks of (line number, line), blank lines left
    out. (A .csv: :func:`_csv_chunks`.)"""
    # str.splitlines would also split at U+2028 and friends, which JSON strings may hold raw.
    chunk: list[tuple[int, str]] = []
    size, line = CHUNK_CASES, 0
    label = cases_file.label
    for text in _text_blocks(_read_again(source, cases_file, header_bytes), label):
        for s in text.split("\n"):
            line += 1
            if s and not s.isspace():
                chunk.append((line, s))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
        line -= 1  # a block ends at a newline: its last piece is empty, or continues below
    if chunk:
        yield chunk


def _csv_chunks(
    source: _Source, cases_file: _CasesFile, header_bytes: bytes
) -> Iterator[list[tuple[int, list[str]]]]:
    """The rows of a scanned cases.csv after its header: chunks of (line number, cells)."""
    _header, rows = _csv_rows(_read_again(source, cases_file, header_bytes), cases_file.label)
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= CHUNK_CASES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_again(source: _Source, cases_file: _CasesFile, header_bytes: bytes) -> Iterator[bytes]:
    """The scanned file's bytes once more; refused at the end if they are not the bytes the
    scan hashed (the file changed meanwhile: the caller's transaction rolls back)."""
    digest = hashlib.sha256(header_bytes)
    for block in _byte_blocks(source, cases_file.name, cases_file.label, charge=False):
        digest.update(block)
        yield block
    if digest.hexdigest() != cases_file.sha256:
        raise BatchError(f"{cases_file.label}: changed while it was being imported")


def _byte_blocks(source: _Source, name: str, label: str, charge: bool = True) -> Iterator[bytes]:
    """The file's bytes in blocks, refused once past its limits (headers may lie); with
    ``charge``, their size counts against the batch's total."""
    try:
        stream, member_limit, why = source.open(name)
    except _Unusable as exc:
        raise BatchError(f"{label}: {exc}") from None
    limit = min(limits.MAX_CASES_FILE_BYTES, member_limit)
    size = 0
    with stream:
        while True:
            try:
                block = stream.read(_BLOCK)
            except zip_safety.DECODE_ERRORS as exc:
                raise BatchError(f"{label}: cannot be read ({exc})") from None
            if not block:
                break
            size += len(block)
            if size > member_limit:
                raise BatchError(f"{label}: {why}")
            if size > limit:
                raise BatchError(
                    f"{label}: is larger than the {size_text(limit)} limit for this file"
                )
            yield block
    if charge:
        source.count(size)


def _text_blocks(blocks: Iterator[bytes], label: str, csv_breaks: bool = False) -> Iterator[str]:
    """The decoded text, in pieces that end at a line break (the last one may not); a leading
    byte-order mark is dropped. Bytes that are not UTF-8 are refused naming line and column.

    Lines end at ``\n``; with ``csv_breaks`` also at a lone ``\r`` (never between ``\r`` and
    ``\n``), as the csv module splits them. A line longer than
    :data:`limits.MAX_LINE_BYTES` is refused: no case record is that long.
    """
    parts: list[bytes] = []
    carried, line, first = 0, 1, True
    for block in blocks:
        end = _break_after(block, csv_breaks)
        if end == 0:
            parts.append(block)
            carried += len(block)
            if carried > limits.MAX_LINE_BYTES:
                raise BatchError(
                    f"{label} line {line}: longer than {size_text(limits.MAX_LINE_BYTES)};"
                    " no case record is that long (is it a cases file?)"
                )
            continue
        data = b"".join((*parts, block)) if parts else block
        end += len(data) - len(block)
        yield _decoded(data, end, label, line, first)
        line += data.count(b"\n", 0, end)
        first = False
        parts, carried = ([data[end:]], len(data) - end) if end < len(data) else ([], 0)
    if parts:
        yield _decoded(b"".join(parts), carried, label, line, first)


def _break_after(block: bytes, csv_breaks: bool) -> int:
    """Where the last complete line of ``block`` ends (0: none does)."""
    end = block.rfind(b"\n") + 1
    if csv_breaks:  # a \r as the block's last byte may be followed by \n: not yet
        end = max(end, block.rfind(b"\r", 0, len(block) - 1) + 1)
    return end


def _decoded(data: bytes, end: int, label: str, line: int, first: bool) -> str:
    try:
        text = data[:end].decode("utf-8") if end < len(data) else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line += data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BatchError(
            f"{label} line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at column"
            f" {column}); save the file as UTF-8"
        ) from None
    return text[1:] if first and text.startswith("\ufeff") else text


def _csv_rows(
    blocks: Iterator[bytes], label: str
) -> tuple[list[list[str]], Iterator[tuple[int, list[str]]]]:
    """The header row (in a list, once read) and the rows after it with a non-blank cell,
    as (line number, cells); CSV errors name the line."""
    csv.field_size_limit(limits.MAX_FIELD_CHARS)  # the default, made explicit: one limit
    # Lines as io.StringIO(newline="") splits them (\r, \n, \r\n), which csv expects.
    texts = _text_blocks(blocks, label, csv_breaks=True)
    lines = (part for text in texts for part in io.StringIO(text, newline=""))
    reader = csv.reader(lines, strict=True)
    header: list[list[str]] = []

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            first = next(reader, None)
            if first is None:
                return
            header.append(first)
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, row
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise BatchError(
                    f"{label} line {reader.line_num}: a cell is longer than"
                    f" {limits.MAX_FIELD_CHARS:,} characters; {_field_limit()}"
                ) from None
            raise BatchError(f"{label} line {reader.line_num}: not valid CSV ({exc})") from None

    return header, rows()
