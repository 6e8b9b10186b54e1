"""Commands that record what was worked out and learned about a failure, one fact at a time:
`cause`, `experiment`, `lesson`, `practice`, `action` and `recurrence`.

They call the same service functions as the HTTP API (`lessons.graph.facts`). What they
write belongs to no document, so re-importing a postmortem never removes it.
"""

from __future__ import annotations

from datetime import date, datetime

import click

from lessons.cli.session import Session
from lessons.graph.facts import (
    add_action,
    add_cause,
    add_experiment,
    add_lesson,
    add_practice,
    add_recurrence,
    update_action,
)
from lessons.graph.inputs import (
    ActionChanges,
    ActionDraft,
    CauseLink,
    ExperimentDraft,
    LessonDraft,
    PracticeLink,
    RecurrenceLink,
)
from lessons.graph.models import CauseRole, CauseStatus, ExperimentOutcome, PracticeStatus


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command("cause")
@click.argument("failure_id")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in CauseRole]), default="root")
@click.option(
    "--status",
    type=click.Choice([s.value for s in CauseStatus]),
    default="proposed",
    show_default=True,
    help="proposed: a hypothesis to test; accepted or rejected once the evidence is in.",
)
@click.option("--evidence", help="Why it is accepted or rejected.")
@click.pass_obj
def cause_command(
    session: Session, failure_id: str, name: str, role: str, status: str, evidence: str | None
) -> None:
    """Add a cause to a failure, or change its role, status and evidence.

    NAME is a cause's name (a new one, or one another failure has) or its id. Competing
    hypotheses live side by side as `proposed` until the evidence accepts or rejects them;
    `lessons explain` shows where each stands.

    \b
    Examples:
      lessons cause inc-42 "Connection leak on exception path"
      lessons cause inc-42 cause:flash-sale-traffic-spike --status rejected \\
          --evidence "same traffic last week without errors"
    """
    link = CauseLink(name=name, role=CauseRole(role), status=CauseStatus(status), evidence=evidence)
    view = add_cause(session.store, session.embedder, failure_id, link)
    click.echo(
        f"{failure_id}: {view.name} ({view.id}) is a {view.role} cause, {view.status.value}."
    )


@click.command("experiment")
@click.argument("failure_id")
@click.argument("hypothesis")
@click.option(
    "--outcome",
    type=click.Choice([o.value for o in ExperimentOutcome]),
    default="inconclusive",
    show_default=True,
)
@click.option("--method", help="How it was tested.")
@click.option("--finding", help="What the test showed.")
@click.option("--tested", "tested_causes", multiple=True, help="A cause it tested (repeat).")
@click.pass_obj
def experiment_command(
    session: Session,
    failure_id: str,
    hypothesis: str,
    outcome: str,
    method: str | None,
    finding: str | None,
    tested_causes: tuple[str, ...],
) -> None:
    """Record an experiment run while making sense of a failure.

    \b
    Example:
      lessons experiment inc-42 "The spike alone exhausted the pool" --outcome refuted \\
          --tested "Flash-sale traffic spike" --finding "same load last week was fine"
    """
    draft = ExperimentDraft(
        hypothesis=hypothesis,
        method=method,
        outcome=ExperimentOutcome(outcome),
        finding=finding,
        tested_causes=list(tested_causes),
    )
    experiment = add_experiment(session.store, session.embedder, failure_id, draft)
    click.echo(f"{experiment.id}: {experiment.outcome.value}.")


@click.command("lesson")
@click.argument("failure_id")
@click.argument("text")
@click.option("--adopted-as", "adopted_as", multiple=True, help="A practice it became (repeat).")
@click.pass_obj
def lesson_command(
    session: Session, failure_id: str, text: str, adopted_as: tuple[str, ...]
) -> None:
    """Record what a failure taught, and the practices it became.

    \b
    Example:
      lessons lesson inc-42 "Pool saturation warns before errors do" \\
          --adopted-as "Connection pool saturation alerting"
    """
    draft = LessonDraft(text=text, adopted_as=list(adopted_as))
    lesson = add_lesson(session.store, session.embedder, failure_id, draft)
    click.echo(f"{lesson.id}: recorded.")


@click.command("practice")
@click.argument("failure_id")
@click.argument("name")
@click.option(
    "--status",
    type=click.Choice([s.value for s in PracticeStatus]),
    help="Default: adopted for a new practice; an existing one keeps its status.",
)
@click.option("--adopted-at", type=click.DateTime(["%Y-%m-%d"]), help="When it took effect.")
@click.option("--addresses", multiple=True, help="A cause it addresses (repeat).")
@click.option("--lesson", "lesson_id", help="The lesson of the failure it was adopted as.")
@click.option("--description", help="What the practice is.")
@click.pass_obj
def practice_command(
    session: Session,
    failure_id: str,
    name: str,
    status: str | None,
    adopted_at: datetime | None,
    addresses: tuple[str, ...],
    lesson_id: str | None,
    description: str | None,
) -> None:
    """Adopt a practice after a failure, and the causes it addresses; for a practice that
    exists, change its status (proposed, adopted, verified, retired) and adoption date.

    Whether it then kept the failure from coming back is in `lessons insights practices`.

    \b
    Example:
      lessons practice inc-42 "Pre-peak load testing" --adopted-at 2026-03-01 \\
          --addresses "Database connection pool exhausted"
    """
    link = PracticeLink(
        name=name,
        description=description,
        status=PracticeStatus(status) if status else None,
        adopted_at=_day(adopted_at),
        lesson_id=lesson_id,
        addresses=list(addresses),
    )
    practice = add_practice(session.store, session.embedder, failure_id, link)
    click.echo(f"{practice.id}: {practice.status.value}.")


@click.command("action")
@click.argument("failure_id")
@click.argument("text")
@click.option("--owner", help="Who does it.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), help="When it is due.")
@click.option("--status", default="open", show_default=True)
@click.option("--implements", help="The practice it puts in place.")
@click.pass_obj
def action_command(
    session: Session,
    failure_id: str,
    text: str,
    owner: str | None,
    due: datetime | None,
    status: str,
    implements: str | None,
) -> None:
    """Add a follow-up item to a failure, with its owner and due date.

    \b
    Example:
      lessons action inc-42 "Alert at 80% pool use" --owner ana --due 2026-12-15 \\
          --implements "Connection pool saturation alerting"
    """
    draft = ActionDraft(text=text, owner=owner, due=_day(due), status=status, implements=implements)
    action = add_action(session.store, session.embedder, failure_id, draft)
    click.echo(f"{action.id}: {action.status}.")


@click.command("close")
@click.argument("action_id")
@click.option("--status", default="done", show_default=True, help="What the action became.")
@click.pass_obj
def close_command(session: Session, action_id: str, status: str) -> None:
    """Close a follow-up action (or set another status); `lessons show` lists action ids.

    \b
    Example:
      lessons close inc-42/action-1
      lessons close inc-42/action-2 --status "won't do"
    """
    action = update_action(session.store, session.embedder, action_id, ActionChanges(status=status))
    click.echo(f"{action.id}: {action.status}.")


@click.command("recurrence")
@click.argument("failure_id")
@click.option("--of", "earlier", required=True, help="The earlier failure it repeats.")
@click.pass_obj
def recurrence_command(session: Session, failure_id: str, earlier: str) -> None:
    """Link a failure as a recurrence of an earlier one (the same pattern came back).

    \b
    Example:
      lessons recurrence inc-57 --of inc-42
    """
    add_recurrence(session.store, failure_id, RecurrenceLink(of=earlier))
    click.echo(f"{failure_id} is a recurrence of {earlier}.")
