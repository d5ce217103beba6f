"""minisign's text formats: Ed25519 public keys and (prehashed) signature files.

So that anyone can check a QA Desktop signature with ``minisign -V`` and no QA Desktop at
all, keys and signatures are written exactly as minisign writes them::

    text = public_key_text(key_id, key)                  # two lines: comment, base64
    key_id, key, comment = parse_public_key(text)        # MinisignFormatError if not one
    blob = signature_file(identity, message, "kind=verdicts ...")
    sig = parse_signature(blob)
    signature_holds(key, sig, message)                   # True / False

A key id is 8 random bytes, written as 16 upper-case hex digits (the little-endian number
minisign prints). A public key is ``base64("Ed" + key id + 32-byte key)`` after an
untrusted comment line. A signature file has four lines: an untrusted comment,
``base64("ED" + key id + signature of BLAKE2b-512(message))``, the trusted comment, and a
global signature over the signature and the trusted comment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import QADesktopError

PUBLIC_KEY_ALGORITHM = b"Ed"
"""The algorithm tag of an Ed25519 public key."""
PREHASHED_ALGORITHM = b"ED"
"""The algorithm tag of a prehashed (BLAKE2b-512) signature, the only kind accepted."""


class MinisignFormatError(QADesktopError, ValueError):
    """Text that is not a minisign public key or signature file; the message says why."""


class Signer(Protocol):
    """What signs: a key id and an Ed25519 ``sign`` (``keys.Identity`` is one)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id_hex(keynum: bytes) -> str:
    """The 8-byte key id as minisign prints it: the little-endian number, 16 upper-case hex."""
    return f"{int.from_bytes(keynum, 'little'):016X}"


def keynum_bytes(key_id: str) -> bytes:
    """The 8 key id bytes for a key id written by :func:`key_id_hex`."""
    return int(key_id, 16).to_bytes(8, "little")


# -- public keys ----------------------------------------------------------------------------


def public_key_text(key_id: str, key: bytes, comment: str = "") -> str:
    """A minisign public key file (two lines); ``comment`` follows minisign's own comment."""
    untrusted = f"minisign public key {key_id}"
    if comment:
        untrusted += f" {comment}"
    blob = base64.b64encode(PUBLIC_KEY_ALGORITHM + keynum_bytes(key_id) + key).decode()
    return f"untrusted comment: {untrusted}\n{blob}\n"


def parse_public_key(text: str) -> tuple[str, bytes, str]:
    """``(key id, 32 key bytes, extra comment)`` of a minisign public key file (or its
    base64 line alone); :class:`MinisignFormatError` if it is not one."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    comment = ""
    if lines and lines[0].startswith("untrusted comment:"):
        comment = lines.pop(0).removeprefix("untrusted comment:").strip()
    if len(lines) != 1:
        raise MinisignFormatError("not a minisign public key (expected one base64 line)")
    try:
        blob = base64.b64decode(lines[0], validate=True)
    except (binascii.Error, ValueError):
        raise MinisignFormatError("not a minisign public key (bad base64)") from None
    if len(blob) != 42 or blob[:2] != PUBLIC_KEY_ALGORITHM:
        raise MinisignFormatError("not a minisign Ed25519 public key")
    key_id = key_id_hex(blob[2:10])
    prefix = f"minisign public key {key_id}"
    extra = comment[len(prefix) :].strip() if comment.startswith(prefix) else comment
    return key_id, blob[10:], extra


# -- signatures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A parsed minisign signature file."""

    key_id: str
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def signature_file(
    signer: Signer, message: bytes, trusted_comment: str, untrusted_comment: str = ""
) -> bytes:
    """A minisign signature file (prehashed ``ED`` variant) of ``message`` by ``signer``."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    signature = signer.sign(hashlib.blake2b(message, digest_size=64).digest())
    global_signature = signer.sign(signature + trusted_comment.encode("utf-8"))
    blob = base64.b64encode(PREHASHED_ALGORITHM + keynum_bytes(signer.key_id) + signature).decode()
    untrusted = untrusted_comment or f"signature from QA Desktop key {signer.key_id}"
    return (
        f"untrusted comment: {untrusted}\n{blob}\n"
        f"trusted comment: {trusted_comment}\n{base64.b64encode(global_signature).decode()}\n"
    ).encode()


def parse_signature(data: bytes) -> Signature:
    """The parts of a minisign signature file; :class:`MinisignFormatError` if it is not
    one (only the prehashed ``ED`` variant is accepted)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MinisignFormatError("the signature file is not UTF-8") from None
    lines = text.split("\n")
    if len(lines) == 5 and lines[4] == "":
        lines = lines[:4]
    if (
        len(lines) != 4
        or not lines[0].startswith("untrusted comment: ")
        or not lines[2].startswith("trusted comment: ")
    ):
        raise MinisignFormatError("not a minisign signature file")
    try:
        blob = base64.b64decode(lines[1], validate=True)
        global_signature = base64.b64decode(lines[3], validate=True)
    except (binascii.Error, ValueError):
        raise MinisignFormatError("the signature is not valid base64") from None
    if len(blob) != 74 or len(global_signature) != 64:
        raise MinisignFormatError("the signature has the wrong length")
    if blob[:2] != PREHASHED_ALGORITHM:
        raise MinisignFormatError("only prehashed (ED) minisign signatures are accepted")
    return Signature(
        key_id=key_id_hex(blob[2:10]),
        signature=blob[10:],
        trusted_comment=lines[2].removeprefix("trusted comment: "),
        global_signature=global_signature,
    )


def signature_holds(key: bytes, sig: Signature, message: bytes) -> bool:
    """True if ``sig`` (and its global signature over the trusted comment) verifies with the
    32-byte Ed25519 public ``key``."""
    verifier = Ed25519PublicKey.from_public_bytes(key)
    try:
        verifier.verify(sig.signature, hashlib.blake2b(message, digest_size=64).digest())
        verifier.verify(sig.global_signature, sig.signature + sig.trusted_comment.encode())
    except InvalidSignature:
        return False
    return True
