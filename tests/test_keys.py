"""Reviewer keys: encrypted at rest, minisign public keys, the trust store."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from qa_desktop.core import keys
from qa_desktop.core.workspace import Workspace

from .conftest import MemoryKeyring
from .factory import PASSPHRASE


def test_the_secret_key_is_encrypted_0600_in_a_0700_folder(workspace: Workspace) -> None:
    identity = workspace.trust.create_identity(PASSPHRASE)
    path = keys.secret_key_path(workspace.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    seed = identity.private_key.private_bytes_raw()
    text = path.read_text()
    assert base64.b64encode(seed).decode() not in text and seed.hex() not in text
    assert len(identity.key_id) == 16 and int(identity.key_id, 16) >= 0


def test_the_key_opens_with_its_passphrase_only(workspace: Workspace) -> None:
    made = workspace.trust.create_identity(PASSPHRASE)
    opened = workspace.trust.identity(PASSPHRASE)
    assert opened.key_id == made.key_id and opened.reviewer_id == workspace.reviewer.id
    assert opened.public_key == made.public_key
    with pytest.raises(keys.WrongPassphrase):
        workspace.trust.identity("wrong")


def test_no_empty_passphrase_and_no_second_key(workspace: Workspace) -> None:
    with pytest.raises(ValueError):
        workspace.trust.create_identity("")
    workspace.trust.create_identity(PASSPHRASE)
    with pytest.raises(keys.TrustError):
        workspace.trust.create_identity(PASSPHRASE)


def test_no_key_yet_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(keys.NoIdentity):
        keys.load_private_key(tmp_path, PASSPHRASE)


def test_the_public_key_is_in_minisign_format(workspace: Workspace) -> None:
    identity = workspace.trust.create_identity(PASSPHRASE)
    text = workspace.trust.public_key().to_minisign()
    first, second = text.splitlines()
    assert first.startswith(f"untrusted comment: minisign public key {identity.key_id}")
    blob = base64.b64decode(second)
    assert blob[:2] == b"Ed" and len(blob) == 42
    assert int.from_bytes(blob[2:10], "little") == int(identity.key_id, 16)
    parsed = keys.PublicKey.from_minisign(text)
    assert (parsed.key_id, parsed.key) == (identity.key_id, identity.public_key.key)


def test_the_own_key_is_trusted_and_bound_to_the_reviewer(workspace: Workspace) -> None:
    identity = workspace.trust.create_identity(PASSPHRASE)
    (own,) = workspace.trust.trusted_keys()
    assert own.key_id == identity.key_id
    assert own.reviewer_id == workspace.reviewer.id and own.role == "reviewer"
    assert keys.local_key_id(workspace.database_for_tests()) == identity.key_id


def test_trust_revoke_remove_list(workspace: Workspace) -> None:
    other = keys.generate_identity("r-2", "Omar")
    trusted = workspace.trust.trust(other.public_key, "Omar", "lead", "r-2")
    assert trusted.role == "lead" and not trusted.revoked
    assert workspace.verdicts.reviewer_names()["r-2"] == "Omar"
    assert workspace.trust.trust(other.public_key, "Omar", "lead", "r-2") == trusted
    assert workspace.trust.remove(other.key_id).signer_name == "Omar"
    assert keys.trusted_key(workspace.database_for_tests(), other.key_id) is None
    workspace.trust.trust(other.public_key, "Omar", "lead", "r-2")
    assert workspace.trust.revoke(other.key_id).revoked
    with pytest.raises(keys.TrustError, match="revoked"):
        workspace.trust.remove(other.key_id)  # a revocation stays on record
    assert keys.trusted_key(workspace.database_for_tests(), other.key_id).revoked


def test_the_own_key_cannot_be_removed(workspace: Workspace) -> None:
    identity = workspace.trust.create_identity(PASSPHRASE)
    with pytest.raises(keys.TrustError, match="your own"):
        workspace.trust.remove(identity.key_id)
    with pytest.raises(keys.TrustError, match="no trusted key"):
        workspace.trust.remove("0123456789ABCDEF")


def test_trust_refuses_bad_roles_unbound_reviewers_and_id_clashes(workspace: Workspace) -> None:
    other = keys.generate_identity("r-2", "Omar")
    with pytest.raises(keys.TrustError):
        workspace.trust.trust(other.public_key, "Omar", "boss", "r-2")
    with pytest.raises(keys.TrustError):
        workspace.trust.trust(other.public_key, "Omar", "reviewer")
    workspace.trust.trust(other.public_key, "Omar", "reviewer", "r-2")
    clash = keys.PublicKey(other.key_id, keys.generate_identity("x", "x").public_key.key)
    with pytest.raises(keys.TrustError):
        workspace.trust.trust(clash, "Mallory", "reviewer", "r-2")


def test_with_a_real_os_keyring_the_sealed_key_lives_there(
    workspace: Workspace, os_keyring: MemoryKeyring
) -> None:
    identity = workspace.trust.create_identity(PASSPHRASE)
    stub = keys.secret_key_path(workspace.data_dir).read_text(encoding="utf-8")
    assert "ciphertext" not in stub and '"storage": "keyring"' in stub
    [(service, entry)] = os_keyring.entries
    assert service == keys.KEYRING_SERVICE and entry == identity.key_id
    sealed = os_keyring.entries[(service, entry)]
    seed = identity.private_key.private_bytes_raw()
    assert "ciphertext" in sealed and base64.b64encode(seed).decode() not in sealed
    assert workspace.trust.identity(PASSPHRASE).key_id == identity.key_id
    with pytest.raises(keys.WrongPassphrase):
        workspace.trust.identity("not it")
    assert workspace.trust.public_key().key_id == identity.key_id  # no keyring needed for this
    os_keyring.entries.clear()
    with pytest.raises(keys.KeyFormatError, match="OS keyring"):
        workspace.trust.identity(PASSPHRASE)


def test_without_a_real_keyring_the_key_is_an_encrypted_file_never_plaintext(
    workspace: Workspace,
) -> None:
    assert keys.os_keyring() is None  # the fail backend is no keyring
    identity = workspace.trust.create_identity(PASSPHRASE)
    text = keys.secret_key_path(workspace.data_dir).read_text(encoding="utf-8")
    assert "ciphertext" in text
    assert base64.b64encode(identity.private_key.private_bytes_raw()).decode() not in text
