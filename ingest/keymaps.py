"""Structured imports are mappings, not schemas: another tool's JSON or YAML -> our record.

An incident tool's export (incident.io, FireHydrant, Rootly, PagerDuty, Jira, Dispatch) or a
hand-written YAML file with its own keys is read by *key aliases*, not rejected for not being
a `PostmortemRecord`:

- `split_records(data)` finds the postmortems in a parsed file: a list, a tool's page of
  results (`{"incidents": [...]}`, JSON:API `{"data": [...]}`, Jira `{"issues": [...]}`), or
  one object.
- `map_fields(data, keymap=None) -> (fields, warnings)` maps one of them onto the fields of
  the canonical record: wrappers are opened (`{"incident": {...}}`, JSON:API
  `data.attributes`, Jira `fields`, PagerDuty webhook `event.data`), each key is looked up in
  the user's map (if given), then the detected tool's map, then the generic aliases
  (`name`/`headline` -> title, `description` -> summary, `started_at`/`created_at` ->
  occurred_at, `services` -> components, `root_causes` -> causes, `follow_ups` -> actions...),
  and values are coerced (`severity: {"name": "SEV1"}` -> `SEV1`, `components: [{"name":
  ...}]` -> names, `"ruled out"` -> refuted, dates in common formats, numbers as text).
  What no alias claims is kept, as `key: value` lines in `notes`, and named in a warning.
- `load_keymap(text)` reads a user's own map (`their.key: our_field` lines, docs/format.md).

Everything here is a pure function of its arguments; nothing is read from disk and the
record itself is validated by the caller (ingest/parsers.py). Markdown front matter is a
dict too: `map_fields(front_matter)` maps it the same way.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from lessons.graph.errors import ValidationError
from lessons.graph.models import CauseRole
from lessons.ingest.record import (
    CAUSE_ROLE_WORDS,
    CAUSE_STATUS_WORDS,
    OUTCOME_WORDS,
    PRACTICE_STATUS_WORDS,
    coerce_enum,
    parse_date,
    parse_datetime,
)

# -- targets: the record's fields, plus a cause role, `notes` (kept quietly) and `ignore` -----

NOTES = "notes"
IGNORE = "ignore"
SHORT_TEXT = ("id", "title", "severity", "status", "detected_by", "team")
LONG_TEXT = ("summary", "impact", "detection", "resolution")
NAME_LISTS = ("components", "tags", "recurrence_of")
TEXT_LISTS = ("went_well", "lucky")
ITEM_LISTS = ("causes", "experiments", "lessons", "practices", "actions", "timeline")
CAUSE_ROLES = {
    "causes.root": CauseRole.ROOT,
    "causes.trigger": CauseRole.TRIGGER,
    "causes.contributing": CauseRole.CONTRIBUTING,
}
TARGETS = frozenset(
    [*SHORT_TEXT, *LONG_TEXT, "occurred_at", *NAME_LISTS, *TEXT_LISTS, *ITEM_LISTS, *CAUSE_ROLES]
) | {NOTES, IGNORE}

MAX_NOTE_VALUE = 500  # characters of one value kept in notes
MAX_NOTE_LINES = 200
MAX_DEPTH = 8  # how deep nested values are read


_CAMEL_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_NOT_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=4096, typed=True)  # one tool's documents repeat their keys
def normalize_key(key: object) -> str:
    """`customerImpactSummary`, `Customer impact summary` -> `customer_impact_summary`."""
    return _NOT_WORD.sub("_", _CAMEL_HUMP.sub(r"\1_\2", str(key)).lower()).strip("_")


def normalize_path(path: str) -> str:
    """A dotted path with every part normalised: `fields.Root Cause` -> `fields.root_cause`."""
    return ".".join(normalize_key(part) for part in path.split("."))


@dataclass(frozen=True)
class KeyMap:
    """Source keys (normalised dotted paths) -> record fields, for one tool or one user.

    `signature`: keys whose presence says a document is this tool's export (`^name` means
    "opened from the wrapper `name`"). `pairs`: lists of `{name, value}` objects whose items
    are read as keys of their own (incident.io custom fields), as (list key, name path, value
    path). `source`: the documented shape the map follows.
    """

    name: str
    fields: Mapping[str, str]
    source: str = ""
    signature: frozenset[str] = frozenset()
    pairs: tuple[tuple[str, str, str], ...] = ()


def make_keymap(
    name: str,
    fields: Mapping[str, str | Iterable[str]],
    *,
    source: str = "",
    signature: Iterable[str] = (),
    pairs: Iterable[tuple[str, str, str]] = (),
) -> KeyMap:
    """A `KeyMap` from `{their key: our field}` or `{our field: [their keys, ...]}` entries.

    In the second form the keys are listed most trusted first. Keys are normalised.
    """
    flat: dict[str, str] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            flat.setdefault(normalize_path(key), value)
        else:
            for source_key in value:
                flat.setdefault(normalize_path(source_key), key)
    return KeyMap(
        name=name,
        fields=flat,
        source=source,
        signature=frozenset(normalize_path(s) if s[0] != "^" else s for s in signature),
        pairs=tuple((normalize_key(k), normalize_path(n), normalize_path(v)) for k, n, v in pairs),
    )


# -- the generic aliases: keys people and tools use for our fields, most trusted first --------

GENERIC = make_keymap(
    "generic",
    {
        "id": ["id"],
        "title": (
            "title name headline subject incident_title incident_name postmortem_title"
            " short_description"
        ).split(),
        "summary": (
            "summary description details overview what_happened incident_summary"
            " executive_summary abstract synopsis problem problem_statement narrative body"
            " content"
        ).split(),
        "occurred_at": (
            "occurred_at occurred started_at start_time start started began_at impact_started"
            " impact_started_at impact_start customer_impact_start incident_start"
            " incident_date date when detected_at detected reported_at reported declared_at"
            " opened_at triggered_at created_at created timestamp time"
        ).split(),
        "severity": (
            "severity sev severity_level incident_severity priority incident_priority"
            " impact_level level urgency"
        ).split(),
        "status": "status state incident_status current_status stage phase".split(),
        "detected_by": (
            "detected_by detection_method detection_source detected_via discovered_by found_by"
        ).split(),
        "impact": (
            "impact customer_impact user_impact business_impact impact_summary"
            " impact_description customer_impact_summary customer_impact_scope blast_radius"
        ).split(),
        "detection": (
            "detection how_detected how_was_it_detected how_it_was_detected detection_details"
        ).split(),
        "resolution": (
            "resolution resolution_summary resolution_message how_resolved"
            " how_it_was_resolved mitigation mitigation_message remediation fix recovery"
            " workaround"
        ).split(),
        "team": (
            "team owning_team owner_team responsible_team team_name squad group teams groups"
        ).split(),
        "components": (
            "components component affected_components services service affected_services"
            " affected_service impacted_services systems system affected_systems"
            " impacted_systems functionalities affected_functionalities applications"
            " application technologies technology assets affected_assets products"
            " affected_products"
        ).split(),
        "tags": "tags tag labels label keywords categories category topics".split(),
        "causes": (
            "causes cause root_cause root_causes rootcause root_cause_analysis rca why"
            " underlying_causes"
        ).split(),
        "causes.trigger": (
            "trigger triggers triggering_event triggering_events proximate_cause immediate_cause"
        ).split(),
        "causes.contributing": (
            "contributing_factors contributing_factor contributing_causes contributors"
        ).split(),
        "experiments": (
            "experiments experiment hypotheses hypothesis investigation investigations"
        ).split(),
        "lessons": (
            "lessons lessons_learned lessons_learnt learnings takeaways key_takeaways"
            " what_we_learned key_learnings what_went_wrong what_went_poorly"
            " what_could_be_improved what_didn_t_go_well"
        ).split(),
        "went_well": ["went_well", "what_went_well", "things_that_went_well"],
        "lucky": ["lucky", "where_we_got_lucky", "got_lucky"],
        "practices": "practices adopted_practices process_changes practice_changes".split(),
        "actions": (
            "actions action_items action_item follow_ups follow_up followups"
            " follow_up_actions tasks todos to_dos remediation_items corrective_actions"
            " preventive_actions preventative_actions next_steps subtasks work_items"
            " action_plan"
        ).split(),
        "recurrence_of": "recurrence_of recurrences recurrence repeat_of".split(),
        "timeline": (
            "timeline events timeline_events incident_timeline chronology event_log"
        ).split(),
        NOTES: (
            "notes note comments remarks additional_notes updated_at updated modified_at"
            " last_updated resolved_at closed_at mitigated_at acknowledged_at stable_at"
        ).split(),
    },
)

# -- the tools: each map is what that tool's documented export calls our fields ---------------

# incident.io, API v2: `GET /v2/incidents/{id}` answers `{"incident": IncidentV2}` (name,
# summary, severity{name}, incident_status{name, category}, incident_type{name}, created_at,
# incident_timestamp_values[{incident_timestamp{name}, value{value}}], custom_field_entries
# [{custom_field{name}, values[{value_text | value_option{value} | value_catalog_entry{name}}]}],
# reference, permalink, ...); `GET /v2/follow_ups` answers FollowUpV2 (title, description,
# status, assignee{name}, priority{name}, completed_at). A bundle `{"incident": ...,
# "follow_ups": [...]}` is read as one postmortem. Custom fields and timestamps are read by
# their names ("Affected services", "Root cause", "Impact started"...).
# https://api-docs.incident.io/ (Incidents V2, Follow-ups V2), as generated in
# https://github.com/mustafabayar/incident-io-sdk/blob/main/docs/IncidentV2.md and FollowUpV2.md
INCIDENT_IO = make_keymap(
    "incident.io",
    {
        "title": ["name"],
        "summary": ["summary"],
        "severity": ["severity"],
        "status": ["incident_status"],
        "occurred_at": ["impact_started", "reported_at", "created_at"],
        "actions": ["follow_ups"],
        NOTES: (
            "id reference permalink incident_type mode visibility postmortem_document_url"
            " call_url slack_channel_id slack_channel_name slack_team_id creator"
            " incident_role_assignments duration_metrics external_issue_reference has_debrief"
            " updated_at workload_minutes_late workload_minutes_sleeping"
            " workload_minutes_total workload_minutes_working"
        ).split(),
    },
    source="https://api-docs.incident.io/ (IncidentV2, FollowUpV2)",
    signature=(
        "incident_status reference custom_field_entries incident_role_assignments"
        " incident_timestamp_values permalink postmortem_document_url slack_channel_id"
        " slack_team_id call_url workload_minutes_total duration_metrics has_debrief"
    ).split(),
    pairs=[
        ("custom_field_entries", "custom_field.name", "values"),
        ("incident_timestamp_values", "incident_timestamp.name", "value.value"),
    ],
)

# PagerDuty: the incident of the REST API (`GET /incidents/{id}` -> `{"incident": {...}}`) and
# of v3 webhooks (`{"event": {"event_type": "incident.resolved", "data": {...}}}`): title,
# description, created_at, status, urgency, priority{summary}, service{summary},
# teams[{summary}], incident_number / number, incident_key, html_url, assignments /
# assignees, escalation_policy, conference_bridge, resolve_reason. References name things in
# `summary`; the incident's own `summary` is a display label ("[#1234] title"), kept in
# notes. Incident notes (`GET /incidents/{id}/notes` -> `{"notes": [{content, created_at}]}`)
# bundled alongside become the timeline.
# https://developer.pagerduty.com/docs/webhooks-overview (v3 payload, `incident` data type;
# source: github.com/PagerDuty/developer-docs docs/webhooks/01-Overview.md) and
# https://developer.pagerduty.com/api-reference/ ("Get an incident")
PAGERDUTY = make_keymap(
    "PagerDuty",
    {
        "title": ["title"],
        "summary": ["description", "body.details"],
        "occurred_at": ["created_at"],
        "severity": ["priority", "urgency"],
        "status": ["status"],
        "components": ["service", "impacted_services"],
        "team": ["teams"],
        "timeline": ["notes", "log_entries"],
        NOTES: (
            "id type summary self html_url incident_number number incident_key assignments"
            " assignees acknowledgements escalation_policy conference_bridge resolve_reason"
            " last_status_change_at last_status_change_by pending_actions alert_counts"
            " first_trigger_log_entry is_mergeable updated_at incident_type event_type"
            " resource_type occurred_at agent client"
        ).split(),
    },
    source="https://developer.pagerduty.com/docs/webhooks-overview",
    signature=(
        "incident_number urgency escalation_policy incident_key html_url assignments"
        " assignees acknowledgements conference_bridge resolve_reason last_status_change_at"
        " pending_actions alert_counts ^event"
    ).split(),
)

# FireHydrant: IncidentEntity of `GET /v1/incidents/{id}` (name, summary, description,
# customer_impact_summary, started_at, created_at, severity, priority, current_milestone,
# services / functionalities / environments [{name}], impacts[{type, impact{name}}],
# team_assignments[{team{name}}], tag_list, labels{}, milestones[{type, occurred_at}],
# incident_url, number) and TaskEntity of its tasks (title, description, state,
# assignee{name}, due_at), bundled as `tasks`.
# https://docs.firehydrant.com/reference (OpenAPI), as generated in
# https://github.com/firehydrant/firehydrant-typescript-sdk/blob/main/docs/models/components/incidententity.md
# and .../taskentity.md
FIREHYDRANT = make_keymap(
    "FireHydrant",
    {
        "title": ["name"],
        "summary": ["summary", "description"],
        "impact": ["customer_impact_summary"],
        "occurred_at": ["started_at", "created_at"],
        "severity": ["severity"],
        "status": ["current_milestone"],
        "components": ["services", "functionalities", "impacts"],
        "team": ["team_assignments"],
        "tags": ["tag_list", "labels"],
        "timeline": ["milestones"],
        "actions": ["tasks"],
        NOTES: (
            "id number priority environments incident_url private_status_page_url"
            " organization organization_id private_id role_assignments lifecycle_phases"
            " lifecycle_measurements severity_color severity_impact severity_condition active"
            " report_id channel_name channel_id channel_reference channel_status discarded_at"
            " ai_incident_summary customers_impacted monetary_impact monetary_impact_cents"
            " last_update created_by updated_at"
        ).split(),
    },
    source="https://docs.firehydrant.com/reference (IncidentEntity, TaskEntity)",
    signature=(
        "customer_impact_summary current_milestone milestones incident_url impacts tag_list"
        " lifecycle_phases role_assignments team_assignments severity_impact"
        " severity_condition severity_color private_id report_id ai_incident_summary"
        " monetary_impact customers_impacted discarded_at"
    ).split(),
)

# Rootly: JSON:API. `GET /v1/incidents/{id}` answers `{"data": {"id", "type": "incidents",
# "attributes": {title, summary, status, started_at, detected_at, created_at,
# severity{data{attributes{name}}}, services / functionalities / environments /
# groups [{data{attributes{name}}}], labels{}, mitigation_message, resolution_message, slug,
# sequential_id, url, kind, ...}}}`; related resources in `included` are read by their type:
# `incident_action_items` (summary, description, assigned_to{name}, status, priority,
# due_date), `causes` (name, description), `incident_events` (event, occurred_at).
# https://docs.rootly.com/api-reference (JSON:API), as generated in
# https://github.com/rootlyhq/rootly-python/blob/main/rootly_sdk/models/incident.py,
# incident_action_item.py and cause.py
ROOTLY = make_keymap(
    "Rootly",
    {
        "title": ["title"],
        "summary": ["summary"],
        "occurred_at": ["started_at", "detected_at", "created_at"],
        "severity": ["severity"],
        "status": ["status"],
        "components": ["services", "functionalities"],
        "team": ["groups"],
        "tags": ["labels"],
        "resolution": ["resolution_message", "mitigation_message"],
        "actions": ["incident_action_items", "action_items"],
        "causes": ["causes"],
        "timeline": ["incident_events"],
        NOTES: (
            "id type slug sequential_id kind url short_url public_title private source"
            " environments incident_types relationships links user parent_incident_id"
            " duplicate_incident_id retrospective_progress_status in_triage_at acknowledged_at"
            " mitigated_at resolved_at closed_at cancelled_at updated_at slack_channel_id"
            " slack_channel_name slack_channel_url cancellation_message"
        ).split(),
    },
    source="https://docs.rootly.com/api-reference (JSON:API incidents)",
    signature=(
        "^attributes mitigation_message resolution_message retrospective_progress_status"
        " sequential_id slack_channel_url public_title in_triage_at mitigated_at"
        " cancellation_message incident_action_items"
    ).split(),
)

# Jira (Cloud and Data Center REST API): an issue is IssueBean `{"id", "key", "self",
# "fields": {summary, description (a string in v2, Atlassian Document Format in v3),
# priority{name}, status{name}, issuetype{name}, components[{name}], labels[], created,
# resolutiondate, resolution{name}, assignee{displayName}, reporter, duedate,
# subtasks[{key, fields{summary, status{name}}}], customfield_NNNNN}, "names": {...}}`;
# with `expand=names`, custom fields are read by their display names ("Root cause",
# "Team"...). A search result `{"issues": [...]}` and a webhook `{"issue": {...}}` too.
# https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
JIRA = make_keymap(
    "Jira",
    {
        "title": ["summary"],
        "summary": ["description", "environment"],
        "occurred_at": ["created"],
        "severity": ["priority"],
        "status": ["status"],
        "components": ["components"],
        "tags": ["labels"],
        "actions": ["subtasks"],
        NOTES: (
            "id key self issuetype project resolution resolutiondate assignee reporter"
            " creator updated duedate issuelinks fix_versions versions watches votes"
            " timetracking lastViewed statuscategorychangedate webhook_event"
            " issue_event_type_name user changelog timestamp"
        ).split(),
        IGNORE: "names schema expand rendered_fields editmeta transitions".split(),
    },
    source="https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/",
    signature=(
        "^fields issuetype resolutiondate reporter issuelinks subtasks fix_versions"
        " timetracking watches votes creator statuscategorychangedate"
    ).split(),
)

# Dispatch (Netflix): IncidentRead of `GET /api/v1/{organization}/incidents/{id}`: title,
# description, resolution, status, summary, name (an identifier such as
# `dispatch-default-default-42`), reported_at, stable_at, closed_at, created_at,
# incident_severity{name}, incident_priority{name}, incident_type{name}, project{name},
# commander / reporter {individual{name, email}}, participants_team, tags[{name,
# tag_type{name}}], tasks[TaskRead: description, status, owner, assignees, resolve_by].
# https://github.com/Netflix/dispatch/blob/main/src/dispatch/incident/models.py (IncidentRead,
# TaskRead; the API's OpenAPI schema is generated from these models)
DISPATCH = make_keymap(
    "Dispatch",
    {
        "title": ["title"],
        "summary": ["description", "summary"],
        "resolution": ["resolution"],
        "occurred_at": ["reported_at", "created_at"],
        "severity": ["incident_severity"],
        "status": ["status"],
        "team": ["participants_team"],
        "tags": ["tags"],
        "actions": ["tasks"],
        NOTES: (
            "id name visibility incident_priority incident_type project commander reporter"
            " participants participants_location commanders_location reporters_location"
            " stable_at closed_at cost total_cost incident_costs documents incident_document"
            " incident_review_document storage conference conversation ticket terms duplicates"
            " cases events last_tactical_report last_executive_report workflow_instances"
        ).split(),
    },
    source="https://github.com/Netflix/dispatch/blob/main/src/dispatch/incident/models.py",
    signature=(
        "incident_priority incident_severity reported_at stable_at commander"
        " participants_team participants_location commanders_location incident_costs"
        " total_cost incident_review_document last_tactical_report last_executive_report"
    ).split(),
)

TOOL_KEYMAPS: tuple[KeyMap, ...] = (INCIDENT_IO, PAGERDUTY, FIREHYDRANT, ROOTLY, JIRA, DISPATCH)


def detect_keymap(keys: Iterable[str]) -> KeyMap | None:
    """The tool whose export has these (normalised) keys: at least two of its signature."""
    present = set(keys)
    best: KeyMap | None = None
    hits = 1
    for tool in TOOL_KEYMAPS:
        count = len(tool.signature & present)
        if count > hits:
            best, hits = tool, count
    return best


# -- finding the postmortems in a file --------------------------------------------------------

RECORD_LISTS = (
    "incidents",
    "postmortems",
    "post_mortems",
    "retrospectives",
    "issues",
    "records",
    "items",
    "results",
    "data",
)
PAGING = frozenset(
    "meta links pagination pagination_meta expand start_at max_results total is_last"
    " next_page_token page per_page offset limit more count next previous cursor after"
    " warning_messages".split()
)
WRAPPERS = ("incident", "postmortem", "post_mortem", "retrospective", "issue", "record", "event")


def split_records(data: Any) -> list[dict[str, Any]]:
    """The postmortem objects in a parsed file: a list of them, a page of a tool's results
    (`{"incidents": [...]}`, JSON:API `{"data": [...], "included": [...]}`, Jira
    `{"issues": [...], "names": {...}}`), or one object. Empty if there are none."""
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    if not isinstance(data, dict):
        return []
    keys = {normalize_key(k): k for k in data}
    if not _describes(keys):
        for name in RECORD_LISTS:
            items = _get(data, keys, name)
            if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
                shared = {
                    k: v
                    for k, v in data.items()
                    if k != keys[name] and normalize_key(k) not in PAGING
                }
                if name == "data" and all(isinstance(i.get("attributes"), dict) for i in items):
                    included = shared.pop("included", None)
                    return [
                        {**shared, "data": item, "included": _related(item, included)}
                        for item in items
                    ]
                return [{**shared, **item} for item in items]
    return [data]


def _describes(keys: Iterable[str]) -> bool:
    """True when a dict has a key that names or summarises a failure itself."""
    wanted = {k for k, target in GENERIC.fields.items() if target in ("title", "summary")}
    return any(k in wanted for k in keys)


def _related(resource: dict[str, Any], included: Any) -> list[Any]:
    """The `included` JSON:API resources that `resource` refers to or that refer to it."""
    if not isinstance(included, list):
        return []
    own = (resource.get("type"), resource.get("id"))
    refs = set(_references(resource.get("relationships")))
    return [
        other
        for other in included
        if isinstance(other, dict)
        and (
            (other.get("type"), other.get("id")) in refs
            or own in _references(other.get("relationships"))
        )
    ]


def _references(relationships: Any) -> list[tuple[Any, Any]]:
    found: list[tuple[Any, Any]] = []
    if not isinstance(relationships, dict):
        return found
    for related in relationships.values():
        data = related.get("data") if isinstance(related, dict) else None
        for ref in data if isinstance(data, list) else [data]:
            if isinstance(ref, dict):
                found.append((ref.get("type"), ref.get("id")))
    return found


# -- opening wrappers -------------------------------------------------------------------------


@dataclass
class _Layer:
    """Keys read at one level: the record itself (layer 0), then what its wrappers held.

    `quiet`: keys kept in notes as they are, never mapped (a JSON:API resource's `id`,
    `type`, `relationships`: its `id` is not our failure id).
    """

    values: dict[Any, Any]
    prefix: str  # normalised path from the document's root
    quiet: frozenset[str] = frozenset()


JSON_API_MEMBERS = frozenset(["id", "type", "relationships", "links", "meta", "lid"])


def _unwrap(data: Mapping[Any, Any]) -> tuple[list[_Layer], set[str]]:
    """The record inside its wrappers (first) and each wrapper's other keys, innermost first;
    and `^name` marks for the wrappers opened."""
    current: dict[Any, Any] = dict(data)
    prefix = ""
    outer: list[_Layer] = []
    marks: set[str] = set()
    for _ in range(MAX_DEPTH):
        step = _open(current)
        if step is None:
            break
        inner, siblings, path = step
        quiet = JSON_API_MEMBERS if path == "data.attributes" else frozenset()
        outer.append(_Layer(siblings, prefix, quiet))
        marks.add("^" + path.rsplit(".", 1)[-1])
        prefix = f"{prefix}.{path}" if prefix else path
        current = inner
    return [_Layer(current, prefix), *reversed(outer)], marks


def _get(data: Mapping[Any, Any], keys: Mapping[str, Any], name: str) -> Any:
    """`data`'s value under the key that normalises to `name`, or None."""
    return data[keys[name]] if name in keys else None


