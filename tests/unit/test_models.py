"""Domain model rules: ids, the closed set of edges, roles."""

from __future__ import annotations

import pydantic
import pytest

from lessons.graph.errors import ValidationError
from lessons.graph.models import (
    EDGE_ENDPOINTS,
    NODE_TYPES,
    CauseRole,
    Edge,
    Failure,
    Label,
    RelType,
    check_edge,
    entity_id,
    failure_id,
    node_from_properties,
    slugify,
)


def test_slugs_and_entity_ids() -> None:
    assert slugify("DB Connection-Pool exhausted!") == "db-connection-pool-exhausted"
    assert slugify("Schlüssel  Ärger") == "schlussel-arger"
    assert entity_id(Label.CAUSE, "Database connection pool exhausted") == (
        "cause:database-connection-pool-exhausted"
    )
    assert entity_id(Label.CAUSE, "database connection pool EXHAUSTED") == entity_id(
        Label.CAUSE, "Database connection pool exhausted"
    )
    with pytest.raises(ValidationError):
        entity_id(Label.TEAM, "—")


def test_failure_ids_keep_id_shaped_input_and_slug_the_rest() -> None:
    assert failure_id("INC-2024.03_a") == "INC-2024.03_a"
    assert failure_id("Checkout down / 2024") == "checkout-down-2024"
    with pytest.raises(pydantic.ValidationError):
        Failure(id="has space", title="t", summary="s")


def test_every_relationship_type_has_endpoints_and_every_label_a_model() -> None:
    assert set(EDGE_ENDPOINTS) == set(RelType)
    assert set(NODE_TYPES) == set(Label)


def test_edges_carry_a_role_only_when_caused_by() -> None:
    assert Edge(source="f", rel=RelType.CAUSED_BY, target="c").role is CauseRole.ROOT
    with pytest.raises(pydantic.ValidationError):
        Edge(source="f", rel=RelType.AFFECTED, target="c", role=CauseRole.ROOT)


def test_check_edge_enforces_endpoint_labels() -> None:
    edge = Edge(source="f", rel=RelType.TAUGHT, target="l")
    check_edge(edge, "Failure", "Lesson")
    with pytest.raises(ValidationError, match="TAUGHT connects Failure -> Lesson"):
        check_edge(edge, "Failure", "Practice")


def test_nodes_rebuild_from_stored_properties() -> None:
    failure = Failure(id="f", title="t", summary="s", tags=("a",))
    assert node_from_properties("Failure", "f", failure.properties()) == failure
    with pytest.raises(ValidationError):
        node_from_properties("Bogus", "x", {})
