"""Signed bundles with 200 MiB of evidence, against the disk's and the CPU's floors.

- export + sign: ``ws.bundles.export`` (read, hash, zip, sign, write, fsync, rename, record)
  of one new verdict plus four 50 MiB evidence files of random bytes, against writing the
  same bytes into a new file and fsyncing it (the least an export that leaves a durable
  file does);
- import as the user waits for it: ``ws.bundles.import_files`` on the bundle file (read,
  verify, merge), against single-thread ``hashlib.sha256`` over the evidence in memory (the
  least a verification does).

The floors (raw write, write + fsync, SHA-256) are measured every run, in one order on even
runs and the reverse on odd ones (the first order used to decide the figures), after a
warm-up turn that runs every path once and is not counted. Median and range of the per-run
ratios over ``RUNS`` runs (``QA_BENCH_RUNS`` overrides).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from pathlib import Path

from qa_desktop.core import keys
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from tests.recording import record

from .bench_import import write_text_batch
from .targets import judge

EVIDENCE_FILES = 4
EVIDENCE_MIB = 50
RUNS = int(os.environ.get("QA_BENCH_RUNS", "5"))
TARGETS = {
    "export": "bundle export + sign, evidence, vs write + fsync",
    "import": "bundle import, evidence, vs single-thread SHA-256",
}
"""Issue 15: export + sign >= 0.8x of write + fsync of the same bytes; import as the user
waits for it (read + verify + merge from the file) >= 0.7x single-thread SHA-256."""
PASSPHRASE = "benchmark passphrase"


def _sha256_seconds(blobs: list[bytes]) -> float:
    """Single-thread hashlib.sha256 over the bytes, already in memory."""
    started = time.perf_counter()
    for blob in blobs:
        hashlib.sha256(blob).hexdigest()
    return time.perf_counter() - started


def _write_seconds(blobs: list[bytes], folder: Path, *, fsync: bool) -> float:
    """The same bytes written into a new file in 4 MiB chunks (and fsynced, if asked)."""
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
    return elapsed


def _floors(blobs: list[bytes], folder: Path, order: int) -> dict[str, float]:
    """The three floors, in seconds, measured in one order or its reverse."""
    steps = {
        "sha": lambda: _sha256_seconds(blobs),
        "write": lambda: _write_seconds(blobs, folder, fsync=False),
        "write+fsync": lambda: _write_seconds(blobs, folder, fsync=True),
    }
    names = list(steps) if order % 2 == 0 else list(reversed(steps))
    return {name: steps[name]() for name in names}


def _median(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}  range {min(values):.2f}-{max(values):.2f}"


def run(tmp: Path) -> list[str]:
    """Measure export against write + fsync and import against SHA-256, RUNS times."""
    keys.SCRYPT_N = 2**10
    write_text_batch(tmp / "batch", 20)
    workspaces = []
    for name in ("Bench", "Lead"):
        ws = Workspace.open(tmp / name)
        ws.ensure_reviewer(name)
        ws.guidelines.import_pack(DEMO_PACK)
        ws.batches.import_batch(tmp / "batch")
        ws.trust.create_identity(PASSPHRASE)
        workspaces.append(ws)
    source, lead = workspaces
    lead.trust.trust(
        keys.PublicKey.from_minisign(source.trust.public_key().to_minisign()),
        "Bench",
        "reviewer",
        source.reviewer.id if source.reviewer else None,
    )
    identity = source.trust.identity(PASSPHRASE)
    (tmp / "evidence").mkdir()
    evidence = []
    for i in range(EVIDENCE_FILES):
        path = tmp / "evidence" / f"capture-{i}.bin"
        path.write_bytes(os.urandom(EVIDENCE_MIB * 2**20))
        evidence.append(path)
    blobs = [p.read_bytes() for p in evidence]
    os.sync()
    floors: dict[str, list[float]] = {"sha": [], "write": [], "write+fsync": []}
    by_order: dict[str, list[list[float]]] = {k: [[], []] for k in floors}
    exports: list[float] = []
    imports: list[float] = []
    export_ratios: list[float] = []
    import_ratios: list[float] = []
    size = 0
    for turn in range(-1, RUNS):  # turn -1 warms up every path; nothing of it is kept
        measured = _floors(blobs, tmp, turn)
        record(source, f"bench-{turn + 1:06d}", "no_violation", notes=f"run {turn}")
        started = time.perf_counter()
        result = source.bundles.export(identity, tmp / "out", evidence=evidence)
        export_seconds = time.perf_counter() - started
        assert result is not None
        size = result.path.stat().st_size
        started = time.perf_counter()
        reports = lead.bundles.import_files([result.path])
        import_seconds = time.perf_counter() - started
        assert [r.refused_reason for r in reports] == [None], reports
        result.path.unlink()
        os.sync()
        if turn < 0:
            continue
        for name, seconds in measured.items():
            floors[name].append(seconds)
            by_order[name][turn % 2].append(seconds)
        exports.append(export_seconds)
        imports.append(import_seconds)
        export_ratios.append(measured["write+fsync"] / export_seconds)
        import_ratios.append(measured["sha"] / import_seconds)
    source.close()
    lead.close()
    mib = EVIDENCE_FILES * EVIDENCE_MIB

    def rate(seconds: list[float]) -> str:
        return f"{mib / statistics.median(seconds):,.0f} MiB/s"

    def target(name: str, ratios: list[float]) -> str:
        return f"ratio {_median(ratios)}  {judge(TARGETS[name], statistics.median(ratios))}"

    lines = [
        f"signed bundle, 1 verdict + {EVIDENCE_FILES} x {EVIDENCE_MIB} MiB random evidence"
        f" ({size / 2**20:.1f} MiB file; {os.cpu_count()} CPUs; {RUNS} runs after a warm-up)",
        "  floors on the same bytes, each order every other run (first: sha, write,"
        " write+fsync; second: the reverse):",
    ]
    for name, values in floors.items():
        first, second = by_order[name]
        lines.append(
            f"    {name:<12} {rate(values):>12}  in the first order {rate(first)},"
            f" in the second {rate(second) if second else '-'}"
        )
    lines += [
        f"  export + sign: {rate(exports)}   vs write + fsync: {target('export', export_ratios)}",
        f"  import from the file (read, verify, merge): {rate(imports)}"
        f"   vs single-thread SHA-256: {target('import', import_ratios)}",
    ]
    return lines
