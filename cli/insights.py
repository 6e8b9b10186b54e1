"""`lessons insights ...` and `lessons export`: what the graph says about learning, and the
graph itself for other tools.

Each insight command reads the store's projection (`to_networkx()`), computes one insight
from `lessons.graph.insights` and prints a table, or JSON with `--json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click
import networkx as nx
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lessons.cli.session import Session, echo_json
from lessons.graph import insights
from lessons.graph.export import FORMATS, export_graph, neighbourhood
from lessons.graph.store import GraphStore

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _out() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _as_of(_ctx: click.Context, _param: click.Parameter, value: datetime | None) -> date:
    return value.date() if value else date.today()


def _as_of_option(command: F) -> F:
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        metavar="YYYY-MM-DD",
        callback=_as_of,
        help="The day to ask about (default: today); later failures are left out.",
    )(command)


def _output_options(command: F) -> F:
    """--limit and --json, shared by every insight command."""
    command = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(
        command
    )
    return click.option(
        "--limit",
        default=10,
        show_default=True,
        type=click.IntRange(0),
        callback=lambda ctx, param, value: value or None,  # as everywhere else, None: all
        help="Rows per list, in tables and JSON (0: all).",
    )(command)


def _first(rows: Sequence[T], limit: int | None) -> Sequence[T]:
    return rows if limit is None else rows[:limit]


def _jsonable(value: Any, limit: int | None) -> Any:
    """Dataclasses as dicts, with every list cut to `limit` items (None: all)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), limit) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_jsonable(v, limit) for v in _first(value, limit)]
    return value


def _name(graph: nx.MultiDiGraph, node_id: str) -> str:
    attrs = graph.nodes.get(node_id, {})
    return str(attrs.get("name") or attrs.get("title") or node_id)


def _day(day: date | None) -> str:
    return day.isoformat() if day else "-"


def _row(table: Table, *cells: str) -> None:
    """Add a row whose cells are plain text (never read as rich markup)."""
    table.add_row(*(Text(cell) for cell in cells))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column)
    return table


def _more(out: Console, shown: int, total: int) -> None:
    if total > shown:
        out.print(f"  … {total - shown} more (--limit 0 shows all)")


# -- printing each insight ------------------------------------------------------------------


def print_recurring_causes(
    graph: nx.MultiDiGraph, causes: list[insights.RecurringCause], limit: int | None
) -> None:
    out = _out()
    table = _table(
        "Recurring causes (most failures, then most recent)",
        "cause",
        "failures",
        "last year",
        "last seen",
        "PageRank",
        "addressed by (in force)",
    )
    for c in _first(causes, limit):
        _row(
            table,
            c.name,
            str(c.failure_count),
            str(c.recent_failures),
            _day(c.last_seen),
            f"{c.pagerank:.4f}",
            ", ".join(_name(graph, p) for p in c.addressed_by) or "nothing",
        )
    out.print(table if causes else "No cause is behind more than one failure.")
    _more(out, len(_first(causes, limit)), len(causes))


def print_gaps(graph: nx.MultiDiGraph, gaps: insights.LearningGaps, limit: int | None) -> None:
    out = _out()
    failures = _table(
        "Failures whose lessons led to no practice in force",
        "failure",
        "date",
        "lessons",
        "practices not in force",
    )
    for f in _first(gaps.failures_without_practice, limit):
        _row(
            failures,
            f"{f.title}\n{f.failure_id}",
            _day(f.occurred_at),
            str(len(f.lesson_ids)),
            ", ".join(_name(graph, p) for p in f.practices_not_in_force) or "-",
        )
    causes = _table(
        "Causes behind several failures that no practice in force addresses",
        "cause",
        "failures",
        "practices not in force",
    )
    for c in _first(gaps.unaddressed_causes, limit):
        _row(
            causes,
            c.name,
            str(len(c.failure_ids)),
            ", ".join(_name(graph, p) for p in c.practices_not_in_force) or "-",
        )
    overdue = _table("Overdue action items", "action", "failure", "owner", "due", "days late")
    for a in _first(gaps.overdue_actions, limit):
        _row(
            overdue,
            a.text,
            a.failure_id or "-",
            a.owner or "nobody",
            _day(a.due),
            str(a.days_overdue),
        )
    ownerless = _table("Open action items without an owner", "action", "failure", "due")
    for a in _first(gaps.ownerless_actions, limit):
        _row(ownerless, a.text, a.failure_id or "-", _day(a.due))
    out.print(f"Learning gaps as of {gaps.as_of.isoformat()}")
    for table, rows in (
        (failures, gaps.failures_without_practice),
        (causes, gaps.unaddressed_causes),
        (overdue, gaps.overdue_actions),
        (ownerless, gaps.ownerless_actions),
    ):
        out.print(table if rows else f"{table.title}: none")
        _more(out, len(_first(rows, limit)), len(rows))


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2f}"


