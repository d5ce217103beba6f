"""What a *trusted* signer may not do (issue 17): rewrite someone else's verdicts, sign in
someone else's name, send values no honest app writes, hide behind a look-alike name, or
make a sequence gap too big to describe. Bundles are forged by signing crafted events with
the reviewer's real, trusted key."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core import audit, bundles, keys
from qa_desktop.core.bundles import BundleRejected
from qa_desktop.core.bundles.payloads.verdicts import CREATED_AT
from qa_desktop.core.clock import iso_utc_ms, utc_now_iso
from qa_desktop.core.deliveries import format_ranges, gaps, missing_count, signer_deliveries
from qa_desktop.core.signer_names import display_text, distinct_names, name_skeleton
from qa_desktop.core.verdicts import Citation, VerdictEvent
from qa_desktop.terminal import terminal_safe
from qa_desktop.ui.deliveries_dialog import DeliveriesDialog
from qa_desktop.ui.history_dialog import history_rows
from qa_desktop.ui.signing import TrustDialog

from .factory import introduce
from .recording import record
from .test_bundle_tamper import Setup, sign_events
from .test_bundles import export
from .windows import answer_dialog


@pytest.fixture
def s(tmp_path: Path) -> Setup:
    setup = Setup(tmp_path)
    yield setup
    setup.reviewer.close()
    setup.lead.close()


def rita_event(s: Setup, **fields: object) -> VerdictEvent:
    """A new event in Rita's name (what her key may sign), with ``fields`` changed."""
    base = VerdictEvent(
        id=str(uuid.uuid4()),
        case_id="t-0",
        reviewer_id=s.identity.reviewer_id,
        label="no_violation",
        created_at=utc_now_iso(),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def forged(s: Setup, *events: VerdictEvent, seq: int = 1) -> bytes:
    """A bundle of ``events`` correctly signed by Rita's trusted key."""
    return sign_events(s.identity, [audit.event_bytes(e) for e in events], seq=seq)


def lead_final(s: Setup, case_id: str = "t-0") -> tuple[str, str | None]:
    final = s.lead.verdicts.final(case_id)
    assert final is not None
    return final.status, final.event.label if final.event else None


# -- 1. only a reviewer's own events supersede theirs ----------------------------------------


def test_a_bundle_cannot_retract_or_restore_the_leads_own_verdict(s: Setup) -> None:
    mine = record(s.lead, "t-0", "no_violation")
    assert lead_final(s) == ("decided", "no_violation")
    retract = rita_event(s, label=None, supersedes=mine.id)
    assert s.refused(forged(s, retract)) == "supersedes-other"
    restore = rita_event(s, label="no_violation", restores=mine.id)
    assert s.refused(forged(s, restore)) == "supersedes-other"
    # Also when the foreign event is named by an event earlier in the same bundle.
    own = rita_event(s, case_id="t-1", label="no_violation")
    other_case = rita_event(s, label=None, supersedes=own.id)
    assert s.refused(forged(s, own, other_case)) == "supersedes-other"
    assert lead_final(s) == ("decided", "no_violation")
    assert s.lead.verdicts.mine("t-0") == mine
    assert list(s.lead.bundles.quarantine_dir.glob("*.reason.txt"))


def test_the_view_lets_only_a_reviewers_own_events_supersede_theirs(s: Setup) -> None:
    """The root rule, whatever put the row there (an older app, an import before the fix)."""
    mine = record(s.lead, "t-0", "vh_remove", notes="clear")
    retract = rita_event(s, label=None, supersedes=mine.id)
    s.lead.database_for_tests().table("verdicts").insert(retract.to_row())
    assert s.lead.verdicts.mine("t-0") == mine
    assert lead_final(s) == ("decided", "vh_remove")
    # A reviewer's own supersession still works: the lead's edit replaces the lead's verdict.
    record(s.lead, "t-0", "no_violation")
    assert lead_final(s) == ("decided", "no_violation")


def test_a_reviewer_still_supersedes_their_own_events_through_a_bundle(s: Setup) -> None:
    first = rita_event(s, label="vh_remove", case_id="t-2")
    undo = rita_event(s, label=None, case_id="t-2", supersedes=first.id)
    report = bundles.import_bundle(s.lead.database_for_tests(), forged(s, first, undo))
    assert report.new_events == 2
    assert lead_final(s, "t-2") == ("open", None)


# -- 2. who a key signs for is decided when trusting it --------------------------------------


def test_a_key_cannot_be_bound_to_your_own_or_another_keys_reviewer_id(
    s: Setup, tmp_path: Path
) -> None:
    lead = s.lead
    other = keys.generate_identity("x", "Mallory")
    with pytest.raises(keys.TrustError, match="your own"):
        lead.trust.trust(other.public_key, "Mallory", "lead", lead.reviewer.id)
    with pytest.raises(keys.TrustError, match="already bound to key"):
        lead.trust.trust(other.public_key, "Mallory", "reviewer", s.identity.reviewer_id)
    with pytest.raises(keys.TrustError, match="not a valid id"):
        lead.trust.trust(other.public_key, "Mallory", "reviewer", "r 1\u202e")
    # A new key for the same person once the old one is revoked (a rotation) is allowed.
    lead.trust.revoke(s.identity.key_id)
    bound = lead.trust.trust(other.public_key, "Rita", "reviewer", s.identity.reviewer_id)
    assert bound.reviewer_id == s.identity.reviewer_id


def test_a_key_bound_to_the_local_reviewer_before_the_fix_is_refused_and_not_resigned(
    s: Setup, tmp_path: Path
) -> None:
    """An old trust store could bind another key to the lead's own id: its bundles are
    refused, so no forged event becomes the lead's, and the lead's export stays the lead's."""
    lead = s.lead
    db = lead.database_for_tests()
    db.execute("UPDATE trusted_keys SET reviewer_id = ? WHERE key_id = ?",
               [lead.reviewer.id, s.identity.key_id])  # fmt: skip
    as_lead = keys.Identity(s.identity.key_id, lead.reviewer.id, "Rita", s.identity.private_key)
    event = replace(rita_event(s), reviewer_id=lead.reviewer.id, label="vh_remove")
    data = sign_events(as_lead, [audit.event_bytes(event)], seq=1)
    assert s.refused(data) == "impersonation"
    db.execute("UPDATE trusted_keys SET reviewer_id = ? WHERE key_id = ?",
               [s.identity.reviewer_id, s.identity.key_id])  # fmt: skip
    lead.bundles.import_files([s.result.path])
    record(lead, "t-2", "no_violation")
    result = export(lead, tmp_path / "lead-out")
    assert result.event_count == 1
    verified = lead.bundles.verify(result.path)
    assert {e.reviewer_id for e in verified.events} == {lead.reviewer.id}


def test_the_trust_dialog_asks_for_the_binding_and_shows_it_before_trusting(
    qtbot: QtBot, s: Setup, tmp_path: Path
) -> None:
    pub = tmp_path / "rita.pub"
    pub.write_text(s.identity.public_key.to_minisign(), encoding="utf-8")
    s.lead.trust.remove(s.identity.key_id)
    dialog = TrustDialog(s.lead)
    qtbot.addWidget(dialog)
    seen: list[str] = []

    def reviewer_id(box: QInputDialog) -> None:
        seen.append(box.labelText())
        seen.append(box.textValue())  # the file's suggestion, offered, not taken
        box.accept()

    def confirm(box: QMessageBox) -> None:
        seen.append(box.text())
        box.button(QMessageBox.StandardButton.Yes).click()

    with answer_dialog(qtbot, reviewer_id, confirm):
        assert dialog.add_key(pub, "Rita", "reviewer")
    assert s.identity.key_id in seen[0] and "anyone could have written it" in seen[0]
    assert seen[1] == s.identity.reviewer_id
    assert s.identity.key_id in seen[2] and f"reviewer {s.identity.reviewer_id}" in seen[2]
    assert dialog.table.item(0, 3) is not None
    bound = [k.reviewer_id for k in s.lead.trust.trusted_keys() if k.key_id == s.identity.key_id]
    assert bound == [s.identity.reviewer_id]


# -- 3. values no honest app writes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"created_at": "9999-12-31T23:59:59.000Z"}, "future-timestamp"),
        ({"created_at": "yesterday"}, "bad-timestamp"),
        ({"created_at": "2026-01-31T09:30:00+02:00"}, "bad-timestamp"),
        ({"created_at": "2026-02-30T09:30:00.000Z"}, "bad-timestamp"),
        ({"created_at": "2026-01-31T24:00:00.000Z"}, "bad-timestamp"),
        ({"role": "god"}, "unknown-role"),
        ({"label": "made_up_label"}, "unknown-label"),
        (
            {"citations": (Citation("demo", "1.0.0", "no-such-section"),)},
            "unknown-section",
        ),
        ({"citations": (Citation("no-pack", "9", "x"),)}, "unknown-section"),
    ],
)
def test_values_no_honest_app_writes_are_refused_with_a_reason(
    s: Setup, fields: dict[str, object], reason: str
) -> None:
    mine = record(s.lead, "t-0", "no_violation")
    assert s.refused(forged(s, rita_event(s, **fields))) == reason
    assert s.lead.verdicts.mine("t-0") == mine


