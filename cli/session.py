"""What every command shares: the session of one invocation (its store and embedder), and
JSON output."""

from __future__ import annotations

import json
from typing import Any

import click

from lessons.graph.session import Session
from lessons.graph.settings import Settings

__all__ = ["Session", "echo_json", "open_session"]


def open_session(settings: Settings) -> Session:
    """A command's store and embedder, opened on first use; a model export is said on stderr."""
    return Session(settings, on_export=lambda message: click.echo(message, err=True))


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON (dates and other values as strings)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
