"""Reading postmortems the way people write them: each stage alone, then the whole reader,
on short documents written for each rule (none copied from the corpus)."""

from __future__ import annotations

import pytest

from lessons.graph.errors import ParseError
from lessons.ingest.headings import own_field, place
from lessons.ingest.markdown import read_structure
from lessons.ingest.parsers import parse_document
from lessons.ingest.record import PostmortemRecord
from lessons.ingest.sentences import (
    concise_name,
    cue_kind,
    has_content,
    is_instruction,
    outcome_of,
    rule_name,
    sets_rule,
    split_sentences,
)


def parse(text: str, path: str = "doc.md") -> PostmortemRecord:
    (record,) = parse_document(text, path, ".md")
    return record


# --- stage 2: headings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "field"),
    [
        ("Follow-up", "actions"),
        ("What we learnt", "lessons"),
        ("Corrective and preventative measures", "actions"),
        ("Root cause of the outage", "root"),
        ("Root cause remediations", "actions"),
        ("Timeline (times in BST)", "timeline"),
        ("Things that went right", "went_well"),
        ("Where we got lucky", "lucky"),
        ("Why wasn't this caught earlier?", "contributing"),
        ("How did we respond?", "resolution"),
        ("Attendees", "ignored"),
        ("Time to repair", "ignored"),
        ("Coordinated slashings", None),
    ],
)
def test_headings_are_placed_by_their_words(heading: str, field: str | None) -> None:
    assert own_field(heading) == field


def test_sub_headings_inherit_only_where_templates_nest() -> None:
    headings = [
        ("Action items", None),
        ("Process", 0),
        ("Timeline", None),
        ("22:05 UTC: root cause found", 2),
        ("Summary", None),
        ("Background", 4),
        ("Appendix", None),
        ("Chat log", 6),
    ]
    fields = place(headings)
    assert fields == [
        "actions",
        "actions",
        "timeline",
        "timeline",
        "summary",
        "summary",
        "ignored",
        "ignored",
    ]


# --- stage 3: sentences --------------------------------------------------------------------


def test_sentences_split_after_full_stops_but_not_abbreviations_or_versions() -> None:
    text = (
        "We upgraded to v1.14.2 on Monday. E.g. the proxy failed, i.e. it crashed. "
        "Then we rolled back."
    )
    assert split_sentences(text) == [
        "We upgraded to v1.14.2 on Monday.",
        "E.g. the proxy failed, i.e. it crashed.",
        "Then we rolled back.",
    ]


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("The root cause for this incident is a bug in our deploy script.", "root"),
        ("The outage was caused by an expired certificate on the proxy.", "root"),
        ("A scheduled cluster upgrade started the trouble.", "trigger"),
        ("We first suspected the load balancer, but its logs were clean.", "experiment"),
        ("Restarting the pods did not help.", "experiment"),
        ("From now on every schema change must go through a dry run.", "practice"),
        ("We will add an alert on queue depth.", "action"),
        ("We learned that canaries need real traffic.", "lesson"),
        ("The on-call engineer quickly identified the bad release.", "went_well"),
        ("Users saw errors for twenty minutes.", None),
        ("The payments team confirmed that everything is working as expected.", None),
        ("We confirmed that the new proxy build was dropping headers.", "experiment"),
    ],
)
def test_cue_phrases_say_what_a_sentence_states(sentence: str, kind: str | None) -> None:
    assert cue_kind(sentence) == kind


