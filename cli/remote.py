"""Asking a running `lessons serve` instead of opening the store: what `lessons recognize`
does when LESSONS_API_URL is set. The server has the model and the search indexes loaded, so
the command answers in the time of one request whatever the size of the graph (a command
that opens a store of 100k failures first reads its indexes, for a second or more)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pydantic

from lessons.graph.errors import LessonsError
from lessons.graph.recognize import Recognition, RecognizeQuery

TIMEOUT_S = 30.0


class ServerError(LessonsError):
    """The lessons server could not be reached, or refused the request."""

    hint = (
        "Check LESSONS_API_URL and LESSONS_API_KEY, start the server with `lessons serve`, "
        "or unset LESSONS_API_URL to answer from the store directly."
    )


def recognize_remotely(
    server: str, key: str | None, query: RecognizeQuery, *, limit: int
) -> Recognition:
    """`recognize` answered by the server at `server` (`POST /v1/recognize`)."""
    url = f"{server.rstrip('/')}/v1/recognize?{urllib.parse.urlencode({'limit': limit})}"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["X-API-Key"] = key
    request = urllib.request.Request(
        url, data=query.model_dump_json().encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return Recognition.model_validate_json(response.read())
    except pydantic.ValidationError as e:
        raise ServerError(f"the server at {server} did not answer with a recognition: {e}") from e
    except urllib.error.HTTPError as e:
        raise ServerError(f"the lessons server at {server} answered {e.code}: {_detail(e)}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ServerError(f"cannot reach the lessons server at {server}: {reason}") from e


def _detail(error: urllib.error.HTTPError) -> str:
    """The `detail` of a problem+json answer, or its status text."""
    try:
        problem = json.loads(error.read())
    except (ValueError, OSError):
        return str(error.reason)
    detail = problem.get("detail") if isinstance(problem, dict) else None
    return str(detail or error.reason)
