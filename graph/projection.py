"""The networkx projection of a store as the insights read it: nodes by label, edges by type.

`GraphStore.to_networkx()` gives a `MultiDiGraph` whose node attributes are `label` plus the
node's properties (dates as ISO strings) and whose edges are keyed by relationship type.
`indexed` freezes such a graph and lists its nodes by label and its edges by type once, so
each insight reads only what it needs (`read_view`); an unindexed graph is walked instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import networkx as nx

from lessons.graph.memory import paused_gc
from lessons.graph.models import Label, PracticeStatus, RelType

Adjacency = dict[str, list[str]]
Attributes = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pairs:
    """The edges of one type as two parallel lists: `sources[i]` -> `targets[i]`.

    Flat lists, not an adjacency dict: at 100k failures, filling a list per source node cost
    more than walking the whole projection. Group them (`grouped`) only where an insight looks
    edges up by source, and only for the few edges it needs.
    """

    sources: list[str]
    targets: list[str]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return zip(self.sources, self.targets, strict=True)

    def grouped(self) -> Adjacency:
        """Source -> targets."""
        adjacency: Adjacency = defaultdict(list)
        for source, target in self:
            adjacency[source].append(target)
        return adjacency

    def reversed(self) -> Adjacency:
        """Target -> sources."""
        return Pairs(self.targets, self.sources).grouped()


@dataclass(frozen=True, slots=True)
class View:
    """What insights read from the projection, in one pass over nodes and one over edges."""

    nodes: dict[str, dict[str, Attributes]]  # label -> id -> attributes
    days: dict[str, date]  # failure -> day, for the failures that have one, oldest first
    edges: dict[RelType, Pairs]

    def ids(self, label: Label) -> list[str]:
        """Ids of the nodes with this label, sorted."""
        return sorted(self.nodes[label])

    def undated(self) -> list[str]:
        """Ids of the failures without a day, sorted."""
        return sorted(f for f in self.nodes[Label.FAILURE] if f not in self.days)


@dataclass(frozen=True)
class Needs:
    """The node labels and edge types an insight reads."""

    labels: tuple[Label, ...]
    rels: tuple[RelType, ...]

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            tuple(dict.fromkeys(self.labels + other.labels)),
            tuple(dict.fromkeys(self.rels + other.rels)),
        )


INDEX = "lessons.insights.index"  # key of the index in `graph.graph` (see `indexed`)


@dataclass(frozen=True, slots=True)
class Index:
    """A frozen graph's nodes by label and edges by type."""

    nodes: dict[str, dict[str, Attributes]]  # label -> id -> the graph's own attribute dict
    edges: dict[str, Pairs]  # relationship type -> its edges


