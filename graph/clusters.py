"""Failure clusters: groups of failures that share causes and components, named after their
most central causes (an insight; see graph/insights.py for the words used)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import networkx as nx
import numpy as np

from lessons.graph.memory import paused_gc
from lessons.graph.models import Label, RelType
from lessons.graph.projection import Needs, View, name_of, read_view

CLUSTER_MIN_SIZE = 2
CLUSTER_LABEL_CAUSES = 2  # causes a cluster is named after


@dataclass(frozen=True, slots=True)
class FailureCluster:
    """Failures that share causes and components, named after their most central causes."""

    label: str
    failure_ids: tuple[str, ...]
    cause_ids: tuple[str, ...]  # most central first: behind the most failures of the cluster
    component_ids: tuple[str, ...]  # most affected first


def _cooccurrence(owner: np.ndarray, entity: np.ndarray, size: int) -> nx.Graph:
    """The weighted graph of entities seen in the same failure (weight: in how many).

    `owner[i]` is the failure of `entity[i]`; each failure's entities are distinct and
    contiguous. Entity i and entity i + k form a pair when they have the same owner, so the
    pairs are counted in numpy without a loop over failures (a pair is encoded as
    smaller * size + larger).
    """
    longest = int(np.bincount(owner).max()) if len(owner) else 0
    pairs = [np.empty(0, dtype=np.int64)]
    for k in range(1, longest):
        same = owner[k:] == owner[:-k]
        a, b = entity[:-k][same], entity[k:][same]
        pairs.append(np.minimum(a, b) * size + np.maximum(a, b))
    keys, counts = np.unique(np.concatenate(pairs), return_counts=True)
    graph = nx.Graph()
    graph.add_nodes_from(range(size))
    graph.add_weighted_edges_from(
        zip((keys // size).tolist(), (keys % size).tolist(), counts.tolist(), strict=True)
    )
    return graph


def _failure_links(view: View) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """The failures in the view that have causes or components, those entities (both sorted
    by id), and the links between them numbered: failure `owner[i]` has entity `entity[i]`,
    each failure's links contiguous."""
    all_failures = view.ids(Label.FAILURE)
    failure_number = {failure: i for i, failure in enumerate(all_failures)}
    linked = [view.edges[RelType.CAUSED_BY], view.edges[RelType.AFFECTED]]
    sources = [s for pairs in linked for s in pairs.sources]
    targets = [t for pairs in linked for t in pairs.targets]
    entity_ids = sorted(set(targets))
    number = {entity: i for i, entity in enumerate(entity_ids)}
    owner = np.fromiter((failure_number.get(s, -1) for s in sources), np.int64, len(sources))
    entity = np.fromiter(map(number.__getitem__, targets), np.int64, len(targets))
    present = owner >= 0  # -1: a failure after as_of
    by_owner = np.argsort(owner[present], kind="stable")
    owners, owner = np.unique(owner[present][by_owner], return_inverse=True)
    entities, entity = np.unique(entity[present][by_owner], return_inverse=True)
    return (
        [all_failures[i] for i in owners.tolist()],
        [entity_ids[i] for i in entities.tolist()],
        owner,
        entity,
    )


@paused_gc
def failure_clusters(
    graph: nx.MultiDiGraph,
    *,
    as_of: date | None = None,
    min_size: int = CLUSTER_MIN_SIZE,
    seed: int = 0,
    resolution: float = 1.0,
    label_causes: int = CLUSTER_LABEL_CAUSES,
) -> list[FailureCluster]:
    """Communities of failures that share causes and components, biggest first.

    Causes and components are linked when they appear in the same failure (weighted by how
    many); Louvain community detection (seeded, so deterministic) splits that co-occurrence
    graph, and each failure joins the community holding most of its causes and components
    (ties: the lowest community number, communities being numbered in order of their
    smallest id). A failure-failure projection would group the same way but grows with the
    square of a popular cause's failure count (tens of millions of pairs at 100k failures);
    the entity graph stays the size of the vocabulary. Each cluster is labelled with its
    `label_causes` most central causes: those behind the most of its failures.
    """
    view = read_view(graph, CLUSTERS_NEEDS, as_of or date.today())
    return clusters_of(
        view, min_size=min_size, seed=seed, resolution=resolution, label_causes=label_causes
    )


CLUSTERS_NEEDS = Needs(
    (Label.FAILURE, Label.CAUSE, Label.COMPONENT), (RelType.CAUSED_BY, RelType.AFFECTED)
)


def clusters_of(
    view: View,
    *,
    min_size: int = CLUSTER_MIN_SIZE,
    seed: int = 0,
    resolution: float = 1.0,
    label_causes: int = CLUSTER_LABEL_CAUSES,
) -> list[FailureCluster]:
    failures, entity_ids, owner, entity = _failure_links(view)

    cooccurrence = _cooccurrence(owner, entity, len(entity_ids))
    communities = nx.community.louvain_communities(
        cooccurrence, weight="weight", resolution=resolution, seed=seed
    )
    community_of = np.zeros(len(entity_ids), dtype=np.int64)
    for index, community in enumerate(sorted(sorted(c) for c in communities)):
        community_of[community] = index

    # Each failure's vote: the community with most of its entities, ties to the lowest number.
    votes, counts = np.unique(owner * len(entity_ids) + community_of[entity], return_counts=True)
    voter, choice = votes // len(entity_ids), votes % len(entity_ids)
    order = np.lexsort((choice, -counts, voter))
    _, first = np.unique(voter[order], return_index=True)
    chosen = choice[order][first]

    # How many of each cluster's failures have each entity, most first, then by id.
    size = len(entity_ids)
    cluster_of = chosen[owner]
    keys, counts = np.unique(cluster_of * size + entity, return_counts=True)
    order = np.lexsort((keys % size, -counts, keys // size))
    ranked: dict[int, list[str]] = defaultdict(list)
    for cluster, e in zip(
        (keys // size)[order].tolist(), (keys % size)[order].tolist(), strict=True
    ):
        ranked[cluster].append(entity_ids[e])

    members: dict[int, list[str]] = defaultdict(list)
    for failure, cluster in zip(failures, chosen.tolist(), strict=True):
        members[cluster].append(failure)
    causes = view.nodes[Label.CAUSE]
    clusters = []
    for cluster, failure_ids in members.items():
        if len(failure_ids) < min_size:
            continue
        cause_ids = tuple(e for e in ranked[cluster] if e in causes)
        component_ids = tuple(e for e in ranked[cluster] if e not in causes)
        named = cause_ids[:label_causes] or component_ids[:label_causes]
        clusters.append(
            FailureCluster(
                label=" + ".join(name_of(view, n) for n in named),
                failure_ids=tuple(failure_ids),
                cause_ids=cause_ids,
                component_ids=component_ids,
            )
        )
    return sorted(clusters, key=lambda c: (-len(c.failure_ids), c.failure_ids[0]))