@pytest.mark.parametrize(
    ("sentence", "outcome"),
    [
        ("We suspected DNS, but it was ruled out by a manual lookup.", "refuted"),
        ("Restarting the proxy did not resolve the issue.", "refuted"),
        ("The downgrade was tried, which solved the issue.", "confirmed"),
        ("We suspected the cache layer.", "inconclusive"),
    ],
)
def test_a_tested_hypothesis_has_the_outcome_its_words_say(sentence: str, outcome: str) -> None:
    assert outcome_of(sentence) == outcome


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        (
            "The root cause for this incident is a bug in our NFS deployment process.",
            "A bug in our NFS deployment process",
        ),
        (
            "Checkout failed because the connection pool was exhausted by a retry storm.",
            "The connection pool was exhausted by a retry storm",
        ),
        ("A bad AMI (recalled later by the vendor) caused all nodes to fail.", "A bad AMI"),
        (
            "This was caused by a config push that removed every DNS record, which took an hour.",
            "A config push that removed every DNS record",
        ),
        (
            "The root cause was identified as two conflicting ACL policies on one bucket.",
            "Two conflicting ACL policies on one bucket",
        ),
        (
            "Their credentials had expired for security reasons, and the status page was hosted "
            "on the very services that were down.",
            "Their credentials had expired for security reasons",
        ),
    ],
)
def test_cause_names_are_the_cause_not_the_sentence(sentence: str, name: str) -> None:
    assert concise_name(sentence) == name


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        (
            "During the scheduled database upgrade we were told by the billing team that some "
            "of their nightly jobs had stalled.",
            "During the scheduled database upgrade we were told by the billing team",
        ),
        (
            "It looked like the registry's pull quota kicked in even though we had raised it "
            "last month.",
            "It looked like the registry's pull quota kicked in",
        ),
        (
            "Our base images were pinned to the newest kernel build as soon as it was "
            "published upstream.",
            "Our base images were pinned to the newest kernel build",
        ),
        (
            "Every worker in the eastern pool and the western pool restarted in the same "
            "minute of the rollout.",
            "Every worker in the eastern pool and the western pool restarted",
        ),
        (
            "A weekend flash sale in which every listing cost one euro drew ten times the "
            "traffic we had planned for.",
            "A weekend flash sale",
        ),
        (
            "It is worth saying plainly that a typo is never a root cause on its own.",
            "It is worth saying plainly that a typo is never a root cause",
        ),
    ],
)
def test_a_long_name_is_cut_where_a_clause_ends_not_on_a_small_word(
    sentence: str, name: str
) -> None:
    assert concise_name(sentence) == name


def test_instructions_and_empty_answers_are_not_content() -> None:
    assert is_instruction("Describe the impact on users here.")
    assert is_instruction("Ideally these should result in concrete action items.")
    assert is_instruction("TBD")
    assert not has_content("No.")
    assert has_content("No alert fired for the full disk.")


def test_rules_are_told_from_one_off_tasks() -> None:
    assert sets_rule("Add an alert when free disk space drops below 10%")
    assert sets_rule("Every release must be tested in staging first")
    assert not sets_rule("Restore the deleted DNS records")


# --- the whole reader ----------------------------------------------------------------------

REAL_LAYOUT = """<!-- more -->
# Search API outage

Date: 2025-03-04
Severity: Sev 2

## Summary
A planned upgrade of the search cluster removed its index settings.&nbsp;Searches failed
for 50 minutes; see <https://status.example.com/incidents/42> for the status page.

## Root cause of the outage
The root cause for this incident is a bug in our index migration script.

The race happens in three steps:

1. the migration deletes the old index
2. the alias still points at it
3. queries fail until the alias moves

## What went well
- The on-call engineer was paged within two minutes.

## Where we got lucky
- It happened outside the sales peak.

## What we learnt
- Index migrations need a rehearsal on a copy of production.

## Follow-up
- [ ] Add an alert on search error rate above 5% (owner: dana)
- [x] Restore the index settings

## Timeline (times in UTC)
- 10:02 - upgrade starts
- 10:10 - we suspected the load balancer, but its logs were clean
"""


def test_a_postmortem_in_its_own_layout_becomes_a_rich_record() -> None:
    record = parse(REAL_LAYOUT)
    assert record.title == "Search API outage"
    assert record.occurred_at is not None and record.occurred_at.date().isoformat() == "2025-03-04"
    assert record.severity == "Sev 2"
    assert "https://status.example.com/incidents/42" in record.summary
    assert "&nbsp;" not in record.summary and "<!--" not in record.summary
    causes = {(c.name, c.role.value) for c in record.causes}
    assert ("A bug in our index migration script", "root") in causes
    assert any(c.role.value == "trigger" and "planned upgrade" in c.name for c in record.causes)
    assert record.went_well == ["The on-call engineer was paged within two minutes."]
    assert record.lucky == ["It happened outside the sales peak."]
    assert [lesson.text for lesson in record.lessons] == [
        "Index migrations need a rehearsal on a copy of production."
    ]
    assert [(a.text, a.owner, a.status) for a in record.actions] == [
        ("Add an alert on search error rate above 5%", "dana", "open"),
        ("Restore the index settings", None, "done"),
    ]
    [experiment] = record.experiments
    assert "load balancer" in experiment.hypothesis and experiment.outcome.value == "refuted"


def test_a_rule_becomes_a_practice_linked_to_where_it_came_from() -> None:
    record = parse(REAL_LAYOUT)
    alert = next(p for p in record.practices if "alert" in p.name.lower())
    assert record.actions[0].implements == alert.name
    assert alert.description == "Add an alert on search error rate above 5%"
    assert all(p.name != "Restore the index settings" for p in record.practices)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Setup alerting for elevated error rates", "Alerting for elevated error rates"),
        (
            "An idea would be to keep staging and production on separate clusters.",
            "Keep staging and production on separate clusters",
        ),
        (
            "We could pin every chart version in the repository.",
            "Pin every chart version in the repository",
        ),
    ],
)
def test_a_practice_is_named_by_the_rule_not_the_words_that_propose_it(
    text: str, name: str
) -> None:
    assert rule_name(text) == name


