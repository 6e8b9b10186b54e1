"""Domain model rules: ids, the closed set of edges, roles."""

from __future__ import annotations

import re
import unicodedata

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    is_failure_id,
    name_words,
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


def test_names_in_other_scripts_get_ids_of_their_own_words() -> None:
    assert entity_id(Label.CAUSE, "数据库连接池耗尽") == "cause:数据库连接池耗尽"
    assert entity_id(Label.TEAM, "支付 团队") == "team:支付-团队"
    assert entity_id(Label.COMPONENT, "\uff24\uff22\u3000数据库") == "component:db-数据库"  # NFKC
    assert entity_id(Label.CAUSE, "Сбой DNS") == "cause:сбой-dns"
    assert entity_id(Label.PRACTICE, "डेटाबेस") == "practice:डेटाबेस"  # vowel signs kept
    # Names that differ in script keep different ids (the ASCII slug of both was "timeout").
    assert entity_id(Label.CAUSE, "数据库 timeout") != entity_id(Label.CAUSE, "证书 timeout")


def test_a_name_with_no_letters_or_digits_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(ValidationError, match="no letters or digits: name the cause in words"):
        entity_id(Label.CAUSE, "—\uff1f!")
    with pytest.raises(ValidationError, match="no letters or digits"):
        failure_id("---")


# The ids names had before names in other scripts got ids of their own.
def ascii_slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].rstrip("-")


@given(st.text(st.characters(max_codepoint=0x17F) | st.sampled_from("’—…“”℃™ﬁ²")))
def test_names_in_latin_letters_keep_the_ids_they_had(name: str) -> None:
    folds = all(
        unicodedata.normalize("NFKD", char).encode("ascii", "ignore")
        for char in unicodedata.normalize("NFKC", name)
        if unicodedata.category(char)[0] in "LN"
    )
    if folds:
        assert slugify(name) == ascii_slug(name)


@given(st.text(st.characters(max_codepoint=0x7F)))
def test_ascii_names_have_the_words_the_walk_over_any_text_gives(name: str) -> None:
    # A non-ASCII word after a space sends the name down the general path.
    assert name_words(name + " é") == [*name_words(name), "e"]


@given(st.text())
def test_every_slug_is_a_failure_id_and_its_own_slug(text: str) -> None:
    slug = slugify(text)
    if slug:
        assert slugify(slug) == slug
        assert is_failure_id(slug) and failure_id(text) in (text, slug)
        Failure(id=failure_id(text), title="t", summary="s")


def test_failure_ids_keep_id_shaped_input_and_slug_the_rest() -> None:
    assert failure_id("INC-2024.03_a") == "INC-2024.03_a"
    assert failure_id("Checkout down / 2024") == "checkout-down-2024"
    assert failure_id("结账服务 超时") == "结账服务-超时"
    assert failure_id("Сбой-1") == "сбой-1"
    assert Failure(id="结账服务-超时", title="t", summary="s").id == "结账服务-超时"
    for bad in ("has space", "Сбой-1", "inc-1\n"):
        with pytest.raises(pydantic.ValidationError):
            Failure(id=bad, title="t", summary="s")


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
