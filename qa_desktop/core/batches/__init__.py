"""Case batches: validate a folder, .zip or .csv of cases, then import it all or nothing.

The format is specified in ``docs/batch-format.md``. In short::

    report = import_batch(db, media_store, Path("weekly-de.zip"), progress=print)
    report.cases_added, report.cases_already_present, report.media_added

The cases file is streamed: scanned once (size, UTF-8, count, hash), then read in chunks of
5,000 records, each going through four phases that advance ``progress(done, total)`` by one
unit per case (so ``total == 4 * cases``): check the records, check and hash the media, copy
new media into the content-addressed store (``media_dir/sha[:2]/sha``), insert the rows. All
chunks are written in one transaction: nothing is committed unless every case and every media
file passed; a :class:`BatchError` lists the problems found, each naming the file, the line
and the field.

A batch signed by an issuer (``bundles.sign_case_batch``: a ``case-batch`` bundle) is
verified against the trust store first, entirely in memory, and then imported from the
verified bytes (its ``data/`` folder); the batch row records ``signed:<key id>``. An unsigned
batch is imported only with ``trust_unsigned=True`` (the library default; the CLI asks for
``--trust-unsigned``) and is recorded as ``unsigned``.

The package, one concept a module: :mod:`.sources` (folder, .zip, .csv, signed; read with
the archive-safety rules of ``formats.zip_safety`` and ``BATCH_LIMITS``), :mod:`.header`
(``batch.json``), :mod:`.cases_file` (``cases.jsonl`` / ``cases.csv`` as a stream),
:mod:`.records` (their records), :mod:`.fields` (the
field rules both share), :mod:`.media_intake` (sniff, hash, store media), :mod:`.writer`
(what is new, one transaction), :mod:`.issuer` (signed batches), :mod:`.importer`
(``import_batch``), :mod:`.problems`, :mod:`.progress` and :mod:`.limits`.
"""

from __future__ import annotations

from .header import FORMAT_VERSION
from .importer import ImportReport, import_batch
from .issuer import SignedBatchRefused
from .limits import MAX_REPORTED_PROBLEMS
from .problems import BatchError, ImportCancelled, UnsignedBatch
from .records import CONTENT_TYPES, CSV_COLUMNS, CSV_REQUIRED_COLUMNS
from .sources import CSV_FILE, HEADER_FILE, JSONL_FILE, SIGNED_PREFIX, UNSIGNED, batch_files

__all__ = [
    "CONTENT_TYPES",
    "CSV_COLUMNS",
    "CSV_FILE",
    "CSV_REQUIRED_COLUMNS",
    "FORMAT_VERSION",
    "HEADER_FILE",
    "JSONL_FILE",
    "MAX_REPORTED_PROBLEMS",
    "SIGNED_PREFIX",
    "UNSIGNED",
    "BatchError",
    "ImportCancelled",
    "ImportReport",
    "SignedBatchRefused",
    "UnsignedBatch",
    "batch_files",
    "import_batch",
]
