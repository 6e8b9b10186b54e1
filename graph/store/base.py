"""The `GraphStore` protocol: what every backend offers, in the language of the domain.

Backends never see a query language from their callers. Writes are batched; documents are
written by `replace_documents`, which also removes what earlier versions of the same documents
said (and any node or edge no other document still claims). Nodes written without a document
(by hand, through the API) belong to no document and are never removed that way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx

from lessons.graph.embeddings import Matrix, Vector
from lessons.graph.models import Document, Edge, Label, Node, RelType


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


def start_node_ids(node_ids: str | Sequence[str]) -> list[str]:
    """The start ids of a `neighbours` call as a list without repeats (one id may come bare)."""
    return [node_ids] if isinstance(node_ids, str) else list(dict.fromkeys(node_ids))


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

    def get(self, node_id: str) -> Node:
        """The node with this id; raises `NotFoundError`."""
        ...

    def get_many(self, node_ids: Iterable[str]) -> dict[str, Node]:
        """The nodes that exist among `node_ids`, by id."""
        ...

    def list_nodes(self, label: Label, *, limit: int = 100, offset: int = 0) -> list[Node]:
        """Nodes with this label, ordered by id."""
        ...

    def neighbours(
        self,
        node_ids: str | Sequence[str],
        rel_types: Sequence[RelType] | None = None,
        depth: int = 1,
    ) -> Subgraph:
        """The nodes and everything within `depth` hops of any of them (either direction)
        over `rel_types`; the start nodes come first, in the order given.

        Raises `NotFoundError` if a start node does not exist. Asking for many nodes at once
        costs one walk, not one per node.
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
