"""The `lessons` command line: thin click commands over the service functions in graph/ and ingest/.

Human-readable tables by default, `--json` for machines. Errors print `Error: ...` with a
hint and exit with status 1.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from lessons.cli.insights import export_command, insights_group, print_store_insights
from lessons.cli.learning import (
    action_command,
    cause_command,
    close_command,
    experiment_command,
    lesson_command,
    practice_command,
    recurrence_command,
)
from lessons.cli.recognize import (
    explain_command,
    print_recognition,
    recognize_command,
    unmerge_command,
)
from lessons.cli.serve import mcp_command, serve_command
from lessons.cli.session import Session, echo_json, open_session
from lessons.graph.errors import LessonsError, StoreUnavailableError
from lessons.graph.reads import FailureContext, Source, get_failure
from lessons.graph.recognize import RecognizeQuery, recognize
from lessons.graph.search import SearchHit, search
from lessons.graph.settings import Settings
from lessons.graph.store import NEO4J_SCHEMES, GraphStore, SqliteStore
from lessons.graph.store.sqlite import sqlite_path_from_url
from lessons.graph.transfer import copy_graph
from lessons.ingest.keymaps import KeyMap, load_keymap
from lessons.ingest.parsers import FORMATS
from lessons.ingest.pipeline import FileResult, FileStatus, IngestReport, discover, ingest
from lessons.ingest.record import record_json_schema

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples" / "postmortems"
# A bulk import is batch work: it runs at this lower CPU priority, so an API server or a
# search on the same machine keeps answering quickly; on an idle machine it costs nothing.
INGEST_NICENESS = 10
DEMO_QUESTIONS = (
    "checkout requests time out because the database has no free connections",
    "users cannot reach the site after a DNS change",
)


class LessonsGroup(click.Group):
    """Turns `LessonsError` into `Error: <message>` plus its hint, with exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LessonsError as e:
            message = f"{e}\n{e.hint}" if e.hint else str(e)
            raise click.ClickException(message) from e


def _out() -> Console:
    return Console(soft_wrap=True)


@click.group(cls=LessonsGroup)
@click.option(
    "--store",
    metavar="URL",
    help="Graph store: sqlite:///file.db, a file path, or neo4j://host:7687. "
    "Default: $LESSONS_STORE, else a SQLite file in your data directory.",
)
@click.version_option(version("lessons"), prog_name="lessons")
@click.pass_context
def cli(ctx: click.Context, store: str | None) -> None:
    """Has this failed before, and what did we learn?

    A knowledge graph of failures, their causes, experiments, lessons and adopted practices.

    \b
    Example:
      lessons ingest postmortems/
      lessons search "checkout times out, database connections exhausted"
    """
    session = open_session(Settings.from_env(store_url=store))
    ctx.obj = session
    ctx.call_on_close(session.close)


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what each document says (records as JSON with --json); write nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--format",
    "stdin_format",
    type=click.Choice(sorted(FORMATS)),
    default="md",
    show_default=True,
    help="Format of standard input (PATH '-').",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own field map for JSON and YAML: `their.key: our_field` lines (see docs/format.md).",
)
@click.pass_obj
def ingest_command(
    session: Session,
    paths: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    stdin_format: str,
    mapping_file: Path | None,
) -> None:
    """Import postmortems: Markdown, YAML, JSON, JSON Lines or CSV files.

    PATHS are files, directories (walked recursively), glob patterns, or '-' for standard
    input. Unchanged files are skipped; a changed file replaces what it said before; a bad
    file is reported and skipped, and the exit status is then 1. JSON and YAML exports of
    incident tools (incident.io, FireHydrant, Rootly, PagerDuty, Jira, Dispatch) and files
    with their own keys are mapped onto the record; what cannot be mapped is kept in the
    failure's notes, with a warning.

    \b
    Examples:
      lessons ingest examples/postmortems/
      lessons ingest --dry-run incident-export.json
      lessons ingest --mapping our-fields.yaml retros/
      lessons ingest --dry-run --json incident.md
      cat incident.md | lessons ingest -
    """
    keymap = _read_mapping(mapping_file) if mapping_file is not None else None
    sources, missing = discover(paths, stdin_format=stdin_format)
    err = Console(stderr=True, soft_wrap=True)
    for path in missing:
        err.print(
            f"[red]failed[/red] {escape(path)}: no such file, directory or matching file",
            highlight=False,
        )
    if dry_run:
        report = _dry_run(session, sources, keymap)
        if as_json:
            for result in report.results:
                for fid, record in zip(result.failure_ids, result.records, strict=True):
                    click.echo(record.model_copy(update={"id": fid}).model_dump_json())
                for warning in result.warnings:
                    err.print(f"warning {result.path}: {warning}", markup=False)
        else:
            _print_dry_run(report)
    else:
        os.nice(INGEST_NICENESS)
        try:
            report = _ingest_with_progress(session, sources, err, keymap=keymap, quiet=as_json)
        except StoreUnavailableError as e:
            raise StoreUnavailableError(
                str(e),
                hint="The documents written before it went away are saved. Once the store is "
                "back, run the same import again to finish.",
            ) from e
    if as_json and not dry_run:
        echo_json(_report_json(report, missing))
    elif not as_json:
        _print_summary(report, missing, err)
    else:
        for result in report.results:
            if result.error:
                err.print(f"failed {result.error}", markup=False)
    if report.interrupted:
        not_reached = len(sources) - len(report.results)
        err.print(
            f"Interrupted: {report.count(FileStatus.IMPORTED)} documents imported and saved, "
            f"{not_reached} not reached; run the same command again to finish.",
            highlight=False,
        )
        raise SystemExit(130)
    if missing or not report.ok:
        raise SystemExit(1)


