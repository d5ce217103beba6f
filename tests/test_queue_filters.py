"""Queue filters: each alone and combined, across several keyset and offset pages; saved views."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from qa_desktop.core.queue import QueueFilter, QueueRow, queue_page
from qa_desktop.core.verdicts import record_verdict
from qa_desktop.core.workspace import Workspace

from .factory import case_record, make_workspace, write_batch
from .recording import record

CASES = 450
PAGE = 37
OTHER = "other-reviewer"
LABELS = (
    ("no_violation", "NONE"), ("vh_remove", "VH"), ("vh_age_restrict", "VH"),
    ("hs_remove", "HS"), ("an_remove", "AN"), ("an_age_restrict", "AN"),
    ("hb_remove", "HB"), ("sh_remove", "SH"), ("sp_reduce", "SP"),
)  # fmt: skip
MARKETS = ("DE", "FR", "PL")


def _record(i: int) -> dict:
    label, policy = LABELS[i % len(LABELS)]
    decision = {
        "label": label,
        "policy": policy,
        "moderator_id": "m-001",
        "queue": "test",
        "decided_at": "2026-10-30T12:00:00Z",
    }
    text = f"Post {i} about {'Cats' if i % 5 == 0 else 'dogs'} 100%_sure"
    return case_record(
        f"t-{i:03d}", "text", [], text=text, market=MARKETS[i % 3], tags=[], decision=decision
    )


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """450 text cases; the local reviewer decided every 4th, flagging some; another every 7th."""
    tmp = tmp_path_factory.mktemp("filters")
    workspace = make_workspace(tmp, "data", cases=0, reviewer="Filter Tester", pack=True, key=False)
    workspace.batches.import_batch(write_batch(tmp / "b", [_record(i) for i in range(CASES)]))
    for i in range(0, CASES, 4):
        record(
            workspace,
            f"t-{i:03d}",
            LABELS[(i // 4) % len(LABELS)][0],
            rca_reason="frontline_error" if i % 8 == 0 else None,
            gap_kind="ambiguous" if i % 12 == 0 else None,
        )
    for i in (4, 8, 12):  # retracted: open again, no outcome, no flags
        workspace.verdicts.undo(f"t-{i:03d}")
    for i in range(0, CASES, 7):
        record_verdict(
            workspace.database_for_tests(),
            case_id=f"t-{i:03d}",
            reviewer_id=OTHER,
            label="sp_reduce",
        )
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def everything(ws: Workspace) -> list[QueueRow]:
    return ws.queue.page(limit=CASES + 1)


def _keyset(ws: Workspace, filter: QueueFilter) -> tuple[list[QueueRow], int]:
    rows: list[QueueRow] = []
    pages, after = 0, None
    while page := ws.queue.page(after_seq=after, limit=PAGE, filter=filter):
        rows += page
        pages += 1
        after = page[-1].seq
    return rows, pages


def _by_offset(ws: Workspace, filter: QueueFilter) -> list[QueueRow]:
    rows: list[QueueRow] = []
    while page := ws.queue.page(offset=len(rows), limit=PAGE, filter=filter):
        rows += page
    return rows


def _text(row: QueueRow) -> str:
    return _record(int(row.id[2:]))["text"]


FILTERS: dict[str, tuple[QueueFilter, Callable[[QueueRow], bool]]] = {
    "open": (QueueFilter(status="open"), lambda r: r.my_label is None),
    "done": (QueueFilter(status="done"), lambda r: r.my_label is not None),
    "market": (QueueFilter(market="FR"), lambda r: r.market == "FR"),
    "policy": (QueueFilter(policy="VH"), lambda r: r.policy == "VH"),
    "original": (
        QueueFilter(original_label="sp_reduce"),
        lambda r: r.original_label == "sp_reduce",
    ),
    "outcome": (
        QueueFilter(outcome="under_enforcement"),
        lambda r: r.outcome == "under_enforcement",
    ),
    "rca": (QueueFilter(flag="rca"), lambda r: r.rca),
    "gap": (QueueFilter(flag="gap"), lambda r: r.gap),
    "any flag": (QueueFilter(flag="any"), lambda r: r.rca or r.gap),
    "text": (QueueFilter(text="cats"), lambda r: "cats" in _text(r).lower()),
    "id": (QueueFilter(text="T-1"), lambda r: r.id.startswith("t-1")),
    "like chars": (QueueFilter(text="0%_s"), lambda r: "0%_s" in _text(r)),
    "done in DE, flagged": (
        QueueFilter(status="done", market="DE", flag="any"),
        lambda r: r.my_label is not None and r.market == "DE" and (r.rca or r.gap),
    ),
    "open VH about cats": (
        QueueFilter(status="open", policy="VH", text="Cats"),
        lambda r: r.my_label is None and r.policy == "VH" and "Cats" in _text(r),
    ),
    "over-enforced in PL": (
        QueueFilter(outcome="over_enforcement", market="PL"),
        lambda r: r.outcome == "over_enforcement" and r.market == "PL",
    ),
}


def test_the_fixture_has_every_kind_of_row(everything: list[QueueRow]) -> None:
    assert len(everything) == CASES
    assert {r.outcome for r in everything} >= {
        None, "agree", "over_enforcement", "under_enforcement", "wrong_policy",
    }  # fmt: skip
    assert any(r.rca for r in everything) and any(r.gap for r in everything)
    assert not any(r.rca or r.gap for r in everything if r.my_label is None)


@pytest.mark.parametrize("name", list(FILTERS))
def test_filter_pages_count_and_index(ws: Workspace, everything: list[QueueRow], name: str) -> None:
    filter, keep = FILTERS[name]
    expected = [r for r in everything if keep(r)]
    assert expected, "the fixture should give every filter something to find"
    rows, pages = _keyset(ws, filter)
    assert rows == expected
    assert pages == -(-len(expected) // PAGE)
    assert _by_offset(ws, filter) == expected
    assert ws.queue.count(filter) == len(expected)
    for position in (0, len(expected) // 2, len(expected) - 1):
        assert ws.queue.index(expected[position].id, filter) == position
        assert ws.queue.row(expected[position].id, filter) == expected[position]
    hidden = next((r for r in everything if not keep(r)), None)
    if hidden is not None:
        assert ws.queue.index(hidden.id, filter) is None
        assert ws.queue.row(hidden.id, filter) is None


def test_big_filters_span_several_pages(ws: Workspace) -> None:
    rows, pages = _keyset(ws, QueueFilter(status="open"))
    assert len(rows) > 300 and pages > 5


def test_reviewer_filter_shows_another_reviewers_verdicts(
    ws: Workspace, everything: list[QueueRow]
) -> None:
    theirs = queue_page(ws.database_for_tests(), OTHER, limit=CASES + 1)
    expected = [r for r in theirs if r.my_label is not None]
    assert len(expected) == len(range(0, CASES, 7))
    filter = QueueFilter(status="done", reviewer=OTHER)
    rows, pages = _keyset(ws, filter)
    assert rows == expected and pages > 1
    assert ws.queue.count(filter) == len(expected)
    assert all(r.my_label == "sp_reduce" for r in rows)


def test_no_filter_and_an_empty_filter_are_the_whole_queue(
    ws: Workspace, everything: list[QueueRow]
) -> None:
    assert ws.queue.count() == ws.queue.count(QueueFilter()) == CASES
    assert ws.queue.page(offset=PAGE, limit=PAGE, filter=QueueFilter()) == everything[PAGE:74]
    assert ws.queue.index("t-100") == ws.queue.index("t-100", QueueFilter()) == 100


def test_queue_rows_only_gained_fields_at_the_end() -> None:
    names = [f.name for f in dataclasses.fields(QueueRow)]
    assert names == [
        "seq", "id", "market", "policy", "original_label", "content_type", "my_label",
        "outcome", "rca", "gap", "final_label", "disputed",
    ]  # fmt: skip
    row = QueueRow(1, "x", "DE", "VH", "vh_remove", "text", None)
    assert (row.outcome, row.rca, row.gap) == (None, False, False)
    assert (row.final_label, row.disputed) == (None, False)


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "closed"},
        {"flag": "both"},
        {"outcome": "disagree"},
    ],
)
def test_a_bad_filter_value_is_a_clear_error(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        QueueFilter(**bad)


def test_saved_views_round_trip(workspace: Workspace) -> None:
    flagged = QueueFilter(status="done", flag="any", market="DE", text="cats")
    missed = QueueFilter(outcome="under_enforcement", reviewer="someone")
    workspace.queue.save_view("flagged in DE", flagged)
    workspace.queue.save_view("  missed  ", missed)
    assert workspace.queue.saved_views() == [("flagged in DE", flagged), ("missed", missed)]

    workspace.queue.save_view("missed", QueueFilter(status="open"))  # same name: replaced
    reopened = Workspace.open(workspace.data_dir)
    assert reopened.queue.saved_views() == [
        ("flagged in DE", flagged),
        ("missed", QueueFilter(status="open")),
    ]
    assert reopened.queue.delete_view("missed") is True
    assert reopened.queue.delete_view("missed") is False
    assert [name for name, _ in reopened.queue.saved_views()] == ["flagged in DE"]
    reopened.close()
    with pytest.raises(ValueError, match="name"):
        workspace.queue.save_view("  ", flagged)


def test_a_saved_filter_ignores_keys_it_does_not_know() -> None:
    text = '{"status": "open", "colour": "red", "market": "FR"}'
    assert QueueFilter.from_json(text) == QueueFilter(status="open", market="FR")
    assert QueueFilter.from_json(QueueFilter(flag="gap").to_json()) == QueueFilter(flag="gap")
