"""How big a case batch may be (besides :data:`~..formats.zip_safety.BATCH_LIMITS`, which
limits every file of a batch, zipped or not). Read at call time, so tests may lower them."""

from __future__ import annotations

from ..formats.zip_safety import GiB, MiB

MAX_HEADER_BYTES = 1 * MiB
"""Largest ``batch.json``."""
MAX_CASES_FILE_BYTES = 1 * GiB
"""Largest ``cases.jsonl`` / ``cases.csv``."""
MAX_LINE_BYTES = 16 * MiB
"""Longest line of the cases file (the import holds one line at a time): a record at every
other limit stays under a few MiB, even with every character escaped."""
MAX_CASES = 1_000_000
"""Most cases in one batch."""
MAX_MEDIA_PER_CASE = 100
"""Most media files one case may list."""
MAX_IMAGE_PIXELS = 100_000_000
"""Largest image, in pixels (width x height): bigger is refused as a decompression bomb."""
MAX_TOKEN_LENGTH = 200
"""Longest id, name, market, language, tag or decision field (compiled into the checks)."""
MAX_REPORTED_PROBLEMS = 20
"""Problems listed in one :class:`BatchError` message (the rest are counted)."""
MAX_FIELD_CHARS = 131_072
"""Longest free-text field (a case's ``text``; its ``metadata`` as stored JSON), in
characters: one limit for cases.jsonl and cases.csv (where it is also the longest cell)."""