def print_practices(result: insights.PracticeEffectiveness, limit: int | None) -> None:
    out = _out()
    table = _table(
        f"Practices in force on {result.as_of.isoformat()}: failures sharing their causes "
        "before and after adoption",
        "practice",
        "adopted",
        "before",
        "after",
        "per year before → after",
        "verdict",
    )
    for e in _first(result.practices, limit):
        _row(
            table,
            e.name,
            _day(e.adopted_at),
            str(len(e.failures_before)),
            str(len(e.failures_after)),
            f"{_rate(e.rate_before)} → {_rate(e.rate_after)}",
            e.verdict,
        )
    out.print(table if result.practices else "No practice in force has an adoption date.")
    _more(out, len(_first(result.practices, limit)), len(result.practices))
    failed = [e for e in result.practices if e.verdict == "recurred"]
    if failed:
        out.print("[bold]Did not prevent a recurrence[/bold] (failures after adoption):")
        for e in _first(failed, limit):
            after = ", ".join(e.failures_after)
            linked = ", ".join(e.recurrences_after)
            out.print(
                f"  - {e.name} (adopted {_day(e.adopted_at)}): {after}"
                + (f"; linked as recurrences: {linked}" if linked else ""),
                markup=False,
            )


def print_clusters(clusters: list[insights.FailureCluster], limit: int | None) -> None:
    out = _out()
    table = _table(
        "Failure clusters (shared causes and components)",
        "cluster",
        "failures",
        "components",
        "members",
    )
    for c in _first(clusters, limit):
        members = ", ".join(c.failure_ids[:4]) + (" …" if len(c.failure_ids) > 4 else "")
        _row(
            table,
            c.label,
            str(len(c.failure_ids)),
            ", ".join(i.split(":", 1)[-1] for i in c.component_ids[:3]),
            members,
        )
    out.print(table if clusters else "No two failures share causes or components.")
    _more(out, len(_first(clusters, limit)), len(clusters))


def print_timing(graph: nx.MultiDiGraph, result: insights.Timing, limit: int | None) -> None:
    out = _out()

    def days(value: float | None) -> str:
        return "-" if value is None else f"{value:g} days"

    out.print(
        f"Median time to adaptation (failure → first practice adopted): "
        f"{days(result.median_days_to_adaptation)}; median recurrence gap: "
        f"{days(result.median_recurrence_gap_days)}"
    )
    causes = _table(
        "Recurring causes: days from the first failure to …",
        "cause",
        "failures",
        "first seen",
        "recurrence",
        "recognised",
        "unrecognised repeats",
        "practice adopted",
    )
    for c in _first(result.causes, limit):
        _row(
            causes,
            c.name,
            str(c.failure_count),
            _day(c.first_seen),
            str(c.days_to_recurrence),
            "-" if c.days_to_recognition is None else str(c.days_to_recognition),
            str(c.unrecognised_repeats),
            ("-" if c.days_to_adaptation is None else str(c.days_to_adaptation))
            + (" (in time)" if c.adapted_before_recurrence else ""),
        )
    gaps = _table("Recurrences", "failure", "recurrence of", "days between")
    for r in _first(result.recurrences, limit):
        _row(gaps, r.failure_id, r.recurrence_of, str(r.days))
    slow = _table("Slowest adaptations", "failure", "date", "practice", "adopted", "days")
    for a in _first(result.adaptation, limit):
        _row(
            slow,
            a.failure_id,
            _day(a.occurred_at),
            _name(graph, a.practice_id),
            _day(a.adopted_at),
            str(a.days),
        )
    for table, rows in (
        (causes, result.causes),
        (gaps, result.recurrences),
        (slow, result.adaptation),
    ):
        out.print(table if rows else f"{table.title}: none")
        _more(out, len(_first(rows, limit)), len(rows))


def print_all(graph: nx.MultiDiGraph, everything: insights.Insights, limit: int | None) -> None:
    """Every insight, one after the other (also the end of `lessons demo`)."""
    print_recurring_causes(graph, everything.recurring_causes, limit)
    print_gaps(graph, everything.learning_gaps, limit)
    print_practices(everything.practice_effectiveness, limit)
    print_clusters(everything.failure_clusters, limit)
    print_timing(graph, everything.timing, limit)


def print_store_insights(store: GraphStore, limit: int | None) -> None:
    """Every insight on a store's whole graph, as of today."""
    graph = store.to_networkx()
    print_all(graph, insights.all_insights(graph), limit)


# -- commands -------------------------------------------------------------------------------


