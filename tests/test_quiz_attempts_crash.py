"""kill -9 during a quiz-attempts export (issue 14): the next sync delivers every attempt to
the lead exactly once, and the lead refuses nothing as a replay.

The attempts export follows the verdict export's pending-export protocol (write under a
temporary name, record the bundle as pending, rename, mark it done). The child process is
``test_export_crash``'s: it syncs and SIGKILLs itself while the bundle is written, just
before its rename or right after it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .test_export_crash import _CRASHING_SYNC, ids_in_bundles
from .test_quizzes import lead_with_gold


@pytest.mark.slow
@pytest.mark.parametrize(
    "window", ["while-writing", "before-rename", "after-rename", "before-rename-file-lost"]
)
def test_a_killed_attempts_export_delivers_each_attempt_once_without_a_replay(
    tmp_path: Path, window: str
) -> None:
    lead = lead_with_gold(tmp_path)
    rae = make_workspace(tmp_path, "Rae", cases=0)
    introduce(rae, lead, role="issuer")
    introduce(lead, rae)
    quiz = lead.quizzes.build("E", mode="exam", market="DE", policy="VH", count=2, pass_mark=0.5)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    attempt = rae.quizzes.start(got.id)
    for item in got.items:
        rae.quizzes.answer(attempt, item.case_id, "vh_remove")
    rae.quizzes.submit(attempt)
    data, key_id = rae.data_dir, rae.trust.public_key().key_id
    rae.close()
    folder = tmp_path / "sync"
    folder.mkdir()

    crash_at = window.removesuffix("-file-lost")
    child = subprocess.run(
        [sys.executable, "-c", _CRASHING_SYNC, str(data), str(folder), PASSPHRASE, crash_at],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    outbox = folder / key_id
    if window == "before-rename-file-lost":  # the pending file vanished before a reopen
        [leftover] = [p for p in outbox.iterdir() if p.name.endswith(".tmp")]
        leftover.unlink()

    with Workspace.open(data) as rae:  # settles the pending export
        db = rae.database_for_tests()
        abandoned = db.execute("SELECT COUNT(*) FROM abandoned_exports").fetchone()[0]
        assert abandoned == (1 if window == "before-rename-file-lost" else 0)
        again = rae.sync.folder(rae.trust.identity(PASSPHRASE), folder)
        assert again.refused == []
        assert rae.quizzes.unsent() == 0
        assert not [p for p in outbox.iterdir() if p.name.startswith(".")]
        sent = db.execute("SELECT seq FROM bundle_log WHERE direction = 'export'").fetchall()
        assert len({s for (s,) in sent}) == len(sent)
        [(carried,)] = db.execute("SELECT bundle_id FROM quiz_attempts").fetchall()
        assert (outbox / f"{carried}.zip").is_file()

    taken = lead.sync.folder(lead.trust.identity(PASSPHRASE), folder)
    assert [(r.name, r.refused_reason) for r in taken.refused] == []
    assert taken.attempts_received == 1
    assert ids_in_bundles(outbox, "data/attempts.jsonl") == Counter({attempt: 1})
    [row] = lead.quizzes.results()
    assert (row.reviewer, row.total) == ("Rae", 2)
    # A later sync on either side adds nothing and refuses nothing.
    rerun = lead.sync.folder(lead.trust.identity(PASSPHRASE), folder)
    assert (rerun.refused, rerun.attempts_received) == ([], 0)
    lead.close()