def _read_mapping(path: Path) -> KeyMap:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.BadParameter(f"cannot read {path}: {e}", param_hint="--mapping") from e
    return load_keymap(text, str(path))


class _NoEmbedder:
    """What a dry run is given instead of the model: it never encodes, so the model and its
    vector cache are not opened."""

    model_name = "none (dry run)"
    dimension = 0

    def encode(self, texts: Any) -> Any:
        raise AssertionError("a dry run does not encode")


def _dry_run(session: Session, sources: list[Any], keymap: KeyMap | None) -> IngestReport:
    """Parse and check `sources` against the configured store, creating nothing: a SQLite
    store that does not exist yet is not created (an empty one in memory stands in for it),
    and neither the model nor the vector cache is opened."""

    def check(store: GraphStore) -> IngestReport:
        return ingest(
            store,
            _NoEmbedder(),
            sources,
            dry_run=True,
            keymap=keymap,
            max_document_mb=session.settings.max_document_mb,
        )

    url = session.settings.store_url
    if not url.startswith(NEO4J_SCHEMES) and not sqlite_path_from_url(url).exists():
        store: GraphStore = SqliteStore(":memory:")
        try:
            return check(store)
        finally:
            store.close()
    return check(session.store)


def _ingest_with_progress(
    session: Session,
    sources: list[Any],
    err: Console,
    *,
    keymap: KeyMap | None,
    quiet: bool,
) -> IngestReport:
    def report_failure(result: FileResult) -> None:
        if quiet:
            return
        if result.error:
            err.print(f"[red]failed[/red] {escape(result.error)}", highlight=False)
        for warning in result.warnings:
            err.print(
                f"[yellow]warning[/yellow] {escape(result.path)}: {escape(warning)}",
                highlight=False,
            )

    store, embedder = session.store, session.embedder
    with _ctrl_c_stops_between_transactions(err) as stop:
        run = partial(
            ingest,
            store,
            embedder,
            sources,
            keymap=keymap,
            stop=stop,
            max_document_mb=session.settings.max_document_mb,
        )
        if not err.is_terminal or len(sources) < 20:
            return run(on_result=report_failure)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("importing", total=len(sources))

            def advance(result: FileResult) -> None:
                report_failure(result)
                progress.advance(task)

            return run(on_result=advance)


