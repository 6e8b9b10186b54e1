"""The insight endpoints build the store's projection once per store revision, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.store import GraphStore

from .conftest import Api, api_settings, clients, serve
from .test_endpoints import created, new_failure


class CountingStore:
    """The real store, counting how often its whole graph is projected to networkx."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.projections = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def to_networkx(self) -> nx.MultiDiGraph:
        self.projections += 1
        return self.inner.to_networkx()


@pytest.fixture
def counting(store: GraphStore) -> CountingStore:
    return CountingStore(store)


@pytest.fixture
def api(counting: CountingStore, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[Api]:
    """The API over the counting store."""
    app = create_app(api_settings(tmp_path), store=counting, embedder=embedder)
    with serve(app) as url, clients(url) as running:
        yield running


def failure_with_cause(api: Api, title: str, occurred_at: str, cause: str) -> str:
    failure_id = new_failure(api, title=title, occurred_at=occurred_at)
    created(api.write.post(f"/v1/failures/{failure_id}/causes", json={"name": cause}))
    return failure_id


def recurring_causes(api: Api) -> dict[str, list[str]]:
    """The recurring causes the API reports, with their failures (oldest first)."""
    response = api.read.get("/v1/insights/recurring-causes")
    assert response.status_code == 200, response.text
    return {c["cause_id"]: c["failure_ids"] for c in response.json()}


def test_insights_without_a_write_between_them_share_one_projection(
    api: Api, counting: CountingStore
) -> None:
    one = failure_with_cause(api, "Checkout down", "2024-01-10T09:00:00", "Pool exhausted")
    two = failure_with_cause(api, "Checkout down again", "2024-03-01T09:00:00", "Pool exhausted")
    assert counting.projections == 0  # writes never build it
    assert recurring_causes(api) == {"cause:pool-exhausted": [one, two]}
    for name in ["gaps", "practices", "clusters", "timing"]:
        response = api.read.get(f"/v1/insights/{name}")
        assert response.status_code == 200, (name, response.text)
    assert recurring_causes(api) == {"cause:pool-exhausted": [one, two]}
    assert counting.projections == 1


def test_an_insight_after_a_write_sees_it(api: Api, counting: CountingStore) -> None:
    one = failure_with_cause(api, "Checkout down", "2024-01-10T09:00:00", "Pool exhausted")
    two = failure_with_cause(api, "Checkout down again", "2024-03-01T09:00:00", "Pool exhausted")
    assert recurring_causes(api) == {"cause:pool-exhausted": [one, two]}
    three = failure_with_cause(
        api, "Checkout down once more", "2024-06-01T09:00:00", "Pool exhausted"
    )
    assert recurring_causes(api) == {"cause:pool-exhausted": [one, two, three]}
    assert api.write.post(f"/v1/failures/{three}/recurrences", json={"of": one}).status_code == 201
    gaps = api.read.get("/v1/insights/timing").json()["recurrences"]
    assert [(g["failure_id"], g["recurrence_of"]) for g in gaps] == [(three, one)]
    assert counting.projections == 3  # one per revision asked about
