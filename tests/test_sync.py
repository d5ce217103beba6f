"""Sync through a shared folder: both ways, partial files ignored, reruns idempotent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa_desktop.core import sync
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record
from .test_bundles import flip_a_content_byte, verdict_rows

Pair = tuple[Workspace, Workspace]  # conftest's keyed_pair: Ana and Bo, who trust each other


def run(ws: Workspace, folder: Path, **kwargs: object) -> sync.SyncReport:
    folder.mkdir(parents=True, exist_ok=True)
    return ws.sync.folder(ws.trust.identity(PASSPHRASE), folder, **kwargs)


def test_two_machines_end_with_the_same_events(keyed_pair: Pair, tmp_path: Path) -> None:
    a, b = keyed_pair
    folder = tmp_path / "shared"
    record(a, "t-0", "vh_remove")
    record(b, "t-0", "no_violation")
    record(b, "t-1", "vh_remove")
    first = run(a, folder)
    assert first.exported is not None and first.new_events == 0
    second = run(b, folder)
    assert second.new_events == 1 and not second.refused
    third = run(a, folder)
    assert third.new_events == 2 and not third.refused
    assert verdict_rows(a) == verdict_rows(b)
    assert (folder / a.trust.public_key().key_id).is_dir()
    rerun = run(b, folder)
    assert rerun.exported is None and rerun.new_events == 0 and rerun.skipped_seen == 1


def test_partial_hidden_and_temporary_files_are_never_read(
    keyed_pair: Pair, tmp_path: Path
) -> None:
    a, _b = keyed_pair
    folder = tmp_path / "shared"
    (folder / "x").mkdir(parents=True)
    for name in ("b.zip.partial", ".hidden.zip", "c.zip.tmp", ".d.zip.1234.tmp"):
        (folder / "x" / name).write_bytes(b"half a bundle")
    (folder / ".trash").mkdir()
    (folder / ".trash" / "e.zip").write_bytes(b"junk")
    report = run(a, folder)
    assert report.refused == [] and report.imported == []


def test_a_bad_file_in_the_folder_is_quarantined_and_the_rest_imported(
    keyed_pair: Pair, tmp_path: Path
) -> None:
    a, b = keyed_pair
    folder = tmp_path / "shared"
    record(b, "t-2", "vh_remove")
    run(b, folder)
    (folder / "junk.zip").write_bytes(b"not a zip")
    report = run(a, folder)
    assert [r.refused_reason for r in report.refused] == ["not-a-zip"]
    assert report.new_events == 1
    assert any(p.name.endswith("junk.zip.reason.txt") for p in a.bundles.quarantine_dir.iterdir())


def test_a_cancelled_sync_writes_nothing(keyed_pair: Pair, tmp_path: Path) -> None:
    a, _ = keyed_pair
    record(a, "t-0", "vh_remove")
    report = run(a, tmp_path / "shared", cancelled=lambda: True)
    assert report.cancelled and report.exported is None
    assert list((tmp_path / "shared").iterdir()) == []
    assert a.database_for_tests()["bundle_log"].count == 0


def test_progress_counts_files(keyed_pair: Pair, tmp_path: Path) -> None:
    a, b = keyed_pair
    record(b, "t-0", "vh_remove")
    run(b, tmp_path / "shared")
    seen: list[tuple[int, int]] = []
    run(a, tmp_path / "shared", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (1, 1)


def test_the_cli_round_trip(keyed_pair: Pair, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa_desktop.cli import cli

    monkeypatch.setenv("QA_DESKTOP_PASSPHRASE", PASSPHRASE)
    a, b = keyed_pair
    record(b, "t-0", "vh_remove")
    a_dir, b_dir = str(a.data_dir), str(b.data_dir)
    a.close()
    b.close()
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(cli, list(args), obj={}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    exported = ok("--data-dir", b_dir, "bundle", "export", str(tmp_path / "out"))
    path = exported.split(":")[0]
    assert "OK, verdicts bundle" in ok("--data-dir", a_dir, "bundle", "verify", path)
    assert "1 new events" in ok("--data-dir", a_dir, "bundle", "import", path)
    assert "\tBo\treviewer\t" in ok("--data-dir", a_dir, "keys", "list")
    pub = tmp_path / "carl.pub"
    ok("--data-dir", str(tmp_path / "carl"), "keys", "create", "--name", "Carl")
    told = ok("--data-dir", str(tmp_path / "carl"), "keys", "export", "--out", str(pub))
    carl_id = told.split("reviewer id ")[1].split()[0]
    unbound = runner.invoke(
        cli, ["--data-dir", a_dir, "keys", "trust", str(pub), "--name", "Carl"], obj={}
    )
    key_id = pub.read_text().split()[5]
    assert unbound.exit_code != 0 and "--reviewer-id" in unbound.output
    assert key_id in unbound.output and carl_id in unbound.output  # shown, not taken
    carl = ("keys", "trust", str(pub), "--name", "Carl", "--reviewer-id", carl_id)
    assert f"signs for reviewer {carl_id}" in ok("--data-dir", a_dir, *carl)
    missing = runner.invoke(cli, ["--data-dir", a_dir, "sync", str(tmp_path / "shared")], obj={})
    assert missing.exit_code != 0 and "does not exist or cannot be reached" in missing.output
    (tmp_path / "shared").mkdir()
    assert "imported" in ok("--data-dir", a_dir, "sync", str(tmp_path / "shared"))
    assert "removed key" in ok("--data-dir", a_dir, "keys", "remove", key_id)
    assert "Carl" not in ok("--data-dir", a_dir, "keys", "list")
    ok("--data-dir", a_dir, *carl)
    assert "revoked key" in ok("--data-dir", a_dir, "keys", "revoke", key_id)
    refused = runner.invoke(cli, ["--data-dir", a_dir, "keys", "remove", key_id], obj={})
    assert refused.exit_code != 0 and "stays on record" in refused.output


def test_a_delivered_file_is_not_read_again_until_it_changes(
    keyed_pair: Pair, tmp_path: Path
) -> None:
    a, b = keyed_pair
    folder = tmp_path / "shared"
    record(a, "t-0", "vh_remove")
    run(a, folder)
    (bundle,) = (folder / a.trust.public_key().key_id).glob("*.zip")
    assert run(b, folder).new_events == 1
    stat = bundle.stat()
    bundle.write_bytes(flip_a_content_byte(bundle))
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    unchanged = run(b, folder)  # same path, size and time: skipped without reading it
    assert unchanged.skipped_seen == 1 and unchanged.refused == []
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = run(b, folder)  # read again: the flipped byte is found
    assert changed.skipped_seen == 0 and len(changed.refused) == 1


def test_a_missing_sync_folder_is_an_error_and_is_not_created(
    keyed_pair: Pair, tmp_path: Path
) -> None:
    a, _ = keyed_pair
    record(a, "t-0", "vh_remove")
    unmounted = tmp_path / "mnt" / "share"
    with pytest.raises(sync.SyncFolderMissing, match="does not exist or cannot be reached"):
        a.sync.folder(a.trust.identity(PASSPHRASE), unmounted)
    assert not unmounted.exists()
    assert a.database_for_tests()["bundle_log"].count == 0  # nothing counted as sent


@pytest.mark.slow
def test_three_machines_syncing_at_the_same_moment_lose_and_refuse_nothing(
    tmp_path: Path,
) -> None:
    """Real processes, started together, three rounds: every file any of them reads is whole."""
    import subprocess
    import sys

    machines = [make_workspace(tmp_path, name) for name in ("Ana", "Ben", "Cy")]
    for a in machines:
        for b in machines:
            if a is not b:
                introduce(a, b)
    folder = tmp_path / "shared"
    folder.mkdir()
    env = {**os.environ, "QA_DESKTOP_PASSPHRASE": PASSPHRASE}
    for round_ in range(3):
        for i, ws in enumerate(machines):
            record(ws, f"t-{(i + round_) % 3}", "vh_remove", notes=f"round {round_}")
        dirs = [str(ws.data_dir) for ws in machines]
        for ws in machines:
            ws.close()
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from qa_desktop.cli import main; main()",
                    "--data-dir",
                    d,
                    "sync",
                    str(folder),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for d in dirs
        ]
        for run_ in runs:
            out, err = run_.communicate(timeout=120)
            assert run_.returncode == 0, err
            assert ", 0 refused" in out, out
        machines = [Workspace.open(Path(d)) for d in dirs]
    for ws in machines:  # one more quiet round picks up what was written meanwhile
        run(ws, folder)
    rows = [verdict_rows(ws) for ws in machines]
    assert len(rows[0]) == 9 and rows[0] == rows[1] == rows[2]
    for ws in machines:
        assert not [d for d in ws.bundles.deliveries() if d.missing]
        ws.close()
