"""The Workspace: one object, opened on a data directory, made of rooms.

Like Anki's ``Collection`` (``col.decks``, ``col.sched``), every core operation goes through
a room of one Workspace. The GUI holds one for its whole life; the CLI opens one per
command; a background task opens its own (one SQLite connection per thread)::

    with Workspace.open(data_dir()) as ws:
        ws.ensure_reviewer("Ana")
        ws.batches.import_batch(Path("demo-batch"))
        for row in ws.queue.page(limit=50): ...
        ws.verdicts.record("c-001", VerdictDraft("vh_remove", citations=(...)))

Rooms: ``queue``, ``batches``, ``guidelines``, ``verdicts``, ``wellbeing``, ``trust``,
``bundles``, ``sync``, ``reports``. The database is private to core.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import sqlite_utils

from .batches.room import Batches
from .bundles.room import Bundles
from .errors import NoReviewer
from .guidelines import Guidelines
from .paths import private_dir, settings_path
from .queue import Queue
from .reports import Reports
from .reviewers import Reviewer, create_local_reviewer, local_reviewer
from .store import open_database
from .sync import Sync
from .trust import Trust
from .verdicts import Verdicts
from .wellbeing import Wellbeing

DB_FILENAME = "qa.db"


class Workspace:
    """The data directory: database, media store, the local reviewer, and the rooms."""

    def __init__(self, data_dir: Path, db: sqlite_utils.Database) -> None:
        self.data_dir = data_dir
        self._db = db
        self.media_dir = private_dir(data_dir / "media")
        self._reviewer = local_reviewer(db)
        self._closed = False
        self.queue = Queue(db, self.media_dir, self._queue_reviewer_id)
        self.batches = Batches(db, data_dir, self.media_dir)
        self.guidelines = Guidelines(db)
        self.verdicts = Verdicts(db, self._reviewer_id)
        self.wellbeing = Wellbeing(db, self._reviewer_id)
        self.trust = Trust(db, data_dir, self._require_reviewer)
        self.bundles = Bundles(db, data_dir)
        self.sync = Sync(db, data_dir)
        self.reports = Reports(db, self._queue_reviewer_id)

    @classmethod
    def open(cls, data_dir: Path) -> Workspace:
        """Open (creating if needed) the workspace in ``data_dir``."""
        private_dir(data_dir)
        return cls(data_dir, open_database(data_dir / DB_FILENAME))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
        self._closed = True

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """False once :meth:`close` was called."""
        return not self._closed

    @property
    def settings_path(self) -> Path:
        """The file where the GUI keeps the reviewer's preferences for this data directory."""
        return settings_path(self.data_dir)

    def database_for_tests(self) -> sqlite_utils.Database:
        """The workspace's database connection, for tests that inspect or plant rows.

        The app itself never uses this: the UI and CLI go through the rooms.
        """
        return self._db

    # -- the local reviewer ---------------------------------------------------------------
    @property
    def reviewer(self) -> Reviewer | None:
        """The local reviewer profile, or None before first run."""
        return self._reviewer

    def ensure_reviewer(self, display_name: str) -> Reviewer:
        """The local profile, made with ``display_name`` if there is none yet."""
        if self._reviewer is None:
            self._reviewer = create_local_reviewer(self._db, display_name)
        return self._reviewer

    def _require_reviewer(self) -> Reviewer:
        if self._reviewer is None:
            raise NoReviewer("no local reviewer profile yet: call ensure_reviewer first")
        return self._reviewer

    def _reviewer_id(self) -> str:
        return self._require_reviewer().id

    def _queue_reviewer_id(self) -> str:
        """The reviewer whose verdicts the queue shows ("" before there is one)."""
        return self._reviewer.id if self._reviewer is not None else ""
