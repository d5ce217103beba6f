"""``make bench``: every figure is a ratio against a baseline measured in the same run.

Run ``python -m benchmarks [name ...]``; names: import, import_media, next_case, video_fps,
storyboard, big_image, reduced_detail, bundles, bundles_many, reports, cli, queue, hub, scale,
gui_memory, record
(default: all).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from . import (
    bench_bundles,
    bench_bundles_many,
    bench_cli,
    bench_gui_memory,
    bench_hub,
    bench_import,
    bench_media,
    bench_next_case,
    bench_queue,
    bench_record,
    bench_reports,
    bench_scale,
    targets,
)

BENCHMARKS = {
    "import": bench_import.run,
    "record": bench_record.run,
    "import_media": bench_import.run_media,
    "next_case": bench_next_case.run,
    "video_fps": bench_media.run_video_fps,
    "storyboard": bench_media.run_storyboard,
    "big_image": bench_media.run_big_image,
    "reduced_detail": bench_media.run_reduced_detail,
    "bundles": bench_bundles.run,
    "bundles_many": bench_bundles_many.run,
    "reports": bench_reports.run,
    "cli": bench_cli.run,
    "queue": bench_queue.run,
    "gui_memory": bench_gui_memory.run,
    "hub": bench_hub.run,
    "scale": bench_scale.run,
}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default) and print their ratios."""
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"qa-bench-{name}-") as tmp:
            started = time.perf_counter()
            for line in BENCHMARKS[name](Path(tmp)):
                print(line, flush=True)
            print(f"  ({name} took {time.perf_counter() - started:.1f} s)\n", flush=True)
    for line in targets.summary():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
