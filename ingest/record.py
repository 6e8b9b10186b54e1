"""The canonical postmortem record: what every parser produces, whatever the file format.

Its JSON Schema is published in docs/postmortem-record.schema.json (`lessons schema`
regenerates it; a test keeps the two in step). docs/format.md describes each field.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, TypeVar

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


# -- coercion: the words other tools and people use for our enum values, and dates as written --


def _words(value: str) -> str:
    """`Root-Cause`, `root_cause ` and `ROOT CAUSE` all read as `root cause`."""
    return " ".join(re.sub(r"[\s_\-]+", " ", value).strip().lower().split())


E = TypeVar("E", bound=StrEnum)


def _synonyms(table: dict[E, str]) -> dict[str, E]:
    """{enum value: "word|other words|..."} as {word: enum value}."""
    return {word: member for member, words in table.items() for word in words.split("|")}


CAUSE_ROLE_WORDS = _synonyms(
    {
        CauseRole.ROOT: "root|root cause|root causes|primary|primary cause|underlying"
        "|underlying cause|fundamental cause|rca",
        CauseRole.TRIGGER: "trigger|triggers|triggering|triggering event|triggered by|proximate"
        "|proximate cause|immediate cause|direct cause",
        CauseRole.CONTRIBUTING: "contributing|contributing factor|contributing factors"
        "|contributing cause|contributor|factor|secondary|secondary cause|aggravating factor",
    }
)
CAUSE_STATUS_WORDS = _synonyms(
    {
        CauseStatus.ACCEPTED: "accepted|confirmed|validated|verified|proven|established|agreed"
        "|true|yes",
        CauseStatus.PROPOSED: "proposed|hypothesis|suspected|possible|candidate|unconfirmed"
        "|tentative|investigating|under investigation|open|unknown|suggested",
        CauseStatus.REJECTED: "rejected|ruled out|disproved|disproven|refuted|dismissed|invalid"
        "|invalidated|false|no",
    }
)
OUTCOME_WORDS = _synonyms(
    {
        ExperimentOutcome.CONFIRMED: "confirmed|validated|verified|proven|supported|reproduced"
        "|true|yes|success|succeeded|passed|positive|accepted",
        ExperimentOutcome.REFUTED: "refuted|ruled out|disproved|disproven|rejected|invalidated"
        "|not reproduced|unsupported|false|no|negative|not confirmed",
        ExperimentOutcome.INCONCLUSIVE: "inconclusive|unclear|unknown|undetermined|mixed|partial"
        "|pending|in progress|open|n/a|tbd",
    }
)
PRACTICE_STATUS_WORDS = _synonyms(
    {
        PracticeStatus.PROPOSED: "proposed|planned|suggested|recommended|draft|todo|to do|open"
        "|under review|backlog|not started",
        PracticeStatus.ADOPTED: "adopted|in place|implemented|done|active|in effect|in force"
        "|enforced|accepted|rolled out|live|completed|complete|enabled",
        PracticeStatus.VERIFIED: "verified|validated|confirmed|proven|tested|effective",
        PracticeStatus.RETIRED: "retired|deprecated|abandoned|removed|dropped|superseded"
        "|obsolete|sunset|disabled|rejected",
    }
)


def coerce_enum(words: dict[str, E], value: Any) -> E | None:
    """The enum value `value` names (its own value or a synonym in `words`), else None."""
    if isinstance(value, StrEnum):
        value = value.value
    if not isinstance(value, str):
        return None
    return words.get(_words(value))


def _enum_before(words: dict[str, E]) -> Any:
    """A `mode="before"` validator that reads synonyms; anything else is left to validation."""

    def convert(cls: type[BaseModel], value: Any) -> Any:
        found = coerce_enum(words, value)
        return value if found is None else found

    return classmethod(convert)


_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.IGNORECASE)
_UTC_SUFFIX = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2}))?$")
_FORMATS = (
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %Y %H:%M",
    "%d %B %Y %H:%M",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y %H:%M",
    "%B %d, %Y %H:%M",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%a %b %d %H:%M:%S %Y",
)


def parse_datetime(value: Any) -> datetime | None:
    """A point in time from the ways tools and people write one, else None.

    ISO 8601 (`2024-03-05`, `2024-03-05T10:00:00Z`, Jira's `...000+0000`), `2024/03/05`,
    `5 March 2024`, `March 5th, 2024 10:00`, RFC 2822 (`Tue, 05 Mar 2024 10:00:00 +0000`),
    `05/03/2024` when the day is over 12 (otherwise day and month are ambiguous), and Unix
    timestamps in seconds or milliseconds. A date is midnight UTC; no zone means UTC.
    """
    found = _parse_datetime(value)
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def _parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    bare = _UTC_SUFFIX.sub("", _ORDINAL.sub("", text)).strip().replace("  ", " ")
    try:
        return datetime.fromisoformat(bare)
    except ValueError:
        pass
    if slashed := _SLASHED.match(bare):
        first, second, year = (int(slashed.group(n)) for n in (1, 2, 3))
        hour, minute = int(slashed.group(4) or 0), int(slashed.group(5) or 0)
        if first > 12 >= second:
            day, month = first, second
        elif second > 12 >= first:
            month, day = first, second
        else:
            return None  # 03/05/2024: March or May?
        try:
            return datetime(year, month, day, hour, minute)
        except ValueError:
            return None
    for fmt in _FORMATS:
        try:
            return datetime.strptime(bare, fmt)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _from_epoch(seconds: float) -> datetime | None:
    if 1e11 <= seconds < 1e14:  # milliseconds
        seconds /= 1000
    if not 1e8 <= seconds < 1e11:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def parse_date(value: Any) -> date | None:
    """A calendar day from the ways it is written (see `parse_datetime`), else None."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    found = _parse_datetime(value)
    return found.date() if found is not None else None


def _date_before(cls: type[BaseModel], value: Any) -> Any:
    """`mode="before"`: a date written in a common format; anything else is left to validation."""
    if value is None or isinstance(value, date):
        return value
    found = parse_date(value)
    return value if found is None else found


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
    _role = field_validator("role", mode="before")(_enum_before(CAUSE_ROLE_WORDS))
    _status = field_validator("status", mode="before")(_enum_before(CAUSE_STATUS_WORDS))


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
    _outcome = field_validator("outcome", mode="before")(_enum_before(OUTCOME_WORDS))


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
    _status = field_validator("status", mode="before")(_enum_before(PRACTICE_STATUS_WORDS))
    _date = field_validator("adopted_at", mode="before")(classmethod(_date_before))


class ActionRecord(_Item):
    """A follow-up item."""

    text: str = Field(min_length=1)
    owner: str | None = None
    status: str = "open"
    due: date | None = None
    implements: str | None = None
    source: SourceSpan | None = None
    _string = _from_string("text")
    _date = field_validator("due", mode="before")(classmethod(_date_before))


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


# Items of one kind in one record. Real postmortems list a few dozen at most; a document with
# more is many postmortems in one file, or not a postmortem, and the links between its causes,
# lessons and practices would grow with the square of its length.
MAX_ITEMS = 200


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
    components: list[ComponentRecord] = Field(default=[], max_length=MAX_ITEMS)
    tags: list[str] = Field(default=[], max_length=MAX_ITEMS)
    causes: list[CauseRecord] = Field(default=[], max_length=MAX_ITEMS)
    experiments: list[ExperimentRecord] = Field(default=[], max_length=MAX_ITEMS)
    lessons: list[LessonRecord] = Field(default=[], max_length=MAX_ITEMS)
    practices: list[PracticeRecord] = Field(default=[], max_length=MAX_ITEMS)
    actions: list[ActionRecord] = Field(default=[], max_length=MAX_ITEMS)
    went_well: list[str] = Field(
        default=[], max_length=MAX_ITEMS, description="what went well (not a lesson)"
    )
    lucky: list[str] = Field(
        default=[], max_length=MAX_ITEMS, description="where the team got lucky"
    )
    recurrence_of: list[str] = Field(default=[], max_length=MAX_ITEMS)
    timeline: list[TimelineEntry] = Field(default=[], max_length=MAX_ITEMS)
    notes: str | None = Field(
        default=None,
        description="what an import could not map to a field, as `key: value` lines",
    )

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
        """A date is midnight UTC; common formats are read (see `parse_datetime`)."""
        if value is None or isinstance(value, datetime):
            return value
        found = parse_datetime(value)
        return value if found is None else found

    @field_validator("occurred_at", mode="after")
    @classmethod
    def _naive_is_utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def record_json_schema() -> str:
    """The JSON Schema of `PostmortemRecord`, as published in docs/."""
    return json.dumps(PostmortemRecord.model_json_schema(), indent=2, sort_keys=True) + "\n"
