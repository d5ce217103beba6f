"""The batch header every benchmark batch starts with (synthetic, demo-global pack)."""

from __future__ import annotations

import json
from pathlib import Path


def write_batch_header(folder: Path, batch_id: str, name: str) -> None:
    """Write ``folder/batch.json`` for a benchmark batch judged against demo-global 1.0.0."""
    header = {
        "format_version": 1,
        "id": batch_id,
        "name": name,
        "issuer": "bench",
        "market": "global",
        "guideline_pack": {"id": "demo-global", "version": "1.0.0"},
        "created_at": "2026-11-01T00:00:00Z",
    }
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
