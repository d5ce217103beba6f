"""QA outcome: how the final verdict on a case judges the original frontline decision.

The outcome is derived, never typed. It compares two labels of the guideline pack the
case's batch names: the original frontline label (``cases.orig_label``) and the final label
(for now the local reviewer's effective verdict; later an arbiter's). Each label has an
enforcement action, ranked by strength as in :data:`guidelines.ACTIONS`
(``no_action < reduce_reach < age_restrict < remove``), and a policy.

The rules, first match wins:

1. no final verdict (undecided, or the verdict was retracted) → no outcome (None);
2. the original or the final label is not in the pack → ``unknown_label``;
3. the same label → ``agree``;
4. the final action is weaker than the original's → ``over_enforcement``
   (the frontline did more than the guidelines ask, e.g. remove → age_restrict);
5. the final action is stronger than the original's → ``under_enforcement``
   (e.g. no_action → remove, reduce_reach → remove);
6. equal strength and neither enforces (both ``no_action``) → ``agree``;
7. equal strength, both enforce, different policies → ``wrong_policy``
   (e.g. hs_remove → vh_remove);
8. otherwise — equal strength, same policy, different label → ``wrong_action``
   (e.g. two remove labels of one policy that differ in severity).

So action strength decides first: hs_remove judged as vh_age_restrict is
``over_enforcement``, not ``wrong_policy``. A label's policy is the pack's, not the free-text
``cases.orig_policy``.

The queue computes the same rules in SQL (:func:`outcome_sql`) so that paging and filtering
stay in the database (``cases.QueueRow.outcome``); :func:`qa_outcome` is the Python twin
and the tests hold them equal::

    qa_outcome(labels["vh_remove"], labels["vh_age_restrict"])   # 'over_enforcement'
"""

from __future__ import annotations

from .guidelines import ACTIONS, Label
from .vocab import Outcome

AGREE = Outcome.AGREE
OVER_ENFORCEMENT = Outcome.OVER_ENFORCEMENT
UNDER_ENFORCEMENT = Outcome.UNDER_ENFORCEMENT
WRONG_POLICY = Outcome.WRONG_POLICY
WRONG_ACTION = Outcome.WRONG_ACTION
UNKNOWN_LABEL = Outcome.UNKNOWN_LABEL

OUTCOMES = (AGREE, OVER_ENFORCEMENT, UNDER_ENFORCEMENT, WRONG_POLICY, WRONG_ACTION, UNKNOWN_LABEL)
"""Every QA outcome, in the order reports list them."""


def action_strength(action: str) -> int:
    """The rank of an enforcement action: 0 for ``no_action`` up to 3 for ``remove``."""
    return ACTIONS.index(action)


def qa_outcome(original: Label | None, final: Label | None) -> str:
    """The outcome of judging ``original`` by ``final``; None stands for a label not in the pack.

    The caller handles "no final verdict" (no outcome at all).
    """
    if original is None or final is None:
        return UNKNOWN_LABEL
    if original.id == final.id:
        return AGREE
    before, after = action_strength(original.action), action_strength(final.action)
    if after < before:
        return OVER_ENFORCEMENT
    if after > before:
        return UNDER_ENFORCEMENT
    if not final.enforces:
        return AGREE
    if original.policy != final.policy:
        return WRONG_POLICY
    return WRONG_ACTION


def _strength_sql(alias: str) -> str:
    """A SQL expression ranking ``alias.action`` like :func:`action_strength`."""
    whens = " ".join(f"WHEN '{action}' THEN {rank}" for rank, action in enumerate(ACTIONS))
    return f"(CASE {alias}.action {whens} END)"


def outcome_sql(final_label: str, original: str, final: str) -> str:
    """A SQL CASE expression computing :func:`qa_outcome` inside a query.

    ``final_label`` is the expression of the final label id (NULL when undecided);
    ``original`` and ``final`` are aliases of ``guideline_labels`` rows LEFT JOINed for the
    original and the final label (NULL when the pack lacks the label).
    """
    return f"""(CASE
        WHEN {final_label} IS NULL THEN NULL
        WHEN {original}.id IS NULL OR {final}.id IS NULL THEN '{UNKNOWN_LABEL}'
        WHEN {original}.id = {final}.id THEN '{AGREE}'
        WHEN {_strength_sql(final)} < {_strength_sql(original)} THEN '{OVER_ENFORCEMENT}'
        WHEN {_strength_sql(final)} > {_strength_sql(original)} THEN '{UNDER_ENFORCEMENT}'
        WHEN {final}.action = 'no_action' THEN '{AGREE}'
        WHEN {original}.policy <> {final}.policy THEN '{WRONG_POLICY}'
        ELSE '{WRONG_ACTION}'
    END)"""