def _open(data: dict[Any, Any]) -> tuple[dict[Any, Any], dict[Any, Any], str] | None:
    """One wrapper opened: (inside, the wrapper's other keys, normalised path), or None."""
    keys = {normalize_key(k): k for k in data}
    inner = _get(data, keys, "data")
    if isinstance(inner, dict):
        siblings = {k: v for k, v in data.items() if k != keys["data"]}
        attributes = inner.get("attributes")
        if isinstance(attributes, dict):  # JSON:API resource object
            included = siblings.pop("included", None)
            siblings.update({k: v for k, v in inner.items() if k != "attributes"})
            siblings.update(_included_by_type(included))
            return dict(attributes), siblings, "data.attributes"
        if not _describes(keys):
            return dict(inner), siblings, "data"
    if _describes(keys):
        return None
    fields = _get(data, keys, "fields")
    if isinstance(fields, dict) and ({"key", "self", "id"} & set(keys)):  # Jira IssueBean
        names = _get(data, keys, "names")
        names = names if isinstance(names, dict) else {}
        renamed = {  # custom fields by their display names; Jira's own keep their keys
            (
                names[k]
                if str(k).startswith("customfield_") and isinstance(names.get(k), str)
                else k
            ): v
            for k, v in fields.items()
        }
        return renamed, {k: v for k, v in data.items() if k != keys["fields"]}, "fields"
    for name in WRAPPERS:
        inner = _get(data, keys, name)
        if isinstance(inner, dict):
            return dict(inner), {k: v for k, v in data.items() if k != keys[name]}, name
    return None


