"""The domain model: a closed set of node labels and relationship types, as plain typed data.

Nodes are frozen pydantic models, one class per label. `Node.search_text()` is the text that is
embedded and keyword-indexed for that node. Edges are typed by `RelType`; `EDGE_ENDPOINTS`
says which labels each relationship type may connect, so a store never holds a graph the
domain does not allow.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lessons.graph.errors import ValidationError
from lessons.graph.text import split_passages


class Label(StrEnum):
    """Node labels."""

    FAILURE = "Failure"
    CAUSE = "Cause"
    EXPERIMENT = "Experiment"
    LESSON = "Lesson"
    PRACTICE = "Practice"
    ACTION = "Action"
    COMPONENT = "Component"
    TEAM = "Team"
    DOCUMENT = "Document"


# The labels whose nodes are found by meaning, so their texts are encoded: failures (search,
# recognition), causes, components, practices and teams (search, entity resolution) and
# lessons (recognition). Experiments and actions are only reached through their failure:
# skipping them cut the vectors an import of 1,000 generated postmortems writes from 8,603 to
# 5,359 (-38%), which Neo4j otherwise unpacks and indexes one by one.
EMBEDDED_LABELS = frozenset(
    {Label.FAILURE, Label.CAUSE, Label.COMPONENT, Label.PRACTICE, Label.TEAM, Label.LESSON}
)


class RelType(StrEnum):
    """Relationship types."""

    CAUSED_BY = "CAUSED_BY"
    AFFECTED = "AFFECTED"
    OWNED_BY = "OWNED_BY"
    INVESTIGATED_BY = "INVESTIGATED_BY"
    TESTED = "TESTED"
    TAUGHT = "TAUGHT"
    ADOPTED_AS = "ADOPTED_AS"
    ADDRESSES = "ADDRESSES"
    HAS_ACTION = "HAS_ACTION"
    IMPLEMENTS = "IMPLEMENTS"
    RECURRENCE_OF = "RECURRENCE_OF"
    DOCUMENTED_IN = "DOCUMENTED_IN"


class CauseRole(StrEnum):
    """How a cause contributed to a failure."""

    ROOT = "root"
    TRIGGER = "trigger"
    CONTRIBUTING = "contributing"


def role_rank(role: CauseRole) -> int:
    """Where causes of this role come in a failure's list: root, trigger, contributing."""
    return list(CauseRole).index(role)