def test_a_verdict_a_minute_ahead_is_accepted_and_a_later_correction_wins(s: Setup) -> None:
    """The clock allowance is minutes, so a correction soon supersedes; and within one
    reviewer the chain (supersedes), not the clock, decides."""
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="milliseconds")
    early = rita_event(s, label="vh_remove", created_at=ahead.replace("+00:00", "Z"))
    fix = rita_event(s, label="no_violation", supersedes=early.id)
    bundles.import_bundle(s.lead.database_for_tests(), forged(s, early, fix))
    assert lead_final(s) == ("decided", "no_violation")


def test_only_a_leads_key_signs_an_arbiters_ruling(s: Setup) -> None:
    """A ruling overrides every SME's verdict: a reviewer's key may not sign one."""
    record(s.lead, "t-0", "no_violation")
    ruling = rita_event(s, label="vh_remove", role="arbiter")
    assert s.refused(forged(s, ruling)) == "role-not-allowed"
    assert lead_final(s) == ("decided", "no_violation")


def _taken_by_the_old_rule(text: str, latest: str) -> bool:
    """The rule before the text comparison: the app's shape, a real time, not after latest."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", text):
        return False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment <= datetime.fromisoformat(latest.replace("Z", "+00:00"))


@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", fullmatch=True),
        st.datetimes(timezones=st.just(UTC)).map(iso_utc_ms),
    )
)
def test_created_at_is_accepted_only_in_the_apps_own_form(text: str) -> None:
    """A time is taken exactly when it is the app's own form, a day and time that exist,
    and no later than the clock allows (as when it was parsed into a datetime); anything
    else is refused as a bad or future timestamp, naming where."""
    from qa_desktop.core.bundles.payloads.verdicts import (
        _latest_created_at,
        _refuse_created_at,
        _takes_created_at,
    )

    latest = _latest_created_at()
    taken = _takes_created_at(text, latest)
    assert taken == _taken_by_the_old_rule(text, latest)
    if taken:
        assert CREATED_AT.fullmatch(text)
    else:
        with pytest.raises(BundleRejected) as refused:
            _refuse_created_at(text, "here")
        assert refused.value.reason in ("bad-timestamp", "future-timestamp")
        assert "here" in refused.value.message


# -- 4. names people can tell apart ----------------------------------------------------------


@pytest.mark.parametrize(
    "look_alike",
    [
        "Demo Reviewer",
        "DEMO REVIEWER",
        "Dеmo Reviewer",  # Cyrillic е
        "Demo  Rеviewеr ",
        "Ｄｅｍｏ Reviewer",  # full-width
        "Demo Revíewer",  # combining accent
    ],
)
def test_a_name_that_looks_like_a_trusted_signers_is_refused(s: Setup, look_alike: str) -> None:
    lead = s.lead
    lead.trust.trust(keys.generate_identity("", "a").public_key, "Demo Reviewer", "issuer")
    with pytest.raises(keys.TrustError, match="looks like the name of key"):
        lead.trust.trust(keys.generate_identity("", "b").public_key, look_alike, "issuer")


@pytest.mark.parametrize("hidden", ["Demo\u200bReviewer", "Demo\u202eReviewer", "Bo\x1b[2J"])
def test_a_name_with_invisible_or_bidi_characters_is_refused(s: Setup, hidden: str) -> None:
    with pytest.raises(keys.TrustError, match="invisible or control character"):
        s.lead.trust.trust(keys.generate_identity("", "a").public_key, hidden, "issuer")


def test_colliding_names_from_before_show_key_ids_and_bidi_is_inert(qtbot: QtBot, s: Setup) -> None:
    """Names stored before the rule (or arriving as reviewer names) still show apart."""
    db = s.lead.database_for_tests()
    db.execute("UPDATE trusted_keys SET signer_name = ? WHERE key_id = ?",
               ["Lena\u202e", s.identity.key_id])  # fmt: skip
    assert name_skeleton("Lena\u202e") == name_skeleton("Lena")
    shown = distinct_names([(k.key_id, k.signer_name) for k in s.lead.trust.trusted_keys()])
    assert shown[s.identity.key_id] == f"Lena\ufffd [{s.identity.key_id}]"
    assert all("\u202e" not in v for v in shown.values())
    dialog = TrustDialog(s.lead)
    qtbot.addWidget(dialog)
    cells = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert f"Lena\ufffd [{s.identity.key_id}]" in cells
    s.lead.bundles.import_files([s.result.path])
    deliveries = DeliveriesDialog(s.lead.bundles.deliveries())
    qtbot.addWidget(deliveries)
    names = [deliveries.table.item(r, 0).text() for r in range(deliveries.table.rowCount())]
    assert all("\u202e" not in n for n in names) and len(set(names)) == len(names)
    event = s.lead.verdicts.events()[0]
    rows = history_rows([event], {event.reviewer_id: "Rita\u202e", "x": "Rita"})
    assert rows[0][1] == f"Rita\ufffd [{display_text(event.reviewer_id)}]"


def test_the_terminal_shows_bidi_controls_inert() -> None:
    text = "signer Ana\u202egnp.exe \u2066x\u2069 \u200e\u200f\u061c\u202a\u202d ok\n"
    safe = terminal_safe(text)
    assert not any(c in safe for c in "\u202e\u2066\u2069\u200e\u200f\u061c\u202a\u202d")
    assert safe.endswith(" ok\n") and safe.count("\ufffd") == 8


# -- 7. sequence numbers: jumps capped, gaps as ranges ----------------------------------------

HUGE = 999_999_999_999_999


def test_a_huge_sequence_number_is_refused(s: Setup) -> None:
    assert s.refused(forged(s, rita_event(s), seq=HUGE)) == "sequence-jump"
    assert s.refused(forged(s, rita_event(s), seq=10_001)) == "sequence-jump"
    bundles.import_bundle(s.lead.database_for_tests(), forged(s, rita_event(s), seq=10_000))


def test_a_huge_gap_from_before_is_described_as_a_range(s: Setup) -> None:
    """A bundle_log row an older app accepted: status describes it without counting."""
    s.lead.bundles.import_files([s.result.path])
    db = s.lead.database_for_tests()
    db.execute(
        "INSERT INTO bundle_log VALUES (?, ?, ?, 'verdicts', 'x', 1, 'import', ?)",
        [str(uuid.uuid4()), s.identity.key_id, HUGE, utc_now_iso()],
    )
    rita = next(d for d in signer_deliveries(db) if d.key_id == s.identity.key_id)
    assert rita.last_seq == HUGE and rita.missing == ((2, HUGE - 1),)
    assert missing_count(rita.missing) == HUGE - 2
    assert format_ranges(rita.missing) == f"2–{HUGE - 1}"


@given(st.sets(st.integers(1, 300)))
def test_gaps_are_the_numbers_missing_below_the_highest(seen: set[int]) -> None:
    ordered = sorted(seen)
    ranges = gaps(ordered)
    expected = [n for n in range(1, max(seen, default=0)) if n not in seen]
    assert [n for a, b in ranges for n in range(a, b + 1)] == expected
    assert missing_count(ranges) == len(expected)


def test_introduce_still_binds_the_signers_own_id(s: Setup, tmp_path: Path) -> None:
    """The honest path: a colleague's key bound to the id they told you."""
    from .factory import make_workspace

    carl = make_workspace(tmp_path, "Carl")
    introduce(s.lead, carl)
    assert any(k.reviewer_id == carl.reviewer.id for k in s.lead.trust.trusted_keys())
    carl.close()
