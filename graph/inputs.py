"""What callers send to write a failure and its facts, and to filter failures.

The same models serve the HTTP API, the CLI and `recognize --record`. Every text field
rejects lone surrogates (they cannot be stored as UTF-8) and is otherwise kept verbatim:
quotes, Cypher or FTS syntax, NUL bytes, any Unicode. Names must hold a letter or digit (an
id is made of them); dates and times are ISO 8601 text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from lessons.graph.models import (
    MAX_FAILURE_ID,
    CauseRole,
    CauseStatus,
    ExperimentOutcome,
    PracticeStatus,
    failure_id,
    slugify,
)


def _storable(text: str) -> str:
    """Reject text that cannot be encoded as UTF-8 (lone surrogates); keep anything else."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"text contains an unpaired surrogate at position {e.start}") from e
    return text


# What the OpenAPI schema says of names and ids: at least one letter or digit, in any script.
HAS_WORD = r"[\p{L}\p{N}]"


def _has_word(text: str) -> str:
    """Reject a name with no letter or digit: no id can be made of it (`slugify`)."""
    if not slugify(text):
        raise ValueError("has no letters or digits: name it in words (any language)")
    return text


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Dates and times as ISO 8601 text (or Python values): pydantic alone reads `0` or "0"
    as a Unix time, which no one sending a date means."""
    if isinstance(value, int | float) or (isinstance(value, str) and not ISO_DAY.match(value)):
        raise ValueError("give a date as YYYY-MM-DD (a time as YYYY-MM-DDTHH:MM:SS)")
    return value


Day = Annotated[date, BeforeValidator(_iso_text)]

Moment = Annotated[datetime, BeforeValidator(_iso_text)]

Title = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_storable)]

Name = Annotated[
    str,
    Field(min_length=1, max_length=300, json_schema_extra={"pattern": HAS_WORD}),
    AfterValidator(_storable),
    AfterValidator(_has_word),
]

NameOrId = Annotated[str, Field(min_length=1, max_length=300)]  # looked up, never created

Text = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(_storable)]

Short = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]

FailureId = Annotated[
    str,
    Field(
        max_length=MAX_FAILURE_ID,
        json_schema_extra={"pattern": HAS_WORD},
        description="kept when it is an id (ASCII letters, digits, '.', '_' or '-', starting "
        "with a letter or digit), else made of its words ('INC 42' -> 'inc-42'), as imports do",
    ),
    AfterValidator(_storable),
    AfterValidator(_has_word),
    AfterValidator(failure_id),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FailureDraft(_Input):
    """A new failure; without an `id`, one is made from the title."""

    id: FailureId | None = None
    title: Title
    summary: Text
    occurred_at: Moment | None = Field(None, description="naive times are taken as UTC")
    detected_by: Short | None = None
    severity: Short | None = None
    status: Short | None = None
    impact: Text | None = None
    detection: Text | None = None
    resolution: Text | None = None
    tags: list[Short] = Field(default=[], max_length=50)
    components: list[Name] = Field(default=[], max_length=50, description="names or ids")
    team: Name | None = Field(None, description="name or id of the owning team")


class FailureChanges(_Input):
    """Properties to change: fields left out stay as they are, `null` clears an optional one."""

    title: Title | SkipJsonSchema[None] = None
    summary: Text | SkipJsonSchema[None] = None
    occurred_at: Moment | None = None
    detected_by: Short | None = None
    severity: Short | None = None
    status: Short | None = None
    impact: Text | None = None
    detection: Text | None = None
    resolution: Text | None = None
    tags: Annotated[list[Short], Field(max_length=50)] | SkipJsonSchema[None] = None

    @field_validator("title", "summary", "tags")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null (leave the field out to keep it)")
        return value


class CauseLink(_Input):
    """A cause of a failure: a new one by name, or an existing one by name or id."""

    name: Name = Field(description="the cause's name, or the id of an existing cause")
    role: CauseRole | None = Field(
        default=None,
        description="root: why it happened; trigger: what set it off; contributing: what made "
        "it possible or worse (default: root for a new link, unchanged for a linked cause)",
    )
    status: CauseStatus | None = Field(
        default=None,
        description="accepted: established; proposed: a hypothesis still being tested; "
        "rejected: ruled out (default: accepted for a new link, unchanged for a linked cause)",
    )
    evidence: Text | None = Field(
        default=None,
        description="what supports or rules it out (an observation, a log, a test); "
        "unchanged for a linked cause when left out",
    )
    category: Short | None = None
    description: Text | None = None


class ExperimentDraft(_Input):
    """A hypothesis tested while making sense of a failure."""

    hypothesis: Text
    method: Text | None = Field(None, description="how it was tested")
    outcome: ExperimentOutcome = Field(
        default=ExperimentOutcome.INCONCLUSIVE,
        description="confirmed: the hypothesis held; refuted: ruled out; inconclusive (default)",
    )
    finding: Text | None = Field(None, description="what the test showed")
    tested_causes: list[Name] = Field(default=[], max_length=50, description="names or ids")


class LessonDraft(_Input):
    """What a failure taught, and the practices it was adopted as."""

    text: Text
    adopted_as: list[Name] = Field(default=[], max_length=50, description="practice names or ids")


class PracticeLink(_Input):
    """A practice adopted after a failure: new by name, or an existing one by name or id.

    With `lesson_id` it is adopted as that lesson of the failure; without, a lesson that says
    the practice is added, as the import does for a practice no lesson names.
    """

    name: Name = Field(description="the practice's name, or the id of an existing practice")
    description: Text | None = None
    status: PracticeStatus | None = Field(
        None, description="default: adopted for a new practice, unchanged for an existing one"
    )
    adopted_at: Day | None = None
    lesson_id: Name | None = Field(
        None, description="id of the failure's lesson it puts in force (its lessons list them)"
    )
    addresses: list[Name] = Field(default=[], max_length=50, description="cause names or ids")


class ActionDraft(_Input):
    """A follow-up item of a failure, optionally implementing a practice."""

    text: Text
    owner: Short | None = None
    status: Short = Field("open", description="open (default), done, or your tracker's word")
    due: Day | None = None
    implements: Name | None = Field(None, description="practice name or id")


class ActionChanges(_Input):
    """An action's properties to change (close it with `status`: done): fields left out stay
    as they are, `null` clears an optional one."""

    text: Text | SkipJsonSchema[None] = None
    owner: Short | None = None
    status: Short | SkipJsonSchema[None] = Field(
        None, description="open, done, or your tracker's word"
    )
    due: Day | None = None

    @field_validator("text", "status")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null (leave the field out to keep it)")
        return value


class RecurrenceLink(_Input):
    """The failure is a recurrence of the failure `of`."""

    of: Name = Field(description="id of the earlier failure")


class FailureFilter(_Input):
    """Which failures a list holds; every given condition must hold."""

    component: NameOrId | None = None
    cause: NameOrId | None = None
    team: NameOrId | None = None
    tag: Short | None = None
    severity: Short | None = None
    occurred_from: Moment | None = None
    occurred_to: Moment | None = None


def as_utc(when: datetime | None) -> datetime | None:
    """A time with its zone; a naive one is taken as UTC."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when