@paused_gc
def indexed(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """`graph`, frozen, with its nodes listed by label and its edges by type, so each insight
    reads only what it needs instead of walking the whole graph (at 100k failures that walk
    was 0.8-1.0 s of every insight; building the index costs about one walk).

    Frozen (`networkx.freeze`), no node or edge can be added or removed, so the index stays
    true; node attributes are read through it live. Index a projection once and ask it many
    insights (the API caches one per store revision). Insights work on unindexed graphs too.
    """
    nodes: dict[str, dict[str, Attributes]] = defaultdict(dict)
    for node, attrs in graph.nodes(data=True):
        nodes[attrs.get("label")][node] = attrs
    edges: dict[str, Pairs] = defaultdict(lambda: Pairs([], []))
    for source, target, rel in graph.edges(keys=True):
        pairs = edges[rel]
        pairs.sources.append(source)
        pairs.targets.append(target)
    graph.graph[INDEX] = Index(dict(nodes), dict(edges))
    return nx.freeze(graph)


def _index(graph: nx.MultiDiGraph) -> Index | None:
    """The index `indexed` gave `graph`, if it is still frozen (a copy is not)."""
    index = graph.graph.get(INDEX)
    return index if isinstance(index, Index) and nx.is_frozen(graph) else None


def scoped(
    graph: nx.MultiDiGraph, *, component: str | None = None, team: str | None = None
) -> nx.MultiDiGraph:
    """The projection with only the failures that AFFECTED `component` and are OWNED_BY
    `team` (ids; None: any), and every other node: the insights of one part of the
    organisation. `indexed`; the graph itself when neither is given."""
    if component is None and team is None:
        return graph
    kept: set[str] | None = None
    for rel, target in ((RelType.AFFECTED, component), (RelType.OWNED_BY, team)):
        if target is not None:
            linked = {s for s, _, k in graph.in_edges(target, keys=True) if k == rel}
            kept = linked if kept is None else kept & linked
    assert kept is not None
    nodes = [
        node
        for node, attrs in graph.nodes(data=True)
        if node in kept or attrs.get("label") != Label.FAILURE
    ]
    return indexed(nx.MultiDiGraph(graph.subgraph(nodes)))


def read_view(graph: nx.MultiDiGraph, needs: Needs, as_of: date | None = None) -> View:
    """The nodes and edges an insight needs; with `as_of`, without the failures that happened
    after it (their edges stay, so look failures up in `nodes`).

    From the graph's index if it has one (`indexed`); otherwise one pass over all nodes and
    one over all edges in the order the projection holds them, which is cheaper than reading
    fewer edges from their targets' side (measured at 100k failures: memory order wins).
    """
    index = _index(graph)
    labelled: Iterable[tuple[str, Attributes]]
    if index is None:
        labelled = graph.nodes(data=True)
    else:
        labelled = (item for label in needs.labels for item in index.nodes.get(label, {}).items())
    nodes: dict[str, dict[str, Attributes]] = {label: {} for label in needs.labels}
    failures = nodes.get(Label.FAILURE)
    days: dict[str, date] = {}
    for node, attrs in labelled:
        by_id = nodes.get(attrs.get("label", ""))
        if by_id is None:
            continue
        if by_id is failures and (day := day_of(attrs.get("occurred_at"))) is not None:
            if as_of and day > as_of:
                continue
            days[node] = day
        by_id[node] = attrs
    chronological = sorted(days)  # ties by id, then a stable sort by day
    chronological.sort(key=days.__getitem__)

    if index is not None:
        edges = {rel: index.edges.get(rel, Pairs([], [])) for rel in needs.rels}
    else:
        edges = {rel: Pairs([], []) for rel in needs.rels}
        pairs_of = edges.get  # bound once: this loop runs once per edge of the graph
        for source, target, rel in graph.edges(keys=True):
            pairs = pairs_of(rel)
            if pairs is not None:
                pairs.sources.append(source)
                pairs.targets.append(target)
    return View(nodes, {f: days[f] for f in chronological}, edges)


def name_of(view: View, node_id: str) -> str:
    """The name of a cause, component or practice in the view (its id if it has none)."""
    for label in (Label.CAUSE, Label.COMPONENT, Label.PRACTICE):
        attrs = view.nodes.get(label, {}).get(node_id)
        if attrs is not None:
            return str(attrs.get("name") or node_id)
    return node_id


def day_of(value: Any) -> date | None:
    """The date of an ISO date or datetime string (or date object); None when absent."""
    if isinstance(value, str):  # what stores give: "2024-03-12" or "2024-03-12T14:05:00Z"
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


# -- what several insights read -------------------------------------------------------------

IN_FORCE_STATUSES = frozenset({PracticeStatus.ADOPTED.value, PracticeStatus.VERIFIED.value})


def is_in_force(attrs: Attributes, day: date) -> bool:
    """Whether a practice (its node attributes) is in force on `day`."""
    if attrs.get("status") not in IN_FORCE_STATUSES:
        return False
    adopted = day_of(attrs.get("adopted_at"))
    return adopted is None or adopted <= day


def failures_by_cause(caused_by: Pairs, failures: Iterable[str]) -> Adjacency:
    """Cause id -> the failures it caused, in the order of `failures` (others left out)."""
    rank = {failure: i for i, failure in enumerate(failures)}
    by_cause: Adjacency = defaultdict(list)
    for failure, cause in caused_by:
        if failure in rank:
            by_cause[cause].append(failure)
    for caused in by_cause.values():
        caused.sort(key=rank.__getitem__)
    return by_cause