@click.group("insights")
def insights_group() -> None:
    """What the graph says about learning from failure.

    Recurring causes, learning gaps, whether adopted practices kept failures away, clusters
    of related failures, and how long recognition and adaptation took.

    \b
    Examples:
      lessons insights all
      lessons insights practices --as-of 2025-01-01 --json
    """


@insights_group.command("recurring-causes")
@_as_of_option
@_output_options
@click.pass_obj
def recurring_causes_command(
    session: Session, as_of: date, limit: int | None, as_json: bool
) -> None:
    """Causes behind several failures: how many, how recently, how central.

    \b
    Example:
      lessons insights recurring-causes --limit 5
    """
    graph = session.store.to_networkx()
    causes = insights.recurring_causes(graph, as_of=as_of)
    if as_json:
        echo_json(_jsonable(causes, limit))
    else:
        print_recurring_causes(graph, causes, limit)


@insights_group.command("gaps")
@_as_of_option
@_output_options
@click.pass_obj
def gaps_command(session: Session, as_of: date, limit: int | None, as_json: bool) -> None:
    """Lessons without a practice, unaddressed causes, overdue or ownerless actions.

    \b
    Example:
      lessons insights gaps --as-of 2025-06-30
    """
    graph = session.store.to_networkx()
    gaps = insights.learning_gaps(graph, as_of=as_of)
    if as_json:
        echo_json(_jsonable(gaps, limit))
    else:
        print_gaps(graph, gaps, limit)


@insights_group.command("practices")
@_as_of_option
@_output_options
@click.pass_obj
def practices_command(session: Session, as_of: date, limit: int | None, as_json: bool) -> None:
    """Did adopted practices keep their causes away? Failures before and after adoption.

    \b
    Example:
      lessons insights practices --json
    """
    result = insights.practice_effectiveness(session.store.to_networkx(), as_of=as_of)
    if as_json:
        echo_json(_jsonable(result, limit))
    else:
        print_practices(result, limit)


@insights_group.command("clusters")
@_as_of_option
@_output_options
@click.option("--seed", default=0, show_default=True, help="Seed of the community detection.")
@click.pass_obj
def clusters_command(
    session: Session, as_of: date, limit: int | None, as_json: bool, seed: int
) -> None:
    """Groups of failures that share causes and components, named by their main causes.

    \b
    Example:
      lessons insights clusters --limit 20
    """
    clusters = insights.failure_clusters(session.store.to_networkx(), as_of=as_of, seed=seed)
    if as_json:
        echo_json(_jsonable(clusters, limit))
    else:
        print_clusters(clusters, limit)


@insights_group.command("timing")
@_as_of_option
@_output_options
@click.pass_obj
def timing_command(session: Session, as_of: date, limit: int | None, as_json: bool) -> None:
    """Time to adaptation, recurrence gaps, and when recurring causes were recognised.

    \b
    Example:
      lessons insights timing
    """
    graph = session.store.to_networkx()
    result = insights.timing(graph, as_of=as_of)
    if as_json:
        echo_json(_jsonable(result, limit))
    else:
        print_timing(graph, result, limit)


@insights_group.command("all")
@_as_of_option
@_output_options
@click.pass_obj
def all_command(session: Session, as_of: date, limit: int | None, as_json: bool) -> None:
    """Every insight at once.

    \b
    Example:
      lessons insights all --json > insights.json
    """
    graph = session.store.to_networkx()
    everything = insights.all_insights(graph, as_of=as_of)
    if as_json:
        echo_json(_jsonable(everything, limit))
    else:
        print_all(graph, everything, limit)


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="graphml (Gephi, networkx), json (nodes and edges) or cypher (for an empty Neo4j).",
)
@click.option("--failure", "failure_id", metavar="ID", help="Only this failure's neighbourhood.")
@click.option(
    "--depth",
    default=2,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Hops around --failure (2 reaches failures that share its causes).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="File to write (default: standard output).",
)
@click.pass_obj
def export_command(
    session: Session, fmt: str, failure_id: str | None, depth: int, output: str
) -> None:
    """Export the whole graph, or one failure's neighbourhood, for other tools.

    GraphML opens in Gephi and loads with networkx.read_graphml; the Cypher statements
    rebuild the graph in an empty Neo4j (e.g. `cypher-shell < graph.cypher`).

    \b
    Examples:
      lessons export --format graphml -o lessons.graphml
      lessons export --format cypher --failure 2023-02-14-checkout-db-pool --depth 1
    """
    if failure_id:
        graph = neighbourhood(session.store, failure_id, depth)
    else:
        graph = session.store.to_networkx()
    with click.open_file(output, "w", encoding="utf-8") as out:
        export_graph(graph, fmt, out)
    if output != "-":
        click.echo(
            f"wrote {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges "
            f"to {output} ({fmt})",
            err=True,
        )
