"""`lessons recognize` and `lessons unmerge` through click's runner, on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import EXAMPLES

QUESTION = "checkout requests hang waiting for database connections during a sale"


def test_recognize_prints_a_verdict_and_the_matches(lessons) -> None:
    assert lessons("ingest", str(EXAMPLES)).exit_code == 0
    result = lessons("recognize", QUESTION, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("LIKELY RECURRENCE")
    assert "2023-02-14-checkout-db-pool" in result.stdout
    assert "why:" in result.stdout and "practice:" in result.stdout


def test_recognize_json_from_stdin_with_record_and_confirm(lessons) -> None:
    lessons("ingest", str(EXAMPLES))
    result = lessons(
        "recognize",
        "--json",
        "--title",
        "Pool exhausted at checkout",
        "--record",
        "--confirm",
        "2023-02-14-checkout-db-pool",
        "-",
        stdin=QUESTION,
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["verdict"] in {"likely recurrence", "related"}
    assert answer["matches"][0]["context"]["failure"]["id"]
    recorded = answer["recorded"]
    assert recorded["failure"]["title"] == "Pool exhausted at checkout"
    assert recorded["recurrence_of"] == ["2023-02-14-checkout-db-pool"]
    shown = json.loads(lessons("show", "--json", "2023-02-14-checkout-db-pool").stdout)
    assert recorded["failure"]["id"] in shown["recurred_as"]


def test_recognize_needs_a_description_and_record_for_confirm(lessons) -> None:
    assert lessons("recognize", stdin="").exit_code == 2
    result = lessons("recognize", QUESTION, "--confirm", "x")
    assert result.exit_code == 2 and "--record" in result.output


def test_unmerge_splits_an_alias_and_explains_mistakes(lessons, tmp_path: Path) -> None:
    for name, cause in [
        ("a", "DB connection pool exhausted"),
        ("b", "database connection-pool exhaustion"),
    ]:
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: inc-{name}\ntitle: Down {name}\n---\n"
            f"## Summary\nDown.\n\n## Root cause\n- {cause}\n"
        )
    imported = lessons("ingest", str(tmp_path / "a.md"), str(tmp_path / "b.md"))
    assert imported.exit_code == 0
    assert "merged 'database connection-pool exhaustion' into" in imported.stderr
    wrong = lessons("unmerge", "cause:db-connection-pool-exhausted", "no such name")
    assert wrong.exit_code == 1 and "is not an alias" in wrong.stderr
    assert "database connection-pool exhaustion" in wrong.stderr  # the hint lists the aliases
    done = lessons(
        "unmerge", "cause:db-connection-pool-exhausted", "database connection-pool exhaustion"
    )
    assert done.exit_code == 0, done.output
    assert "cause:database-connection-pool-exhaustion" in done.stdout
    shown = json.loads(lessons("show", "--json", "inc-b").stdout)
    assert [c["id"] for c in shown["causes"]] == ["cause:database-connection-pool-exhaustion"]


def test_explain_prints_a_tree_json_or_dot(lessons) -> None:
    lessons("ingest", str(EXAMPLES))
    failure = "2023-11-24-checkout-db-pool-black-friday"
    tree = lessons("explain", failure)
    assert tree.exit_code == 0, tree.output
    assert "caused by (root): Database connection pool exhausted" in tree.stdout
    assert "recurrence of: 2023-02-14-checkout-db-pool" in tree.stdout
    data = json.loads(lessons("explain", failure, "--format", "json", "--suggest").stdout)
    assert data["failure"]["id"] == failure
    assert data["suggested_causes"] and data["suggested_causes"][0]["seen_in"]
    dot = lessons("explain", failure, "--format", "dot").stdout
    assert dot.startswith("digraph explanation {")
    assert lessons("explain", "no-such-failure").exit_code == 1