@contextmanager
def _ctrl_c_stops_between_transactions(err: Console) -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks the import to stop after its current transaction (what is written
    stays written); a second one stops at once."""
    requested = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        err.print("Stopping after the current transaction (Ctrl-C again to stop now).")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


DRY_RUN_KINDS = (
    ("causes", "causes"),
    ("experiments", "experiments"),
    ("lessons", "lessons"),
    ("practices", "practices"),
    ("actions", "actions"),
    ("components", "components"),
    ("went_well", "went well"),
)
DRY_RUN_ITEMS = 3  # items shown per kind
MERGES_SHOWN = 20  # merges an import lists one by one; the rest are counted


def _print_dry_run(report: IngestReport) -> None:
    """What a dry run understood, document by document: each record's title, date, counts
    per kind and first items, the notes kept and the warnings."""
    for result in report.results:
        if result.status is FileStatus.UNCHANGED:
            click.echo(f"{result.path}: unchanged since it was imported")
            continue
        if result.status is FileStatus.FAILED:
            click.echo(f"{result.path}: not understood: {result.reason}")
            continue
        count = len(result.records)
        click.echo(f"{result.path}: {count} record{'s' if count != 1 else ''}")
        for fid, record in zip(result.failure_ids, result.records, strict=True):
            when = record.occurred_at.strftime("%Y-%m-%d %H:%M %Z") if record.occurred_at else ""
            facts = [f"id {fid}", when or "no date"]
            facts += [f"{k} {v}" for k, v in (("severity", record.severity), ("team", record.team))]
            click.echo(f"  {record.title}")
            click.echo("    " + " · ".join(f for f in facts if not f.endswith(" None")))
            click.echo(
                "    "
                + " · ".join(f"{label} {len(getattr(record, k))}" for k, label in DRY_RUN_KINDS)
            )
            for kind, label in DRY_RUN_KINDS:
                items = [_item_text(kind, item) for item in getattr(record, kind)]
                if items:
                    shown = "; ".join(items[:DRY_RUN_ITEMS])
                    more = len(items) - DRY_RUN_ITEMS
                    click.echo(f"    {label}: {shown}" + (f"; and {more} more" if more > 0 else ""))
            if record.notes:
                lines = len(record.notes.splitlines())
                click.echo(f"    notes: {lines} line{'s' if lines != 1 else ''} kept")
        for warning in result.warnings:
            click.echo(f"  warning: {warning}")


def _item_text(kind: str, item: Any) -> str:
    """One item of a record in a few words: its name or text, and the role or owner."""
    if kind == "causes":
        return f"{item.name} ({item.role.value})"
    if kind == "experiments":
        return f"{item.hypothesis} ({item.outcome.value})"
    if kind == "lessons":
        return str(item.text)
    if kind == "practices":
        return f"{item.name} ({item.status.value})"
    if kind == "actions":
        return f"{item.text} ({item.owner})" if item.owner else str(item.text)
    if kind == "components":
        return str(item.name)
    return str(item)


def _report_json(report: IngestReport, missing: list[str]) -> dict[str, Any]:
    files = [
        {
            "path": r.path,
            "status": r.status.value,
            "failure_ids": r.failure_ids,
            "error": r.error,
            "warnings": r.warnings,
        }
        for r in report.results
    ]
    files += [
        {
            "path": p,
            "status": "failed",
            "failure_ids": [],
            "error": f"{p}: no such file",
            "warnings": [],
        }
        for p in missing
    ]
    counts = {s.value: report.count(s) for s in FileStatus}
    counts["failed"] += len(missing)
    return {
        "counts": counts,
        "texts_embedded": report.texts_embedded,
        "interrupted": report.interrupted,
        "unlinked_recurrences": [[e.source, e.target] for e in report.unlinked],
        "merges": [asdict(m) for m in report.merges],
        "files": files,
    }


def _print_summary(report: IngestReport, missing: list[str], err: Console) -> None:
    for edge in report.unlinked:
        err.print(
            f"[yellow]note[/yellow] {escape(edge.source)} is a recurrence of "
            f"{escape(edge.target)}, "
            "which is not imported yet; the link is made when it is.",
            highlight=False,
        )
    merges = {(m.alias, m.entity_id): m for m in report.merges}  # one line per name merged
    for merge in list(merges.values())[:MERGES_SHOWN]:
        err.print(
            f"[cyan]merged[/cyan] {escape(repr(merge.alias))} into "
            f"{escape(repr(merge.entity_name))} ({escape(merge.entity_id)}); undo with "
            f"`lessons unmerge {escape(merge.entity_id)} {escape(repr(merge.alias))}`",
            highlight=False,
        )
    if len(merges) > MERGES_SHOWN:
        err.print(
            f"[cyan]merged[/cyan] {len(merges) - MERGES_SHOWN} more names into entities named "
            "otherwise: `lessons show ID` lists an entity's aliases, and `--json` every merge.",
            highlight=False,
        )
    parts = [f"{report.count(s)} {s.value}" for s in FileStatus if report.count(s)]
    if missing:
        parts.append(f"{len(missing)} not found")
    click.echo(
        ", ".join(parts or ["nothing to import"]) + f" ({report.texts_embedded} texts embedded)"
    )


@cli.command("search")
@click.argument("text")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def search_command(session: Session, text: str, limit: int, as_json: bool) -> None:
    """Find past failures like TEXT, with their causes, lessons and practices.

    \b
    Example:
      lessons search "payments API returns 503 after a config push"
    """
    hits = search(session.store, session.embedder, text, limit=limit)
    if as_json:
        echo_json([hit.model_dump(mode="json") for hit in hits])
        return
    if not hits:
        click.echo("No similar failures found. Import postmortems with `lessons ingest PATH`.")
        return
    _print_hits(hits)


def _print_hits(hits: list[SearchHit]) -> None:
    out = _out()
    for number, hit in enumerate(hits, start=1):
        failure = hit.context.failure
        when = failure.occurred_at.date().isoformat() if failure.occurred_at else "date unknown"
        out.print(
            f"[bold]{number}. {escape(failure.title)}[/bold]  ({escape(failure.id)}, {when})",
            highlight=False,
        )
        out.print(f"   why: {'; '.join(hit.why)}", markup=False, highlight=False)
        if hit.context.causes:
            causes = ", ".join(f"{c.name} ({c.role})" for c in hit.context.causes[:4])
            out.print(f"   causes: {causes}", markup=False, highlight=False)
        for lesson in hit.context.lessons[:2]:
            out.print(f"   lesson: {lesson.text}", markup=False, highlight=False)
        for practice in hit.context.practices[:3]:
            out.print(
                f"   practice: {practice.name} [{practice.status.value}]",
                markup=False,
                highlight=False,
            )


@cli.command("show")
@click.argument("failure_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show_command(session: Session, failure_id: str, as_json: bool) -> None:
    """Show one failure with its causes, experiments, lessons, practices and actions.

    \b
    Example:
      lessons show 2024-03-12-checkout-db-pool
    """
    context = get_failure(session.store, failure_id)
    if as_json:
        echo_json(context.model_dump(mode="json"))
    else:
        _print_context(context)


def _print_context(context: FailureContext) -> None:
    out = _out()
    failure = context.failure
    out.print(f"[bold]{escape(failure.title)}[/bold]  ({escape(failure.id)})", highlight=False)
    facts = {
        "occurred": failure.occurred_at.isoformat() if failure.occurred_at else None,
        "severity": failure.severity,
        "team": context.team,
        "components": ", ".join(context.components) or None,
        "recurrence of": ", ".join(context.recurrence_of) or None,
        "recurred as": ", ".join(context.recurred_as) or None,
    }
    for key, value in facts.items():
        if value:
            out.print(f"{key}: {value}", markup=False, highlight=False)
    out.print(f"\n{failure.summary}\n", markup=False, highlight=False)
    sections: list[tuple[str, list[tuple[str, Source | None]]]] = [
        ("Causes", [(f"{c.name} ({c.role})", c.source) for c in context.causes]),
        (
            "Experiments",
            [
                (
                    f"{e.hypothesis} -> {e.outcome.value}"
                    + (f": {e.finding}" if e.finding else ""),
                    e.source,
                )
                for e in context.experiments
            ],
        ),
        ("Lessons", [(lesson.text, lesson.source) for lesson in context.lessons]),
        ("Went well", [(text, None) for text in failure.went_well]),
        ("Got lucky", [(text, None) for text in failure.lucky]),
        ("Practices", [(f"{p.name} [{p.status.value}]", None) for p in context.practices]),
        (
            "Actions",
            [
                (f"{a.text} ({a.owner or 'no owner'}, {a.status})", a.source)
                for a in context.actions
            ],
        ),
    ]
    for title, items in sections:
        if items:
            out.print(f"[bold]{title}[/bold]")
            for text, source in items:
                out.print(f"  - {escape(text)}{_where(source)}", highlight=False)


def _where(source: Source | None) -> str:
    """`  [dim](Root cause, lines 12-14)[/dim]`: where the document says so, if known."""
    if source is None:
        return ""
    parts = [source.section] if source.section else []
    if source.lines:
        first, last = source.lines
        parts.append(f"line {first}" if first == last else f"lines {first}-{last}")
    return f"  [dim]({escape(', '.join(parts))})[/dim]" if parts else ""


@cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def stats_command(session: Session, as_json: bool) -> None:
    """Count the nodes and edges in the store.

    \b
    Example:
      lessons --store sqlite:///team.db stats
    """
    stats = session.store.stats()
    if as_json:
        echo_json({"store": session.settings.store_url, "nodes": stats.nodes, "edges": stats.edges})
        return
    table = Table(title=f"lessons store: {session.settings.store_url}")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("count", justify="right")
    for label, count in sorted(stats.nodes.items()):
        table.add_row("node", label, str(count))
    for rel, count in sorted(stats.edges.items()):
        table.add_row("edge", rel, str(count))
    _out().print(table)


@cli.command("init")
@click.pass_obj
def init_command(session: Session) -> None:
    """Create the store's tables, constraints and indexes if missing, and check it answers.

    Every command does this on first use; `init` does only this, e.g. before a deployment.

    \b
    Example:
      LESSONS_STORE=neo4j://localhost:7687 LESSONS_NEO4J_PASSWORD=... lessons init
    """
    session.store.ping()
    click.echo(f"ready: {session.settings.store_url}")


@cli.command("copy")
@click.option(
    "--from",
    "source_url",
    metavar="URL",
    help="Store to copy from (default: --store / $LESSONS_STORE).",
)
@click.option("--to", "target_url", metavar="URL", required=True, help="Store to copy into.")
@click.pass_obj
def copy_command(session: Session, source_url: str | None, target_url: str) -> None:
    """Copy the whole graph, vectors included, into another store (e.g. SQLite to Neo4j).

    Nothing is re-encoded; which document said what is kept, so re-imports into the target
    behave as they would have in the source. A copy that was stopped (Ctrl-C, a lost
    connection) is finished by running the same command again: documents already copied
    are not written twice.

    \b
    Example:
      lessons copy --from sqlite:///lessons.db --to neo4j://db.internal:7687
    """
    source = open_session(
        replace(session.settings, store_url=source_url or session.settings.store_url)
    )
    target = open_session(replace(session.settings, store_url=target_url))
    try:
        report = copy_graph(
            source.store,
            target.store,
            on_progress=lambda done: click.echo(f"{done} documents copied", err=True),
        )
    finally:
        source.close()
        target.close()
    already = f" ({report.skipped} were there already)" if report.skipped else ""
    click.echo(
        f"copied {report.documents} documents{already}, {report.nodes} nodes and "
        f"{report.edges} edges to {target_url}"
    )


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the canonical postmortem record (docs/format.md).

    \b
    Example:
      lessons schema > postmortem-record.schema.json
    """
    click.echo(record_json_schema(), nl=False)


