"""Entity resolution: names of shared entities that mean the same thing become one node.

"DB connection pool exhausted" and "database connection-pool exhaustion" are one cause;
"DNS misconfiguration" and "DNS provider outage" are two. Two names are the same entity when

1. their *name keys* are equal: lower-cased words (in any script), common abbreviations
   expanded, British spellings made American, plural and verb endings stemmed, sorted; or
2. both are in Latin letters, the cosine of their embeddings is at least
   `SAME_ENTITY_COSINE`, a threshold that `bench/resolution.py` calibrates on hand-labelled
   pairs (bench/data/cause-pairs.jsonl), and neither name says the opposite of the other
   ("too low" / "too high": such names embed almost alike, yet are different causes).

A name also names an entity when its key is the key of one of the entity's aliases
(`names_entity`); import and `recognize` resolve names by that one rule.

The decision to merge is recorded on the edges that used the other name (`Edge.alias`), so
`unmerge` can split it again.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lessons.graph.embeddings import Embedder, Vector
from lessons.graph.errors import ValidationError
from lessons.graph.models import (
    Cause,
    Component,
    Document,
    Edge,
    Label,
    Node,
    Practice,
    RelType,
    Team,
    entity_id,
    name_words,
)
from lessons.graph.store import DocumentGraph, GraphStore, ScoredId

# Calibrated by bench/resolution.py: the lowest cosine at which no labelled pair of different
# causes is merged (cross-validated: 95% of merges right, 41% of same-cause pairs found).
SAME_ENTITY_COSINE = 0.86

ABBREVIATIONS = {
    "db": "database",
    "dbs": "database",
    "k8s": "kubernetes",
    "conn": "connection",
    "conns": "connection",
    "cfg": "configuration",
    "config": "configuration",
    "configs": "configuration",
    "cert": "certificate",
    "certs": "certificate",
    "auth": "authentication",
    "authn": "authentication",
    "authz": "authorization",
    "env": "environment",
    "prod": "production",
    "repl": "replication",
    "oom": "out of memory",
    "oomkilled": "out of memory killed",
    "mem": "memory",
    "perms": "permission",
    "svc": "service",
    "msg": "message",
    "msgs": "message",
    "req": "request",
    "reqs": "request",
    "dns": "dns",
    "lb": "load balancer",
    "tls": "tls",
    "ssl": "tls",
    "sqli": "sql injection",
    "xid": "transaction id",
}

BRITISH = {
    "mould": "mold",
    "centre": "center",
    "behaviour": "behavior",
    "colour": "color",
    "catalogue": "catalog",
    "licence": "license",
    "defence": "defense",
    "programme": "program",
    "favour": "favor",
}

# Words that do not change what an entity is.
FILLER = frozenset({"a", "an", "the", "of", "on", "in", "for", "to", "and", "due", "by", "from"})

_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ed", "y")


def _stem(word: str) -> str:
    """A crude stem that folds plurals and verb forms: exhausted/exhaustion -> exhaust."""
    word = re.sub(r"is(e|es|ed|ing|ation)$", r"iz\1", word)  # normalise -> normalize
    if word.endswith("ies"):
        word = word[:-3] + "y"  # policies -> policy
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]  # plurals
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


@functools.lru_cache(maxsize=65536)  # an entity's aliases are keyed again for every new name
def name_key(name: str) -> str:
    """A key equal for names that differ only in case, punctuation, abbreviation, spelling,
    word endings and word order; words in any script count (`name_words`), so two equal
    Chinese names share a key. Empty only for a name with no letters or digits."""
    words: list[str] = []
    for word in name_words(name):
        word = BRITISH.get(word, word)
        words.extend(ABBREVIATIONS.get(word, word).split())
    return " ".join(sorted({_stem(w) for w in words if w not in FILLER}))


OPPOSITES = {
    frozenset(pair)
    for pair in [
        ("low", "high"),
        ("allow", "block"),
        ("accept", "reject"),
        ("enabl", "disabl"),
        ("min", "max"),
        ("over", "under"),
        ("increas", "decreas"),
        ("open", "clos"),
        ("success", "failur"),
        ("start", "stop"),
        ("befor", "after"),
    ]
}


def opposed(a: str, b: str) -> bool:
    """Whether one name has a word whose opposite only the other has."""
    words_a, words_b = set(name_key(a).split()), set(name_key(b).split())
    only_a, only_b = words_a - words_b, words_b - words_a
    return any(frozenset((x, y)) in OPPOSITES for x in only_a for y in only_b)


def same_entity(a: str, b: str, cosine: float, threshold: float = SAME_ENTITY_COSINE) -> bool:
    """Whether two names, whose embeddings have this cosine, name one entity. An empty name
    key (no letters or digits) is equal to no other. Names with other numbers (versions,
    status codes) or that are both host names are never one entity by cosine alone.

    Names with letters outside the Latin script are the same entity by their name keys only,
    never by cosine: the default model, all-MiniLM-L6-v2, is English and embeds such names
    alike whatever they mean ("数据库连接池耗尽" and "证书过期", certificate expired: 0.88;
    "数据库 timeout" and "证书 timeout": 0.99), so their cosine says nothing.
    """
    key = name_key(a)
    if key and key == name_key(b):
        return True
    if not (_latin(a) and _latin(b)) or (_HOST.fullmatch(a.strip()) and _HOST.fullmatch(b.strip())):
        return False  # two host names are two sites, however alike ("gov.au", "australia.gov.au")
    if _NUMBER.findall(a) != _NUMBER.findall(b):
        return False  # "HTTP 502 from the proxy", "HTTP 503 from the proxy"; v1.13, v1.14
    return cosine >= threshold and not opposed(a, b)


_HOST = re.compile(r"(?:[\w-]+\.)+[a-z]{2,}", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)*(?![\w.])", re.IGNORECASE)


def _latin(name: str) -> bool:
    """Whether the name has ASCII letters and no letters without an ASCII form."""
    folded = "".join(name_words(name))
    return folded.isascii() and any(char.isalpha() for char in folded)


SharedEntity = Cause | Component | Practice | Team
_SHARED_TYPES = (Cause, Component, Practice, Team)
NEAREST = 5  # existing entities compared with each new name


def names_entity(name: str, entity: SharedEntity, cosine: float) -> bool:
    """Whether `name`, whose embedding has this cosine to `entity`'s, names that entity: the
    same entity as its name (`same_entity`), or the name key of one of its aliases."""
    key = name_key(name)
    if key and any(name_key(alias) == key for alias in entity.aliases):
        return True
    return same_entity(name, entity.name, cosine)


def nearest_entities(
    store: GraphStore, queries: Sequence[tuple[Label, Vector]]
) -> list[list[tuple[SharedEntity, float]]]:
    """For each (label, vector): the `NEAREST` stored entities of that label and their
    cosine, best first; one `nearest` call per label and one `get_many` for all."""
    rows: dict[Label, list[int]] = {}
    for row, (label, _) in enumerate(queries):
        rows.setdefault(label, []).append(row)
    hits: list[list[ScoredId]] = [[] for _ in queries]
    for label, indexes in rows.items():
        found = store.nearest(label, np.stack([queries[i][1] for i in indexes]), NEAREST)
        for row, row_hits in zip(indexes, found, strict=True):
            hits[row] = row_hits
    entities = store.get_many({h.id for row_hits in hits for h in row_hits})
    return [
        [(e, h.score) for h in row_hits if isinstance(e := entities.get(h.id), _SHARED_TYPES)]
        for row_hits in hits
    ]


def resolve_names(
    store: GraphStore, embedder: Embedder, names: Sequence[tuple[Label, str]]
) -> dict[tuple[Label, str], str]:
    """The ids of the stored entities that these (label, name) pairs name: the entity whose
    id comes from the name, else the first of its label's `NEAREST` that `names_entity`
    accepts (the import's rules, plus the name keys of aliases). Names that name no stored
    entity, or have no letters or digits, are left out."""
    wanted = list(dict.fromkeys(n for n in names if name_words(n[1])))
    ids = {(label, name): entity_id(label, name) for label, name in wanted}
    stored = store.get_many(set(ids.values()))
    found = {named: node_id for named, node_id in ids.items() if node_id in stored}
    rest = [named for named in wanted if named not in found]
    if not rest:
        return found
    vectors = embedder.encode([name for _, name in rest])
    queries = [(label, vector) for (label, _), vector in zip(rest, vectors, strict=True)]
    nearest = nearest_entities(store, queries)
    for (label, name), candidates in zip(rest, nearest, strict=True):
        match = next((e.id for e, score in candidates if names_entity(name, e, score)), None)
        if match is not None:
            found[(label, name)] = match
    return found


def resolve_ref(store: GraphStore, label: Label, ref: str) -> Node | None:
    """The stored node with this label whose id is `ref`, or whose id comes from the name
    `ref`: how a name or id given by a caller is looked up (never by meaning)."""
    candidates = [ref]
    with contextlib.suppress(ValidationError):  # a name with no letters names no entity
        candidates.append(entity_id(label, ref))
    found = store.get_many(candidates)
    for candidate in candidates:
        node = found.get(candidate)
        if node is not None and node.label is label:
            return node
    return None


def find_entity(store: GraphStore, embedder: Embedder, label: Label, ref: str) -> str | None:
    """The id of the stored entity `ref` names: the node with that id, else the entity its
    name resolves to by the import's rule (`resolve_names`), so that "database connection
    pool exhausted" written by hand finds the cause an import merged that name into."""
    node = resolve_ref(store, label, ref)
    if node is not None:
        return node.id
    return resolve_names(store, embedder, [(label, ref)]).get((label, ref))


@dataclass(frozen=True)
class Merge:
    """A name a document used, resolved to an entity named otherwise."""

    document_id: str
    alias: str
    entity_id: str
    entity_name: str


@dataclass
class _Known:
    node: SharedEntity
    vector: Vector | None


class EntityResolver:
    """Resolves the shared entities of imported documents against the store and each other.

    A name whose id is already taken is that entity (ids come from the normalised name).
    A new name is compared with the nearest entities of its label, in the store and earlier
    in this run, and merged into the first that `names_entity` accepts: the same entity as
    its name, or the name key of one of its aliases.
    """

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.known: dict[str, _Known] = {}  # entities created in this run, by id
        self.merged: dict[str, str] = {}  # id a name would have had -> entity it was merged into
        self.keys: dict[tuple[Label, str], str] = {}  # (label, name key) -> id, in this run
        self.vectors: dict[Label, tuple[list[str], list[Vector]]] = {}  # per label, in this run

    def _remember(self, node: SharedEntity, vector: Vector | None) -> None:
        """A new entity of this run, to resolve later names against."""
        self.known[node.id] = _Known(node, vector)
        self.keys.setdefault((node.label, name_key(node.name)), node.id)
        if vector is not None:
            ids, matrix = self.vectors.setdefault(node.label, ([], []))
            ids.append(node.id)
            matrix.append(vector)

    def resolve(self, graphs: Sequence[DocumentGraph]) -> list[Merge]:
        """Rewrite `graphs` in place so merged names point at their entities."""
        shared = {n.id: n for g in graphs for n in g.nodes if isinstance(n, _SHARED_TYPES)}
        stored = self.store.get_many(i for i in shared if i not in self.known)
        self._keep_stored(graphs, stored)
        vectors = {i: v for g in graphs for i, v in g.vectors.items() if i in shared}
        new = [
            node
            for node_id, node in shared.items()
            if node_id not in stored and node_id not in self.known and node_id not in self.merged
        ]
        embedded = [node for node in new if node.id in vectors]
        nearest = nearest_entities(self.store, [(n.label, vectors[n.id]) for n in embedded])
        in_store = {node.id: found for node, found in zip(embedded, nearest, strict=True)}
        for node in new:
            node_id = node.id
            target = self._match(node, vectors.get(node_id), in_store.get(node_id, []))
            if target is None:
                self._remember(node, vectors.get(node_id))
            else:
                self.merged[node_id] = target
                self.keys.setdefault((node.label, name_key(node.name)), target)
        merges: list[Merge] = []
        for graph in graphs:
            merges.extend(self._rewrite(graph))
        return merges

    def _keep_stored(self, graphs: Sequence[DocumentGraph], stored: dict[str, Node]) -> None:
        """Entities already in the store keep what the store knows: a document that only
        refers to one by name writes it back unchanged, and one that describes it keeps its
        aliases (merges made by earlier imports)."""
        named = {i for g in graphs for i in g.named_only if i in stored}
        vectors = self.store.vectors(named) if named else {}
        for graph in graphs:
            nodes: list[Node] = []
            for node in graph.nodes:
                kept = stored.get(node.id)
                if isinstance(kept, _SHARED_TYPES) and isinstance(node, _SHARED_TYPES):
                    if node.id in graph.named_only:
                        node = kept
                        if node.id in vectors:
                            graph.vectors[node.id] = vectors[node.id]
                    elif kept.aliases:
                        aliases = tuple(dict.fromkeys([*kept.aliases, *node.aliases]))
                        node = node.model_copy(update={"aliases": aliases})
                nodes.append(node)
            graph.nodes = nodes

    def _match(
        self, node: SharedEntity, vector: Vector | None, stored: list[tuple[SharedEntity, float]]
    ) -> str | None:
        """The id of the entity `node` names (`names_entity`, as `recognize` resolves names),
        if another name of it is known: among its nearest `stored` entities, or those created
        or named earlier in this run."""
        same_key = self.keys.get((node.label, name_key(node.name)))
        if same_key is not None:
            return same_key
        candidates = {other.id: (other, score) for other, score in stored}
        ids, matrix = self.vectors.get(node.label, ([], []))
        if vector is not None and ids:
            scores = np.stack(matrix) @ vector
            for index in np.argsort(-scores)[:NEAREST]:
                known = self.known[ids[index]].node
                candidates.setdefault(known.id, (known, float(scores[index])))
        ranked = sorted(candidates.values(), key=lambda c: (-c[1], c[0].id))
        return next(
            (other.id for other, score in ranked if names_entity(node.name, other, score)), None
        )

    def _rewrite(self, graph: DocumentGraph) -> list[Merge]:
        renamed = {n.id: n for n in graph.nodes if n.id in self.merged}
        if not renamed:
            return []
        targets = {self.merged[i] for i in renamed}
        entities = self._entities(targets)
        merges = []
        aliases: dict[str, set[str]] = {t: set() for t in targets}
        for old_id, node in renamed.items():
            assert isinstance(node, _SHARED_TYPES)
            target = self.merged[old_id]
            aliases[target].add(node.name)
            merges.append(Merge(graph.document.id, node.name, target, entities[target].node.name))
        nodes = [n for n in graph.nodes if n.id not in renamed and n.id not in targets]
        for target, names in aliases.items():
            entity = entities[target].node
            updated = entity.model_copy(
                update={"aliases": tuple(dict.fromkeys([*entity.aliases, *sorted(names)]))}
            )
            nodes.append(updated)
            if target in self.known:
                self.known[target] = _Known(updated, self.known[target].vector)
            vector = entities[target].vector
            if vector is not None:
                graph.vectors[target] = vector
        for old_id in renamed:
            graph.vectors.pop(old_id, None)
        graph.nodes = nodes
        edges = (self._repoint(e, renamed) for e in graph.edges)
        graph.edges = list({e.key: e for e in reversed(list(edges))}.values())[::-1]
        return merges

    def _repoint(self, edge: Edge, renamed: dict[str, Node]) -> Edge:
        source = self.merged.get(edge.source, edge.source)
        if edge.target in renamed:
            name = renamed[edge.target]
            assert isinstance(name, _SHARED_TYPES)
            return edge.model_copy(
                update={"source": source, "target": self.merged[edge.target], "alias": name.name}
            )
        return edge.model_copy(update={"source": source})

    def _entities(self, ids: set[str]) -> dict[str, _Known]:
        """The current version of these entities: from this run, else from the store."""
        found = {i: self.known[i] for i in ids if i in self.known}
        missing = [i for i in ids if i not in found]
        stored = self.store.get_many(missing)
        vectors = self.store.vectors(missing)
        for node_id in missing:
            node = stored[node_id]
            assert isinstance(node, _SHARED_TYPES)
            found[node_id] = _Known(node, vectors.get(node_id))
        return found


# The relationships from a part of a failure (or a practice) back to its documents.
_TO_DOCUMENTS = [
    RelType.DOCUMENTED_IN,
    RelType.TAUGHT,
    RelType.INVESTIGATED_BY,
    RelType.HAS_ACTION,
    RelType.ADOPTED_AS,
    RelType.IMPLEMENTS,
]


def unmerge(store: GraphStore, embedder: Embedder, merged_id: str, alias: str) -> SharedEntity:
    """Split `alias` off the entity it was merged into: it becomes an entity of its own, and
    the edges that used that name, in every document that used it, point at it. Returns the
    new entity; later imports find it by its name, so the merge is not redone."""
    entity = _merged_entity(store, merged_id, alias)
    split = type(entity)(id=entity_id(entity.label, alias), name=alias)
    if store.get_many([split.id]):
        raise ValidationError(f"{split.id!r} exists already; cannot split {alias!r} into it")
    remaining = entity.model_copy(
        update={"aliases": tuple(a for a in entity.aliases if a != alias)}
    )
    moved = {
        e.key
        for e in store.neighbours(merged_id).edges
        if e.target == merged_id and e.alias == alias
    }
    vector = embedder.encode([split.search_text()])[0]
    graphs = []
    for document_id in _documents_of(store, sorted({source for source, _, _ in moved})):
        graph = store.document_graph(document_id)
        if any(e.key in moved for e in graph.edges):
            _split_in(graph, moved, remaining, split, vector)
            graphs.append(graph)
    store.replace_documents(graphs)
    store.upsert_nodes([remaining], store.vectors([merged_id]))
    if not graphs:
        store.upsert_nodes([split], {split.id: vector})
    return split


def _merged_entity(store: GraphStore, merged_id: str, alias: str) -> SharedEntity:
    """The shared entity `merged_id`, checked to have `alias` among its aliases."""
    entity = store.get(merged_id)
    if not isinstance(entity, _SHARED_TYPES):
        raise ValidationError(
            f"{merged_id!r} is a {entity.label}; only causes, components, practices and "
            "teams are merged"
        )
    if alias not in entity.aliases:
        known = ", ".join(repr(a) for a in entity.aliases) or "none"
        raise ValidationError(
            f"{alias!r} is not an alias of {merged_id!r}",
            hint=f"Its aliases: {known}. Copy one exactly.",
        )
    return entity


def _documents_of(store: GraphStore, node_ids: list[str]) -> list[str]:
    """The documents that said these nodes (through the failures they belong to)."""
    if not node_ids:
        return []
    around = store.neighbours(node_ids, _TO_DOCUMENTS, depth=3)
    return [n.id for n in around.nodes if isinstance(n, Document)]


def _split_in(
    graph: DocumentGraph,
    moved: set[tuple[str, str, str]],
    remaining: SharedEntity,
    split: SharedEntity,
    vector: Vector,
) -> None:
    """Point the document's `moved` edges at `split`; keep the merged entity (as `remaining`)
    only if the document still uses it."""
    graph.edges = [
        e.model_copy(update={"target": split.id, "alias": None}) if e.key in moved else e
        for e in graph.edges
    ]
    still_used = any(remaining.id in (e.source, e.target) for e in graph.edges)
    graph.nodes = [
        remaining if n.id == remaining.id else n
        for n in graph.nodes
        if n.id != remaining.id or still_used
    ]
    graph.nodes.append(split)
    graph.vectors[split.id] = vector
    if not still_used:
        graph.vectors.pop(remaining.id, None)
