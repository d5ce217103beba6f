"""The gold set and hidden gold (issue 14): promote, list, retire; ship a batch with hidden
gold to a reviewer on another data directory, with real signing; score their answers."""

from __future__ import annotations

import json
import re
import statistics
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.api import Citation, RefusalReason, Refused, VerdictDraft
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACKS

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch
from .recording import record, supporting_citation


def rule(ws: Workspace, case_id: str, label: str, votes: dict[str, str], cite: str = "") -> None:
    """A calibration session on one case: votes, reveal, and the lead's ruling."""
    session = ws.calibration.create(f"s-{case_id}", cases=[case_id], participants=list(votes))
    for who, vote in votes.items():
        ws.calibration.vote(session.id, case_id, who, vote)
    ws.calibration.reveal(session.id, case_id)
    cited = (
        (ws.verdicts.citation(case_id, cite),) if cite else supporting_citation(ws, case_id, label)
    )
    ws.calibration.rule(session.id, case_id, VerdictDraft(label, cited))


def gold_batch(folder: Path, n: int, prefix: str = "g", decided: list[str] | None = None) -> Path:
    """``n`` text cases; ``decided`` gives each its frontline decision time (and then its
    own moderator and queue), else every case has the factory's."""
    records = [case_record(f"{prefix}-{i}", "text", [], tags=[]) for i in range(n)]
    for i, rec in enumerate(records):
        if decided:
            rec["decision"] |= {
                "decided_at": decided[i % len(decided)],
                "moderator_id": f"m-{100 + i % 3}",
                "queue": f"weekly-{i % 2}",
            }
    return write_batch(folder, records, batch_id=f"batch-{prefix}")


# The weekly batch's frontline decisions, a week after the gold cases' (2026-10-30).
WEEKLY = [f"2026-11-{20 + i % 5:02d}T{8 + i % 9:02d}:{(7 * i) % 60:02d}:00Z" for i in range(30)]


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path, "Lead", cases=4)
    yield ws
    ws.close()


def test_promote_a_ruling_and_a_decided_verdict(lead: Workspace) -> None:
    rule(lead, "t-0", "vh_remove", {"Ana": "vh_remove", "Bo": "no_violation", "Cy": "hs_remove"})
    record(lead, "t-1", "no_violation")
    ruled = lead.gold.promote("t-0")
    assert (ruled.label, ruled.source, ruled.market, ruled.policy) == (
        "vh_remove",
        "ruling",
        "DE",
        "VH",
    )
    assert ruled.pack_version == "1.0.0" and ruled.citations
    assert ruled.difficulty == pytest.approx(2 / 3)
    promoted = lead.gold.promote("t-1")
    assert (promoted.source, promoted.difficulty) == ("verdict", None)
    # A no-violation answer citing nothing tests the frontline decision's policy (VH).
    assert promoted.policy == "VH"
    assert [g.case_id for g in lead.gold.cases(market="DE", policy="VH")] == ["t-0", "t-1"]
    assert lead.gold.cases(market="FR") == [] and lead.gold.cases(policy="HS") == []


@pytest.mark.parametrize(
    ("case_id", "reason"),
    [("t-2", RefusalReason.NOT_ARBITRATED), ("nope", RefusalReason.UNKNOWN_CASE)],
)
def test_promote_refuses_what_has_no_arbitrated_answer(
    lead: Workspace, case_id: str, reason: RefusalReason
) -> None:
    with pytest.raises(Refused) as refused:
        lead.gold.promote(case_id)
    assert refused.value.reason == reason
    assert lead.gold.cases() == []


def test_promote_twice_and_a_disputed_case_are_refused(tmp_path: Path, lead: Workspace) -> None:
    record(lead, "t-0", "no_violation")
    lead.gold.promote("t-0")
    with pytest.raises(Refused) as twice:
        lead.gold.promote("t-0")
    assert twice.value.reason == RefusalReason.ALREADY_GOLD
    other = make_workspace(tmp_path, "Other", cases=0, key=False)
    # A disputed case: two SMEs disagree (the second one's verdict arrives planted).
    db = lead.database_for_tests()
    record(lead, "t-1", "no_violation")
    row = dict(next(iter(db.query("SELECT * FROM verdicts WHERE case_id = 't-1'"))))
    row.update(id=row["id"][:-4] + "ffff", reviewer_id="someone-else", label="vh_remove")
    row["citations"] = json.dumps(
        [{"pack_id": "demo-global", "pack_version": "1.0.0", "section_id": "VH-1.2"}]
    )
    db.table("verdicts").insert(row)
    with pytest.raises(Refused) as disputed:
        lead.gold.promote("t-1")
    assert disputed.value.reason == RefusalReason.NOT_ARBITRATED
    assert "disputed" in str(disputed.value)
    other.close()


