"""Where a sync sends and takes bundles: a shared folder or an S3 bucket (docs/team-hub.md).

A target is chosen by what the reviewer typed::

    target = sync_target("s3://team-qa/emea", endpoint_url=None)   # or a folder path
    report = target.sync(db, identity, data_dir=data_dir, progress=..., cancelled=...)

:class:`FolderTarget` is the folder sync of :mod:`.sync`, unchanged. :class:`S3Target`
publishes to ``PREFIX/bundles/<key id>/<sequence>-<bundle id>.zip`` with a conditional put
(``If-None-Match: *``; a 412 means the object is already there) and takes every other
signer's bundles by listing after the last key it saw for that signer. It exports into a
local outbox first, marks a bundle published only after the store answered, and moves a
signer's cursor only past bundles imported or seen, so a failure loses nothing and the next
sync resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from . import bundles, keys
from .errors import QADesktopError
from .formats.zip_safety import BUNDLE_LIMITS
from .paths import quarantine_dir
from .sync import (
    SyncReport,
    UntrustedSigner,
    dismissed_signers,
    received_attempts,
    send_own,
    sync_folder,
    take_bundle,
)

BUNDLES = "bundles/"
SEQ_DIGITS = 10
PUBLISHED = ".published"
CURSORS_FILE = "sync-cursors.json"


class SyncTargetError(QADesktopError, OSError):
    """A sync target cannot be used (missing bucket, unreachable store, refused access)."""


class SyncTarget(Protocol):
    """A place a sync sends the reviewer's bundles to and takes everyone else's from."""

    def describe(self) -> str:
        """The target as the reviewer typed it (a folder path or an ``s3://`` URL)."""
        ...

    def sync(
        self,
        db: sqlite_utils.Database,
        identity: keys.Identity,
        *,
        data_dir: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Send new events, take others' bundles; see :func:`.sync.sync_folder`."""
        ...


def sync_target(where: str | Path, *, endpoint_url: str | None = None) -> SyncTarget:
    """The target ``where`` names: ``s3://bucket/prefix`` or a folder path."""
    text = str(where)
    if text.lower().startswith("s3://"):
        return S3Target(S3Location.parse(text, endpoint_url=endpoint_url))
    return FolderTarget(Path(text))


@dataclass(frozen=True)
class FolderTarget:
    """A shared folder: :func:`.sync.sync_folder`."""

    folder: Path

    def describe(self) -> str:
        """The folder's path."""
        return str(self.folder)

    def sync(
        self,
        db: sqlite_utils.Database,
        identity: keys.Identity,
        *,
        data_dir: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Export into the folder and import every new bundle in it."""
        return sync_folder(
            db,
            identity,
            self.folder,
            quarantine_dir=quarantine_dir(data_dir),
            progress=progress,
            cancelled=cancelled,
        )


@dataclass(frozen=True)
class S3Location:
    """A bucket and key prefix on an S3 API (AWS or compatible), credentials from boto3's
    usual chain (environment, ``~/.aws/config`` profiles, roles)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None

    @classmethod
    def parse(cls, url: str, *, endpoint_url: str | None = None) -> S3Location:
        """``s3://bucket/some/prefix`` as a location (:class:`SyncTargetError` if no bucket)."""
        if not url.lower().startswith("s3://"):
            raise SyncTargetError(f"{url!r} is not an s3:// URL")
        bucket, _, prefix = url[5:].partition("/")
        if not bucket:
            raise SyncTargetError(f"{url!r} names no bucket (write s3://BUCKET/PREFIX)")
        prefix = prefix.strip("/")
        return cls(bucket, prefix + "/" if prefix else "", endpoint_url)

    def url(self) -> str:
        """The location as an ``s3://`` URL."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def client(self) -> Any:
        """A boto3 S3 client for this location (few retries: a sync resumes anyway)."""
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60
        )
        return boto3.client("s3", endpoint_url=self.endpoint_url, config=config)

    def bundle_key(self, key_id: str, seq: int, bundle_id: str) -> str:
        """Where a bundle lives: ``PREFIX/bundles/<key id>/<sequence>-<bundle id>.zip``."""
        return f"{self.prefix}{BUNDLES}{key_id}/{seq:0{SEQ_DIGITS}d}-{bundle_id}.zip"

    def signer_of(self, key: str) -> str:
        """The signer key id a bundle's key is filed under."""
        return key[len(self.prefix) + len(BUNDLES) :].split("/", 1)[0]


class S3Bucket:
    """The S3 operations a sync and the hub need, with errors that name the bucket."""

    def __init__(self, location: S3Location, client: Any = None) -> None:
        self.location = location
        self._client = client if client is not None else location.client()

    def _fail(self, exc: Exception, doing: str) -> SyncTargetError:
        from botocore.exceptions import ClientError

        where = self.location.url()
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchBucket", "404") and doing == "reach":
                return SyncTargetError(
                    f"the bucket {self.location.bucket!r} does not exist ({where}); create it"
                    " or check the name"
                )
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return SyncTargetError(
                    f"{where}: access refused while trying to {doing} ({code}); check the"
                    " credentials (AWS_PROFILE, ~/.aws/config) and the bucket policy"
                )
            return SyncTargetError(f"{where}: could not {doing} ({code}: {exc})")
        return SyncTargetError(
            f"{where} cannot be reached while trying to {doing} ({type(exc).__name__}: {exc});"
            " nothing was lost, the next sync resumes"
        )

    def check(self) -> None:
        """Raise :class:`SyncTargetError` naming the bucket if it is missing or unreachable."""
        try:
            self._client.head_bucket(Bucket=self.location.bucket)
        except Exception as exc:
            raise self._fail(exc, "reach") from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Put ``key`` unless it exists (``If-None-Match: *``); False if it was there (412)."""
        from botocore.exceptions import ClientError

        try:
            self._client.put_object(
                Bucket=self.location.bucket, Key=key, Body=data, IfNoneMatch="*"
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 412 or exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False
            raise self._fail(exc, f"publish {key}") from exc
        except Exception as exc:
            raise self._fail(exc, f"publish {key}") from exc
        return True

    def put(self, key: str, data: bytes) -> None:
        """Put ``key`` (the hub's ``.reason`` notes; never a bundle)."""
        try:
            self._client.put_object(Bucket=self.location.bucket, Key=key, Body=data)
        except Exception as exc:
            raise self._fail(exc, f"write {key}") from exc

    def get(self, key: str) -> bytes:
        """The object's bytes, at most one more than a bundle may have (the verifier refuses
        a larger one)."""
        try:
            answer = self._client.get_object(Bucket=self.location.bucket, Key=key)
            return bytes(answer["Body"].read(BUNDLE_LIMITS.max_archive_bytes + 1))
        except Exception as exc:
            raise self._fail(exc, f"read {key}") from exc

    def signers(self) -> list[str]:
        """The key ids with a folder under ``bundles/``, sorted."""
        found = []
        for page in self._pages(Prefix=self.location.prefix + BUNDLES, Delimiter="/"):
            for entry in page.get("CommonPrefixes", []):
                found.append(str(entry["Prefix"]).rstrip("/").rsplit("/", 1)[-1])
        return sorted(found)

    def bundles_after(self, key_id: str, after: str) -> list[str]:
        """The bundle keys (``.zip``) of ``key_id`` that sort after ``after``, in order."""
        prefix = f"{self.location.prefix}{BUNDLES}{key_id}/"
        found = []
        kwargs: dict[str, Any] = {"Prefix": prefix}
        if after:
            kwargs["StartAfter"] = after
        for page in self._pages(**kwargs):
            for entry in page.get("Contents", []):
                key = str(entry["Key"])
                if key.endswith(".zip"):
                    found.append(key)
        return found

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            yield from paginator.paginate(Bucket=self.location.bucket, **kwargs)
        except Exception as exc:
            raise self._fail(exc, "list bundles") from exc


@dataclass(frozen=True)
class S3Target:
    """Sync through an S3 bucket (docs/team-hub.md)."""

    location: S3Location

    def describe(self) -> str:
        """The ``s3://`` URL."""
        return self.location.url()

    def sync(
        self,
        db: sqlite_utils.Database,
        identity: keys.Identity,
        *,
        data_dir: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        bucket: S3Bucket | None = None,
    ) -> SyncReport:
        """Export into the local outbox, publish what is unpublished, take others' bundles.

        ``progress(done, total)`` counts bundles taken; ``cancelled()`` is polled between
        bundles. :class:`SyncTargetError` when the bucket is missing or the store cannot be
        reached: whatever was not confirmed stays to be done by the next sync.
        """
        store = bucket if bucket is not None else S3Bucket(self.location)
        store.check()
        report = SyncReport()
        if cancelled is not None and cancelled():
            report.cancelled = True
            return report
        own = data_dir / "outbox" / identity.key_id
        send_own(db, identity, own, report)
        self._publish(db, store, identity.key_id, own)
        attempts_before = received_attempts(db)
        cursors = _Cursors(data_dir / CURSORS_FILE, self.location)
        dismissed = dismissed_signers(db)
        waiting: dict[str, list[str]] = {}
        todo = [
            (signer, store.bundles_after(signer, cursors.get(signer)))
            for signer in store.signers()
            if signer != identity.key_id
        ]
        total = sum(len(found) for _, found in todo)
        done = 0
        qdir = quarantine_dir(data_dir)
        for signer, found in todo:
            moving = True  # the cursor follows an unbroken run of bundles taken
            for key in found:
                if progress is not None:
                    progress(done, total)
                if cancelled is not None and cancelled():
                    report.cancelled = True
                    _group(report, waiting)
                    report.attempts_received = received_attempts(db) - attempts_before
                    return report
                done += 1
                data = store.get(key)
                before = len(report.refused)
                name = key.rsplit("/", 1)[-1]
                untrusted = take_bundle(db, name, data, qdir, report)
                if untrusted in dismissed:
                    report.dismissed += 1
                elif untrusted:
                    waiting.setdefault(untrusted, []).append(name)
                if untrusted or len(report.refused) > before:
                    moving = False
                elif moving:
                    cursors.set(signer, key)
        if progress is not None:
            progress(total, total)
        _group(report, waiting)
        report.attempts_received = received_attempts(db) - attempts_before
        return report

    def _publish(self, db: sqlite_utils.Database, store: S3Bucket, key_id: str, own: Path) -> None:
        """Put every outbox bundle not yet confirmed, oldest first; mark each once confirmed."""
        if not own.is_dir():
            return
        seqs = dict(
            db.execute(
                "SELECT bundle_id, seq FROM bundle_log WHERE key_id = ? AND direction = 'export'",
                [key_id],
            ).fetchall()
        )
        for path in sorted(own.glob("*.zip")):
            marker = path.with_name(path.name + PUBLISHED)
            if marker.exists() or path.stem not in seqs:
                continue
            key = self.location.bundle_key(key_id, int(seqs[path.stem]), path.stem)
            store.put_if_absent(key, path.read_bytes())
            bundles.write_atomically(own, marker.name, key.encode(), 0o600)


def _group(report: SyncReport, waiting: dict[str, list[str]]) -> None:
    report.untrusted = [
        UntrustedSigner(key_id, tuple(names)) for key_id, names in sorted(waiting.items())
    ]


class _Cursors:
    """The last key taken per signer, per bucket location, in a JSON file of the data dir."""

    def __init__(self, path: Path, location: S3Location) -> None:
        self._path = path
        self._where = f"{location.endpoint_url or ''}|{location.bucket}|{location.prefix}"
        try:
            self._all: dict[str, dict[str, str]] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self._all = {}

    def get(self, signer: str) -> str:
        return self._all.get(self._where, {}).get(signer, "")

    def set(self, signer: str, key: str) -> None:
        self._all.setdefault(self._where, {})[signer] = key
        bundles.write_atomically(
            self._path.parent, self._path.name, json.dumps(self._all, indent=1).encode(), 0o600
        )
