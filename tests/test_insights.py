"""Each insight on a small hand-built graph whose answers were worked out by hand.

The graph is written through the GraphStore protocol into each store (the `store` fixture
runs every test on SQLite and on the real Neo4j), and the insights read `project(store)`.

The story, as of 2025-01-01 (`AS_OF`):

    failure  day         causes        components  lessons -> practice     recurrence of
    f1       2024-01-10  a root, b     x           p1, p5                  -
    f2       2024-06-01  a, c          x, y        p3 (proposed)           f1
    f3       2024-09-15  b             x           p2                      -
    f4       2023-05-01  c, d          y, z        one, no practice        -
    f5       2024-11-20  c             y           -                       f4
    f6       (no date)   d             z           p4 (retired)            -
    f7       2024-12-01  a             x           -                       -

    practice  status    adopted     addresses
    p1        adopted   2024-03-01  a
    p2        verified  2024-10-01  b
    p3        proposed  -           c
    p4        retired   2023-01-01  d
    p5        adopted   (no date)   a
    p6        adopted   2023-06-01  d
    p7        adopted   2024-10-01  e (a cause with no failure)

    action  failure  owner  status       due
    f1/a1   f1       kim    done         2024-02-01
    f2/a1   f2       -      open         2024-07-01
    f2/a2   f2       lee    in progress  2025-03-01
    f3/a1   f3       ana    open         2024-12-25
    f4/a1   f4       ""     open         -
    f7/a1   f7       kim    Done         2024-11-01
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, date, datetime

import networkx as nx
import pytest

from lessons.graph.clusters import failure_clusters
from lessons.graph.insights import (
    ActionItem,
    all_insights,
    learning_gaps,
    practice_effectiveness,
    recurring_causes,
)
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    Component,
    Edge,
    Failure,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
)
from lessons.graph.projection import indexed
from lessons.graph.store import GraphStore
from lessons.graph.timing import AdaptationTime, CauseTiming, RecurrenceGap, timing

AS_OF = date(2025, 1, 1)


def failure(fid: str, day: date | None) -> Failure:
    when = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC) if day else None
    return Failure(id=fid, title=f"Failure {fid}", summary="What broke", occurred_at=when)


def practice(pid: str, status: PracticeStatus, adopted: date | None) -> Practice:
    return Practice(id=pid, name=f"Practice {pid}", status=status, adopted_at=adopted)


CAUSE_NAMES = {"a": "Pool exhausted", "b": "Retry storm", "c": "Disk full", "d": "Cert expired"}
CAUSE_NAMES["e"] = "Clock skew"
FAILURE_CAUSES = {
    "f1": [("a", CauseRole.ROOT), ("b", CauseRole.TRIGGER)],
    "f2": [("a", CauseRole.ROOT), ("c", CauseRole.CONTRIBUTING)],
    "f3": [("b", CauseRole.ROOT)],
    "f4": [("c", CauseRole.ROOT), ("d", CauseRole.TRIGGER)],
    "f5": [("c", CauseRole.ROOT)],
    "f6": [("d", CauseRole.ROOT)],
    "f7": [("a", CauseRole.ROOT)],
}
FAILURE_COMPONENTS = {
    "f1": ["x"],
    "f2": ["x", "y"],
    "f3": ["x"],
    "f4": ["y", "z"],
    "f5": ["y"],
    "f6": ["z"],
    "f7": ["x"],
}
LESSONS = {  # lesson id -> practices it was adopted as
    "f1/l1": ["p1"],
    "f1/l2": ["p5"],
    "f2/l1": ["p3"],
    "f3/l1": ["p2"],
    "f4/l1": [],
    "f6/l1": ["p4"],
}


def story_nodes() -> list[Node]:
    days = {
        "f1": date(2024, 1, 10),
        "f2": date(2024, 6, 1),
        "f3": date(2024, 9, 15),
        "f4": date(2023, 5, 1),
        "f5": date(2024, 11, 20),
        "f6": None,
        "f7": date(2024, 12, 1),
    }
    nodes: list[Node] = [failure(fid, day) for fid, day in days.items()]
    nodes += [Cause(id=f"cause:{key}", name=name) for key, name in CAUSE_NAMES.items()]
    nodes += [Component(id=f"component:{key}", name=key) for key in "xyz"]
    nodes += [Lesson(id=lid, text=f"Lesson {lid}") for lid in LESSONS]
    nodes += [
        practice("p1", PracticeStatus.ADOPTED, date(2024, 3, 1)),
        practice("p2", PracticeStatus.VERIFIED, date(2024, 10, 1)),
        practice("p3", PracticeStatus.PROPOSED, None),
        practice("p4", PracticeStatus.RETIRED, date(2023, 1, 1)),
        practice("p5", PracticeStatus.ADOPTED, None),
        practice("p6", PracticeStatus.ADOPTED, date(2023, 6, 1)),
        practice("p7", PracticeStatus.ADOPTED, date(2024, 10, 1)),
    ]
    nodes += [
        Action(id="f1/a1", text="Add pool alert", owner="kim", status="done", due=date(2024, 2, 1)),
        Action(id="f2/a1", text="Plan disk growth", status="open", due=date(2024, 7, 1)),
        Action(
            id="f2/a2", text="Load test", owner="lee", status="in progress", due=date(2025, 3, 1)
        ),
        Action(id="f3/a1", text="Retry budget", owner="ana", status="open", due=date(2024, 12, 25)),
        Action(id="f4/a1", text="Rotate certs", owner="", status="open"),
        Action(id="f7/a1", text="Tune pool", owner="kim", status="Done", due=date(2024, 11, 1)),
    ]
    return nodes


def story_edges() -> list[Edge]:
    edges = [
        Edge(source=fid, rel=RelType.CAUSED_BY, target=f"cause:{key}", role=role)
        for fid, causes in FAILURE_CAUSES.items()
        for key, role in causes
    ]
    edges += [
        Edge(source=fid, rel=RelType.AFFECTED, target=f"component:{key}")
        for fid, keys in FAILURE_COMPONENTS.items()
        for key in keys
    ]
    for lesson, practices in LESSONS.items():
        edges.append(Edge(source=lesson.split("/")[0], rel=RelType.TAUGHT, target=lesson))
        edges += [Edge(source=lesson, rel=RelType.ADOPTED_AS, target=p) for p in practices]
    addresses = {"p1": "a", "p2": "b", "p3": "c", "p4": "d", "p5": "a", "p6": "d", "p7": "e"}
    edges += [
        Edge(source=p, rel=RelType.ADDRESSES, target=f"cause:{key}") for p, key in addresses.items()
    ]
    for action in ("f1/a1", "f2/a1", "f2/a2", "f3/a1", "f4/a1", "f7/a1"):
        edges.append(Edge(source=action.split("/")[0], rel=RelType.HAS_ACTION, target=action))
    edges.append(Edge(source="f1/a1", rel=RelType.IMPLEMENTS, target="p1"))
    edges.append(Edge(source="f2", rel=RelType.RECURRENCE_OF, target="f1"))
    edges.append(Edge(source="f5", rel=RelType.RECURRENCE_OF, target="f4"))
    return edges


Projector = Callable[[GraphStore], nx.MultiDiGraph]


@pytest.fixture(params=["walked", "indexed"])
def project(request: pytest.FixtureRequest) -> Projector:
    """The store's projection as insights get it: plain (each insight walks the whole graph)
    or `indexed` (each insight reads the index); every test runs on both."""
    if request.param == "indexed":
        return lambda store: indexed(store.to_networkx())
    return lambda store: store.to_networkx()


@pytest.fixture
def story(store: GraphStore) -> GraphStore:
    store.upsert_nodes(story_nodes())
    store.upsert_edges(story_edges())
    return store


def test_recurring_causes_rank_by_count_then_recency(story: GraphStore, project: Projector) -> None:
    causes = recurring_causes(project(story), as_of=AS_OF)
    # a and c both caused 3 failures; a's last (f7, 2024-12-01) is more recent than c's
    # (f5, 2024-11-20). b and d caused 2; b's last is 2024-09-15, d's 2023-05-01 (f6 has no
    # date). e caused none, so it is not recurring.
    assert [c.cause_id for c in causes] == ["cause:a", "cause:c", "cause:b", "cause:d"]
    a, c, b, d = causes
    assert a.name == "Pool exhausted" and a.failure_count == 3
    assert a.failure_ids == ("f1", "f2", "f7")  # oldest first
    assert c.failure_ids == ("f4", "f2", "f5")
    assert b.failure_ids == ("f1", "f3")
    assert d.failure_ids == ("f4", "f6")  # undated last
    assert (a.first_seen, a.last_seen) == (date(2024, 1, 10), date(2024, 12, 1))
    assert (d.first_seen, d.last_seen) == (date(2023, 5, 1), date(2023, 5, 1))
    # In the 365 days before 2025-01-01: f1 (357 days before), f2 and f7 for a; f2 and f5
    # for c (f4 is 611 days before); f1 and f3 for b; none for d.
    assert [x.recent_failures for x in causes] == [3, 2, 2, 0]
    assert [x.share_of_failures for x in causes] == pytest.approx([3 / 7, 3 / 7, 2 / 7, 2 / 7])
    # In force on 2025-01-01: p1 and p5 (adopted, no date) address a; p2 (verified) b;
    # p6 d (p4 is retired); only p3, proposed, addresses c.
    assert [x.addressed_by for x in causes] == [("p1", "p5"), (), ("p2",), ("p6",)]
    assert recurring_causes(project(story), as_of=AS_OF, min_failures=3)[1].cause_id == ("cause:c")


def test_recurring_cause_pagerank_on_a_star(store: GraphStore, project: Projector) -> None:
    # Three failures, each caused only by cause a: a star with a in the middle (4 nodes).
    # With damping 0.85 and N = 4: p_a = 0.0375 + 0.85 * 3 * p_leaf and
    # p_leaf = 0.0375 + 0.85 * p_a / 3, so 0.2775 * p_a = 0.133125: p_a = 71/148.
    store.upsert_nodes([failure(f, date(2024, 1, n)) for n, f in enumerate(("f1", "f2", "f3"), 1)])
    store.upsert_nodes([Cause(id="cause:a", name="Pool exhausted")])
    store.upsert_edges(
        [Edge(source=f, rel=RelType.CAUSED_BY, target="cause:a") for f in "f1 f2 f3".split()]
    )
    (a,) = recurring_causes(project(store), as_of=AS_OF)
    assert a.pagerank == pytest.approx(71 / 148, abs=1e-9)
    assert a.share_of_failures == 1.0


def test_learning_gaps(story: GraphStore, project: Projector) -> None:
    gaps = learning_gaps(project(story), as_of=AS_OF)
    assert gaps.as_of == AS_OF
    # f1 (p1) and f3 (p2) have a practice in force. f2's lesson became p3 (proposed), f4's
    # lesson became nothing, f6's became p4 (retired). Most recent first, undated last.
    assert [(f.failure_id, f.occurred_at, f.practices_not_in_force) for f in
            gaps.failures_without_practice] == [
        ("f2", date(2024, 6, 1), ("p3",)),
        ("f4", date(2023, 5, 1), ()),
        ("f6", None, ("p4",)),
    ]  # fmt: skip
    assert gaps.failures_without_practice[0].lesson_ids == ("f2/l1",)
    # Behind 2+ failures: a (p1, p5), b (p2), d (p6) are addressed; c has only p3, proposed.
    assert [(c.cause_id, c.failure_ids, c.practices_not_in_force) for c in
            gaps.unaddressed_causes] == [("cause:c", ("f4", "f2", "f5"), ("p3",))]  # fmt: skip
    # Open items: f2/a1 is 184 days past 2024-07-01 and has no owner; f3/a1 is 7 days past
    # 2024-12-25; f4/a1 has an empty owner and no due date; f2/a2 is due in 2025 and owned.
    # f1/a1 ("done") and f7/a1 ("Done") are closed.
    assert gaps.overdue_actions == [
        ActionItem("f2/a1", "Plan disk growth", "f2", None, "open", date(2024, 7, 1), 184),
        ActionItem("f3/a1", "Retry budget", "f3", "ana", "open", date(2024, 12, 25), 7),
    ]
    assert [(a.action_id, a.days_overdue) for a in gaps.ownerless_actions] == [
        ("f2/a1", 184),
        ("f4/a1", None),
    ]
    # As of 2024-02-01 only f1, f4 and f6 had happened. p1 was not adopted yet, but f1's
    # other practice, p5, has no date and counts as in force. Each cause then had one
    # failure, except d (f4, f6), which p6 (2023-06-01) addresses; b's p2 came later.
    earlier = learning_gaps(project(story), as_of=date(2024, 2, 1), min_failures=1)
    assert [f.failure_id for f in earlier.failures_without_practice] == ["f4", "f6"]
    assert [c.cause_id for c in earlier.unaddressed_causes] == ["cause:b", "cause:c"]
    assert earlier.overdue_actions == []


def test_practice_effectiveness(story: GraphStore, project: Projector) -> None:
    result = practice_effectiveness(project(story), as_of=AS_OF)
    # Dated practices in force: p1, p2, p6, p7 (p5 has no date; p3 proposed; p4 retired).
    # p1 (adopted 2024-03-01, addresses a): f1 before; f2 and f7 after, only f2 linked as a
    # recurrence. Window 306 days: f1 (2024-01-10) falls in the 306 days before adoption.
    # p2 (2024-10-01, b): f1 and f3 before, none after; window 92 days holds f3 only.
    # p6 (2023-06-01, d): f4 before (f6 has no date), none after; window 580 days.
    # p7 (2024-10-01, e): no failures at all.
    assert [
        (e.practice_id, e.failures_before, e.failures_after, e.recurrences_after, e.verdict)
        for e in result.practices
    ] == [
        ("p1", ("f1",), ("f2", "f7"), ("f2",), "recurred"),
        ("p2", ("f1", "f3"), (), (), "held"),
        ("p6", ("f4",), (), (), "held"),
        ("p7", (), (), (), "no evidence"),
    ]
    assert [e.window_days for e in result.practices] == [306, 92, 580, 92]
    assert [(e.rate_before, e.rate_after) for e in result.practices] == [
        pytest.approx((365 / 306, 2 * 365 / 306)),
        pytest.approx((365 / 92, 0.0)),
        pytest.approx((365 / 580, 0.0)),
        (0.0, 0.0),
    ]
    p1 = result.practices[0]
    assert (p1.name, p1.status, p1.adopted_at, p1.cause_ids) == (
        "Practice p1",
        "adopted",
        date(2024, 3, 1),
        ("cause:a",),
    )
    assert result.not_prevented == ["p1"]
    # On the day of adoption the window is empty: no rates, but the verdict still stands.
    on_adoption = practice_effectiveness(project(story), as_of=date(2024, 10, 1))
    p2 = next(e for e in on_adoption.practices if e.practice_id == "p2")
    assert (p2.window_days, p2.rate_before, p2.rate_after) == (0, None, None)


def test_failure_clusters(story: GraphStore, project: Projector) -> None:
    # Co-occurrence weights: a-x 3, b-x 2, a-b 1 | c-y 3, d-z 2, c-d, c-z, d-y, y-z 1 |
    # across: a-c, a-y, c-x, x-y 1 (m = 19). {a, b, x} / {c, d, y, z} has modularity
    # 6/19 - (16/38)^2 + 9/19 - (22/38)^2 = 0.277, more than any other split. f2 has two
    # entities in each; the tie goes to the first community, {a, b, x}.
    clusters = failure_clusters(project(story))
    assert [c.failure_ids for c in clusters] == [("f1", "f2", "f3", "f7"), ("f4", "f5", "f6")]
    first, second = clusters
    # a is behind 3 of the first cluster's failures, b 2, c 1; x affected all 4, y 1.
    assert first.cause_ids == ("cause:a", "cause:b", "cause:c")
    assert first.component_ids == ("component:x", "component:y")
    assert first.label == "Pool exhausted + Retry storm"
    # c and d are behind 2 each (tie by id); y and z affected 2 each.
    assert second.cause_ids == ("cause:c", "cause:d")
    assert second.label == "Disk full + Cert expired"
    assert failure_clusters(project(story), min_size=4) == [first]
    assert failure_clusters(project(story), seed=7) == clusters
    # On 2020-01-01 only f6, which has no date, is known: one failure is no cluster.
    assert failure_clusters(project(story), as_of=date(2020, 1, 1)) == []


def test_timing(story: GraphStore, project: Projector) -> None:
    result = timing(project(story), as_of=AS_OF)
    # f1's lessons became p1 (2024-03-01, 51 days later) and p5 (no date); f3's became p2
    # (2024-10-01, 16 days later). f2's p3 is proposed, f6's p4 retired.
    assert result.adaptation == [
        AdaptationTime("f1", date(2024, 1, 10), "p1", date(2024, 3, 1), 51),
        AdaptationTime("f3", date(2024, 9, 15), "p2", date(2024, 10, 1), 16),
    ]
    assert result.median_days_to_adaptation == 33.5
    # f2 recurred 143 days after f1; f5 569 days after f4.
    assert result.recurrences == [
        RecurrenceGap("f2", "f1", date(2024, 6, 1), date(2024, 1, 10), 143),
        RecurrenceGap("f5", "f4", date(2024, 11, 20), date(2023, 5, 1), 569),
    ]
    assert result.median_recurrence_gap_days == 356.0
    # a: f1, f2 (143 days, linked to f1 which has a), f7 (not linked). p1 adopted 51 days
    #    after f1, before f2.
    # c: f4, f2 (397 days; linked to f1, which lacks c), f5 (569 days, linked to f4).
    #    Only p3 (proposed) addresses it.
    # b: f1, f3 (249 days, not linked); p2 adopted 265 days after f1, after f3.
    # d: only f4 is dated.
    assert result.causes == [
        CauseTiming("cause:a", "Pool exhausted", 3, date(2024, 1, 10), 143, 143, 1, 51, True),
        CauseTiming("cause:c", "Disk full", 3, date(2023, 5, 1), 397, 569, 1, None, False),
        CauseTiming("cause:b", "Retry storm", 2, date(2024, 1, 10), 249, None, 1, 265, False),
    ]


def test_all_insights_and_the_garbage_collector(story: GraphStore, project: Projector) -> None:
    graph = project(story)
    everything = all_insights(graph, as_of=AS_OF)
    assert everything.recurring_causes == recurring_causes(graph, as_of=AS_OF)
    assert everything.timing == timing(graph, as_of=AS_OF)
    assert everything.failure_clusters == failure_clusters(graph)
    assert gc.isenabled()  # paused while an insight runs, then resumed


def test_insights_on_an_empty_graph(store: GraphStore, project: Projector) -> None:
    everything = all_insights(project(store), as_of=AS_OF)
    assert everything.recurring_causes == [] and everything.failure_clusters == []
    assert everything.practice_effectiveness.practices == []
    assert everything.timing.median_days_to_adaptation is None


def test_insights_as_of_the_first_and_last_days_there_are(
    story: GraphStore, project: Projector
) -> None:
    """Windows reaching back before 0001-01-01 start there instead of failing."""
    graph = project(story)
    assert all_insights(graph, as_of=date.min).recurring_causes == []  # nothing happened yet
    latest = all_insights(graph, as_of=date.max)
    assert latest.recurring_causes
    assert all(c.recent_failures == 0 for c in latest.recurring_causes)
    judged = latest.practice_effectiveness.practices
    assert judged and all(p.rate_before is not None for p in judged)


def test_an_indexed_projection_is_frozen_and_reads_node_attributes_live(
    story: GraphStore,
) -> None:
    graph = indexed(story.to_networkx())
    with pytest.raises(nx.NetworkXError):
        graph.add_edge("f5", "cause:a", key=RelType.CAUSED_BY.value, rel=RelType.CAUSED_BY.value)
    # Node attributes are not frozen and the index reads them live: retiring p2 leaves
    # cause b without a practice in force.
    assert recurring_causes(graph, as_of=AS_OF)[2].addressed_by == ("p2",)
    graph.nodes["p2"]["status"] = PracticeStatus.RETIRED.value
    assert recurring_causes(graph, as_of=AS_OF)[2].addressed_by == ()


def test_a_copy_of_an_indexed_projection_is_walked_again(story: GraphStore) -> None:
    copy = nx.MultiDiGraph(indexed(story.to_networkx()))
    copy.add_edge("f5", "cause:a", key=RelType.CAUSED_BY.value, rel=RelType.CAUSED_BY.value)
    (a, *_) = recurring_causes(copy, as_of=AS_OF)
    assert a.failure_ids == ("f1", "f2", "f5", "f7")  # the new edge counts
