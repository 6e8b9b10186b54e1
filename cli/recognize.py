"""Recognition and sensemaking commands: `recognize` (has this failed before?), `explain`
(why did it happen, what did it lead to) and `unmerge` (undo an entity merge)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import click
from rich.console import Console
from rich.markup import escape

from lessons.cli.remote import recognize_remotely
from lessons.cli.session import Session, echo_json
from lessons.graph.reads import FailureContext
from lessons.graph.recognize import Recognition, RecognizeQuery, Verdict, recognize, record
from lessons.graph.resolution import unmerge
from lessons.graph.sensemaking import explain, suggest_causes, to_dot, to_text

VERDICT_STYLE = {
    Verdict.LIKELY_RECURRENCE: "bold red",
    Verdict.RELATED: "bold yellow",
    Verdict.NEW: "bold green",
}


@click.command("recognize")
@click.argument("text", required=False)
@click.option("--file", "from_file", type=click.File("r"), help="Read the description from a file.")
@click.option("--title", help="One line saying what broke.")
@click.option("--component", "components", multiple=True, help="An affected component (repeat).")
@click.option("--cause", "causes", multiple=True, help="A suspected cause (repeat).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat).")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--record", "record_it", is_flag=True, help="Store this failure in the graph.")
@click.option(
    "--confirm",
    metavar="ID",
    help="With --record: link the new failure as a recurrence of past failure ID.",
)
@click.option(
    "--server",
    metavar="URL",
    envvar="LESSONS_API_URL",
    help="Ask the `lessons serve` at URL instead of opening the store ($LESSONS_API_URL; "
    "its key from $LESSONS_API_KEY). Not with --record.",
)
@click.pass_obj
def recognize_command(
    session: Session,
    text: str | None,
    from_file: TextIO | None,
    title: str | None,
    components: tuple[str, ...],
    causes: tuple[str, ...],
    tags: tuple[str, ...],
    limit: int,
    as_json: bool,
    record_it: bool,
    confirm: str | None,
    server: str | None,
) -> None:
    """Has this failed before? Match a new failure against the past ones.

    The description comes from TEXT, --file, or standard input ('-' or nothing, when piped).
    Prints the most similar past failures with why they match, what caused them, what was
    tried and learned, which practices were adopted, and a verdict: likely recurrence,
    related, or new.

    With --record the failure is stored; confirm a match with --confirm ID, or answer the
    prompt on a terminal, to link it as a recurrence of that failure.

    With LESSONS_API_URL set (or --server), a running `lessons serve` answers: it has the
    model and the search indexes loaded, so the answer takes one request at any size. A
    command that records answers from the store itself.

    \b
    Examples:
      lessons recognize "checkout times out, database connections exhausted"
      lessons recognize --file incident.txt --component checkout-api --json
      pbpaste | lessons recognize --record
    """
    if confirm and not record_it:
        raise click.UsageError("--confirm links the recorded failure: add --record.")
    description = _description(text, from_file)
    try:
        query = RecognizeQuery(
            title=title,
            description=description,
            components=list(components),
            causes=list(causes),
            tags=list(tags),
        )
    except ValueError as e:
        raise click.UsageError("describe the failure: give TEXT, --file or --title.") from e
    if server and not record_it:
        key = os.environ.get("LESSONS_API_KEY")
        result = recognize_remotely(server, key, query, limit=limit)
    else:
        result = recognize(session.store, session.embedder, query, limit=limit)
    if as_json:
        recorded = _record(session, query, result, confirm, interactive=False, record_it=record_it)
        echo_json(
            {
                **result.model_dump(mode="json"),
                "recorded": recorded.model_dump(mode="json") if recorded else None,
            }
        )
        return
    print_recognition(result)
    recorded = _record(
        session, query, result, confirm, interactive=sys.stdin.isatty(), record_it=record_it
    )
    if recorded is not None:
        link = f", a recurrence of {recorded.recurrence_of[0]}" if recorded.recurrence_of else ""
        click.echo(f"\nRecorded as {recorded.failure.id}{link}.")


def _description(text: str | None, from_file: TextIO | None) -> str:
    if text is not None and text != "-":
        return text
    if from_file is not None:
        return str(from_file.read())
    if text == "-" or not sys.stdin.isatty():
        return sys.stdin.read()
    return ""


def _record(
    session: Session,
    query: RecognizeQuery,
    result: Recognition,
    confirm: str | None,
    *,
    interactive: bool,
    record_it: bool,
) -> FailureContext | None:
    """Store the failure when asked, linked to the match the user confirms (if any). On a
    terminal the user is asked whenever there are matches, whatever the verdict: a verdict of
    `new` can sit over a right first match (it is tuned to flag few false recurrences)."""
    if not record_it:
        return None
    if confirm is None and interactive and result.matches:
        choices = [str(n) for n in range(1, len(result.matches) + 1)]
        answer = click.prompt(
            "Is it a recurrence of one of these? Number, or n for none",
            type=click.Choice([*choices, "n"]),
            default="n",
        )
        if answer != "n":
            confirm = result.matches[int(answer) - 1].context.failure.id
    return record(session.store, session.embedder, query, recurrence_of=confirm)


def print_recognition(result: Recognition) -> None:
    """The verdict, then each match with its evidence and what it taught."""
    out = Console(soft_wrap=True)
    verdict = f"[{VERDICT_STYLE[result.verdict]}]{result.verdict.value.upper()}[/]"
    if result.matches:  # the verdict is read from the most confident match, not the first
        confidences = [m.confidence for m in result.matches]
        decisive = confidences.index(max(confidences)) + 1
        verdict += f" (most confident: match {decisive}, {result.confidence:.2f})"
    out.print(verdict, highlight=False)
    if not result.matches:
        out.print("No past failures yet. Import postmortems with `lessons ingest PATH`.")
        return
    for number, match in enumerate(result.matches, start=1):
        failure = match.context.failure
        when = failure.occurred_at.date().isoformat() if failure.occurred_at else "date unknown"
        out.print(
            f"\n[bold]{number}. {escape(failure.title)}[/bold]  ({escape(failure.id)}, {when}, "
            f"confidence {match.confidence:.2f})",
            highlight=False,
        )
        lines = [f"why: {'; '.join(match.why)}"]
        if match.passage:
            lines.append(f'matched: "{match.passage}"')
        if match.context.causes:
            lines.append(
                "causes: " + ", ".join(f"{c.name} ({c.role})" for c in match.context.causes)
            )
        lines += [f"tried: {e.hypothesis} -> {e.outcome.value}" for e in match.context.experiments]
        lines += [f"lesson: {lesson.text}" for lesson in match.context.lessons[:3]]
        lines += [
            f"practice: {p.name} [{p.status.value}"
            + (f" since {p.adopted_at}" if p.adopted_at else "")
            + "]"
            for p in match.context.practices
        ]
        for line in lines:
            out.print(f"   {line}", markup=False, highlight=False)


@click.command("unmerge")
@click.argument("entity_id")
@click.argument("alias")
@click.pass_obj
def unmerge_command(session: Session, entity_id: str, alias: str) -> None:
    """Undo an entity merge: ALIAS becomes an entity of its own again.

    Import merges names of causes, components, practices and teams that mean the same
    thing into one entity (`lessons show` lists its aliases). When a merge is wrong, this
    splits ALIAS off ENTITY_ID; the failures that used that name point at the new entity,
    and later imports keep them apart.

    \b
    Example:
      lessons unmerge cause:db-connection-pool-exhausted "database max connections reached"
    """
    split = unmerge(session.store, session.embedder, entity_id, alias)
    click.echo(f"{alias!r} is now {split.id}, apart from {entity_id}.")


@click.command("explain")
@click.argument("failure_id")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="A readable tree, JSON for tools, or Graphviz DOT.",
)
@click.option("--suggest", is_flag=True, help="Also suggest causes seen in similar failures.")
@click.pass_obj
def explain_command(session: Session, failure_id: str, output: str, suggest: bool) -> None:
    """Show why a failure happened and what it led to, as a tree.

    Its causes (root, trigger, contributing) with the experiments that tested them and the
    practices that address them; its lessons with the practices they became and the actions
    that implement them; its recurrences. With --suggest, causes it does not have yet that
    the most similar past failures had, to test next.

    \b
    Examples:
      lessons explain 2023-11-24-checkout-db-pool-black-friday --suggest
      lessons explain 2023-02-14-checkout-db-pool --format dot | dot -Tsvg > why.svg
    """
    explanation = explain(session.store, failure_id)
    suggestions = suggest_causes(session.store, session.embedder, failure_id) if suggest else []
    if output == "json":
        data = explanation.model_dump(mode="json")
        if suggest:
            data["suggested_causes"] = [s.model_dump(mode="json") for s in suggestions]
        echo_json(data)
        return
    click.echo(to_dot(explanation) if output == "dot" else to_text(explanation))
    if suggest and output == "text":
        click.echo("\ncauses to consider (from similar failures):")
        for suggestion in suggestions:
            click.echo(
                f"  {suggestion.name} (score {suggestion.score:.2f}; "
                f"seen in {', '.join(suggestion.seen_in)})"
            )
        if not suggestions:
            click.echo("  none: the similar failures have no causes this one lacks")
