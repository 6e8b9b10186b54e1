"""Learning insights: what the graph says about how well failures are learned from.

Pure functions over the networkx projection of a store (`GraphStore.to_networkx()`, read
through graph/projection.py, which also indexes it once for many insights): node attributes
are `label` plus the node's properties (dates as ISO strings), and edges are keyed by
relationship type. Nothing here touches a store, so every insight works the same on every
backend, and on a graph loaded back from an export.

Words used throughout:

- a failure's *day* is the date part of its `occurred_at`; failures without one still count
  wherever no date is needed, and are left out of anything measured in time;
- a practice is *in force* on a day when its status is adopted or verified and its
  `adopted_at` is on or before that day (an adopted practice without a date is in force, but
  cannot be judged before and after);
- `as_of` is the day the question is asked (default: today); failures after it are left
  out, so an insight as of a past day sees the failures known then.

Every function returns typed results in a deterministic order: ties are broken by id, and
randomised algorithms take a seed.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TypeVar, cast

import networkx as nx
import numpy as np

from lessons.graph.clusters import CLUSTERS_NEEDS, FailureCluster, clusters_of, failure_clusters
from lessons.graph.memory import paused_gc
from lessons.graph.models import Label, RelType
from lessons.graph.projection import (
    Adjacency,
    Needs,
    View,
    day_of,
    failures_by_cause,
    is_in_force,
    name_of,
    read_view,
)
from lessons.graph.timing import TIMING_NEEDS, Timing, timing, timing_of

# The five insights and what they return; clusters and timing live in their own modules.
__all__ = [
    "FailureCluster",
    "Insights",
    "LearningGaps",
    "PracticeEffectiveness",
    "RecurringCause",
    "Timing",
    "all_insights",
    "failure_clusters",
    "first_items",
    "learning_gaps",
    "practice_effectiveness",
    "recurring_causes",
    "timing",
]

CLOSED_ACTION_STATUSES = frozenset(
    {"done", "closed", "complete", "completed", "resolved", "fixed", "cancelled", "canceled"}
)
DAYS_PER_YEAR = 365
RECURRING = 2  # failures that make a cause recurring

# -- helpers ---------------------------------------------------------------------------------


def _days_before(day: date, days: int) -> date:
    """The day `days` before `day`, or the first day there is."""
    return date.fromordinal(max(day.toordinal() - days, 1))


def _newest_first(day: date | None) -> tuple[bool, int]:
    """Sort key part: the most recent day first, no day last."""
    return (day is None, -day.toordinal() if day else 0)


def _pagerank(source: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    """PageRank (damping 0.85) of the undirected graph with edges `source[i]` - `target[i]`
    over nodes `0..size-1`, every one of which has an edge; sums to 1.

    Power iteration in numpy: networkx's own `pagerank` needs scipy, which this project does
    not depend on.
    """
    damping = 0.85
    if size == 0:
        return np.zeros(0)
    ends = np.concatenate([source, target])
    other_ends = np.concatenate([target, source])
    degree = np.bincount(ends, minlength=size).astype(np.float64)
    rank = np.full(size, 1.0 / size)
    for _ in range(1000):
        share = rank / degree
        spread = np.bincount(other_ends, weights=share[ends], minlength=size)
        updated = (1.0 - damping) / size + damping * spread
        converged = float(np.abs(updated - rank).sum()) < 1e-10
        rank = updated
        if converged:
            break
    return rank


# -- recurring causes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecurringCause:
    """A cause behind several failures, with how often, how recently and how central."""

    cause_id: str
    name: str
    failure_count: int
    failure_ids: tuple[str, ...]  # oldest first, undated last
    first_seen: date | None
    last_seen: date | None
    recent_failures: int  # failures in the `recent_days` up to as_of
    share_of_failures: float  # degree centrality: failure_count / all failures
    pagerank: float  # on the undirected failure-cause graph
    addressed_by: tuple[str, ...]  # practices in force on as_of that address it


@paused_gc
def recurring_causes(
    graph: nx.MultiDiGraph,
    *,
    as_of: date | None = None,
    min_failures: int = RECURRING,
    recent_days: int = DAYS_PER_YEAR,
) -> list[RecurringCause]:
    """Causes behind at least `min_failures` failures, most failures first, then most recent.

    Ties are broken by PageRank on the undirected graph of failures and their causes (a cause
    that is the only cause of its failures ranks higher than one shared with many others),
    then by id.
    """
    as_of = as_of or date.today()
    view = read_view(graph, _RECURRING_CAUSES_NEEDS, as_of)
    return _recurring_causes(view, as_of, min_failures, recent_days)


_RECURRING_CAUSES_NEEDS = Needs(
    (Label.FAILURE, Label.CAUSE, Label.PRACTICE), (RelType.CAUSED_BY, RelType.ADDRESSES)
)


def _recurring_causes(
    view: View, as_of: date, min_failures: int, recent_days: int
) -> list[RecurringCause]:
    failures = view.nodes[Label.FAILURE]
    days = view.days
    by_cause = failures_by_cause(view.edges[RelType.CAUSED_BY], [*days, *view.undated()])
    in_force = {p for p, attrs in view.nodes[Label.PRACTICE].items() if is_in_force(attrs, as_of)}
    addressed_by = view.edges[RelType.ADDRESSES].reversed()

    # PageRank on failures (numbered as met) and causes (numbered after them, by id).
    causes = sorted(by_cause)
    failure_number: dict[str, int] = {}
    failure_end = np.fromiter(
        (failure_number.setdefault(f, len(failure_number)) for c in causes for f in by_cause[c]),
        dtype=np.int64,
    )
    cause_end = len(failure_number) + np.repeat(
        np.arange(len(causes), dtype=np.int64), [len(by_cause[c]) for c in causes]
    )
    ranks = _pagerank(failure_end, cause_end, len(failure_number) + len(causes))
    recent_after = _days_before(as_of, recent_days)

    found = []
    for number, cause in enumerate(causes, start=len(failure_number)):
        caused = by_cause[cause]
        if len(caused) < min_failures:
            continue
        seen = [days[f] for f in caused if f in days]  # oldest first
        found.append(
            RecurringCause(
                cause_id=cause,
                name=name_of(view, cause),
                failure_count=len(caused),
                failure_ids=tuple(caused),
                first_seen=seen[0] if seen else None,
                last_seen=seen[-1] if seen else None,
                recent_failures=len(seen) - bisect_right(seen, recent_after),
                share_of_failures=len(caused) / len(failures),
                pagerank=float(ranks[number]),
                addressed_by=tuple(sorted(in_force.intersection(addressed_by.get(cause, ())))),
            )
        )
    return sorted(
        found,
        key=lambda c: (
            -c.failure_count,
            -(c.last_seen or date.min).toordinal(),
            -c.pagerank,
            c.cause_id,
        ),
    )


# -- learning gaps --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureWithoutPractice:
    """A failure that taught lessons, none of them adopted as a practice in force."""

    failure_id: str
    title: str
    occurred_at: date | None
    lesson_ids: tuple[str, ...]
    practices_not_in_force: tuple[str, ...]  # what its lessons became: proposed, retired...


@dataclass(frozen=True, slots=True)
class UnaddressedCause:
    """A cause behind several failures that no practice in force addresses."""

    cause_id: str
    name: str
    failure_ids: tuple[str, ...]  # oldest first
    practices_not_in_force: tuple[str, ...]  # practices that address it but are not in force


@dataclass(frozen=True, slots=True)
class ActionItem:
    """An open action item that is overdue, has no owner, or both."""

    action_id: str
    text: str
    failure_id: str | None
    owner: str | None
    status: str
    due: date | None
    days_overdue: int | None  # None when not overdue


@dataclass(frozen=True, slots=True)
class LearningGaps:
    """Where lessons have not (yet) turned into adopted practice or finished work."""

    as_of: date
    failures_without_practice: list[FailureWithoutPractice]  # most recent first
    unaddressed_causes: list[UnaddressedCause]  # most failures first
    overdue_actions: list[ActionItem]  # most overdue first
    ownerless_actions: list[ActionItem]  # earliest due first, undated last


@paused_gc
def learning_gaps(
    graph: nx.MultiDiGraph, *, as_of: date | None = None, min_failures: int = RECURRING
) -> LearningGaps:
    """Failures with lessons but no practice in force; causes behind `min_failures` or more
    failures that no practice in force addresses; open action items past their due date or
    without an owner. All as of `as_of` (default today).
    """
    as_of = as_of or date.today()
    return _learning_gaps(read_view(graph, _LEARNING_GAPS_NEEDS, as_of), as_of, min_failures)


_LEARNING_GAPS_NEEDS = Needs(
    (Label.FAILURE, Label.CAUSE, Label.PRACTICE, Label.ACTION),
    (RelType.TAUGHT, RelType.ADOPTED_AS, RelType.CAUSED_BY, RelType.ADDRESSES, RelType.HAS_ACTION),
)


def _learning_gaps(view: View, as_of: date, min_failures: int) -> LearningGaps:
    in_force = {p for p, attrs in view.nodes[Label.PRACTICE].items() if is_in_force(attrs, as_of)}
    overdue, ownerless = _action_gaps(view, as_of)
    return LearningGaps(
        as_of=as_of,
        failures_without_practice=_failures_without_practice(view, in_force),
        unaddressed_causes=_unaddressed_causes(view, in_force, min_failures),
        overdue_actions=overdue,
        ownerless_actions=ownerless,
    )


def _failures_without_practice(view: View, in_force: set[str]) -> list[FailureWithoutPractice]:
    failures = view.nodes[Label.FAILURE]
    taught, adopted_as = view.edges[RelType.TAUGHT], view.edges[RelType.ADOPTED_AS]
    practised = {lesson for lesson, practice in adopted_as if practice in in_force}
    adapted = {failure for failure, lesson in taught if lesson in practised}
    lessons_of: Adjacency = defaultdict(list)
    for failure, lesson in taught:
        if failure in failures and failure not in adapted:
            lessons_of[failure].append(lesson)
    unpractised = {lesson for lessons in lessons_of.values() for lesson in lessons}
    practices_of: Adjacency = defaultdict(list)
    for lesson, practice in adopted_as:
        if lesson in unpractised:
            practices_of[lesson].append(practice)
    found = [
        FailureWithoutPractice(
            failure_id=failure,
            title=failures[failure].get("title", failure),
            occurred_at=view.days.get(failure),
            lesson_ids=tuple(sorted(lessons)),
            practices_not_in_force=tuple(
                sorted({p for lesson in lessons for p in practices_of.get(lesson, ())})
            ),
        )
        for failure, lessons in lessons_of.items()
    ]
    return sorted(found, key=lambda f: (*_newest_first(f.occurred_at), f.failure_id))


def _unaddressed_causes(
    view: View, in_force: set[str], min_failures: int
) -> list[UnaddressedCause]:
    failures = [*view.days, *view.undated()]
    by_cause = failures_by_cause(view.edges[RelType.CAUSED_BY], failures)
    addressed_by = view.edges[RelType.ADDRESSES].reversed()
    found = []
    for cause, caused in by_cause.items():
        practices = addressed_by.get(cause, [])
        if len(caused) >= min_failures and in_force.isdisjoint(practices):
            found.append(
                UnaddressedCause(
                    cause_id=cause,
                    name=name_of(view, cause),
                    failure_ids=tuple(caused),
                    practices_not_in_force=tuple(sorted(practices)),
                )
            )
    return sorted(found, key=lambda c: (-len(c.failure_ids), c.cause_id))


def _action_gaps(view: View, as_of: date) -> tuple[list[ActionItem], list[ActionItem]]:
    """Open action items that are overdue on `as_of`, and those without an owner."""
    flagged = {}
    for action, attrs in view.nodes[Label.ACTION].items():
        status = attrs.get("status") or "open"
        if status in CLOSED_ACTION_STATUSES or status.strip().lower() in CLOSED_ACTION_STATUSES:
            continue
        due = day_of(attrs.get("due"))
        owner = (attrs.get("owner") or "").strip() or None
        late = (as_of - due).days if due is not None and due < as_of else None
        if late is not None or owner is None:
            flagged[action] = (attrs.get("text", ""), owner, status, due, late)
    failure_of: dict[str, str] = {}  # the first failure by id, if two share an action
    for failure, action in view.edges[RelType.HAS_ACTION]:
        if action in flagged and (action not in failure_of or failure < failure_of[action]):
            failure_of[action] = failure
    items = [
        ActionItem(action, text, failure_of.get(action), owner, status, due, late)
        for action, (text, owner, status, due, late) in flagged.items()
    ]
    overdue = [a for a in items if a.days_overdue is not None]
    ownerless = [a for a in items if a.owner is None]
    overdue.sort(key=lambda a: (-(a.days_overdue or 0), a.action_id))
    ownerless.sort(key=lambda a: (a.due is None, a.due or date.min, a.action_id))
    return overdue, ownerless


# -- practice effectiveness -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PracticeEffect:
    """Failures sharing the causes a practice addresses, before and after its adoption.

    The rates compare two windows of equal length: from adoption to as_of, and the same
    number of days just before adoption; each is failures per year in its window.
    """

    practice_id: str
    name: str
    status: str
    adopted_at: date
    cause_ids: tuple[str, ...]
    failures_before: tuple[str, ...]  # any time before adoption, oldest first
    failures_after: tuple[str, ...]  # from adoption to as_of, oldest first
    recurrences_after: tuple[str, ...]  # failures_after linked RECURRENCE_OF an earlier failure
    window_days: int
    rate_before: float | None  # failures per year in the window before adoption
    rate_after: float | None  # failures per year in the window after adoption
    verdict: str  # "recurred", "held" or "no evidence"


@dataclass(frozen=True, slots=True)
class PracticeEffectiveness:
    """Every dated practice in force, and those that did not prevent a recurrence."""

    as_of: date
    practices: list[PracticeEffect]  # most failures after adoption first
    not_prevented: list[str]  # ids of practices whose causes came back after adoption


@paused_gc
def practice_effectiveness(
    graph: nx.MultiDiGraph, *, as_of: date | None = None
) -> PracticeEffectiveness:
    """For each practice in force with an adoption date, the failures that share a cause it
    addresses before and after that date, and their recurrence rates in equal windows.

    The verdict is "recurred" when such a failure happened on or after adoption (the practice
    did not prevent it; `recurrences_after` are those also linked RECURRENCE_OF), "held" when
    failures came before adoption and none after, and "no evidence" when none came either side.
    """
    as_of = as_of or date.today()
    return _practice_effectiveness(read_view(graph, _PRACTICE_EFFECTIVENESS_NEEDS, as_of), as_of)


_PRACTICE_EFFECTIVENESS_NEEDS = Needs(
    (Label.FAILURE, Label.PRACTICE),
    (RelType.CAUSED_BY, RelType.ADDRESSES, RelType.RECURRENCE_OF),
)


def _practice_effectiveness(view: View, as_of: date) -> PracticeEffectiveness:
    days = view.days
    position = {failure: i for i, failure in enumerate(days)}  # chronological order
    by_cause = failures_by_cause(view.edges[RelType.CAUSED_BY], days)
    addresses = view.edges[RelType.ADDRESSES].grouped()
    recurrences = set(view.edges[RelType.RECURRENCE_OF].sources)
    effects = []
    for practice, attrs in sorted(view.nodes[Label.PRACTICE].items()):
        adopted = day_of(attrs.get("adopted_at"))
        if adopted is None or not is_in_force(attrs, as_of):
            continue
        causes = sorted(addresses.get(practice, ()))
        targeted = sorted(
            {f for cause in causes for f in by_cause.get(cause, ())}, key=position.__getitem__
        )
        when = [days[f] for f in targeted]
        adoption, end = bisect_left(when, adopted), bisect_right(when, as_of)
        before, after = targeted[:adoption], targeted[adoption:end]
        window = (as_of - adopted).days
        rate_before = rate_after = None
        if window > 0:
            window_start = bisect_left(when, _days_before(adopted, window))
            rate_before = (adoption - window_start) * DAYS_PER_YEAR / window
            rate_after = len(after) * DAYS_PER_YEAR / window
        effects.append(
            PracticeEffect(
                practice_id=practice,
                name=attrs.get("name", practice),
                status=attrs["status"],
                adopted_at=adopted,
                cause_ids=tuple(causes),
                failures_before=tuple(before),
                failures_after=tuple(after),
                recurrences_after=tuple(f for f in after if f in recurrences),
                window_days=window,
                rate_before=rate_before,
                rate_after=rate_after,
                verdict="recurred" if after else "held" if before else "no evidence",
            )
        )
    effects.sort(key=lambda e: (-len(e.failures_after), -len(e.failures_before), e.practice_id))
    not_prevented = [e.practice_id for e in effects if e.verdict == "recurred"]
    return PracticeEffectiveness(as_of, effects, not_prevented)


# -- the most important first -----------------------------------------------------------------

Result = TypeVar("Result")


def first_items(result: Result, limit: int | None) -> Result:
    """`result` (an insight's) with at most `limit` items in each of its lists; every insight
    sorts its lists most important first. Counts and medians stay those of everything."""
    if limit is None:
        return result
    if isinstance(result, list):
        return cast(Result, result[:limit])
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        raise TypeError(f"not an insight's result: {type(result).__name__}")
    cut = {
        field.name: value[:limit]
        for field in dataclasses.fields(result)
        if isinstance(value := getattr(result, field.name), list)
    }
    return cast(Result, dataclasses.replace(result, **cut))


# -- everything at once ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Insights:
    """All insights on one graph, as of one day."""

    as_of: date
    recurring_causes: list[RecurringCause]
    learning_gaps: LearningGaps
    practice_effectiveness: PracticeEffectiveness
    failure_clusters: list[FailureCluster]
    timing: Timing


@paused_gc
def all_insights(graph: nx.MultiDiGraph, *, as_of: date | None = None) -> Insights:
    """Every insight above with its default settings, as of `as_of` (default today).

    The projection is read once for all five, so this costs less than calling each.
    """
    as_of = as_of or date.today()
    view = read_view(
        graph,
        _RECURRING_CAUSES_NEEDS
        | _LEARNING_GAPS_NEEDS
        | _PRACTICE_EFFECTIVENESS_NEEDS
        | CLUSTERS_NEEDS
        | TIMING_NEEDS,
        as_of,
    )
    return Insights(
        as_of=as_of,
        recurring_causes=_recurring_causes(view, as_of, RECURRING, DAYS_PER_YEAR),
        learning_gaps=_learning_gaps(view, as_of, RECURRING),
        practice_effectiveness=_practice_effectiveness(view, as_of),
        failure_clusters=clusters_of(view),
        timing=timing_of(view, as_of),
    )