def _included_by_type(included: Any) -> dict[str, list[Any]]:
    """JSON:API `included` resources as lists of their attributes, by resource type."""
    grouped: dict[str, list[Any]] = {}
    if isinstance(included, list):
        for resource in included:
            if isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
                grouped.setdefault(str(resource.get("type") or "included"), []).append(
                    resource["attributes"]
                )
    return grouped


# -- values -----------------------------------------------------------------------------------

NAME_KEYS = (
    "name",
    "display_name",
    "title",
    "summary",
    "label",
    "value",
    "text",
    "value_text",
    "slug",
    "email",
    "email_address",
    "key",
)
NESTED_KEYS = (
    "data",
    "attributes",
    "fields",
    "individual",
    "user",
    "assignee",
    "team",
    "service",
    "impact",
    "value_option",
    "value_catalog_entry",
    "value_link",
    "value_numeric",
)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | dict) and not value)


def _scalar(value: Any) -> str | None:
    """Text of a scalar: numbers and dates as text; None for anything else or blank text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None


def name_of(value: Any, depth: int = 0) -> str | None:
    """The name a value stands for: text itself, or a nested object's name, title, summary,
    value... (`{"name": "SEV1"}`, `{"data": {"attributes": {"name": "API"}}}`, Jira's
    `{"displayName": ...}`, an Atlassian Document Format description)."""
    text = _scalar(value)
    if text is not None or not isinstance(value, dict) or depth > MAX_DEPTH:
        return text
    keys = {normalize_key(k): v for k, v in value.items()}
    if keys.get("type") == "doc" or (isinstance(keys.get("content"), list) and "type" in keys):
        return _adf_text(value) or None
    for key in NAME_KEYS:
        found = _scalar(keys.get(key))
        if found:
            return found
    for key in (*NAME_KEYS, *NESTED_KEYS):
        nested = keys.get(key)
        if isinstance(nested, dict):
            found = name_of(nested, depth + 1)
            if found:
                return found
    return None


def _adf_text(node: Any, depth: int = 0) -> str:
    """Plain text of an Atlassian Document Format node (Jira v3 rich text)."""
    if depth > 3 * MAX_DEPTH:
        return ""
    if isinstance(node, list):
        return "".join(_adf_text(child, depth + 1) for child in node)
    if not isinstance(node, dict):
        return ""
    if isinstance(node.get("text"), str):
        return str(node["text"])
    inner = _adf_text(node.get("content"), depth + 1)
    block = node.get("type") in ("paragraph", "heading", "listItem", "codeBlock", "blockquote")
    return f"{inner.strip()}\n" if block else inner


def text_of(value: Any, separator: str = "\n", depth: int = 0) -> str | None:
    """Text of a value: a scalar, a named object, or a list of them joined by `separator`."""
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            return None
        parts = [t for item in value if (t := text_of(item, separator, depth + 1))]
        return separator.join(parts) or None
    text = name_of(value)
    return (text.strip() or None) if text else None


BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


def _split_text(text: str, *, commas: bool) -> list[str]:
    """A string holding several items: bullet lines, or (for names) `a, b; c`."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and all(BULLET.match(line) for line in lines):
        return [BULLET.sub("", line).strip() for line in lines]
    if commas:
        return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]
    return [text.strip()]


