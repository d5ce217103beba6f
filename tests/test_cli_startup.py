"""``qa-desktop --help`` starts fast: the CLI's top level loads click, not core's heavy
dependencies (OpenCV, NumPy, jsonschema, sqlite-utils); core is imported by the commands."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.api import DATA_DIR_ENV

HEAVY = ("cv2", "numpy", "jsonschema", "sqlite_utils", "PySide6", "qa_desktop.core.api")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    return [name for name in HEAVY if name in loaded]


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert _loaded_after("import qa_desktop.cli") == []


def test_help_loads_no_heavy_module() -> None:
    code = (
        "import sys\nsys.argv = ['qa-desktop', '--help']\nfrom qa_desktop.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_help_names_the_data_dir_variable_core_reads() -> None:
    result = CliRunner().invoke(cli, ["--help"], obj={})
    assert result.exit_code == 0
    assert f"${DATA_DIR_ENV}" in result.output


def test_a_command_still_reaches_core(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "cases"], obj={})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("case_id\t")