class CauseStatus(StrEnum):
    """Where a cause stands while a failure is being made sense of: competing hypotheses
    stay `proposed` side by side until evidence accepts or rejects them."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ExperimentOutcome(StrEnum):
    """What an experiment found about its hypothesis."""

    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"


class PracticeStatus(StrEnum):
    """Life cycle of a practice."""

    PROPOSED = "proposed"
    ADOPTED = "adopted"
    VERIFIED = "verified"
    RETIRED = "retired"


EDGE_ENDPOINTS: dict[RelType, tuple[Label, Label]] = {
    RelType.CAUSED_BY: (Label.FAILURE, Label.CAUSE),
    RelType.AFFECTED: (Label.FAILURE, Label.COMPONENT),
    RelType.OWNED_BY: (Label.FAILURE, Label.TEAM),
    RelType.INVESTIGATED_BY: (Label.FAILURE, Label.EXPERIMENT),
    RelType.TESTED: (Label.EXPERIMENT, Label.CAUSE),
    RelType.TAUGHT: (Label.FAILURE, Label.LESSON),
    RelType.ADOPTED_AS: (Label.LESSON, Label.PRACTICE),
    RelType.ADDRESSES: (Label.PRACTICE, Label.CAUSE),
    RelType.HAS_ACTION: (Label.FAILURE, Label.ACTION),
    RelType.IMPLEMENTS: (Label.ACTION, Label.PRACTICE),
    RelType.RECURRENCE_OF: (Label.FAILURE, Label.FAILURE),
    RelType.DOCUMENTED_IN: (Label.FAILURE, Label.DOCUMENT),
}

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_ASCII_FAILURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_FAILURE_ID = 200
FAILURE_ID_RULE = (
    "failure ids are ASCII letters, digits, '.', '_' or '-' starting with a letter or digit, "
    "or a lower-case slug such as '数据库-宕机' (at most 200 characters)"
)


def name_words(text: str) -> list[str]:
    """The lower-case words that ids and name keys are made of.

    After NFKC, a letter or digit with an ASCII form is folded to it ("Ä" -> "a"), so names
    in Latin letters keep the ids they always had; any other letter or digit is case-folded
    and kept with its combining marks ("数", "डे"). Other ASCII characters separate words;
    other characters ("’", "—") are dropped, as they always were.
    """
    if text.isascii():  # the common case, the same words without the walk below
        return _ASCII_WORD.findall(text.lower())
    folded: list[str] = []
    after_kept_letter = False
    for char in unicodedata.normalize("NFKC", text):
        kind = unicodedata.category(char)[0]
        if kind in "LN":
            ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            word_char = ascii_form.lower() or char.casefold()
            folded.append(word_char)
            after_kept_letter = not word_char.isascii()
        elif kind == "M" and after_kept_letter:
            folded.append(char)
        elif char.isascii():
            folded.append(" ")
            after_kept_letter = False
    return "".join(folded).split()


def slugify(text: str, max_length: int = 80) -> str:
    """Lower-case slug of `text`'s words (`name_words`), NFKC-normalised:
    `"DB Connection-Pool down!"` -> `"db-connection-pool-down"`, `"数据库 宕机"` -> `"数据库-宕机"`.
    """
    slug = "-".join(name_words(text))[:max_length].rstrip("-")
    return unicodedata.normalize("NFKC", slug)


def entity_id(label: Label, name: str) -> str:
    """Id of a shared entity (cause, component, team, practice) from its normalised name."""
    slug = slugify(name)
    if not slug:
        raise ValidationError(
            f"{label} name {name!r} has no letters or digits: "
            f"name the {label.lower()} in words (any language) or leave it out"
        )
    return f"{label.lower()}:{slug}"


def is_failure_id(value: str) -> bool:
    """Whether `value` is a failure id: ASCII letters, digits, '.', '_' or '-' starting with a
    letter or digit, or the slug of a name in another script ("数据库宕机"); at most 200."""
    if _ASCII_FAILURE_ID.fullmatch(value):
        return True
    return 0 < len(value) <= MAX_FAILURE_ID and slugify(value, MAX_FAILURE_ID) == value


def failure_id(candidate: str) -> str:
    """A valid failure id: `candidate` itself when it is already id-shaped, else its slug."""
    if is_failure_id(candidate):
        return candidate
    slug = slugify(candidate)
    if not slug:
        raise ValidationError(
            f"{candidate!r} cannot be a failure id: it has no letters or digits; "
            "give an id with letters or digits (any language)"
        )
    return slug


def check_failure_id(value: str) -> str:
    """`value` if it is a failure id (`is_failure_id`), else `ValueError` with the rule."""
    if not is_failure_id(value):
        raise ValueError(FAILURE_ID_RULE)
    return value


class NodeBase(BaseModel):
    """Fields and behaviour shared by every node."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    label: ClassVar[Label]

    id: str = Field(min_length=1, max_length=300)

    def search_text(self) -> str:
        """The text that is embedded and keyword-indexed for this node."""
        raise NotImplementedError

    def properties(self) -> dict[str, Any]:
        """Properties as JSON-compatible values, without the id."""
        return self.model_dump(mode="json", exclude={"id"})


class Failure(NodeBase):
    """Something that went wrong."""

    label: ClassVar[Label] = Label.FAILURE
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    occurred_at: datetime | None = None
    detected_by: str | None = None
    severity: str | None = None
    status: str | None = None
    impact: str | None = None
    detection: str | None = None
    resolution: str | None = None
    tags: tuple[str, ...] = ()
    timeline: tuple[str, ...] = ()
    went_well: tuple[str, ...] = ()
    lucky: tuple[str, ...] = ()
    recurrence_of: tuple[str, ...] = ()  # ids the source document declared, linked when present
    notes: str | None = None  # what an import could not map to a field, as `key: value` lines

    _id_shape = field_validator("id")(check_failure_id)

    def search_text(self) -> str:
        return f"{self.title}. {self.summary}"

    def passages(self) -> list[str]:
        """The sentences of its title, summary, impact and resolution, which recognition
        compares with a query one by one (their vectors are encoded when the failure is
        written, so the vector cache has them before anyone asks)."""
        parts = [self.title, self.summary, self.impact, self.resolution]
        return split_passages(" ".join(p.rstrip(".") + "." for p in parts if p))


class Cause(NodeBase):
    """Why a failure happened; shared between failures."""

    label: ClassVar[Label] = Label.CAUSE
    name: str = Field(min_length=1)
    category: str | None = None
    description: str | None = None
    aliases: tuple[str, ...] = ()

    def search_text(self) -> str:
        return self.name