def test_a_gold_case_retires_when_a_cited_section_changes(lead: Workspace) -> None:
    rule(lead, "t-0", "vh_remove", {"Ana": "vh_remove"}, cite="VH-2.1")  # changed in 1.1.0
    rule(lead, "t-1", "vh_remove", {"Ana": "vh_remove"}, cite="VH-1.2")  # unchanged
    lead.gold.promote("t-0")
    lead.gold.promote("t-1")
    assert all(g.active for g in lead.gold.cases())
    lead.guidelines.import_pack(DEMO_PACKS[1])  # demo-global 1.1.0
    pool = {g.case_id: g for g in lead.gold.cases()}
    assert pool["t-1"].active
    assert not pool["t-0"].active
    assert pool["t-0"].retired_reason == (
        "section VH-2.1 text changed in demo-global 1.1.0 (ruled under 1.0.0)"
    )
    assert [g.case_id for g in lead.gold.cases(include_retired=False)] == ["t-1"]


def test_gold_cli_promote_list_retire(lead: Workspace) -> None:
    record(lead, "t-0", "no_violation")
    data = ["--data-dir", str(lead.data_dir)]
    runner = CliRunner()
    done = runner.invoke(cli, [*data, "gold", "promote", "t-0"])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(cli, [*data, "gold", "promote", "t-2"])
    assert refused.exit_code == 1 and "not-arbitrated" in refused.output
    retired = runner.invoke(cli, [*data, "gold", "retire", "t-0", "--why", "wrong market"])
    assert retired.exit_code == 0, retired.output
    listed = runner.invoke(cli, [*data, "gold", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split("\t")[:3] == ["case", "label", "policy"]
    assert "t-0\tno_violation" in lines[1] and "retired: wrong market" in lines[1]


# -- hidden gold -----------------------------------------------------------------------------


def shipped_pair(tmp_path: Path) -> tuple[Workspace, Workspace, Path, list[str]]:
    """A lead with 10 gold cases and a reviewer trusting the lead as issuer; the lead ships
    a 30-case batch with a share of 0.25 hidden gold. Returns lead, reviewer, the signed
    batch and the ids of the gold copies."""
    lead = make_workspace(tmp_path, "Lead", cases=0)
    lead.batches.import_batch(gold_batch(tmp_path / "gold-src", 10))
    for i in range(10):
        record(lead, f"g-{i}", "vh_remove" if i % 2 else "no_violation")
        lead.gold.promote(f"g-{i}")
    reviewer = make_workspace(tmp_path, "Rae", cases=0)
    introduce(reviewer, lead, role="issuer")
    introduce(lead, reviewer)
    weekly = gold_batch(tmp_path / "weekly", 30, prefix="w", decided=WEEKLY)
    files = lead.batches.read_for_signing(weekly)
    result = lead.gold.ship_batch(
        lead.trust.identity(PASSPHRASE), files, tmp_path / "out", share=0.25, seed=3
    )
    assert (result.cases, result.gold) == (40, 10)
    db = lead.database_for_tests()
    gold_ids = [
        r[0] for r in db.execute("SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL")
    ]
    return lead, reviewer, result.path, gold_ids


def test_hidden_gold_is_indistinguishable_in_the_shipped_batch(tmp_path: Path) -> None:
    lead, reviewer, path, gold_ids = shipped_pair(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        lines = next(archive.read(n) for n in names if n.endswith("data/cases.jsonl")).splitlines()
    records = [json.loads(line) for line in lines]
    gold, plain = (
        [r for r in records if r["id"] in gold_ids],
        [r for r in records if r["id"] not in gold_ids],
    )
    assert len(gold) == 10 and len(plain) == 30
    # Nothing in the archive names gold, the answer key, or the source ids.
    blob = b"".join(zipfile.ZipFile(path).read(n) for n in names)
    assert b"gold" not in blob.lower()
    assert not re.search(rb'"(g|w)-\d+"', blob)
    # Records: the same keys in the same order, ids of one shape, raw lines of one layout.
    assert {tuple(r) for r in records} == {tuple(plain[0])}
    assert {tuple(r["decision"]) for r in records} == {tuple(plain[0]["decision"])}
    # Every field's values: the frontline decision time, moderator and queue of a gold copy
    # are like the batch's (not the gold case's own, weeks older), written the same way.
    times = sorted(r["decision"]["decided_at"] for r in plain)
    for r in gold:
        d = r["decision"]
        assert times[0] <= d["decided_at"] <= times[-1], d
        assert re.fullmatch(r"2026-11-\d\dT\d\d:\d\d:\d\dZ", d["decided_at"])
        assert d["moderator_id"] in {p["decision"]["moderator_id"] for p in plain}
        assert d["queue"] in {p["decision"]["queue"] for p in plain}
    for field in ("market", "language", "content_type", "tags", "metadata"):
        assert {json.dumps(r[field]) for r in gold} <= {json.dumps(r[field]) for r in plain}
    assert len({r["decision"]["decided_at"] for r in records}) > 10  # not one copied time
    shape = {r["id"][:2] + re.sub(r"[0-9a-f]", "x", r["id"][2:]) for r in records}
    assert shape == {"c-" + "x" * 16}
    # File names: every name of the archive under data/ has one shape.
    media = [n.split("/data/", 1)[1] for n in names if "/data/media/" in n]
    assert all(re.fullmatch(r"media/[0-9a-f]{16}\.\w+", m) for m in media)
    # Archive entries: one date, one compression, one mode for every member.
    infos = zipfile.ZipFile(path).infolist()
    assert len({(i.date_time, i.compress_type, i.external_attr) for i in infos}) == 1
    # Order: the gold positions are spread like any 10 of 40 (neither first nor last,
    # not every fourth), and the ids do not sort the gold apart.
    positions = [i for i, r in enumerate(records) if r["id"] in gold_ids]
    assert positions != list(range(30, 40)) and positions != list(range(10))
    assert 10 <= statistics.mean(positions) <= 29
    ranks = sorted(r["id"] for r in records)
    assert 10 <= statistics.mean(ranks.index(g) for g in gold_ids) <= 29
    # The reviewer imports it as a signed batch like any other.
    report = reviewer.batches.import_batch(path, trust_unsigned=False)
    assert report.cases_added == 40
    lead.close()
    reviewer.close()


def test_reviewer_accuracy_against_hidden_gold_after_sync(tmp_path: Path) -> None:
    lead, reviewer, path, gold_ids = shipped_pair(tmp_path)
    reviewer.batches.import_batch(path, trust_unsigned=False)
    db = lead.database_for_tests()
    key = dict(
        db.execute(
            "SELECT s.case_id, g.label FROM shipped_cases s"
            " JOIN gold_cases g ON g.case_id = s.gold_case_id"
        ).fetchall()
    )
    # Rae gets 7 of 10 right: the first three answered wrongly.
    for i, case_id in enumerate(sorted(gold_ids)):
        wrong = "hs_remove" if key[case_id] != "hs_remove" else "no_violation"
        record(reviewer, case_id, wrong if i < 3 else key[case_id])
    ordinary = [
        r[0]
        for r in reviewer.database_for_tests().execute("SELECT id FROM cases ORDER BY id")
        if r[0] not in gold_ids
    ][:4]
    for case_id in ordinary:
        record(reviewer, case_id, "no_violation")
    shared = tmp_path / "shared"
    shared.mkdir()
    reviewer.sync.folder(reviewer.trust.identity(PASSPHRASE), shared)
    lead.sync.folder(lead.trust.identity(PASSPHRASE), shared)
    # Rae's gold answers arrived as her own verdicts, never as calibration votes.
    roles = db.execute(
        "SELECT DISTINCT role, session_id FROM verdicts WHERE case_id IN"
        " (SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL)"
    ).fetchall()
    assert roles == [("sme", None)]
    result = lead.gold.accuracy()
    totals = {r.group: (r.correct, r.total) for r in result.by_policy}
    assert sum(c for c, _ in totals.values()) == 7
    assert sum(n for _, n in totals.values()) == 10
    assert all(r.reviewer == "Rae" for r in result.by_policy)
    [week] = result.by_week
    assert (week.correct, week.total) == (7, 10)
    assert week.interval is not None and week.interval.low < 0.7 < week.interval.high
    assert len(result.misses) == 3
    assert all(m.ruling == key[m.case_id] != m.answered for m in result.misses)
    assert all(m.gold_case_id.startswith("g-") for m in result.misses)
    # The frontline-accuracy report counts the lead's 10 decisions on the gold cases'
    # own frontline decisions and Rae's 4 ordinary ones, never Rae's 10 answers on copies.
    assert lead.reports.performance().overall.decided == 14
    assert report_case_ids(lead) == set(ordinary) | {f"g-{i}" for i in range(10)}
    lead.close()
    reviewer.close()


def report_case_ids(ws: Workspace) -> set[str]:
    """The cases the reports count as decided."""
    from qa_desktop.core.reports.figures import ReportFilter, select_rows_sql

    sql, params = select_rows_sql(ReportFilter())
    rows = ws.database_for_tests().execute(sql, params).fetchall()
    return {r[0] for r in rows if r[8] in ("ruled", "decided")}


def test_ship_refuses_without_gold_and_writes_nothing(tmp_path: Path, lead: Workspace) -> None:
    files = lead.batches.read_for_signing(gold_batch(tmp_path / "weekly", 5, prefix="w"))
    with pytest.raises(Refused) as refused:
        lead.gold.ship_batch(lead.trust.identity(PASSPHRASE), files, tmp_path / "out", share=0.2)
    assert refused.value.reason == RefusalReason.NOT_ENOUGH_GOLD
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert (
        lead.database_for_tests().execute("SELECT count(*) FROM shipped_cases").fetchone()[0] == 0
    )


def test_citation_type_is_public() -> None:
    assert Citation("p", "1", "s").section_id == "s"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"batch.json": b"{not json"}, "batch.json"),
        ({"cases.jsonl": None, "cases.csv": b"id\n"}, "cases.jsonl"),
        ({"cases.jsonl": b'{"id": "x"}\n'}, "cases.jsonl line 1"),
        ({"cases.jsonl": b"[1]\n"}, "cases.jsonl line 1"),
    ],
)
def test_ship_refuses_an_unreadable_batch_naming_the_file(
    tmp_path: Path, lead: Workspace, change: dict[str, bytes | None], problem: str
) -> None:
    record(lead, "t-0", "no_violation")
    lead.gold.promote("t-0")
    files = lead.batches.read_for_signing(gold_batch(tmp_path / "weekly", 3, prefix="w"))
    for name, data in change.items():
        if data is None:
            files.pop(name)
        else:
            files[name] = data
    with pytest.raises(ValueError, match=problem):
        lead.gold.ship_batch(lead.trust.identity(PASSPHRASE), files, tmp_path / "out", share=0.2)
    db = lead.database_for_tests()
    assert db.execute("SELECT count(*) FROM shipped_cases").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM batches WHERE id = 'batch-w'").fetchone()[0] == 0


