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
``bundles``, ``sync``, ``reports``, ``calibration``, ``gold``, ``quizzes``. The database is
private to core.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import sqlite_utils

from .batches.room import Batches
from .bundles.atomic_files import remove_stale_temporaries
from .bundles.ledger import recover_exports
from .bundles.room import Bundles
from .calibration import Calibration
from .errors import NoReviewer
from .gold import Gold
from .guidelines import Guidelines
from .media_store import MediaStore
from .paths import app_dir, private_dir, quarantine_dir, settings_path
from .queue import Queue
from .quizzes import Quizzes
from .reports import Reports
from .reviewers import Reviewer, create_local_reviewer, local_reviewer
from .store import open_database
from .sync import Sync
from .thread_sharing import share_interpreter
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
        self.media_store = MediaStore(data_dir, self.media_dir)
        if self.media_store.needs_migration():
            # A store from before media were encrypted: seal what it holds, once.
            self.media_store.migrate()
        self._reviewer = local_reviewer(db)
        self._closed = False
        self.queue = Queue(db, self.media_store, self._queue_reviewer_id)
        self.batches = Batches(db, data_dir, self.media_store)
        self.guidelines = Guidelines(db)
        self.verdicts = Verdicts(db, self._reviewer_id)
        self.wellbeing = Wellbeing(db, self._reviewer_id)
        self.trust = Trust(db, data_dir, self._require_reviewer)
        self.bundles = Bundles(db, data_dir)
        self.sync = Sync(db, data_dir)
        self.reports = Reports(db, self._queue_reviewer_id)
        self.calibration = Calibration(db, self._reviewer_id, self.media_store)
        self.gold = Gold(db, self.media_store)
        self.quizzes = Quizzes(
            db,
            self.media_store,
            self._reviewer_id,
            lambda: self._require_reviewer().display_name,
        )

    @classmethod
    def open(cls, data_dir: Path) -> Workspace:
        """Open (creating if needed) the workspace in ``data_dir``.

        A folder that exists keeps its mode; the app's files and subfolders are private.
        What a killed process left is settled first: pending exports adopted or abandoned
        (:func:`~.bundles.ledger.recover_exports`), stale temporary files removed.
        """
        app_dir(data_dir)
        ws = cls(data_dir, open_database(data_dir / DB_FILENAME))
        try:
            ws._recover()
        except BaseException:
            ws.close()
            raise
        return ws

    def _recover(self) -> None:
        recover_exports(self._db)
        for folder in (self.data_dir, quarantine_dir(self.data_dir)):
            remove_stale_temporaries(folder)
        for shard in self.media_dir.glob("??"):
            remove_stale_temporaries(shard, ".incoming-*")

    def share_interpreter(self) -> None:
        """For a workspace used in a worker thread of the GUI: its queries pause now and then
        so the GUI thread gets the GIL (:mod:`.thread_sharing`)."""
        share_interpreter(self._db.conn)

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

    def data_version(self) -> int:
        """A number that changes when another connection (the CLI, another process, a
        worker) commits to this data directory's database; cheap enough to poll each second.

        SQLite's ``PRAGMA data_version``: this connection's own commits do not change it.
        """
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

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
