"""The one table of targets every benchmark line is judged against (issues 15 and 16).

A benchmark prints its figure and :func:`judge`'s verdict; ``make bench`` ends with
:func:`summary`, every judged line of the run with its verdict, so one run shows what meets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A bound on one figure: ``at_least`` for ratios of speed, else an upper bound."""

    bound: float
    at_least: bool
    unit: str = ""

    def met_by(self, value: float) -> bool:
        """Whether ``value`` meets the bound."""
        return value >= self.bound if self.at_least else value <= self.bound

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.bound:g}{self.unit}"


TARGETS: dict[str, Target] = {
    # issue 15: the queue and the GUI at a million cases, against a thousand
    "queue page at 1M vs 1k": Target(1.5, at_least=False, unit="x"),
    "GUI start-up at 1M vs 1k": Target(1.5, at_least=False, unit="x"),
    "record + next at 1M vs 1k": Target(1.5, at_least=False, unit="x"),
    "longest GUI-thread stall": Target(50, at_least=False, unit=" ms"),
    # issue 15: import, record, bundles
    "import vs executemany": Target(0.8, at_least=True),
    "import peak memory, 1M text cases": Target(400, at_least=False, unit=" MiB"),
    "record_verdict vs raw sqlite3": Target(0.5, at_least=True),
    "bundle export, 100k events, vs stdlib json + SHA-256 + zip": Target(0.5, at_least=True),
    "bundle import, 100k events, vs stdlib json + SHA-256 + zip": Target(0.5, at_least=True),
    "bundle export + sign, evidence, vs write + fsync": Target(0.8, at_least=True),
    "bundle import, evidence, vs single-thread SHA-256": Target(0.7, at_least=True),
    # issue 15: the player, the next case, the command line, memory
    "video 720p, real time": Target(5.0, at_least=True, unit="x"),
    "video 1080p, real time": Target(2.0, at_least=True, unit="x"),
    "next case, prefetched": Target(1000 / 60, at_least=False, unit=" ms"),
    "next case, J before the prefetch finished": Target(2000 / 60, at_least=False, unit=" ms"),
    "next case, nobody prefetched": Target(100, at_least=False, unit=" ms"),
    "qa-desktop --help": Target(0.3, at_least=False, unit=" s"),
    "GUI memory after 50 cases": Target(300, at_least=False, unit=" MiB"),
    "report vs its SQL baseline": Target(1.5, at_least=False, unit="x"),
    # issue 16: the hub
    "hub vs COPY": Target(0.5, at_least=True),
    "hub cost, last 1,000 bundles vs first 1,000": Target(1.0, at_least=False, unit="x"),
}

_judged: list[tuple[str, str, bool]] = []


def judge(name: str, value: float, line: str = "") -> str:
    """``"(target <= 1.5x: meets)"`` for ``value`` against ``TARGETS[name]``, remembered for
    :func:`summary` under ``line`` (default ``name``)."""
    target = TARGETS[name]
    met = target.met_by(value)
    _judged.append((line or name, f"{value:.3g}", met))
    return f"(target {target}: {'meets' if met else 'MISSES'})"


def summary() -> list[str]:
    """Every line judged in this run, misses first, and forget them."""
    if not _judged:
        return []
    lines = [f"targets: {sum(met for *_, met in _judged)} of {len(_judged)} lines meet"]
    for name, value, met in sorted(_judged, key=lambda judged: judged[2]):
        lines.append(f"  {'meets ' if met else 'MISSES'}  {name}: {value}")
    _judged.clear()
    return lines
