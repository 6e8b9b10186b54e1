"""`lessons insights ...` and `lessons export` through click's CliRunner, on the examples.

The expectations come from the double-payouts story in examples/postmortems/ (see
examples/README.md): payouts paid twice (2025-01-14), refunds paid twice despite the
idempotency practice adopted after it (2025-08-05), and a skipped ledger export caused by the
lock adopted after that (2026-04-30).
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from .conftest import EXAMPLES
from .hashing_embedder import HashingEmbedder

PAYOUTS = "2025-01-14-payouts-duplicate-run"
REFUNDS = "2025-08-05-refund-batch-double-submit"
LEDGER = "2026-04-30-ledger-export-skipped"
AS_OF = "2026-11-27"


@pytest.fixture
def model() -> HashingEmbedder:
    """Insights read the graph, not the texts' meaning: the test embedder serves."""
    return HashingEmbedder()


@pytest.fixture
def examples(lessons):
    """`lessons` (tests/conftest.py) on a store holding examples/postmortems/."""
    assert lessons("ingest", str(EXAMPLES)).exit_code == 0
    return lessons


def as_json(lessons, *args: str):
    result = lessons(*args, "--json", "--limit", "0")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_insights_tell_the_double_payouts_story(examples) -> None:
    causes = {
        c["cause_id"]: c
        for c in as_json(examples, "insights", "recurring-causes", "--as-of", AS_OF)
    }
    assert causes["cause:money-moving-batch-job-not-idempotent"]["failure_ids"] == [
        PAYOUTS,
        REFUNDS,
    ]
    assert causes["cause:scheduler-failover-started-a-second-leader"]["addressed_by"] == [
        "practice:single-writer-lock-for-scheduled-jobs"
    ]

    practices = as_json(examples, "insights", "practices", "--as-of", AS_OF)
    effect = {p["practice_id"]: p for p in practices["practices"]}
    keys = effect["practice:idempotency-keys-on-money-moving-jobs"]
    assert (keys["adopted_at"], keys["failures_before"], keys["failures_after"]) == (
        "2025-02-10",
        [PAYOUTS],
        [REFUNDS],
    )
    assert keys["recurrences_after"] == [REFUNDS] and keys["verdict"] == "recurred"
    assert "practice:idempotency-keys-on-money-moving-jobs" in practices["not_prevented"]
    lock = effect["practice:single-writer-lock-for-scheduled-jobs"]
    assert (lock["failures_before"], lock["failures_after"], lock["verdict"]) == (
        [PAYOUTS, REFUNDS],
        [],
        "held",
    )

    gaps = as_json(examples, "insights", "gaps", "--as-of", AS_OF)
    assert LEDGER in [f["failure_id"] for f in gaps["failures_without_practice"]]
    unaddressed = {c["cause_id"]: c for c in gaps["unaddressed_causes"]}
    assert unaddressed["cause:no-alert-on-missed-or-duplicate-scheduled-runs"] == {
        "cause_id": "cause:no-alert-on-missed-or-duplicate-scheduled-runs",
        "name": "No alert on missed or duplicate scheduled runs",
        "failure_ids": [PAYOUTS, LEDGER],
        "practices_not_in_force": ["practice:alert-on-missed-or-duplicate-scheduled-runs"],
    }
    ownerless = [a["action_id"] for a in gaps["ownerless_actions"]]
    assert f"{PAYOUTS}/action-4" in ownerless and f"{LEDGER}/action-2" in ownerless
    overdue = {a["action_id"]: a["days_overdue"] for a in gaps["overdue_actions"]}
    assert overdue[f"{REFUNDS}/action-3"] == 392  # due 2025-10-31

    timing = as_json(examples, "insights", "timing", "--as-of", AS_OF)
    assert {"failure_id": REFUNDS, "recurrence_of": PAYOUTS, "days": 203}.items() <= next(
        r for r in timing["recurrences"] if r["failure_id"] == REFUNDS
    ).items()
    idempotency = next(
        c
        for c in timing["causes"]
        if c["cause_id"] == "cause:money-moving-batch-job-not-idempotent"
    )
    assert (idempotency["days_to_adaptation"], idempotency["adapted_before_recurrence"]) == (
        27,
        True,
    )

    clusters = as_json(examples, "insights", "clusters")
    story = next(c for c in clusters if PAYOUTS in c["failure_ids"])
    assert {REFUNDS, LEDGER} <= set(story["failure_ids"])
    assert "component:job-scheduler" in story["component_ids"]


def test_insight_tables_and_limits(examples) -> None:
    result = examples("insights", "all", "--as-of", AS_OF, "--limit", "3")
    assert result.exit_code == 0, result.output
    for heading in (
        "Recurring causes",
        "Failures whose lessons led to no practice in force",
        "Overdue action items",
        "Did not prevent a recurrence",
        "Failure clusters",
        "Median time to adaptation",
    ):
        assert heading in result.stdout
    assert "more (--limit 0 shows all)" in result.stdout
    everything = as_json(examples, "insights", "all", "--as-of", AS_OF)
    assert set(everything) == {
        "as_of",
        "recurring_causes",
        "learning_gaps",
        "practice_effectiveness",
        "failure_clusters",
        "timing",
    }
    limited = json.loads(
        examples("insights", "gaps", "--as-of", AS_OF, "--json", "--limit", "1").stdout
    )
    assert len(limited["overdue_actions"]) == 1


def test_insights_on_an_empty_store_and_bad_dates(lessons) -> None:
    result = lessons("insights", "recurring-causes")
    assert result.exit_code == 0 and "No cause is behind more than one failure" in result.stdout
    bad = lessons("insights", "gaps", "--as-of", "yesterday")
    assert bad.exit_code == 2 and "--as-of" in bad.stderr


def test_export_formats(examples, tmp_path: Path) -> None:
    path = tmp_path / "lessons.graphml"
    result = examples("export", "--format", "graphml", "-o", str(path))
    assert result.exit_code == 0, result.output
    graph = nx.read_graphml(path)
    stats = json.loads(examples("stats", "--json").stdout)
    assert graph.number_of_nodes() == sum(stats["nodes"].values())
    assert graph.nodes[PAYOUTS]["label"] == "Failure"
    assert f"to {path} (graphml)" in result.stderr

    near = json.loads(
        examples("export", "--format", "json", "--failure", REFUNDS, "--depth", "1").stdout
    )
    ids = {n["id"] for n in near["nodes"]}
    assert {REFUNDS, PAYOUTS, "cause:money-moving-batch-job-not-idempotent"} <= ids
    assert LEDGER not in ids
    assert all(REFUNDS in (e["source"], e["target"]) for e in near["edges"])

    cypher = examples("export", "--format", "cypher", "--failure", LEDGER, "--depth", "1").stdout
    lines = cypher.splitlines()
    assert lines[0].startswith("// lessons graph:")
    assert lines[1].startswith("CREATE CONSTRAINT lessons_node_id IF NOT EXISTS")
    assert all(line.endswith(";") for line in lines[1:])


def test_export_of_an_unknown_failure_says_what_to_do(lessons) -> None:
    result = lessons("export", "--failure", "no-such-failure")
    assert result.exit_code == 1
    assert "Error: no node with id 'no-such-failure'" in result.stderr
