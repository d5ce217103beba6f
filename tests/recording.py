"""Recording verdicts in tests through the Workspace, under the domain rules."""

from __future__ import annotations

from collections.abc import Sequence

from qa_desktop.core.api import Citation, VerdictDraft, VerdictEvent
from qa_desktop.core.workspace import Workspace


def supporting_citation(ws: Workspace, case_id: str, label: str) -> tuple[Citation, ...]:
    """A citation of the first section that supports ``label`` in the case's guideline
    (none for a label that does not enforce, or that no section supports)."""
    case = ws.queue.case(case_id)
    if case is None:
        return ()
    labels = {lab.id: lab for lab in ws.guidelines.labels_for(case)}
    if label not in labels or not labels[label].enforces:
        return ()
    guideline = ws.guidelines.for_case(case)
    for section in guideline.sections:
        if label in section.labels and section.status != "retired":
            return (ws.verdicts.citation(case_id, section.id),)
    return ()


def record(
    ws: Workspace,
    case_id: str,
    label: str,
    citations: Sequence[Citation] = (),
    notes: str = "",
    time_on_case_ms: int = 0,
    **details: object,
) -> VerdictEvent:
    """Record ``label`` on a case as the local reviewer through ``ws.verdicts.record``.

    A test that names no citation for an enforcing label cites the first section that
    supports it, as a reviewer would; pass citations to test the rule itself.
    """
    cited = tuple(citations) or supporting_citation(ws, case_id, label)
    draft = VerdictDraft(label, cited, notes, **details)  # type: ignore[arg-type]
    return ws.verdicts.record(case_id, draft, time_on_case_ms=time_on_case_ms)
