"""The `GraphStore` protocol: what every backend offers, in the language of the domain.

Backends never see a query language from their callers. Writes are batched; documents are
written by `replace_documents`, which also removes what earlier versions of the same documents
said (and any node or edge no other document still claims). Nodes written without a document
(by hand, through the API) belong to no document and are never removed that way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx

from lessons.graph.embeddings import Matrix, Vector
from lessons.graph.errors import NotFoundError, ValidationError
from lessons.graph.models import Document, Edge, Label, Node, RelType, check_edge


@dataclass(frozen=True)
class ScoredId:
    """A node id with a score from one ranking (higher is better)."""

    id: str
    score: float


@dataclass(frozen=True)
class Subgraph:
    """Nodes and the edges between them."""

    nodes: list[Node]
    edges: list[Edge]


@dataclass
class DocumentGraph:
    """Everything one imported document says: its nodes, edges and their vectors."""

    document: Document
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    vectors: dict[str, Vector] = field(default_factory=dict)
    # Shared entities the document only refers to by name (a cause an experiment tested, a
    # practice a lesson became): the import keeps their stored properties.
    named_only: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class StoreStats:
    """How many nodes per label and edges per type a store holds."""

    nodes: dict[str, int]
    edges: dict[str, int]

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_edges(self) -> int:
        return sum(self.edges.values())


# -- what both backends share --------------------------------------------------------------


def start_node_ids(node_ids: str | Sequence[str]) -> list[str]:
    """The start ids of a `neighbours` call as a list without repeats (one id may come bare)."""
    return [node_ids] if isinstance(node_ids, str) else list(dict.fromkeys(node_ids))


def the_node(found: Mapping[str, Node], node_id: str) -> Node:
    """`get`'s answer from `get_many`'s: the node, else `NotFoundError`."""
    node = found.get(node_id)
    if node is None:
        raise NotFoundError(node_id)
    return node


def the_document(node: Node) -> Document:
    """`document_graph`'s check that the id it was given names a document."""
    if not isinstance(node, Document):
        raise ValidationError(f"{node.id!r} is a {node.label}, not a document")
    return node


def check_relabel(node: Node, stored_label: str | None) -> None:
    """A node keeps its label: writing a `Cause` over a stored `Failure` is refused."""
    if stored_label is not None and stored_label != node.label.value:
        raise ValidationError(f"{node.id!r} is a {stored_label}; it cannot become a {node.label}")


def check_edge_ends(edge: Edge, labels: Mapping[str, str]) -> None:
    """Both ends of `edge` exist (`labels` holds the label of every stored end) and its type
    may join their labels."""
    missing = [end for end in (edge.source, edge.target) if end not in labels]
    if missing:
        raise ValidationError(f"{edge.rel} edge refers to missing node(s) {missing}")
    check_edge(edge, labels[edge.source], labels[edge.target])


def best_first(hits: Iterable[ScoredId], k: int | None = None) -> list[ScoredId]:
    """Hits by score, best first, ties by id (so both stores answer alike); the first `k`."""
    ranked = sorted(hits, key=lambda h: (-h.score, h.id))
    return ranked if k is None else ranked[:k]


NodeRow = tuple[str, str, dict[str, Any]]  # id, label, properties
EdgeRow = tuple[str, str, str, dict[str, Any]]  # source, type, target, properties


def projection(nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]) -> nx.MultiDiGraph:
    """The networkx shape of a graph, the one every analysis and export reads: node
    attributes are `label` plus the node's properties; edges are keyed by relationship type
    and carry `rel` plus their properties."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((node_id, {"label": label, **props}) for node_id, label, props in nodes)
    graph.add_edges_from((src, dst, rel, {"rel": rel, **props}) for src, rel, dst, props in edges)
    return graph


def subgraph_projection(subgraph: Subgraph) -> nx.MultiDiGraph:
    """A `Subgraph` (e.g. from `GraphStore.neighbours`) in the shape of `to_networkx()`."""
    return projection(
        ((n.id, n.label.value, n.properties()) for n in subgraph.nodes),
        ((e.source, e.rel.value, e.target, e.properties()) for e in subgraph.edges),
    )


PAGE = 1000


def node_pages(
    store: GraphStore, label: Label, size: int = PAGE, *, after: str = ""
) -> Iterator[list[Node]]:
    """Every node with `label` (whose id comes after `after`), in id order, `size` at a time:
    each page is one store call."""
    while page := store.list_nodes(label, limit=size, after=after):
        yield page
        after = page[-1].id


def all_edges(store: GraphStore, size: int = PAGE) -> Iterator[list[Edge]]:
    """Every edge of the store, a page of nodes' outgoing edges at a time."""
    for label in Label:
        for page in node_pages(store, label, size):
            ids = {n.id for n in page}
            yield [e for e in store.edges(list(ids), list(RelType)) if e.source in ids]


