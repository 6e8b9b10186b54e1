"""The MCP server: assistants ask "has this failed before?" and record what the team found.

`build_server(services, scope=...)` makes an `MCPServer` (the official `mcp` SDK) whose tools
are thin calls of the same functions the API routes and the CLI call:

- reading: `recognize`, `search`, `show_failure`, `explain_failure`, `suggest_causes`, and one
  tool per insight (`recurring_causes`, `learning_gaps`, `practice_effectiveness`,
  `failure_clusters`, `timing`);
- writing (a `write` key, or `lessons mcp` without `--read-only`): `record_failure`,
  `update_failure`, `confirm_recurrence`, `add_cause`, `add_experiment`, `add_lesson`,
  `adopt_practice`, `add_action`, `update_action`.

A failure is also the resource `lessons://failure/{id}`, and three prompts walk a model
through the phases of learning from failure: `recognise`, `make_sense` and `adapt`.

It is served over stdio by `lessons mcp` (one local user: every tool, unless `--read-only`)
and over streamable HTTP at `/mcp` by `lessons serve` (`mount_http`): there the caller's API
key decides, as for the REST API; a read key calling a write tool gets a tool error.

Answers are compact JSON for a model's context (`compact`): empty values are left out, a
text longer than `MAX_TEXT` characters is cut (ending in "..."), and a list longer than
`MAX_ITEMS` keeps its first items, most relevant first, and says how many were left out. A
tool given bad arguments, or naming a failure that does not exist, answers with a tool error
saying what to fix, never a crash.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, ParamSpec
from urllib.parse import unquote

import pydantic
from fastapi import FastAPI, HTTPException
from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, ListToolsResult, TextContent, ToolAnnotations
from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lessons.api import paging
from lessons.api.problems import field_errors, problem_response
from lessons.api.security import key_scope
from lessons.api.services import Services
from lessons.api.settings import ApiSettings
from lessons.api.settings import Scope as KeyScope
from lessons.graph import facts, insights, reads, sensemaking
from lessons.graph import recognize as recognition
from lessons.graph.errors import LessonsError, NotFoundError
from lessons.graph.inputs import (
    ActionChanges,
    ActionDraft,
    CauseLink,
    ExperimentDraft,
    FailureChanges,
    FailureDraft,
    LessonDraft,
    PracticeLink,
    RecurrenceLink,
)
from lessons.graph.models import CauseRole, CauseStatus
from lessons.graph.models import failure_id as as_failure_id
from lessons.graph.recognize import RecognizeQuery

MAX_TEXT = 400  # characters of one text value in an answer
MAX_ITEMS = 10  # items of one list in an answer
OMITTED = frozenset(["source", "ranks"])  # where a fact was read, the rank per signal: for UIs
# `recognize` answers several failures at once: each without what `show_failure` gives.
OMITTED_FROM_MATCHES = frozenset(["timeline", "actions", "resolution", "detection", "score"])
SCOPE_STATE = "lessons.scope"  # where the HTTP route leaves the caller's key scope

INSTRUCTIONS = """\
lessons is a knowledge graph of past failures (incidents, outages, postmortems): what caused
them, what was tried, what was learned and which practices were adopted.

