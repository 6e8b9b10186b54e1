"""Export the graph, or a failure's neighbourhood, as GraphML, JSON or Cypher.

Every format is written from the networkx projection (`GraphStore.to_networkx()`, or
`neighbourhood()` for part of it): node attributes are `label` plus the node's properties,
edges are keyed by relationship type with `rel` and their properties (`role` on CAUSED_BY).

- **GraphML** opens in Gephi and loads with `networkx.read_graphml`. GraphML holds only
  scalars, so a list property (tags, aliases, timeline, recurrence_of, an edge's `lines`) is
  written as a JSON array in a string and an unset property (None) is left out;
  `read_graphml` here undoes both and gives back the projection. XML 1.0 cannot hold control
  characters other than tab, newline and carriage return (which XML reads back as a
  newline), so those few are replaced with U+FFFD; JSON and Cypher keep every character.
- **JSON**: `{"nodes": [{id, label, properties}], "edges": [{source, rel, target,
  properties}]}`, sorted by id; `graph_from_json` reads it back.
- **Cypher**: one statement per line, for an empty Neo4j 5 (e.g. `cypher-shell < file`):
  the uniqueness constraint `lessons` uses, then the nodes (labelled `LessonsNode` plus
  their domain label, as `Neo4jStore` writes them) and the edges in batches. Values are
  literals, never spliced text: strings are quoted with every quote, backslash and control
  character escaped. Vectors are not exported; `lessons copy` moves a graph with them.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Any, TypeVar, get_origin

import networkx as nx

from lessons.graph.errors import ValidationError
from lessons.graph.models import NODE_TYPES, Label, RelType, node_from_properties
from lessons.graph.store.base import GraphStore, projection, subgraph_projection

FORMATS = ("graphml", "json", "cypher")
CYPHER_BATCH = 500
NEO4J_NODE_LABEL = "LessonsNode"  # the shared label Neo4jStore gives every node
E = TypeVar("E", bound=StrEnum)


def neighbourhood(store: GraphStore, node_id: str, depth: int = 1) -> nx.MultiDiGraph:
    """The node and everything within `depth` hops of it, as a projection."""
    return subgraph_projection(store.neighbours(node_id, depth=depth))


def export_graph(graph: nx.MultiDiGraph, fmt: str, out: IO[str]) -> None:
    """Write `graph` to `out` in one of `FORMATS`."""
    writers = {"graphml": write_graphml, "json": write_json, "cypher": write_cypher}
    if fmt not in writers:
        raise ValidationError(f"unknown export format {fmt!r}", hint=f"use one of {FORMATS}")
    writers[fmt](graph, out)


def _split(attrs: dict[str, Any], drop: str) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k != drop}


# -- JSON -----------------------------------------------------------------------------------


def graph_to_json(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Nodes and edges as plain data, sorted by id (edges by source, type, target)."""
    return {
        "nodes": [
            {"id": node, "label": attrs["label"], "properties": _split(attrs, "label")}
            for node, attrs in sorted(graph.nodes(data=True))
        ],
        "edges": [
            {"source": source, "rel": rel, "target": target, "properties": _split(attrs, "rel")}
            for source, target, rel, attrs in sorted(
                graph.edges(keys=True, data=True), key=lambda e: (e[0], e[2], e[1])
            )
        ],
    }


def graph_from_json(data: dict[str, Any]) -> nx.MultiDiGraph:
    """The projection back from `graph_to_json` output."""
    return projection(
        ((n["id"], n["label"], n["properties"]) for n in data["nodes"]),
        ((e["source"], e["rel"], e["target"], e["properties"]) for e in data["edges"]),
    )


def write_json(graph: nx.MultiDiGraph, out: IO[str]) -> None:
    """Write `graph_to_json(graph)` as indented JSON."""
    json.dump(graph_to_json(graph), out, indent=2, ensure_ascii=False)
    out.write("\n")


# -- GraphML --------------------------------------------------------------------------------


# Characters XML 1.0 cannot hold, even escaped (JSON-encoded lists escape them already).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _graphml_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    return value


def write_graphml(graph: nx.MultiDiGraph, out: IO[str]) -> None:
    """Write `graph` as GraphML: lists as JSON strings, unset (None) properties left out."""
    encoded = nx.MultiDiGraph()
    for node, attrs in sorted(graph.nodes(data=True)):
        encoded.add_node(node, **{k: _graphml_value(v) for k, v in attrs.items() if v is not None})
    for source, target, rel, attrs in sorted(
        graph.edges(keys=True, data=True), key=lambda e: (e[0], e[2], e[1])
    ):
        encoded.add_edge(
            source,
            target,
            key=rel,
            **{k: _graphml_value(v) for k, v in attrs.items() if v is not None},
        )
    for line in nx.generate_graphml(encoded):
        out.write(line + "\n")


def _list_fields(label: str) -> set[str]:
    """Properties of a label that are lists (tuples in the model)."""
    fields = NODE_TYPES[Label(label)].model_fields
    return {name for name, info in fields.items() if get_origin(info.annotation) is tuple}


