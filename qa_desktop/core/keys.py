"""Reviewer identity: an Ed25519 key per reviewer, and the trust store of other signers' keys.

The local reviewer's key is made once, encrypted at rest with a passphrase, and trusted
automatically; other signers' public keys are trusted by hand (their key id is compared out
of band)::

    me = create_identity(db, data_dir, reviewer, passphrase="...")
    text = me.public_key.to_minisign()           # what a colleague trusts
    trust_key(db, PublicKey.from_minisign(text), signer_name="Ana", role="reviewer",
              reviewer_id=ana_id)
    me = load_private_key(data_dir, "...")        # WrongPassphrase if it does not open

Key ids and public keys use minisign's formats: an 8-byte random key id, written as 16
upper-case hex digits (the little-endian number minisign prints), and a public key file of
an untrusted comment line and ``base64("Ed" + key id + 32-byte key)``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .clock import utc_now_iso
from .errors import QADesktopError
from .formats import minisign
from .formats.minisign import key_id_hex as key_id_hex  # callers use keys.key_id_hex
from .formats.minisign import keynum_bytes as keynum_bytes
from .paths import private_dir
from .reviewers import Reviewer
from .signer_names import display_text, name_problem, name_skeleton
from .store import transaction
from .vocab import KeyRole

ROLES = tuple(KeyRole)
"""What a trusted key may sign: reviewers and leads sign verdicts, issuers sign case batches."""

SCRYPT_N = 2**17
"""scrypt cost for new key files (tests monkeypatch it small); stored in the file."""
SCRYPT_R = 8
SCRYPT_P = 1
MAX_SCRYPT_N = 2**22
"""Largest cost a key file may ask for (a bigger one is refused, not run)."""

KEYS_DIRNAME = "keys"
SECRET_KEY_FILENAME = "secret-key.json"
SECRET_KEY_FORMAT = "qa-desktop-secret-key"
PASSPHRASE_ENV = "QA_DESKTOP_PASSPHRASE"
"""Environment variable the CLI reads the passphrase from (automation, tests)."""


class KeyProblem(QADesktopError):
    """Base of the key errors: no key, wrong passphrase, bad key text, trust store refusals."""


class NoIdentity(KeyProblem):
    """This data directory has no reviewer key yet."""


class WrongPassphrase(KeyProblem):
    """The passphrase does not open the secret key (or the key file was altered)."""


class KeyFormatError(KeyProblem, ValueError):
    """A key file or public key text that is not in the expected format."""


class TrustError(KeyProblem, ValueError):
    """A trust-store change that cannot be made (unknown key, bad role, id clash)."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its minisign key id."""

    key_id: str
    key: bytes
    comment: str = ""

    def verifier(self) -> Ed25519PublicKey:
        """The key, ready to verify signatures."""
        return Ed25519PublicKey.from_public_bytes(self.key)

    def to_minisign(self) -> str:
        """The key as a minisign public key file (two lines)."""
        return minisign.public_key_text(self.key_id, self.key, self.comment)

    @property
    def suggested_reviewer_id(self) -> str | None:
        """The reviewer id the key's (untrusted) comment names, as QA Desktop writes it.

        Only a suggestion to show: whoever trusts the key decides the binding."""
        first = self.comment.split()[0] if self.comment else ""
        return first.removeprefix("reviewer=") or None if first.startswith("reviewer=") else None

    @property
    def key_b64(self) -> str:
        """The 32 key bytes in base64 (how the trust store keeps them)."""
        return base64.b64encode(self.key).decode()

    @classmethod
    def from_minisign(cls, text: str) -> PublicKey:
        """Parse a minisign public key file (or just its base64 line)."""
        try:
            key_id, key, comment = minisign.parse_public_key(text)
        except minisign.MinisignFormatError as exc:
            raise KeyFormatError(str(exc)) from None
        return cls(key_id=key_id, key=key, comment=comment)


@dataclass(frozen=True)
class Identity:
    """The local reviewer's signing key, opened with the passphrase."""

    key_id: str
    reviewer_id: str
    display_name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> PublicKey:
        """The public half, commented with the reviewer it is bound to (untrusted)."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return PublicKey(self.key_id, raw, f"reviewer={self.reviewer_id}")

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of ``message``."""
        return self.private_key.sign(message)


@dataclass(frozen=True)
class TrustedKey:
    """One row of the trust store."""

    key_id: str
    public_key: str
    signer_name: str
    role: str
    reviewer_id: str | None
    added_at: str
    revoked_at: str | None

    @property
    def revoked(self) -> bool:
        """True once the key is revoked: its new bundles are refused."""
        return self.revoked_at is not None

    def as_public_key(self) -> PublicKey:
        """The stored key as a :class:`PublicKey`."""
        return PublicKey(self.key_id, base64.b64decode(self.public_key))


