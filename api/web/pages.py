"""The web page: HTML pages over the same service functions as the `/v1` API.

Pages are rendered on the server (Jinja2, every value escaped) and change the graph through
plain HTML forms that POST and redirect back (so they work from the keyboard and without
JavaScript). JavaScript draws only the neighbourhood graph (Cytoscape.js, served from the
package). See docs/design.md, "The web page".
"""

from __future__ import annotations

import contextlib
import re
import textwrap
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

import pydantic
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined
from markupsafe import Markup, escape
from starlette.datastructures import FormData, UploadFile

from lessons.api.problems import RETRY_AFTER_SECONDS, status_of
from lessons.api.services import Services
from lessons.api.settings import Scope
from lessons.api.uploads import MAX_DOCUMENTS, upload_sources
from lessons.api.web import views
from lessons.api.web.auth import Forbidden, Sessions, SignInRequired, Visitor, check_form
from lessons.graph import facts, insights, reads
from lessons.graph.errors import LessonsError, ValidationError
from lessons.graph.inputs import (
    ActionDraft,
    CauseLink,
    ExperimentDraft,
    FailureFilter,
    LessonDraft,
    PracticeLink,
)
from lessons.graph.models import (
    Cause,
    CauseRole,
    CauseStatus,
    Component,
    ExperimentOutcome,
    Label,
    Practice,
    PracticeStatus,
)
from lessons.graph.projection import scoped
from lessons.graph.reads import CauseDetail, ComponentDetail, PracticeDetail
from lessons.graph.recognize import RecognizeQuery, recognize, record
from lessons.graph.resolution import resolve_ref, unmerge
from lessons.graph.search import search_entities
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import ingest

HERE = Path(__file__).parent
PAGE_SIZE = 25
PRACTICES_SHOWN = 200  # on the learning page, those with the most failures after adoption
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.undefined = StrictUndefined  # a misspelt name fails loudly, not as blank
M = TypeVar("M", bound=pydantic.BaseModel)


class PageRoute(APIRoute):
    """A page: errors are answered as HTML pages, not problem+json, and signing in is asked
    for by a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/sign-in?{urlencode({'next': target})}", 303)
            except Forbidden as e:
                return _error_page(request, 403, "Not allowed", e.reason)
            except LessonsError as e:
                status = status_of(e)
                title = {404: "Not found", 503: "Not available yet"}.get(status, "Cannot do that")
                return _error_page(request, status, title, str(e), e.hint)
            except RequestValidationError as e:
                # The first part of a request error's location is where: query, path or body.
                problem = _said(e.errors(), skip=1)
                return _error_page(request, 422, "Cannot read that request", problem)

        return page


router = APIRouter(route_class=PageRoute, include_in_schema=False)


# -- the visitor and rendering ---------------------------------------------------------------


def _sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.sessions
    return found


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def viewer(request: Request) -> Visitor:
    """The visitor of a page that shows the graph: signed in, or redirected to sign in."""
    visitor = _sessions(request).visitor(request)
    if visitor.needs_sign_in and visitor.scope is None:
        raise SignInRequired
    return visitor


async def form_of(request: Request, *, write: bool) -> tuple[Visitor, FormData]:
    """The visitor and form of a POST, after the CSRF and scope checks (a `write` scope
    if `write`)."""
    visitor = _sessions(request).visitor(request)
    form = await request.form(max_files=MAX_DOCUMENTS, max_fields=200)
    token = form.get("csrf")
    needs = Scope.WRITE if write else Scope.READ
    check_form(request, visitor, token if isinstance(token, str) else "", needs=needs)
    return visitor, form


def render(
    request: Request, visitor: Visitor, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page of `template`, giving the visitor a session (for its CSRF token) if it has none."""
    fresh = not visitor.csrf
    visitor = visitor.with_csrf()
    response = templates.TemplateResponse(
        request, template, {"visitor": visitor, **context}, status_code=status
    )
    if fresh:
        _sessions(request).save(request, response, visitor)
    return response


def _error_page(
    request: Request, status: int, title: str, detail: str, hint: str = ""
) -> HTMLResponse:
    visitor = Visitor(scope=None, csrf="")
    with contextlib.suppress(Forbidden):
        visitor = _sessions(request).visitor(request)
    page = render(request, visitor, "error.html", status, title=title, detail=detail, hint=hint)
    if status == 503:
        page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return page


def highlight(text: str, terms: list[str]) -> Markup:
    """`text` escaped, with each of `terms` marked."""
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = Markup(), 0
    for found in pattern.finditer(text):
        out += escape(text[last : found.start()]) + Markup("<mark>%s</mark>") % found.group()
        last = found.end()
    return out + escape(text[last:])


