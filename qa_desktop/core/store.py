"""The SQLite database: schema, forward migrations, connection settings, transactions.

One file per data directory, opened through sqlite-utils::

    db = open_database(Path("~/qa/qa.db").expanduser())
    with transaction(db):
        db.table("meta").upsert({"key": "k", "value": "v"}, pk="key")

Every write the app makes goes through :func:`transaction`, so it is all or nothing, and
takes the write lock first (``BEGIN IMMEDIATE``): several processes (the GUI, CLI commands, a
sync) may write one database at once, and a writer waits for another (``busy_timeout``, then a
few bounded retries) instead of failing with "database is locked".
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from .errors import QADesktopError


def _migration_1(db: sqlite_utils.Database) -> None:
    """The foundation schema: batches, cases, media, guideline packs, reviewers, verdicts."""
    _execute_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

        CREATE TABLE reviewers (
            id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            issuer TEXT NOT NULL,
            market TEXT NOT NULL,
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            created_at TEXT NOT NULL,
            format_version INTEGER NOT NULL,
            imported_at TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            signature_status TEXT NOT NULL DEFAULT 'unsigned'
        );

        -- seq orders the queue and gives keyset paging; id is the stable external id.
        CREATE TABLE cases (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            batch_id TEXT NOT NULL REFERENCES batches(id),
            content_type TEXT NOT NULL CHECK (content_type IN ('image', 'video', 'text')),
            market TEXT NOT NULL,
            language TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            orig_label TEXT NOT NULL,
            orig_policy TEXT NOT NULL,
            orig_moderator TEXT NOT NULL,
            orig_queue TEXT NOT NULL,
            orig_decided_at TEXT NOT NULL,
            content_sha256 TEXT NOT NULL
        );
        CREATE INDEX cases_batch ON cases(batch_id);

        CREATE TABLE media (
            case_id TEXT NOT NULL REFERENCES cases(id),
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            mime TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (case_id, position)
        );

        CREATE TABLE guideline_packs (
            id TEXT NOT NULL,
            version TEXT NOT NULL,
            market TEXT NOT NULL,
            language TEXT NOT NULL,
            title TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            PRIMARY KEY (id, version)
        );
        CREATE TABLE guideline_labels (
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            position INTEGER NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            action TEXT NOT NULL,
            severity INTEGER NOT NULL,
            policy TEXT NOT NULL,
            PRIMARY KEY (pack_id, pack_version, id),
            FOREIGN KEY (pack_id, pack_version) REFERENCES guideline_packs(id, version)
        );
        CREATE TABLE guideline_sections (
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            position INTEGER NOT NULL,
            id TEXT NOT NULL,
            policy TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            labels TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (pack_id, pack_version, id),
            FOREIGN KEY (pack_id, pack_version) REFERENCES guideline_packs(id, version)
        );

        -- Verdict events are append-only: an edit or an undo is a new event that supersedes.
        CREATE TABLE verdicts (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL REFERENCES cases(id),
            reviewer_id TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT 'sme',
            session_id TEXT,
            label TEXT,
            citations TEXT NOT NULL DEFAULT '[]',
            notes TEXT NOT NULL DEFAULT '',
            time_on_case_ms INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            supersedes TEXT,
            restores TEXT
        );
        CREATE INDEX verdicts_case ON verdicts(case_id, reviewer_id);
        CREATE INDEX verdicts_supersedes ON verdicts(supersedes);
        CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts
            BEGIN SELECT RAISE(ABORT, 'verdict events are append-only'); END;
        CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts
            BEGIN SELECT RAISE(ABORT, 'verdict events are append-only'); END;

        -- The effective verdict of a reviewer on a case: their newest event nobody superseded.
        CREATE VIEW effective_verdicts AS
            SELECT v.* FROM verdicts v
            WHERE NOT EXISTS (SELECT 1 FROM verdicts s WHERE s.supersedes = v.id)
              AND v.id = (
                SELECT w.id FROM verdicts w
                WHERE w.case_id = v.case_id AND w.reviewer_id = v.reviewer_id
                  AND NOT EXISTS (SELECT 1 FROM verdicts s2 WHERE s2.supersedes = w.id)
                ORDER BY w.created_at DESC, w.id DESC LIMIT 1);
        """,
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """Guideline packs: overlays, effective dates, retired sections, examples (issue 4).

    An overlay pack names its global base (``base_id``, ``base_version``); its section rows
    carry the ``change`` they make to the base (``add``, ``replace`` or ``retire``; empty for
    a global pack's own sections).
    """
    _execute_script(
        db,
        """
        ALTER TABLE guideline_packs ADD COLUMN format_version INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE guideline_packs ADD COLUMN effective_date TEXT NOT NULL DEFAULT '';
        ALTER TABLE guideline_packs ADD COLUMN base_id TEXT;
        ALTER TABLE guideline_packs ADD COLUMN base_version TEXT;
        CREATE INDEX guideline_packs_base ON guideline_packs(base_id, base_version, market);

        ALTER TABLE guideline_sections ADD COLUMN parent TEXT;
        ALTER TABLE guideline_sections ADD COLUMN examples TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE guideline_sections ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'retired'));
        ALTER TABLE guideline_sections ADD COLUMN change TEXT NOT NULL DEFAULT ''
            CHECK (change IN ('', 'add', 'replace', 'retire'));
        """,
    )


