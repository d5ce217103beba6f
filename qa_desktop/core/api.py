"""The public surface of core for the UI and the CLI, besides the Workspace itself.

The front ends import only :mod:`.workspace` and this module (an import-linter contract
enforces it): the records and vocabularies they show, the errors they catch, and the pure
media functions a render worker runs off the GUI thread. Everything that touches the
database goes through a room of the Workspace::

    from qa_desktop.core.api import QueueFilter, VerdictDraft, Refused
"""

from __future__ import annotations

from .batches import (
    BatchError,
    ImportCancelled,
    SignedBatchRefused,
    UnsignedBatch,
)
from .batches import ImportReport as BatchImportReport
from .bundles import BundleRejected, ExportResult, what_to_do
from .bundles import ImportReport as BundleImportReport
from .cases import Case, MediaFile, OriginalDecision
from .content_warnings import SEVERE_HARM_TYPES, is_severe, tag_key
from .deliveries import SignerDeliveries, format_numbers, missing_summary
from .errors import Cancelled, NoReviewer, QADesktopError, Refused, check_cancelled
from .findings import CSV_FIELDS as FINDING_CSV_FIELDS
from .findings import FindingGroup, write_csv
from .guidelines import EffectiveSection, Guideline, Label, PackError, Section, SectionMatch
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
    AnimatedImage,
    FilterSettings,
    MediaError,
    Region,
    apply_filters,
    blur,
    decode_image_for_display,
    is_animated_image,
    resize_to_fit,
    reveal_regions,
    revealed_fraction,
    storyboard,
    video_info,
)
from .outcomes import OUTCOMES
from .paths import DATA_DIR_ENV, data_dir, resources_dir
from .queue import QueueFilter, QueueRow
from .reveal import RevealState
from .spreadsheet import safe_row
from .store import DatabaseError
from .sync import SyncFolderMissing, SyncReport
from .verdicts import (
    GAP_KINDS,
    RCA_REASONS,
    Citation,
    CitationError,
    FinalVerdict,
    VerdictDraft,
    VerdictEvent,
)
from .vocab import BlurKind, ContentType, KeyRole, Outcome, RefusalReason, Role
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
    "DATA_DIR_ENV",
    "FINDING_CSV_FIELDS",
    "GAP_KINDS",
    "MAX_BLUR_LEVEL",
    "OUTCOMES",
    "PASSPHRASE_ENV",
    "RCA_REASONS",
    "SEVERE_HARM_TYPES",
    "AnimatedImage",
    "BatchError",
    "BatchImportReport",
    "BlurKind",
    "BreakAdvisor",
    "BreakSuggestion",
    "BundleImportReport",
    "BundleRejected",
    "Cancelled",
    "Case",
    "Citation",
    "CitationError",
    "Clock",
    "ConsecutiveSevereRule",
    "ContentType",
    "DatabaseError",
    "EffectiveSection",
    "ExportResult",
    "ExposureMeter",
    "ExposureSpan",
    "FilterSettings",
    "FinalVerdict",
    "FindingGroup",
    "Guideline",
    "Identity",
    "ImportCancelled",
    "KeyFormatError",
    "KeyProblem",
    "KeyRole",
    "Label",
    "MediaError",
    "MediaFile",
    "NoIdentity",
    "NoReviewer",
    "OriginalDecision",
    "Outcome",
    "PackError",
    "Preferences",
    "Protection",
    "PublicKey",
    "QADesktopError",
    "QueueFilter",
    "QueueRow",
    "RefusalReason",
    "Refused",
    "Region",
    "RevealState",
    "Role",
    "Section",
    "SectionMatch",
    "SessionSummary",
    "SessionTimeRule",
    "SevereExposureRule",
    "SignedBatchRefused",
    "SignerDeliveries",
    "SyncFolderMissing",
    "SyncReport",
    "TrustError",
    "TrustedKey",
    "UnsignedBatch",
    "VerdictDraft",
    "VerdictEvent",
    "WrongPassphrase",
    "apply_filters",
    "blur",
    "check_cancelled",
    "data_dir",
    "decode_image_for_display",
    "format_numbers",
    "is_animated_image",
    "is_severe",
    "missing_summary",
    "protection_for",
    "resize_to_fit",
    "resources_dir",
    "reveal_regions",
    "revealed_fraction",
    "safe_row",
    "storyboard",
    "tag_key",
    "video_info",
    "what_to_do",
    "write_csv",
]  # fmt: skip
