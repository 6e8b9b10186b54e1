"""Structured imports are mappings, not schemas: incident tools' exports and hand-written YAML
are mapped onto the canonical record (ingest/keymaps.py), values are coerced, what cannot be
mapped is kept in `notes` with a warning, and only a document that describes no failure at
all is refused.

The exports under tests/data/exports/ are small files written for these tests in each
tool's documented shape (the shape each map follows is named in ingest/keymaps.py).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import ParseError, ValidationError
from lessons.graph.models import (
    CauseRole,
    CauseStatus,
    ExperimentOutcome,
    Failure,
    PracticeStatus,
)
from lessons.graph.store import SqliteStore
from lessons.ingest.keymaps import (
    TOOL_KEYMAPS,
    NothingDescribesAFailure,
    load_keymap,
    map_fields,
    split_records,
)
from lessons.ingest.markdown import load_yaml
from lessons.ingest.parsers import parse_document
from lessons.ingest.pipeline import FileStatus, discover, ingest
from lessons.ingest.record import (
    CauseRecord,
    ExperimentRecord,
    PostmortemRecord,
    PracticeRecord,
    parse_date,
    parse_datetime,
)

from .conftest import EXAMPLES, REPO

EXPORTS = REPO / "tests" / "data" / "exports"
ROOT, TRIGGER, CONTRIBUTING = CauseRole.ROOT, CauseRole.TRIGGER, CauseRole.CONTRIBUTING


def read(name: str, **options: Any) -> tuple[list[PostmortemRecord], list[str]]:
    path = EXPORTS / name
    warnings: list[str] = []
    records = parse_document(path.read_text(), str(path), path.suffix, warnings=warnings, **options)
    return records, warnings


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# What each export must give: title, date, severity, team, components, causes with their
# roles, actions with their owners, and the only warnings expected (everything else the
# tool documents is mapped, or kept in notes without a warning).
EXPECTED: dict[str, dict[str, Any]] = {
    "incident-io.json": {
        "title": "Checkout API returned 500s after a config push",
        "occurred_at": when("2025-03-04T09:02:00Z"),  # the "Impact started" timestamp
        "severity": "Major",
        "status": "Closed",
        "team": None,
        "components": ["checkout-api", "config-service"],  # the "Affected services" field
        "causes": [
            ("Config push removed the provider timeout", ROOT),
            ("No canary stage for config pushes", CONTRIBUTING),
        ],
        "actions": [
            ("Add a canary stage to config pushes", "Ben Okafor", "outstanding"),
            ("Alert on checkout-api connection pool saturation", "Ana Pereira", "completed"),
        ],
        "warnings": ["Customer region: not a field we know; kept in notes"],
        "notes": ["Customer region: EU", "reference: INC-482"],
    },
    "pagerduty-webhook.json": {
        "title": "Search p99 latency above 2 s in eu-west",
        "occurred_at": when("2025-01-21T13:58:40Z"),
        "severity": "P2",
        "status": "resolved",
        "team": "Search",
        "components": ["search-api"],
        "causes": [],
        "actions": [],
        "warnings": ["no summary; the title is used as the summary"],
        "notes": ["event_type: incident.resolved", "urgency: high", "number: 3187"],
    },
    "pagerduty-incident.json": {
        "title": "Payments webhooks delayed by 20 minutes",
        "occurred_at": when("2025-02-02T07:45:00Z"),
        "severity": "P1",
        "status": "resolved",
        "team": "Payments",
        "components": ["payments-webhooks"],
        "causes": [
            ("A malformed event blocked the webhook queue consumer", ROOT),
            ("No dead-letter queue on the webhook consumer", CONTRIBUTING),
        ],
        "actions": [("Add a dead-letter queue to the webhook consumer", "Sam Ito", "open")],
        "warnings": ["teams: only the first ('Payments') is kept as team; the others are in notes"],
        "notes": ["teams: SRE", "incident_number: 3190"],
    },
    "firehydrant.json": {
        "title": "Image uploads failing for mobile clients",
        "occurred_at": when("2024-11-19T15:48:00Z"),  # started_at, not created_at
        "severity": "SEV2",
        "status": "resolved",
        "team": "Edge",
        "components": ["upload-service", "Photo upload", "edge-proxy"],
        "causes": [
            ("Config cleanup lowered the request body size limit", CONTRIBUTING),
            ("No test covers the largest upload the apps send", CONTRIBUTING),
        ],
        "actions": [
            ("Restore the 16 MB body limit on the edge proxy", "Priya Raman", "done"),
            ("Contract test for upload size between apps and edge", "Leo Brandt", "open"),
        ],
        "warnings": [],
        "notes": ["priority: P2", "environments[0].name: production"],
    },
    "rootly.json": {
        "title": "Login failures after identity provider certificate rotation",
        "occurred_at": when("2024-08-07T13:12:00Z"),
        "severity": "SEV1",
        "status": "resolved",
        "team": "Identity",
        "components": ["saml-gateway"],
        "causes": [("Single pinned IdP signing certificate", ROOT)],
        "actions": [
            ("Load signing certificates from the provider metadata URL", "Noor Haddad", "done")
        ],
        "warnings": [],
        "notes": ["sequential_id: 77", "id: 9c0e6b1a-1f2d-4e7b-8a3c-5d4e3f2a1b0c"],
    },
    "jira.json": {
        "title": "Orders stuck in 'pending' after the queue broker upgrade",
        "occurred_at": when("2025-02-11T08:14:05Z"),
        "severity": "Highest",
        "status": "Done",
        "team": "Fulfilment",  # customfield_10060, named "Team" by expand=names
        "components": ["order-service", "rabbitmq"],
        "causes": [
            ("The upgrade renamed the default exchange", ROOT),
            ("Upgrade runbook had no post-upgrade consumer check", CONTRIBUTING),
        ],
        "actions": [
            ("Pin exchange names in broker config", None, "Done"),
            ("Add a consumer-bound check to the upgrade runbook", None, "To Do"),
        ],
        "warnings": ["Story points: not a field we know; kept in notes"],
        "notes": ["key: PIR-31", "Story points: 5", "issuetype.name: Post-incident review"],
    },
    "dispatch.json": {
        "title": "Credentials for the analytics bucket exposed in a public repository",
        "occurred_at": when("2024-06-18T21:40:00Z"),  # reported_at
        "severity": "Medium",  # incident_severity; incident_priority is kept in notes
        "status": "Closed",
        "team": "Security",
        "components": [],
        "causes": [],
        "actions": [
            ("Enable secret scanning push protection on all repositories", "Rae Kim", "Resolved"),
            ("Replace long-lived access keys with workload identity", "Omar Said", "Open"),
        ],
        "warnings": [],
        "notes": ["name: dispatch-default-default-42", "incident_priority.name: High"],
    },
    "handwritten.yaml": {
        "title": "Nightly billing export wrote half a file",
        "occurred_at": when("2025-05-12T02:10:00Z"),  # "12 May 2025 02:10"
        "severity": "2",  # `sev: 2`, a number, as text
        "status": None,
        "team": "Billing",
        "components": ["billing-export", "object-storage"],
        "causes": [
            ("The export writes straight to the final object instead of a temporary name", ROOT),
            ("Storage throttling during the backup window", TRIGGER),
            ("No size or row-count check in the downstream import", CONTRIBUTING),
        ],
        "actions": [
            ("Write to a temporary object and rename when complete", "dana", "done"),
            ("Reject imports whose row count differs from the manifest", "li", "open"),
        ],
        "warnings": ["slack thread: not a field we know; kept in notes"],
        "notes": ["slack thread: https://chat.example.com/archives/C0BILLING/p1715480000"],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_imports_with_what_it_says(name: str) -> None:
    expected = EXPECTED[name]
    (record,), warnings = read(name)
    assert record.title == expected["title"]
    assert record.summary
    assert record.occurred_at == expected["occurred_at"]
    assert record.severity == expected["severity"]
    assert record.status == expected["status"]
    assert record.team == expected["team"]
    assert [c.name for c in record.components] == expected["components"]
    assert [(c.name, c.role) for c in record.causes] == expected["causes"]
    assert [(a.text, a.owner, a.status) for a in record.actions] == expected["actions"]
    assert warnings == expected["warnings"]
    notes = (record.notes or "").splitlines()
    for line in expected["notes"]:
        assert line in notes, (line, notes)


def test_every_tool_has_a_documented_source_and_a_fixture() -> None:
    assert {m.name for m in TOOL_KEYMAPS} == {
        "incident.io",
        "PagerDuty",
        "FireHydrant",
        "Rootly",
        "Jira",
        "Dispatch",
    }
    assert all(m.source.startswith("https://") for m in TOOL_KEYMAPS)


def test_nested_values_are_read_where_tools_nest_them() -> None:
    (jira,), _ = read("jira.json")
    # Jira v3 descriptions are Atlassian Document Format; the text is read out of it.
    assert jira.summary.startswith("After the broker upgrade, order events were published")
    assert "Orders stayed pending for 95 minutes." in jira.summary
    (firehydrant,), _ = read("firehydrant.json")
    assert firehydrant.impact == "About 30% of mobile photo uploads failed for 2 hours."
    assert firehydrant.tags == ["edge", "config", "platform: mobile"]  # tag_list and labels{}
    assert (firehydrant.timeline[0].at, firehydrant.timeline[0].event) == (
        "2024-11-19T15:48:00.000Z",
        "started",
    )
    assert firehydrant.actions[0].due == date(2024, 11, 20)
    (rootly,), _ = read("rootly.json")
    assert rootly.resolution is not None and rootly.resolution.startswith("Trust store now")
    assert rootly.causes[0].description == (
        "The trust store held one certificate and was updated by hand."
    )
    (pagerduty,), _ = read("pagerduty-incident.json")
    assert [t.event for t in pagerduty.timeline] == [
        "Queue consumer stuck on a poison message",
        "Message moved to the dead-letter queue; backlog draining",
    ]


def test_a_page_of_results_is_one_record_per_incident() -> None:
    records, warnings = read("rootly-list.json")
    assert [r.title for r in records] == [
        "Search index lagging behind writes",
        "Reports page timing out",
    ]
    # Each JSON:API resource gets the included action items it refers to, and its opaque
    # resource id does not become the failure id.
    assert [[a.text for a in r.actions] for r in records] == [
        ["Alert on indexer lag over 5 minutes"],
        ["Limit report queries to 90 days by default"],
    ]
    assert [r.id for r in records] == [None, None]
    assert warnings == []
    pages = {
        "incidents": [{"title": "A", "summary": "a"}, {"title": "B", "summary": "b"}],
        "limit": 25,
        "offset": 0,
        "more": False,
    }
    assert [r["title"] for r in split_records(pages)] == ["A", "B"]
    jira_search = {"issues": [{"key": "X-1", "fields": {"summary": "One", "customfield_1": 1}}]}
    jira_search["names"] = {"customfield_1": "Root cause"}
    (issue,) = split_records(jira_search)
    fields, _ = map_fields(issue)
    assert fields["title"] == "One" and fields["causes"] == [{"name": "1"}]


def test_unknown_keys_become_notes_and_warnings_never_a_rejection() -> None:
    text = json.dumps(
        {
            "title": "Disk filled on the log host",
            "summary": "Log rotation stopped after a package upgrade.",
            "runbook": {"url": "https://wiki.example.com/logs", "owner": "ops"},
            "sevrity": 1,
        }
    )
    warnings: list[str] = []
    (record,) = parse_document(text, "x.json", ".json", warnings=warnings)
    assert record.notes == (
        "runbook.url: https://wiki.example.com/logs\nrunbook.owner: ops\nsevrity: 1"
    )
    assert warnings == [
        "runbook: not a field we know; kept in notes",
        "sevrity: not a field we know; kept in notes",
    ]


def test_enum_values_are_coerced_from_the_words_people_use() -> None:
    assert CauseRecord(name="x", role="Root cause").role is ROOT
    assert CauseRecord(name="x", role="contributing factor").role is CONTRIBUTING
    assert CauseRecord(name="x", role="Triggering event").role is TRIGGER
    assert CauseRecord(name="x", status="ruled out").status is CauseStatus.REJECTED
    assert CauseRecord(name="x", status="validated").status is CauseStatus.ACCEPTED
    assert CauseRecord(name="x", status="Hypothesis").status is CauseStatus.PROPOSED
    assert (
        ExperimentRecord(hypothesis="h", outcome="disproved").outcome is ExperimentOutcome.REFUTED
    )
    assert (
        ExperimentRecord(hypothesis="h", outcome="ruled-out").outcome is ExperimentOutcome.REFUTED
    )
    assert ExperimentRecord(hypothesis="h", outcome="Validated").outcome is (
        ExperimentOutcome.CONFIRMED
    )
    assert PracticeRecord(name="p", status="in place").status is PracticeStatus.ADOPTED
    assert PracticeRecord(name="p", status="Deprecated").status is PracticeStatus.RETIRED
    assert PracticeRecord(name="p", status="planned").status is PracticeStatus.PROPOSED
    with pytest.raises(ValueError, match="role"):
        CauseRecord(name="x", role="maybe")


def test_a_value_that_fits_no_enum_is_kept_in_notes_with_a_warning() -> None:
    text = (
        "title: a\nsummary: b\n"
        "causes: [{name: x, role: maybe, status: ruled out}]\n"
        "practices: [{name: p, status: in place, adopted: sometime next spring}]\n"
        "experiments: [{hypothesis: h, result: the cache was cold}]\n"
    )
    warnings: list[str] = []
    (record,) = parse_document(text, "x.yaml", ".yaml", warnings=warnings)
    assert (record.causes[0].role, record.causes[0].status) == (ROOT, CauseStatus.REJECTED)
    assert record.practices[0].status is PracticeStatus.ADOPTED
    assert record.practices[0].adopted_at is None
    # `result` that is not an outcome word is the finding.
    assert record.experiments[0].outcome is ExperimentOutcome.INCONCLUSIVE
    assert record.experiments[0].finding == "the cache was cold"
    assert record.notes == "causes[0].role: maybe\npractices[0].adopted: sometime next spring"
    assert warnings == [
        "causes[].role: 'maybe' is not one of contributing, root, trigger; kept in notes",
        "practices[].adopted: 'sometime next spring' is not a date we can read; kept in notes",
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-05", "2024-03-05T00:00:00+00:00"),
        ("2024-03-05T10:00:00Z", "2024-03-05T10:00:00+00:00"),
        ("2025-02-11T08:14:05.000+0000", "2025-02-11T08:14:05+00:00"),  # Jira
        ("2024-03-05 10:00 UTC", "2024-03-05T10:00:00+00:00"),
        ("2024/03/05", "2024-03-05T00:00:00+00:00"),
        ("5 March 2024", "2024-03-05T00:00:00+00:00"),
        ("March 5th, 2024 10:30", "2024-03-05T10:30:00+00:00"),
        ("Mar 5, 2024", "2024-03-05T00:00:00+00:00"),
        ("Tue, 05 Mar 2024 10:00:00 +0100", "2024-03-05T10:00:00+01:00"),
        ("25/03/2024", "2024-03-25T00:00:00+00:00"),  # the day is over 12: unambiguous
        (1709632800, "2024-03-05T10:00:00+00:00"),  # Unix seconds
        (1709632800000, "2024-03-05T10:00:00+00:00"),  # milliseconds
        ("1709632800", "2024-03-05T10:00:00+00:00"),
        (date(2024, 3, 5), "2024-03-05T00:00:00+00:00"),
    ],
)
def test_dates_in_common_formats(written: object, expected: str) -> None:
    found = parse_datetime(written)
    assert found is not None and found.isoformat() == expected
    record = PostmortemRecord(title="t", summary="s", occurred_at=written)  # type: ignore[arg-type]
    assert record.occurred_at == datetime.fromisoformat(expected)


@pytest.mark.parametrize("written", ["03/05/2024", "last Tuesday", "", True, 12, "2024-13-45"])
def test_dates_that_cannot_be_read_are_not_guessed(written: object) -> None:
    assert parse_datetime(written) is None
    assert parse_date(written) is None


def test_numbers_are_read_as_text() -> None:
    (record,) = parse_document(
        "id: 2024\ntitle: 404\nsummary: 3.5\nseverity: 1\ncomponents: [8080, api]\n",
        "x.yaml",
        ".yaml",
    )
    assert (record.id, record.title, record.summary, record.severity) == ("2024", "404", "3.5", "1")
    assert [c.name for c in record.components] == ["8080", "api"]


def test_a_title_or_a_summary_alone_is_enough() -> None:
    warnings: list[str] = []
    (titled,) = parse_document('{"name": "Cache stampede"}', "x.json", ".json", warnings=warnings)
    assert (titled.title, titled.summary) == ("Cache stampede", "Cache stampede")
    assert warnings == ["no summary; the title is used as the summary"]
    warnings.clear()
    text = json.dumps(
        {"description": "The cache expired for every key at once. Origin load tripled."}
    )
    (described,) = parse_document(text, "x.json", ".json", warnings=warnings)
    assert described.title == "The cache expired for every key at once."
    assert described.summary == "The cache expired for every key at once. Origin load tripled."
    assert warnings == ["no title; the summary's first sentence is used as the title"]
    # A short summary and a longer description: the short one is the title.
    (both,) = parse_document(
        '{"summary": "Cache stampede", "description": "Every key expired at once."}',
        "x.json",
        ".json",
    )
    assert (both.title, both.summary) == ("Cache stampede", "Every key expired at once.")


def test_a_document_that_describes_no_failure_is_refused_saying_what_was_looked_for() -> None:
    with pytest.raises(ParseError) as caught:
        parse_document('{"id": "x", "status": "open", "count": 3}', "x.json", ".json")
    reason = caught.value.reason
    assert reason.startswith("nothing here describes a failure: no title (looked for title, name")
    assert "no summary (looked for summary, description" in reason
    assert "found: id, status, count" in reason
    assert "--mapping" in reason
    with pytest.raises(ParseError, match=r"read as a PagerDuty export"):
        parse_document('{"incident": {"incident_key": "k", "urgency": "high"}}', "pd.json", ".json")
    with pytest.raises(ParseError, match=r"record 2: nothing here describes a failure"):
        parse_document('{"title": "a"}\n{"status": "open"}\n', "x.jsonl", ".jsonl")


MAPPED_YAML = """
ticket:
  heading: Cache nodes evicted all keys at once
  opened: 2025-01-02 03:04
