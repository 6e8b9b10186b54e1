"""Timing: how long learning takes, per failure (time to adaptation), between recurrences,
and per cause (an insight; see graph/insights.py for the words used)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import networkx as nx

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


@dataclass(frozen=True, slots=True)
class AdaptationTime:
    """Time to adaptation of one failure: from the failure to its first practice adopted."""

    failure_id: str
    occurred_at: date
    practice_id: str
    adopted_at: date
    days: int


@dataclass(frozen=True, slots=True)
class RecurrenceGap:
    """Days between a failure and the earlier failure it is a RECURRENCE_OF."""

    failure_id: str
    recurrence_of: str
    occurred_at: date
    earlier_occurred_at: date
    days: int


@dataclass(frozen=True, slots=True)
class CauseTiming:
    """How a cause behind several dated failures was recognised and adapted to.

    - `days_to_recurrence`: from its first failure to its second;
    - `days_to_recognition`: from its first failure to the first failure with this cause that
      was linked RECURRENCE_OF an earlier failure also having it (someone recognised the
      pattern); None if never linked;
    - `unrecognised_repeats`: later failures with the cause not linked that way;
    - `days_to_adaptation`: from its first failure to the adoption of the first practice in
      force that addresses it (adopted on or after that failure); None if none;
    - `adapted_before_recurrence`: that adoption came before the second failure.
    """

    cause_id: str
    name: str
    failure_count: int
    first_seen: date
    days_to_recurrence: int
    days_to_recognition: int | None
    unrecognised_repeats: int
    days_to_adaptation: int | None
    adapted_before_recurrence: bool


@dataclass(frozen=True, slots=True)
class Timing:
    """Time to adaptation, recurrence gaps and per-cause timing, with their medians."""

    adaptation: list[AdaptationTime]  # slowest first
    recurrences: list[RecurrenceGap]  # shortest gap first
    causes: list[CauseTiming]  # most failures first
    median_days_to_adaptation: float | None
    median_recurrence_gap_days: float | None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


@paused_gc
def timing(graph: nx.MultiDiGraph, *, as_of: date | None = None) -> Timing:
    """Time to adaptation per failure, recurrence gaps, and per-cause time to recurrence,
    recognition and adaptation (see `CauseTiming`); only where the dates allow.

    Time to adaptation of a failure is the days from it to the `adopted_at` of the earliest
    practice in force (on as_of) that one of its lessons was adopted as, counting only
    practices adopted on or after the failure (one adopted earlier did not come from it).
    """
    as_of = as_of or date.today()
    return timing_of(read_view(graph, TIMING_NEEDS, as_of), as_of)


TIMING_NEEDS = Needs(
    (Label.FAILURE, Label.CAUSE, Label.PRACTICE),
    (
        RelType.TAUGHT,
        RelType.ADOPTED_AS,
        RelType.RECURRENCE_OF,
        RelType.CAUSED_BY,
        RelType.ADDRESSES,
    ),
)


def timing_of(view: View, as_of: date) -> Timing:
    """`timing` over a view read for it (or for all insights)."""
    adopted_on = {
        p: d
        for p, attrs in view.nodes[Label.PRACTICE].items()
        if is_in_force(attrs, as_of) and (d := day_of(attrs.get("adopted_at")))
    }
    adaptation = _adaptation(view, adopted_on)
    recurrences = _recurrence_gaps(view)
    return Timing(
        adaptation,
        recurrences,
        _cause_timing(view, adopted_on),
        _median([a.days for a in adaptation]),
        _median([r.days for r in recurrences]),
    )


def _adaptation(view: View, adopted_on: dict[str, date]) -> list[AdaptationTime]:
    """Each dated failure's time to its first practice in force (`adopted_on`), longest first."""
    edges, days = view.edges, view.days
    practices_of: Adjacency = defaultdict(list)  # lesson -> its practices in force
    for lesson, practice in edges[RelType.ADOPTED_AS]:
        if practice in adopted_on:
            practices_of[lesson].append(practice)
    first_adopted: dict[str, tuple[date, str]] = {}  # failure -> (day, practice)
    for failure, lesson in edges[RelType.TAUGHT]:
        day = days.get(failure)
        if day is None:
            continue
        for practice in practices_of.get(lesson, ()):
            adopted, earliest = (adopted_on[practice], practice), first_adopted.get(failure)
            if adopted[0] >= day and (earliest is None or adopted < earliest):
                first_adopted[failure] = adopted
    adaptation = [
        AdaptationTime(failure, days[failure], practice, first, (first - days[failure]).days)
        for failure, (first, practice) in first_adopted.items()
    ]
    return sorted(adaptation, key=lambda a: (-a.days, a.failure_id))


def _recurrence_gaps(view: View) -> list[RecurrenceGap]:
    """Days between each dated recurrence and the dated failure it recurs, shortest first."""
    days = view.days
    recurrence_of = view.edges[RelType.RECURRENCE_OF].grouped()
    recurrences = [
        RecurrenceGap(failure, earlier, day, days[earlier], (day - days[earlier]).days)
        for failure, day in days.items()
        for earlier in sorted(recurrence_of.get(failure, ()))
        if earlier in days
    ]
    return sorted(recurrences, key=lambda r: (r.days, r.failure_id, r.recurrence_of))


def _cause_timing(view: View, adopted_on: dict[str, date]) -> list[CauseTiming]:
    """`CauseTiming` of every cause behind two or more dated failures, most failures first."""
    edges, days = view.edges, view.days
    recurrence_of = edges[RelType.RECURRENCE_OF].grouped()
    addressed_by = edges[RelType.ADDRESSES].reversed()
    causes = []
    for cause, caused in failures_by_cause(edges[RelType.CAUSED_BY], days).items():
        if len(caused) < 2:
            continue
        first, second = days[caused[0]], days[caused[1]]
        seen = {caused[0]}
        recognised: list[date] = []
        for failure in caused[1:]:
            if not seen.isdisjoint(recurrence_of.get(failure, ())):
                recognised.append(days[failure])
            seen.add(failure)
        adoptions = [
            d
            for p in addressed_by.get(cause, ())
            if (d := adopted_on.get(p)) is not None and d >= first
        ]
        causes.append(
            CauseTiming(
                cause_id=cause,
                name=name_of(view, cause),
                failure_count=len(caused),
                first_seen=first,
                days_to_recurrence=(second - first).days,
                days_to_recognition=(recognised[0] - first).days if recognised else None,
                unrecognised_repeats=len(caused) - 1 - len(recognised),
                days_to_adaptation=(min(adoptions) - first).days if adoptions else None,
                adapted_before_recurrence=bool(adoptions) and min(adoptions) < second,
            )
        )
    return sorted(causes, key=lambda c: (-c.failure_count, c.cause_id))