@cli.command("demo")
@click.option(
    "--examples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help=f"Folder of postmortems to import (default: {EXAMPLES_DIR}).",
)
@click.option(
    "--serve",
    "serve_port",
    type=click.IntRange(1, 65535),
    default=None,
    metavar="PORT",
    help="Then serve the demo graph's web page on http://127.0.0.1:PORT/ until Ctrl-C.",
)
@click.pass_obj
def demo_command(session: Session, examples: Path | None, serve_port: int | None) -> None:
    """Import the example postmortems into a temporary store, ask two questions and show
    the insights; with --serve, then open the demo graph in the web page.

    \b
    Examples:
      lessons demo
      lessons demo --serve 8000
    """
    folder = examples or EXAMPLES_DIR
    if not folder.is_dir():
        raise click.ClickException(
            f"no example postmortems at {folder}\nRun the demo from a clone of the repository "
            "or pass --examples FOLDER."
        )
    workdir = Path(tempfile.mkdtemp(prefix="lessons-demo-"))
    demo = open_session(
        Settings(
            store_url=str(workdir / "demo.sqlite3"),
            embed_model=session.settings.embed_model,
            embed_runtime=session.settings.embed_runtime,
            cache_dir=session.settings.cache_dir,
        )
    )
    try:
        sources, _ = discover([str(folder)])
        report = ingest(demo.store, demo.embedder, sources)
        click.echo(f"Imported {report.count(FileStatus.IMPORTED)} postmortems from {folder}.")
        for result in report.results:
            if result.error:
                click.echo(f"failed {result.error}")
        for question in DEMO_QUESTIONS:
            click.echo(f"\n$ lessons recognize {question!r} --limit 3")
            query = RecognizeQuery(description=question)
            print_recognition(recognize(demo.store, demo.embedder, query, limit=3))
        stats = demo.store.stats()
        click.echo(f"\nThe demo graph: {stats.total_nodes} nodes, {stats.total_edges} edges.")
        click.echo("\n$ lessons insights all --limit 5")
        print_store_insights(demo.store, limit=5)
        if serve_port is not None:
            serve_demo(demo, serve_port)
    finally:
        demo.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if not report.ok:
        raise SystemExit(1)


def serve_demo(demo: Session, port: int) -> None:
    """Serve the demo's store and model on loopback until Ctrl-C."""
    import uvicorn

    from lessons.api.app import create_app
    from lessons.api.settings import ApiSettings

    app = create_app(ApiSettings(lessons=demo.settings), store=demo.store, embedder=demo.embedder)
    click.echo(f"\nThe demo graph's web page: http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


for command in (
    recognize_command,
    explain_command,
    cause_command,
    experiment_command,
    lesson_command,
    practice_command,
    action_command,
    close_command,
    recurrence_command,
    unmerge_command,
    insights_group,
    export_command,
    serve_command,
    mcp_command,
):
    cli.add_command(command)
