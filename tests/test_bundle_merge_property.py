"""Property: however events are split into bundles and in whatever order (with repeats)
those bundles are imported, every importer ends with the same verdict table."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import bundles
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record

LABELS = ("vh_remove", "no_violation", "sp_reduce")
CASES = 3

verdict = st.tuples(st.integers(0, CASES - 1), st.sampled_from(LABELS))
groups = st.lists(st.lists(verdict, min_size=1, max_size=3), min_size=1, max_size=3)


def table(ws: Workspace) -> list[tuple]:
    """Every verdict row, full, sorted."""
    return sorted(
        tuple(sorted(r.items())) for r in ws.database_for_tests().query("SELECT * FROM verdicts")
    )


def export_groups(ws: Workspace, plan: list[list[tuple[int, str]]], out: Path) -> list[bytes]:
    """Record each group of verdicts then export it: one bundle per group."""
    identity = ws.trust.identity(PASSPHRASE)
    found = []
    for group in plan:
        for case, label in group:
            record(ws, f"t-{case}", label)
        result = ws.bundles.export(identity, out)
        assert result is not None
        found.append(result.path.read_bytes())
    return found


@settings(max_examples=15, deadline=None)
@given(
    plans=st.lists(groups, min_size=1, max_size=2),
    data=st.data(),
)
def test_any_split_any_order_any_repeats_gives_one_verdict_table(
    plans: list[list[list[tuple[int, str]]]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # conftest's fast_kdf holds for every example
        root = Path(tmp)
        signers = [make_workspace(root, name, CASES) for name in ("Rita", "Omar")[: len(plans)]]
        importers = [make_workspace(root, name, CASES) for name in ("Lena", "Lars")]
        try:
            for importer in importers:
                for signer in signers:
                    introduce(importer, signer)
            made = [
                b
                for signer, plan in zip(signers, plans, strict=True)
                for b in export_groups(signer, plan, root / "out")
            ]
            expected = sorted(row for signer in signers for row in table(signer))
            for importer in importers:
                order = data.draw(st.permutations(range(len(made))))
                repeats = data.draw(st.lists(st.integers(0, len(made) - 1), max_size=3))
                sequence = list(order)
                for r in repeats:
                    at = data.draw(st.integers(0, len(sequence)))
                    sequence.insert(at, r)
                for i in sequence:
                    bundles.import_bundle(importer.database_for_tests(), made[i], name=f"{i}.zip")
                assert table(importer) == expected
                assert importer.bundles.audit_problems() == []
        finally:
            for ws in signers + importers:
                ws.close()