analysis:
  cause: TTLs were all set to the same value
  made_worse_by: [No jitter on TTLs]
internal_id: 991
cost_centre: CC-12
"""


def test_a_users_own_mapping_file() -> None:
    with pytest.raises(ParseError, match="nothing here describes a failure"):
        parse_document(MAPPED_YAML, "m.yaml", ".yaml")
    keymap = load_keymap(
        "ticket.heading: title\n"
        "ticket.opened: occurred_at\n"
        "analysis.cause: causes\n"
        "analysis.made_worse_by: causes.contributing\n"
        "internal_id: ignore\n"
        "cost_centre: notes\n"
    )
    warnings: list[str] = []
    (record,) = parse_document(MAPPED_YAML, "m.yaml", ".yaml", keymap=keymap, warnings=warnings)
    assert record.title == "Cache nodes evicted all keys at once"
    assert record.occurred_at == datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    assert [(c.name, c.role) for c in record.causes] == [
        ("TTLs were all set to the same value", ROOT),
        ("No jitter on TTLs", CONTRIBUTING),
    ]
    assert record.notes == "cost_centre: CC-12"  # kept without a warning; internal_id dropped
    assert warnings == ["no summary; the title is used as the summary"]


def test_a_users_mapping_wins_over_a_tools_map() -> None:
    keymap = load_keymap("fields:\n  summary: summary\n  environment: title\n")
    issue = {
        "key": "OPS-1",
        "fields": {"summary": "Long text", "environment": "Prod DB failover", "issuetype": {}},
    }
    fields, _ = map_fields(issue, keymap)
    assert (fields["title"], fields["summary"]) == ("Prod DB failover", "Long text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("headline: heading", "'headline' maps to 'heading', which is not a field we know"),
        ("- title", "expected `their key: our field` lines"),
        ("a: [", "not valid YAML"),
    ],
)
def test_a_bad_mapping_file_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        load_keymap(text, "map.yaml")
    assert "causes.contributing" in caught.value.hint


def test_a_value_the_record_refuses_is_moved_to_the_notes() -> None:
    text = json.dumps(
        {
            "title": "t",
            "summary": "s",
            "causes": [
                {"name": "kept"},
                {"name": "bad span", "source": {"section": "x", "line_start": 0, "line_end": 1}},
            ],
        }
    )
    warnings: list[str] = []
    (record,) = parse_document(text, "x.json", ".json", warnings=warnings)
    assert [c.name for c in record.causes] == ["kept"]
    assert record.notes is not None and record.notes.startswith('causes[1]: {"name": "bad span"')
    assert warnings == ["causes[1]: Input should be greater than or equal to 1; kept in notes"]


def test_json_lines_and_yaml_lists_are_mapped_record_by_record() -> None:
    lines = "\n".join(
        json.dumps(row)
        for row in [
            {"incident": {"name": "First", "summary": "one", "severity": {"name": "SEV1"}}},
            {"headline": "Second", "what happened": "two", "services": [{"name": "api"}]},
        ]
    )
    warnings: list[str] = []
    first, second = parse_document(lines, "x.jsonl", ".jsonl", warnings=warnings)
    assert (first.title, first.severity) == ("First", "SEV1")
    assert (second.title, [c.name for c in second.components]) == ("Second", ["api"])
    assert warnings == []
    yaml_list = "- headline: A\n  why: x\n- headline: B\n  color: red\n"
    a, b = parse_document(yaml_list, "x.yaml", ".yaml", warnings=warnings)
    assert a.causes[0].name == "x" and b.notes == "color: red"
    assert warnings == [
        "record 1: no summary; the title is used as the summary",
        "record 2: color: not a field we know; kept in notes",
        "record 2: no summary; the title is used as the summary",
    ]


def test_map_fields_reads_a_dict_of_front_matter_too() -> None:
    front_matter = load_yaml("headline: Cache stampede\nsev: 2\nowner team: Platform\n")
    fields, warnings = map_fields(front_matter)
    assert fields == {
        "title": "Cache stampede",
        "summary": "Cache stampede",
        "severity": "2",
        "team": "Platform",
    }
    assert warnings == ["no summary; the title is used as the summary"]
    with pytest.raises(NothingDescribesAFailure):
        map_fields({"sev": 2})


@pytest.mark.parametrize(
    "path",
    sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".yaml", ".yml")),
    ids=lambda p: p.name,
)
def test_canonical_records_map_to_themselves(path: Path) -> None:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    for raw in split_records(data):
        fields, warnings = map_fields(raw)
        assert PostmortemRecord.model_validate(fields) == PostmortemRecord.model_validate(raw)
        assert warnings == []


def test_dry_run_output_imports_again_as_the_same_record() -> None:
    (record,), _ = read("incident-io.json")
    again = parse_document(record.model_dump_json(), "again.json", ".json")
    assert again == [record]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
KEYS = st.sampled_from(
    [
        "title",
        "name",
        "summary",
        "description",
        "causes",
        "follow_ups",
        "severity",
        "services",
        "data",
        "attributes",
        "incident",
        "fields",
        "key",
        "custom_field_entries",
        "started_at",
        "tags",
        "labels",
        "timeline",
        "experiments",
        "notes",
        "x",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, JSON, max_size=6) | st.lists(st.dictionaries(KEYS, JSON), max_size=3))
def test_any_json_is_imported_or_refused_never_a_crash(data: Any) -> None:
    try:
        records = parse_document(json.dumps(data), "fuzz.json", ".json", warnings=[])
    except ParseError:
        return
    assert records and all(r.title and r.summary for r in records)


def test_reimporting_the_same_exports_changes_nothing(
    sqlite_store: SqliteStore, embedder: CachingEmbedder
) -> None:
    sources, missing = discover([str(EXPORTS)])
    assert missing == [] and len(sources) == len(list(EXPORTS.iterdir()))
    first = ingest(sqlite_store, embedder, sources)
    assert first.ok, [r.error for r in first.results if r.error]
    assert first.count(FileStatus.IMPORTED) == len(sources)
    before = sqlite_store.stats()
    graph_before = sqlite_store.to_networkx()
    failure = sqlite_store.get("incident-io")
    assert isinstance(failure, Failure)
    assert failure.notes is not None and "Customer region: EU" in failure.notes
    warned = {Path(r.path).name: r.warnings for r in first.results}
    assert warned["handwritten.yaml"] == ["slack thread: not a field we know; kept in notes"]

    sources, _ = discover([str(EXPORTS)])
    again = ingest(sqlite_store, embedder, sources)
    assert again.count(FileStatus.UNCHANGED) == len(sources)
    assert again.texts_embedded == 0
    assert sqlite_store.stats() == before
    graph_after = sqlite_store.to_networkx()
    assert sorted(graph_after.nodes) == sorted(graph_before.nodes)
    assert sorted(graph_after.edges) == sorted(graph_before.edges)