def _migration_3(db: sqlite_utils.Database) -> None:
    """Verdict details: confidence, RCA escalation, policy-gap flag; saved queue views.

    ``effective_verdicts`` selects ``v.*``, so the new columns flow through it unchanged.
    """
    _execute_script(
        db,
        """
        ALTER TABLE verdicts ADD COLUMN confidence INTEGER
            CHECK (confidence IS NULL OR confidence BETWEEN 1 AND 3);
        ALTER TABLE verdicts ADD COLUMN rca_reason TEXT;
        ALTER TABLE verdicts ADD COLUMN rca_note TEXT NOT NULL DEFAULT '';
        ALTER TABLE verdicts ADD COLUMN gap_kind TEXT;
        ALTER TABLE verdicts ADD COLUMN gap_note TEXT NOT NULL DEFAULT '';

        -- Named queue filters (view state the reviewer keeps; the filter is JSON).
        CREATE TABLE saved_views (
            name TEXT PRIMARY KEY,
            filter TEXT NOT NULL,
            saved_at TEXT NOT NULL
        );
        """,
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    """Exposure accounting: unblurred viewing per case, category and session (issue 3).

    Local only: these rows describe the reviewer, and leave the machine in a bundle only
    when the reviewer opts in. ``weighted_ms`` is ``unblurred_ms`` times the revealed share.
    """
    _execute_script(
        db,
        """
        CREATE TABLE review_sessions (
            id TEXT PRIMARY KEY,
            reviewer_id TEXT,
            started_at TEXT NOT NULL,
            ended_at TEXT
        );

        CREATE TABLE exposure (
            id INTEGER PRIMARY KEY,
            session_id TEXT REFERENCES review_sessions(id),
            case_id TEXT NOT NULL REFERENCES cases(id),
            category TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            unblurred_ms INTEGER NOT NULL CHECK (unblurred_ms >= 0),
            weighted_ms INTEGER NOT NULL CHECK (weighted_ms >= 0)
        );
        CREATE INDEX exposure_session ON exposure(session_id);
        CREATE INDEX exposure_case ON exposure(case_id);

        CREATE TABLE session_breaks (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES review_sessions(id),
            taken_at TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX session_breaks_session ON session_breaks(session_id);
        """,
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    """Signed bundles: keys, trust store, audit chain, seen bundles (issue 5).

    ``trusted_keys`` is the trust store (the local reviewer's own key is in it too);
    ``bundle_log`` every bundle exported or imported, one sequence number per signer;
    ``exported_events`` which local events left in which bundle; ``chain_points`` the
    heads of each signer's event chain at known positions (see docs/bundle-format.md);
    ``audit_log`` the local hash chain over every verdict event; ``seen_bundles`` the
    files a sync folder already delivered, by SHA-256.
    """
    _execute_script(
        db,
        """
        CREATE TABLE trusted_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            signer_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'lead', 'issuer')),
            reviewer_id TEXT,
            added_at TEXT NOT NULL,
            revoked_at TEXT
        );

        CREATE TABLE bundle_log (
            bundle_id TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            digest TEXT NOT NULL,
            event_count INTEGER NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('export', 'import')),
            logged_at TEXT NOT NULL,
            UNIQUE (key_id, seq)
        );

        CREATE TABLE exported_events (
            event_id TEXT PRIMARY KEY,
            bundle_id TEXT NOT NULL REFERENCES bundle_log(bundle_id)
        );

        CREATE TABLE chain_points (
            key_id TEXT NOT NULL,
            position INTEGER NOT NULL CHECK (position >= 0),
            head TEXT NOT NULL,
            bundle_id TEXT NOT NULL,
            PRIMARY KEY (key_id, position)
        );

        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            event_sha256 TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

        CREATE TABLE seen_bundles (
            sha256 TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            outcome TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        """,
    )


def _migration_6(db: sqlite_utils.Database) -> None:
    """Sync: ``seen_files`` remembers a sync-folder file already delivered by its path, size
    and modification time, so a sync need not read and hash it again."""
    _execute_script(
        db,
        """
        CREATE TABLE seen_files (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL REFERENCES seen_bundles(sha256)
        );
        """,
    )


def _newest_decided(alias: str, role: str) -> str:
    """SQL: the id of the newest effective decision of ``role`` on case ``c`` (or NULL)."""
    return (
        f"(SELECT {alias}.id FROM effective_verdicts {alias} WHERE {alias}.case_id = c.id"
        f" AND {alias}.role = '{role}' AND {alias}.label IS NOT NULL"
        f" ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT 1)"
    )


_SME_LABELS = (
    "(SELECT COUNT(DISTINCT s.label) FROM effective_verdicts s WHERE s.case_id = c.id"
    " AND s.role = 'sme' AND s.label IS NOT NULL)"
)
_FINAL_EVENT = (
    f"COALESCE({_newest_decided('a', 'arbiter')},"
    f" CASE WHEN {_SME_LABELS} = 1 THEN {_newest_decided('n', 'sme')} END)"
)


def _migration_7(db: sqlite_utils.Database) -> None:
    """One definition of a case's final verdict: the ``final_verdicts`` view (one row a case).

    Read by the queue, the QA outcome, findings, and later reports and agreement. Over the
    effective verdicts (each reviewer's newest not superseded, retractions excluded):

    1. an arbiter's ruling exists -> the newest ruling is final (``status = 'ruled'``);
    2. else the SME verdicts all give one label -> the newest of them is final
       (``'decided'``; one reviewer, or several who agree);
    3. else SMEs disagree -> no final verdict (``'disputed'``: ``event_id`` and ``label`` NULL);
    4. else nobody decided -> ``'open'``.

    Calibration votes (role ``participant``) never count. The view is a plain select over
    ``cases`` with correlated subqueries, so SQLite flattens it into a query that joins it
    on ``case_id`` and evaluates it only for the rows asked for.
    """
    _execute_script(
        db,
        f"""
        CREATE VIEW final_verdicts AS
            SELECT c.id AS case_id,
                {_FINAL_EVENT} AS event_id,
                (SELECT v.label FROM verdicts v WHERE v.id = {_FINAL_EVENT}) AS label,
                CASE
                    WHEN {_newest_decided("a", "arbiter")} IS NOT NULL THEN 'ruled'
                    WHEN {_SME_LABELS} = 1 THEN 'decided'
                    WHEN {_SME_LABELS} > 1 THEN 'disputed'
                    ELSE 'open'
                END AS status
            FROM cases c;
        """,
    )


def _migration_8(db: sqlite_utils.Database) -> None:
    """Only a reviewer's own events supersede theirs (issue 17).

    ``effective_verdicts`` counted any event naming another as superseded, so an event in a
    bundle from one reviewer could retract or replace another's verdict. Now a reviewer's
    effective verdict on a case is their newest event that none of *their own* events
    supersedes; an event claiming to supersede someone else's changes nothing of theirs.
    ``final_verdicts`` reads this view by name and follows it unchanged. "Newest" among a
    reviewer's unsuperseded events is by ``created_at`` (which bundle import keeps within
    minutes of the importer's clock), then by id; an edit or undo always supersedes
    explicitly, so within one reviewer's chain the clock never decides.
    """
    _execute_script(
        db,
        """
        DROP VIEW effective_verdicts;
        CREATE VIEW effective_verdicts AS
            SELECT v.* FROM verdicts v
            WHERE NOT EXISTS (
                SELECT 1 FROM verdicts s
                WHERE s.supersedes = v.id AND s.reviewer_id = v.reviewer_id)
              AND v.id = (
                SELECT w.id FROM verdicts w
                WHERE w.case_id = v.case_id AND w.reviewer_id = v.reviewer_id
                  AND NOT EXISTS (
                    SELECT 1 FROM verdicts s2
                    WHERE s2.supersedes = w.id AND s2.reviewer_id = w.reviewer_id)
                ORDER BY w.created_at DESC, w.id DESC LIMIT 1);
        """,
    )


def _migration_9(db: sqlite_utils.Database) -> None:
    """Exports that survive a crash (issue 17): a bundle is recorded before it appears.

    ``pending_exports`` holds an exported bundle (already in ``bundle_log``) whose file was
    not yet confirmed in place: its temporary and final paths, so that after a crash it is
    adopted (renamed into place) or, if its file is gone, abandoned. ``abandoned_exports``
    remembers abandoned ones: their events are unexported again, their sequence number stays
    used (never reused for other content). See docs/bundle-format.md.
    """
    _execute_script(
        db,
        """
        CREATE TABLE pending_exports (
            bundle_id TEXT PRIMARY KEY REFERENCES bundle_log(bundle_id),
            tmp_path TEXT NOT NULL,
            final_path TEXT NOT NULL,
            started_at TEXT NOT NULL
        );
        CREATE TABLE abandoned_exports (
            bundle_id TEXT PRIMARY KEY REFERENCES bundle_log(bundle_id),
            abandoned_at TEXT NOT NULL
        );
        """,
    )


def _migration_10(db: sqlite_utils.Database) -> None:
    """Sync and signers nobody trusts: ``untrusted_bundles`` remembers a sync-folder file
    refused because its key is not trusted (by SHA-256), so the next sync neither verifies
    nor quarantines it again while the key stays untrusted; ``dismissed_signers`` the keys
    whose bundles the reviewer chose to stop hearing about."""
    _execute_script(
        db,
        """
        CREATE TABLE untrusted_bundles (
            sha256 TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            name TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX untrusted_bundles_key ON untrusted_bundles(key_id);

        CREATE TABLE dismissed_signers (
            key_id TEXT PRIMARY KEY,
            dismissed_at TEXT NOT NULL
        );
        """,
    )


def _migration_11(db: sqlite_utils.Database) -> None:
    """Sampling weights per stratum, as a batch declares them (issue 13; ``'{}'``: none).

    JSON ``{"stratum": "policy" | "market", "weights": {"<value>": weight}}``; reports
    post-stratify accuracy with them.
    """
    _execute_script(
        db, "ALTER TABLE batches ADD COLUMN sampling_weights TEXT NOT NULL DEFAULT '{}';"
    )


def _migration_12(db: sqlite_utils.Database) -> None:
    """Calibration sessions (issue 11): sessions, participants, cases, reveal and note events.

    Every table is append-only. Votes and rulings are rows of ``verdicts`` (role
    ``participant`` or ``arbiter``, with ``session_id``); a participant typed for a room has
    no reviewer profile, so their votes carry the participant's id in the session.

    ``effective_verdicts`` now leaves calibration votes out altogether, so a vote is never
    anyone's verdict: before, a reviewer's vote in a session became their newest event on
    the case and hid their own verdict from the queue, findings, reports and
    ``final_verdicts``. A vote neither counts nor supersedes anything outside the session.
    """
    _execute_script(
        db,
        """
        CREATE TABLE calibration_sessions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            market TEXT NOT NULL,
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('live', 'async')),
            anonymous INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
            arbiter_id TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE calibration_participants (
            session_id TEXT NOT NULL REFERENCES calibration_sessions(id),
            id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            known INTEGER NOT NULL CHECK (known IN (0, 1)),
            position INTEGER NOT NULL,
            PRIMARY KEY (session_id, id),
            UNIQUE (session_id, display_name)
        );
        CREATE TABLE calibration_cases (
            session_id TEXT NOT NULL REFERENCES calibration_sessions(id),
            case_id TEXT NOT NULL REFERENCES cases(id),
            position INTEGER NOT NULL,
            PRIMARY KEY (session_id, case_id)
        );
        CREATE TABLE calibration_events (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES calibration_sessions(id),
            case_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reveal', 'note')),
            author_id TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            FOREIGN KEY (session_id, case_id) REFERENCES calibration_cases(session_id, case_id)
        );
        CREATE INDEX calibration_events_case ON calibration_events(session_id, case_id);
        CREATE INDEX verdicts_session ON verdicts(session_id, case_id)
            WHERE session_id IS NOT NULL;
        """
        + "".join(
            f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        """
            for table in (
                "calibration_sessions",
                "calibration_participants",
                "calibration_cases",
                "calibration_events",
            )
        )
        + """
        DROP VIEW effective_verdicts;
        CREATE VIEW effective_verdicts AS
            SELECT v.* FROM verdicts v
            WHERE v.role != 'participant'
              AND NOT EXISTS (
                SELECT 1 FROM verdicts s
                WHERE s.supersedes = v.id AND s.reviewer_id = v.reviewer_id
                  AND s.role != 'participant')
              AND v.id = (
                SELECT w.id FROM verdicts w
                WHERE w.case_id = v.case_id AND w.reviewer_id = v.reviewer_id
                  AND w.role != 'participant'
                  AND NOT EXISTS (
                    SELECT 1 FROM verdicts s2
                    WHERE s2.supersedes = w.id AND s2.reviewer_id = w.reviewer_id
                      AND s2.role != 'participant')
                ORDER BY w.created_at DESC, w.id DESC LIMIT 1);
        """,
    )


def _migration_13(db: sqlite_utils.Database) -> None:
    """An index on each column the queue's filter bar offers values of (issue 15): the
    facets are then read by a loose index scan, costing the number of distinct values
    rather than a scan of every case on every window open."""
    _execute_script(
        db,
        """
        CREATE INDEX IF NOT EXISTS cases_market ON cases(market);
        CREATE INDEX IF NOT EXISTS cases_orig_policy ON cases(orig_policy);
        CREATE INDEX IF NOT EXISTS cases_orig_label ON cases(orig_label);
        CREATE INDEX IF NOT EXISTS cases_orig_moderator ON cases(orig_moderator);
        CREATE INDEX IF NOT EXISTS cases_orig_queue ON cases(orig_queue);
        CREATE INDEX IF NOT EXISTS cases_content_type ON cases(content_type);
        """,
    )


def _migration_14(db: sqlite_utils.Database) -> None:
    """Media shown unblurred to a calibration room (issue 11): one row per reveal, with the
    session's participants at that moment (a JSON list of participant ids), so every
    participant's app can count it as exposure when sessions travel. Append-only."""
    _execute_script(
        db,
        """
        CREATE TABLE calibration_media_reveals (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES calibration_sessions(id),
            case_id TEXT NOT NULL,
            author_id TEXT NOT NULL,
            participants TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            FOREIGN KEY (session_id, case_id) REFERENCES calibration_cases(session_id, case_id)
        );
        CREATE INDEX calibration_media_reveals_case
            ON calibration_media_reveals(session_id, case_id);
        CREATE TRIGGER calibration_media_reveals_no_update
            BEFORE UPDATE ON calibration_media_reveals
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        CREATE TRIGGER calibration_media_reveals_no_delete
            BEFORE DELETE ON calibration_media_reveals
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        """,
    )


def _migration_15(db: sqlite_utils.Database) -> None:
    """Golden sets and quizzes (issue 14): the gold pool, where hidden gold was shipped,
    quizzes with their items, and quiz attempts with their answers."""
    _execute_script(
        db,
        """
        CREATE TABLE gold_cases (
            case_id TEXT PRIMARY KEY REFERENCES cases(id),
            label TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            market TEXT NOT NULL,
            policy TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('ruling', 'verdict')),
            event_id TEXT NOT NULL,
            session_id TEXT,
            difficulty REAL,
            promoted_at TEXT NOT NULL,
            retired_at TEXT,
            retired_reason TEXT,
            quiz_id TEXT
        );
        CREATE INDEX gold_cases_pool ON gold_cases(market, policy);

        -- Every case of a shipped batch: its shipped id, the case it was made from, and
        -- (for hidden gold) the gold case whose answer key it is checked against.
        CREATE TABLE shipped_cases (
            case_id TEXT PRIMARY KEY,
            source_case_id TEXT NOT NULL,
            gold_case_id TEXT REFERENCES gold_cases(case_id),
            batch_id TEXT NOT NULL,
            shipped_at TEXT NOT NULL
        );
        CREATE INDEX shipped_cases_gold ON shipped_cases(gold_case_id);

        CREATE TABLE quizzes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            mode TEXT NOT NULL CHECK (mode IN ('training', 'exam')),
            market TEXT NOT NULL,
            policy TEXT NOT NULL,
            pack_id TEXT NOT NULL,
            pack_version TEXT NOT NULL,
            pass_mark REAL NOT NULL,
            max_attempts INTEGER NOT NULL,
            batch_id TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            shipped_at TEXT,
            received_at TEXT
        );

        CREATE TABLE quiz_items (
            quiz_id TEXT NOT NULL REFERENCES quizzes(id),
            case_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            gold_case_id TEXT,
            label TEXT,
            citations TEXT NOT NULL DEFAULT '[]',
            explanation TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (quiz_id, case_id)
        );

        CREATE TABLE quiz_attempts (
            id TEXT PRIMARY KEY,
            quiz_id TEXT NOT NULL REFERENCES quizzes(id),
            reviewer_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            submitted_at TEXT,
            exported INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT 'local'
        );

        CREATE TABLE quiz_answers (
            attempt_id TEXT NOT NULL REFERENCES quiz_attempts(id),
            case_id TEXT NOT NULL,
            label TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            PRIMARY KEY (attempt_id, case_id)
        );
        """,
    )


def _migration_16(db: sqlite_utils.Database) -> None:
    """Calibration votes kept aside (issue 11, async sessions): a signed vote for a session
    this database does not know yet, or one a participant's own app must not see (votes are
    blind), waits here with its exact line until the session arrives; never lost."""
    _execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS calibration_pending_votes (
            event_id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            reviewer_id TEXT NOT NULL,
            line TEXT NOT NULL,
            bundle_id TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS calibration_pending_session
            ON calibration_pending_votes(session_id);
        """,
    )


_AFFECTED_CASES = "(NEW.case_id, (SELECT p.case_id FROM verdicts p WHERE p.id = NEW.supersedes))"
"""The cases whose verdicts a new event can change: its own, and (an event may name any of
its reviewer's events as superseded) the case of the event it supersedes."""

_CURRENT_FROM_VIEWS = f"""
    DELETE FROM current_verdicts
        WHERE reviewer_id = NEW.reviewer_id AND case_id IN {_AFFECTED_CASES};
    INSERT INTO current_verdicts
        (case_id, reviewer_id, seq, event_id, role, label, rca, gap, created_at)
        SELECT e.case_id, e.reviewer_id, c.seq, e.id, e.role, e.label,
            e.rca_reason IS NOT NULL, e.gap_kind IS NOT NULL, e.created_at
        FROM effective_verdicts e JOIN cases c ON c.id = e.case_id
        WHERE e.reviewer_id = NEW.reviewer_id AND e.case_id IN {_AFFECTED_CASES};
    INSERT OR REPLACE INTO case_finals (case_id, seq, event_id, label, status)
        SELECT f.case_id, c.seq, f.event_id, f.label, f.status
        FROM final_verdicts f JOIN cases c ON c.id = f.case_id
        WHERE f.case_id IN {_AFFECTED_CASES};
"""


def _migration_17(db: sqlite_utils.Database) -> None:
    """Maintained per-case verdict summaries for the queue (issue 15).

    ``effective_verdicts`` and ``final_verdicts`` stay the one definition; reading them for
    every case costs seconds at a million cases, so two tables keep their results:

    - ``current_verdicts``: one row per (case, reviewer) with an effective verdict (the
      view's row: event, role, label or NULL for a retraction, the RCA and gap flags);
    - ``case_finals``: the ``final_verdicts`` row of every case that ever had a verdict
      (a case without a row is ``open``).

    Both carry the case's ``seq`` so the queue pages them in order. A trigger on
    ``verdicts`` refreshes the rows of the cases a new event can change, from the views,
    inside the statement that inserts the event: every path that writes a verdict (record,
    undo, bundle merge, calibration ruling, anything else) keeps them current in the same
    transaction. A migration that redefines either view must rebuild both tables.

    ``verdicts_superseding`` keeps the views' supersession tests index seeks whatever
    ``ANALYZE`` learned about the mostly-NULL ``supersedes`` column (a scan of every event
    per test made one recorded verdict cost 0.6 s at 100k events).
    """
    _execute_script(
        db,
        f"""
        CREATE TABLE current_verdicts (
            case_id TEXT NOT NULL,
            reviewer_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            role TEXT NOT NULL,
            label TEXT,
            rca INTEGER NOT NULL,
            gap INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (case_id, reviewer_id)
        );
        CREATE INDEX current_verdicts_done ON current_verdicts(reviewer_id, seq)
            WHERE label IS NOT NULL;
        CREATE INDEX current_verdicts_rca ON current_verdicts(reviewer_id, seq) WHERE rca;
        CREATE INDEX current_verdicts_gap ON current_verdicts(reviewer_id, seq) WHERE gap;
        CREATE INDEX current_verdicts_flagged ON current_verdicts(reviewer_id, seq)
            WHERE rca OR gap;
        CREATE TABLE case_finals (
            case_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            event_id TEXT,
            label TEXT,
            status TEXT NOT NULL
        );
        CREATE INDEX case_finals_disputed ON case_finals(seq) WHERE status = 'disputed';
        CREATE INDEX case_finals_decided ON case_finals(seq) WHERE label IS NOT NULL;
        -- Almost every event supersedes nothing: once ANALYZE has seen that, the planner
        -- judges verdicts_supersedes useless and the views scan every event for each
        -- "is it superseded" test. Over only the events that supersede, it is a seek.
        CREATE INDEX verdicts_superseding ON verdicts(supersedes, reviewer_id)
            WHERE supersedes IS NOT NULL;

        INSERT INTO current_verdicts
            (case_id, reviewer_id, seq, event_id, role, label, rca, gap, created_at)
            SELECT e.case_id, e.reviewer_id, c.seq, e.id, e.role, e.label,
                e.rca_reason IS NOT NULL, e.gap_kind IS NOT NULL, e.created_at
            FROM effective_verdicts e JOIN cases c ON c.id = e.case_id;
        INSERT INTO case_finals (case_id, seq, event_id, label, status)
            SELECT f.case_id, c.seq, f.event_id, f.label, f.status
            FROM final_verdicts f JOIN cases c ON c.id = f.case_id
            WHERE f.case_id IN (SELECT case_id FROM verdicts WHERE role != 'participant');

        -- A row here (only inside a bulk insert's transaction) turns the trigger off; the
        -- bulk insert refreshes the cases it touched at once (refresh_verdict_summaries).
        CREATE TABLE verdicts_bulk_insert (id INTEGER PRIMARY KEY);
        CREATE TRIGGER verdicts_keep_current AFTER INSERT ON verdicts
            WHEN NEW.role != 'participant' AND NOT EXISTS (SELECT 1 FROM verdicts_bulk_insert)
        BEGIN
            {_CURRENT_FROM_VIEWS}
        END;
        """,
    )


def insert_verdicts_in_bulk(
    db: sqlite_utils.Database, sql: str, rows: list[list[Any]], case_ids: set[str]
) -> None:
    """Insert many verdict rows (``sql`` an INSERT, in the caller's transaction) and refresh
    the maintained per-case tables once for the cases they touch (``case_ids``: the events'
    cases and the cases of the events they supersede), not row by row through the trigger.

    The trigger is dropped for the insert and created again from its own SQL, inside a
    savepoint: whatever happens, the transaction holds the trigger again (or rolls back
    with it), and no other connection ever sees it missing. (A trigger that stands aside
    still runs its ``WHEN`` for every row: that doubled the insert's cost.)
    """
    found = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [_KEEP_CURRENT]
    ).fetchone()
    with transaction(db):
        if found is not None:
            db.execute(f"DROP TRIGGER {_KEEP_CURRENT}")
        db.conn.executemany(sql, rows)
        if found is not None:
            db.execute(found[0])
        refresh_verdict_summaries(db, case_ids)


_KEEP_CURRENT = "verdicts_keep_current"


def refresh_verdict_summaries(db: sqlite_utils.Database, case_ids: set[str]) -> None:
    """Recompute ``current_verdicts`` of these cases by ``effective_verdicts``' rule, then their
    ``case_finals`` from those rows by ``final_verdicts``' rules (:data:`_FINALS_FROM_CURRENT`:
    the view would evaluate ``effective_verdicts`` eight times a case, 8x the cost)."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS refresh_cases (case_id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.refresh_cases")
    db.conn.executemany(
        "INSERT OR IGNORE INTO temp.refresh_cases VALUES (?)", [(c,) for c in case_ids]
    )
    picked = "(SELECT case_id FROM temp.refresh_cases)"
    db.execute(f"DELETE FROM current_verdicts WHERE case_id IN {picked}")
    db.execute(_CURRENT_OF_PICKED)
    db.execute(_FINALS_FROM_CURRENT)
    db.execute("DELETE FROM temp.refresh_cases")


_CURRENT_OF_PICKED = """
    INSERT INTO current_verdicts
        (case_id, reviewer_id, seq, event_id, role, label, rca, gap, created_at)
    SELECT case_id, reviewer_id, seq, id, role, label, rca, gap, created_at FROM (
        SELECT v.case_id, v.reviewer_id, c.seq, v.id, v.role, v.label,
            v.rca_reason IS NOT NULL AS rca, v.gap_kind IS NOT NULL AS gap, v.created_at,
            ROW_NUMBER() OVER (PARTITION BY v.case_id, v.reviewer_id
                ORDER BY v.created_at DESC, v.id DESC) AS newest
        FROM temp.refresh_cases r
            JOIN cases c ON c.id = r.case_id
            JOIN verdicts v ON v.case_id = r.case_id
        WHERE v.role != 'participant'
          AND NOT EXISTS (
            SELECT 1 FROM verdicts s
            WHERE s.supersedes = v.id AND s.reviewer_id = v.reviewer_id
              AND s.role != 'participant')
    ) WHERE newest = 1
"""
"""``effective_verdicts`` (migration 12) of the cases in ``temp.refresh_cases``, as
``current_verdicts`` rows, in one pass over their events: per (case, reviewer) the newest
non-vote event none of that reviewer's own non-vote events supersedes. The view answers
the same with a correlated subquery per event (each re-reading the reviewer's events on
the case), three times the work; ``tests/test_verdict_summaries.py`` and
``tests/test_bundle_fast_paths.py`` hold the two equal."""


def _newest_current(role: str) -> str:
    return (
        "(SELECT m.event_id FROM current_verdicts m WHERE m.case_id = r.case_id"
        f" AND m.role = '{role}' AND m.label IS NOT NULL"
        " ORDER BY m.created_at DESC, m.event_id DESC LIMIT 1)"
    )


_FINALS_FROM_CURRENT = f"""
    INSERT OR REPLACE INTO case_finals (case_id, seq, event_id, label, status)
    SELECT case_id, seq, final,
        (SELECT m.label FROM current_verdicts m WHERE m.case_id = p.case_id
            AND m.event_id = p.final),
        CASE WHEN ruling IS NOT NULL THEN 'ruled' WHEN labels = 1 THEN 'decided'
            WHEN labels > 1 THEN 'disputed' ELSE 'open' END
    FROM (
        SELECT case_id, seq, ruling, labels,
            COALESCE(ruling, CASE WHEN labels = 1 THEN newest END) AS final
        FROM (
            SELECT r.case_id, c.seq,
                {_newest_current("arbiter")} AS ruling,
                (SELECT COUNT(DISTINCT m.label) FROM current_verdicts m
                    WHERE m.case_id = r.case_id AND m.role = 'sme' AND m.label IS NOT NULL)
                    AS labels,
                {_newest_current("sme")} AS newest
            FROM temp.refresh_cases r JOIN cases c ON c.id = r.case_id
        )
    ) p
"""
"""``final_verdicts`` (migration 7) for the cases in ``temp.refresh_cases``, read from their
``current_verdicts`` rows (which are ``effective_verdicts``' rows): the newest effective
ruling, else the newest SME decision if every SME gives one label; ``disputed`` when SMEs
give several, ``open`` when nobody decided. ``tests/test_verdict_summaries.py`` holds it
equal to the view."""


def _tags_text(column: str) -> str:
    """SQL for the values of a case's JSON tag list (``column``), one a line: what the
    queue's find matches tags against (an invalid list: no tags)."""
    return (
        f"(SELECT group_concat(value, char(10)) FROM json_each("
        f"CASE WHEN json_valid({column}) THEN {column} END))"
    )


def _migration_18(db: sqlite_utils.Database) -> None:
    """A trigram full-text index over each case's id, text and tags (issue 15).

    The queue's find is a case-insensitive substring match; with a pattern of three
    characters or more it first asks ``case_find`` (FTS5, trigram tokenizer, contentless:
    the text stays in ``cases`` alone) which cases contain it, then checks those with the
    same ``LIKE`` as before, so a find is an index lookup rather than a read of every case.
    Triggers on ``cases`` keep it current in the transaction that writes the case. The
    insert trigger stands aside while the ``meta`` row ``case_find_deferred`` exists: a
    bulk writer (the batch import, :func:`find_index_deferred`) indexes its new cases with
    one statement at the end of its transaction instead (FTS5 writes its pending index data
    out at each trigger's statement savepoint: row by row, a trigram index made an import
    of text cases about 3x slower).
    """
    new, old = _tags_text("NEW.tags"), _tags_text("OLD.tags")
    _execute_script(
        db,
        f"""
        CREATE VIRTUAL TABLE case_find USING fts5(
            id, text, tags, tokenize = 'trigram', content = ''
        );
        INSERT INTO case_find (rowid, id, text, tags)
            SELECT seq, id, text, {_tags_text("tags")} FROM cases;
        CREATE TRIGGER cases_find_insert AFTER INSERT ON cases
            WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'case_find_deferred')
        BEGIN
            INSERT INTO case_find (rowid, id, text, tags)
                VALUES (NEW.seq, NEW.id, NEW.text, {new});
        END;
        CREATE TRIGGER cases_find_delete AFTER DELETE ON cases BEGIN
            INSERT INTO case_find (case_find, rowid, id, text, tags)
                VALUES ('delete', OLD.seq, OLD.id, OLD.text, {old});
        END;
        CREATE TRIGGER cases_find_update AFTER UPDATE OF seq, id, text, tags ON cases BEGIN
            INSERT INTO case_find (case_find, rowid, id, text, tags)
                VALUES ('delete', OLD.seq, OLD.id, OLD.text, {old});
            INSERT INTO case_find (rowid, id, text, tags)
                VALUES (NEW.seq, NEW.id, NEW.text, {new});
        END;
        """,
    )


def _id_suffixes_sql(id_column: str, seq_column: str, source: str) -> str:
    """A SELECT of (suffix, seq): each suffix of ``id_column`` (ASCII lower-cased, as
    ``LIKE`` folds) at least :data:`ID_SUFFIX_MIN` characters long, for the rows of
    ``source`` (a table, or a parenthesised SELECT such as ``(SELECT NEW.id AS id, NEW.seq
    AS seq)``, with those two columns)."""
    return (
        f"SELECT lower(substr(c.{id_column}, n.k)), c.{seq_column} FROM {source} c"
        " JOIN (WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n"
        f" WHERE k < (SELECT MAX(length({id_column})) FROM {source} m)) SELECT k FROM n) n"
        f" ON n.k <= length(c.{id_column}) - {ID_SUFFIX_MIN - 1}"
    )


ID_SUFFIX_MIN = 3
"""The shortest id suffix ``case_id_suffixes`` holds (migration 21): the queue's shortest
indexed find (``queue.FIND_INDEX_MIN``)."""


def _migration_21(db: sqlite_utils.Database) -> None:
    """Ids found through their suffixes, not trigrams (issue 15).

    Case ids are short and drawn from few characters (``c0000000`` .. ``c0999999``): their
    trigrams (``c00``, ``000``, ``001``) are in most ids, so a trigram lookup of an id-shaped
    find (``c00001``) walked doclists that grow with the cases (0.7 ms at 1M cases against
    0.05 ms at 1k, for the same 100 matches). ``case_id_suffixes`` holds every suffix of
    every id, ASCII lower-cased as ``LIKE`` folds, from :data:`ID_SUFFIX_MIN` characters on
    (a B-tree, ``WITHOUT ROWID``): an id holds the find exactly when one of its suffixes
    starts with it, one range of the index, whose cost is its matches. ``case_find`` (the
    trigram index, migration 18) keeps text and tags only. Triggers keep both, and the insert
    trigger stands aside for a bulk writer (:func:`find_index_deferred`), as before.

    The price is a row an id character: a suffix is nearly always a key of its own, where
    trigrams share a few long lists (indexing 100k 12-character ids takes about 1 s more
    than their trigrams did; the migration takes about 8 s at 1M cases).
    """
    new, old = _tags_text("NEW.tags"), _tags_text("OLD.tags")
    new_ids = _id_suffixes_sql("id", "seq", "(SELECT NEW.id AS id, NEW.seq AS seq)")
    old_ids = _id_suffixes_sql("id", "seq", "(SELECT OLD.id AS id, OLD.seq AS seq)")
    drop_old = (
        f"DELETE FROM case_id_suffixes WHERE (suffix, seq) IN ({old_ids});\n"
        "            INSERT INTO case_find (case_find, rowid, text, tags)"
        f" VALUES ('delete', OLD.seq, OLD.text, {old});"
    )
    add_new = (
        f"INSERT INTO case_id_suffixes (suffix, seq) {new_ids};\n"
        "            INSERT INTO case_find (rowid, text, tags)"
        f" VALUES (NEW.seq, NEW.text, {new});"
    )
    _execute_script(
        db,
        f"""
        DROP TRIGGER IF EXISTS cases_find_insert;
        DROP TRIGGER IF EXISTS cases_find_delete;
        DROP TRIGGER IF EXISTS cases_find_update;
        DROP TABLE IF EXISTS case_find;
        DROP TABLE IF EXISTS case_id_suffixes;
        CREATE VIRTUAL TABLE case_find USING fts5(
            text, tags, tokenize = 'trigram', content = ''
        );
        INSERT INTO case_find (rowid, text, tags) SELECT seq, text, {_tags_text("tags")} FROM cases;
        CREATE TABLE case_id_suffixes (
            suffix TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (suffix, seq)
        ) WITHOUT ROWID;
        INSERT INTO case_id_suffixes (suffix, seq) {_id_suffixes_sql("id", "seq", "cases")}
            ORDER BY 1, 2;
        CREATE TRIGGER cases_find_insert AFTER INSERT ON cases
            WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'case_find_deferred')
        BEGIN
            {add_new}
        END;
        CREATE TRIGGER cases_find_delete AFTER DELETE ON cases BEGIN
            {drop_old}
        END;
        CREATE TRIGGER cases_find_update AFTER UPDATE OF seq, id, text, tags ON cases BEGIN
            {drop_old}
            {add_new}
        END;
        """,
    )


@contextmanager
def find_index_deferred(db: sqlite_utils.Database) -> Iterator[Callable[[], None]]:
    """Inside a transaction: cases inserted in the block are added to the find indexes
    (``case_find`` and ``case_id_suffixes``, migrations 18 and 21) by one statement each,
    not one by one by the trigger. Other connections never see the marker (it lives and
    dies in the transaction).

    The block gets a callable that indexes the cases inserted so far (a bulk writer calls it
    after each chunk: the statement runs without Python's GIL, so other threads work
    meanwhile); what is left is indexed when the block ends."""
    if not db.conn.in_transaction:
        raise RuntimeError("find_index_deferred needs a transaction")
    indexed = [_max_case_seq(db)]

    def index_new_cases() -> None:
        last = _max_case_seq(db)
        if last > indexed[0]:
            db.conn.execute(
                "INSERT INTO case_find (rowid, text, tags)"
                f" SELECT seq, text, {_tags_text('tags')} FROM cases WHERE seq > :after",
                {"after": indexed[0]},
            )
            new_cases = "(SELECT id, seq FROM cases WHERE seq > :after)"
            db.conn.execute(
                "INSERT INTO case_id_suffixes (suffix, seq)"
                f" {_id_suffixes_sql('id', 'seq', new_cases)} ORDER BY 1, 2",
                {"after": indexed[0]},
            )
            indexed[0] = last

    db.conn.execute("INSERT INTO meta (key, value) VALUES ('case_find_deferred', '1')")
    cache = int(db.conn.execute("PRAGMA cache_size").fetchone()[0])
    # The id suffixes of a chunk land all over their B-tree: with SQLite's default 2 MiB of
    # page cache, pages went out and came back between chunks (a tenth of an import's time).
    db.conn.execute(f"PRAGMA cache_size = -{BULK_INDEX_CACHE_KIB}")
    try:
        yield index_new_cases
        index_new_cases()
    finally:
        db.conn.execute("DELETE FROM meta WHERE key = 'case_find_deferred'")
        db.conn.execute(f"PRAGMA cache_size = {cache}")


BULK_INDEX_CACHE_KIB = 65_536
"""SQLite's page cache (KiB) while a bulk writer fills the find indexes."""


def _max_case_seq(db: sqlite_utils.Database) -> int:
    return int(db.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM cases").fetchone()[0])


def _migration_19(db: sqlite_utils.Database) -> None:
    """Quiz attempts' delivery (issue 14).

    ``quiz_attempts.bundle_id``: which bundle carried each attempt. The attempts export
    records it with the pending export, so an export a crash abandoned sends its attempts
    again in a new bundle (``bundles/ledger.recover_exports``) and no sequence number is
    ever reused. Attempts exported before this migration keep none (they were delivered).
    ``quizzes.issuer_key_id``: the key that signed a received quiz (or shipped a built
    one), so the attempts go back addressed to that lead (unknown for older quizzes).
    """
    for table, column in (("quiz_attempts", "bundle_id"), ("quizzes", "issuer_key_id")):
        # Only if missing: a test (or a renumbering at merge) may run it over a database
        # that has them already.
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def _migration_20(db: sqlite_utils.Database) -> None:
    """Calibration sessions kept on this laptop: ``local_sessions`` (append-only).

    A local session's votes and rulings are never exported in a bundle. The demo's finished
    session is one: its rulings are signed by whoever ran the demo, and a lead's app refuses
    a ruling signed by a reviewer's key (``role-not-allowed``), so a reviewer who had run
    the demo could never sync. A demo session made before this migration (by its name, which
    the demo alone gives) becomes local; its events not yet exported now never are.
    """
    _execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS local_sessions (
            session_id TEXT PRIMARY KEY REFERENCES calibration_sessions(id),
            created_at TEXT NOT NULL
        );
        INSERT OR IGNORE INTO local_sessions (session_id, created_at)
            SELECT id, created_at FROM calibration_sessions
            WHERE name = 'Demo calibration: DE violence';
        CREATE TRIGGER IF NOT EXISTS local_sessions_no_update BEFORE UPDATE ON local_sessions
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        CREATE TRIGGER IF NOT EXISTS local_sessions_no_delete BEFORE DELETE ON local_sessions
            BEGIN SELECT RAISE(ABORT, 'calibration records are append-only'); END;
        """,
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
    _migration_13,
    _migration_14,
    _migration_15,
    _migration_16,
    _migration_17,
    _migration_18,
    _migration_19,
    _migration_20,
    _migration_21,
]
"""Forward migrations; the schema version is the number of migrations applied."""

SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseError(QADesktopError):
    """The database file cannot be used (newer schema, corrupt, not SQLite)."""


class DatabaseBusy(DatabaseError):
    """Another process held the database's write lock for longer than we wait for it."""


BUSY_TIMEOUT_MS = 10_000
"""How long SQLite itself waits for another writer's lock (``PRAGMA busy_timeout``)."""
BUSY_RETRIES = 3
"""Further attempts to take the write lock after a wait of ``BUSY_TIMEOUT_MS`` ran out."""
_savepoints = itertools.count(1)


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date.

    WAL journaling and foreign keys are switched on for every connection, and a writer waits
    up to :data:`BUSY_TIMEOUT_MS` for another's lock. The file (and its ``-wal`` and ``-shm``
    companions) is readable by the user alone.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _make_private_files(path)
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    db = sqlite_utils.Database(conn)
    try:
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"{path}: not a usable QA Desktop database ({exc})") from exc
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    """The number of migrations applied to ``db`` (0 for a new file)."""
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite_utils.Database) -> None:
    """Apply every migration not yet applied, each in its own transaction."""
    with transaction(db):
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at TEXT)"
        )
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise DatabaseError(
            f"database schema version {current} is newer than this app ({SCHEMA_VERSION}); "
            "update QA Desktop"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with transaction(db):
            MIGRATIONS[version - 1](db)
            db.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))",
                [version],
            )