def generate_identity(reviewer_id: str, display_name: str) -> Identity:
    """A fresh Ed25519 key with a random key id, in memory only."""
    return Identity(
        key_id=key_id_hex(secrets.token_bytes(8)),
        reviewer_id=reviewer_id,
        display_name=display_name,
        private_key=Ed25519PrivateKey.generate(),
    )


def secret_key_path(data_dir: Path) -> Path:
    """Where the local reviewer's encrypted secret key lives."""
    return data_dir / KEYS_DIRNAME / SECRET_KEY_FILENAME


def has_identity(data_dir: Path) -> bool:
    """True if this data directory holds a reviewer key."""
    return secret_key_path(data_dir).is_file()


def create_identity(
    db: sqlite_utils.Database, data_dir: Path, reviewer: Reviewer, passphrase: str
) -> Identity:
    """Make the local reviewer's key, save it encrypted, and trust it (role ``reviewer``).

    Refuses an empty passphrase and a data directory that already has a key.
    """
    if not passphrase:
        raise ValueError("a passphrase is required to protect the key")
    path = secret_key_path(data_dir)
    if path.exists():
        raise TrustError(f"{path} already exists: this data directory already has a key")
    identity = generate_identity(reviewer.id, reviewer.display_name)
    private_dir(path.parent)
    record = _encrypt(identity, passphrase)
    keyring = os_keyring()
    if keyring is not None:
        # Sealed in the OS keyring; the file keeps only the public half and where to look.
        entry = f"{identity.key_id}"
        keyring.set_password(KEYRING_SERVICE, entry, json.dumps(record))
        record = {
            k: v
            for k, v in record.items()
            if k in ("format", "version", "key_id", "reviewer_id", "display_name", "public_key")
        } | {"storage": "keyring", "keyring_entry": entry}
    _write_private_file(path, record)
    with transaction(db):
        # The local key is the one key bound to the local reviewer's id.
        _insert_key(db, identity.public_key, reviewer.display_name, "reviewer", reviewer.id)
        db.table("meta").upsert({"key": "local_key_id", "value": identity.key_id}, pk="key")
    return identity


def load_private_key(data_dir: Path, passphrase: str) -> Identity:
    """Open the local reviewer's key; :class:`WrongPassphrase` if it does not open."""
    path = secret_key_path(data_dir)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoIdentity(f"no reviewer key in {path.parent}: create one first") from None
    except (OSError, ValueError) as exc:
        raise KeyFormatError(f"{path}: not a readable key file ({exc})") from None
    if isinstance(record, dict) and record.get("storage") == "keyring":
        record = _record_from_keyring(record, path)
    return _decrypt(record, passphrase, path)


KEYRING_SERVICE = "qa-desktop"
_NOT_REAL_KEYRINGS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def os_keyring() -> Any | None:
    """The OS keyring (macOS Keychain, Windows Credential Locker, Secret Service) when a
    real one is there; None otherwise (then the key lives in a passphrase-encrypted file).

    The fail, null and plaintext-file backends never count: there is no plaintext fallback.
    """
    try:
        import keyring
        from keyring.backends import chainer

        backend = keyring.get_keyring()
    except Exception:  # no package, or a broken backend configuration
        return None
    if isinstance(backend, chainer.ChainerBackend):
        real = [b for b in backend.backends if not _is_stand_in(b)]
        return backend if real else None
    return None if _is_stand_in(backend) else backend


def _is_stand_in(backend: Any) -> bool:
    module = type(backend).__module__
    try:
        priority = float(backend.priority)
    except Exception:
        return True
    return priority <= 0 or module.startswith(_NOT_REAL_KEYRINGS)


def _record_from_keyring(stub: dict[str, Any], path: Path) -> dict[str, Any]:
    keyring = os_keyring()
    entry = str(stub.get("keyring_entry", ""))
    sealed = keyring.get_password(KEYRING_SERVICE, entry) if keyring is not None else None
    if sealed is None:
        raise KeyFormatError(
            f"{path}: the key is kept in the OS keyring (entry {entry!r} of "
            f"{KEYRING_SERVICE!r}), which does not have it now"
        )
    try:
        record = json.loads(sealed)
    except ValueError as exc:
        raise KeyFormatError(f"the OS keyring entry {entry!r} is not a key ({exc})") from None
    if not isinstance(record, dict) or record.get("key_id") != stub.get("key_id"):
        raise KeyFormatError(f"the OS keyring entry {entry!r} holds another key")
    return record


