"""The MCP server, driven by the `mcp` SDK's own client: over stdio (`lessons mcp` in a
subprocess) and over streamable HTTP (`/mcp` of a running `lessons serve` app), on both stores.

One conversation, `on_call`, is held over each: recognise an example failure, record a new
one, confirm it as a recurrence, add a cause, read it back as a tool answer and as a
resource; bad arguments and unknown ids answer tool errors. Over HTTP a read key may call
the reading tools only, and a request without a key is refused before MCP sees it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from lessons.api.app import create_app
from lessons.api.mcp_server import MAX_ITEMS, MAX_TEXT, compact
from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Label
from lessons.graph.store import GraphStore, SqliteStore
from lessons.ingest.pipeline import discover, ingest

from ..conftest import EXAMPLES, REPO, Neo4jTarget
from .conftest import READ_KEY, WRITE_KEY, api_settings, serve

LESSONS = Path(sys.executable).parent / "lessons"
TLS = "2022-07-19-api-tls-cert-expired"
AGAIN = {"title": "TLS again", "summary": "the partner certificate expired again"}


def answer(result: Any) -> Any:
    """The JSON a successful tool call answered."""
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def error(result: Any) -> str:
    """The message of a tool call that failed as a tool error (not a crash)."""
    assert result.is_error
    text: str = result.content[0].text
    assert "Error executing tool" in text and not text.rstrip().endswith("executing tool")
    return text


def failure_count(store: GraphStore) -> int:
    return store.stats().nodes.get(Label.FAILURE, 0)


def size(store: GraphStore) -> tuple[int, int]:
    stats = store.stats()
    return stats.total_nodes, stats.total_edges


async def on_call(client: Client, store: GraphStore) -> None:
    """What an assistant does during an incident, checked at every step."""
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"recognize", "record_failure", "confirm_recurrence", "add_cause"} <= tools
    assert {"recurring_causes", "learning_gaps", "practice_effectiveness", "timing"} <= tools

    found = answer(
        await client.call_tool(
            "recognize",
            {
                "title": "Partner integrations fail the TLS handshake",
                "description": "the certificate on the partner API hostname has expired",
            },
        )
    )
    assert found["verdict"] in ("likely recurrence", "related")
    best = found["matches"][0]
    assert best["context"]["failure"]["id"] == TLS and best["why"]

    before = failure_count(store)
    new_failure = {
        "title": "Partner API certificate expired again",
        "summary": "Partners fail the TLS handshake again",
        "components": ["api-gateway"],
        "severity": "SEV2",
    }
    renewal = "Certificate renewal left to a person"
    recorded = answer(
        await client.call_tool("record_failure", {"failure": new_failure, "causes": [renewal]})
    )
    new_id = recorded["failure"]["id"]
    assert failure_count(store) == before + 1
    assert [(c["name"], c["status"]) for c in recorded["causes"]] == [(renewal, "proposed")]

    confirmed = answer(
        await client.call_tool("confirm_recurrence", {"failure_id": new_id, "of": TLS})
    )
    assert confirmed["recurrence_of"] == [TLS]
    cause = {"name": renewal, "role": "root", "status": "accepted"}
    cause["evidence"] = "the renewal ticket was closed without renewing"
    answer(await client.call_tool("add_cause", {"failure_id": new_id, "cause": cause}))
    changes = {"severity": "SEV1", "impact": "every partner integration down for 40 minutes"}
    answer(await client.call_tool("update_failure", {"failure_id": new_id, "changes": changes}))
    follow_up = {"text": "Move the partner hostname to ACME", "owner": "platform"}
    added = answer(
        await client.call_tool("add_action", {"failure_id": new_id, "action": follow_up})
    )
    done = {"action_id": added["id"], "changes": {"status": "done"}}
    assert answer(await client.call_tool("update_action", done))["status"] == "done"

    shown = answer(await client.call_tool("show_failure", {"failure_id": new_id}))
    assert shown["recurrence_of"] == [TLS]
    assert shown["failure"]["severity"] == "SEV1" and shown["failure"]["impact"].startswith("every")
    assert [(c["name"], c["role"], c["status"]) for c in shown["causes"]] == [
        (renewal, "root", "accepted")
    ]
    assert [(a["owner"], a["status"]) for a in shown["actions"]] == [("platform", "done")]
    resource = await client.read_resource(f"lessons://failure/{new_id}")
    assert json.loads(resource.contents[0].text)["failure"]["id"] == new_id

    prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
    assert prompts == {"recognise", "make_sense", "adapt"}
    phase_two = await client.get_prompt("make_sense", {"failure_id": new_id})
    text = phase_two.messages[0].content.text  # type: ignore[union-attr]
    assert new_id in text and "explain_failure" in text and "add_experiment" in text

    # Mistakes are tool errors that say what to fix, and write nothing.
    assert "title or a description" in error(await client.call_tool("recognize", {}))
    assert "cause.role" in error(
        await client.call_tool(
            "add_cause", {"failure_id": new_id, "cause": {"name": "x", "role": "bogus"}}
        )
    )
    assert "no-such-failure" in error(
        await client.call_tool("show_failure", {"failure_id": "no-such-failure"})
    )
    assert "greater than or equal to 1" in error(
        await client.call_tool("recurring_causes", {"limit": 0})
    )
    assert failure_count(store) == before + 1


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def filled(store: GraphStore, embedder: CachingEmbedder) -> GraphStore:
    """A store of each backend holding the example postmortems."""
    sources, missing = discover([str(EXAMPLES)])
    assert not missing and ingest(store, embedder, sources).ok
    return store


@pytest.fixture
def mcp_url(filled: GraphStore, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[str]:
    """The /mcp endpoint of the API over the filled store, with the test keys."""
    app = create_app(api_settings(tmp_path), store=filled, embedder=embedder)
    with serve(app) as url:
        yield f"{url}/mcp"


def over_http(url: str, key: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    return Client(streamable_http_client(url, http_client=http))


def test_an_assistant_on_call_over_http(mcp_url: str, filled: GraphStore) -> None:
    async def talk() -> None:
        async with over_http(mcp_url, WRITE_KEY) as client:
            await on_call(client, filled)

    anyio.run(talk)


def test_a_read_key_may_recognise_but_not_record(mcp_url: str, filled: GraphStore) -> None:
    before = size(filled)

    async def talk() -> None:
        async with over_http(mcp_url, READ_KEY) as client:
            offered = {tool.name for tool in (await client.list_tools()).tools}
            assert "recognize" in offered and "timing" in offered
            assert not offered & {"record_failure", "update_failure", "add_cause", "add_action"}
            answer(await client.call_tool("recognize", {"title": "certificate expired"}))
            refused = error(await client.call_tool("record_failure", {"failure": AGAIN}))
            assert "may only read" in refused and "write" in refused
            refused = error(
                await client.call_tool("add_lesson", {"failure_id": TLS, "lesson": {"text": "x"}})
            )
            assert "may only read" in refused

    anyio.run(talk)
    assert size(filled) == before


@pytest.mark.parametrize("key", [None, "not-a-key-of-this-server-0123"])
def test_without_a_valid_key_mcp_is_refused_as_a_problem(mcp_url: str, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    refused = httpx.post(mcp_url, json=request, headers=headers, timeout=30)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "API key" in refused.json()["detail"]


# -- over stdio -----------------------------------------------------------------------------


@pytest.fixture
def stdio_env(
    request: pytest.FixtureRequest,
    filled: GraphStore,
    model: Embedder,
    models_dir: Path,
    tmp_path: Path,
) -> dict[str, str]:
    """The environment of a `lessons mcp` subprocess over the filled store, finding the
    session's exported model instead of exporting its own."""
    model.encode(["export"])
    (tmp_path / "stdio-cache").mkdir()
    (tmp_path / "stdio-cache" / "models").symlink_to(models_dir)
    env = {**os.environ, "LESSONS_CACHE_DIR": str(tmp_path / "stdio-cache")}
    if isinstance(filled, SqliteStore):
        env["LESSONS_STORE"] = str(tmp_path / "store.sqlite3")
    else:
        target: Neo4jTarget = request.getfixturevalue("neo4j_server")
        env |= {
            "LESSONS_STORE": target.uri,
            "LESSONS_NEO4J_USER": target.user,
            "LESSONS_NEO4J_PASSWORD": target.password or "",
        }
    return env


