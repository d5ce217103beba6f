"""The line above the case: its id, type, market, warnings, provenance, original decision."""

from __future__ import annotations

import html

from ...core.api import Case, QueueRow


def header_html(case: Case, row: QueueRow | None) -> str:
    """The case header as rich text; every value from a batch file is escaped.

    Escaping means no value can add markup (an ``<img>`` of a file on disk, say).
    """
    e = html.escape
    o = case.original
    tags = ", ".join(case.tags) or "none"
    if row is not None and row.disputed:
        outcome = "disputed: reviewers disagree, nobody has ruled"
    elif row is not None and row.outcome:
        outcome = row.outcome.replace("_", " ")
    else:
        outcome = "not decided"
    provenance = (
        f"batch signed by {e(case.batch_signer)}"
        if case.batch_signer
        else "<span style='color:#b45f06'><b>unsigned batch</b></span>"
    )
    return (
        f"<span style='font-size:large'><b>{e(case.id)}</b></span> · {case.content_type} · "
        f"{e(case.market)} / {e(case.language)} · warnings: <b>{e(tags)}</b> · {provenance}"
        f"<br>Original decision: <b>{e(o.label)}</b> ({e(o.policy)}) by {e(o.moderator_id)}"
        f" in {e(o.queue)} at {e(o.decided_at)} · QA outcome: <b>{outcome}</b>"
    )
