"""A known verdict set for the report tests: every figure of it is worked out by hand.

14 cases of one batch (pack demo-global 1.0.0, market DE):

- VH (6 cases, m-1, 2026-W44), frontline vh_remove: final vh_remove x4 (agree),
  vh_age_restrict and no_violation (over-enforcement);
- HS (3, m-2, 2026-W45), frontline hs_remove: hs_remove (agree), vh_remove (wrong policy),
  one disputed;
- NONE (4, m-1, 2026-W45), frontline no_violation: no_violation x2 (agree), sp_reduce
  (under-enforcement), one open;
- OLD (1, m-3, 2026-W45), frontline legacy_label (not in the pack): unknown label.

Accuracy 7 of 11; over-enforcement 2 of 8 actioned; under-enforcement 1 of 3; wrong policy
1 of 11. Sampling weights by policy: VH 2, HS 5, NONE 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa_desktop.core.workspace import Workspace

from .factory import batch_header, case_record, write_batch
from .recording import record

WEIGHTS = {"stratum": "policy", "weights": {"VH": 2, "HS": 5, "NONE": 1}}

# (case id, frontline label, policy, moderator, decided_at, final label or None, time ms)
CASES = [
    *(
        (f"vh-{i}", "vh_remove", "VH", "m-1", "2026-10-26T10:00:00Z", final, 1000 * (i + 1))
        for i, final in enumerate(["vh_remove"] * 4 + ["vh_age_restrict", "no_violation"])
    ),
    ("hs-0", "hs_remove", "HS", "m-2", "2026-11-02T10:00:00Z", "hs_remove", 7000),
    ("hs-1", "hs_remove", "HS", "m-2", "2026-11-02T10:00:00Z", "vh_remove", 8000),
    ("hs-2", "hs_remove", "HS", "m-2", "2026-11-02T10:00:00Z", "hs_remove", 9000),  # disputed
    ("nv-0", "no_violation", "NONE", "m-1", "2026-11-03T10:00:00Z", "no_violation", 10000),
    ("nv-1", "no_violation", "NONE", "m-1", "2026-11-03T10:00:00Z", "no_violation", 11000),
    ("nv-2", "no_violation", "NONE", "m-1", "2026-11-03T10:00:00Z", "sp_reduce", 12000),
    ("nv-3", "no_violation", "NONE", "m-1", "2026-11-03T10:00:00Z", None, 0),  # open
    ("old-0", "legacy_label", "OLD", "m-3", "2026-11-03T10:00:00Z", "no_violation", 13000),
]


def known_set(ws: Workspace, folder: Path, weights: dict | None = WEIGHTS) -> Workspace:
    """Import the known batch into ``ws`` (which has the demo pack) and record its verdicts;
    ``hs-2`` is disputed by a second reviewer's planted verdict."""
    records = []
    for case_id, label, policy, moderator, decided_at, _final, _ms in CASES:
        rec = case_record(case_id, "text", [], tags=[])
        rec["decision"] = {
            "label": label,
            "policy": policy,
            "moderator_id": moderator,
            "queue": "q-main",
            "decided_at": decided_at,
        }
        records.append(rec)
    write_batch(folder, records, batch_id="known")
    header = batch_header("known", market="DE")
    if weights is not None:
        header["sampling_weights"] = weights
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    ws.batches.import_batch(folder)
    for case_id, _label, _policy, _moderator, _at, final, ms in CASES:
        if final is None:
            continue
        details = {"rca_reason": "frontline_error"} if case_id == "vh-5" else {}
        record(ws, case_id, final, time_on_case_ms=ms, **details)
    db = ws.database_for_tests()
    db.execute(
        "INSERT INTO verdicts (id, case_id, reviewer_id, role, label, citations, created_at)"
        " VALUES ('planted-1', 'hs-2', 'other-reviewer', 'sme', 'no_violation', '[]',"
        " '2026-11-04T09:00:00Z')"
    )
    return ws
