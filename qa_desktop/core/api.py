"""The public surface of core for the UI and the CLI, besides the Workspace itself.

The front ends import only :mod:`.workspace` and this module (an import-linter contract
enforces it): the records and vocabularies they show, the errors they catch, and the pure
media functions a render worker runs off the GUI thread. Everything that touches the
database goes through a room of the Workspace::

    from qa_desktop.core.api import QueueFilter, VerdictDraft, Refused
"""

from __future__ import annotations

from .agreement import (
    ALPHA_BANDS,
    KAPPA_BANDS,
    AgreementError,
    AgreementReport,
    KappaMatrix,
    PairKappa,
    RulingAgreement,
    agreement,
    cohen_kappa,
    cohen_matrix,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    ruling_agreement,
)
from .agreement import Band as InterpretationBand
from .agreement import Bands as InterpretationBands
from .agreement import Estimate as AgreementEstimate
from .batches import (
    BatchError,
    ImportCancelled,
    SignedBatchRefused,
    UnsignedBatch,
)
from .batches import ImportReport as BatchImportReport
from .bundles import BundleRejected, ExportResult, what_to_do
from .bundles import ImportReport as BundleImportReport
from .calibration import MODES as CALIBRATION_MODES
from .calibration import CaseState as CalibrationCaseState
from .calibration import MediaReveal as CalibrationMediaReveal
from .calibration import Note as CalibrationNote
from .calibration import Participant, Revealed, Vote
from .calibration import Session as CalibrationSession
from .calibration_report import (
    LOW_AGREEMENT,
    LOW_RULING_SHARE,
    CalibrationReportError,
    FiledGaps,
    drift_table,
    session_tables,
)
from .calibration_report import CaseRow as CalibrationCaseRow
from .calibration_report import DriftRow as CalibrationDriftRow
from .calibration_report import SessionReport as CalibrationSessionReport
from .cases import Case, MediaFile, OriginalDecision
from .content_warnings import SEVERE_HARM_TYPES, is_severe, tag_key
from .deliveries import SignerDeliveries, format_numbers, format_ranges, missing_summary
from .errors import Cancelled, NoReviewer, QADesktopError, Refused, check_cancelled
from .findings import CASE_CSV_FIELDS as FINDING_CASE_CSV_FIELDS
from .findings import CSV_FIELDS as FINDING_CSV_FIELDS
from .findings import FindingCase, FindingGroup, write_cases_csv, write_csv
from .gold import AccuracyRow as GoldAccuracyRow
from .gold import GoldAccuracy, GoldCase, GoldMiss, ShipResult
from .guidelines import EffectiveSection, Guideline, Label, PackError, Section, SectionMatch
from .hub import HubDatabaseError, IngestReport, hub_report_workspace
from .hub import ingest as hub_ingest
from .hub import rebuild as hub_rebuild
from .keys import (
    PASSPHRASE_ENV,
    Identity,
    KeyFormatError,
    KeyProblem,
    NoIdentity,
    PublicKey,
    TrustedKey,
    TrustError,
    WrongPassphrase,
)
from .media import (
    MAX_BLUR_LEVEL,
    PREVIEW_MAX_SIDE,
    AnimatedImage,
    FilterSettings,
    MediaError,
    MediaSource,
    Region,
    VideoCapture,
    apply_filters,
    blur,
    decode_image_for_display,
    display_frame,
    is_animated_image,
    protect_frame,
    resize_to_fit,
    reveal_regions,
    revealed_fraction,
    store_preview,
    stored_preview,
    storyboard,
    video_info,
)
from .media_store import MediaKeyError, StoredMedia
from .outcomes import OUTCOMES
from .paths import DATA_DIR_ENV, data_dir, resources_dir
from .queue import QueueFilter, QueueRow
from .quizzes import MODES as QUIZ_MODES
from .quizzes import Attempt as QuizAttempt
from .quizzes import Explanation as QuizExplanation
from .quizzes import Feedback as QuizFeedback
from .quizzes import Quiz, QuizItem, QuotedSection, SectionScore
from .quizzes import Score as QuizScore
from .reports.figures import DIMENSIONS as REPORT_DIMENSIONS
from .reports.figures import (
    AccuracyRow,
    AccuracyTable,
    ConfusionMatrix,
    Rate,
    Report,
    ReportError,
    ReportFilter,
)
from .reports.intervals import SMALL_N, Interval, wilson
from .reports.tables import Table as ReportTable
from .reports.tables import exposure_table, report_tables
from .reports.text import headline_lines, methods_text, percent, rate_text
from .reveal import MIN_PROTECTIVE_LEVEL, RevealState, protects, revealed_filters
from .room_votes import CODE_ALPHABET as VOTE_CODE_ALPHABET
from .room_votes import CODE_LENGTH as VOTE_CODE_LENGTH
from .room_votes import RateLimiter, RoomVoteError, RoomVotes, VoteLimits, display_code
from .room_votes import token_cookie as vote_token_cookie
from .room_votes import token_from_cookie as vote_token_from_cookie
from .signer_names import display_text, distinct_names
from .spreadsheet import safe_row
from .store import DatabaseError
from .sync import SyncFolderMissing, SyncReport, UntrustedSigner, untrusted_summary
from .sync_targets import SyncTargetError
from .verdicts import (
    GAP_KINDS,
    RCA_REASONS,
    Citation,
    CitationError,
    FinalVerdict,
    VerdictDraft,
    VerdictEvent,
)
from .vocab import BlurKind, ContentType, KeyRole, Outcome, RefusalReason, Role, RoomVoteProblem
from .wellbeing import (
    BreakAdvisor,
    BreakSuggestion,
    Clock,
    ConsecutiveSevereRule,
    ExposureMeter,
    ExposureSpan,
    Preferences,
    Protection,
    SessionSummary,
    SessionTimeRule,
    SevereExposureRule,
    protection_for,
)

