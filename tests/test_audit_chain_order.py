"""The audit chain appends the events an export or import just hashed in (created_at, id)
order, as Python orders those strings, now that SQLite sorts them (issue 15: a Python sort
of 50k rows held the GIL for 30-40 ms in one call while the window waited)."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import audit
from qa_desktop.core.bundles.payloads.verdicts import _batch_ids
from qa_desktop.core.verdicts import VerdictEvent

from .factory import case_record, make_workspace, write_batch
from .recording import record

# ASCII, Latin-1, a CJK character and one beyond the BMP: UTF-8's byte order (SQLite's
# BINARY collation) must give Python's code point order for all of them.
_TEXT = st.text(alphabet="0:-TZ.aAzé中𝄞", min_size=1, max_size=6)


def test_known_events_are_chained_in_python_string_order(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "Ana")
    template = record(ws, "t-0", "no_violation").to_row()
    db = ws.database_for_tests()
    audit.sync_chain(db)
    columns = list(template)

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=12, unique_by=lambda p: p[1]))
    def check(pairs: list[tuple[str, str]]) -> None:
        tag = uuid.uuid4().hex[:6]  # ids unique across examples
        rows = [{**template, "id": f"{event_id}{tag}", "created_at": at} for at, event_id in pairs]
        with db.conn:
            db.conn.executemany(
                f"INSERT INTO verdicts ({','.join(columns)})"
                f" VALUES ({','.join('?' * len(columns))})",
                [[r[c] for c in columns] for r in rows],
            )
        seq, _ = audit.head(db)
        known = {r["id"]: audit.event_sha256(VerdictEvent.from_row(r)) for r in rows}
        assert audit.sync_chain(db, known) == len(rows)
        chained = [
            r[0]
            for r in db.execute("SELECT event_id FROM audit_log WHERE seq > ? ORDER BY seq", [seq])
        ]
        assert chained == [
            event_id for _at, event_id in sorted((r["created_at"], r["id"]) for r in rows)
        ]

    check()
    assert audit.verify_chain(db) == []
    ws.close()


def test_a_bundles_batch_ids_are_sorted_whatever_order_the_cases_come_in(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "Ana", cases=3)  # batch "test-batch": t-0 .. t-2
    for batch_id, case_id in (("b-late", "u-0"), ("a-early", "v-0")):
        records = [case_record(case_id, "text", [], tags=[])]
        ws.batches.import_batch(write_batch(tmp_path / batch_id, records, batch_id))
    db = ws.database_for_tests()
    cases = {"u-0", "t-2", "v-0", "t-0", "t-1"}
    assert _batch_ids(db, cases) == "a-early b-late test-batch"
    assert _batch_ids(db, set()) == ""
    ws.close()
