"""Signed bundles with 200 MiB of evidence, each figure a ratio against raw SHA-256.

- export: :func:`bundles.export_bundle` (hash, zip, sign, fsync, record) of a few verdicts
  plus four 50 MiB evidence files of random bytes, in MiB/s of evidence.
- verify: :func:`bundles.verify_bundle` on the bundle file's bytes, in MiB/s of evidence.

Each is divided by plain ``hashlib.sha256`` over the same evidence bytes in the same run
(the least any export or verification must do is hash every byte once).

The export figure is the whole export as a user gets it (read, hash, zip, sign, write,
fsync, rename, record). Beside it, for context: the same without the time spent waiting
in fsync, and the disk's own floors measured on the same bytes: writing them into a new
file (no hashing, no zip, no fsync), and that plus fsync. Where those floors are below the
target, no export that writes its file to this disk can meet it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from qa_desktop.core import bundles, keys
from qa_desktop.core.workspace import Workspace
from tests.recording import record

from .bench_import import write_text_batch

EVIDENCE_FILES = 4
EVIDENCE_MIB = 50
TARGET = 0.7
PASSPHRASE = "benchmark passphrase"


def sha256_mib_per_s(paths: list[Path]) -> float:
    """Raw hashlib.sha256 over each file's bytes, already in memory (best of two)."""
    blobs = [p.read_bytes() for p in paths]
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        for blob in blobs:
            hashlib.sha256(blob).hexdigest()
        best = min(best, time.perf_counter() - started)
    return sum(len(b) for b in blobs) / 2**20 / best


def raw_write_mib_per_s(paths: list[Path], folder: Path, *, fsync: bool) -> float:
    """Context, not a target: the same bytes written into a new file in 4 MiB chunks."""
    blobs = [p.read_bytes() for p in paths]
    target = folder / f"raw-copy-{fsync}.bin"
    started = time.perf_counter()
    with target.open("wb") as out:
        for blob in map(memoryview, blobs):
            for i in range(0, len(blob), 4 * 2**20):
                out.write(blob[i : i + 4 * 2**20])
        out.flush()
        if fsync:
            os.fsync(out.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    os.sync()  # leave no writeback behind for the next measurement
    return sum(len(b) for b in blobs) / 2**20 / elapsed


@contextmanager
def fsync_timer() -> Iterator[Callable[[], float]]:
    """Time every ``os.fsync`` inside the block; yields a function giving the seconds so far."""
    real = os.fsync
    spent = [0.0]

    def timed(fd: int) -> None:
        started = time.perf_counter()
        try:
            real(fd)
        finally:
            spent[0] += time.perf_counter() - started

    os.fsync = timed
    try:
        yield lambda: spent[0]
    finally:
        os.fsync = real


def verdict(ratio: float) -> str:
    """'meets' or 'MISSES' the target."""
    return "meets" if ratio >= TARGET else "MISSES"


def run(tmp: Path) -> list[str]:
    """Measure and describe the export and verify ratios."""
    keys.SCRYPT_N = 2**10
    write_text_batch(tmp / "batch", 20)
    ws = Workspace.open(tmp / "data")
    ws.ensure_reviewer("Bench")
    ws.batches.import_batch(tmp / "batch")
    ws.trust.create_identity(PASSPHRASE)
    identity = ws.trust.identity(PASSPHRASE)
    for i in range(5):
        record(ws, f"bench-{i:06d}", "no_violation", notes=f"verdict {i}")
    (tmp / "evidence").mkdir()
    evidence = []
    for i in range(EVIDENCE_FILES):
        path = tmp / "evidence" / f"capture-{i}.bin"
        path.write_bytes(os.urandom(EVIDENCE_MIB * 2**20))
        evidence.append(path)
    mib = EVIDENCE_FILES * EVIDENCE_MIB
    baseline = sha256_mib_per_s(evidence)
    os.sync()  # the evidence was written just now: let its writeback finish before timing
    write_only = raw_write_mib_per_s(evidence, tmp, fsync=False)
    write_fsync = raw_write_mib_per_s(evidence, tmp, fsync=True)

    with fsync_timer() as fsync_seconds:
        started = time.perf_counter()
        result = ws.bundles.export(identity, tmp / "out", evidence=evidence)
        elapsed = time.perf_counter() - started
    export_rate = mib / elapsed
    without_wait = mib / (elapsed - fsync_seconds())
    assert result is not None
    data = bundles.read_bundle_file(result.path)
    started = time.perf_counter()
    verified = bundles.verify_bundle(ws.database_for_tests(), data)
    verify_rate = mib / (time.perf_counter() - started)
    assert len(verified.evidence) == EVIDENCE_FILES
    ws.close()
    export_ratio, verify_ratio = export_rate / baseline, verify_rate / baseline

    def rate(label: str, value: float) -> str:
        return f"    {label:<40} {value:>6,.0f} MiB/s   ratio {value / baseline:.2f}"

    return [
        f"signed bundle, 5 verdicts + {EVIDENCE_FILES} x {EVIDENCE_MIB} MiB random evidence"
        f" ({len(data) / 2**20:.1f} MiB file; {os.cpu_count()} CPUs)",
        f"  raw hashlib.sha256: {baseline:,.0f} MiB/s",
        f"  export + sign: {export_rate:,.0f} MiB/s   ratio = {export_ratio:.2f}"
        f"  (target >= {TARGET}: {verdict(export_ratio)})",
        "  context for export, same bytes, same run:",
        rate("export + sign, fsync wait left out", without_wait),
        rate("the disk: raw write into a new file", write_only),
        rate("the disk: raw write + fsync", write_fsync),
        f"  verify:        {verify_rate:,.0f} MiB/s   ratio = {verify_ratio:.2f}"
        f"  (target >= {TARGET}: {verdict(verify_ratio)})",
    ]