def read_graphml(source: str | IO[str]) -> nx.MultiDiGraph:
    """Load a GraphML export back into the projection it was written from.

    `source` is a path or an open text file. JSON-encoded lists are decoded and unset
    properties come back as None, by rebuilding each node with its domain model.
    """
    readable = source if isinstance(source, str) else io.BytesIO(source.read().encode())
    loaded = nx.read_graphml(readable, force_multigraph=True)
    graph = nx.MultiDiGraph()
    for node, attrs in loaded.nodes(data=True):
        label = attrs["label"]
        properties = {
            k: json.loads(v) if k in _list_fields(label) else v
            for k, v in attrs.items()
            if k != "label"
        }
        typed = node_from_properties(label, node, properties)
        graph.add_node(node, label=label, **typed.properties())
    for source_id, target, rel, attrs in loaded.edges(keys=True, data=True):
        lines = attrs.get("lines")  # the one list an edge has (where its target was read)
        if isinstance(lines, str):
            attrs = {**attrs, "lines": tuple(json.loads(lines))}
        graph.add_edge(source_id, target, key=rel, **attrs)
    return graph


# -- Cypher ---------------------------------------------------------------------------------

_CYPHER_ESCAPES = {
    **{code: f"\\u{code:04x}" for code in [*range(0x20), 0x7F, 0x2028, 0x2029]},
    ord("\\"): "\\\\",
    ord("'"): "\\'",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cypher_string(text: str) -> str:
    """`text` as a single-quoted Cypher string literal, safe to put in a statement."""
    return "'" + text.translate(_CYPHER_ESCAPES) + "'"


def _cypher_name(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "``") + "`"


def cypher_value(value: Any) -> str:
    """A property value (string, number, boolean, list, map or None) as a Cypher literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"Cypher has no literal for {value!r}")
        return repr(value)
    if isinstance(value, str):
        return cypher_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cypher_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return _cypher_map(value)
    raise ValidationError(f"cannot write a {type(value).__name__} as a Cypher value")


def _cypher_map(values: dict[str, Any]) -> str:
    """A map literal; None values are left out (Neo4j does not store nulls)."""
    items = (f"{_cypher_name(k)}: {cypher_value(v)}" for k, v in values.items() if v is not None)
    return "{" + ", ".join(items) + "}"


def _closed(kind: type[E], value: str) -> E:
    """`value` as a member of a closed set (a label or type), so it is safe in a statement."""
    try:
        return kind(value)
    except ValueError as e:
        raise ValidationError(f"{value!r} is not a {kind.__name__}") from e


def _batches(rows: list[str]) -> Iterator[str]:
    for start in range(0, len(rows), CYPHER_BATCH):
        yield "[" + ", ".join(rows[start : start + CYPHER_BATCH]) + "]"


def cypher_statements(graph: nx.MultiDiGraph) -> Iterator[str]:
    """Statements (one per line, each ending in `;`) that rebuild `graph` in an empty Neo4j."""
    yield (
        f"CREATE CONSTRAINT lessons_node_id IF NOT EXISTS FOR (n:{NEO4J_NODE_LABEL}) "
        "REQUIRE n.id IS UNIQUE;"
    )
    by_label: dict[Label, list[str]] = {}
    for node, attrs in sorted(graph.nodes(data=True)):
        row = _cypher_map({"props": {"id": node, **_split(attrs, "label")}})
        by_label.setdefault(_closed(Label, attrs["label"]), []).append(row)
    for label, rows in sorted(by_label.items()):
        for batch in _batches(rows):
            yield (
                f"UNWIND {batch} AS row CREATE (n:{NEO4J_NODE_LABEL}:{label.value}) "
                "SET n = row.props;"
            )
    by_rel: dict[RelType, list[str]] = {}
    for source, target, rel, attrs in sorted(
        graph.edges(keys=True, data=True), key=lambda e: (e[2], e[0], e[1])
    ):
        row = _cypher_map({"s": source, "t": target, "props": _split(attrs, "rel")})
        by_rel.setdefault(_closed(RelType, rel), []).append(row)
    for rel_type, rows in sorted(by_rel.items()):
        for batch in _batches(rows):
            yield (
                f"UNWIND {batch} AS row MATCH (a:{NEO4J_NODE_LABEL} {{id: row.s}}) "
                f"MATCH (b:{NEO4J_NODE_LABEL} {{id: row.t}}) "
                f"CREATE (a)-[r:{rel_type.value}]->(b) SET r = row.props;"
            )


def write_cypher(graph: nx.MultiDiGraph, out: IO[str]) -> None:
    """Write `cypher_statements(graph)`, one per line, after a comment saying what it is."""
    out.write(
        f"// lessons graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges. "
        "Replay into an empty Neo4j 5, e.g. cypher-shell < this-file\n"
    )
    for statement in cypher_statements(graph):
        out.write(statement + "\n")
