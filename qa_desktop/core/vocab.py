"""The app's closed vocabularies, as ``StrEnum``s.

Each value is the string stored in the database and written in files, so a member compares
equal to its text (``Role.SME == "sme"``) and old data reads unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class ContentType(StrEnum):
    """What a case shows."""

    IMAGE = "image"
    VIDEO = "video"
    TEXT = "text"


class Role(StrEnum):
    """In what capacity a verdict event was recorded."""

    SME = "sme"
    PARTICIPANT = "participant"
    ARBITER = "arbiter"


class KeyRole(StrEnum):
    """What a trusted signing key may sign."""

    REVIEWER = "reviewer"
    LEAD = "lead"
    ISSUER = "issuer"


class Outcome(StrEnum):
    """How a case's final verdict judges the frontline decision (derived, never typed)."""

    AGREE = "agree"
    OVER_ENFORCEMENT = "over_enforcement"
    UNDER_ENFORCEMENT = "under_enforcement"
    WRONG_POLICY = "wrong_policy"
    WRONG_ACTION = "wrong_action"
    UNKNOWN_LABEL = "unknown_label"


class BlurKind(StrEnum):
    """How protected media is obscured."""

    NONE = "none"
    GAUSSIAN = "gaussian"
    PIXELATE = "pixelate"


class RefusalReason(StrEnum):
    """Why core refused something: a stable code scripts and tests can match."""

    # recording a verdict
    UNKNOWN_CASE = "unknown-case"
    UNKNOWN_LABEL = "unknown-label"
    CITATION_REQUIRED = "citation-required"
    CITATION_UNSUPPORTED = "citation-unsupported"
    UNKNOWN_SECTION = "unknown-section"
    NO_REVIEWER = "no-reviewer"
    TOO_LARGE = "too-large"
    # calibration sessions
    UNKNOWN_SESSION = "unknown-session"
    UNKNOWN_VIEW = "unknown-view"
    UNKNOWN_BATCH = "unknown-batch"
    MIXED_PACKS = "mixed-packs"
    NOT_IN_SESSION = "not-in-session"
    NOT_A_PARTICIPANT = "not-a-participant"
    ALREADY_REVEALED = "already-revealed"
    ALREADY_RULED = "already-ruled"
    NOT_REVEALED = "not-revealed"
    NOT_ARBITER = "not-arbiter"
    NOT_ASYNC = "not-async"
    # gold sets and quizzes
    NOT_ARBITRATED = "not-arbitrated"
    ALREADY_GOLD = "already-gold"
    NOT_GOLD = "not-gold"
    NOT_ENOUGH_GOLD = "not-enough-gold"
    UNKNOWN_QUIZ = "unknown-quiz"
    QUIZ_NOT_SHIPPED = "quiz-not-shipped"
    ATTEMPT_LIMIT = "attempt-limit"
    NOT_IN_QUIZ = "not-in-quiz"
    KEY_MISMATCH = "key-mismatch"
    # bundles and signed batches
    BAD_SIGNATURE = "bad-signature"
    BAD_TIMESTAMP = "bad-timestamp"
    CASE_COLLISION = "case-collision"
    CORRUPT = "corrupt"
    DUPLICATE_KEY = "duplicate-key"
    DUPLICATE_NAME = "duplicate-name"
    EMPTY = "empty"
    EQUIVOCATION = "equivocation"
    EVENT_CONFLICT = "event-conflict"
    EXPIRED = "expired"
    FUTURE_TIMESTAMP = "future-timestamp"
    HASH_MISMATCH = "hash-mismatch"
    HISTORY_REWRITTEN = "history-rewritten"
    IMPERSONATION = "impersonation"
    KEY_ID_MISMATCH = "key-id-mismatch"
    MISSING_FILE = "missing-file"
    NOT_A_BAG = "not-a-bag"
    NOT_A_ZIP = "not-a-zip"
    REPLAY = "replay"
    REVOKED_SIGNER = "revoked-signer"
    ROLE_NOT_ALLOWED = "role-not-allowed"
    SCHEMA = "schema"
    SEQUENCE_JUMP = "sequence-jump"
    SUPERSEDES_OTHER = "supersedes-other"
    UNKNOWN_ROLE = "unknown-role"
    UNKNOWN_SIGNER = "unknown-signer"
    UNLISTED_FILE = "unlisted-file"
    UNREADABLE = "unreadable"
    UNSAFE_PATH = "unsafe-path"
    UNSUPPORTED_VERSION = "unsupported-version"
    WRONG_KIND = "wrong-kind"
    ZIP_BOMB = "zip-bomb"


class RoomVoteProblem(StrEnum):
    """Why the room vote page refused a request (``core/room_votes.py`` maps each to an HTTP
    status)."""

    MALFORMED = "malformed"
    NOT_JOINED = "not-joined"
    WRONG_CODE = "wrong-code"
    WRONG_SESSION = "wrong-session"
    NOT_FOUND = "not-found"
    NOT_CURRENT = "not-current"
    CLOSED = "closed"
    TOO_LARGE = "too-large"
    UNKNOWN_LABEL = "unknown-label"
    UNKNOWN_SECTION = "unknown-section"
    UNKNOWN_PARTICIPANT = "unknown-participant"
    RATE_LIMITED = "rate-limited"
    NOT_LIVE = "not-live"
    WRONG_METHOD = "wrong-method"
    WRONG_ORIGIN = "wrong-origin"
    WRONG_HOST = "wrong-host"
