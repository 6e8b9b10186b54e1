"""Every CLI command through click's CliRunner, with the real model and a temporary store."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from lessons.cli import main as cli_main

from .conftest import EXAMPLES, REPO, Neo4jTarget, wipe_neo4j

ONE = EXAMPLES / "2023-02-14-checkout-db-pool.md"


def test_ingest_then_reingest(lessons) -> None:
    first = lessons("ingest", str(EXAMPLES))
    assert first.exit_code == 0, first.output
    assert re.search(r"\b2[0-9] imported\b", first.stdout)
    again = lessons("ingest", str(EXAMPLES))
    assert again.exit_code == 0
    assert "unchanged" in again.stdout and "imported" not in again.stdout


def test_ingest_reports_bad_files_and_exits_1(lessons, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"title": "x",\n "summary": }')
    result = lessons("ingest", str(ONE), str(tmp_path / "bad.json"), str(tmp_path / "missing.md"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.json'}:2: invalid JSON" in result.stderr
    assert "missing.md: no such file" in result.stderr
    assert "1 imported, 1 failed, 1 not found" in result.stdout


def test_ingest_json_report(lessons, tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("")
    result = lessons("ingest", "--json", str(ONE), str(tmp_path / "empty.md"))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["counts"]["imported"] == 1 and report["counts"]["failed"] == 1
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert failed[0]["error"].endswith("empty.md: the file is empty")


def test_dry_run_json_prints_canonical_records_and_writes_nothing(lessons) -> None:
    result = lessons("ingest", "--dry-run", "--json", str(EXAMPLES))
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(list(EXAMPLES.iterdir()))
    assert all(r["id"] and r["title"] and r["summary"] for r in records)
    stats = json.loads(lessons("stats", "--json").stdout)
    assert stats["nodes"] == {}


def test_ingest_from_stdin(lessons) -> None:
    yaml_doc = "id: piped\ntitle: Piped failure\nsummary: Came in through standard input\n"
    result = lessons("ingest", "--format", "yaml", "-", stdin=yaml_doc)
    assert result.exit_code == 0, result.output
    shown = json.loads(lessons("show", "--json", "piped").stdout)
    assert shown["failure"]["title"] == "Piped failure"


def test_search_show_and_stats(lessons) -> None:
    lessons("ingest", str(EXAMPLES))
    hits = json.loads(
        lessons("search", "--json", "--limit", "3", "database connection pool exhausted").stdout
    )
    assert len(hits) == 3
    assert hits[0]["context"]["failure"]["id"] in {
        "2023-02-14-checkout-db-pool",
        "2023-11-24-checkout-db-pool-black-friday",
        "2024-07-02-payments-db-connection-exhaustion",
    }
    human = lessons("search", "database connection pool exhausted")
    assert "why:" in human.stdout and "causes:" in human.stdout

    show = lessons("show", "2023-02-14-checkout-db-pool")
    assert show.exit_code == 0
    for heading in ("Causes", "Experiments", "Lessons", "Practices", "Actions"):
        assert heading in show.stdout
    assert "[adopted]" in show.stdout

    stats = json.loads(lessons("stats", "--json").stdout)
    assert stats["nodes"]["Failure"] == len(list(EXAMPLES.iterdir()))
    assert "Failure" in lessons("stats").stdout


def test_errors_say_what_to_do(lessons) -> None:
    result = lessons("show", "no-such-failure")
    assert result.exit_code == 1
    assert "Error: no node with id 'no-such-failure'" in result.stderr
    assert "lessons search" in result.stderr
    bad_store = CliRunner().invoke(cli_main.cli, ["--store", "mysql://x", "stats"])
    assert bad_store.exit_code == 1
    assert "Error: unknown store URL" in bad_store.stderr


def test_search_on_an_empty_store_says_how_to_fill_it(lessons) -> None:
    result = lessons("search", "anything at all")
    assert result.exit_code == 0
    assert "lessons ingest" in result.stdout


def test_schema_command_matches_the_published_schema(lessons) -> None:
    assert lessons("schema").stdout == (REPO / "docs" / "postmortem-record.schema.json").read_text()


def test_demo_runs_two_questions(lessons) -> None:
    result = lessons("demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("$ lessons recognize") == 2
    assert "LIKELY RECURRENCE" in result.stdout
    assert "Imported" in result.stdout and "1. " in result.stdout


def test_demo_serve_serves_the_demo_graph_on_loopback(
    lessons, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uvicorn.run` is replaced by a client of the app it is given, which reads pages the way
    a browser on this machine would, then returns as Ctrl-C would."""
    import uvicorn
    from fastapi.testclient import TestClient

    served: dict[str, object] = {}

    def visit(app: object, *, host: str, port: int, log_level: str) -> None:
        served.update(host=host, port=port)
        with TestClient(app, client=("127.0.0.1", 50000)) as browser:  # type: ignore[arg-type]
            served["failures"] = browser.get("/failures").text
            served["docs"] = browser.get("/docs").status_code

    monkeypatch.setattr(uvicorn, "run", visit)
    result = lessons("demo", "--serve", "8123")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.stdout
    assert (served["host"], served["port"], served["docs"]) == ("127.0.0.1", 8123, 200)
    assert "Checkout 502s during the Valentine" in str(served["failures"])


