"""The canonical postmortem record: what every parser produces, whatever the file format.

Its JSON Schema is published in docs/postmortem-record.schema.json (`lessons schema`
regenerates it; a test keeps the two in step). docs/format.md describes each field.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lessons.graph.models import CauseRole, CauseStatus, ExperimentOutcome, PracticeStatus


def _as_list(value: Any) -> Any:
    """A lone string or mapping where a list is expected becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, str | dict):
        return [value]
    return value


def _as_text_list(value: Any) -> Any:
    """`_as_list`, with numbers and dates in it as text (YAML reads `tags: [2024]` as a number).

    Anything that is not a list afterwards is left for validation to reject.
    """
    items = _as_list(value)
    if not isinstance(items, list):
        return items
    return [
        str(v) if isinstance(v, int | float | date) and not isinstance(v, bool) else v
        for v in items
    ]


def _from_string(field: str) -> Any:
    """A `mode="before"` validator: a bare string means `{field: string}`."""

    def convert(cls: type[BaseModel], data: Any) -> Any:
        return {field: data} if isinstance(data, str) else data

    return model_validator(mode="before")(classmethod(convert))  # type: ignore[arg-type]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SourceSpan(_Item):
    """Where in its document an item was read: the section's heading and the lines."""

    section: str = ""
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)


class CauseRecord(_Item):
    """A cause and the role it played."""

    name: str = Field(min_length=1)
    role: CauseRole = CauseRole.ROOT
    status: CauseStatus = Field(
        default=CauseStatus.ACCEPTED, description="proposed while it is only a hypothesis"
    )
    evidence: str | None = Field(default=None, description="why it is accepted or rejected")
    description: str | None = None
    source: SourceSpan | None = None
    _string = _from_string("name")


class ExperimentRecord(_Item):
    """A hypothesis that was tested."""

    hypothesis: str = Field(min_length=1)
    method: str | None = None
    outcome: ExperimentOutcome = ExperimentOutcome.INCONCLUSIVE
    finding: str | None = None
    tested_causes: list[str] = []
    source: SourceSpan | None = None
    _string = _from_string("hypothesis")
    _lists = field_validator("tested_causes", mode="before")(_as_list)


class LessonRecord(_Item):
    """A lesson, and the practices it was adopted as."""

    text: str = Field(min_length=1)
    adopted_as: list[str] = []
    source: SourceSpan | None = None
    _string = _from_string("text")
    _lists = field_validator("adopted_as", mode="before")(_as_list)


class PracticeRecord(_Item):
    """A practice and the causes it addresses."""

    name: str = Field(min_length=1)
    description: str | None = None
    status: PracticeStatus = PracticeStatus.PROPOSED
    adopted_at: date | None = None
    addresses: list[str] = []
    source: SourceSpan | None = None
    _string = _from_string("name")
    _lists = field_validator("addresses", mode="before")(_as_list)


class ActionRecord(_Item):
    """A follow-up item."""

    text: str = Field(min_length=1)
    owner: str | None = None
    status: str = "open"
    due: date | None = None
    implements: str | None = None
    source: SourceSpan | None = None
    _string = _from_string("text")


class ComponentRecord(_Item):
    """A system, service or technology the failure affected or involved."""

    name: str = Field(min_length=1)
    source: SourceSpan | None = None
    _string = _from_string("name")


class TimelineEntry(_Item):
    """One event of the timeline; `at` is free text as written."""

    at: str = ""
    event: str = Field(min_length=1)
    _string = _from_string("event")


class PostmortemRecord(BaseModel):
    """One failure as a document describes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(default=None, description="stable failure id; default from file name")
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    occurred_at: datetime | None = None
    severity: str | None = None
    status: str | None = None
    detected_by: str | None = None
    impact: str | None = None
    detection: str | None = None
    resolution: str | None = None
    team: str | None = None
    components: list[ComponentRecord] = []
    tags: list[str] = []
    causes: list[CauseRecord] = []
    experiments: list[ExperimentRecord] = []
    lessons: list[LessonRecord] = []
    practices: list[PracticeRecord] = []
    actions: list[ActionRecord] = []
    went_well: list[str] = Field(default=[], description="what went well (not a lesson)")
    lucky: list[str] = Field(default=[], description="where the team got lucky")
    recurrence_of: list[str] = []
    timeline: list[TimelineEntry] = []

    _text_lists = field_validator(
        "components", "tags", "recurrence_of", "went_well", "lucky", mode="before"
    )(lambda value: _as_text_list(value))
    _lists = field_validator(
        "causes",
        "experiments",
        "lessons",
        "practices",
        "actions",
        "timeline",
        mode="before",
    )(_as_list)

    @field_validator("id", "severity", "status", "team", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: Any) -> Any:
        """YAML reads `id: 2024` or `severity: 1` as numbers; they are text here."""
        return str(value) if isinstance(value, int | float) else value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value.strip()) == 10:
            value = date.fromisoformat(value.strip())
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value

    @field_validator("occurred_at", mode="after")
    @classmethod
    def _naive_is_utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def record_json_schema() -> str:
    """The JSON Schema of `PostmortemRecord`, as published in docs/."""
    return json.dumps(PostmortemRecord.model_json_schema(), indent=2, sort_keys=True) + "\n"