def over_stdio(env: dict[str, str], *args: str) -> Client:
    return Client(StdioServerParameters(command=str(LESSONS), args=["mcp", *args], env=env))


def test_an_assistant_on_call_over_stdio(stdio_env: dict[str, str], filled: GraphStore) -> None:
    async def talk() -> None:
        async with over_stdio(stdio_env) as client:
            await on_call(client, filled)

    anyio.run(talk)


def test_read_only_stdio_refuses_to_record(stdio_env: dict[str, str], filled: GraphStore) -> None:
    before = size(filled)

    async def talk() -> None:
        async with over_stdio(stdio_env, "--read-only") as client:
            refused = error(await client.call_tool("record_failure", {"failure": AGAIN}))
            assert "--read-only" in refused

    anyio.run(talk)
    assert size(filled) == before


# -- answers fit a model's context ----------------------------------------------------------


def test_answers_leave_out_empty_values_and_cut_long_texts_and_lists() -> None:
    value = {"a": None, "b": "", "c": [], "d": {}, "text": "x" * 1000, "items": list(range(25))}
    value["nested"] = {"empty": {"e": None}, "pi": 3.14159265, "source": {"lines": [1, 2]}}
    cut = compact(value)
    assert set(cut) == {"text", "items", "nested"}
    assert len(cut["text"]) == MAX_TEXT and cut["text"].endswith("...")
    assert cut["items"][:MAX_ITEMS] == list(range(MAX_ITEMS))
    assert cut["items"][MAX_ITEMS:] == [f"... {25 - MAX_ITEMS} more not shown"]
    assert cut["nested"] == {"pi": 3.142}


def test_the_readme_configuration_starts_the_server(tmp_path: Path) -> None:
    """The README's MCP client configuration, as a client would run it (with this
    checkout's `lessons` and a store in tmp_path)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Use it from your assistant", 1)[1]
    config = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    local = config["mcpServers"]["lessons"]
    args = [str(tmp_path / "store.sqlite3") if a.endswith(".sqlite3") else a for a in local["args"]]
    assert local["command"] == "lessons"
    assert config["mcpServers"]["lessons-team"]["url"].endswith("/mcp")

    async def talk() -> list[str]:
        server = StdioServerParameters(command=str(LESSONS), args=args, env=dict(os.environ))
        async with Client(server) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    assert "recognize" in anyio.run(talk)
