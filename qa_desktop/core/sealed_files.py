"""Sealed files: a file encrypted and authenticated in fixed-size chunks (AES-256-GCM), so it
can be read with random access (a video seeks) without decrypting the whole of it.

Layout (all integers big-endian)::

    header  = MAGIC (8) | chunk size (4) | nonce prefix (8, random per file)
    chunk i = AES-GCM(key, nonce = prefix | i (4), plaintext[i*C : (i+1)*C],
                      aad = header | name | i (8) | last (1)) = ciphertext | tag (16)

Every chunk but the last holds exactly ``C`` plaintext bytes; the last holds 0 to ``C``. The
chunk index and the last-flag are bound in each chunk's associated data, so chunks cannot be
reordered, dropped or the file truncated at a chunk boundary without a failed tag; the
``name`` (the media's content hash) is bound too, so two sealed files cannot be swapped::

    with open(path, "wb") as out:
        with SealedWriter(out, key, name) as sealed:
            sealed.write(data)
    with SealedReader(path, key, name) as reader:   # an io.BufferedIOBase: read, seek, tell
        reader.seek(1_000_000)
        reader.read(4096)

Nothing here writes plaintext anywhere: decrypted chunks live in memory only.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import QADesktopError

MAGIC = b"QASEAL\x00\x01"
CHUNK_SIZE = 64 * 1024
"""Plaintext bytes per chunk: small enough for cheap random reads, large enough that the
16-byte tag and one cipher call per chunk cost next to nothing."""
TAG_SIZE = 16
KEY_SIZE = 32
_PREFIX_SIZE = 8
HEADER_SIZE = len(MAGIC) + 4 + _PREFIX_SIZE
_MAX_CHUNKS = 2**32


class SealedFileError(QADesktopError, ValueError):
    """A sealed file that cannot be opened: not sealed, wrong key, damaged or altered."""


def sealed_size(plain_size: int) -> int:
    """The size on disk of a sealed file holding ``plain_size`` bytes."""
    chunks = max(1, -(-plain_size // CHUNK_SIZE))
    return HEADER_SIZE + plain_size + chunks * TAG_SIZE


def is_sealed(path: Path) -> bool:
    """True when ``path`` starts like a sealed file (its tags are not checked)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _aad(header: bytes, name: bytes, index: int, last: bool) -> bytes:
    return header + name + struct.pack(">QB", index, 1 if last else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


class SealedWriter:
    """Encrypts what is written to it into ``out``, chunk by chunk; :meth:`close` seals the
    last chunk (a file whose writer was not closed fails to open)."""

    def __init__(self, out: IO[bytes], key: bytes, name: str) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("a sealed file's key is 32 bytes")
        self._out = out
        self._cipher = AESGCM(key)
        self._name = name.encode()
        self._prefix = os.urandom(_PREFIX_SIZE)
        self._header = MAGIC + struct.pack(">I", CHUNK_SIZE) + self._prefix
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        out.write(self._header)

    def write(self, data: bytes) -> int:
        """Add ``data``; full chunks are encrypted and written as soon as more follows."""
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep one chunk back: it may be the last
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def close(self) -> None:
        """Write the last chunk (possibly empty), marked as last."""
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

    def _emit(self, chunk: bytes, last: bool) -> None:
        if self._index >= _MAX_CHUNKS:
            raise SealedFileError("file too large to seal")
        aad = _aad(self._header, self._name, self._index, last)
        self._out.write(self._cipher.encrypt(_nonce(self._prefix, self._index), chunk, aad))
        self._index += 1

    def __enter__(self) -> SealedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


class SealedReader(io.BufferedIOBase):
    """A sealed file read like a plain binary file (read, seek, tell), decrypting only the
    chunks it touches and keeping the last one in memory.

    A failed tag raises :class:`SealedFileError` and is kept in :attr:`error`. With
    ``quiet=True`` (for OpenCV's stream reader, where an exception raised inside ``read``
    crashes the process) a failed read or seek returns end of file instead; the consumer
    then asks :attr:`error` why it stopped.
    """

    def __init__(self, path: Path, key: bytes, name: str, *, quiet: bool = False) -> None:
        super().__init__()
        self.path = path
        self.quiet = quiet
        self.error: SealedFileError | None = None
        self._name = name.encode()
        self._cipher = AESGCM(key)
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._position = 0
        self._cached_index = -1
        self._cached = b""
        try:
            self._open_header()
        except BaseException:
            self._file.close()
            raise

    def _open_header(self) -> None:
        header = self._file.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
            raise self._failed("it is not an encrypted media file")
        (self._chunk,) = struct.unpack(">I", header[len(MAGIC) : len(MAGIC) + 4])
        if not 0 < self._chunk <= 64 * CHUNK_SIZE:
            raise self._failed("its header is damaged")
        self._header = header
        self._prefix = header[len(MAGIC) + 4 :]
        body = os.fstat(self._file.fileno()).st_size - HEADER_SIZE
        stride = self._chunk + TAG_SIZE
        self._chunks = max(1, -(-body // stride))
        last = body - (self._chunks - 1) * stride
        if last < TAG_SIZE:
            raise self._failed("it is truncated")
        self.size = body - self._chunks * TAG_SIZE
        # The last chunk's tag covers the header, the name and the last-flag: checking it now
        # authenticates the size too, even of an empty file nobody ever reads from.
        self._chunk_plain(self._chunks - 1)

    def _failed(self, why: str) -> SealedFileError:
        error = SealedFileError(f"{self.path.name}: {why}")
        if self.error is None:
            self.error = error
        return error

    def _chunk_plain(self, index: int) -> bytes:
        if index == self._cached_index:
            return self._cached
        stride = self._chunk + TAG_SIZE
        self._file.seek(HEADER_SIZE + index * stride)
        sealed = self._file.read(stride)
        last = index == self._chunks - 1
        try:
            plain = self._cipher.decrypt(
                _nonce(self._prefix, index), sealed, _aad(self._header, self._name, index, last)
            )
        except InvalidTag:
            raise self._failed(
                f"chunk {index} fails its authentication check (the stored file is damaged "
                "or was altered, or the key is not this store's)"
            ) from None
        self._cached_index, self._cached = index, plain
        return plain

    def read_all(self) -> bytes:
        """The whole plaintext, every chunk checked."""
        self.seek(0)
        return self.read()

    # -- io.BufferedIOBase -------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._seek(offset, whence)
        except Exception as exc:
            if not self.quiet:
                raise
            self._note(exc)
            return -1

    def _seek(self, offset: int, whence: int) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._read(size)
        except Exception as exc:
            if not self.quiet:
                raise
            self._note(exc)
            return b""

    def _note(self, exc: Exception) -> None:
        if self.error is None:
            self.error = SealedFileError(f"{self.path.name}: cannot be read ({exc})")

    def _read(self, size: int | None) -> bytes:
        if self.closed:
            raise ValueError("read of a closed file")
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts: list[bytes] = []
        while self._position < end:
            index, offset = divmod(self._position, self._chunk)
            plain = self._chunk_plain(index)
            piece = plain[offset : offset + end - self._position]
            if not piece:
                break
            parts.append(piece)
            self._position += len(piece)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._cached = b""
        super().close()


def seal_in_place(path: Path, key: bytes, name: str) -> bool:
    """Encrypt a plaintext ``path`` in place, crash-safely: sealed under a unique temporary
    name beside it, fsynced, then renamed over it. False (nothing done) if it is sealed.

    Whether it is sealed is read from the same open file that is then encrypted, so two
    processes migrating at once never seal a file twice.
    """
    with open(path, "rb") as src:
        if src.read(len(MAGIC)) == MAGIC:
            return False
        src.seek(0)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".sealing-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                with SealedWriter(out, key, name) as sealed:
                    while chunk := src.read(1024 * 1024):
                        sealed.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    return True