When something breaks, call `recognize` with what is known to learn whether it has failed
before; its verdict is "likely recurrence", "related" or "new", with evidence per match.
Then `show_failure` / `explain_failure` for a past failure's causes, experiments, lessons
and practices, and `suggest_causes` for causes seen in failures like it. To record what the
team finds: `record_failure` (optionally as a recurrence), then `add_cause`,
`add_experiment`, `add_lesson`, `adopt_practice`, `add_action`, and `update_action` to close
one. The insights tools look across the whole graph (recurring causes, learning gaps,
practices that did not hold).
Failure ids look like `2022-07-19-api-tls-cert-expired`; quote them as the answers give them.
"""

READING = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITING = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

FailureId = Annotated[
    str, Field(min_length=1, max_length=300, description="a failure's id, as answers give it")
]
AsOf = Annotated[
    date | None,
    Field(
        description="judge as of this day, YYYY-MM-DD (default today): later failures are left out"
    ),
]
Limit = Annotated[
    int,
    Field(ge=1, le=50, description="at most this many items in each list, most important first"),
]

P = ParamSpec("P")


# -- answers --------------------------------------------------------------------------------


def compact(value: Any, omitted: frozenset[str] = OMITTED) -> Any:
    """`value` (JSON-like) without empty values and `OMITTED` keys, with long texts and lists
    cut and numbers rounded to 3 decimals (see the module's docstring)."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 3].rstrip() + "..."
    if isinstance(value, dict):
        kept = {k: compact(v, omitted) for k, v in value.items() if k not in omitted}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [compact(item, omitted) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"... {len(value) - MAX_ITEMS} more not shown")
        return items
    return value


def as_json(value: Any, omitted: frozenset[str] = OMITTED) -> str:
    """`value` (pydantic models, dataclasses, lists of them) as compact JSON text."""
    plain = pydantic.TypeAdapter(Any).dump_python(value, mode="json")
    return json.dumps(compact(plain, omitted), ensure_ascii=False)


def _answers(tool: Callable[P, Any]) -> Callable[P, str]:
    """A tool that answers with `as_json` of what `tool` returns, and turns the errors a user
    can fix (a bad value, an unknown id) into tool errors saying so."""

    @functools.wraps(tool)
    def answering(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            result = tool(*args, **kwargs)
        except LessonsError as e:
            hint = f" {e.hint}" if getattr(e, "hint", None) else ""
            raise ToolError(f"{e}{hint}") from e
        except pydantic.ValidationError as e:
            raise ToolError(_readable(e)) from e
        return result if isinstance(result, str) else as_json(result)

    return answering


def _readable(error: pydantic.ValidationError) -> str:
    """Each problem pydantic found, as `field: message` (as the API's problems list them)."""
    problems = [f"{e.field}: {e.message}" for e in field_errors(error.errors())]
    return "invalid arguments: " + "; ".join(problems)


def _caller_scope(request: object, without_request: KeyScope) -> KeyScope:
    """What the caller of one MCP message may do: its key's scope, which `KeyCheckedMcp` left
    in the HTTP request; a message that came without one (stdio) may do `without_request`."""
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    scope: KeyScope = state.get(SCOPE_STATE, without_request)
    return scope


READ_ONLY_REFUSAL = (
    "this key may only read; recording needs an API key with `write` scope "
    "(or `lessons mcp` without --read-only)"
)


# -- the server -----------------------------------------------------------------------------


def build_server(services: Services, *, scope: KeyScope = KeyScope.WRITE) -> MCPServer:
    """The MCP server over `services`; `scope` is what a caller without an HTTP request (stdio)
    may do."""
    # The SDK configures the root logger once (if nothing did before): warnings, on stderr.
    server: MCPServer = MCPServer("lessons", instructions=INSTRUCTIONS, log_level="WARNING")
    _reading_tools(server, services)
    _insight_tools(server, services)
    writing = _writing_tools(server, services)
    _resources_and_prompts(server, services)

    async def reading_only(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        """A caller who may only read is not offered the writing tools, and is refused them."""
        if _caller_scope(ctx.request, scope) is KeyScope.WRITE:
            return await call_next(ctx)
        name = (ctx.params or {}).get("name")
        if ctx.method == "tools/call" and name in writing:
            refusal = f"Error executing tool {name}: {READ_ONLY_REFUSAL}"
            return CallToolResult(content=[TextContent(type="text", text=refusal)], is_error=True)
        result = await call_next(ctx)
        if ctx.method != "tools/list":
            return result
        listed = ListToolsResult.model_validate(result)  # the SDK hands on a dict
        offered = [t for t in listed.tools if t.name not in writing]
        return listed.model_copy(update={"tools": offered})

    server.middleware.append(reading_only)
    return server


def _add_tool(server: MCPServer, tool: Callable[..., Any], annotations: ToolAnnotations) -> None:
    """Offer `tool` under its own name, described by its docstring (without its indent)."""
    description = inspect.cleandoc(tool.__doc__ or "").replace("\n", " ")
    server.add_tool(_answers(tool), description=description, annotations=annotations)


def _reading_tools(server: MCPServer, services: Services) -> None:
    def recognize(
        title: Annotated[str | None, Field(max_length=500, description="one line: what broke")] = (
            None
        ),
        description: Annotated[
            str, Field(max_length=20_000, description="symptoms, errors, suspected cause")
        ] = "",
        components: Annotated[list[str], Field(max_length=50)] = [],  # noqa: B006
        causes: Annotated[list[str], Field(max_length=50, description="suspected causes")] = [],  # noqa: B006
        limit: Annotated[int, Field(ge=1, le=10, description="past failures to return")] = 3,
    ) -> Any:
        """Has this failed before? Give what is known of a new failure (a title or a
        description at least). Answers a verdict ("likely recurrence", "related" or "new"),
        its confidence, and the most similar past failures, each with the evidence (why) and
        its causes, experiments, lessons and practices."""
        query = RecognizeQuery(
            title=title, description=description, components=components, causes=causes
        )
        found = recognition.recognize(services.store, services.embedder, query, limit=limit)
        return as_json(found, OMITTED | OMITTED_FROM_MATCHES)

    def search(
        query: Annotated[str, Field(min_length=1, max_length=2000)],
        type: Literal["failure", "cause", "practice", "component"] = "failure",
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> Any:
        """Semantic search over past failures (default), or causes, practices or components
        by name and description. Use `recognize` to ask whether a new failure happened
        before; use this to look something up."""
        return paging.search_page(services.store, services.embedder, query, type=type, limit=limit)

    def show_failure(failure_id: FailureId) -> Any:
        """One past failure with everything known of it: summary, impact, causes (with role
        and status), experiments, lessons, practices, follow-up actions and recurrences."""
        return reads.get_failure(services.store, failure_id)

    def explain_failure(failure_id: FailureId) -> Any:
        """Why a failure happened, as a tree, one fact per line: each cause with its evidence
        and the experiments that tested it, the practices that address it, the lessons
        learned and what they became, and the failures it repeats or came back as."""
        return sensemaking.to_text(sensemaking.explain(services.store, failure_id))

    def suggest_causes(failure_id: FailureId, limit: Annotated[int, Field(ge=1, le=20)] = 5) -> Any:
        """Causes this failure does not have yet that were found in past failures like it,
        ranked by how alike those failures are; a starting point for hypotheses."""
        return sensemaking.suggest_causes(
            services.store, services.embedder, failure_id, limit=limit
        )

    for tool in (recognize, search, show_failure, explain_failure, suggest_causes):
        _add_tool(server, tool, READING)


def _insight_tools(server: MCPServer, services: Services) -> None:
    def insight(name: str, compute: Callable[..., Any], doc: str) -> None:
        def tool(as_of: AsOf = None, limit: Limit = MAX_ITEMS) -> Any:
            return insights.first_items(compute(services.projection(), as_of=as_of), limit)

        tool.__name__ = tool.__qualname__ = name  # the SDK names the arguments' model after it
        tool.__doc__ = doc
        _add_tool(server, tool, READING)

    insight(
        "recurring_causes",
        insights.recurring_causes,
        "Causes behind several failures: how many, how recently, how central, and the "
        "practices in force against each.",
    )
    insight(
        "learning_gaps",
        insights.learning_gaps,
        "Where learning stopped: failures with no cause, causes never tested, lessons never "
        "adopted as a practice, actions still open.",
    )
    insight(
        "practice_effectiveness",
        insights.practice_effectiveness,
        "Whether adopted practices held: for each, the failures it addressed and any that "
        "came back after it was adopted.",
    )
    insight(
        "failure_clusters",
        insights.failure_clusters,
        "Groups of failures that share causes and components: patterns bigger than one incident.",
    )
    insight(
        "timing",
        insights.timing,
        "How long learning takes: from a failure to its causes, lessons, practices and "
        "completed actions (medians, and the slowest).",
    )


def _writing_tools(server: MCPServer, services: Services) -> frozenset[str]:
    """Add the tools that write; their names."""

    def record_failure(
        failure: FailureDraft,
        causes: Annotated[
            list[str], Field(max_length=50, description="suspected causes, recorded as proposed")
        ] = [],  # noqa: B006
        recurrence_of: Annotated[
            str | None, Field(description="id of the past failure this one repeats")
        ] = None,
    ) -> Any:
        """Record a new failure: its title and summary, and what is known (id, when it started
        (default now), severity, status, impact, components, owning team). Without an id, one
        is made from the title; the answer gives it. Suspected causes are recorded as
        proposed. With `recurrence_of` (when the team confirms `recognize`'s match) it is
        linked as a recurrence of that past failure."""
        if failure.occurred_at is None:
            failure = failure.model_copy(update={"occurred_at": datetime.now(UTC)})
        links = [
            CauseLink(name=c, role=CauseRole.ROOT, status=CauseStatus.PROPOSED) for c in causes
        ]
        return facts.create_failure(
            services.store, services.embedder, failure, causes=links, recurrence_of=recurrence_of
        )

    def update_failure(failure_id: FailureId, changes: FailureChanges) -> Any:
        """Change a failure's own properties (title, summary, when it started, severity,
        status, impact, detection, resolution, tags): fields left out stay as they are, null
        clears an optional one."""
        return facts.update_failure(services.store, services.embedder, failure_id, changes)

    def confirm_recurrence(
        failure_id: FailureId,
        of: Annotated[str, Field(min_length=1, description="id of the earlier failure")],
    ) -> Any:
        """Record that a failure already stored repeats an earlier one."""
        return facts.add_recurrence(services.store, failure_id, RecurrenceLink(of=of))

    def add_cause(failure_id: FailureId, cause: CauseLink) -> Any:
        """Link a cause to a failure, or judge one already linked: its role (root, trigger,
        contributing), its status (accepted by default; proposed for a hypothesis still being
        tested; rejected once ruled out) and the evidence. An existing cause is found by name
        or id; linking it again changes what the new link gives, and the rest stays."""
        return facts.add_cause(services.store, services.embedder, failure_id, cause)

    def add_experiment(failure_id: FailureId, experiment: ExperimentDraft) -> Any:
        """Record what was tried: the hypothesis, how it was tested, the outcome (confirmed,
        refuted, inconclusive), what was found, and the causes it tested."""
        return facts.add_experiment(services.store, services.embedder, failure_id, experiment)

    def add_lesson(failure_id: FailureId, lesson: LessonDraft) -> Any:
        """Record a lesson the failure taught, and the practices it was adopted as."""
        return facts.add_lesson(services.store, services.embedder, failure_id, lesson)

    def adopt_practice(failure_id: FailureId, practice: PracticeLink) -> Any:
        """Record a practice adopted after the failure (a check, a runbook, a limit), the
        causes it addresses and the lesson it comes from."""
        return facts.add_practice(services.store, services.embedder, failure_id, practice)

    def add_action(failure_id: FailureId, action: ActionDraft) -> Any:
        """Record a follow-up action (owner, status, due day), optionally implementing a
        practice. The answer gives its id, for `update_action`."""
        return facts.add_action(services.store, services.embedder, failure_id, action)

    def update_action(
        action_id: Annotated[
            str, Field(min_length=1, max_length=300, description="as a failure's actions give it")
        ],
        changes: ActionChanges,
    ) -> Any:
        """Change a follow-up action: close it (status done), reassign it, move its due day.
        Fields left out stay as they are. `show_failure` lists a failure's actions with ids."""
        return facts.update_action(services.store, services.embedder, action_id, changes)

    writing = (
        record_failure,
        update_failure,
        confirm_recurrence,
        add_cause,
        add_experiment,
        add_lesson,
        adopt_practice,
        add_action,
        update_action,
    )
    for tool in writing:
        _add_tool(server, tool, WRITING)
    return frozenset(tool.__name__ for tool in writing)


def _resources_and_prompts(server: MCPServer, services: Services) -> None:
    @server.resource(
        "lessons://failure/{failure_id}",
        name="failure",
        description="A past failure with its causes, experiments, lessons and practices",
        mime_type="application/json",
    )
    def failure_resource(failure_id: str) -> str:
        try:
            return as_json(reads.get_failure(services.store, as_failure_id(unquote(failure_id))))
        except NotFoundError as e:
            raise ResourceError(str(e)) from e

    @server.prompt(title="Has this failed before?")
    def recognise(what_happened: str) -> str:
        """Phase 1, failure recognition: match a new failure against the past."""
        return (
            f"Something just failed:\n\n{what_happened}\n\n"
            "Call `recognize` with a short title and the description. Report the verdict and, "
            "for each past failure that matches, why it matches, what caused it, what was "
            "tried and which practices were adopted. Say plainly if nothing matches. Offer to "
            "`record_failure` (with `recurrence_of` when the team confirms a match)."
        )

    @server.prompt(title="Make sense of a failure")
    def make_sense(failure_id: str) -> str:
        """Phase 2, interactive sensemaking: causes, hypotheses and experiments."""
        return (
            f"We are working out why {failure_id} happened. Call `explain_failure` and "
            "`suggest_causes` for it. Propose hypotheses as suspected causes, say which "
            "experiment would test each, and record what the team establishes with "
            "`add_cause` (role, status, evidence) and `add_experiment` (outcome, finding)."
        )

    @server.prompt(title="Adapt: turn lessons into practices")
    def adapt(failure_id: str) -> str:
        """Phase 3, organizational adaptation: lessons become adopted practices."""
        return (
            f"{failure_id} is understood; now make sure it does not come back. Call "
            "`show_failure` for it and `practice_effectiveness` for practices that did not "
            "hold before. Propose lessons and the practices and follow-up actions that put "
            "them in force, and record the ones the team agrees to with `add_lesson`, "
            "`adopt_practice` and `add_action`."
        )


# -- over HTTP, in `lessons serve` -----------------------------------------------------------


def mount_http(app: FastAPI, services: Services) -> Callable[[FastAPI], Any]:
    """Serve the MCP server at `/mcp` (streamable HTTP, stateless, so any worker answers)
    behind the API keys; returns the lifespan the app must enter for it."""
    endpoint = KeyCheckedMcp(build_server(services, scope=KeyScope.READ), app.state.settings)
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    return endpoint.lifespan


class KeyCheckedMcp:
    """The ASGI app at /mcp: checks the caller's API key as the REST API does (401 or 403
    as problem+json), and leaves its scope where the `reading_only` middleware finds it."""

    def __init__(self, server: MCPServer, settings: ApiSettings) -> None:
        self._server = server
        # Without keys only loopback is served: a web page must not reach it by DNS rebinding.
        self._security = TransportSecuritySettings(
            enable_dns_rebinding_protection=not settings.api_keys,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Run a session manager while the app runs (one per run: the SDK's run only once)."""
        self._server.streamable_http_app(
            streamable_http_path="/mcp",
            stateless_http=True,
            json_response=True,
            transport_security=self._security,
        )
        self._manager = self._server.session_manager
        async with self._manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            caller = key_scope(request)
        except HTTPException as e:
            refused = problem_response(request, e.status_code, e.detail, headers=e.headers)
            await refused(scope, receive, send)
            return
        assert self._manager is not None, "the app's lifespan starts the MCP session manager"
        scope.setdefault("state", {})[SCOPE_STATE] = caller
        await self._manager.handle_request(scope, receive, send)