# -- the mapping ------------------------------------------------------------------------------


class NothingDescribesAFailure(ValueError):
    """No title-like and no summary-like text anywhere in a document."""


@dataclass(order=True)
class _Candidate:
    priority: tuple[int, int, int]
    target: str = field(compare=False)
    path: str = field(compare=False)  # as written, for notes and warnings
    value: Any = field(compare=False)


@dataclass
class _Mapper:
    table: dict[str, tuple[str, int]]
    prefixes: set[str]
    candidates: list[_Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # top-level keys with a value, as written
    order: int = 0

    def walk(self, node: Mapping[Any, Any], layer: int, prefix: str, rel: str, shown: str) -> None:
        for key, value in node.items():
            if _is_empty(value):
                continue
            path = f"{rel}.{normalize_key(key)}" if rel else normalize_key(key)
            where = f"{shown}.{key}" if shown else str(key)
            if not rel and where not in self.seen:
                self.seen.append(where)
            hits = [self.table.get(path), self.table.get(f"{prefix}.{path}") if prefix else None]
            hit = min((h for h in hits if h is not None), key=lambda h: h[1], default=None)
            if hit is not None:
                target, rank = hit
                if target == NOTES and path != NOTES:
                    self.note(where, value)
                elif target != IGNORE:
                    self.order += 1
                    self.candidates.append(
                        _Candidate((layer, rank, self.order), target, where, value)
                    )
            elif isinstance(value, dict) and (
                path in self.prefixes or f"{prefix}.{path}" in self.prefixes
            ):
                self.walk(value, layer, prefix, path, where)
            else:
                self.note(where, value)
                self.warn(f"{where}: not a field we know; kept in notes")

    def note(self, where: str, value: Any) -> None:
        self.notes.extend(_note_lines(where, value))

    def warn(self, message: str) -> None:
        message = re.sub(r"\[\d+\]", "[]", message)
        if message not in self.warnings:
            self.warnings.append(message)


def _table(maps: Iterable[KeyMap]) -> tuple[dict[str, tuple[str, int]], set[str]]:
    table: dict[str, tuple[str, int]] = {}
    for mapping in maps:
        for path, target in mapping.fields.items():
            table.setdefault(path, (target, len(table)))
    prefixes = {p.rsplit(".", n)[0] for p in table for n in range(1, p.count(".") + 1)}
    return table, prefixes


def map_fields(
    data: Mapping[Any, Any], keymap: KeyMap | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The fields of a `PostmortemRecord` read from one document's `data`, and warnings.

    `keymap` (a user's map, or a tool's) is tried first; then the map of the tool whose keys
    `data` has, if any; then the generic aliases. Keys none of them claims are kept in
    `notes` as `key: value` lines, each named in a warning. A document with no title and
    no summary at all raises `NothingDescribesAFailure`, saying what was looked for.
    """
    layers, marks = _unwrap(data)
    record = layers[0].values
    tool = detect_keymap({normalize_key(k) for layer in layers for k in layer.values} | marks)
    maps = [m for m in (keymap, tool) if m is not None]
    for mapping in maps:
        for list_key, name_path, value_path in mapping.pairs:
            record = _spread_pairs(record, list_key, name_path, value_path)
    layers[0] = _Layer(record, layers[0].prefix)
    table, prefixes = _table([*maps, GENERIC])
    mapper = _Mapper(table, prefixes)
    for number, layer in enumerate(layers):
        quiet = {k: v for k, v in layer.values.items() if normalize_key(k) in layer.quiet}
        for key, value in quiet.items():
            mapper.note(str(key), value)
        rest = {k: v for k, v in layer.values.items() if k not in quiet}
        mapper.walk(rest, number, layer.prefix, "", "")
    fields = _resolve(mapper, tool)
    if mapper.notes:
        lines = mapper.notes[:MAX_NOTE_LINES]
        if len(mapper.notes) > MAX_NOTE_LINES:
            lines.append(f"... and {len(mapper.notes) - MAX_NOTE_LINES} more lines")
        fields[NOTES] = "\n".join(lines)
    return fields, mapper.warnings


def _spread_pairs(
    record: dict[Any, Any], list_key: str, name_path: str, value_path: str
) -> dict[Any, Any]:
    """`{list_key: [{name: N, value: V}, ...]}` -> `{N: V, ...}` (incident.io custom fields)."""
    original = next((k for k in record if normalize_key(k) == list_key), None)
    items = record.get(original) if original is not None else None
    if not isinstance(items, list):
        return record
    spread: dict[Any, Any] = {}
    rest: list[Any] = []
    for item in items:
        name = _text_at(item, name_path)
        value = _at(item, value_path)
        if name and not _is_empty(value) and name not in record:
            spread[name] = _plain(value)
        elif not _is_empty(value):
            rest.append(item)
    out = {k: v for k, v in record.items() if k != original}
    if rest:
        out[original] = rest
    out.update(spread)
    return out


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = {normalize_key(k): v for k, v in value.items()}.get(part)
    return value


def _text_at(value: Any, path: str) -> str | None:
    found = _at(value, path)
    return name_of(found) if found is not None else None


def _plain(value: Any) -> Any:
    """incident.io custom field values (`[{"value_text": ...}, {"value_option": {...}}]`) as
    plain text: one string, or a list of them."""
    if isinstance(value, list):
        texts = [t for item in value if (t := name_of(item))]
        return texts[0] if len(texts) == 1 else texts
    return name_of(value) if isinstance(value, dict) else value


# -- resolving candidates into fields ---------------------------------------------------------


def _resolve(mapper: _Mapper, tool: KeyMap | None) -> dict[str, Any]:
    by_target: dict[str, list[_Candidate]] = {}
    for candidate in sorted(mapper.candidates):
        by_target.setdefault(candidate.target, []).append(candidate)
    fields: dict[str, Any] = {}
    for target in SHORT_TEXT:
        found = _first_text(mapper, by_target.get(target, []), target)
        if found is not None:
            fields[target] = found
    summaries = 0
    for target in LONG_TEXT:
        texts = _distinct(
            text
            for c in by_target.get(target, [])
            if (text := text_of(c.value, "\n\n" if target == "summary" else "\n"))
        )
        if texts:
            fields[target] = "\n\n".join(texts)
        if target == "summary":
            summaries = len(texts)
    when = _first_datetime(mapper, by_target.get("occurred_at", []))
    if when is not None:
        fields["occurred_at"] = when
    for target in NAME_LISTS:
        names = _distinct(
            name
            for c in by_target.get(target, [])
            for name in _names(mapper, c, tags=target == "tags")
        )
        if names:
            fields[target] = names
    for target in TEXT_LISTS:
        texts = _distinct(t for c in by_target.get(target, []) for t in _texts(c.value))
        if texts:
            fields[target] = texts
    for target in ITEM_LISTS:
        items: list[Any] = []
        targets = [target, *(t for t in CAUSE_ROLES if target == "causes")]
        for candidate in sorted(c for t in targets for c in by_target.get(t, [])):
            items.extend(_items(mapper, target, candidate))
        if items:
            fields[target] = items
    for candidate in by_target.get(NOTES, []):  # a record's own `notes`, kept as written
        text = candidate.value if isinstance(candidate.value, str) else text_of(candidate.value)
        if text and text.strip():
            mapper.notes[:0] = text.strip().splitlines()
    _title_and_summary(mapper, fields, tool, several_summaries=summaries > 1)
    return fields


def _distinct(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _first_text(mapper: _Mapper, candidates: list[_Candidate], target: str) -> str | None:
    chosen: str | None = None
    for candidate in candidates:
        value = candidate.value
        if isinstance(value, list):  # several teams, severities...: the first one counts
            names = [t for item in value if (t := text_of(item, ", "))]
            if len(names) > 1 and chosen is None:
                mapper.note(candidate.path, names[1:])
                mapper.warn(
                    f"{candidate.path}: only the first ({names[0]!r}) is kept as {target}; "
                    "the others are in notes"
                )
            text = names[0] if names else None
        else:
            text = text_of(value, " ")
        if text is None:
            mapper.note(candidate.path, value)
            mapper.warn(f"{candidate.path}: no text to use as {target}; kept in notes")
        elif chosen is None:
            chosen = text
        elif text != chosen:
            mapper.note(candidate.path, text)
    return chosen


def _first_datetime(mapper: _Mapper, candidates: list[_Candidate]) -> datetime | None:
    chosen: datetime | None = None
    for candidate in candidates:
        raw = candidate.value
        if isinstance(raw, dict):
            raw = name_of(raw)
        found = parse_datetime(raw)
        if found is None:
            mapper.note(candidate.path, candidate.value)
            mapper.warn(
                f"{candidate.path}: {_short(candidate.value)!r} is not a date we can read; "
                "kept in notes"
            )
        elif chosen is None:
            chosen = found
        elif found != chosen:
            mapper.note(candidate.path, candidate.value)
    return chosen


def _names(mapper: _Mapper, candidate: _Candidate, *, tags: bool) -> list[str]:
    """Names from a string (`a, b`), a list of strings or objects, or one object."""
    value = candidate.value
    if isinstance(value, str):
        return _split_text(value, commas=True)
    if isinstance(value, dict) and tags and name_of(value) is None:
        return [f"{k}: {t}" for k, v in value.items() if (t := _scalar(v))]  # labels {k: v}
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, bool):
            name = None
        elif isinstance(item, list):
            name = text_of(item, ", ")
        else:
            name = name_of(item)
        if name:
            names.append(name)
        else:
            mapper.note(candidate.path, item)
            mapper.warn(f"{candidate.path}: {_short(item)!r} is not a name; kept in notes")
    return names


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return _split_text(value, commas=False)
    return [t for item in (value if isinstance(value, list) else [value]) if (t := text_of(item))]


# -- list items (causes, experiments, lessons, practices, actions, timeline) ------------------

PRIMARY = {
    "causes": ("name", ("name", "title", "cause", "root_cause", "summary", "label", "text")),
    "experiments": (
        "hypothesis",
        ("hypothesis", "title", "name", "question", "theory", "summary", "text"),
    ),
    "lessons": ("text", ("text", "lesson", "learning", "takeaway", "title", "summary", "name")),
    "practices": ("name", ("name", "title", "practice", "summary")),
    "actions": ("text", ("text", "title", "summary", "action", "task", "name", "item")),
    "timeline": (
        "event",
        ("event", "description", "message", "text", "summary", "title", "content", "note", "body"),
    ),
}
FALLBACK = ("description", "details", "body", "content", "value")
TIMELINE_FALLBACK = ("type", "name", "kind")
# Item keys tools document that we keep in notes without a warning.
ITEM_NOTES = frozenset(
    "id key self url html_url weblink slug position priority created_at updated_at"
    " completed_at resolved_at incident_id external_issue_reference issuetype created_by"
    " creator ticket jira_issue_id jira_issue_key jira_issue_url duration kind type"
    " description user channel agent author".split()
)
SECONDARY: dict[str, dict[str, tuple[str, ...]]] = {
    "causes": {
        "role": ("role", "type", "kind", "category", "classification", "cause_type"),
        "status": ("status", "state", "verdict"),
        "evidence": ("evidence", "proof", "reasoning", "rationale"),
        "description": ("description", "details", "explanation", "body"),
    },
    "experiments": {
        "outcome": ("outcome", "result", "verdict", "conclusion", "status"),
        "method": ("method", "how", "approach", "procedure", "test"),
        "finding": ("finding", "findings", "observation", "observations", "result", "details"),
        "tested_causes": ("tested_causes", "tested", "causes", "cause"),
    },
    "lessons": {"adopted_as": ("adopted_as", "practices", "practice", "became")},
    "practices": {
        "description": ("description", "details"),
        "status": ("status", "state"),
        "adopted_at": ("adopted_at", "adopted", "adopted_on", "since", "implemented_at", "date"),
        "addresses": ("addresses", "causes", "cause", "mitigates"),
    },
    "actions": {
        "owner": (
            "owner",
            "assignee",
            "assigned_to",
            "assignees",
            "responsible",
            "who",
            "owner_name",
        ),
        "status": ("status", "state", "completed", "done"),
        "due": ("due", "due_date", "due_at", "duedate", "deadline", "resolve_by", "target_date"),
        "implements": ("implements", "practice"),
    },
    "timeline": {
        "at": ("at", "time", "timestamp", "occurred_at", "created_at", "date", "when", "datetime")
    },
}
ENUMS: dict[tuple[str, str], dict[str, Any]] = {
    ("causes", "role"): CAUSE_ROLE_WORDS,
    ("causes", "status"): CAUSE_STATUS_WORDS,
    ("experiments", "outcome"): OUTCOME_WORDS,
    ("practices", "status"): PRACTICE_STATUS_WORDS,
}
NAME_LIST_FIELDS = {"tested_causes", "adopted_as", "addresses"}
DATE_FIELDS = {"adopted_at", "due"}


def _items(mapper: _Mapper, kind: str, candidate: _Candidate, depth: int = 0) -> list[Any]:
    """The items of one list field (causes, actions...) read from one source key."""
    role = CAUSE_ROLES.get(candidate.target)
    value = candidate.value
    if isinstance(value, str):
        raw: list[Any] = _split_text(value, commas=False)
    elif isinstance(value, list):
        raw = value
    elif isinstance(value, dict) and (_looks_like_item(kind, value) or name_of(value) is not None):
        raw = [value]
    elif isinstance(value, dict):  # {"database": "pool too small", ...}: the values
        raw = [v for v in value.values() if not _is_empty(v)]
    else:
        raw = [value]
    items: list[Any] = []
    for index, item in enumerate(raw):
        where = (
            f"{candidate.path}[{index}]"
            if len(raw) > 1 or isinstance(value, list)
            else (candidate.path)
        )
        if isinstance(item, list) and depth < 2:  # a list of lists: their items
            inner = _Candidate(candidate.priority, candidate.target, where, item)
            items.extend(_items(mapper, kind, inner, depth + 1))
            continue
        mapped = _item(mapper, kind, item, where)
        if mapped is None:
            continue
        if role is not None and kind == "causes":
            mapped.setdefault("role", role)
        items.append(mapped)
    return items


def _looks_like_item(kind: str, value: dict[Any, Any]) -> bool:
    keys = {normalize_key(k) for k in value}
    _, primary = PRIMARY[kind]
    wanted = set(primary) | {k for keys_ in SECONDARY[kind].values() for k in keys_}
    return bool(keys & wanted)


def _item(mapper: _Mapper, kind: str, item: Any, where: str) -> dict[str, Any] | None:
    """One list item as the record's item object, or None (kept in notes) if it has no text."""
    field_name, primary = PRIMARY[kind]
    if isinstance(item, dict):
        item = _flatten_item(item)
    if (
        not isinstance(item, dict)
        or _is_adf(item)
        or (name_of(item) is not None and not _looks_like_item(kind, item))
    ):
        text = text_of(item)
        if text is None:
            mapper.note(where, item)
            mapper.warn(f"{where}: nothing to read as {field_name}; kept in notes")
            return None
        return {field_name: text}
    values = item
    keys = {normalize_key(k): k for k in values}
    used: set[str] = set()
    out: dict[str, Any] = {}
    text = _take_text(values, keys, primary, used)
    for sub, aliases in SECONDARY[kind].items():
        for alias in aliases:
            if alias in used or alias not in keys or _is_empty(values[keys[alias]]):
                continue
            read = _sub_value(mapper, kind, sub, values[keys[alias]], f"{where}.{keys[alias]}")
            if read is _REJECTED:  # warned about; kept in notes
                mapper.note(f"{where}.{keys[alias]}", values[keys[alias]])
                used.add(alias)
            elif read is not None:
                out[sub] = read
                used.add(alias)
                break
    if text is None:
        fallback = FALLBACK + (TIMELINE_FALLBACK if kind == "timeline" else ())
        text = _take_text(values, keys, fallback, used)
    if text is None:
        mapper.note(where, item)
        mapper.warn(f"{where}: nothing to read as {field_name}; kept in notes")
        return None
    out[field_name] = text
    if isinstance(values.get(keys.get("source", "")), dict):
        out["source"] = values[keys["source"]]
        used.add("source")
    for key, original in keys.items():
        if key not in used and not _is_empty(values[original]):
            mapper.note(f"{where}.{original}", values[original])
            if key not in ITEM_NOTES:
                mapper.warn(f"{where}.{original}: not a field we know; kept in notes")
    return out


def _is_adf(value: dict[Any, Any]) -> bool:
    """An Atlassian Document Format document (Jira v3 rich text)."""
    return value.get("type") == "doc" and isinstance(value.get("content"), list)


def _flatten_item(item: dict[Any, Any]) -> dict[Any, Any]:
    """A Jira subtask's `fields`, a JSON:API `attributes`: read as the item's own keys."""
    for wrapper in ("fields", "attributes"):
        inner = item.get(wrapper)
        if isinstance(inner, dict):
            rest = {k: v for k, v in item.items() if k != wrapper}
            return {**rest, **inner}
    return item


def _take_text(
    values: dict[Any, Any], keys: dict[str, Any], aliases: Iterable[str], used: set[str]
) -> str | None:
    for alias in aliases:
        if alias in keys and alias not in used:
            text = text_of(values[keys[alias]], " ")
            if text:
                used.add(alias)
                return text
    return None


_REJECTED = object()


def _sub_value(mapper: _Mapper, kind: str, sub: str, value: Any, where: str) -> Any:
    """An item's field read from `value`; None if it does not fit (the key may serve another
    field), `_REJECTED` if it does not fit and a warning says so."""
    words = ENUMS.get((kind, sub))
    if words is not None:
        found = coerce_enum(words, text_of(value))
        if found is None and not (kind == "experiments" and sub == "outcome"):
            allowed = ", ".join(sorted({str(v) for v in words.values()}))
            mapper.warn(f"{where}: {_short(value)!r} is not one of {allowed}; kept in notes")
            return _REJECTED
        return found
    if sub in NAME_LIST_FIELDS:
        if isinstance(value, str):
            return _split_text(value, commas=True)
        return [n for v in (value if isinstance(value, list) else [value]) if (n := name_of(v))]
    if sub in DATE_FIELDS:
        found_date = parse_date(name_of(value) if isinstance(value, dict) else value)
        if found_date is None:
            mapper.warn(f"{where}: {_short(value)!r} is not a date we can read; kept in notes")
            return _REJECTED
        return found_date
    if kind == "actions" and sub == "status" and isinstance(value, bool):
        return "done" if value else "open"
    if kind == "timeline" and sub == "at":
        return text_of(value, " ") or None
    return text_of(value, ", ")


# -- title and summary ------------------------------------------------------------------------


def _title_and_summary(
    mapper: _Mapper, fields: dict[str, Any], tool: KeyMap | None, *, several_summaries: bool
) -> None:
    """A title from a short summary-like text when there is none; the title as summary when
    there is no summary; `NothingDescribesAFailure` when there is neither."""
    title, summary = fields.get("title"), fields.get("summary")
    if title is None and summary is None:
        raise NothingDescribesAFailure(_nothing_reason(mapper, tool))
    if title is None:
        assert summary is not None
        paragraphs = summary.split("\n\n", 1)
        first = paragraphs[0].strip()
        if several_summaries and "\n" not in first and len(first) <= 200:
            fields["title"], fields["summary"] = first, paragraphs[1].strip()
        else:
            fields["title"] = _first_sentence(summary)
            mapper.warn("no title; the summary's first sentence is used as the title")
    elif summary is None:
        fields["summary"] = title
        mapper.warn("no summary; the title is used as the summary")


def _first_sentence(text: str, limit: int = 120) -> str:
    sentence = re.split(r"(?<=[.!?])\s+|\n", text.strip(), maxsplit=1)[0].strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _nothing_reason(mapper: _Mapper, tool: KeyMap | None) -> str:
    def aliases(target: str) -> str:
        keys = [k for k, t in GENERIC.fields.items() if t == target]
        return ", ".join(keys[:8]) + ", …"

    found = mapper.seen
    found_text = ", ".join(found[:12]) + (", …" if len(found) > 12 else "")
    found_text = found_text or "no keys with a value"
    read_as = f" (read as a {tool.name} export)" if tool is not None else ""
    return (
        f"nothing here describes a failure{read_as}: no title (looked for "
        f"{aliases('title')}) and no summary (looked for {aliases('summary')}); found: "
        f"{found_text}. Map your keys with `lessons ingest --mapping FILE` (docs/format.md)"
    )


# -- notes ------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 60) -> str:
    text = _compact(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any, depth: int = 0) -> str:
    """A value as one line of text, however nested (deep parts are elided)."""
    text = _scalar(value)
    if text is not None:
        return text
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_compact(v, depth + 1)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v, depth + 1) for v in value) + "]"
    return json.dumps(value, default=str) if value is None else str(value)