__all__ = [
    "ALPHA_BANDS",
    "CALIBRATION_MODES",
    "DATA_DIR_ENV",
    "FINDING_CASE_CSV_FIELDS",
    "FINDING_CSV_FIELDS",
    "GAP_KINDS",
    "KAPPA_BANDS",
    "LOW_AGREEMENT",
    "LOW_RULING_SHARE",
    "MAX_BLUR_LEVEL",
    "MIN_PROTECTIVE_LEVEL",
    "OUTCOMES",
    "PASSPHRASE_ENV",
    "PREVIEW_MAX_SIDE",
    "QUIZ_MODES",
    "RCA_REASONS",
    "REPORT_DIMENSIONS",
    "SEVERE_HARM_TYPES",
    "SMALL_N",
    "VOTE_CODE_ALPHABET",
    "VOTE_CODE_LENGTH",
    "AccuracyRow",
    "AccuracyTable",
    "AgreementError",
    "AgreementEstimate",
    "AgreementReport",
    "AnimatedImage",
    "BatchError",
    "BatchImportReport",
    "BlurKind",
    "BreakAdvisor",
    "BreakSuggestion",
    "BundleImportReport",
    "BundleRejected",
    "CalibrationCaseRow",
    "CalibrationCaseState",
    "CalibrationDriftRow",
    "CalibrationMediaReveal",
    "CalibrationNote",
    "CalibrationReportError",
    "CalibrationSession",
    "CalibrationSessionReport",
    "Cancelled",
    "Case",
    "Citation",
    "CitationError",
    "Clock",
    "ConfusionMatrix",
    "ConsecutiveSevereRule",
    "ContentType",
    "DatabaseError",
    "EffectiveSection",
    "ExportResult",
    "ExposureMeter",
    "ExposureSpan",
    "FiledGaps",
    "FilterSettings",
    "FinalVerdict",
    "FindingCase",
    "FindingGroup",
    "GoldAccuracy",
    "GoldAccuracyRow",
    "GoldCase",
    "GoldMiss",
    "Guideline",
    "HubDatabaseError",
    "Identity",
    "ImportCancelled",
    "IngestReport",
    "InterpretationBand",
    "InterpretationBands",
    "Interval",
    "KappaMatrix",
    "KeyFormatError",
    "KeyProblem",
    "KeyRole",
    "Label",
    "MediaError",
    "MediaFile",
    "MediaKeyError",
    "MediaSource",
    "NoIdentity",
    "NoReviewer",
    "OriginalDecision",
    "Outcome",
    "PackError",
    "PairKappa",
    "Participant",
    "Preferences",
    "Protection",
    "PublicKey",
    "QADesktopError",
    "QueueFilter",
    "QueueRow",
    "Quiz",
    "QuizAttempt",
    "QuizExplanation",
    "QuizFeedback",
    "QuizItem",
    "QuizScore",
    "QuotedSection",
    "Rate",
    "RateLimiter",
    "RefusalReason",
    "Refused",
    "Region",
    "Report",
    "ReportError",
    "ReportFilter",
    "ReportTable",
    "RevealState",
    "Revealed",
    "Role",
    "RoomVoteError",
    "RoomVoteProblem",
    "RoomVotes",
    "RulingAgreement",
    "Section",
    "SectionMatch",
    "SectionScore",
    "SessionSummary",
    "SessionTimeRule",
    "SevereExposureRule",
    "ShipResult",
    "SignedBatchRefused",
    "SignerDeliveries",
    "StoredMedia",
    "SyncFolderMissing",
    "SyncReport",
    "SyncTargetError",
    "TrustError",
    "TrustedKey",
    "UnsignedBatch",
    "UntrustedSigner",
    "VerdictDraft",
    "VerdictEvent",
    "VideoCapture",
    "Vote",
    "VoteLimits",
    "WrongPassphrase",
    "agreement",
    "apply_filters",
    "blur",
    "check_cancelled",
    "cohen_kappa",
    "cohen_matrix",
    "data_dir",
    "decode_image_for_display",
    "display_code",
    "display_frame",
    "display_text",
    "distinct_names",
    "drift_table",
    "exposure_table",
    "fleiss_kappa",
    "format_numbers",
    "format_ranges",
    "gwet_ac1",
    "headline_lines",
    "hub_ingest",
    "hub_rebuild",
    "hub_report_workspace",
    "is_animated_image",
    "is_severe",
    "krippendorff_alpha",
    "methods_text",
    "missing_summary",
    "percent",
    "percent_agreement",
    "protect_frame",
    "protection_for",
    "protects",
    "rate_text",
    "report_tables",
    "resize_to_fit",
    "resources_dir",
    "reveal_regions",
    "revealed_filters",
    "revealed_fraction",
    "ruling_agreement",
    "safe_row",
    "session_tables",
    "store_preview",
    "stored_preview",
    "storyboard",
    "tag_key",
    "untrusted_summary",
    "video_info",
    "vote_token_cookie",
    "vote_token_from_cookie",
    "what_to_do",
    "wilson",
    "write_cases_csv",
    "write_csv",
]  # fmt: skip
