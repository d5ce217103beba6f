"""Reports on the Qt side: the PDF (rendered with pdftoppm, read with pdftotext), the CLI's
``report`` command, and the reports screen in the main window's stack under qtbot."""

from __future__ import annotations

import csv
import subprocess
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from PIL import Image
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.cli import cli
from qa_desktop.core.api import ReportTable
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.reports.pdf import table_html, write_pdf

from .reports_data import known_set
from .windows import open_window

HEADLINE = "63.6% (95% CI 35.4%–84.8%, 7 of 11, small n (<30))"


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    return known_set(workspace, tmp_path / "known")


def pdf_text(path: Path) -> str:
    """The PDF's text (ligatures such as "ﬀ" spelled out)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return unicodedata.normalize("NFKC", text)


def ink(png: Path) -> float:
    """The share of a page's pixels that are not white."""
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return 1 - sum(histogram[250:]) / (image.width * image.height)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "points"), [("A4", "595 x 842 pts (A4)"), ("Letter", "612 x 792 pts (letter)")]
)
def test_pdf_renders_and_reads(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, page: str, points: str
) -> None:
    report = ws.reports.performance(by=("policy",))
    path = write_pdf(report, tmp_path / "report.pdf", page)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    assert f"Page size:       {points}" in info.stdout
    assert "Pages:           4" in info.stdout
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 4
    for png in pages:
        assert ink(png) > 0.01, f"{png.name} is blank"
    text = pdf_text(path)
    assert "QA performance report" in text
    assert HEADLINE in text
    assert "25.0% (95% CI 7.1%–59.1%, 2 of 8, small n (<30))" in text  # over-enforcement
    assert "60.0% (95% CI 28.8%–84.7%, effective n=8.1)" in text  # weighted
    assert "Accuracy by policy (95% Wilson interval" in text
    assert "Methods" in text and "Wilson score interval" in text
    assert "2026-10-26 to 2026-11-03" in text
    # Charts are drawn at the writer's scale, not tiny: the first chart spans the page width.
    first = Image.open(pages[0]).convert("L")
    band = first.crop((0, first.height * 2 // 5, first.width, first.height * 3 // 5))
    left, _top, right, _bottom = band.point(lambda v: 255 if v < 245 else 0).getbbox() or (
        0,
        0,
        0,
        0,
    )
    assert right - left > first.width * 0.7
    assert not list(tmp_path.glob("*.part"))


def test_pdf_tables_show_outside_text_as_text() -> None:
    table = ReportTable("t", "<i>title</i>", ("moderator",), (("<b>m-1</b>",),))
    markup = table_html(table)
    assert "&lt;b&gt;m-1&lt;/b&gt;" in markup and "<b>m-1" not in markup
    assert "&lt;i&gt;title" in markup


def test_pdf_refuses_an_unknown_page(qtbot: QtBot, ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="page must be one of A4, Letter"):
        write_pdf(ws.reports.performance(), tmp_path / "r.pdf", "A3")
    assert not list(tmp_path.glob("r.pdf*"))


# -- the CLI -------------------------------------------------------------------------------------


def run(ws: Workspace, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(ws.data_dir), "report", *args])
    return result.exit_code, result.output


def test_cli_report_xlsx_and_csv(ws: Workspace, tmp_path: Path) -> None:
    code, out = run(ws, "--by", "policy,week", "--out", str(tmp_path / "r.xlsx"))
    assert code == 0, out
    assert f"accuracy {HEADLINE}; written to" in out
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["accuracy"]
    assert [c.value for c in sheet[1]][:2] == ["policy", "week"]
    code, out = run(
        ws, "--market", "DE", "--policy", "VH,HS", "--format", "csv", "--out", str(tmp_path / "c")
    )
    assert code == 0, out
    with (tmp_path / "c" / "accuracy.csv").open(encoding="utf-8") as handle:
        rows = {r["policy"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"VH", "HS", "all"} and rows["all"]["n"] == "8"
    assert not (tmp_path / "c" / "my_exposure.csv").exists()  # private unless asked for
    code, out = run(ws, "--format", "csv", "--include-my-exposure", "--out", str(tmp_path / "m"))
    assert code == 0, out
    assert (tmp_path / "m" / "my_exposure.csv").read_text(encoding="utf-8").startswith("category")


@pytest.mark.slow
def test_cli_report_pdf_offscreen(qapp: object, ws: Workspace, tmp_path: Path) -> None:
    # qapp: in one test process the CLI must find pytest-qt's QApplication, not make a
    # QGuiApplication of its own that later widget tests cannot use.
    code, out = run(ws, "--from", "2026-10-01", "--to", "2026-10-31", "--format", "pdf",
                    "--page", "Letter", "--out", str(tmp_path / "oct.pdf"))  # fmt: skip
    assert code == 0, out
    text = pdf_text(tmp_path / "oct.pdf")
    assert "66.7% (95% CI 30.0%–90.3%, 4 of 6, small n (<30))" in text
    assert "2026-10-01 to 2026-10-31" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "colour"), "unknown dimension 'colour'"),
        (("--by", "policy,market,week"), "one or two"),
        (("--from", "01/10/2026"), "from: expected a date YYYY-MM-DD, got '01/10/2026'"),
    ],
)
def test_cli_report_bad_input(
    ws: Workspace, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, out = run(ws, *args, "--out", str(tmp_path / "r.xlsx"))
    assert code == 1 and message in out
    assert not list(tmp_path.glob("r.xlsx*"))


def test_cli_report_unwritable_out(ws: Workspace, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "r.xlsx"
    code, out = run(ws, "--out", str(target))
    assert code == 1 and f"{target}: cannot write the report" in out, out
    assert not (tmp_path / "missing").exists()


# -- the screen ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_reports_screen_shows_figures_and_opens_the_cases_behind_a_bar(
    qtbot: QtBot, ws: Workspace
) -> None:
    window = open_window(qtbot, ws)
    with qtbot.waitSignal(window.screens.currentChanged, timeout=5000):
        qtbot.keyClick(
            window,
            Qt.Key.Key_R,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    screen = window.reports
    assert screen is not None and window.screens.currentWidget() is screen
    assert window.status.isHidden()  # the review's "case n of m" line is not about reports
    qtbot.waitUntil(lambda: screen.report is not None, timeout=10000)
    assert HEADLINE in screen.headline.text()
    accuracy = screen.models["accuracy"]
    assert accuracy.rowCount() == 5  # VH, NONE, HS, OLD and the total
    assert accuracy.data(accuracy.index(0, 0), Qt.ItemDataRole.DisplayRole) == "VH"
    assert accuracy.data(accuracy.index(0, 1), Qt.ItemDataRole.DisplayRole) == "66.7%"
    # Sorting by n puts the biggest cell (the total) last in ascending order.
    view = screen.views["accuracy"]
    proxy = view.model()
    # Unsorted until a header is clicked: core's order, biggest cell first, the total last.
    assert [proxy.data(proxy.index(r, 0)) for r in range(5)] == ["VH", "NONE", "HS", "OLD", "all"]
    view.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    assert proxy.data(proxy.index(proxy.rowCount() - 1, 0)) == "all"
    # Crossed breakdown: policy x week, computed again in the background; two refreshes in a
    # row: the first is superseded (cancelled at its next step), the second shows.
    screen.by_second.setCurrentText("market")
    screen.refresh()
    screen.by_second.setCurrentText("week")
    screen.refresh()
    qtbot.waitUntil(lambda: screen.report is not None and screen.report.by == ("policy", "week"))
    # A click on the errors chart's VH bar opens VH's two over-enforced cases in the queue.
    screen.tabs.setCurrentIndex(0)
    # The chart repaints (and so renews its hit boxes) after the new report arrives.
    qtbot.waitUntil(
        lambda: (
            bool(screen.errors_chart.boxes)
            and screen.errors_chart.boxes[0][1].key == ("VH", "2026-W44")
        )
    )
    box, _bar = screen.errors_chart.boxes[0]
    with qtbot.waitSignal(screen.open_cases, timeout=5000) as opened:
        qtbot.mouseClick(screen.errors_chart, Qt.MouseButton.LeftButton, pos=box.center().toPoint())
    assert opened.args == [["vh-4", "vh-5"]]
    assert window.screens.currentWidget() is window.review
    assert not window.status.isHidden()
    assert window.review.model.rowCount() == 2
    # A row of the error taxonomy opens its cases too: the disputed one.
    window.show_reports()
    qtbot.waitUntil(lambda: screen.report is not None)
    with qtbot.waitSignal(screen.open_cases, timeout=5000) as opened:
        screen._pick_row("taxonomy", 5)
    assert opened.args == [["hs-2"]]


@pytest.mark.slow
def test_reports_screen_filters_and_exports(qtbot: QtBot, ws: Workspace, tmp_path: Path) -> None:
    window = open_window(qtbot, ws)
    screen = window.show_reports()
    qtbot.waitUntil(lambda: screen.combos["policy"].count() > 1 and screen.report is not None)
    screen.combos["policy"].set_selected(("HS",))
    qtbot.waitUntil(lambda: screen.report is not None and screen.report.filter.policies == ("HS",))
    assert screen.report.overall.accuracy.n == 2
    screen.export("xlsx", tmp_path / "hs.xlsx")
    qtbot.waitUntil(lambda: (tmp_path / "hs.xlsx").exists())
    screen.export("pdf", tmp_path / "hs.pdf", "Letter")
    qtbot.waitUntil(
        lambda: "Written to" in screen.headline.text() and (tmp_path / "hs.pdf").exists()
    )
    assert "50.0% (95% CI 9.5%–90.5%, 1 of 2" in pdf_text(tmp_path / "hs.pdf")
    screen.back_button.click()
    assert window.screens.currentWidget() is window.review


def test_reports_open_in_steps_without_a_query_on_the_gui_thread_and_keep_what_is_typed(
    qtbot: QtBot, ws: Workspace
) -> None:
    """Issue 15: opening Reports built every tab's tables at once on the GUI thread (a
    58-68 ms stall). The screen now opens with its filters and builds the tabs one per
    event-loop turn while the worker reads; what the reviewer types meanwhile stays."""
    window = open_window(qtbot, ws)
    statements: list[str] = []
    conn = ws.database_for_tests().conn
    conn.set_trace_callback(
        lambda sql: None if sql.lstrip().upper().startswith("PRAGMA") else statements.append(sql)
    )
    try:
        qtbot.keyClick(
            window,
            Qt.Key.Key_R,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        screen = window.reports
        assert screen is not None and window.screens.currentWidget() is screen
        # Nothing of the figures is built yet: the tabs come at the next event-loop turns.
        assert not any(screen._built) and not screen.views
        screen.date_to.setFocus()
        qtbot.keyClicks(screen.date_to, "2026-12-31")  # typed while the screen builds
        qtbot.waitUntil(lambda: screen.report is not None and all(screen._built), timeout=10000)
    finally:
        conn.set_trace_callback(None)
    assert statements == []  # every query of the screen ran on the worker's own connection
    assert screen.date_to.text() == "2026-12-31"
    assert screen.tabs.isVisible()
    assert set(screen.views) == set(screen.models)
    assert HEADLINE in screen.headline.text()
    assert screen.models["accuracy"].rowCount() == 5
    # Return in the date field refreshes with it; Alt+W shows the weekly tab, sized then.
    qtbot.keyClick(screen.date_to, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: screen.report is not None and screen.report.filter.date_to == "2026-12-31"
    )
    assert "weekly" in screen._unsized
    qtbot.keyClick(screen.date_to, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert screen.tabs.currentIndex() == 1
    assert "weekly" not in screen._unsized
    assert screen.models["weekly"].rowCount() > 0