def _note_lines(where: str, value: Any, depth: int = 0) -> list[str]:
    """`where: value` lines; objects and lists of objects one line per nested value."""
    if _is_empty(value):
        return []
    if isinstance(value, dict) and depth < 3:
        return [
            line
            for key, inner in value.items()
            for line in _note_lines(f"{where}.{key}", inner, depth + 1)
        ]
    if isinstance(value, list) and depth < 3 and any(isinstance(v, dict | list) for v in value):
        return [
            line
            for index, inner in enumerate(value)
            for line in _note_lines(f"{where}[{index}]", inner, depth + 1)
        ]
    text = ", ".join(map(_compact, value)) if isinstance(value, list) else _compact(value)
    text = " ".join(text.split())
    if len(text) > MAX_NOTE_VALUE:
        text = text[: MAX_NOTE_VALUE - 1] + "…"
    return [f"{where}: {text}"]


# -- a user's own map -------------------------------------------------------------------------


def load_keymap(text: str, name: str = "mapping") -> KeyMap:
    """A user's map from YAML: `their.key: our_field` lines (docs/format.md).

    Their keys may be dotted paths into nested objects (nested YAML mappings mean the
    same); our fields are the record's field names, `causes.trigger` / `causes.contributing`
    for causes with that role, `notes` to keep a value in the notes without a warning, or
    `ignore` to drop it.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValidationError(f"{name}: not valid YAML: {e}", hint=_MAP_HINT) from e
    if not isinstance(data, dict) or not data:
        raise ValidationError(
            f"{name}: expected `their key: our field` lines, one per key", hint=_MAP_HINT
        )
    fields: dict[str, str] = {}
    for key, target in _flat_map(data):
        wanted = IGNORE if target is None else str(target).strip()
        if wanted not in TARGETS:
            raise ValidationError(
                f"{name}: {key!r} maps to {target!r}, which is not a field we know",
                hint=_MAP_HINT,
            )
        path = normalize_path(str(key))
        if not path.strip("."):
            raise ValidationError(f"{name}: an empty key maps to {target!r}", hint=_MAP_HINT)
        fields[path] = wanted
    return KeyMap(name=name, fields=fields)


def _flat_map(data: dict[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`{a: {b: title}}` as `[("a.b", "title")]`."""
    flat: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.extend(_flat_map(value, path))
        else:
            flat.append((path, value))
    return flat


_MAP_HINT = (
    "Each line is `their.key: our_field`; our fields are "
    + ", ".join(sorted(TARGETS - {NOTES, IGNORE}))
    + ", or `notes` / `ignore` (see docs/format.md)."
)
