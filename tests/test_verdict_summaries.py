"""The maintained verdict tables (migration 17) always equal the views they summarise.

``current_verdicts`` must hold exactly ``effective_verdicts`` and ``case_finals`` exactly
``final_verdicts`` (a case without a row being ``open``), after any mix of the paths that
write verdict events: a local record, an undo, a bundle import, a calibration ruling, a
vote, and rows an outside writer could plant (other reviewers, odd supersessions).
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import bundles
from qa_desktop.core.api import GAP_KINDS, RCA_REASONS, VerdictDraft
from qa_desktop.core.store import MIGRATIONS, _migration_17, open_database
from qa_desktop.core.workspace import DB_FILENAME, Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record, supporting_citation

CASES = 3
LABELS = ("vh_remove", "no_violation", "sp_reduce")


def maintained(db: sqlite_utils.Database) -> tuple[list[tuple], list[tuple]]:
    """(current verdicts, case finals) as the maintained tables hold them."""
    current = db.execute(
        "SELECT m.case_id, m.reviewer_id, m.event_id, m.role, m.label, m.rca, m.gap,"
        " m.created_at, m.seq = c.seq FROM current_verdicts m JOIN cases c ON c.id = m.case_id"
        " ORDER BY 1, 2"
    ).fetchall()
    finals = db.execute(
        "SELECT c.id, f.event_id, f.label, COALESCE(f.status, 'open'), COALESCE(f.seq, c.seq)"
        " = c.seq FROM cases c LEFT JOIN case_finals f ON f.case_id = c.id ORDER BY 1"
    ).fetchall()
    return current, finals


def from_views(db: sqlite_utils.Database) -> tuple[list[tuple], list[tuple]]:
    """(effective verdicts, final verdicts) as the views define them."""
    current = db.execute(
        "SELECT case_id, reviewer_id, id, role, label, rca_reason IS NOT NULL,"
        " gap_kind IS NOT NULL, created_at, 1 FROM effective_verdicts ORDER BY 1, 2"
    ).fetchall()
    finals = db.execute(
        "SELECT case_id, event_id, label, status, 1 FROM final_verdicts ORDER BY 1"
    ).fetchall()
    return current, finals


case = st.integers(0, CASES - 1)
label = st.sampled_from(LABELS)
operation = st.one_of(
    st.tuples(st.just("record"), case, label, st.sampled_from(("", "rca", "gap", "both"))),
    st.tuples(st.just("undo"), case),
    st.tuples(st.just("import"), case, label),
    st.tuples(st.just("rule"), case, label),
    st.tuples(
        st.just("plant"),
        case,
        st.sampled_from(("Ana-id", "x-sme", "y-sme", "lead")),
        st.sampled_from(("sme", "arbiter", "participant")),
        st.one_of(st.none(), label),
        st.one_of(st.none(), st.integers(0, 40)),
        st.sampled_from(("2026-10-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z")),
    ),
)


def _apply(ana: Workspace, bo: Workspace, op: tuple, out: Path, counter: itertools.count) -> None:
    db = ana.database_for_tests()
    kind, case_id = op[0], f"t-{op[1]}"
    if kind == "record":
        flags = op[3]
        details = {}
        if flags in ("rca", "both"):
            details["rca_reason"] = RCA_REASONS[0]
        if flags in ("gap", "both"):
            details["gap_kind"] = GAP_KINDS[0]
        record(ana, case_id, op[2], **details)
    elif kind == "undo":
        ana.verdicts.undo(case_id)
    elif kind == "import":
        record(bo, case_id, op[2])
        made = bo.bundles.export(bo.trust.identity(PASSPHRASE), out)
        assert made is not None
        bundles.import_bundle(db, made.path.read_bytes(), name=made.path.name)
    elif kind == "rule":
        session = ana.calibration.create(f"s{next(counter)}", cases=[case_id], participants=["Zed"])
        ana.calibration.vote(session.id, case_id, "Zed", op[2])
        ana.calibration.reveal(session.id, case_id)
        cited = supporting_citation(ana, case_id, op[2])
        ana.calibration.rule(session.id, case_id, VerdictDraft(op[2], cited))
    else:
        _, _, reviewer, role, planted, supersedes, created_at = op
        if reviewer == "Ana-id":
            assert ana.reviewer is not None
            reviewer = ana.reviewer.id
        ids = [r[0] for r in db.execute("SELECT id FROM verdicts ORDER BY rowid")]
        db["verdicts"].insert(
            {
                "id": f"planted-{next(counter):04d}",
                "case_id": case_id,
                "reviewer_id": reviewer,
                "role": role,
                "session_id": "s-planted" if role != "sme" else None,
                "label": planted,
                "created_at": created_at,
                "supersedes": ids[supersedes % len(ids)]
                if ids and supersedes is not None
                else None,
            }
        )


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_the_maintained_tables_equal_the_views_after_any_writes(operations: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # conftest's fast_kdf holds for every example
        root = Path(tmp)
        ana, bo = make_workspace(root, "Ana", CASES), make_workspace(root, "Bo", CASES)
        try:
            introduce(ana, bo)
            counter = itertools.count()
            for op in operations:
                _apply(ana, bo, op, root / "out", counter)
                db = ana.database_for_tests()
                assert maintained(db) == from_views(db), op
        finally:
            ana.close()
            bo.close()


def test_the_migration_builds_the_tables_for_an_existing_database(tmp_path: Path) -> None:
    """A database from before migration 17, with verdicts, gets both tables filled."""
    ws = make_workspace(tmp_path, "Old", CASES, key=False)
    record(ws, "t-0", "vh_remove", rca_reason=RCA_REASONS[0])
    record(ws, "t-1", "no_violation")
    ws.verdicts.undo("t-1")
    ws.database_for_tests()["verdicts"].insert(
        {"id": "z-1", "case_id": "t-0", "reviewer_id": "other", "label": "sp_reduce",
         "created_at": "2026-10-01T00:00:00.000Z"}
    )  # fmt: skip
    expected = from_views(ws.database_for_tests())
    ws.close()
    path = tmp_path / "Old" / DB_FILENAME
    version = MIGRATIONS.index(_migration_17) + 1
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TRIGGER verdicts_keep_current; DROP TABLE current_verdicts; DROP TABLE case_finals;"
        " DROP INDEX verdicts_superseding; DROP TABLE verdicts_bulk_insert;"
        # Later migrations go too (they run again after 17), as in a database of then.
        " DROP TABLE case_find; DROP TRIGGER cases_find_insert; DROP TRIGGER cases_find_delete;"
        " DROP TRIGGER cases_find_update;"
        f" DELETE FROM schema_version WHERE version >= {version};"
    )
    conn.close()
    db = open_database(path)
    try:
        assert maintained(db) == expected
        assert [row[3] for row in expected[1]] == ["disputed", "open", "open"]
    finally:
        db.conn.close()
