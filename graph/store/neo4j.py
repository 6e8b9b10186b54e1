"""The production store: a Neo4j server through the official driver.

Every node carries its domain label plus `LessonsNode`, with a uniqueness constraint on `id`
(so one id names one node whatever its label). Properties are stored as plain Neo4j
properties, next to two internal ones: `search_text` (full-text indexed) and `embedding`
(vector indexed, cosine, unquantised so scores equal the embedded store's). Labels and
relationship types come only from the closed sets in `lessons.graph.models`, never from user
text: they are checked before they are written into the query, one query per label and per
relationship type (a static type lets `MERGE` look only at relationships of that type); only
deleting unclaimed edges names its type dynamically (`$(row.rel)`, Neo4j 5.26 or later).
Every value is a parameter. Tested on Neo4j 2026.08 (tests/neo4j/pom.xml) and 5.26 LTS.

Vectors are stored as lists of floats, which every release indexes: Community cannot store
Neo4j's native `VECTOR` values ("not supported in aligned store format"), only Enterprise's
block format can. They travel as the fastest the server reads: on a server that speaks Bolt
6 (2025.10 and later) as `VECTOR` values, one block of float32 that the query turns into a
list (`toFloatList`, Cypher 25), and as lists of floats to older ones (5.26), which unpack
each float on its own. `vector_values` says which, from the server's Bolt version at connect.

This module is over 600 lines because it is one backend: the protocol's methods and the
Cypher and transaction functions they run, which read best side by side.

Which document said what is kept in bookkeeping nodes, `(:NodeClaim {document_id, node_id})`
and `(:EdgeClaim {document_id, src, rel, dst})`, indexed by document id, so replacing a
document touches only what it claimed. Writes are batched (`UNWIND $rows`) inside managed
transactions, which the driver retries on transient errors.

The store's revision is one more bookkeeping node, `(:LessonsRevision {id: 'store', value})`,
incremented at the end of every write transaction, so it moves only when a write commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import neo4j
import neo4j.vector
import networkx as nx
import numpy as np
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

from lessons.graph import faults
from lessons.graph.embeddings import Matrix, Vector
from lessons.graph.errors import (
    ConfigError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from lessons.graph.memory import paused_gc
from lessons.graph.models import Edge, Label, Node, RelType, node_from_properties
from lessons.graph.settings import DEFAULT_NEO4J_TIMEOUT
from lessons.graph.store.base import (
    DocumentGraph,
    ScoredId,
    StoreStats,
    Subgraph,
    best_first,
    check_edge_ends,
    check_relabel,
    projection,
    start_node_ids,
    the_document,
    the_node,
)
from lessons.graph.text import keyword_terms

NODE = "LessonsNode"
REVISION = "LessonsRevision"
REVISION_ID = "store"
INTERNAL_PROPERTIES = ("id", "search_text", "embedding", "content_hash")
INDEXED_LABELS = [label for label in Label if label is not Label.DOCUMENT]
DEFAULT_DIMENSION = 384
CONNECTION_LIFETIME = 50 * 60.0  # seconds: under the hour after which Aura drops a connection
LIVENESS_CHECK_AFTER = 60.0  # seconds idle before a pooled connection is tested (one RESET)


def _vector_index(label: Label) -> str:
    return f"{label.value.lower()}_embedding"


def _text_index(label: Label) -> str:
    return f"{label.value.lower()}_text"


def schema_statements(dimension: int) -> list[str]:
    """Constraints and indexes, all idempotent (`IF NOT EXISTS`)."""
    statements = [
        f"CREATE CONSTRAINT lessons_node_id IF NOT EXISTS FOR (n:{NODE}) REQUIRE n.id IS UNIQUE",
        # Lets concurrent writers MERGE the one revision node without making two.
        "CREATE CONSTRAINT lessons_revision_id IF NOT EXISTS "
        f"FOR (r:{REVISION}) REQUIRE r.id IS UNIQUE",
        "CREATE INDEX node_claim_document IF NOT EXISTS FOR (c:NodeClaim) ON (c.document_id)",
        "CREATE INDEX node_claim_node IF NOT EXISTS FOR (c:NodeClaim) ON (c.node_id)",
        "CREATE INDEX edge_claim_document IF NOT EXISTS FOR (c:EdgeClaim) ON (c.document_id)",
        "CREATE INDEX edge_claim_edge IF NOT EXISTS FOR (c:EdgeClaim) ON (c.src, c.rel, c.dst)",
    ]
    for label in INDEXED_LABELS:
        statements.append(
            f"CREATE VECTOR INDEX {_vector_index(label)} IF NOT EXISTS "
            f"FOR (n:{label.value}) ON n.embedding OPTIONS {{indexConfig: {{"
            f"`vector.dimensions`: {int(dimension)}, `vector.similarity_function`: 'cosine', "
            # Exact scores, the same as the embedded store's: verdict thresholds depend on them.
            "`vector.quantization.enabled`: false}}"
        )
        statements.append(
            f"CREATE FULLTEXT INDEX {_text_index(label)} IF NOT EXISTS "
            f"FOR (n:{label.value}) ON EACH [n.search_text] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}"
        )
    return statements


def _node_row(node: Node, vectors: Mapping[str, Vector], vector_values: bool) -> dict[str, Any]:
    """What `_write_nodes` sends for a node, with the `content_hash` of all of it; its vector
    as a `VECTOR` value if `vector_values`, else as a list of floats."""
    properties = {k: v for k, v in node.properties().items() if v is not None}
    search_text = node.search_text() or None
    vector = vectors.get(node.id)
    content = hashlib.sha256(
        json.dumps([node.label.value, properties, search_text], sort_keys=True).encode()
    )
    if vector is not None:
        content.update(np.asarray(vector, dtype=np.float32).tobytes())
    return {
        "id": node.id,
        "label": node.label.value,
        "props": properties,
        "search_text": search_text,
        "embedding": None if vector is None else _on_the_wire(vector, vector_values),
        "content_hash": content.hexdigest(),
    }


def _on_the_wire(vector: Vector, vector_values: bool) -> neo4j.vector.Vector | list[float]:
    if vector_values:
        return neo4j.vector.Vector(np.asarray(vector, dtype=np.float32))
    return list(np.asarray(vector, dtype=float).tolist())


def _properties(var: str) -> str:
    """A node's domain properties as [key, value] pairs. `n {.*}` would also read the
    (large) embedding, which made a search's hydration queries 30% slower at 100k."""
    internal = ", ".join(f"'{p}'" for p in INTERNAL_PROPERTIES)
    return f"[k IN keys({var}) WHERE NOT k IN [{internal}] | [k, {var}[k]]]"


