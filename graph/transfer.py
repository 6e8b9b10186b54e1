"""Moving a graph between stores (`lessons copy`), vectors included, nothing re-encoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lessons.graph.models import Edge, Label
from lessons.graph.store import GraphStore, all_edges, node_pages


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved."""

    documents: int
    nodes: int
    edges: int


def copy_graph(
    source: GraphStore,
    target: GraphStore,
    *,
    on_document: Callable[[str], None] | None = None,
) -> CopyReport:
    """Copy every node, edge, vector and document claim of `source` into `target`.

    Documents are replayed first, so the target knows which document said what (a later
    re-import there replaces exactly what it should). Then every node is written again with
    its exact properties and vector, and every edge, which also brings over what was
    written by hand and belongs to no document.
    """
    documents = [n.id for page in node_pages(source, Label.DOCUMENT) for n in page]
    # Edges to nodes of documents not copied yet (recurrences) wait until all are there.
    deferred: list[tuple[str, list[Edge]]] = []
    for document_id in documents:
        graph = source.document_graph(document_id)
        own = {graph.document.id, *(n.id for n in graph.nodes)}
        later = [e for e in graph.edges if not {e.source, e.target} <= own]
        graph.edges = [e for e in graph.edges if {e.source, e.target} <= own]
        target.replace_documents([graph])
        if later:
            deferred.append((document_id, later))
        if on_document is not None:
            on_document(document_id)
    for document_id, waiting in deferred:
        target.upsert_edges(waiting, document_id=document_id)
    nodes = 0
    for label in Label:
        for page in node_pages(source, label):
            target.upsert_nodes(page, source.vectors(n.id for n in page))
            nodes += len(page)
    edges = 0
    for links in all_edges(source):  # every node is there now: edges in any order
        target.upsert_edges(links)
        edges += len(links)
    return CopyReport(documents=len(documents), nodes=nodes, edges=edges)
