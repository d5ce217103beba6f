"""The payload kinds a bundle may carry, and how each is written, verified and merged.

Every bundle is the same signed BagIt bag (:mod:`..export` writes it, :mod:`..verify`
checks the archive, the signature, every hash and bag-info.txt); what its ``data/`` folder
holds depends on its ``Bundle-Kind``. Each kind is one module here that defines one
:class:`PayloadKind`, listed once in :data:`KINDS`:

- ``verdicts`` (:mod:`.verdicts`): verdict events, their chain checkpoint, evidence files;
  signed by reviewers and leads; merged as a set union of events by id.
- ``case-batch`` (:mod:`.case_batches`): a case batch signed by its issuer (or, carrying
  an async calibration session, by a lead); imported by ``batches.import_batch``, not
  merged here.
- ``calibration`` (:mod:`.calibration`, format version 2): a participant's async session
  votes; each attached to its session once, or kept aside until the session arrives.
- ``quiz-attempts`` (:mod:`.quiz_attempts`): a reviewer's submitted quiz attempts, imported
  by ``ws.quizzes.import_attempts`` (checked against the quizzes the lead shipped).

A kind gives its writer, a ``read`` hook that checks its payload once the generic checks
passed (and returns the :class:`VerifiedBundle`), optional extra bag-info.txt rules, and,
if bundles of the kind are merged by ``import_bundle``, ``plan_merge`` and ``apply_merge``.
Adding a kind (say, quiz attempts) is one new module and one line in :data:`KINDS`::

    # bundles/payloads/quiz_attempts.py
    def export_attempts(db, identity, out_dir) -> Path: ...      # signs via export.build_bag
    def read_attempts(bag: SignedBag) -> VerifiedBundle:
        lines = bag.files["data/attempts.jsonl"].splitlines()   # check them, or
        ...                                                     # raise BundleRejected
        return bag.verified(payload={"attempts.jsonl": ...})
    def plan_attempts(db, bundle, logged) -> MergePlan: ...
    def apply_attempts(db, bundle, plan) -> None: ...

    QUIZ_ATTEMPTS = PayloadKind(
        name="quiz-attempts", signer_roles=(KeyRole.REVIEWER,), write=export_attempts,
        read=read_attempts, plan_merge=plan_attempts, apply_merge=apply_attempts,
    )

    # here
    KINDS = _registry(VERDICTS, CASE_BATCHES, QUIZ_ATTEMPTS)

Looking a kind up::

    kind = payload_kind("verdicts")      # ValueError for an unknown kind
    kind.signer_roles                    # ("reviewer", "lead")
"""

from __future__ import annotations

from .calibration import CALIBRATION
from .case_batches import CASE_BATCHES
from .kind import MergePlan, PayloadKind, SignedBag, VerifiedBundle
from .quiz_attempts import QUIZ_ATTEMPTS
from .verdicts import VERDICTS

__all__ = [
    "KINDS",
    "MergePlan",
    "PayloadKind",
    "SignedBag",
    "VerifiedBundle",
    "payload_kind",
]


def _registry(*kinds: PayloadKind) -> dict[str, PayloadKind]:
    registry: dict[str, PayloadKind] = {}
    for kind in kinds:
        if kind.name in registry:
            raise ValueError(f"two payload kinds are named {kind.name!r}")
        registry[kind.name] = kind
    return registry


KINDS: dict[str, PayloadKind] = _registry(VERDICTS, CASE_BATCHES, CALIBRATION, QUIZ_ATTEMPTS)
"""Every payload kind, by its ``Bundle-Kind`` name."""


def payload_kind(name: str) -> PayloadKind:
    """The payload kind called ``name``; ValueError if there is none."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown bundle kind {name!r}") from None