templates.env.filters["highlight"] = highlight
templates.env.globals["quote"] = lambda value: quote(str(value), safe="")


# -- recognize: has this failed before? ------------------------------------------------------


@router.get("/")
def home(request: Request) -> HTMLResponse:
    """The recognize form."""
    visitor = viewer(request)
    return render(request, visitor, "recognize.html", query=None, result=None)


@router.post("/recognize")
async def recognize_page(request: Request) -> HTMLResponse:
    """Past failures like the one described, with what they taught."""
    visitor, form = await form_of(request, write=False)
    query = _parse(RecognizeQuery, _query_fields(form))
    if not (query.title or query.description.strip()):
        raise ValidationError("say what is breaking: a title or a description")
    services = _services(request)
    result = await run_in_threadpool(recognize, services.store, services.embedder, query)
    return render(request, visitor, "recognize.html", query=query, result=result)


@router.post("/record")
async def record_page(request: Request) -> RedirectResponse:
    """Record the recognised failure, as a recurrence of a past one if the person said so."""
    _, form = await form_of(request, write=True)
    query = _parse(RecognizeQuery, _query_fields(form))
    of = _text(form, "recurrence_of")
    services = _services(request)
    context = await run_in_threadpool(
        lambda: record(services.store, services.embedder, query, recurrence_of=of)
    )
    return _back_to(context.failure.id, "recorded")


def _query_fields(form: FormData) -> dict[str, Any]:
    return {
        "title": _text(form, "title"),
        "description": _text(form, "description") or "",
        "components": _names(form, "components"),
        "causes": _names(form, "causes"),
    }


# -- failures --------------------------------------------------------------------------------

FILTERS = ("component", "cause", "team", "tag", "severity", "occurred_from", "occurred_to")


