"""An export never writes a bundle importers must refuse, and never marks undeliverable
events as sent: large exports split into several bundles, oversized fields are refused when
the verdict is recorded."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from qa_desktop.core import bundles
from qa_desktop.core.api import Citation, RefusalReason, Refused, VerdictDraft
from qa_desktop.core.formats import zip_safety
from qa_desktop.core.verdicts import MAX_NOTE_CHARS, MAX_QUOTE_CHARS, VerdictEvent
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE
from .recording import record, supporting_citation


def _exported(ws: Workspace) -> set[str]:
    db = ws.database_for_tests()
    return {row[0] for row in db.execute("SELECT event_id FROM exported_events")}


def test_many_events_go_into_several_bundles_that_all_import(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    ana, bo = keyed_pair
    ids = [record(ana, f"t-{i % 3}", "no_violation", notes=f"n{i}").id for i in range(23)]
    out = tmp_path / "out"
    result = bundles.export_bundle(
        ana.database_for_tests(), ana.trust.identity(PASSPHRASE), out, max_events=5
    )
    assert result is not None
    assert result.event_count == 23 and len(result.paths) == 5
    assert result.undeliverable == ()
    assert _exported(ana) == set(ids)

    reports = bo.bundles.import_files(sorted(out.glob("*.zip")))
    assert [r.refused_reason for r in reports if r.refused_reason] == []
    assert set(ids) <= {e.id for e in bo.verdicts.events()}
    sent = [d for d in bo.bundles.deliveries() if d.signer_name == "Ana"]
    assert sent[0].bundles == 5 and sent[0].missing == ()


def test_a_byte_budget_splits_and_an_event_over_it_stays_unsent(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    ana, bo = keyed_pair
    small = [record(ana, "t-0", "no_violation", notes="x" * 200).id for _ in range(6)]
    # An event recorded before the limits existed, too big for the budget of this export.
    big = VerdictEvent.from_row(
        {**record(ana, "t-1", "no_violation").to_row(), "id": "0" * 8 + "-big", "notes": "y" * 5000}
    )
    ana.database_for_tests().table("verdicts").insert(big.to_row())
    result = bundles.export_bundle(
        ana.database_for_tests(), ana.trust.identity(PASSPHRASE), tmp_path / "out", max_bytes=2500
    )
    # Six ~800-byte events (the digits of each time on case vary) need two or three bundles.
    assert result is not None and len(result.paths) >= 2
    for path in result.paths:
        with zipfile.ZipFile(path) as archive:
            events = [i for i in archive.infolist() if i.filename.endswith("/data/events.jsonl")]
            assert len(events) == 1 and events[0].file_size <= 2500, path
    assert big.id in result.undeliverable
    assert big.id not in _exported(ana) and set(small) <= _exported(ana)
    reports = bo.bundles.import_files(list(result.paths))
    assert [r.refused_reason for r in reports if r.refused_reason] == []


def test_highly_compressible_events_are_stored_so_importers_accept_them(
    keyed_pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    """Notes of one repeated character deflate far beyond the ratio importers allow (a zip
    bomb to them): such an events file is stored, and the bundle imports."""
    ana, bo = keyed_pair
    long = "a" * MAX_NOTE_CHARS
    for i in range(20):
        record(
            ana,
            f"t-{i % 3}",
            "no_violation",
            notes=long,
            rca_reason="frontline_error",
            rca_note=long,
            gap_kind="silent",
            gap_note=long,
        )
    result = ana.bundles.export(ana.trust.identity(PASSPHRASE), tmp_path / "out")
    assert result is not None
    with zipfile.ZipFile(result.path) as archive:
        zip_safety.checked_members(archive, zip_safety.BUNDLE_LIMITS)
    [report] = bo.bundles.import_files([result.path])
    assert report.refused_reason is None and report.new_events == 20


@pytest.mark.parametrize("field", ["notes", "rca_note", "gap_note", "quote"])
def test_an_oversized_field_is_refused_when_recorded(
    workspace_with_pack: Workspace, field: str
) -> None:
    ws = workspace_with_pack
    before = len(ws.verdicts.events())
    cited = supporting_citation(ws, "t-0", "no_violation")
    details: dict[str, object] = {"rca_reason": "frontline_error", "gap_kind": "silent"}
    if field == "quote":
        cited = (Citation("p", "1", "s", "q" * (MAX_QUOTE_CHARS + 1)),)
    else:
        details[field] = "z" * (MAX_NOTE_CHARS + 1)
    draft = VerdictDraft("no_violation", cited, **details)  # type: ignore[arg-type]
    with pytest.raises(Refused) as refused:
        ws.verdicts.record("t-0", draft)
    assert refused.value.reason == RefusalReason.TOO_LARGE
    assert "at most" in refused.value.message
    assert len(ws.verdicts.events()) == before
    # At the limit it is fine.
    if field != "quote":
        details[field] = "z" * MAX_NOTE_CHARS
        ws.verdicts.record("t-0", VerdictDraft("no_violation", cited, **details))  # type: ignore[arg-type]


@pytest.fixture
def workspace_with_pack(tmp_path: Path) -> Workspace:
    from .factory import make_workspace

    ws = make_workspace(tmp_path, "ana", key=False)
    yield ws
    ws.close()
