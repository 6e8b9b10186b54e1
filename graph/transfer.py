"""Moving a graph between stores (`lessons copy`), vectors included, nothing re-encoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lessons.graph.models import Document, Edge, Label
from lessons.graph.store import DocumentGraph, GraphStore, all_edges, node_pages

WRITE_BATCH = 64  # documents per write transaction, as `lessons ingest` writes them


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: `documents` written, `skipped` already in the target unchanged."""

    documents: int
    skipped: int
    nodes: int
    edges: int


def copy_graph(
    source: GraphStore,
    target: GraphStore,
    *,
    write_batch: int = WRITE_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> CopyReport:
    """Copy every node, edge, vector and document claim of `source` into `target`.

    Documents are replayed first, `write_batch` to a transaction, so the target knows which
    document said what (a later re-import there replaces exactly what it should). Then every
    node is written again with its exact properties and vector, and every edge, which also
    brings over what was written by hand and belongs to no document.

    A copy stopped anywhere is finished by running it again: a document the target already
    holds with the same content (sha256) is not written again; only its links to other
    documents' nodes are checked. `on_progress` gets the number of documents done so far.
    """
    written = skipped = 0
    # Links to nodes of documents not copied yet (recurrences) wait until all are there.
    deferred: list[tuple[str, list[Edge]]] = []
    for page in node_pages(source, Label.DOCUMENT):
        held = target.get_many(document.id for document in page)
        graphs = [source.document_graph(document.id) for document in page]
        copied: list[DocumentGraph] = []
        fresh: list[DocumentGraph] = []
        for graph in graphs:
            same = _same_document(held.get(graph.document.id), graph.document)
            (copied if same else fresh).append(graph)
        deferred += _missing_links(target, copied)
        for start in range(0, len(fresh), write_batch):
            batch = fresh[start : start + write_batch]
            deferred += _hold_back_dangling_links(target, batch)
            target.replace_documents(batch)
        written += len(fresh)
        skipped += len(copied)
        if on_progress is not None:
            on_progress(written + skipped)
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
    return CopyReport(documents=written, skipped=skipped, nodes=nodes, edges=edges)


def _same_document(held: object, document: Document) -> bool:
    return isinstance(held, Document) and held.sha256 == document.sha256


def _own(graph: DocumentGraph) -> set[str]:
    """The ids of the document and of the nodes it says."""
    return {graph.document.id, *(node.id for node in graph.nodes)}


def _links_out(graph: DocumentGraph) -> list[Edge]:
    """The document's edges to nodes of other documents."""
    own = _own(graph)
    return [e for e in graph.edges if not {e.source, e.target} <= own]


def _hold_back_dangling_links(
    target: GraphStore, batch: list[DocumentGraph]
) -> list[tuple[str, list[Edge]]]:
    """Take out of `batch` the edges to other documents' nodes that `target` does not hold
    yet (as `ingest` does, a document links only to nodes stored before its transaction);
    return them by document."""
    far = {end for g in batch for e in _links_out(g) for end in (e.source, e.target)}
    stored = target.get_many(far).keys()
    held_back = []
    for graph in batch:
        present = _own(graph) | stored
        if waiting := [e for e in graph.edges if not {e.source, e.target} <= present]:
            graph.edges = [e for e in graph.edges if {e.source, e.target} <= present]
            held_back.append((graph.document.id, waiting))
    return held_back


def _missing_links(target: GraphStore, graphs: list[DocumentGraph]) -> list[tuple[str, list[Edge]]]:
    """The links to other documents' nodes of documents already copied that `target` lacks
    (a copy stopped before it wrote the links it had held back), by document."""
    links = [(graph.document.id, edge) for graph in graphs for edge in _links_out(graph)]
    if not links:
        return []
    stored = {
        e.key
        for e in target.edges(
            list({edge.source for _, edge in links}), list({edge.rel for _, edge in links})
        )
    }
    missing: dict[str, list[Edge]] = {}
    for document_id, edge in links:
        if edge.key not in stored:
            missing.setdefault(document_id, []).append(edge)
    return list(missing.items())