@router.get("/failures")
def failures_page(
    request: Request, after: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    """Failures, filtered and paged by id."""
    visitor = viewer(request)
    given = {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}
    where = _parse(FailureFilter, given)
    store = _services(request).store
    page = reads.list_failures(store, where, limit=PAGE_SIZE + 1, after=after)
    more = page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None
    return render(
        request,
        visitor,
        "failures.html",
        failures=page[:PAGE_SIZE],
        filters=given,
        next_link=f"/failures?{urlencode(given | {'after': more})}" if more else None,
    )


@router.get("/failures/{failure_id:path}")
def failure_page(
    request: Request,
    failure_id: str,
    nodes: Annotated[int, Query(ge=1, le=2000)] = views.GRAPH_NODES,
    depth: Annotated[int, Query(ge=1, le=reads.MAX_DEPTH)] = 1,
) -> HTMLResponse:
    """A failure's story, sensemaking and neighbourhood graph."""
    visitor = viewer(request)
    return _failure(request, visitor, failure_id, nodes=nodes, depth=depth)


def _failure(
    request: Request,
    visitor: Visitor,
    failure_id: str,
    *,
    nodes: int = views.GRAPH_NODES,
    depth: int = 1,
    status: int = 200,
    problem: str | None = None,
) -> HTMLResponse:
    store = _services(request).store
    context = reads.get_failure(store, failure_id)
    drawing = views.drawing(reads.failure_graph(store, failure_id, depth), nodes)
    return render(
        request,
        visitor,
        "failure.html",
        status,
        context=context,
        drawing=drawing,
        nodes=nodes,
        depth=depth,
        saved=request.query_params.get("saved"),
        problem=problem,
        roles=list(CauseRole),
        statuses=list(CauseStatus),
        outcomes=list(ExperimentOutcome),
        practice_statuses=list(PracticeStatus),
    )


def _sensemaking(
    path: str, build: Callable[[FormData], pydantic.BaseModel], write: Callable[..., Any]
) -> None:
    """A form on a failure's page that adds or changes one part of it."""

    async def submit(request: Request, failure_id: str) -> Response:
        visitor, form = await form_of(request, write=True)
        services = _services(request)
        try:
            draft = build(form)
            await run_in_threadpool(write, services.store, services.embedder, failure_id, draft)
        except (pydantic.ValidationError, ValidationError) as e:
            problem = _said(e.errors()) if isinstance(e, pydantic.ValidationError) else str(e)
            return _failure(request, visitor, failure_id, status=422, problem=problem)
        return _back_to(failure_id, path)

    router.add_api_route(f"/failures/{{failure_id:path}}/{path}", submit, methods=["POST"])


_sensemaking(
    "causes",
    lambda f: CauseLink.model_validate(
        _given(f, "name", "role", "status", "evidence", "category", "description")
    ),
    facts.add_cause,
)
_sensemaking(
    "experiments",
    lambda f: ExperimentDraft.model_validate(
        _given(f, "hypothesis", "method", "outcome", "finding")
        | {"tested_causes": _names(f, "tested_causes")}
    ),
    facts.add_experiment,
)
_sensemaking(
    "lessons",
    lambda f: LessonDraft.model_validate(
        _given(f, "text") | {"adopted_as": _names(f, "adopted_as")}
    ),
    facts.add_lesson,
)
_sensemaking(
    "practices",
    lambda f: PracticeLink.model_validate(
        _given(f, "name", "description", "status", "adopted_at", "lesson_id")
        | {"addresses": _names(f, "addresses")}
    ),
    facts.add_practice,
)
_sensemaking(
    "actions",
    lambda f: ActionDraft.model_validate(_given(f, "text", "owner", "status", "due", "implements")),
    facts.add_action,
)


def _back_to(failure_id: str, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/failures/{quote(failure_id, safe='')}?saved={saved}", 303)


# -- causes, practices and components --------------------------------------------------------

ENTITY_READS: dict[str, tuple[str, Callable[..., Any], Callable[..., Any]]] = {
    "causes": ("Causes", reads.get_cause, reads.list_causes),
    "practices": ("Practices", reads.get_practice, reads.list_practices),
    "components": ("Components", reads.get_component, reads.list_components),
}


def _entity_pages(kind: str) -> None:
    title, get_one, list_some = ENTITY_READS[kind]

    def listing(request: Request, after: Annotated[str, Query(max_length=300)] = "") -> Response:
        visitor = viewer(request)
        page = list_some(_services(request).store, limit=PAGE_SIZE + 1, after=after)
        more = _entity_of(page[PAGE_SIZE - 1]).id if len(page) > PAGE_SIZE else None
        return render(
            request,
            visitor,
            "entities.html",
            kind=kind,
            title=title,
            rows=[(_entity_of(d), d) for d in page[:PAGE_SIZE]],
            next_link=f"/{kind}?{urlencode({'after': more})}" if more else None,
        )

    def detail(request: Request, ref: str) -> Response:
        visitor = viewer(request)
        found = get_one(_services(request).store, ref)
        entity = _entity_of(found)
        return render(request, visitor, "entity.html", kind=kind, detail=found, e=entity)

    router.add_api_route(f"/{kind}", listing, methods=["GET"])
    router.add_api_route(f"/{kind}/{{ref:path}}", detail, methods=["GET"])


def _entity_of(
    detail: CauseDetail | PracticeDetail | ComponentDetail,
) -> Cause | Practice | Component:
    if isinstance(detail, CauseDetail):
        return detail.cause
    return detail.practice if isinstance(detail, PracticeDetail) else detail.component


for _kind in ENTITY_READS:
    _entity_pages(_kind)


EntityDetail = CauseDetail | PracticeDetail | ComponentDetail


# -- search ----------------------------------------------------------------------------------

SEARCH_TYPES = {
    "failure": "Failures",
    "cause": "Causes",
    "practice": "Practices",
    "component": "Components",
}


@router.get("/search")
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=2000)] = "",
    type: Annotated[str, Query(pattern="^(failure|cause|practice|component)$")] = "failure",
) -> HTMLResponse:
    """Failures, causes, practices or components like `q`."""
    visitor = viewer(request)
    services = _services(request)
    hits: list[Any] = []
    if q.strip():
        if type == "failure":
            query = RecognizeQuery(description=q)
            hits = recognize(services.store, services.embedder, query, limit=10).matches
        else:
            label = Label(type.capitalize())
            hits = search_entities(services.store, services.embedder, label, q, limit=10)
    return render(request, visitor, "search.html", q=q, type=type, types=SEARCH_TYPES, hits=hits)


# -- learning: are we learning? --------------------------------------------------------------


