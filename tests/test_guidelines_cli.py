"""``qa-desktop guidelines``: import, list, show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qa_desktop.cli import cli
from qa_desktop.demo import DEMO_PACK, DEMO_PACKS


def run(data: Path, *args: str) -> Result:
    """Invoke ``qa-desktop --data-dir DATA guidelines ARGS``."""
    return CliRunner().invoke(cli, ["--data-dir", str(data), "guidelines", *args], obj={})


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """A folder with copies of every demo pack."""
    folder = tmp_path / "packs"
    folder.mkdir()
    for path in DEMO_PACKS:
        shutil.copy(path, folder)
    return folder


def test_import_folder_then_list(tmp_path: Path, packs: Path) -> None:
    data = tmp_path / "data"
    result = run(data, "import", str(packs))
    assert result.exit_code == 0, result.output
    assert "demo-fr 1.0.0 (FR overlay of demo-global 1.0.0): imported" in result.output
    assert "demo-global 1.1.0 (global): imported" in result.output
    again = run(data, "import", str(packs / "demo-de-1.0.0.json"))
    assert again.exit_code == 0 and "already imported" in again.output

    listed = run(data, "list")
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert rows[0][:6] == ["id", "version", "market", "language", "effective_date", "base"]
    assert [(r[0], r[1], r[2], r[5]) for r in rows[1:]] == [
        ("demo-de", "1.0.0", "DE", "demo-global 1.0.0"),
        ("demo-fr", "1.0.0", "FR", "demo-global 1.0.0"),
        ("demo-global", "1.0.0", "global", ""),
        ("demo-global", "1.1.0", "global", ""),
    ]


def test_overlay_before_its_base_is_refused_and_nothing_is_stored(
    tmp_path: Path, packs: Path
) -> None:
    data = tmp_path / "data"
    result = run(data, "import", str(packs / "demo-fr-1.0.0.json"))
    assert result.exit_code != 0
    assert "demo-fr-1.0.0.json: base: unknown base pack demo-global 1.0.0" in result.output
    assert run(data, "list").output.splitlines()[1:] == []


def test_bad_pack_in_a_folder_stores_nothing(tmp_path: Path, packs: Path) -> None:
    bad = json.loads((packs / "demo-fr-1.0.0.json").read_text(encoding="utf-8"))
    bad["version"] = "1.1.0"
    bad["sections"][5]["labels"][0] = "vh_remov"
    (packs / "demo-fr-1.1.0.json").write_text(json.dumps(bad), encoding="utf-8")
    data = tmp_path / "data"
    result = run(data, "import", str(packs))
    assert result.exit_code != 0
    assert "demo-fr-1.1.0.json: sections[5].labels[0]: unknown label 'vh_remov'" in result.output
    assert run(data, "list").output.splitlines()[1:] == []


def test_show_prints_the_effective_tree(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "import", str(DEMO_PACKS[0].parent)).exit_code == 0
    result = run(data, "show", "demo-global", "1.0.0", "--market", "FR", "--on", "2026-06-01")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "# demo-global 1.0.0 + demo-fr 1.0.0 (market FR, fr)"
    assert "VH-0\tContenus violents et choquants : champ d'application\tactive, localized" in (
        result.output
    )
    assert "  SP-1.2\tMisleading links and engagement bait\tretired\tdemo-global 1.0.0" in lines
    assert any(line.startswith("  HS-3.1\t") for line in lines)

    newer = run(data, "show", "demo-global", "1.1.0")
    assert "  AN-1.3\tSexual solicitation\tretired\tdemo-global 1.1.0" in newer.output


def test_show_one_section(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "import", str(DEMO_PACK)).exit_code == 0
    result = run(data, "show", "demo-global", "1.0.0", "--section", "VH-2.3")
    assert result.exit_code == 0
    assert result.output.startswith("VH-2.3 Graphic injury: dismemberment and exposed organs")
    assert "visible injuries" in result.output
    missing = run(data, "show", "demo-global", "1.0.0", "--section", "XX-1")
    assert missing.exit_code != 0 and "no section 'XX-1'" in missing.output


def test_show_unknown_pack_fails_cleanly(tmp_path: Path) -> None:
    result = run(tmp_path / "data", "show", "demo-global", "9.0.0")
    assert result.exit_code != 0
    assert "demo-global 9.0.0 is not loaded" in result.output


def test_demo_command_imports_every_demo_pack(tmp_path: Path, monkeypatch) -> None:
    from qa_desktop import demo

    data = tmp_path / "data"
    monkeypatch.setattr(demo, "generate_demo_batch", _tiny_batch_unavailable)
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "demo"], obj={})
    assert isinstance(result.exception, _Stop)
    listed = run(data, "list").output.splitlines()[1:]
    assert len(listed) == len(DEMO_PACKS)


class _Stop(Exception):
    """Stops the demo command after the packs, before the (slow) batch generation."""


def _tiny_batch_unavailable(folder: Path) -> Path:
    raise _Stop