@pytest.mark.parametrize("command", sorted(cli_main.cli.commands))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(lessons, command: str) -> None:
    result = lessons(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"lessons {command}" in (REPO / "README.md").read_text()


def test_ingest_search_show_and_copy_on_neo4j(
    lessons, neo4j_server: Neo4jTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wipe_neo4j(neo4j_server)
    monkeypatch.setenv("LESSONS_STORE", neo4j_server.uri)
    monkeypatch.setenv("LESSONS_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("LESSONS_NEO4J_PASSWORD", neo4j_server.password or "")
    assert lessons("init").stdout == f"ready: {neo4j_server.uri}\n"
    assert lessons("ingest", str(EXAMPLES)).exit_code == 0
    hits = json.loads(lessons("search", "--json", "TLS certificate expired").stdout)
    assert hits[0]["context"]["failure"]["id"] in {
        "2022-07-19-api-tls-cert-expired",
        "2025-10-07-psp-mtls-cert-expired",
    }
    assert "Practices" in lessons("show", "2023-02-14-checkout-db-pool").stdout

    copied = tmp_path / "copied.sqlite3"
    result = lessons("copy", "--to", f"sqlite:///{copied}")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"copied {len(list(EXAMPLES.iterdir()))} documents")
    on_neo4j = json.loads(lessons("stats", "--json").stdout)
    on_sqlite = json.loads(lessons("--store", str(copied), "stats", "--json").stdout)
    assert on_neo4j["nodes"] == on_sqlite["nodes"] and on_neo4j["edges"] == on_sqlite["edges"]


def test_neo4j_errors_say_what_was_tried(
    lessons, neo4j_server: Neo4jTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSONS_NEO4J_PASSWORD", "wrong-password")
    result = lessons("--store", neo4j_server.uri, "stats")
    assert result.exit_code == 1
    assert f"Neo4j at {neo4j_server.uri} refused the credentials" in result.stderr
    assert "LESSONS_NEO4J_PASSWORD" in result.stderr

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    result = lessons("--store", f"bolt://127.0.0.1:{closed_port}", "stats")
    assert result.exit_code == 1
    assert f"cannot reach Neo4j at bolt://127.0.0.1:{closed_port}" in result.stderr


def test_an_import_lists_the_first_merges_and_counts_the_rest() -> None:
    from io import StringIO

    from rich.console import Console

    from lessons.graph.resolution import Merge
    from lessons.ingest.pipeline import IngestReport

    report = IngestReport()
    report.merges = [
        Merge(f"document:{n}", f"name {n}", f"cause:entity-{n}", f"Entity {n}")
        for n in range(cli_main.MERGES_SHOWN + 5)
    ]
    out = StringIO()
    cli_main._print_summary(report, [], Console(file=out, width=400))
    lines = out.getvalue().splitlines()
    assert len(lines) == cli_main.MERGES_SHOWN + 1
    assert lines[0].startswith("merged 'name 0' into 'Entity 0' (cause:entity-0)")
    assert lines[-1].startswith("merged 5 more names into entities named otherwise")