class GraphStore(Protocol):
    """A durable graph of failures and what was learned from them."""

    def upsert_nodes(
        self, nodes: Sequence[Node], vectors: Mapping[str, Vector] | None = None
    ) -> None:
        """Create or replace nodes (and their vectors, by node id) in one transaction."""
        ...

    def upsert_edges(self, edges: Sequence[Edge], *, document_id: str | None = None) -> None:
        """Create or replace edges in one transaction; both ends must exist.

        With `document_id`, the edges are claimed by that document as if it had said them.
        """
        ...

    def replace_documents(self, graphs: Sequence[DocumentGraph]) -> None:
        """Replace what each document said before with its graph, all in one transaction.

        All or nothing: if one graph is invalid, none is written. Batching documents saves
        a commit per document; callers that must isolate a bad one retry them one by one.
        """
        ...

    def delete_document(self, document_id: str) -> None:
        """Remove a document and every node or edge that only it claimed."""
        ...

    def delete_nodes(self, node_ids: Iterable[str]) -> None:
        """Remove these nodes with their edges, vectors and every document's claim on them,
        in one transaction; an id that does not exist is passed over."""
        ...

    def get(self, node_id: str) -> Node:
        """The node with this id; raises `NotFoundError`."""
        ...

    def get_many(self, node_ids: Iterable[str]) -> dict[str, Node]:
        """The nodes that exist among `node_ids`, by id."""
        ...

    def list_nodes(self, label: Label, *, limit: int = 100, after: str = "") -> list[Node]:
        """Up to `limit` nodes with this label whose ids come after `after`, ordered by id
        (pass the last id of a page for the next: `node_pages` walks them all)."""
        ...

    def neighbours(
        self,
        node_ids: str | Sequence[str],
        rel_types: Sequence[RelType] | None = None,
        depth: int = 1,
        *,
        then: Sequence[RelType] = (),
    ) -> Subgraph:
        """The nodes and everything within `depth` hops of any of them (either direction)
        over `rel_types`; the start nodes come first, in the order given. With `then`, also
        the outgoing edges of those types from every node the walk reached (not the start
        nodes), and their targets: a failure's lessons and the practices they were adopted
        as, in one walk.

        Raises `NotFoundError` if a start node does not exist. Asking for many nodes at once
        costs one walk, not one per node (on Neo4j, one query per hop, `then` included).
        """
        ...

    def edges(self, node_ids: Sequence[str], rel_types: Sequence[RelType]) -> list[Edge]:
        """The edges of `rel_types` with either end among `node_ids` (an id that does not
        exist has none), without reading any node: the links of `neighbours` at depth 1, for
        callers that need only ids (a cause shared by thousands of failures stays cheap)."""
        ...

    def vector_search(self, labels: Sequence[Label], vector: Vector, k: int) -> list[ScoredId]:
        """The `k` nodes with these labels whose vectors are closest (cosine) to `vector`."""
        ...

    def nearest(self, label: Label, vectors: Matrix, k: int) -> list[list[ScoredId]]:
        """For each row of `vectors`, the `k` nodes with this label closest to it (cosine),
        best first: `vector_search` for many queries in one store call."""
        ...

    def keyword_search(self, labels: Sequence[Label], text: str, k: int) -> list[ScoredId]:
        """The `k` nodes with these labels whose text best matches the words of `text`."""
        ...

    def document_graph(self, document_id: str) -> DocumentGraph:
        """What a document claims: its node, nodes, edges and their vectors (for copying)."""
        ...

    def vectors(self, node_ids: Iterable[str]) -> dict[str, Vector]:
        """The stored vectors of those nodes that have one, by id."""
        ...

    def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the store answers (a readiness check)."""
        ...

    def stats(self) -> StoreStats:
        """Counts of nodes per label and edges per type."""
        ...

    def revision(self) -> int:
        """A number that changes whenever a write commits, in any process using the same
        database, and is kept across reopening; reads leave it alone. Callers cache what they
        derive from the store (the projection) until it changes."""
        ...

    def to_networkx(self) -> nx.MultiDiGraph:
        """The whole graph as networkx: node attributes are `label` plus properties."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
