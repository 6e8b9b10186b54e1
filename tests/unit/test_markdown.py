"""The Markdown parser on small documents written for each rule of docs/format.md."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessons.graph.errors import ParseError
from lessons.ingest.markdown import clean_inline, normalise_heading
from lessons.ingest.parsers import parse_document
from lessons.ingest.record import PostmortemRecord


def parse(text: str, path: str = "doc.md") -> PostmortemRecord:
    (record,) = parse_document(text, path, ".md")
    return record


SRE_STYLE = """---
id: 2024-05-01-edge-dns
severity: SEV2
date: 2024-05-01
keywords: [dns]
categories: network
services: [edge-dns]
owner: Platform
recurrence_of: [2023-01-01-dns]
unknown_key: ignored
---
# Edge DNS outage

### Summary
A zone file with a broken record was pushed to every edge server.

### Impact
All sites were unreachable for **40 minutes**.

### Root Causes
- DNS misconfiguration: a CNAME pointed at itself
- No validation of zone files

### Trigger
A scheduled zone push.

## Contributing factors
| Factor | Notes |
|---|---|
| No canary for config | pushed to all PoPs |

### Resolution
Rolled back the zone file.

### Detection
Synthetic probes alerted after 3 minutes.

## Action Items
| Action Item | Type | Owner | Status | Due |
|---|---|---|---|---|
| Validate zone files in CI | prevent | kim | done | 2024-06-01 |
| Canary config pushes | mitigate | | open | |

- [ ] Write a runbook (owner: lee)
- [x] Announce the fix @sam

## Lessons Learned
### What went well
- Probes caught it quickly
### What went wrong
- Nobody reviewed the zone diff
### Where we got lucky
- It happened at night

## Timeline
- 2024-05-01 02:00 - zone pushed
- 02:03: probes alert

### 02:40
Rollback complete.
"""


def test_google_sre_style_document() -> None:
    record = parse(SRE_STYLE)
    assert record.id == "2024-05-01-edge-dns"
    assert record.title == "Edge DNS outage"
    assert record.summary == "A zone file with a broken record was pushed to every edge server."
    assert record.impact == "All sites were unreachable for 40 minutes."
    assert record.resolution == "Rolled back the zone file."
    assert record.detection == "Synthetic probes alerted after 3 minutes."
    assert (
        record.occurred_at is not None
        and record.occurred_at.isoformat() == "2024-05-01T00:00:00+00:00"
    )
    assert record.tags == ["dns", "network"]
    assert [c.name for c in record.components] == ["edge-dns"]
    assert record.team == "Platform"
    assert record.recurrence_of == ["2023-01-01-dns"]
    assert [(c.name, c.role.value, c.description) for c in record.causes] == [
        ("DNS misconfiguration", "root", "a CNAME pointed at itself"),
        ("No validation of zone files", "root", None),
        ("A scheduled zone push", "trigger", None),
        ("No canary for config", "contributing", None),
        ("Nobody reviewed the zone diff", "contributing", None),
    ]
    assert [(a.text, a.owner, a.status, a.due and a.due.isoformat()) for a in record.actions] == [
        ("Validate zone files in CI", "kim", "done", "2024-06-01"),
        ("Canary config pushes", None, "open", None),
        ("Write a runbook", "lee", "open", None),
        ("Announce the fix", "sam", "done", None),
    ]
    assert record.lessons == []
    assert record.went_well == ["Probes caught it quickly"]
    assert record.lucky == ["It happened at night"]
    assert [(t.at, t.event) for t in record.timeline] == [
        ("2024-05-01 02:00", "zone pushed"),
        ("02:03", "probes alert"),
        ("02:40", "Rollback complete."),
    ]


STRUCTURED_TABLES = """# Pool exhaustion

## Overview
Checkout timed out.

## Experiments
| Hypothesis | Method | Outcome | Finding | Tested causes |
|---|---|---|---|---|
| DB CPU was saturated | read metrics | Refuted | CPU at 40% | DB CPU saturation |
| Connections leaked | load test | confirmed | leak on error path | Connection leak; Small pool |

- Confirmed: the pool size was too small. Finding: 20 connections for 60 workers

## Lessons
| Lesson | Adopted as |
|---|---|
| Alert on pool saturation | Pool saturation alerting |

