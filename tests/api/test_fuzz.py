"""Fuzzing with schemathesis against the app's own OpenAPI schema: no 5xx, no schema violation.

Every operation gets requests generated from its schema, both valid ones and deliberately
invalid ones, with a fixed seed; each response is checked for a server error, an
undocumented status, content type or header, and a body that breaks its documented schema.
Runs on the SQLite store (the checks are about the HTTP layer; the endpoint tests cover both
stores) and sends at least MIN_REQUESTS requests in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.store import SqliteStore

from ..conftest import EXAMPLES
from .conftest import WRITE_KEY, api_settings, serve

SEED = 20_250_601
EXAMPLES_PER_MODE = 30  # per operation; operations with few possible inputs use fewer
MIN_REQUESTS = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def served(sqlite_store: SqliteStore, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[str]:
    """The API over a SQLite store holding two example postmortems."""
    app = create_app(api_settings(tmp_path), store=sqlite_store, embedder=embedder)
    with serve(app) as url:
        import httpx

        files = [
            ("files", (p.name, p.read_bytes(), "text/plain"))
            for p in sorted(EXAMPLES.glob("2023-*.md"))[:2]
        ]
        headers = {"Authorization": f"Bearer {WRITE_KEY}"}
        assert httpx.post(f"{url}/v1/ingest", files=files, headers=headers).status_code == 200
        yield url


def test_generated_requests_get_no_server_error_and_match_the_schema(served: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    sent: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(SEED)
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                sent.append(f"{case.method} {case.formatted_path}")
                case.call_and_validate(base_url=served, headers=headers, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                # No invalid request exists for an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.label

    print(f"schemathesis sent {len(sent)} requests to {len(operations)} operations")
    assert len(sent) >= MIN_REQUESTS, f"only {len(sent)} requests were generated"
