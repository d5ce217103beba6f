"""Quoted guideline text as plain text (issue 14): the training feedback shows a section's
words without markdown's emphasis and heading markers, and never loses anything else."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core.api import VerdictDraft
from qa_desktop.core.plain_text import without_markers

from .factory import PASSPHRASE, case_record, introduce, make_workspace, write_batch

MARKERS = "*_# \t"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("is **age restriction** here", "is age restriction here"),
        ("__bold__ and *this*", "bold and this"),
        ("## VH-2.1 Graphic injury\nbody", "VH-2.1 Graphic injury\nbody"),
        ("vh_remove or vh_age_restrict", "vh_remove or vh_age_restrict"),
        ("5 * 3 * 2 and a**b and #tag", "5 * 3 * 2 and a**b and #tag"),
        ("**not** a threat", "not a threat"),
    ],
)
def test_markers_go_and_the_words_stay(text: str, plain: str) -> None:
    assert without_markers(text) == plain


def _is_subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)


@given(st.text(alphabet=st.sampled_from("ab _*#\n\t.é") | st.characters(), max_size=80))
@settings(max_examples=500, deadline=None)
def test_only_marker_characters_are_ever_dropped(text: str) -> None:
    plain = without_markers(text)
    assert _is_subsequence(plain, text)
    dropped = Counter(text) - Counter(plain)
    assert set(dropped) <= set(MARKERS), dropped


@given(st.text(alphabet=st.characters(blacklist_characters="*_#"), max_size=80))
@settings(max_examples=200, deadline=None)
def test_text_without_marker_characters_is_unchanged(text: str) -> None:
    assert without_markers(text) == text


def test_training_feedback_quotes_sections_without_markdown(tmp_path: Path) -> None:
    """The demo guideline's VH-2.1 says ``**age-restricted**``; a training quiz whose gold
    cites it quotes the section as plain words, built and received alike."""
    lead = make_workspace(tmp_path, "Lead", cases=0)
    records = [case_record("g-1", "text", [], tags=[])]
    lead.batches.import_batch(write_batch(tmp_path / "src", records, batch_id="src"))
    cited = (lead.verdicts.citation("g-1", "VH-2.1"),)
    lead.verdicts.record("g-1", VerdictDraft("vh_age_restrict", cited))
    lead.gold.promote("g-1")
    rae = make_workspace(tmp_path, "Rae", cases=0)
    introduce(rae, lead, role="issuer")
    quiz = lead.quizzes.build("T", mode="training", market="DE", policy="VH", count=1)
    got = rae.quizzes.receive(
        lead.quizzes.ship(quiz.id, lead.trust.identity(PASSPHRASE), tmp_path / "out")
    )
    case = lead.queue.case("g-1")
    assert case is not None
    body = lead.guidelines.for_case(case).section("VH-2.1").body
    assert "**age-restricted**" in body
    for q in (quiz, got):
        [item] = q.items
        assert item.explanation is not None
        [quoted] = item.explanation.sections
        assert quoted.text == body.replace("**", "")
    attempt = rae.quizzes.start(got.id)
    feedback = rae.quizzes.answer(attempt, got.items[0].case_id, "vh_remove")
    assert feedback is not None
    assert "is age-restricted and" in feedback.explanation.sections[0].text
    lead.close()
    rae.close()
