"""What the web page draws and marks, shaped without a store: the neighbourhood's size cap
and the escaping of highlighted passages."""

from __future__ import annotations

from lessons.api.web.pages import highlight
from lessons.api.web.views import bars, drawing
from lessons.graph.models import Edge, Label, RelType
from lessons.graph.reads import FailureGraph, GraphNode


def neighbourhood(causes: int) -> FailureGraph:
    failure = GraphNode(id="f1", label=Label.FAILURE, properties={"title": "Outage"})
    nodes = [
        GraphNode(id=f"cause:c{i}", label=Label.CAUSE, properties={"name": f"Cause {i}"})
        for i in range(causes)
    ]
    edges = [Edge(source="f1", rel=RelType.CAUSED_BY, target=n.id) for n in nodes]
    return FailureGraph(failure_id="f1", depth=1, nodes=[*nodes, failure], edges=edges)


def test_a_drawing_keeps_the_failure_and_only_edges_between_drawn_nodes() -> None:
    drawn = drawing(neighbourhood(causes=10), max_nodes=4)
    nodes = [e["data"] for e in drawn.elements if "source" not in e["data"]]
    edges = [e["data"] for e in drawn.elements if "source" in e["data"]]
    assert (drawn.shown, drawn.total) == (4, 11)
    assert nodes[0] == {
        "id": "f1",
        "label": "Outage",
        "kind": "Failure",
        "href": "/failures/f1",
        "focus": "yes",
    }
    assert {e["target"] for e in edges} == {n["id"] for n in nodes[1:]}
    assert nodes[1]["href"] == "/causes/cause%3Ac0"


def test_highlight_escapes_the_text_and_the_marked_words() -> None:
    marked = highlight("<script>alert(1)</script> pool <b>exhausted</b>", ["pool", "<b>"])
    assert "<script>" not in marked and "&lt;script&gt;" in marked
    assert "<mark>pool</mark>" in marked
    assert "<mark>&lt;b&gt;</mark>" in marked


def test_bars_are_scaled_to_the_largest_value() -> None:
    drawn = bars([("a", 4, None), ("b", 1, "/causes/b"), ("c", 0, None)])
    assert [b.share for b in drawn] == [1.0, 0.25, 0.0]
    assert bars([]) == []
