"""The calibration session report on screen (qtbot, real keys), the reports screen's
multi-select filters and the drift line on the screen and in the PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.calibration.session_report import FLAGGED, SessionReportView
from qa_desktop.ui.reports.pdf import write_pdf

from .factory import make_workspace
from .reports_data import known_set
from .test_calibration_report import build_session
from .windows import open_window


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path, "Lead", cases=4, key=False)
    yield ws
    ws.close()


def shown_view(qtbot: QtBot, ws: Workspace, session_id: str) -> SessionReportView:
    view = SessionReportView(ws, session_id)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    with qtbot.waitSignal(view.report_shown, timeout=10000):
        view.refresh()
    return view


@pytest.mark.slow
def test_the_session_report_view_files_gaps_by_key_and_exports(
    qtbot: QtBot, lead: Workspace, tmp_path: Path
) -> None:
    session_id = build_session(lead)
    view = shown_view(qtbot, lead, session_id)
    assert "3 of 4 cases revealed" in view.headline.text()
    assert "2 of low agreement" in view.headline.text()
    assert "Gwet's AC1: 0.402 (95% CI" in view.headline.text()
    assert "Landis" in view.bands.text() and "Krippendorff" in view.bands.text()
    cases = view.models["cases"]
    assert cases.rowCount() == 4
    marked = [
        cases.data(cases.index(r, 0), Qt.ItemDataRole.BackgroundRole) == FLAGGED for r in range(4)
    ]
    assert marked == [False, True, True, False]
    status = cases.index(3, 1)
    assert cases.data(status, Qt.ItemDataRole.DisplayRole) == "not revealed"
    metrics = view.models["metrics"]
    names = [metrics.data(metrics.index(r, 0)) for r in range(metrics.rowCount())]
    assert names[:4] == ["percent agreement", "Fleiss' kappa", "Krippendorff's alpha", "Gwet's AC1"]
    assert metrics.data(metrics.index(3, 5)) == "fair"

    view.views["cases"].setFocus()
    with qtbot.waitSignal(view.gaps_filed, timeout=10000) as filed:
        qtbot.keyClick(view.views["cases"], Qt.Key.Key_G)
    assert filed.args[0].filed == ("t-1", "t-2")
    qtbot.waitUntil(lambda: "Filed 2 policy gap(s): t-1, t-2." in view.status.text())
    with qtbot.waitSignal(view.gaps_filed, timeout=10000) as again:
        qtbot.keyClick(view.views["cases"], Qt.Key.Key_G)
    assert again.args[0].filed == () and again.args[0].already == ("t-1", "t-2")
    assert sorted(g.case_id for g in lead.reports.gap_cases()) == ["t-1", "t-2"]

    with qtbot.waitSignal(view.exported, timeout=10000):
        view.export("xlsx", tmp_path / "s.xlsx")
    assert openpyxl.load_workbook(tmp_path / "s.xlsx")["cases"]["A3"].value == "t-1"
    with qtbot.waitSignal(view.exported, timeout=10000) as csvs:
        view.export("csv", tmp_path / "csv")
    assert len(csvs.args[0]) == 5 and (tmp_path / "csv" / "cases.csv").exists()


@pytest.mark.slow
def test_multi_select_filters_by_keys_change_the_figures(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    ws = known_set(workspace, tmp_path / "known")
    window = open_window(qtbot, ws)
    screen = window.show_reports()
    policies = screen.combos["policy"]
    qtbot.waitUntil(lambda: policies.count() == 4 and screen.report is not None)
    assert screen.report.overall.accuracy.n == 11
    assert [policies.item(i).text() for i in range(4)] == ["HS", "NONE", "OLD", "VH"]
    policies.setFocus()
    qtbot.keyClick(policies, Qt.Key.Key_Home)
    qtbot.keyClick(policies, Qt.Key.Key_Space)  # HS
    qtbot.keyClick(policies, Qt.Key.Key_Down)
    qtbot.keyClick(policies, Qt.Key.Key_Space)  # and NONE
    assert policies.selected() == ("HS", "NONE")
    qtbot.waitUntil(
        lambda: screen.report is not None and screen.report.filter.policies == ("HS", "NONE"),
        timeout=10000,
    )
    # HS: hs-0 agrees, hs-1 wrong policy (hs-2 disputed); NONE: nv-0, nv-1 agree, nv-2
    # under-enforced (nv-3 open): 3 of 5.
    overall = screen.report.overall.accuracy
    assert (overall.k, overall.n) == (3, 5)
    assert "60.0%" in screen.headline.text()
    qtbot.keyClick(policies, Qt.Key.Key_Space)  # NONE off again: HS only
    qtbot.waitUntil(
        lambda: screen.report is not None and screen.report.filter.policies == ("HS",),
        timeout=10000,
    )
    assert screen.report.overall.accuracy.n == 2


@pytest.mark.slow
def test_the_drift_line_shows_on_screen_and_in_the_pdf(
    qtbot: QtBot, lead: Workspace, tmp_path: Path
) -> None:
    build_session(lead)
    window = open_window(qtbot, lead)
    screen = window.show_reports()
    qtbot.waitUntil(lambda: screen.report is not None and bool(screen.report.calibration))
    table = screen.models["calibration"]
    assert table.rowCount() == 1
    assert [table.data(table.index(0, c)) for c in (1, 2, 3, 4)] == ["DE46", "DE", "VH", "3"]
    screen.tabs.setCurrentIndex(screen.tabs.count() - 2)
    qtbot.waitUntil(lambda: bool(screen.drift_chart.boxes))
    assert screen.drift_chart.boxes[0][1].key == ("DE46", "DE", "VH")
    path = write_pdf(screen.report, tmp_path / "r.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "DE / VH: percent agreement" in text and "DE / VH: Gwet's AC1" in text
    assert "Calibration agreement per market and policy across sessions" in text
