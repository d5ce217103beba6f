"""The fast paths of bundles at scale (issue 15) give what the slow definitions give.

- an event's canonical bytes (``audit.canonical_event``, the C encoder on a flat check) are
  the reference RFC 8785 bytes, or refused alike, for any event-shaped value;
- reading an events line accepts exactly the canonical lines, refusing the rest as before;
- a bulk insert (the trigger dropped for it, ``case_finals`` read from ``current_verdicts``)
  leaves both maintained tables equal to the views, and the trigger in place, even when the
  insert fails;
- a bag member that deflates past half the ratio importers allow is stored instead.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import audit, store
from qa_desktop.core.bundles import BundleRejected
from qa_desktop.core.bundles.export import write_bag_file
from qa_desktop.core.bundles.payloads import verdicts as payload
from qa_desktop.core.formats import zip_safety
from qa_desktop.core.formats.canonical import StrictJSONError
from qa_desktop.core.verdicts import VerdictEvent
from qa_desktop.core.workspace import Workspace

from .factory import make_workspace
from .test_verdict_summaries import CASES, from_views, maintained

_FIELDS = sorted(VerdictEvent.__dataclass_fields__)
_text = st.text(max_size=12) | st.sampled_from(["\ud800", "é", "\u2028", '"\\', "\x00\x1f"])
_scalar = (
    st.none()
    | _text
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
)
_citation = st.dictionaries(
    st.sampled_from(["pack_id", "pack_version", "section_id", "quote", "é", "\ud800"]),
    _scalar,
    max_size=4,
)
_event = st.fixed_dictionaries(
    {
        name: (st.lists(_citation, max_size=2) | _scalar) if name == "citations" else _scalar
        for name in _FIELDS
    }
)


def _outcome(fn: Any, value: Any) -> bytes | str:
    try:
        return bytes(fn(value))
    except (StrictJSONError, rfc8785.CanonicalizationError, TypeError, ValueError):
        return "refused"


@given(_event)
def test_an_events_canonical_bytes_are_the_reference_ones(event: dict[str, Any]) -> None:
    assert _outcome(audit.canonical_event, event) == _outcome(rfc8785.dumps, event)


_valid_event = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=8),
        "case_id": st.text(min_size=1, max_size=8),
        "reviewer_id": st.just("rev"),
        "label": st.none() | _text,
        "citations": st.lists(
            st.fixed_dictionaries(
                {k: st.text(max_size=6) for k in ("pack_id", "pack_version", "section_id", "quote")}
            ),
            max_size=2,
        ),
        "notes": st.text(max_size=20),
        "time_on_case_ms": st.integers(min_value=0, max_value=2**60),
        "created_at": st.just("2026-10-01T09:30:00.000Z"),
        "supersedes": st.none() | st.text(max_size=6),
        "role": st.sampled_from(["sme", "arbiter"]),
        "session_id": st.none(),
        "restores": st.none(),
        "confidence": st.none() | st.integers(1, 3),
        "rca_reason": st.none(),
        "rca_note": st.just(""),
        "gap_kind": st.none(),
        "gap_note": st.just(""),
    }
)


def _read(line: bytes) -> VerdictEvent | str:
    try:
        proposed = json.loads(line)
    except ValueError:
        proposed = None
    try:
        return payload._parse_event(line, 1, proposed)
    except BundleRejected as refused:
        return f"{refused.reason}: {refused.message}"


@settings(max_examples=200)
@given(_valid_event, st.sampled_from(["canonical", "spaced", "unsorted", "escaped"]))
def test_only_canonical_event_lines_are_read(event: dict[str, Any], form: str) -> None:
    try:
        canonical = bytes(rfc8785.dumps(event))
    except rfc8785.CanonicalizationError:  # an integer past 2**53: no canonical form
        return
    line = {
        "canonical": canonical,
        "spaced": json.dumps(event, sort_keys=True, ensure_ascii=False).encode(),
        "unsorted": json.dumps(
            dict(reversed(event.items())), separators=(",", ":"), ensure_ascii=False
        ).encode(),
        "escaped": json.dumps(event, sort_keys=True, separators=(",", ":")).encode(),
    }[form]
    got = _read(line)
    if line == canonical:
        assert isinstance(got, VerdictEvent), got
        assert audit.event_bytes(got) == canonical
    else:
        assert got == "schema: data/events.jsonl line 1: not RFC 8785 canonical JSON"


def test_a_line_with_a_bad_field_is_refused_for_that_field() -> None:
    good = {
        "id": "e1", "case_id": "c1", "reviewer_id": "rev", "label": "x", "citations": [],
        "notes": "", "time_on_case_ms": 1, "created_at": "2026-10-01T09:30:00.000Z",
        "supersedes": None, "role": "sme", "session_id": None, "restores": None,
        "confidence": None, "rca_reason": None, "rca_note": "", "gap_kind": None, "gap_note": "",
    }  # fmt: skip
    assert isinstance(_read(bytes(rfc8785.dumps(good))), VerdictEvent)
    bad = bytes(rfc8785.dumps({**good, "notes": 5}))
    assert _read(bad) == "schema: data/events.jsonl line 1: notes must be a string"
    unsorted = json.dumps({**good, "notes": 5}, separators=(",", ":")).encode()
    assert _read(unsorted) == "schema: data/events.jsonl line 1: not RFC 8785 canonical JSON"


# -- the bulk insert ------------------------------------------------------------------------

_planted = st.lists(
    st.tuples(
        st.integers(0, CASES - 1),
        st.sampled_from(["a", "b", "lead"]),
        st.sampled_from(["sme", "arbiter", "participant"]),
        st.none() | st.sampled_from(["vh_remove", "no_violation"]),
        st.none() | st.integers(0, 30),
        st.sampled_from(["2026-10-01T00:00:00.000Z", "2026-10-02T00:00:00.000Z"]),
    ),
    min_size=1,
    max_size=14,
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.lists(_planted, min_size=1, max_size=3))
def test_bulk_inserts_keep_the_tables_equal_to_the_views(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple]]
) -> None:
    ws = make_workspace(tmp_path_factory.mktemp("bulk"), "Ana", CASES, key=False)
    db = ws.database_for_tests()
    ids = itertools.count()
    known: list[str] = []
    try:
        for batch in batches:
            rows, cases = [], set()
            for case, reviewer, role, label, supersedes, created_at in batch:
                event_id = f"e{next(ids):03d}"
                target = (
                    known[supersedes % len(known)] if known and supersedes is not None else None
                )
                session = "s" if role == "participant" else None
                rows.append(
                    [event_id, f"t-{case}", reviewer, role, session, label, created_at, target]
                )
                cases.add(f"t-{case}")
                if target is not None:
                    cases.update(
                        r[0]
                        for r in db.execute("SELECT case_id FROM verdicts WHERE id = ?", [target])
                    )
            with store.transaction(db):
                store.insert_verdicts_in_bulk(
                    db,
                    "INSERT INTO verdicts (id, case_id, reviewer_id, role, session_id, label,"
                    " created_at, supersedes) VALUES (?,?,?,?,?,?,?,?)",
                    rows,
                    cases,
                )
            known.extend(r[0] for r in rows)
            assert maintained(db) == from_views(db)
    finally:
        ws.close()


def _trigger(db: Any) -> str | None:
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'verdicts_keep_current'"
    ).fetchone()
    return row[0] if row else None


def test_a_failed_bulk_insert_leaves_nothing_and_the_trigger_in_place(tmp_path: Path) -> None:
    ws: Workspace = make_workspace(tmp_path, "Ana", CASES, key=False)
    db = ws.database_for_tests()
    trigger = _trigger(db)
    assert trigger is not None
    sql = "INSERT INTO verdicts (id, case_id, reviewer_id, label, created_at) VALUES (?,?,?,?,?)"
    rows = [["x1", "t-0", "a", "vh_remove", "2026-10-01T00:00:00.000Z"]] * 2  # the same id twice
    with pytest.raises(sqlite3.IntegrityError), store.transaction(db):
        store.insert_verdicts_in_bulk(db, sql, rows, {"t-0"})
    assert _trigger(db) == trigger
    assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (0,)
    with store.transaction(db):
        store.insert_verdicts_in_bulk(db, sql, rows[:1], {"t-0"})
    assert _trigger(db) == trigger
    # the trigger still keeps the tables current for a single insert afterwards
    db.execute(
        "INSERT INTO verdicts (id, case_id, reviewer_id, label, created_at) VALUES (?,?,?,?,?)",
        ["x2", "t-1", "a", "no_violation", "2026-10-01T00:00:00.000Z"],
    )
    assert maintained(db) == from_views(db)
    ws.close()


# -- over-compressed members ----------------------------------------------------------------


def _no_tags(hashes: dict[str, str], sizes: dict[str, int]) -> tuple[dict[str, bytes], str]:
    return {"bagit.txt": b"BagIt-Version: 1.0\n"}, "digest"


def test_a_member_that_deflates_too_well_is_stored(tmp_path: Path) -> None:
    limits = zip_safety.BUNDLE_LIMITS
    repetitive = b"a" * (limits.ratio_check_min_bytes * 200)
    varied = random.Random(15).randbytes(300_000) + repetitive[:300_000]
    path, _ = write_bag_file(
        tmp_path, "b.zip", "bid", {"data/a": repetitive, "data/b": varied}, [], _no_tags
    )
    with zipfile.ZipFile(path) as archive:
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
        assert archive.read("bid/data/a") == repetitive
        zip_safety.checked_members(archive, limits)
    assert kinds == {
        "bid/data/a": zipfile.ZIP_STORED,
        "bid/data/b": zipfile.ZIP_DEFLATED,
        "bid/bagit.txt": zipfile.ZIP_DEFLATED,
    }
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the first try is gone