def local_public_key(data_dir: Path) -> PublicKey:
    """The local reviewer's public key (no passphrase needed)."""
    path = secret_key_path(data_dir)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return PublicKey(
            record["key_id"],
            base64.b64decode(record["public_key"]),
            f"reviewer={record['reviewer_id']}",
        )
    except FileNotFoundError:
        raise NoIdentity(f"no reviewer key in {path.parent}: create one first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFormatError(f"{path}: not a readable key file ({exc})") from None


def _kdf(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(key_id: str, reviewer_id: str, public_b64: str) -> bytes:
    return f"{SECRET_KEY_FORMAT}/1|{key_id}|{reviewer_id}|{public_b64}".encode()


def _encrypt(identity: Identity, passphrase: str) -> dict[str, object]:
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _kdf(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    public_b64 = identity.public_key.key_b64
    seed = identity.private_key.private_bytes_raw()
    sealed = ChaCha20Poly1305(key).encrypt(
        nonce, seed, _aad(identity.key_id, identity.reviewer_id, public_b64)
    )
    return {
        "format": SECRET_KEY_FORMAT,
        "version": 1,
        "key_id": identity.key_id,
        "reviewer_id": identity.reviewer_id,
        "display_name": identity.display_name,
        "public_key": public_b64,
        "kdf": {
            "name": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": "chacha20-poly1305",
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
        "created_at": utc_now_iso(),
    }


def _decrypt(record: dict[str, object], passphrase: str, path: Path) -> Identity:
    try:
        if record.get("format") != SECRET_KEY_FORMAT or record.get("version") != 1:
            raise KeyFormatError(f"{path}: not a version 1 QA Desktop key file")
        kdf = record["kdf"]
        assert isinstance(kdf, dict)
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if kdf.get("name") != "scrypt" or not 2 <= n <= MAX_SCRYPT_N or r > 32 or p > 16:
            raise KeyFormatError(f"{path}: unsupported key derivation parameters")
        key_id, reviewer_id = str(record["key_id"]), str(record["reviewer_id"])
        public_b64 = str(record["public_key"])
        salt = base64.b64decode(str(kdf["salt"]))
        nonce = base64.b64decode(str(record["nonce"]))
        sealed = base64.b64decode(str(record["ciphertext"]))
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        if isinstance(exc, KeyFormatError):
            raise
        raise KeyFormatError(f"{path}: not a readable key file ({exc})") from None
    key = _kdf(passphrase, salt, n, r, p)
    try:
        seed = ChaCha20Poly1305(key).decrypt(nonce, sealed, _aad(key_id, reviewer_id, public_b64))
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase for the reviewer key") from None
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    identity = Identity(key_id, reviewer_id, str(record.get("display_name", "")), private_key)
    if identity.public_key.key_b64 != public_b64:
        raise KeyFormatError(f"{path}: the secret and public keys do not match")
    return identity


def _write_private_file(path: Path, record: dict[str, object]) -> None:
    """Write ``record`` as JSON to a new file readable by the user alone (0600)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=2)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# -- the trust store ------------------------------------------------------------------------


REVIEWER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""What a reviewer id bound to a key may look like (QA Desktop's own are UUIDv7s)."""


def trust_key(
    db: sqlite_utils.Database,
    public_key: PublicKey,
    *,
    signer_name: str,
    role: str,
    reviewer_id: str | None = None,
) -> TrustedKey:
    """Add a signer's key to the trust store (a no-op if that exact key is there already).

    A verdict signer must be bound to a ``reviewer_id`` (every event it signs must carry
    it), chosen by whoever trusts the key (shown and confirmed; a public key file's comment
    is only a suggestion). Refused (:class:`TrustError`): a different key under a trusted
    key id; the local reviewer's own id; an id another trusted key is bound to (unless
    every such key is revoked: a new key for the same person); a signer name with control
    or format characters, or one that looks like another signer's (:func:`name_skeleton`)
    unless both keys are bound to the same reviewer. The reviewer is added to
    ``reviewers`` under ``signer_name`` if unknown.
    """
    with transaction(db):
        existing = trusted_key(db, public_key.key_id)
        if existing is not None:
            if existing.public_key != public_key.key_b64:
                raise TrustError(
                    f"key id {public_key.key_id} is already trusted for a different key"
                )
            return existing
        name = _check_new_key(db, signer_name, role, reviewer_id)
        return _insert_key(db, public_key, name, role, reviewer_id)


def _check_new_key(
    db: sqlite_utils.Database, signer_name: str, role: str, reviewer_id: str | None
) -> str:
    """The signer name to store, once the key's role, name and binding are allowed."""
    if role not in ROLES:
        raise TrustError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    name = signer_name.strip()
    if not name:
        raise TrustError("a trusted key needs a signer name")
    problem = name_problem(name)
    if problem:
        raise TrustError(f"signer name {display_text(name)!r}: {problem}")
    if role in ("reviewer", "lead") and not reviewer_id:
        raise TrustError(f"a {role} key must be bound to a reviewer id")
    others = list_keys(db)
    if reviewer_id is not None:
        if not REVIEWER_ID.fullmatch(reviewer_id):
            raise TrustError(
                f"reviewer id {display_text(reviewer_id)!r} is not a valid id (letters, digits,"
                " '.', '_', ':', '-'; at most 128)"
            )
        local = db.execute("SELECT value FROM meta WHERE key = 'local_reviewer'").fetchone()
        if local is not None and local[0] == reviewer_id:
            raise TrustError(
                f"reviewer id {reviewer_id} is your own: only your own key signs for you"
            )
        bound = [k for k in others if k.reviewer_id == reviewer_id and not k.revoked]
        if bound:
            raise TrustError(
                f"reviewer id {reviewer_id} is already bound to key {bound[0].key_id}"
                f" ({display_text(bound[0].signer_name)}); revoke that key first if this"
                " is the same person's new key"
            )
    skeleton = name_skeleton(name)
    for other in others:
        same_person = reviewer_id is not None and other.reviewer_id == reviewer_id
        if name_skeleton(other.signer_name) == skeleton and not same_person:
            raise TrustError(
                f"signer name {display_text(name)!r} looks like the name of key"
                f" {other.key_id} ({display_text(other.signer_name)}); give this signer a"
                " name people can tell apart"
            )
    return name


def _insert_key(
    db: sqlite_utils.Database,
    public_key: PublicKey,
    name: str,
    role: str,
    reviewer_id: str | None,
) -> TrustedKey:
    row = TrustedKey(
        key_id=public_key.key_id,
        public_key=public_key.key_b64,
        signer_name=name,
        role=role,
        reviewer_id=reviewer_id,
        added_at=utc_now_iso(),
        revoked_at=None,
    )
    db.table("trusted_keys").insert(asdict(row))
    if reviewer_id:
        db.execute(
            "INSERT OR IGNORE INTO reviewers (id, display_name, created_at) VALUES (?,?,?)",
            [reviewer_id, name, row.added_at],
        )
    return row


def trusted_key(db: sqlite_utils.Database, key_id: str) -> TrustedKey | None:
    """The trust store row for ``key_id``, or None."""
    rows = list(db.query("SELECT * FROM trusted_keys WHERE key_id = ?", [key_id]))
    return TrustedKey(**rows[0]) if rows else None


def list_keys(db: sqlite_utils.Database) -> list[TrustedKey]:
    """Every trusted (and revoked) key, oldest first."""
    return [
        TrustedKey(**row)
        for row in db.query("SELECT * FROM trusted_keys ORDER BY added_at, key_id")
    ]


def revoke_key(db: sqlite_utils.Database, key_id: str) -> TrustedKey:
    """Revoke a key: its new bundles are refused; what it signed before stays imported."""
    with transaction(db):
        key = _require(db, key_id)
        if key.revoked_at is None:
            db.execute(
                "UPDATE trusted_keys SET revoked_at = ? WHERE key_id = ?",
                [utc_now_iso(), key.key_id],
            )
    return _require(db, key_id)


def remove_key(db: sqlite_utils.Database, key_id: str) -> TrustedKey:
    """Forget a key added by mistake: its bundles become 'unknown-signer' until it is
    trusted again; what it signed before stays imported. The removed key is returned.

    Raises TrustError for your own key and for a revoked key (a revocation stays on record,
    so the key cannot come back by being removed and trusted again).
    """
    with transaction(db):
        key = _require(db, key_id)
        if key.key_id == local_key_id(db):
            raise TrustError(f"{key.key_id} is your own signing key; it cannot be removed")
        if key.revoked:
            raise TrustError(
                f"{key.key_id} ({key.signer_name}) is revoked; a revoked key stays on record"
            )
        db.execute("DELETE FROM trusted_keys WHERE key_id = ?", [key.key_id])
    return key


def local_key_id(db: sqlite_utils.Database) -> str | None:
    """The key id of the local reviewer's key, once created."""
    row = db.execute("SELECT value FROM meta WHERE key = 'local_key_id'").fetchone()
    return row[0] if row else None


def _require(db: sqlite_utils.Database, key_id: str) -> TrustedKey:
    key = trusted_key(db, key_id.upper())
    if key is None:
        raise TrustError(f"no trusted key with id {key_id}")
    return key