@router.get("/learning")
def learning_page(
    request: Request,
    as_of: Annotated[str, Query(max_length=40)] = "",
    component: Annotated[str, Query(max_length=300)] = "",
    team: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """The insights as dashboards: recurring causes, gaps, practices, clusters, timing; of
    the failures of one component or team if asked."""
    visitor = viewer(request)
    services = _services(request)
    scope = {
        key: _entity_id(services.store, label, ref.strip())
        for key, label, ref in (
            ("component", Label.COMPONENT, component),
            ("team", Label.TEAM, team),
        )
        if ref.strip()
    }
    graph = scoped(services.projection(), **scope)
    found = insights.all_insights(graph, as_of=_day(as_of))
    recurring = views.bars(
        [
            (c.name, c.failure_count, views.href("Cause", c.cause_id))
            for c in found.recurring_causes
        ],
        note="failures",
    )
    slowest = views.bars(
        [
            (a.failure_id, a.days, views.href("Failure", a.failure_id))
            for a in found.timing.adaptation
        ],
        note="days",
    )
    return render(
        request,
        visitor,
        "learning.html",
        insights=found,
        as_of=as_of,
        component=component,
        team=team,
        recurring=recurring,
        slowest=slowest,
        effects=_effect_rows(found.practice_effectiveness.practices[:PRACTICES_SHOWN]),
    )


def _day(text: str) -> date | None:
    """The day a date field holds (a form sends an empty one as "")."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise ValidationError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def _entity_id(store: GraphStore, label: Label, ref: str) -> str:
    node = resolve_ref(store, label, ref)
    if node is None:
        raise ValidationError(
            f"no {label.value.lower()} is named {ref!r}",
            hint="Write the name as a failure's page shows it, or leave the field empty for all.",
        )
    return node.id


def _effect_rows(
    effects: list[insights.PracticeEffect],
) -> list[tuple[insights.PracticeEffect, views.Bar, views.Bar]]:
    """Each practice with its failures per year before and after adoption as bars, on one
    scale for all, so practices can be compared down the table."""
    rates = [(e.rate_before or 0.0, e.rate_after or 0.0) for e in effects]
    most = max((max(pair) for pair in rates), default=0.0) or 1.0
    return [
        (
            effect,
            views.Bar("before", round(before, 1), None, before / most, "a year"),
            views.Bar("after", round(after, 1), None, after / most, "a year"),
        )
        for effect, (before, after) in zip(effects, rates, strict=True)
    ]


# -- import ----------------------------------------------------------------------------------


@router.get("/import")
def import_form(request: Request) -> HTMLResponse:
    """The upload form."""
    visitor = viewer(request)
    return render(request, visitor, "import.html", report=None, split=None)


@router.post("/import")
async def import_page(request: Request) -> HTMLResponse:
    """Import uploaded postmortems and say what became of each."""
    visitor, form = await form_of(request, write=True)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    uploads = [(f.filename, f.content_type, await f.read()) for f in files]
    services = _services(request)
    sources = upload_sources(uploads)
    report = await run_in_threadpool(
        ingest,
        services.store,
        services.embedder,
        sources,
        max_document_mb=services.settings.max_document_mb,
    )
    status = 200 if report.ok else 207
    return render(request, visitor, "import.html", status, report=report, split=None)


@router.post("/unmerge")
async def unmerge_page(request: Request) -> HTMLResponse:
    """Undo a merge the import made: the name becomes an entity of its own."""
    visitor, form = await form_of(request, write=True)
    entity, alias = _text(form, "entity_id") or "", _text(form, "alias") or ""
    services = _services(request)
    split = await run_in_threadpool(unmerge, services.store, services.embedder, entity, alias)
    return render(request, visitor, "import.html", report=None, split=split)


# -- signing in ------------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form (a key, once)."""
    visitor = _sessions(request).visitor(request)
    return render(request, visitor, "sign_in.html", next=_local(next), problem=None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Start a session for a valid key; say so when it is not one."""
    visitor = _sessions(request).visitor(request)
    form = await request.form(max_files=0, max_fields=10)
    token = form.get("csrf")
    check_form(request, visitor, token if isinstance(token, str) else "", needs=None)
    target = _local(_text(form, "next") or "/")
    response = RedirectResponse(target, 303)
    if _sessions(request).sign_in(request, response, _text(form, "key") or "") is None:
        problem = "That key is not valid here. Check it, or ask this server's operator for one."
        return render(request, visitor, "sign_in.html", 401, next=target, problem=problem)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session."""
    await form_of(request, write=False)
    response = RedirectResponse("/sign-in", 303)
    _sessions(request).sign_out(response)
    return response


def _local(target: str) -> str:
    """`target` if it is a path on this server, else "/" (no open redirects)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


# -- reading forms ---------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _given(form: FormData, *names: str) -> dict[str, str]:
    """The named fields that were filled in (empty ones take the model's default)."""
    return {name: value for name in names if (value := _text(form, name)) is not None}


def _names(form: FormData, name: str) -> list[str]:
    """A list typed as one name per line or comma."""
    return [part.strip() for part in re.split(r"[,\n]", _text(form, name) or "") if part.strip()]


def _parse(model: type[M], fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields)
    except pydantic.ValidationError as e:
        raise ValidationError(_said(e.errors())) from e


def _said(errors: Sequence[Any], *, skip: int = 0) -> str:
    """Pydantic's first complaint, said for a person: which field, and what is wrong (`skip`
    leaves out the first parts of its location)."""
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"][skip:]) or "form"
    message = first["msg"].removeprefix("Value error, ")
    return f"{field.replace('_', ' ')}: {message} ({textwrap.shorten(repr(first['input']), 60)})"
