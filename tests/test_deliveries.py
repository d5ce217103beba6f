"""Who has sent what: bundles received per signer, and the ones that never arrived."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot

from qa_desktop.cli import cli
from qa_desktop.core.deliveries import format_numbers
from qa_desktop.ui.deliveries_dialog import MISSING_COLOUR, DeliveriesDialog

from .factory import PASSPHRASE
from .test_bundles import three_bundles


def row_for(rows, name: str):
    return next(d for d in rows if d.signer_name == name)


def test_a_bundle_that_never_arrived_shows_as_missing_until_it_does(tmp_path: Path) -> None:
    rita, lena, paths = three_bundles(tmp_path)
    lena.bundles.import_files([paths[0], paths[2]])
    rows = lena.bundles.deliveries()
    assert rows[0].signer_name == "Rita"  # signers with gaps come first
    got = row_for(rows, "Rita")
    assert (got.bundles, got.items, got.last_seq, got.missing) == (2, 2, 3, ((2, 2),))
    mine = row_for(rows, "Lena")
    assert mine.own and mine.bundles == 0 and mine.missing == ()
    lena.bundles.import_files([paths[1]])
    assert row_for(lena.bundles.deliveries(), "Rita").missing == ()
    sent = row_for(rita.bundles.deliveries(), "Rita")
    assert sent.own and (sent.bundles, sent.last_seq) == (3, 3)
    rita.close()
    lena.close()


def test_a_signer_no_longer_trusted_stays_listed(tmp_path: Path) -> None:
    rita, lena, paths = three_bundles(tmp_path)
    lena.bundles.import_files(paths)
    lena.trust.remove(rita.trust.public_key().key_id)
    gone = next(d for d in lena.bundles.deliveries() if d.key_id == rita.trust.public_key().key_id)
    assert gone.signer_name == "(no longer trusted)" and gone.bundles == 3
    rita.close()
    lena.close()


def test_cli_status_lists_the_gaps_and_fails_while_some_are_missing(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("QA_DESKTOP_PASSPHRASE", PASSPHRASE)
    rita, lena, paths = three_bundles(tmp_path)
    lena.bundles.import_files([paths[2]])
    data = str(lena.data_dir)
    rita.close()
    lena.close()
    result = CliRunner().invoke(cli, ["--data-dir", data, "bundle", "status"], obj={})
    assert result.exit_code == 1
    line = next(row for row in result.output.splitlines() if "\tRita\t" in row)
    assert line.split("\t")[3:7] == ["1", "1", "3", "1–2"]


def test_the_dialog_shows_missing_bundles_in_colour(qtbot: QtBot, tmp_path: Path) -> None:
    rita, lena, paths = three_bundles(tmp_path)
    lena.bundles.import_files([paths[1]])
    dialog = DeliveriesDialog(lena.bundles.deliveries())
    qtbot.addWidget(dialog)
    table: QTableWidget = dialog.table
    assert table.item(0, 0).text() == "Rita" and table.item(0, 6).text() == "1"
    assert table.item(0, 6).foreground().color() == MISSING_COLOUR
    assert "Missing from Rita" in dialog.summary.text()
    assert "bundle(s) 1 " in dialog.summary.text()  # 3 was never heard of: nothing says it exists
    rita.close()
    lena.close()


def parse(text: str) -> list[int]:
    numbers: list[int] = []
    for part in filter(None, text.split(", ")):
        first, _, last = part.partition("–")
        numbers += range(int(first), int(last or first) + 1)
    return numbers


@given(st.sets(st.integers(1, 200)))
def test_format_numbers_round_trips_with_maximal_ranges(numbers: set[int]) -> None:
    ordered = tuple(sorted(numbers))
    text = format_numbers(ordered)
    assert parse(text) == list(ordered)
    parts = len(text.split(", ")) if text else 0
    assert parts == sum(1 for n in ordered if n - 1 not in numbers)  # one per run