class Experiment(NodeBase):
    """A hypothesis that was tested while making sense of a failure."""

    label: ClassVar[Label] = Label.EXPERIMENT
    hypothesis: str = Field(min_length=1)
    method: str | None = None
    outcome: ExperimentOutcome = ExperimentOutcome.INCONCLUSIVE
    finding: str | None = None

    def search_text(self) -> str:
        return " ".join(part for part in (self.hypothesis, self.finding) if part)


class Lesson(NodeBase):
    """What a failure taught."""

    label: ClassVar[Label] = Label.LESSON
    text: str = Field(min_length=1)

    def search_text(self) -> str:
        return self.text


class Practice(NodeBase):
    """A way of working adopted so a lesson sticks; shared between failures."""

    label: ClassVar[Label] = Label.PRACTICE
    name: str = Field(min_length=1)
    description: str | None = None
    status: PracticeStatus = PracticeStatus.PROPOSED
    adopted_at: date | None = None
    aliases: tuple[str, ...] = ()

    def search_text(self) -> str:
        return f"{self.name}. {self.description}" if self.description else self.name


class Action(NodeBase):
    """A follow-up item with an owner."""

    label: ClassVar[Label] = Label.ACTION
    text: str = Field(min_length=1)
    owner: str | None = None
    status: str = "open"
    due: date | None = None

    def search_text(self) -> str:
        return self.text


class Component(NodeBase):
    """A system, service or part that a failure affected; shared between failures."""

    label: ClassVar[Label] = Label.COMPONENT
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()

    def search_text(self) -> str:
        return self.name


class Team(NodeBase):
    """The team that owns a failure; shared between failures."""

    label: ClassVar[Label] = Label.TEAM
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()

    def search_text(self) -> str:
        return self.name


class Document(NodeBase):
    """A source file that was imported."""

    label: ClassVar[Label] = Label.DOCUMENT
    path: str
    sha256: str
    format: str
    ingested_at: datetime
    # When its source last changed it, for sources that say (a webhook's event time): a
    # delivery of an older state must not replace a newer one.
    changed_at: datetime | None = None

    def search_text(self) -> str:
        return ""


Node = Failure | Cause | Experiment | Lesson | Practice | Action | Component | Team | Document

NODE_TYPES: dict[Label, type[Node]] = {
    cls.label: cls
    for cls in (Failure, Cause, Experiment, Lesson, Practice, Action, Component, Team, Document)
}


def node_from_properties(label: str, node_id: str, properties: dict[str, Any]) -> Node:
    """Rebuild a typed node from what a store holds."""
    try:
        node_type = NODE_TYPES[Label(label)]
    except ValueError as e:
        raise ValidationError(f"unknown node label {label!r}") from e
    return node_type.model_validate({"id": node_id, **properties})


class Edge(BaseModel):
    """A typed relationship; `role`, `status` and `evidence` are set on CAUSED_BY edges only
    (a cause's role in this failure, whether it is accepted, and why).

    `alias` is the name the source used for a shared entity when entity resolution merged
    that name into an entity named otherwise (so the merge can be undone). `section` and
    `lines` say where in its document the target was read (the heading, first and last line).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    rel: RelType
    target: str
    role: CauseRole | None = None
    status: CauseStatus | None = None
    evidence: str | None = None
    alias: str | None = None
    section: str | None = None
    lines: tuple[int, int] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_role(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("rel") == RelType.CAUSED_BY:
            return {
                **data,
                "role": data.get("role") or CauseRole.ROOT,
                "status": data.get("status") or CauseStatus.ACCEPTED,
            }
        return data

    @model_validator(mode="after")
    def _role_only_on_caused_by(self) -> Edge:
        if self.rel is not RelType.CAUSED_BY and (self.role or self.status or self.evidence):
            raise ValueError("only CAUSED_BY edges have a role, a status and evidence")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the edge: at most one edge of a type between two nodes."""
        return (self.source, self.rel.value, self.target)

    def properties(self) -> dict[str, Any]:
        """Edge properties as JSON-compatible values (only those that are set)."""
        return self.model_dump(
            mode="json",
            include={"role", "status", "evidence", "alias", "section", "lines"},
            exclude_none=True,
        )


def check_edge(edge: Edge, source_label: str, target_label: str) -> None:
    """Raise `ValidationError` unless `edge` connects the labels its type allows."""
    expected = EDGE_ENDPOINTS[edge.rel]
    if (source_label, target_label) != (expected[0].value, expected[1].value):
        raise ValidationError(
            f"{edge.rel} connects {expected[0]} -> {expected[1]}, "
            f"not {source_label} -> {target_label} ({edge.source} -> {edge.target})"
        )
