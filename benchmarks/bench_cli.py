"""``qa-desktop --help``: the CLI's start-up, against the interpreter start-up and
``import click`` in the same run (fresh processes, median and range of several runs)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from .targets import judge

RUNS = 7


def _seconds(argv: list[str]) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return samples


def _spread(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):.3f} s"
        f" (range {min(samples):.3f}–{max(samples):.3f}, {len(samples)} runs)"
    )


def run(tmp: Path) -> list[str]:
    """Time ``python -m qa_desktop --help`` and its two baselines."""
    python = sys.executable
    bare = _seconds([python, "-c", "pass"])
    click = _seconds([python, "-c", "import click"])
    helped = _seconds([python, "-m", "qa_desktop", "--help"])
    median = statistics.median(helped)
    return [
        f"qa-desktop --help: {_spread(helped)} {judge('qa-desktop --help', median)}",
        f"  python -c pass: {_spread(bare)}; --help is {median / statistics.median(bare):.1f}x",
        f"  python -c 'import click': {_spread(click)};"
        f" --help is {median / statistics.median(click):.1f}x",
    ]
