"""Knowledge quizzes: build and ship (lead), take (reviewer), score (lead)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .base import _identity, _run, _tsv, cli

if TYPE_CHECKING:
    from ..core.workspace import Workspace


@cli.group("quiz")
def quiz_group() -> None:
    """Knowledge quizzes from gold cases: training (answers explained) or exam (scored by
    the lead).

    \b
    Example:
      qa-desktop quiz build --name "VH basics" --mode training --market DE --policy VH --count 10
      qa-desktop quiz ship "VH basics" ~/outbox
    """


@quiz_group.command("build")
@click.option("--name", required=True, help="The quiz's name (unique).")
@click.option("--mode", type=click.Choice(["training", "exam"]), required=True)
@click.option("--market", required=True, help="The gold cases' market.")
@click.option("--policy", required=True, help="The gold cases' policy.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many cases.")
@click.option("--pack-version", help="Only gold ruled under this pack version.")
@click.option("--min-difficulty", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--max-difficulty", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option(
    "--pass-mark", type=click.FloatRange(0, 1, min_open=True), default=0.8, show_default=True
)
@click.option("--attempts", type=click.IntRange(min=1), default=1, show_default=True)
@click.pass_context
def quiz_build_command(
    ctx: click.Context,
    name: str,
    mode: str,
    market: str,
    policy: str,
    count: int,
    pack_version: str | None,
    min_difficulty: float,
    max_difficulty: float,
    pass_mark: float,
    attempts: int,
) -> None:
    """Build a quiz from the hardest active gold cases (difficulty: the share of wrong
    votes in calibration); those cases are no longer used as hidden gold.

    \b
    Example:
      qa-desktop quiz build --name DE-VH --mode exam --market DE --policy VH --count 20
    """
    quiz = _run(
        ctx,
        lambda ws: ws.quizzes.build(
            name,
            mode=mode,
            market=market,
            policy=policy,
            count=count,
            pack_version=pack_version,
            min_difficulty=min_difficulty,
            max_difficulty=max_difficulty,
            pass_mark=pass_mark,
            max_attempts=attempts,
        ),
    )
    click.echo(
        f"quiz {quiz.id} {quiz.name!r}: {len(quiz.items)} cases ({quiz.mode}, pass mark"
        f" {quiz.pass_mark:.0%}, {quiz.max_attempts} attempt(s))"
    )


@quiz_group.command("ship")
@click.argument("quiz")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def quiz_ship_command(ctx: click.Context, quiz: str, out_dir: Path) -> None:
    """Sign QUIZ as a case batch for reviewers into OUT_DIR (they trust you as issuer).

    \b
    Example:
      qa-desktop quiz ship DE-VH ~/outbox
    """
    path = _run(ctx, lambda ws: ws.quizzes.ship(quiz, _identity(ws), out_dir))
    click.echo(f"{path}: signed quiz {quiz}")


def _echo_feedback(feedback: Any) -> None:
    mark = "right" if feedback.correct else f"wrong: the ruling is {feedback.explanation.ruling}"
    click.echo(f"{feedback.case_id}: {feedback.answered} is {mark}")
    for section in feedback.explanation.sections:
        click.echo(f"  {section.id} {section.title}: \u201c{section.text}\u201d")
    if feedback.explanation.common_wrong:
        click.echo(f"  the common wrong answer was {feedback.explanation.common_wrong}")
    for note in feedback.explanation.notes:
        click.echo(f"  calibration note: {note}")


@quiz_group.command("take")
@click.argument("quiz")
@click.argument("answers", nargs=-1)
@click.option(
    "--send",
    "send_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Submit and sign your attempts for the lead into this folder.",
)
@click.pass_context
def quiz_take_command(
    ctx: click.Context, quiz: str, answers: tuple[str, ...], send_dir: Path | None
) -> None:
    """Take QUIZ (a received quiz's name, or a shipped quiz .zip to receive first):
    answers as CASE=LABEL. Training quizzes explain each answer.

    \b
    Example:
      qa-desktop quiz take ~/inbox/quiz.zip c-1a2b=vh_remove c-3c4d=no_violation --send ~/outbox
    """
    pairs = []
    for text in answers:
        case_id, sep, label = text.partition("=")
        if not sep:
            raise click.BadParameter(f"{text!r} is not CASE=LABEL", param_hint="ANSWERS")
        pairs.append((case_id.strip(), label.strip()))

    def take(ws: Workspace) -> None:
        name = quiz
        if Path(quiz).is_file():
            name = ws.quizzes.receive(Path(quiz)).id
        found = ws.quizzes.quiz(name)
        attempt = ws.quizzes.start(found.id)
        for case_id, label in pairs:
            feedback = ws.quizzes.answer(attempt, case_id, label)
            if feedback is not None:
                _echo_feedback(feedback)
        if send_dir is None:
            click.echo(f"attempt {attempt}: {len(pairs)} answer(s) recorded")
            return
        score = ws.quizzes.submit(attempt)
        if score is not None:
            click.echo(
                f"score {score.correct}/{score.total}: {'passed' if score.passed else 'not passed'}"
            )
        path = ws.quizzes.export_attempts(_identity(ws), send_dir)
        click.echo(f"{path}: your attempts, signed for the lead")

    _run(ctx, take)


@quiz_group.command("send")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def quiz_send_command(ctx: click.Context, out_dir: Path) -> None:
    """Sign your submitted quiz attempts not sent yet into OUT_DIR, for the lead.

    \b
    Example:
      qa-desktop quiz send ~/outbox
    """
    path = _run(ctx, lambda ws: ws.quizzes.export_attempts(_identity(ws), out_dir))
    click.echo(f"{path}: your attempts, signed for the lead" if path else "nothing to send")


@quiz_group.command("score")
@click.argument("bundles", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sections", is_flag=True, help="Also each attempt's score per guideline section.")
@click.pass_context
def quiz_score_command(ctx: click.Context, bundles: tuple[Path, ...], sections: bool) -> None:
    """Import reviewers' signed attempts (if given), then show who passed what.

    \b
    Example:
      qa-desktop quiz score ~/inbox/attempts-*.zip --sections
    """

    def score(ws: Workspace) -> list[Any]:
        for path in bundles:
            added = ws.quizzes.import_attempts(path)
            click.echo(f"{path.name}: {added} new attempt(s)", err=True)
        return list(ws.quizzes.results())

    results = _run(ctx, score)
    out = _tsv(["reviewer", "quiz", "correct", "total", "score", "result", "submitted_at"])
    for s in results:
        out.writerow(
            [
                s.reviewer,
                s.quiz_name,
                s.correct,
                s.total,
                f"{s.fraction:.3f}",
                "passed" if s.passed else "not passed",
                s.submitted_at or "",
            ]
        )
        if sections:
            for sec in s.by_section:
                out.writerow(["", f"  {sec.section_id}", sec.correct, sec.total, "", "", ""])
