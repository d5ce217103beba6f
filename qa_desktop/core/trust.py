"""The trust room (``ws.trust``): the local reviewer's signing key and the trust store.

::

    if not ws.trust.has_identity():
        ws.trust.create_identity(passphrase)
    key = ws.trust.read_public_key(Path("bo.pub"))
    ws.trust.trust(key, "Bo", "reviewer", bo_reviewer_id)  # the id Bo told you, confirmed
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from . import keys
from .reviewers import Reviewer


class Trust:
    """Signing identity and trusted signers, over one database and data directory."""

    def __init__(
        self, db: sqlite_utils.Database, data_dir: Path, reviewer: Callable[[], Reviewer]
    ) -> None:
        self._db = db
        self._data_dir = data_dir
        self._reviewer = reviewer

    def has_identity(self) -> bool:
        """True once the local reviewer has a signing key in this data directory."""
        return keys.has_identity(self._data_dir)

    def create_identity(self, passphrase: str) -> keys.Identity:
        """Make the local reviewer's signing key (encrypted with ``passphrase``) and trust it."""
        return keys.create_identity(self._db, self._data_dir, self._reviewer(), passphrase)

    def identity(self, passphrase: str) -> keys.Identity:
        """Open the local reviewer's signing key; ``keys.WrongPassphrase`` if it does not open."""
        return keys.load_private_key(self._data_dir, passphrase)

    def public_key(self) -> keys.PublicKey:
        """The local reviewer's public key (``keys.NoIdentity`` before one is made)."""
        return keys.local_public_key(self._data_dir)

    @staticmethod
    def read_public_key(path: Path) -> keys.PublicKey:
        """Read a minisign public key file; ``keys.KeyFormatError`` naming the file if bad."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise keys.KeyFormatError(f"{path}: not a minisign public key (not text)") from None
        except OSError as exc:
            raise keys.KeyFormatError(f"{path}: cannot be read ({exc.strerror})") from exc
        try:
            return keys.PublicKey.from_minisign(text)
        except keys.KeyFormatError as exc:
            raise keys.KeyFormatError(f"{path}: {exc}") from exc

    def trust(
        self,
        public_key: keys.PublicKey,
        signer_name: str,
        role: str,
        reviewer_id: str | None = None,
    ) -> keys.TrustedKey:
        """Add a signer's public key to the trust store, bound to a reviewer id (who then
        shows by ``signer_name`` wherever reviewers are listed)."""
        return keys.trust_key(
            self._db, public_key, signer_name=signer_name, role=role, reviewer_id=reviewer_id
        )

    def revoke(self, key_id: str) -> keys.TrustedKey:
        """Revoke a trusted key: its new bundles are refused, its old events stay."""
        return keys.revoke_key(self._db, key_id)

    def remove(self, key_id: str) -> keys.TrustedKey:
        """Forget a trusted key added by mistake (not your own, not a revoked one)."""
        return keys.remove_key(self._db, key_id)

    def trusted_keys(self) -> list[keys.TrustedKey]:
        """The trust store, oldest first (revoked keys included)."""
        return keys.list_keys(self._db)
