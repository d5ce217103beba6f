"""Packaging: app.spec points at real files and agrees with the code. Cheap: no PyInstaller run.

The spec is only parsed (PyInstaller is not even imported: it is in the ``package`` extra, not
``dev``), the launcher is run for ``--version``, and the icons are opened with Pillow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from qa_desktop.core import paths

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "app.spec"
LAUNCHER = ROOT / "build" / "launcher.py"

QT_MODULES_THE_APP_NEEDS = {
    "QtCore",
    "QtGui",
    "QtWidgets",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtCharts",
    "QtNetwork",  # linked by QtMultimedia
}


@pytest.fixture(scope="module")
def spec() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    return {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }


def _spec_path(expr: ast.expr) -> Path:
    """Evaluate ``ROOT / "a" / "b"`` from the spec, with ROOT the repository root."""
    if isinstance(expr, ast.Name) and expr.id == "ROOT":
        return ROOT
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        right = expr.right
        assert isinstance(right, ast.Constant) and isinstance(right.value, str)
        return _spec_path(expr.left) / right.value
    raise AssertionError(f"unexpected path expression in app.spec: {ast.unparse(expr)}")


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _keyword(call: ast.Call, name: str) -> object:
    for keyword in call.keywords:
        if keyword.arg == name:
            return ast.literal_eval(keyword.value)
    raise AssertionError(f"{name}= missing from {ast.unparse(call.func)}()")


def test_spec_paths_exist(spec: ast.Module) -> None:
    assigned = _assignments(spec)
    assert _spec_path(assigned["LAUNCHER"]) == LAUNCHER
    assert LAUNCHER.is_file()
    assert _spec_path(assigned["RESOURCES"]).is_dir()
    for name in ("ICON_PNG", "ICON_ICO"):
        assert _spec_path(assigned[name]).is_file(), name


def test_resources_land_where_the_frozen_app_looks(
    spec: ast.Module, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assigned = _assignments(spec)
    assert _spec_path(assigned["RESOURCES"]) == paths.resources_dir()  # checkout layout
    destinations = [
        node.elts[1].value
        for node in ast.walk(spec)
        if isinstance(node, ast.Tuple)
        and len(node.elts) == 2
        and ast.unparse(node.elts[0]) == "str(RESOURCES)"
        and isinstance(node.elts[1], ast.Constant)
    ]
    assert destinations == ["resources"]
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"  # frozen: <_MEIPASS>/resources


def test_spec_builds_one_folder_qa_desktop_with_console(spec: ast.Module) -> None:
    (exe,) = _calls(spec, "EXE")
    (collect,) = _calls(spec, "COLLECT")
    assert _keyword(exe, "name") == "qa-desktop"
    assert _keyword(exe, "exclude_binaries") is True  # one-folder
    assert _keyword(exe, "console") is True  # the executable is also the CLI
    assert _keyword(collect, "name") == "qa-desktop"


def _qt_modules_imported_by_the_app() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "qa_desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "PySide6":
                    found.update(alias.name for alias in node.names)
                elif node.module.startswith("PySide6."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(
                    alias.name.split(".")[1]
                    for alias in node.names
                    if alias.name.startswith("PySide6.")
                )
    return found


def test_excluded_qt_bindings_are_not_used_by_the_app(spec: ast.Module) -> None:
    excluded = set(ast.literal_eval(_assignments(spec)["EXCLUDED_QT_BINDINGS"]))
    assert not excluded & QT_MODULES_THE_APP_NEEDS
    used = _qt_modules_imported_by_the_app()
    assert used, "found no PySide6 import at all: the scan is broken"
    assert not excluded & used, "app.spec excludes a Qt module the app imports"


def test_launcher_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "qa-desktop, version" in result.stdout


def test_icons_are_valid_images() -> None:
    with Image.open(ROOT / "build" / "icon.png") as png:
        assert png.size == (256, 256)
        assert png.mode == "RGBA"
    with Image.open(ROOT / "build" / "icon.ico") as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= set(ico.info["sizes"])
