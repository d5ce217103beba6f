"""The command line on real data directories: import, cases, verdicts, demo, bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.verdicts import Citation

from .factory import make_workspace, mixed_batch


def run(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj={})
    return result.exit_code, result.stdout, result.stderr


def test_import_then_list_cases(tmp_path: Path) -> None:
    batch = mixed_batch(tmp_path / "batch", images=2, videos=1, texts=1)
    code, out, err = run(tmp_path / "data", "import", "--trust-unsigned", str(batch))
    assert code == 0, err
    assert "4 cases added" in out and "unsigned" in out
    code, out, _ = run(tmp_path / "data", "cases")
    rows = list(csv.reader(io.StringIO(out), delimiter="\t"))
    assert rows[0] == ["case_id", "type", "market", "policy", "original", "my_verdict"]
    assert [r[0] for r in rows[1:]] == ["img-0", "img-1", "vid-0", "txt-0"]
    code, out, _ = run(tmp_path / "data", "import", "--trust-unsigned", str(batch))
    assert code == 0 and "0 cases added, 4 already present" in out
    _, out, _ = run(tmp_path / "data", "cases", "--limit", "1")
    assert len(out.strip().splitlines()) == 2


def test_bad_batch_exits_non_zero_naming_the_problem_and_writes_nothing(tmp_path: Path) -> None:
    batch = mixed_batch(tmp_path / "batch", images=2, videos=0, texts=0)
    (batch / "media" / "img1.png").unlink()
    code, _, err = run(tmp_path / "data", "import", "--trust-unsigned", str(batch))
    assert code != 0
    assert "img1.png" in err
    _, out, _ = run(tmp_path / "data", "cases")
    assert out.strip().splitlines() == ["case_id\ttype\tmarket\tpolicy\toriginal\tmy_verdict"]


def test_missing_path_and_unknown_format_are_clear_errors(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "data", "import", str(tmp_path / "nowhere"))
    assert code != 0 and "nowhere" in err
    odd = tmp_path / "cases.txt"
    odd.write_text("hello", encoding="utf-8")
    code, _, err = run(tmp_path / "data", "import", str(odd))
    assert code != 0 and "cases.txt" in err


def test_verdicts_export_as_jsonl_and_csv(tmp_path: Path) -> None:
    batch = mixed_batch(tmp_path / "batch", images=1, videos=0, texts=1)
    ws = make_workspace(tmp_path, "data", cases=0, reviewer="Ana", pack=True, key=False)
    ws.import_batch(batch)
    cite = Citation("demo-global", "1.0.0", "VH-2.3")
    ws.record_verdict("img-0", "vh_remove", [cite], notes="clear case")
    ws.record_verdict("txt-0", "no_violation", notes='=HYPERLINK("http://x","click")')
    ws.close()

    code, out, _ = run(tmp_path / "data", "verdicts", "--format", "jsonl")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [e["case_id"] for e in events] == ["img-0", "txt-0"]
    assert events[0]["citations"][0]["section_id"] == "VH-2.3"

    code, out, _ = run(tmp_path / "data", "verdicts", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["citations"] == "demo-global@1.0.0#VH-2.3"
    assert rows[0]["notes"] == "clear case"
    assert rows[1]["notes"] == """'=HYPERLINK("http://x","click")"""  # text, not a formula
    assert rows[0]["time_on_case_ms"].lstrip("-").isdigit()  # numbers stay numbers

    code, _, err = run(tmp_path / "data", "verdicts", "--format", "xml")
    assert code != 0 and "xml" in err


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "qa.db").write_bytes(b"not a database" * 200)
    code, _, err = run(data, "cases")
    assert code != 0 and "qa.db" in err


def test_help_lists_every_command(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "--help")
    assert code == 0
    for command in ("import", "cases", "verdicts", "demo", "batch"):
        assert command in out


def test_import_refuses_an_unsigned_batch_without_trust_unsigned(tmp_path: Path) -> None:
    batch = mixed_batch(tmp_path / "batch", images=1, videos=0, texts=1)
    code, _, err = run(tmp_path / "data", "import", str(batch))
    assert code != 0
    assert "not signed by a trusted issuer" in err and "--trust-unsigned" in err
    _, out, _ = run(tmp_path / "data", "cases")
    assert out.strip().splitlines() == ["case_id\ttype\tmarket\tpolicy\toriginal\tmy_verdict"]
