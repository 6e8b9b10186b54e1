"""Structured formats (YAML, JSON, JSON Lines, CSV) and the published record schema."""

from __future__ import annotations

import json

import pytest

from lessons.graph.errors import ParseError
from lessons.ingest.parsers import parse_document
from lessons.ingest.record import record_json_schema

from ..conftest import REPO


def test_yaml_list_of_records_with_short_forms() -> None:
    records = parse_document(
        "- title: A\n  summary: first\n  causes: DNS misconfiguration\n  lessons: [check TTLs]\n"
        "- title: B\n  summary: second\n  occurred_at: 2024-02-03 10:00:00\n  id: 42\n",
        "x.yaml",
        ".yaml",
    )
    assert [r.title for r in records] == ["A", "B"]
    assert records[0].causes[0].name == "DNS misconfiguration"
    assert records[0].lessons[0].text == "check TTLs"
    assert records[1].id == "42"
    assert records[1].occurred_at is not None and records[1].occurred_at.tzinfo is not None


def test_json_with_every_structured_field() -> None:
    data = {
        "id": "x",
        "title": "t",
        "summary": "s",
        "causes": [{"name": "c", "role": "trigger"}],
        "experiments": [{"hypothesis": "h", "outcome": "refuted", "tested_causes": "c"}],
        "lessons": [{"text": "l", "adopted_as": "p"}],
        "practices": [
            {"name": "p", "status": "adopted", "adopted_at": "2024-01-02", "addresses": ["c"]}
        ],
        "actions": [{"text": "a", "owner": "o", "due": "2024-02-01", "implements": "p"}],
        "timeline": ["10:00 started", {"at": "11:00", "event": "fixed"}],
    }
    (record,) = parse_document(json.dumps(data), "x.json", ".json")
    assert record.experiments[0].tested_causes == ["c"]
    assert record.lessons[0].adopted_as == ["p"]
    assert record.practices[0].adopted_at is not None
    assert record.timeline[0].event == "10:00 started"


@pytest.mark.parametrize(
    ("text", "suffix", "reason", "line"),
    [
        ('{"title": "a", "summary": "b"', ".json", "invalid JSON", 1),
        ("[]", ".json", "non-empty list", None),
        ('"just a string"', ".json", "postmortem object", None),
        ('{"sevrity": 1, "status": "open"}', ".json", "nothing here describes a failure", None),
        ('{"title": "a", "summary": "b"}\nnot json\n', ".jsonl", "invalid JSON", 2),
        ("[1, 2]\n", ".jsonl", "JSON object", 1),
        ("title,summary\na,b,c\n", ".csv", "more cells than the header", 2),
        ("title,summary\n", ".csv", "no rows", 2),
        ("title,summary\nok,fine\n,missing title\n", ".csv", "record 2: title", None),
        ("key: [1,\n", ".yml", "invalid YAML", 1),
    ],
)
def test_structured_errors_say_where_and_why(
    text: str, suffix: str, reason: str, line: int | None
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_document(text, f"file{suffix}", suffix)
    assert reason in caught.value.reason
    assert caught.value.line == line
    assert str(caught.value).startswith(f"file{suffix}")


def test_published_schema_is_up_to_date() -> None:
    published = (REPO / "docs" / "postmortem-record.schema.json").read_text()
    assert published == record_json_schema(), (
        "run `lessons schema > docs/postmortem-record.schema.json`"
    )


def test_a_scalar_where_a_list_belongs_is_a_warning_not_a_crash() -> None:
    # Found by the API fuzzer: `true` is not iterable, and used to escape as a TypeError.
    # Structured imports are mappings now: the value is kept in the notes, with a warning.
    warnings: list[str] = []
    (record,) = parse_document(
        '{"title": "a", "summary": "b", "components": true}', "x.json", ".json", warnings=warnings
    )
    assert record.components == [] and record.notes == "components: true"
    assert warnings == ["components: 'true' is not a name; kept in notes"]
    (record,) = parse_document("title: a\nsummary: b\ntags: [2024, ops]\n", "x.yaml", ".yaml")
    assert record.tags == ["2024", "ops"]
