"""Exporting evidence (issue 15): read once, hashed and written on two threads, its writeback
started as it goes. The zip stays a standard one with the manifest's hashes, and an evidence
file that changes, vanishes or cannot be written leaves a clear error and nothing behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from qa_desktop.core.bundles import atomic_files
from qa_desktop.core.bundles import export as bag_export
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE
from .recording import record

CHUNK = bag_export._CHUNK
RING = bag_export._BUFFERS * CHUNK
"""Bytes after which the export reads into its first buffer again."""


def _dump(ws: Workspace) -> list[str]:
    return list(ws.database_for_tests().conn.iterdump())


def _evidence(folder: Path, sizes: dict[str, int]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name, size in sizes.items():
        path = folder / name
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


@pytest.mark.slow
def test_evidence_across_chunk_and_buffer_ring_ends_is_a_standard_zip_with_its_hashes(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    ana, bo = keyed_pair
    record(ana, "t-0", "no_violation")
    sizes = {
        "empty.bin": 0,
        "one.bin": 1,
        "under.bin": CHUNK - 1,
        "chunk.bin": CHUNK,
        "over.bin": CHUNK + 1,
        "ring.bin": RING + 17,  # more chunks than buffers: each is read into again
    }
    paths = _evidence(tmp_path / "ev", sizes)
    made = ana.bundles.export(ana.trust.identity(PASSPHRASE), tmp_path / "out", evidence=paths)
    assert made is not None
    with zipfile.ZipFile(made.path) as archive:
        assert archive.testzip() is None
        manifest = next(n for n in archive.namelist() if n.endswith("/manifest-sha256.txt"))
        listed = {
            line.split(maxsplit=1)[1]: line.split()[0]
            for line in archive.read(manifest).decode().splitlines()
        }
        for path in paths:
            name = f"data/evidence/{path.name}"
            info = next(i for i in archive.infolist() if i.filename.endswith("/" + name))
            assert info.compress_type == zipfile.ZIP_STORED
            assert archive.read(info) == path.read_bytes()
            assert listed[name] == hashlib.sha256(path.read_bytes()).hexdigest()
    if shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-t", str(made.path)], capture_output=True, text=True)
        assert tested.returncode == 0, tested.stdout + tested.stderr
    assert [r.refused_reason for r in bo.bundles.import_files([made.path])] == [None]


@pytest.mark.parametrize("change", ["shrinks", "grows", "emptied"])
def test_evidence_that_changes_size_mid_export_names_the_file_and_leaves_nothing(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path, change: str
) -> None:
    ana, _ = keyed_pair
    record(ana, "t-0", "no_violation")
    (big,) = _evidence(tmp_path / "ev", {"capture.bin": 2 * CHUNK + 5})

    def cancelled() -> bool:  # polled after the first chunk was read: change the file then
        if change == "shrinks":
            os.truncate(big, CHUNK + 3)
        elif change == "grows":
            with big.open("ab") as more:
                more.write(b"late bytes")
        else:
            os.truncate(big, 0)
        return False

    before = _dump(ana)
    with pytest.raises(ValueError, match="changed while it was being exported") as failed:
        ana.bundles.export(
            ana.trust.identity(PASSPHRASE), tmp_path / "out", evidence=[big], cancelled=cancelled
        )
    assert str(big) in str(failed.value)
    assert _dump(ana) == before
    assert not list((tmp_path / "out").iterdir())
    again = ana.bundles.export(ana.trust.identity(PASSPHRASE), tmp_path / "out")
    assert again is not None and again.seq == 1


def test_evidence_that_vanishes_before_its_turn_names_the_file_and_leaves_nothing(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    ana, _ = keyed_pair
    record(ana, "t-0", "no_violation")
    first, second = _evidence(tmp_path / "ev", {"a.bin": CHUNK + 1, "b.bin": 1000})

    def cancelled() -> bool:
        second.unlink(missing_ok=True)
        return False

    before = _dump(ana)
    with pytest.raises(ValueError, match="could not be read") as failed:
        ana.bundles.export(
            ana.trust.identity(PASSPHRASE),
            tmp_path / "out",
            evidence=[first, second],
            cancelled=cancelled,
        )
    assert str(second) in str(failed.value)
    assert _dump(ana) == before
    assert not list((tmp_path / "out").iterdir())


_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from qa_desktop.core.workspace import Workspace
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with Workspace.open(Path(sys.argv[1])) as ws:
        try:
            ws.bundles.export(ws.trust.identity(sys.argv[4]), Path(sys.argv[2]),
                              evidence=[Path(p) for p in sys.argv[5:]])
        except OSError as exc:
            print("failed:", exc.errno)
        else:
            print("written")
    """
)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_on_the_writer_thread_leaves_nothing(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    """The disk refuses the bundle half-way (a file-size limit, in a real process): the
    error reaches the caller from the thread that writes, and nothing is left or recorded."""
    ana, _ = keyed_pair
    record(ana, "t-0", "no_violation")
    paths = _evidence(tmp_path / "ev", {"a.bin": 8 * 2**20, "b.bin": 2**20})
    before = _dump(ana)
    data_dir = ana.data_dir
    ana.close()
    limit = 5 * 2**20  # the bundle stops half-way through a.bin
    args = [str(data_dir), str(tmp_path / "out"), str(limit), PASSPHRASE, *map(str, paths)]
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "failed: 27", done.stdout + done.stderr  # EFBIG
    assert not list((tmp_path / "out").iterdir())
    with Workspace.open(data_dir) as reopened:
        assert _dump(reopened) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_writeback_is_started_on_linux_and_changes_no_byte(tmp_path: Path) -> None:
    """The export's early writeback is really on where CI runs (else its fsync waits for
    every byte again), and it is only a hint: the file holds what was written."""
    assert atomic_files._sync_file_range() is not None
    data = os.urandom(3 * 2**20 + 5)
    target = tmp_path / "f.bin"
    with target.open("wb", buffering=0) as out:
        writeback = atomic_files.Writeback(out.fileno(), every=2**20)
        for start in range(0, len(data), 2**19):
            out.write(data[start : start + 2**19])
            writeback.advance()
        os.fsync(out.fileno())
    assert target.read_bytes() == data