def _fields(var: str) -> str:
    """RETURN items for a node's id, labels and domain properties (`_properties`)."""
    return f"{var}.id AS id, labels({var}) AS labels, {_properties(var)} AS props"


def _cosine(score: float) -> float:
    """Neo4j reports cosine similarity rescaled to [0, 1]; undo that."""
    return 2.0 * score - 1.0


def _edge_from_record(record: Mapping[str, Any]) -> Edge:
    """An edge from `src`, `rel`, `dst` and `rel_props` (the relationship's properties)."""
    return Edge(
        source=record["src"], rel=record["rel"], target=record["dst"], **record["rel_props"]
    )


def _node_from_record(node_id: str, labels: Iterable[str], pairs: list[list[Any]]) -> Node:
    """A node from its id, labels and `_properties` pairs."""
    label = next(lbl for lbl in labels if lbl != NODE)
    return node_from_properties(label, node_id, dict(pairs))


# One hop of a `neighbours` walk in one round trip: per frontier node, its edges over `rels`
# and the nodes at their far ends; on the first hop also the frontier (start) nodes.
def _neighbours_hop(then: bool) -> str:
    """One hop of a walk from `$frontier` over `$rels`. With `then`, also, from each node it
    reaches (not a start node), the outgoing edges of the types `$then` and their targets, as
    `further` of that node's entry; without it, a separate text, so that a hop that needs
    none never expands the edges of every node it reaches."""
    call, entry = "", ""
    if then:
        call, entry = (
            f"""
CALL (m) {{
    OPTIONAL MATCH (m)-[t]->(x:{NODE}) WHERE type(t) IN $then AND NOT m.id IN $start
    RETURN collect(CASE WHEN t IS NOT NULL THEN {{
        src: m.id, rel: type(t), dst: x.id, rel_props: properties(t),
        id: x.id, labels: labels(x), props: {_properties("x")}
    }} END) AS further
}}""",
            ", further: further",
        )
    return f"""
UNWIND $frontier AS node_id
MATCH (n:{NODE} {{id: node_id}})
OPTIONAL MATCH (n)-[r]-(m:{NODE}) WHERE type(r) IN $rels{call}
RETURN n.id AS id,
       CASE WHEN $first THEN labels(n) END AS labels,
       CASE WHEN $first THEN {_properties("n")} END AS props,
       collect(CASE WHEN r IS NOT NULL THEN {{
           src: startNode(r).id, rel: type(r), dst: endNode(r).id, rel_props: properties(r),
           id: m.id, labels: labels(m), props: {_properties("m")}{entry}
       }} END) AS around
"""