## Practices
| Practice | Description | Status | Adopted at | Addresses |
|---|---|---|---|---|
| Pool saturation alerting | Page at 80% | adopted | 2024-03-01 | Connection leak |
"""


def test_experiment_lesson_and_practice_tables() -> None:
    record = parse(STRUCTURED_TABLES)
    assert [
        (e.hypothesis, e.outcome.value, e.finding, e.tested_causes) for e in record.experiments
    ] == [
        ("DB CPU was saturated", "refuted", "CPU at 40%", ["DB CPU saturation"]),
        (
            "Connections leaked",
            "confirmed",
            "leak on error path",
            ["Connection leak", "Small pool"],
        ),
        ("the pool size was too small.", "confirmed", "20 connections for 60 workers", []),
    ]
    assert record.experiments[0].method == "read metrics"
    assert [(lesson.text, lesson.adopted_as) for lesson in record.lessons] == [
        ("Alert on pool saturation", ["Pool saturation alerting"])
    ]
    (practice,) = record.practices
    assert (practice.name, practice.description, practice.status.value) == (
        "Pool saturation alerting",
        "Page at 80%",
        "adopted",
    )
    assert practice.adopted_at is not None and practice.adopted_at.isoformat() == "2024-03-01"
    assert practice.addresses == ["Connection leak"]


def test_a_document_without_sections_still_has_title_and_summary() -> None:
    record = parse(
        "Printer down\n\nThe label printer in the warehouse stopped printing for a whole shift.\n",
        path="dir/2025-06-10-label_printer.md",
    )
    assert record.title == "2025 06 10 label printer"
    assert (
        record.summary == "The label printer in the warehouse stopped printing for a whole shift."
    )
    assert record.occurred_at is not None and record.occurred_at.date().isoformat() == "2025-06-10"
    empty = parse("# Only a title\n")
    assert (empty.title, empty.summary) == ("Only a title", "Only a title")


def test_prose_root_cause_is_named_by_its_first_sentence_and_a_factor_is_its_own() -> None:
    record = parse(
        "# T\n\n## Root cause\nThe job config used a duplicated label. Validation rejected it.\n\n"
        "It was not caught in presubmit.\n"
    )
    root, factor = record.causes
    assert (root.name, root.role.value) == ("The job config used a duplicated label", "root")
    assert root.description is not None and "Validation rejected it" in root.description
    assert (factor.name, factor.role.value) == ("It was not caught in presubmit", "contributing")


def test_bold_bullet_fields_and_toml_front_matter() -> None:
    record = parse(
        '+++\ntitle = "DNS records deleted"\n[extra]\nteam = "x"\n+++\n'
        "- **Impact**: two sites down\n"
        "- **Time to repair**: 2h\n"
        "- **Resolution**:\n  - restored the records\n"
        "- **Review actions**:\n  - add an alert\n"
    )
    assert record.title == "DNS records deleted"
    assert record.impact == "two sites down"
    assert record.resolution == "restored the records"
    assert [a.text for a in record.actions] == ["add an alert"]
    assert record.summary == "two sites down"


def test_bullets_with_lazy_and_nested_continuations() -> None:
    record = parse(
        "# T\n## Lessons learned\n- first lesson that wraps\nonto a second line\n"
        "  - with a detail\n- second lesson\n\n  still the second lesson\n"
    )
    assert [lesson.text for lesson in record.lessons] == [
        "first lesson that wraps onto a second line; with a detail",
        "second lesson still the second lesson",
    ]


def test_code_fences_hide_headings() -> None:
    record = parse("# T\n## Summary\nReal summary.\n```\n## Root cause\nnot a heading\n```\n")
    assert record.causes == []
    assert record.summary == "Real summary."


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("see [the docs](https://x.y) now", "see the docs now"),
        ("**bold** and _em_ and `code`", "bold and em and code"),
        ("a<br/>b <b>c</b>", "a b c"),
        ("ref [hook] link", "ref hook link"),
        ("> quoted", "quoted"),
    ],
)
def test_inline_markup_is_removed(markdown: str, plain: str) -> None:
    assert clean_inline(markdown) == plain


@given(st.text(st.characters(exclude_characters="<>[*_~`&\xa0")))
def test_text_without_markup_characters_is_cleaned_as_any_text(text: str) -> None:
    # An entity sends the text through every markup rule; none may change it.
    assert clean_inline(text + " &amp;") == (clean_inline(text) + " &").strip()


def test_heading_normalisation() -> None:
    assert normalise_heading("3. Root Causes:") == "root causes"
    assert normalise_heading("What didn’t go so well?") == "what didn't go so well"


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("---\ntitle: x\n", "never ends", 1),
        ("---\n- a list\n---\nbody", "must be a mapping", 2),
        ("---\ntitle: x\nsummary: y\n  bad: indent\n---\n", "not valid YAML", 4),
        ("---\noccurred_at: yesterday\n---\n# T\n\nSome summary text.\n", "occurred_at", None),
    ],
)
def test_bad_front_matter_is_reported_with_a_line(text: str, reason: str, line: int | None) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert reason in caught.value.reason
    assert caught.value.line == line
