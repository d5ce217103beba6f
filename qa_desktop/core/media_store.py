"""The media store: case media encrypted at rest, by content hash (``media/sha[:2]/sha``).

Each file is a sealed file (:mod:`.sealed_files`, AES-256-GCM in 64 KiB chunks) under one
random 32-byte key per store. The key lives in ``keys/media-store-key.json`` (0600):

- with a real OS keyring, that file holds the store key *wrapped* (AES-GCM) under a random
  key-encryption key kept in the keyring: the files on disk are useless without the user's
  login session;
- without one, the file holds the key itself: it protects only against the media folder
  being copied on its own.

Media are decrypted into memory only (``StoredMedia.read_bytes`` for images, a seekable
``StoredMedia.open()`` stream for videos); nothing decrypted is ever written to disk::

    store = MediaStore(data_dir, data_dir / "media")
    stored = store.media(case.media[0])    # a StoredMedia: name, path, key
    stored.read_bytes()                    # the original file, authenticated
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .bundles.atomic_files import fsync_dir
from .cases import MediaFile
from .errors import QADesktopError
from .keys import KEYRING_SERVICE, KEYS_DIRNAME, os_keyring
from .sealed_files import (
    KEY_SIZE,
    SealedFileError,
    SealedReader,
    SealedWriter,
    is_sealed,
    seal_in_place,
    sealed_size,
)

KEY_FILENAME = "media-store-key.json"
KEY_FORMAT = "qa-desktop-media-store-key"
PREVIEW_SUFFIX = ".preview"
"""A media file's stored preview lives beside it, ``media/sha[:2]/sha.preview``: a small
picture already blurred at least as strongly as the app's strongest blur, sealed like the
media file (under the name ``sha.preview``, so it opens only as that file's preview)."""
MIGRATED_MARKER = ".sealed-v1"
"""Present in the media folder once every file in it is sealed (a new store, or a migrated
one); while absent, opening the workspace seals any plaintext file left from older versions."""

__all__ = [
    "PREVIEW_SUFFIX",
    "MediaKeyError",
    "MediaStore",
    "SealedFileError",
    "SealedWriter",
    "StoredMedia",
    "sealed_size",
    "write_preview",
]


class MediaKeyError(QADesktopError, ValueError):
    """The media store's key cannot be had (keyring entry missing, key file damaged)."""


@dataclass(frozen=True)
class StoredMedia:
    """One sealed media file of a case, ready to be read into memory.

    ``name`` is the file's name in its batch (what messages show); the key is never shown.
    """

    name: str
    sha256: str
    mime: str
    path: Path
    key: bytes = field(repr=False)

    def open(self, *, quiet: bool = False) -> SealedReader:
        """A seekable stream of the original bytes (see :class:`SealedReader`)."""
        return SealedReader(self.path, self.key, self.sha256, quiet=quiet)

    def read_bytes(self) -> bytes:
        """The whole original file, every chunk authenticated."""
        with self.open() as reader:
            return reader.read_all()

    @property
    def preview_path(self) -> Path:
        """Where this file's stored (blurred, sealed) preview lives."""
        return self.path.with_name(self.path.name + PREVIEW_SUFFIX)

    def read_preview(self) -> bytes | None:
        """The stored preview's bytes, authenticated; None when it has none.

        :class:`SealedFileError` when the preview file is damaged or was altered."""
        try:
            reader = SealedReader(self.preview_path, self.key, self.sha256 + PREVIEW_SUFFIX)
        except FileNotFoundError:
            return None
        with reader:
            return reader.read_all()

    def write_preview(self, data: bytes) -> None:
        """Store ``data`` (an already blurred picture, never a sharp one) as this file's
        preview, sealed, replacing any earlier one."""
        write_preview(self.preview_path, self.key, self.sha256, data)


def write_preview(path: Path, key: bytes, sha256: str, data: bytes) -> None:
    """Seal ``data`` to ``path`` as the preview of the media file ``sha256``, atomically
    (a unique temporary, then a rename; not fsynced: a preview lost or damaged by a crash
    fails authentication and is made again from its media file)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, SealedWriter(out, key, sha256 + PREVIEW_SUFFIX) as sealed:
            sealed.write(data)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


_KEY_CACHE: dict[Path, bytes] = {}
_KEY_LOCK = threading.Lock()


def forget_keys() -> None:
    """Drop the store keys this process holds in memory (the next use reads them again,
    from the OS keyring where they are sealed)."""
    with _KEY_LOCK:
        _KEY_CACHE.clear()


class MediaStore:
    """The sealed media store of one data directory (thread-safe: no database)."""

    def __init__(self, data_dir: Path, media_dir: Path) -> None:
        self.data_dir = data_dir
        self.media_dir = media_dir

    @property
    def key_path(self) -> Path:
        """The store key file (``keys/media-store-key.json``)."""
        return self.data_dir / KEYS_DIRNAME / KEY_FILENAME

    def key(self) -> bytes:
        """The store key: made on first use, then read (and cached for this process)."""
        path = self.key_path.resolve()
        with _KEY_LOCK:
            key = _KEY_CACHE.get(path)
            if key is None:
                if path.exists():
                    key = _load_key(path)
                elif self._holds_sealed_media():
                    raise MediaKeyError(
                        f"{path} is missing, and the media in {self.media_dir} were encrypted "
                        "with the key it held: restore it, or remove the media folder and "
                        "import the batches again (verdicts are kept)"
                    )
                else:
                    key = _create_key(path)
                _KEY_CACHE[path] = key
            return key

    def _holds_sealed_media(self) -> bool:
        if not self.media_dir.is_dir():
            return False
        for sub in self.media_dir.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                for entry in sub.iterdir():
                    if not entry.name.startswith(".") and is_sealed(entry):
                        return True
        return False

    def path(self, sha256: str) -> Path:
        """Where the file with this content hash lives."""
        return self.media_dir / sha256[:2] / sha256

    def media(self, media: MediaFile) -> StoredMedia:
        """The sealed file of one media file of a case."""
        return StoredMedia(
            media.name, media.sha256, media.mime, self.path(media.sha256), self.key()
        )

    def needs_migration(self) -> bool:
        """True while files from an older, unencrypted store may remain."""
        return not (self.media_dir / MIGRATED_MARKER).exists()

    def migrate(self) -> int:
        """Seal every plaintext file in the store in place (idempotent and crash-safe: each
        is written sealed under a temporary name, fsynced, renamed over the original);
        remove temporaries a crash left; then mark the store migrated. Returns how many
        files were sealed."""
        sealed = failed = 0
        if self.media_dir.is_dir():
            key: bytes | None = None
            for sub in sorted(self.media_dir.iterdir()):
                if not sub.is_dir() or len(sub.name) != 2:
                    continue
                for entry in sorted(sub.iterdir()):
                    if entry.name.startswith(".sealing-"):
                        entry.unlink(missing_ok=True)  # a crash's leftover (or a racer's)
                        continue
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    key = key or self.key()
                    try:
                        sealed += seal_in_place(entry, key, entry.name)
                    except OSError:
                        failed += 1  # tried again at the next open
            fsync_dir(self.media_dir)
        if failed:
            return sealed
        marker = self.media_dir / MIGRATED_MARKER
        marker.write_bytes(b"")
        marker.chmod(0o600)
        return sealed


def _wrap_aad(entry: str) -> bytes:
    return f"{KEY_FORMAT} {entry}".encode()


def _create_key(path: Path) -> bytes:
    """Make a store key and its file; if another process made one first, use that one."""
    key = os.urandom(KEY_SIZE)
    record: dict[str, Any] = {"format": KEY_FORMAT, "version": 1}
    keyring = os_keyring()
    entry = ""
    if keyring is not None:
        entry = f"media-store-{base64.urlsafe_b64encode(os.urandom(9)).decode()}"
        wrapping = os.urandom(KEY_SIZE)
        nonce = os.urandom(12)
        wrapped = AESGCM(wrapping).encrypt(nonce, key, _wrap_aad(entry))
        keyring.set_password(KEYRING_SERVICE, entry, base64.b64encode(wrapping).decode())
        record |= {
            "storage": "keyring",
            "keyring_entry": entry,
            "nonce": base64.b64encode(nonce).decode(),
            "wrapped_key": base64.b64encode(wrapped).decode(),
        }
    else:
        record |= {"storage": "file", "key": base64.b64encode(key).decode()}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)  # atomic, and never over a key another process just made
        except FileExistsError:
            if keyring is not None:
                keyring.delete_password(KEYRING_SERVICE, entry)
            return _load_key(path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return key


def _load_key(path: Path) -> bytes:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("format") != KEY_FORMAT:
            raise ValueError("not a media store key file")
        if record.get("storage") == "keyring":
            return _unwrap(record, path)
        key = base64.b64decode(record["key"], validate=True)
    except MediaKeyError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MediaKeyError(f"{path}: the media store's key file is unreadable ({exc})") from None
    if len(key) != KEY_SIZE:
        raise MediaKeyError(f"{path}: the media store's key has the wrong length")
    return key


def _unwrap(record: dict[str, Any], path: Path) -> bytes:
    entry = str(record.get("keyring_entry", ""))
    keyring = os_keyring()
    wrapping_b64 = keyring.get_password(KEYRING_SERVICE, entry) if keyring is not None else None
    if wrapping_b64 is None:
        raise MediaKeyError(
            f"{path}: the media store's key is sealed by the OS keyring (entry {entry!r} of "
            f"{KEYRING_SERVICE!r}), which does not have it now: open the app in the login "
            "session that imported the media"
        )
    try:
        wrapping = base64.b64decode(wrapping_b64, validate=True)
        nonce = base64.b64decode(record["nonce"], validate=True)
        wrapped = base64.b64decode(record["wrapped_key"], validate=True)
        return AESGCM(wrapping).decrypt(nonce, wrapped, _wrap_aad(entry))
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise MediaKeyError(
            f"{path}: the OS keyring entry {entry!r} does not open the media store's key ({exc})"
        ) from None
