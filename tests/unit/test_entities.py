"""Stage 4 of extraction (ingest/entities.py) on short documents written for each rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pytest

from lessons.ingest.entities import Mention, Metadata, find_components, find_metadata


def names(text: str, known: Iterable[str] = ()) -> list[str]:
    return [m.name for m in find_components(text, known=known)]


def lower_names(text: str) -> set[str]:
    return {n.lower() for n in names(text)}


def line_of(mentions: list[Mention], name: str) -> int:
    lines: list[int] = [m.line for m in mentions if m.name == name]
    assert lines, f"{name} not found"
    return lines[0]


# --- components: where they come from ---------------------------------------------------------


def test_metadata_line_names_components_as_written() -> None:
    text = "Status: final<br> Component: www.example.dev web site<br> Owner: @kim\n"
    found = find_components(text)
    assert [m.name for m in found] == ["example.dev web site"]
    assert found[0].line == 1


def test_services_affected_line_is_split_into_components() -> None:
    text = "# Checkout slow\n\nServices affected: billing-api, ledger-worker; Search\n"
    assert {"billing-api", "ledger-worker", "Search"} <= set(names(text))


def test_header_table_names_the_application() -> None:
    text = "| Date | 4 March 2021 |\n| --- | --- |\n| Application/process: | Quota store |\n"
    assert "Quota store" in names(text)


def test_front_matter_services_are_components() -> None:
    text = "---\ntitle: Queue backlog\nservices: [order-router, Payments]\n---\nIt was slow.\n"
    found = find_components(text)
    assert {"order-router", "Payments"} <= {m.name for m in found}
    assert line_of(found, "Payments") == 3  # the line of the `services:` key


def test_vocabulary_gives_the_canonical_name_once() -> None:
    text = (
        "# DNS failures\n\n"
        "The coredns pods crash-looped after the k8s upgrade.\n"
        "CoreDNS was rolled back; Kubernetes recovered.\n"
        "Traffic through the Application Load Balancer and the ALBs dropped.\n"
    )
    found = names(text)
    assert found.count("CoreDNS") == 1
    assert found.count("Kubernetes") == 1
    assert found.count("AWS ALB") == 1


def test_first_line_of_a_component_is_where_it_is_first_named() -> None:
    text = "# Outage\n\nAll fine.\n\nThen Redis filled up.\n\nRedis was restarted.\n"
    assert line_of(find_components(text), "Redis") == 5


def test_common_words_in_the_vocabulary_count_only_as_names() -> None:
    text = "# Upgrade\n\nThe Helm chart of Flux was bumped.\n\nWe will flux the helm of the ship.\n"
    assert {"Helm", "Flux"} <= set(names(text))
    assert names("# Sailing\n\nWe will flux the helm of the ship.\n") == []


def test_known_components_match_case_insensitively_on_word_boundaries() -> None:
    text = "# Slow\n\nThe LEDGER-sync job lagged behind; ledger-syncer was fine.\n"
    found = names(text, known=["ledger-sync", "Quota Keeper"])
    assert found.count("ledger-sync") == 1
    assert "Quota Keeper" not in found


def test_code_spans_name_components() -> None:
    text = (
        "# Deploy broke\n\n"
        "The `billing-gateway` and the `tools` cluster went down; `hook` pods restarted.\n"
    )
    found = lower_names(text)
    assert {"billing-gateway", "tools cluster", "hook pods"} <= found


def test_identifiers_camel_case_hosts_and_kebab_service_names() -> None:
    text = (
        "# Outage\n\n"
        "Builds on status.example.org failed while QuotaKeeper restarted.\n"
        "The payments-api and the ledger-worker timed out.\n"
    )
    found = set(names(text))
    assert {"status.example.org", "QuotaKeeper", "payments-api", "ledger-worker"} <= found


def test_named_compounds_are_components() -> None:
    text = (
        "# Node deletion\n\n"
        "The Hellman Kubernetes cluster lost its nodes and the KIAM agents crashed.\n"
    )
    found = lower_names(text)
    assert "hellman kubernetes cluster" in found
    assert "kiam agents" in found


# --- components: what is never one ------------------------------------------------------------


def test_people_are_not_components() -> None:
    text = (
        "---\nauthor: JaneDoeSmith\n---\n"
        "# Outage\n\n"
        "Created by: Ann McQuaid\n\n"
        "The payments-api failed.\n\n"
        "[QuietRiver](https://github.com/QuietRiver) restarted it; @OnCallBot paged.\n"
        "\n## Attendees\n\n- ZedRunner\n"
    )
    found = set(names(text))
    assert "payments-api" in found
    assert not found & {"JaneDoeSmith", "QuietRiver", "McQuaid", "OnCallBot", "ZedRunner"}


def test_companies_and_generic_words_are_not_components() -> None:
    text = (
        "# Outage at Google and Amazon\n\n"
        "The cluster and the server failed; users saw errors from AWS and Microsoft.\n"
        "The database and the network were fine.\n"
    )
    assert names(text) == []


def test_the_x_service_and_x_are_one_component() -> None:
    text = "# Outage\n\nThe checkout-api service failed. Later checkout-api recovered.\n"
    assert lower_names(text) == {"checkout-api service"} or lower_names(text) == {"checkout-api"}


def test_plurals_are_one_component() -> None:
    text = "# Outage\n\nThe ledger-workers stalled.\n\nOne ledger-worker kept going.\n"
    assert len(names(text)) == 1


def test_log_output_in_code_blocks_is_not_read() -> None:
    text = (
        "# Crash\n\nThe hook restarted.\n\n"
        "```\n"
        '2024-01-02T10:00:00Z ERROR {"component":"quota-proxy","msg":"crash"}\n'
        "E0102 10:00:01 Kafka broker unreachable: error: timeout\n"
        "```\n"
    )
    found = lower_names(text)
    assert "kafka" not in found
    assert "quota-proxy" not in found


def test_commands_in_code_blocks_may_name_technologies() -> None:
    text = "# Build\n\nImages were rebuilt.\n\n```bash\ndocker buildx build -t app .\n```\n"
    assert "Docker" in names(text)


def test_action_items_and_references_name_no_components() -> None:
    text = (
        "# Outage\n\nThe ledger-api failed.\n\n"
        "## Action items\n\n- Add Prometheus alerts for the queue-router\n\n"
        "## References\n\n- Grafana docs\n"
    )
    found = lower_names(text)
    assert "ledger-api" in found
    assert not found & {"prometheus", "queue-router", "grafana"}


def test_code_hosts_where_things_were_reported_are_not_components() -> None:
    text = "# Outage\n\nThe ledger-api failed.\n\n## Detection\n\nUsers reported it on GitHub.\n"
    assert "GitHub" not in names(text)
    text = "# Outage\n\nThe ledger-api stopped answering GitHub webhooks.\n"
    assert "GitHub" in names(text)


def test_collaboration_tools_count_only_in_the_title() -> None:
    text = "# Outage\n\nThe ledger-api failed; we talked on Slack and paged via PagerDuty.\n"
    assert not {"Slack", "PagerDuty"} & set(names(text))
    assert "Slack" in names("# Slack outage\n\nMessages were delayed.\n")


def test_versions_and_file_names_are_not_components() -> None:
    text = "# Outage\n\nWe upgraded to `v1.15.3` and edited `config.yaml` and `setup.py`.\n"
    assert names(text) == []


# --- metadata: incident date --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Date: 2022-04-20", date(2022, 4, 20)),
        ("Date: 2022/04/20", date(2022, 4, 20)),
        ("Date: 20 April 2022", date(2022, 4, 20)),
        ("Date: April 20th, 2022", date(2022, 4, 20)),
        ("Date: Monday 12th July 2021", date(2021, 7, 12)),
        ("Incident date: 3. February 2020", date(2020, 2, 3)),
        ("**Date**: Mar 5, 2024", date(2024, 3, 5)),
    ],
)
def test_date_formats(line: str, expected: date) -> None:
    meta = find_metadata(f"# Something broke\n\n{line}\n\nIt broke.\n")
    assert meta.incident_date == expected
    assert meta.incident_date_line == 3


def test_front_matter_start_time_wins_over_publication_date() -> None:
    text = "---\ntitle: Queue outage\ndate: 2024-07-08\nstart_time: 2024-06-28T07:09:00Z\n---\n"
    meta = find_metadata(text + "Hello.\n")
    assert meta.incident_date == date(2024, 6, 28)
    assert meta.incident_date_line == 4


def test_blog_publication_date_is_not_the_incident_date() -> None:
    text = (
        "---\ntitle: Incident report\nauthors: [kim]\ndate: 2024-07-08\n---\n\n"
        "On June 28, 2024 we were told that a token had leaked.\n"
    )
    meta = find_metadata(text)
    assert meta.incident_date == date(2024, 6, 28)
    assert meta.incident_date_line == 7


def test_date_in_the_title() -> None:
    meta = find_metadata("# Incident on 2022-01-22 - records deleted\n\nPublished 2022-02-01.\n")
    assert meta.incident_date == date(2022, 1, 22)
    assert meta.incident_date_line == 1


def test_timeline_first_day_beats_a_later_report_date() -> None:
    text = (
        "# Data inconsistency\n\n| Authors | kim |\n|---|---|\n| Date | 2022-04-20 |\n\n"
        "## Timeline\n\n| Date | Event |\n|---|---|\n"
        "| 2021-05-08 | Bad change merged |\n| 2022-03-08 | First report |\n"
    )
    meta = find_metadata(text)
    assert meta.incident_date == date(2021, 5, 8)
    assert meta.incident_date_line == 11


def test_last_modified_and_created_are_not_incident_dates() -> None:
    text = (
        "# Prow outage\n\nCreated: 2019-02-01\nLast Modified: 2019-02-03\n\n"
        "## Timeline\n\n- 2019-01-23 04:49 first report\n"
    )
    assert find_metadata(text).incident_date == date(2019, 1, 23)


def test_opening_date_without_year_takes_the_year_from_the_document() -> None:
    text = (
        "# KIAM disruption\n\n## Summary\n\nOn 17. November, KIAM was upgraded.\n\n"
        "## Timeline\n\n| Time | Event |\n|---|---|\n| 2020-11-17 10:45 | KIAM upgraded |\n"
    )
    meta = find_metadata(text)
    assert meta.incident_date == date(2020, 11, 17)


def test_weekday_in_the_opening_picks_the_timeline_day() -> None:
    text = (
        "# Bad image\n\n## Summary\n\nOn Monday the nodes were replaced.\n\n## Timeline\n\n"
        "| Time | Event |\n|---|---|\n"
        "| 2022-10-29 01:02 | Image released |\n| 2022-10-31 07:30 | Nodes replaced |\n"
    )
    meta = find_metadata(text)
    assert meta.incident_date == date(2022, 10, 31)  # a Monday; the 29th is a Saturday
    assert meta.incident_date_line == 12


def test_no_date_stated() -> None:
    meta = find_metadata("# Something broke\n\nIt broke over the past few days.\n")
    assert meta == Metadata(None, None, None, None, None, None)


# --- metadata: severity and team ----------------------------------------------------------------


def test_severity_as_written() -> None:
    assert find_metadata("# X\n\nSeverity: Sev 1\n").severity == "Sev 1"
    assert find_metadata("# X\n\n| Priority | P2 |\n|---|---|\n").severity == "P2"
    assert find_metadata("---\nseverity: major\n---\n# X\n").severity == "major"
    meta = find_metadata("# X\n\nIt was declared a SEV-2 at 10:00.\n")
    assert (meta.severity, meta.severity_line) == ("SEV-2", 3)


def test_action_item_priorities_are_not_severity() -> None:
    text = "# X\n\n## Action items\n\n| Item | Priority |\n|---|---|\n| Add alerts | P0 |\n"
    assert find_metadata(text).severity is None


def test_team_from_a_metadata_line_or_front_matter() -> None:
    meta = find_metadata("# X\n\nTeam: Platform\n")
    assert (meta.team, meta.team_line) == ("Platform", 3)
    text = '+++\ntitle = "DNS outage"\n[extra]\nteam = "The Infra Team"\n+++\nHello.\n'
    assert find_metadata(text).team == "The Infra Team"


def test_owner_that_is_a_person_is_not_a_team() -> None:
    assert find_metadata("Status: final<br> Owners: @kim\n\n# X\n").team is None
    assert find_metadata("# X\n\nOwner: Storage SRE team\n").team == "Storage SRE team"


def test_team_from_prose() -> None:
    text = (
        "# X\n\nWhen alerted, the SRE team rolled back the change.\n\n"
        "We were notified by PAX team. The SRE team then fixed it.\n"
    )
    meta = find_metadata(text)
    assert meta.team == "SRE team"
    assert meta.team_line == 3


def test_affected_teams_are_not_the_owning_team() -> None:
    text = "# X\n\nWe were notified by PAX team; it was confirmed by PAX team.\n"
    assert find_metadata(text).team is None