_NEIGHBOURS_HOP = {then: _neighbours_hop(then) for then in (False, True)}


_EDGES_TOUCHING = f"""
UNWIND $ids AS node_id
MATCH (n:{NODE} {{id: node_id}})-[r]-(:{NODE}) WHERE type(r) IN $rels
RETURN DISTINCT startNode(r).id AS src, type(r) AS rel, endNode(r).id AS dst,
       properties(r) AS rel_props
"""


class Neo4jStore:
    """`GraphStore` on a Neo4j 5 server (Community, Enterprise or Aura)."""

    def __init__(
        self,
        uri: str,
        *,
        user: str = "neo4j",
        password: str | None = None,
        database: str | None = None,
        dimension: int = DEFAULT_DIMENSION,
        timeout: float = DEFAULT_NEO4J_TIMEOUT,
    ) -> None:
        """Connect to `uri`; `timeout` bounds, in seconds, how long a server that does not
        answer is retried before an operation fails with `StoreUnavailableError`."""
        self.uri = uri
        self._database = database
        auth = (user, password) if password is not None else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri,
                auth=auth,
                max_transaction_retry_time=timeout,
                connection_acquisition_timeout=timeout,
                connection_timeout=min(timeout, 30.0),
                # Aura and load balancers drop connections idle for an hour: retire them
                # before that, and test one that sat idle for a minute before using it.
                max_connection_lifetime=CONNECTION_LIFETIME,
                liveness_check_timeout=LIVENESS_CHECK_AFTER,
                # Until a first node has one, the server warns of every query that reads an
                # optional property (`content_hash`, `embedding`) that it "does not exist".
                notifications_disabled_classifications=[
                    neo4j.NotificationDisabledClassification.UNRECOGNIZED
                ],
            )
            self._driver.verify_connectivity()
        except AuthError as e:
            raise ConfigError(
                f"Neo4j at {uri} refused the credentials for user {user!r}",
                hint="Set LESSONS_NEO4J_USER and LESSONS_NEO4J_PASSWORD to a valid login.",
            ) from e
        except (ServiceUnavailable, OSError) as e:
            raise StoreUnavailableError(
                f"cannot reach Neo4j at {uri}: {e}",
                hint="Start Neo4j (e.g. `docker compose up -d neo4j`, or `make neo4j` here) "
                "and check the host and port in LESSONS_STORE.",
            ) from e
        except ValueError as e:
            raise ConfigError(f"not a valid Neo4j URL: {uri!r} ({e})") from e
        self.vector_values = self._driver.get_server_info().protocol_version >= (6, 0)
        self.init_schema(dimension)

    # -- plumbing -----------------------------------------------------------------------

    def _session(self) -> neo4j.Session:
        """A session in the store's one bookmark chain (see `_read`)."""
        return self._driver.session(
            database=self._database, bookmark_manager=self._driver.execute_query_bookmark_manager
        )

    def _write(self, work: Any, *args: Any) -> Any:
        """Run `work(tx, *args)` in one managed transaction that also bumps the revision."""

        def work_and_bump(tx: neo4j.ManagedTransaction, *args: Any) -> Any:
            result = work(tx, *args)
            _bump_revision(tx)
            return result

        try:
            with self._session() as session:
                result = session.execute_write(work_and_bump, *args)
        except ServiceUnavailable as e:
            raise StoreUnavailableError(f"Neo4j at {self.uri} is unavailable: {e}") from e
        except Neo4jError as e:
            raise StoreError(f"Neo4j write failed: {e.message or e}") from e
        faults.committed()
        return result

    def _read(self, cypher: str, **params: Any) -> list[neo4j.Record]:
        """Run a read query on a reader (a follower in a cluster). `execute_query` passes the
        bookmarks of this store's last writes (its sessions share the driver's bookmark
        manager), so the reader answers only once it has applied them: a read sees the
        writes made before it through the same store."""
        try:
            records, _, _ = self._driver.execute_query(
                cypher,
                params,
                database_=self._database,
                routing_=neo4j.RoutingControl.READ,
            )
        except ServiceUnavailable as e:
            raise StoreUnavailableError(f"Neo4j at {self.uri} is unavailable: {e}") from e
        except Neo4jError as e:
            raise StoreError(f"Neo4j query failed: {e.message or e}") from e
        return records

    def init_schema(self, dimension: int = DEFAULT_DIMENSION) -> None:
        """Create constraints and indexes if missing, and wait until they are online."""
        try:
            for statement in schema_statements(dimension):
                self._driver.execute_query(statement, database_=self._database)
            self._driver.execute_query("CALL db.awaitIndexes(300)", database_=self._database)
        except Neo4jError as e:
            raise StoreError(f"cannot create the Neo4j schema: {e.message or e}") from e

    def ping(self) -> None:
        self._read("RETURN 1 AS ok")

    def revision(self) -> int:
        records = self._read(
            f"MATCH (r:{REVISION} {{id: $id}}) RETURN r.value AS value", id=REVISION_ID
        )
        return int(records[0]["value"]) if records else 0

    # -- writes -------------------------------------------------------------------------

    def upsert_nodes(
        self, nodes: Sequence[Node], vectors: Mapping[str, Vector] | None = None
    ) -> None:
        self._write(
            _write_nodes, [(node, None) for node in nodes], vectors or {}, self.vector_values
        )

    def upsert_edges(self, edges: Sequence[Edge], *, document_id: str | None = None) -> None:
        self._write(_write_edges, [(edge, document_id) for edge in edges])

    def replace_documents(self, graphs: Sequence[DocumentGraph]) -> None:
        nodes = [(n, g.document.id) for g in graphs for n in [g.document, *g.nodes]]
        edges = [(e, g.document.id) for g in graphs for e in g.edges]
        vectors = {k: v for g in graphs for k, v in g.vectors.items()}

        def work(tx: neo4j.ManagedTransaction) -> None:
            old_nodes, old_edges = _drop_claims(tx, [g.document.id for g in graphs])
            labels = _write_nodes(tx, nodes, vectors, self.vector_values, new_claims=True)
            _write_edges(tx, edges, new_claims=True, labels=labels)
            _delete_unclaimed(tx, old_nodes, old_edges)

        self._write(work)

    def delete_document(self, document_id: str) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            old_nodes, old_edges = _drop_claims(tx, [document_id])
            if document_id not in old_nodes and not _labels(tx, [document_id]):
                raise NotFoundError(document_id)
            _delete_unclaimed(tx, old_nodes | {document_id}, old_edges)

        self._write(work)

    def delete_nodes(self, node_ids: Iterable[str]) -> None:
        self._write(_delete_nodes, list(dict.fromkeys(node_ids)))

    # -- reads --------------------------------------------------------------------------

    def get(self, node_id: str) -> Node:
        return the_node(self.get_many([node_id]), node_id)

    def get_many(self, node_ids: Iterable[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(node_ids))
        if not ids:
            return {}
        records = self._read(
            f"MATCH (n:{NODE}) WHERE n.id IN $ids RETURN {_fields('n')}",
            ids=ids,
        )
        return {r["id"]: _node_from_record(r["id"], r["labels"], r["props"]) for r in records}

    def list_nodes(self, label: Label, *, limit: int = 100, after: str = "") -> list[Node]:
        records = self._read(
            f"MATCH (n:{NODE}:{label.value}) WHERE n.id > $after RETURN {_fields('n')} "
            "ORDER BY n.id LIMIT $limit",
            after=after,
            limit=limit,
        )
        return [_node_from_record(r["id"], r["labels"], r["props"]) for r in records]

    def neighbours(
        self,
        node_ids: str | Sequence[str],
        rel_types: Sequence[RelType] | None = None,
        depth: int = 1,
        *,
        then: Sequence[RelType] = (),
    ) -> Subgraph:
        start_ids = start_node_ids(node_ids)
        rels = [r.value for r in (rel_types if rel_types is not None else RelType)]
        nodes: dict[str, Node] = {}
        edges: dict[tuple[str, str, str], Edge] = {}
        further: list[Mapping[str, Any]] = []  # `then` edges, with their targets
        frontier = start_ids
        for hop in range(max(depth, 1)):
            records = self._read(
                _NEIGHBOURS_HOP[bool(then)],
                frontier=frontier,
                rels=rels if depth else [],
                first=hop == 0,
                then=[r.value for r in then],
                start=start_ids,
            )
            if hop == 0:
                found = {r["id"]: r for r in records}
                if missing := [i for i in start_ids if i not in found]:
                    raise NotFoundError(missing[0])
                for i in start_ids:
                    nodes[i] = _node_from_record(i, found[i]["labels"], found[i]["props"])
            frontier = []
            for r in (far for record in records for far in record["around"]):
                edge = _edge_from_record(r)
                edges[edge.key] = edge
                if r["id"] not in nodes:
                    nodes[r["id"]] = _node_from_record(r["id"], r["labels"], r["props"])
                    frontier.append(r["id"])
                further.extend(r.get("further") or [])
            if not frontier:
                break
        for r in further:  # after the walk, so that a node it reaches is walked from
            edge = _edge_from_record(r)
            edges[edge.key] = edge
            nodes.setdefault(r["id"], _node_from_record(r["id"], r["labels"], r["props"]))
        return Subgraph(nodes=list(nodes.values()), edges=list(edges.values()))

    def edges(self, node_ids: Sequence[str], rel_types: Sequence[RelType]) -> list[Edge]:
        records = self._read(
            _EDGES_TOUCHING, ids=list(dict.fromkeys(node_ids)), rels=[r.value for r in rel_types]
        )
        return [_edge_from_record(r) for r in records]

    def vector_search(self, labels: Sequence[Label], vector: Vector, k: int) -> list[ScoredId]:
        hits = self._index_hits(
            [(_vector_index(label), _cosine) for label in labels if label is not Label.DOCUMENT],
            "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score "
            "RETURN node.id AS id, score",
            k=k,
            vector=np.asarray(vector, dtype=float).tolist(),
        )
        return best_first(hits, k)

    def nearest(self, label: Label, vectors: Matrix, k: int) -> list[list[ScoredId]]:
        queries = np.asarray(vectors, dtype=float).reshape(len(vectors), -1).tolist()
        found: list[list[ScoredId]] = [[] for _ in queries]
        if label is Label.DOCUMENT or not queries:
            return found
        records = self._read(
            "UNWIND range(0, size($vectors) - 1) AS row "
            "CALL db.index.vector.queryNodes($index, $k, $vectors[row]) YIELD node, score "
            "RETURN row, node.id AS id, score",
            index=_vector_index(label),
            k=k,
            vectors=queries,
        )
        for r in records:
            found[r["row"]].append(ScoredId(r["id"], _cosine(r["score"])))
        return [best_first(hits) for hits in found]

    def keyword_search(self, labels: Sequence[Label], text: str, k: int) -> list[ScoredId]:
        terms = keyword_terms(text)
        if not terms:
            return []
        hits = self._index_hits(
            [(_text_index(label), float) for label in labels if label is not Label.DOCUMENT],
            "CALL db.index.fulltext.queryNodes($index, $query, {limit: $k}) "
            "YIELD node, score RETURN node.id AS id, score",
            k=k,
            query=" OR ".join(f'"{term}"' for term in terms),
        )
        return best_first(hits, k)

    def _index_hits(
        self, indexes: list[tuple[str, Callable[[float], float]]], cypher: str, **params: Any
    ) -> list[ScoredId]:
        """The hits of `cypher` (which yields `id` and `score`) on each index, each score
        read by the function paired with its index."""
        hits: list[ScoredId] = []
        for index, score in indexes:
            records = self._read(cypher, index=index, **params)
            hits.extend(ScoredId(r["id"], score(r["score"])) for r in records)
        return hits

    def document_graph(self, document_id: str) -> DocumentGraph:
        document = the_document(self.get(document_id))
        claimed = self._read(
            "MATCH (c:NodeClaim {document_id: $doc}) RETURN c.node_id AS id ORDER BY id",
            doc=document_id,
        )
        edges = self._read(
            f"MATCH (c:EdgeClaim {{document_id: $doc}}) MATCH (a:{NODE} {{id: c.src}})-[r]->"
            f"(b:{NODE} {{id: c.dst}}) WHERE type(r) = c.rel "
            "RETURN a.id AS src, type(r) AS rel, b.id AS dst, properties(r) AS rel_props",
            doc=document_id,
        )
        nodes = self.get_many(r["id"] for r in claimed if r["id"] != document_id)
        return DocumentGraph(
            document=document,
            nodes=list(nodes.values()),
            edges=[_edge_from_record(r) for r in edges],
            vectors=self.vectors(nodes),
        )

    def vectors(self, node_ids: Iterable[str]) -> dict[str, Vector]:
        records = self._read(
            f"MATCH (n:{NODE}) WHERE n.id IN $ids AND n.embedding IS NOT NULL "
            "RETURN n.id AS id, n.embedding AS embedding",
            ids=list(node_ids),
        )
        return {r["id"]: np.asarray(r["embedding"], dtype=np.float32) for r in records}

    def stats(self) -> StoreStats:
        nodes = self._read(
            f"MATCH (n:{NODE}) UNWIND labels(n) AS label WITH label WHERE label <> '{NODE}' "
            "RETURN label, count(*) AS count"
        )
        edges = self._read(
            f"MATCH (:{NODE})-[r]->(:{NODE}) RETURN type(r) AS rel, count(*) AS count"
        )
        return StoreStats(
            nodes={r["label"]: r["count"] for r in nodes},
            edges={r["rel"]: r["count"] for r in edges},
        )

    @paused_gc
    def to_networkx(self) -> nx.MultiDiGraph:
        nodes = (
            _node_from_record(r["id"], r["labels"], r["props"])
            for r in self._read(f"MATCH (n:{NODE}) RETURN {_fields('n')} ORDER BY n.id")
        )
        edges = (
            _edge_from_record(r)
            for r in self._read(
                f"MATCH (a:{NODE})-[r]->(b:{NODE}) "
                "RETURN a.id AS src, type(r) AS rel, b.id AS dst, properties(r) AS rel_props"
            )
        )
        return projection(
            ((n.id, n.label.value, n.properties()) for n in nodes),
            ((e.source, e.rel.value, e.target, e.properties()) for e in edges),
        )

    def close(self) -> None:
        self._driver.close()


# -- transaction functions (run inside execute_write, retried as a whole) ----------------


def _bump_revision(tx: neo4j.ManagedTransaction) -> None:
    """Increment the store's revision. Last in the transaction: the node's write lock then
    serialises writers only for their commit. `SET r.value = r.value + 1` takes that lock
    before reading, so concurrent increments are not lost. A new revision node starts at a
    random number, so a database wiped by hand (`MATCH (n) DETACH DELETE n`) does not count
    again through revisions a running process has cached."""
    tx.run(
        f"MERGE (r:{REVISION} {{id: $id}}) ON CREATE SET r.value = $start "
        "ON MATCH SET r.value = r.value + 1",
        id=REVISION_ID,
        start=secrets.randbits(48),
    )


def _labels(tx: neo4j.ManagedTransaction, ids: Iterable[str]) -> dict[str, str]:
    return {node_id: label for node_id, (label, _) in _stored(tx, ids).items()}


def _stored(tx: neo4j.ManagedTransaction, ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """The label and `content_hash` of each stored node among `ids` (no query for none)."""
    wanted = list(ids)
    if not wanted:
        return {}
    result = tx.run(
        f"MATCH (n:{NODE}) WHERE n.id IN $ids "
        "RETURN n.id AS id, labels(n) AS labels, n.content_hash AS content_hash",
        ids=wanted,
    )
    return {
        r["id"]: (next(lbl for lbl in r["labels"] if lbl != NODE), r["content_hash"])
        for r in result
    }


def _write_nodes(
    tx: neo4j.ManagedTransaction,
    nodes: Sequence[tuple[Node, str | None]],
    vectors: Mapping[str, Vector],
    vector_values: bool,
    *,
    new_claims: bool = False,
) -> dict[str, str]:
    """Write nodes (one query per label), each claimed by its document (if any); return the
    label of each.

    A node that several documents share (a cause, a team) is written once, as the last of
    them says it, and claimed by each. A node stored with the same `content_hash` (label,
    properties, text and vector) is not sent again: at 1,000 documents, 15% of the rows were
    shared entities unchanged since an earlier batch, and each sent vector costs the server
    ~0.24 ms to unpack plus a vector index update. `new_claims` says that these documents hold
    no claims (they were just dropped), so the claims are created without looking for
    existing ones.
    """
    claim = "CREATE" if new_claims else "MERGE"
    stored = _stored(tx, [n.id for n, _ in nodes])
    labels = {node_id: label for node_id, (label, _) in stored.items()}
    stored_hashes = {node_id: content for node_id, (_, content) in stored.items()}
    for node, _ in nodes:
        check_relabel(node, labels.setdefault(node.id, node.label.value))
    # One query per label, for the same reason as the edges' one query per type.
    by_label: dict[Label, dict[str, dict[str, Any]]] = {}
    for node, _ in nodes:
        by_label.setdefault(node.label, {})[node.id] = _node_row(node, vectors, vector_values)
    # Cypher 25 for `toFloatList` of a VECTOR value (Cypher 5 has none).
    cypher, embedding = (
        ("CYPHER 25 ", "toFloatList(row.embedding)") if vector_values else ("", "row.embedding")
    )
    for label, by_id in by_label.items():
        rows = [r for r in by_id.values() if r["content_hash"] != stored_hashes.get(r["id"])]
        if rows:
            tx.run(
                f"{cypher}UNWIND $rows AS row MERGE (n:{NODE} {{id: row.id}}) "
                f"SET n:{label.value} SET n = row.props SET n.id = row.id, "
                f"n.search_text = row.search_text, n.embedding = {embedding}, "
                "n.content_hash = row.content_hash",
                rows=rows,
            )
    claims = [{"doc": doc, "id": node.id} for node, doc in nodes if doc is not None]
    if claims:
        tx.run(
            f"UNWIND $claims AS c {claim} (:NodeClaim {{document_id: c.doc, node_id: c.id}})",
            claims=claims,
        )
    return labels


def _write_edges(
    tx: neo4j.ManagedTransaction,
    edges: Sequence[tuple[Edge, str | None]],
    *,
    new_claims: bool = False,
    labels: Mapping[str, str] | None = None,
) -> None:
    """One query for all edges, each claimed by its document (if any); types are checked first.

    `new_claims` as for `_write_nodes`; `labels` are those of nodes known to exist (just
    written), the others are read.
    """
    claim = "CREATE" if new_claims else "MERGE"
    ends = {e.source for e, _ in edges} | {e.target for e, _ in edges}
    known = {i: labels[i] for i in ends if i in labels} if labels else {}
    known |= _labels(tx, ends - known.keys())
    rows: list[dict[str, Any]] = []
    for edge, doc in edges:
        check_edge_ends(edge, known)
        rows.append(
            {
                "src": edge.source,
                "rel": edge.rel.value,
                "dst": edge.target,
                "props": edge.properties(),
                "doc": doc,
            }
        )
    # One query per relationship type: a static type lets MERGE look only at relationships
    # of that type (a dynamic `$(row.rel)` is resolved per row).
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_type.setdefault(row["rel"], []).append(row)
    for rel, typed in by_type.items():
        tx.run(
            f"UNWIND $rows AS row MATCH (a:{NODE} {{id: row.src}}) "
            f"MATCH (b:{NODE} {{id: row.dst}}) "
            f"MERGE (a)-[r:{RelType(rel).value}]->(b) SET r = row.props "
            "WITH row WHERE row.doc IS NOT NULL "
            f"{claim} (:EdgeClaim {{document_id: row.doc, src: row.src, rel: row.rel, "
            "dst: row.dst})",
            rows=typed,
        )


def _drop_claims(
    tx: neo4j.ManagedTransaction, document_ids: list[str]
) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Forget what these documents claimed; return the nodes and edges they had claimed."""
    nodes = {
        r["node_id"]
        for r in tx.run(
            "MATCH (c:NodeClaim) WHERE c.document_id IN $docs WITH c, c.node_id AS node_id "
            "DELETE c RETURN node_id",
            docs=document_ids,
        )
    }
    edges = {
        (r["src"], r["rel"], r["dst"])
        for r in tx.run(
            "MATCH (c:EdgeClaim) WHERE c.document_id IN $docs "
            "WITH c, c.src AS src, c.rel AS rel, c.dst AS dst DELETE c RETURN src, rel, dst",
            docs=document_ids,
        )
    }
    return nodes, edges


def _delete_unclaimed(
    tx: neo4j.ManagedTransaction, node_ids: set[str], edge_keys: set[tuple[str, str, str]]
) -> None:
    """Delete the given nodes and edges that no document claims any more."""
    tx.run(
        f"UNWIND $rows AS row MATCH (a:{NODE} {{id: row.src}})-[r:$(row.rel)]->"
        f"(b:{NODE} {{id: row.dst}}) "
        "WHERE NOT EXISTS { MATCH (c:EdgeClaim {src: row.src, rel: row.rel, dst: row.dst}) } "
        "DELETE r",
        rows=[{"src": s, "rel": RelType(r).value, "dst": d} for s, r, d in edge_keys],
    )
    tx.run(
        f"UNWIND $ids AS node_id MATCH (n:{NODE} {{id: node_id}}) "
        "WHERE NOT EXISTS { MATCH (c:NodeClaim {node_id: node_id}) } "
        "DETACH DELETE n",
        ids=list(node_ids),
    )


def _delete_nodes(tx: neo4j.ManagedTransaction, node_ids: list[str]) -> None:
    """Delete nodes with their relationships and the claims on both."""
    tx.run(
        f"UNWIND $ids AS node_id MATCH (:{NODE} {{id: node_id}})-[r]-(:{NODE}) "
        "WITH DISTINCT startNode(r).id AS src, type(r) AS rel, endNode(r).id AS dst "
        "MATCH (c:EdgeClaim {src: src, rel: rel, dst: dst}) DELETE c",
        ids=node_ids,
    )
    tx.run("UNWIND $ids AS node_id MATCH (c:NodeClaim {node_id: node_id}) DELETE c", ids=node_ids)
    tx.run(f"UNWIND $ids AS node_id MATCH (n:{NODE} {{id: node_id}}) DETACH DELETE n", ids=node_ids)
