"""Name keys and the same-entity rules of entity resolution (no model needed)."""

from __future__ import annotations

import pytest

from lessons.graph.models import Cause
from lessons.graph.resolution import (
    SAME_ENTITY_COSINE,
    name_key,
    names_entity,
    opposed,
    same_entity,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DB connection pool exhausted", "database connection-pool exhaustion"),
        ("API pods OOMKilled", "out-of-memory killed API pods"),
        ("mould temperature", "Mold temperatures"),
        ("k8s config drift", "Kubernetes configuration drift"),
    ],
)
def test_names_that_differ_only_in_form_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DNS misconfiguration", "DNS provider outage"),
        ("disk full on database host", "database disk failure"),
    ],
)
def test_different_causes_keep_different_keys(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


def test_opposites_are_never_merged_however_close_their_embeddings() -> None:
    assert opposed("mold temperature too low", "mold temperature too high")
    assert not opposed("memory leak in worker", "worker memory leak")
    assert not same_entity("mold temperature too low", "mold temperature too high", 0.99)


def test_same_entity_needs_an_equal_key_or_a_close_embedding() -> None:
    assert same_entity("DB pool exhausted", "database pool exhaustion", cosine=0.0)
    a, b = "checkout button unclickable in Safari", "Safari users can't click the checkout button"
    assert name_key(a) != name_key(b)
    assert same_entity(a, b, SAME_ENTITY_COSINE)
    assert not same_entity(a, b, SAME_ENTITY_COSINE - 0.01)


def test_names_in_other_scripts_share_a_key_when_they_are_the_same_words() -> None:
    assert name_key("数据库连接池耗尽") == name_key(" 数据库连接池耗尽。") == "数据库连接池耗尽"
    assert name_key("数据库连接池耗尽") != name_key("证书过期")
    assert name_key("Сбой DNS") == name_key("dns СБОЙ")
    assert name_key("—\uff1f") == ""


def test_names_outside_the_latin_script_are_the_same_entity_by_key_only() -> None:
    # all-MiniLM-L6-v2 gives these cosines; only equal keys may merge such names.
    assert not same_entity("数据库连接池耗尽", "证书过期", cosine=0.88)
    assert not same_entity("数据库 timeout", "证书 timeout", cosine=0.99)
    assert not same_entity("数据库连接池耗尽", "connection pool exhausted", cosine=0.99)
    assert same_entity("数据库连接池耗尽", "数据库连接池耗尽", cosine=0.0)
    assert same_entity("Zürich DNS outage", "zurich dns outages", cosine=0.0)
    assert same_entity("Café DNS misconfiguration", "DNS misconfigured", SAME_ENTITY_COSINE)


def test_a_name_names_an_entity_by_its_name_or_the_key_of_an_alias() -> None:
    pool = Cause(
        id="cause:connection-pool-exhausted",
        name="connection pool exhausted",
        aliases=("database connection pool exhausted", "数据库连接池耗尽"),
    )
    assert names_entity("DB connection-pool exhaustion", pool, cosine=0.0)  # an alias's key
    assert names_entity("Connection pools exhausted", pool, cosine=0.0)  # the name's key
    assert names_entity("pool of connections ran out", pool, SAME_ENTITY_COSINE)
    assert not names_entity("pool of connections ran out", pool, SAME_ENTITY_COSINE - 0.01)
    assert names_entity("数据库连接池耗尽", pool, cosine=0.0)  # an alias in another script
    assert not names_entity("证书过期", pool, cosine=0.99)


def test_two_host_names_are_two_sites_however_close_their_embeddings() -> None:
    assert not same_entity("gov.au", "australia.gov.au", 0.99)
    assert not same_entity("docs.flutter.dev", "api.flutter.dev", 0.99)
    assert same_entity("Docs.Flutter.dev", "docs.flutter.dev", 0.2)  # the same name


def test_names_with_other_numbers_are_other_entities_however_close_their_embeddings() -> None:
    assert not same_entity("HTTP 502 from the proxy", "HTTP 503 from the proxy", 0.99)
    assert not same_entity("Upgrade to v1.13", "Upgrade to v1.14", 0.99)
    assert same_entity("k8s nodes NotReady", "Kubernetes nodes not ready", 0.99)  # k8s: a word
