"""The command line on real data directories: import, cases, verdicts, demo, bad input."""

from __future__ import annotations

import csv
import io
import itertools
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.verdicts import Citation
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import case_record, make_workspace, mixed_batch, write_batch
from .recording import record


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
    ws.batches.import_batch(batch)
    cite = Citation("demo-global", "1.0.0", "VH-2.3")
    record(ws, "img-0", "vh_remove", [cite], notes="clear case")
    record(ws, "txt-0", "no_violation", notes='=HYPERLINK("http://x","click")')
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


# -- help texts ------------------------------------------------------------------------------


def every_command(
    command: click.Command, path: tuple[str, ...] = ("qa-desktop",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group of the CLI with its command path, the root first."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from every_command(sub, (*path, name))


def examples(command: click.Command) -> list[str]:
    """The invocations listed under ``Example:`` in a command's help text."""
    lines = (command.help or "").splitlines()
    if "Example:" not in [line.strip() for line in lines]:
        return []
    start = [line.strip() for line in lines].index("Example:") + 1
    found = []
    for line in lines[start:]:
        if not line.strip():
            break
        found.append(line.strip())
    return found


def resolve(example: str) -> tuple[tuple[str, ...], click.Command]:
    """Walk an example invocation through the real command tree, checking every option name
    and the number of arguments; the command path it runs and the command."""
    lexer = shlex.shlex(example, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = list(itertools.takewhile(lambda w: w not in {">", ">>", "|", ";", "&&"}, lexer))
    assert words[0] == "qa-desktop", example
    command: click.Command = cli
    path: tuple[str, ...] = ("qa-desktop",)
    arguments: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            options = {
                o: p
                for p in command.params
                if isinstance(p, click.Option)
                for o in (*p.opts, *p.secondary_opts)
            }
            assert name in options or name in ("-h", "--help"), (
                f"{example!r}: {' '.join(path)} has no option {name}"
            )
            option = options.get(name)
            if option is not None and not option.is_flag and "=" not in word:
                assert next(rest, None) is not None, f"{example!r}: {name} needs a value"
        elif isinstance(command, click.Group) and not arguments:
            assert word in command.commands, f"{example!r}: {' '.join(path)} has no {word!r}"
            command, path = command.commands[word], (*path, word)
        else:
            arguments.append(word)
    declared = [p for p in command.params if isinstance(p, click.Argument)]
    needed = sum(p.nargs if p.nargs > 0 else 1 for p in declared if p.required)
    at_most = float("inf") if any(p.nargs < 0 for p in declared) else sum(p.nargs for p in declared)
    assert needed <= len(arguments) <= at_most, f"{example!r}: arguments {arguments}"
    return path, command


def test_every_command_and_group_shows_an_example() -> None:
    without = [" ".join(path) for path, command in every_command(cli) if not examples(command)]
    assert without == []
    assert len(list(every_command(cli))) >= 27  # every command was walked, groups included


def test_every_example_runs_a_real_command_with_real_options() -> None:
    for path, command in every_command(cli):
        for example in examples(command):
            ran, _ = resolve(example)
            assert ran[: len(path)] == path, f"{example!r} is not an example of {path}"
            if not isinstance(command, click.Group):
                assert ran == path, f"{example!r} is not an example of {path}"


def test_help_shows_the_examples_unwrapped() -> None:
    result = CliRunner().invoke(cli, ["guidelines", "show", "--help"], obj={})
    assert result.exit_code == 0
    assert (
        "\n  Example:\n    qa-desktop guidelines show demo-global 1.0.0 --market DE\n"
        in result.output
    )


def _demo_like(tmp_path: Path) -> Path:
    """A data directory with the demo pack and three text cases, no profile yet."""
    data = tmp_path / "data"
    assert run(data, "guidelines", "import", str(DEMO_PACK))[0] == 0
    batch = write_batch(
        tmp_path / "b", [case_record(f"t-{i}", "text", [], tags=[]) for i in range(3)]
    )
    assert run(data, "import", str(batch), "--trust-unsigned")[0] == 0
    return data


def test_verdict_record_obeys_the_rules_of_the_gui(tmp_path: Path, monkeypatch) -> None:
    data = _demo_like(tmp_path)
    monkeypatch.delenv("QA_DESKTOP_DISPLAY_NAME", raising=False)
    code, _, err = run(data, "verdict", "record", "t-0", "no_violation")
    assert code == 1 and "--reviewer" in err  # no profile yet, no name given
    code, out, _ = run(
        data,
        "verdict",
        "record",
        "t-0",
        "vh_remove",
        "--cite",
        "VH-2.3",
        "--note",
        "clear",
        "--reviewer",
        "Ana",
    )
    assert code == 0 and "recorded vh_remove on t-0" in out
    code, _, err = run(data, "verdict", "record", "t-1", "vh_remove")
    assert code == 1 and "citation-required" in err and "needs a citation" in err
    code, _, err = run(data, "verdict", "record", "t-1", "made_up")
    assert code == 1 and "unknown-label" in err and "made_up" in err
    code, _, err = run(data, "verdict", "record", "t-1", "vh_remove", "--cite", "XX-1")
    assert code == 1 and "unknown-section" in err
    code, _, err = run(data, "verdict", "record", "nope", "no_violation")
    assert code == 1 and "unknown-case" in err
    code, out, _ = run(data, "verdicts", "--format", "jsonl")
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["case_id"], e["label"], e["notes"]) for e in events] == [
        ("t-0", "vh_remove", "clear")
    ]
    assert events[0]["citations"][0]["section_id"] == "VH-2.3"


def test_verdict_record_takes_the_name_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    data = _demo_like(tmp_path)
    monkeypatch.setenv("QA_DESKTOP_DISPLAY_NAME", "Bea")
    code, out, _ = run(data, "verdict", "record", "t-2", "no_violation")
    assert code == 0, out
    with Workspace.open(data) as ws:
        assert ws.reviewer is not None and ws.reviewer.display_name == "Bea"
