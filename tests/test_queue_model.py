"""The queue's table model passes Qt's model checks (pytest-qt's ``qtmodeltester``) over the
demo batch: as loaded, after a verdict, filtered and reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.queue_view import COLUMNS, QueueModel

from .recording import record


@pytest.fixture
def demo(workspace: Workspace, demo_batch: Path) -> Workspace:
    """The test workspace holding the demo pack and the demo batch."""
    from qa_desktop.demo import DEMO_PACK

    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(demo_batch)
    return workspace


def test_the_queue_model_passes_the_model_tester(
    qtmodeltester: ModelTester, demo: Workspace
) -> None:
    model = QueueModel(demo)
    assert model.rowCount() == demo.queue.count() > 0
    assert model.columnCount() == len(COLUMNS)
    qtmodeltester.check(model)  # and it keeps checking every change signal from here on

    first = model.case_id_at(0)
    assert first is not None
    record(demo, first, "no_violation")
    model.refresh_case(first)  # dataChanged, checked by the tester as it comes
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DisplayRole).startswith("✓")
    market = model.data(model.index(0, 2), Qt.ItemDataRole.DisplayRole)
    model.set_filter(QueueFilter(market=market))
    assert 0 < model.rowCount() < demo.queue.count()
    model.set_filter(QueueFilter(text="no case has this"))
    assert model.rowCount() == 0 and model.data(model.index(0, 0)) is None
    model.set_filter(None)
    assert model.rowCount() == demo.queue.count()