def test_gold_cli_ship_and_accuracy(tmp_path: Path) -> None:
    lead = make_workspace(tmp_path, "Lead", cases=0)
    lead.batches.import_batch(gold_batch(tmp_path / "gold-src", 4))
    for i in range(4):
        record(lead, f"g-{i}", "no_violation")
        lead.gold.promote(f"g-{i}")
    gold_batch(tmp_path / "weekly", 8, prefix="w")
    data = ["--data-dir", str(lead.data_dir)]
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    shipped = runner.invoke(
        cli,
        [*data, "gold", "ship", str(tmp_path / "weekly"), str(tmp_path / "out"), "--share", "0.2"],
    )
    assert shipped.exit_code == 0, shipped.output
    assert "10 cases" in shipped.output
    bad = runner.invoke(
        cli, [*data, "gold", "ship", str(tmp_path / "nowhere"), str(tmp_path / "out")]
    )
    assert bad.exit_code != 0
    # Lead answers one hidden-gold copy wrongly as if a reviewer: the table and the miss show.
    copy = (
        lead.database_for_tests()
        .execute("SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL LIMIT 1")
        .fetchone()[0]
    )
    record(lead, copy, "vh_remove")
    table = runner.invoke(cli, [*data, "gold", "accuracy", "--misses"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split("\t")[:5] == ["reviewer", "by", "group", "correct", "total"]
    assert lines[1].split("\t")[:5] == ["Lead", "policy", "VH", "0", "1"]
    assert any(
        line.startswith("miss\tLead\t" + copy) and "ruling no_violation" in line for line in lines
    )
    lead.close()


def test_shipping_hidden_gold_writes_no_plain_media_into_the_data_directory(
    tmp_path: Path,
) -> None:
    from .factory import tiny_png

    lead = make_workspace(tmp_path, "Lead", cases=0)
    folder = tmp_path / "gold-src"
    raw = tiny_png(folder / "media" / "g.png", seed=5).read_bytes()
    records = [case_record("g-img", "image", ["media/g.png"])]
    lead.batches.import_batch(write_batch(folder, records, batch_id="gold-src"))
    record(lead, "g-img", "vh_remove")
    lead.gold.promote("g-img")
    files = lead.batches.read_for_signing(gold_batch(tmp_path / "weekly", 4, prefix="w"))
    result = lead.gold.ship_batch(
        lead.trust.identity(PASSPHRASE), files, tmp_path / "out", share=0.2
    )
    assert result.gold == 1
    # The shipped batch carries the picture (like any batch); the data directory never
    # holds it unsealed.
    for path in lead.data_dir.rglob("*"):
        if path.is_file():
            assert raw not in path.read_bytes(), path
    with zipfile.ZipFile(result.path) as archive:
        assert any(raw == archive.read(n) for n in archive.namelist())
    lead.close()