def _make_private_files(path: Path) -> None:
    """Create the database file 0600 if it is absent; make it and its companions 0600.

    SQLite creates ``-wal`` and ``-shm`` with the database file's mode, so new ones follow.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for name in (path.name, path.name + "-wal", path.name + "-shm"):
            if path.with_name(name).is_file():
                path.with_name(name).chmod(0o600)
    except OSError:
        pass  # a read-only location or not a file: connecting will say what is wrong


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block as one SQLite write transaction: committed on success, rolled back on error.

    The outermost level starts with ``BEGIN IMMEDIATE``: it takes the write lock before the
    block reads anything, so another process's write makes it wait (``busy_timeout``) rather
    than fail. (A deferred ``BEGIN`` that reads and then writes gets ``SQLITE_BUSY`` at once
    in WAL mode, whatever the timeout.) If the lock is still busy after the timeout, taking
    it is retried :data:`BUSY_RETRIES` times before :class:`DatabaseBusy`. An SQLite
    operational error (locked, disk full, I/O) rolls back and becomes :class:`DatabaseError`.
    Nested use becomes a savepoint inside the outer transaction.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"qa_savepoint_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            # A RAISE(ROLLBACK) trigger may already have ended the whole transaction.
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    _begin_immediate(conn)
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError):
            # Locked, disk full, I/O error: nothing was written; say so in our own terms.
            if _is_busy(exc):
                raise DatabaseBusy(f"the database is busy ({exc}); nothing was changed") from exc
            raise DatabaseError(
                f"could not write to the database ({exc}); nothing was changed"
            ) from exc
        raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, retried a bounded number of times while another writer holds on."""
    for attempt in range(BUSY_RETRIES + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt == BUSY_RETRIES:
                if _is_busy(exc):
                    raise DatabaseBusy(
                        "the database is busy: another QA Desktop window or command kept"
                        f" writing to it for over {BUSY_TIMEOUT_MS * (BUSY_RETRIES + 1) // 1000}"
                        " seconds; nothing was changed, try again"
                    ) from exc
                raise
            time.sleep(0.05 * (attempt + 1))


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _execute_script(db: sqlite_utils.Database, script: str) -> None:
    """Run each statement of ``script`` inside the current transaction.

    ``executescript`` would commit first, breaking the migration's atomicity.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
