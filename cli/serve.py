"""`lessons serve`: the HTTP API (lessons.api) under uvicorn; `lessons mcp`: the MCP server
over stdio, for an assistant on this machine."""

from __future__ import annotations

import os
import secrets

import click

from lessons.api.settings import ApiSettings, check_bind
from lessons.cli.session import Session


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="LESSONS_API_HOST",
    help="Address to listen on ($LESSONS_API_HOST). Beyond loopback only with API keys.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="LESSONS_API_PORT",
    help="Port to listen on ($LESSONS_API_PORT).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="LESSONS_API_WORKERS",
    help="Worker processes ($LESSONS_API_WORKERS); each loads the model (~100 MB).",
)
@click.pass_obj
def serve_command(session: Session, host: str, port: int, workers: int) -> None:
    """Serve the web page at / and the HTTP API: OpenAPI at /openapi.json, interactive docs
    at /docs.

    Keys come from LESSONS_API_KEYS, comma-separated `read:KEY` / `write:KEY` entries (a key
    may be given as `sha256:HEX` of the secret). Without keys the server listens on loopback
    only. The store is --store / $LESSONS_STORE, as for every command.

    \b
    Examples:
      lessons serve
      LESSONS_API_KEYS="write:$(cat /run/secrets/lessons-key)" lessons serve --host 0.0.0.0
    """
    import uvicorn

    settings = ApiSettings.from_env(store_url=session.settings.store_url)
    check_bind(host, settings)
    # Workers are separate processes that build the app from the environment; they sign the
    # web page's sessions with one secret, so a sign-in holds whichever worker answers.
    os.environ["LESSONS_STORE"] = settings.lessons.store_url
    os.environ.setdefault("LESSONS_WEB_SECRET", secrets.token_hex(32))
    click.echo(
        f"lessons on http://{host}:{port} (web page at /, API docs at /docs, MCP at /mcp), "
        f"store {settings.lessons.store_url}, {len(settings.api_keys)} API key(s)",
        err=True,
    )
    uvicorn.run(
        "lessons.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@click.command("mcp")
@click.option(
    "--read-only",
    is_flag=True,
    help="Offer the reading tools only: recording tools answer that they may not write.",
)
@click.pass_obj
def mcp_command(session: Session, read_only: bool) -> None:
    """Serve the MCP server over stdio, for an assistant or IDE on this machine: it asks
    "has this failed before?" (recognize, search, show_failure, explain_failure,
    suggest_causes, insights) and records what the team finds (record_failure, add_cause...).

    The assistant starts this command itself: give it the command line in its MCP
    configuration, `{"command": "lessons", "args": ["--store", "/path/lessons.sqlite3",
    "mcp"]}`. Over HTTP the same server is at /mcp of `lessons serve`, behind the API keys.

    \b
    Examples:
      lessons --store ~/lessons.sqlite3 mcp
      lessons --store neo4j://graph.internal:7687 mcp --read-only
    """
    from lessons.api.mcp_server import build_server
    from lessons.api.services import Services
    from lessons.api.settings import Scope

    services = Services(session.settings)
    try:
        build_server(services, scope=Scope.READ if read_only else Scope.WRITE).run("stdio")
    finally:
        services.close()