def test_a_lesson_sets_a_rule_only_when_it_says_what_to_do() -> None:
    record = parse(
        "# T\n\n## Lessons learned\n"
        "- We have a pull rate limit on the registry that can bite during node rollovers.\n"
        "- Every chart upgrade should be tried in staging first.\n"
    )
    assert [p.description for p in record.practices] == [
        "Every chart upgrade should be tried in staging first."
    ]
    assert [lesson.adopted_as for lesson in record.lessons] == [[], [record.practices[0].name]]


def test_every_item_says_where_it_was_read() -> None:
    record = parse(REAL_LAYOUT)
    lines = REAL_LAYOUT.split("\n")
    for item in [*record.causes, *record.lessons, *record.actions, *record.experiments]:
        assert item.source is not None
        assert item.source.line_start <= item.source.line_end
        span = "\n".join(lines[item.source.line_start - 1 : item.source.line_end])
        assert span.strip(), item
    [lesson] = record.lessons
    assert lesson.source is not None
    assert (lesson.source.section, lesson.source.line_start) == ("What we learnt", 27)


def test_a_numbered_scenario_is_one_cause_and_a_lead_in_list_holds_its_kind() -> None:
    record = parse(
        "# T\n\n## Root cause\n1. the job starts twice\n2. both copies take the lock\n"
        "3. the second overwrites the first\n\n## Notes\n"
        "The lessons we are taking away from this are as follows:\n\n"
        "- Locks need an owner id.\n- Jobs need idempotency keys.\n"
    )
    [cause] = record.causes
    assert cause.name == "the job starts twice"
    assert cause.description is not None and "overwrites" in cause.description
    assert [lesson.text for lesson in record.lessons] == [
        "Locks need an owner id.",
        "Jobs need idempotency keys.",
    ]


def test_question_and_answer_sections_keep_answers_not_questions() -> None:
    record = parse(
        "# T\n\n## Summary\nThe nightly export stopped.\n\n"
        "#### Were we alerted quickly?\nNo.\n\n"
        "#### Why wasn't this caught before it reached prod?\n"
        "- The export had no test against a full-size dataset\n"
    )
    assert [c.name for c in record.causes] == ["The export had no test against a full-size dataset"]
    assert record.detection is None or "No" not in record.detection.split()


@pytest.mark.parametrize(
    "template",
    [
        "# Incident Title\n\n## Summary\nDescribe what happened here.\n\n## Action items\n- TBD\n",
        "# Title (incident #)\n\n## Root causes\n\n## Lessons learned\n",
    ],
)
def test_an_empty_template_is_refused_with_the_reason(template: str) -> None:
    with pytest.raises(ParseError, match="empty postmortem template"):
        parse(template)


def test_structure_keeps_line_spans_of_bullets_and_paragraphs() -> None:
    _, sections = read_structure(
        "# T\n\n## A\n- one\n  more\n- two\n\nA paragraph\nof two lines.\n", 1
    )
    blocks = sections[-1].blocks
    assert [(b.kind, b.text, b.first, b.last) for b in blocks] == [
        ("bullet", "one more", 4, 5),
        ("bullet", "two", 6, 6),
        ("paragraph", "A paragraph of two lines.", 8, 9),
    ]


def test_steps_after_prose_that_names_the_cause_describe_it() -> None:
    record = parse(
        "# T\n\n## Root cause\nThe root cause was a race between two deploys.\n\n"
        "1. deploy one starts the migration\n2. deploy two starts it again\n"
    )
    [cause] = record.causes
    assert cause.name == "A race between two deploys"
    assert cause.description is not None and "starts it again" in cause.description
    assert cause.source is not None and (cause.source.line_start, cause.source.line_end) == (4, 7)


@pytest.mark.parametrize("section", ["Summary", "Root cause"])
def test_a_sentence_with_a_colon_is_named_by_what_it_names_not_its_lead_in(section: str) -> None:
    record = parse(
        f"# T\n\n## {section}\n"
        "The root cause was thread pool starvation in the dispatcher: blocking calls held "
        "every worker thread.\n"
    )
    assert [c.name for c in record.causes] == ["Thread pool starvation in the dispatcher"]
    assert record.causes[0].description == "blocking calls held every worker thread."
