"""The `/v1` endpoints: thin adapters from HTTP to the service functions in graph/ and ingest/.

Each endpoint validates its input through typed models, calls one service function and
returns its typed result; errors become problem+json (api/problems.py). Reads need a key
with `read` scope, changes one with `write` scope (api/security.py).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import pydantic
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field, model_validator
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from lessons.api import paging
from lessons.api.paging import (
    MAX_PAGE,
    CausePage,
    ComponentPage,
    FailurePage,
    PracticePage,
    SearchResults,
    SearchType,
)
from lessons.api.problems import problem_docs
from lessons.api.security import KeyCheckedRoute, require_read, require_write
from lessons.api.services import EmbedderDep, ProjectionDep, StoreDep, services
from lessons.api.uploads import (
    MAX_DOCUMENTS,
    IngestResult,
    RecordBatch,
    ingest_result,
    no_surrogates,
    record_sources,
    upload_sources,
)
from lessons.graph import facts, insights, reads
from lessons.graph.inputs import (
    ActionChanges,
    ActionDraft,
    CauseLink,
    Day,
    ExperimentDraft,
    FailureChanges,
    FailureDraft,
    FailureFilter,
    LessonDraft,
    Moment,
    PracticeLink,
    RecurrenceLink,
)
from lessons.graph.models import Action, Experiment, Lesson, Practice
from lessons.graph.reads import (
    MAX_DEPTH,
    CauseDetail,
    CauseView,
    ComponentDetail,
    FailureContext,
    FailureGraph,
    PracticeDetail,
)
from lessons.graph.recognize import Recognition, RecognizeQuery, recognize
from lessons.graph.sensemaking import CauseSuggestion, Explanation, explain, suggest_causes
from lessons.ingest.pipeline import ingest

READ = [Depends(require_read)]
WRITE = [Depends(require_write)]

router = APIRouter(
    prefix="/v1", responses=problem_docs(401, 403, 422, 503), route_class=KeyCheckedRoute
)

FailureIdPath = Annotated[str, Path(description="failure id", max_length=300)]
RefPath = Annotated[str, Path(description="id or name", max_length=300)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"items per page (1-{MAX_PAGE})")]
Cursor = Annotated[
    str | None, Query(max_length=1000, description="next_cursor of the previous page")
]
NameQuery = Annotated[str | None, Query(min_length=1, max_length=300)]
ShortQuery = Annotated[str | None, Query(min_length=1, max_length=200)]


# -- recognition and search -----------------------------------------------------------------


@router.get("/search", tags=["search"], dependencies=READ)
def search_endpoint(
    store: StoreDep,
    embedder: EmbedderDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="what happened")],
    type: Annotated[SearchType, Query(description="what to look for")] = "failure",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    cursor: Cursor = None,
) -> SearchResults:
    """Past failures like `q` (vector and keyword search fused), each with why it matched and
    what it taught; or causes, practices or components like `q` with the failures sharing
    them."""
    return paging.search_page(store, embedder, q, type=type, limit=limit, cursor=cursor)


def _text_in(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"type": "string", "pattern": r"\S"}}}


class RecognizeRequest(RecognizeQuery):
    """A new failure as the person who noticed it describes it (title or description needed)."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [_text_in("title"), _text_in("description")]}
    )

    title: str | None = Field(default=None, max_length=500, description="one line: what broke")
    description: str = Field(
        default="", max_length=20_000, description="symptoms, suspected cause, anything known"
    )
    components: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=50)
    causes: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=50)
    tags: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        no_surrogates(data)
        return data


@router.post("/recognize", tags=["search"], dependencies=READ, responses=problem_docs(413))
def recognize_endpoint(
    store: StoreDep,
    embedder: EmbedderDep,
    query: RecognizeRequest,
    limit: Annotated[int, Query(ge=1, le=20, description="matches to return")] = 5,
) -> Recognition:
    """Has this failed before? Past failures like the one described, each with the evidence
    (similarity, shared words, causes and components) and what it taught, and a verdict:
    likely recurrence, related, or new. Needs only a `read` key."""
    return recognize(store, embedder, query, limit=limit)


# -- failures ------------------------------------------------------------------------------


@router.get("/failures", tags=["failures"], dependencies=READ)
def list_failures(
    store: StoreDep,
    component: NameQuery = None,
    cause: NameQuery = None,
    team: NameQuery = None,
    tag: ShortQuery = None,
    severity: ShortQuery = None,
    occurred_from: Annotated[Moment | None, Query(description="earliest occurred_at")] = None,
    occurred_to: Annotated[Moment | None, Query(description="latest occurred_at")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> FailurePage:
    """Failures ordered by id, filtered by component, cause, team (names or ids), tag,
    severity and a range of occurred_at; a page at a time."""
    where = FailureFilter(
        component=component,
        cause=cause,
        team=team,
        tag=tag,
        severity=severity,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    return paging.failures_page(store, where, limit=limit, cursor=cursor)


@router.post(
    "/failures",
    tags=["failures"],
    status_code=201,
    dependencies=WRITE,
    responses=problem_docs(409, 413),
)
def create_failure(
    store: StoreDep, embedder: EmbedderDep, draft: FailureDraft, response: Response
) -> FailureContext:
    """Record a new failure, with the components it affected and its team."""
    context = facts.create_failure(store, embedder, draft)
    response.headers["Location"] = f"/v1/failures/{quote(context.failure.id)}"  # ASCII
    return context


@router.get(
    "/failures/{failure_id}", tags=["failures"], dependencies=READ, responses=problem_docs(404)
)
def get_failure(store: StoreDep, failure_id: FailureIdPath) -> FailureContext:
    """A failure with its causes, experiments, lessons, practices, actions and recurrences."""
    return reads.get_failure(store, failure_id)


@router.patch(
    "/failures/{failure_id}",
    tags=["failures"],
    dependencies=WRITE,
    responses=problem_docs(404, 413),
)
def update_failure(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, changes: FailureChanges
) -> FailureContext:
    """Change a failure's properties (fields left out stay as they are)."""
    return facts.update_failure(store, embedder, failure_id, changes)


@router.delete(
    "/failures/{failure_id}",
    tags=["failures"],
    status_code=204,
    dependencies=WRITE,
    responses=problem_docs(404),
)
def delete_failure(store: StoreDep, failure_id: FailureIdPath) -> Response:
    """Delete a failure with its own experiments, lessons and actions (shared causes,
    components and practices stay while other failures use them)."""
    facts.delete_failure(store, failure_id)
    return Response(status_code=204)


@router.get(
    "/failures/{failure_id}/graph",
    tags=["failures"],
    dependencies=READ,
    responses=problem_docs(404),
)
def failure_graph(
    store: StoreDep,
    failure_id: FailureIdPath,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH, description="hops from the failure")] = 1,
) -> FailureGraph:
    """The failure's neighbourhood within `depth` hops, as nodes and edges for drawing."""
    return reads.failure_graph(store, failure_id, depth)


@router.get(
    "/failures/{failure_id}/explain",
    tags=["sensemaking"],
    dependencies=READ,
    responses=problem_docs(404),
)
def explain_failure(store: StoreDep, failure_id: FailureIdPath) -> Explanation:
    """Why the failure happened and what it led to: causes (role, status, evidence, the
    experiments that tested them, the practices that address them), lessons and the
    practices they became, recurrences."""
    return explain(store, failure_id)


@router.get(
    "/failures/{failure_id}/suggested-causes",
    tags=["sensemaking"],
    dependencies=READ,
    responses=problem_docs(404),
)
def suggested_causes(
    store: StoreDep,
    embedder: EmbedderDep,
    failure_id: FailureIdPath,
    limit: Annotated[int, Query(ge=1, le=20, description="causes to suggest")] = 5,
) -> list[CauseSuggestion]:
    """Causes the failure does not have yet that its most similar past failures had."""
    return suggest_causes(store, embedder, failure_id, limit=limit)


SUB_RESOURCE = {
    "tags": ["failures"],
    "status_code": 201,
    "dependencies": WRITE,
    "responses": problem_docs(404, 413),
}


@router.post("/failures/{failure_id}/causes", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_cause(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, link: CauseLink
) -> CauseView:
    """Link a cause to the failure with its role (root, trigger, contributing); an existing
    cause is found by name or id, and linking it again changes the role."""
    return facts.add_cause(store, embedder, failure_id, link)


@router.post("/failures/{failure_id}/experiments", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_experiment(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, draft: ExperimentDraft
) -> Experiment:
    """Add an experiment (hypothesis, method, outcome, finding) and the causes it tested."""
    return facts.add_experiment(store, embedder, failure_id, draft)


@router.post("/failures/{failure_id}/lessons", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_lesson(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, draft: LessonDraft
) -> Lesson:
    """Add a lesson the failure taught, and the practices it was adopted as."""
    return facts.add_lesson(store, embedder, failure_id, draft)


@router.post("/failures/{failure_id}/practices", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_practice(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, link: PracticeLink
) -> Practice:
    """Adopt a practice after the failure, as one of its lessons (or a new lesson)."""
    return facts.add_practice(store, embedder, failure_id, link)


@router.post("/failures/{failure_id}/actions", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_action(
    store: StoreDep, embedder: EmbedderDep, failure_id: FailureIdPath, draft: ActionDraft
) -> Action:
    """Add a follow-up item, optionally implementing a practice."""
    return facts.add_action(store, embedder, failure_id, draft)


@router.patch(
    "/actions/{action_id:path}",
    tags=["failures"],
    dependencies=WRITE,
    responses=problem_docs(404, 413),
)
def update_action(
    store: StoreDep,
    embedder: EmbedderDep,
    action_id: Annotated[str, Path(description="action id, as a failure lists it", max_length=300)],
    changes: ActionChanges,
) -> Action:
    """Change a follow-up item (close it with `{"status": "done"}`); fields left out stay."""
    return facts.update_action(store, embedder, action_id, changes)


@router.post("/failures/{failure_id}/recurrences", **SUB_RESOURCE)  # type: ignore[arg-type]
def add_recurrence(
    store: StoreDep, failure_id: FailureIdPath, link: RecurrenceLink
) -> FailureContext:
    """Record that the failure is a recurrence of an earlier one (`RECURRENCE_OF`)."""
    return facts.add_recurrence(store, failure_id, link)


# -- causes, practices, components ---------------------------------------------------------


@router.get("/causes", tags=["shared"], dependencies=READ)
def list_causes(store: StoreDep, limit: Limit = 20, cursor: Cursor = None) -> CausePage:
    """Causes ordered by id, each with the failures it contributed to."""
    return paging.causes_page(store, limit=limit, cursor=cursor)


@router.get("/causes/{cause}", tags=["shared"], dependencies=READ, responses=problem_docs(404))
def get_cause(store: StoreDep, cause: RefPath) -> CauseDetail:
    """A cause (id or name) with the failures it contributed to and the practices for it."""
    return reads.get_cause(store, cause)


@router.get("/practices", tags=["shared"], dependencies=READ)
def list_practices(store: StoreDep, limit: Limit = 20, cursor: Cursor = None) -> PracticePage:
    """Practices ordered by id, each with the failures that led to it."""
    return paging.practices_page(store, limit=limit, cursor=cursor)


@router.get(
    "/practices/{practice}", tags=["shared"], dependencies=READ, responses=problem_docs(404)
)
def get_practice(store: StoreDep, practice: RefPath) -> PracticeDetail:
    """A practice (id or name) with the failures that led to it and the causes it addresses."""
    return reads.get_practice(store, practice)


@router.get("/components", tags=["shared"], dependencies=READ)
def list_components(store: StoreDep, limit: Limit = 20, cursor: Cursor = None) -> ComponentPage:
    """Components ordered by id, each with the failures that affected it."""
    return paging.components_page(store, limit=limit, cursor=cursor)


@router.get(
    "/components/{component}", tags=["shared"], dependencies=READ, responses=problem_docs(404)
)
def get_component(store: StoreDep, component: RefPath) -> ComponentDetail:
    """A component (id or name) with the failures that affected it."""
    return reads.get_component(store, component)


# -- import --------------------------------------------------------------------------------

INGEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "minItems": 1,
                        "maxItems": MAX_DOCUMENTS,
                        "description": "postmortems: .md, .yaml, .json, .jsonl or .csv",
                    }
                },
                "required": ["files"],
            }
        },
        "application/json": {"schema": {"$ref": "#/components/schemas/RecordBatch"}},
    },
}


@router.post(
    "/ingest",
    tags=["import"],
    dependencies=WRITE,
    openapi_extra={"requestBody": INGEST_BODY},
    responses={
        207: {"model": IngestResult, "description": "some documents failed; see `files`"},
        **problem_docs(413, 415),
    },
)
async def ingest_documents(
    request: Request,
    response: Response,
    store: StoreDep,
    embedder: EmbedderDep,
    dry_run: Annotated[bool, Query(description="parse and check only; write nothing")] = False,
) -> IngestResult:
    """Import postmortems: files as multipart form fields named `files` (the suffix of each
    file name picks the parser), or records as JSON `{"records": [...]}`.

    JSON and YAML need not use the record's field names: incident tools' exports and
    objects with their own keys are mapped, and each document's `warnings` name what was
    kept in the failure's notes instead. Each document is reported on its own; when some
    fail the status is 207 and the others are still imported, as with `lessons ingest`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=MAX_DOCUMENTS, max_fields=MAX_DOCUMENTS) as form:
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            uploads = [(f.filename, f.content_type, await f.read()) for f in files]
        sources = upload_sources(uploads)
    elif content_type == "application/json":
        try:
            batch = RecordBatch.model_validate_json(await request.body())
        except pydantic.ValidationError as e:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in e.errors()]
            ) from e
        sources = record_sources(batch)
    else:
        raise HTTPException(
            415, "send documents as multipart/form-data (`files`) or records as application/json"
        )
    limit = services(request).settings.max_document_mb
    report = await run_in_threadpool(
        ingest, store, embedder, sources, dry_run=dry_run, max_document_mb=limit
    )
    if not report.ok:
        response.status_code = 207
    return ingest_result(report)


# -- insights: learning from failure across the whole graph ----------------------------------


AsOf = Annotated[
    Day | None,
    Query(description="judge as of this day, YYYY-MM-DD (default: today)"),
]
InsightLimit = Annotated[
    int | None,
    Query(
        ge=1,
        description="at most this many items in each list, the most important first "
        "(default: all; counts and medians are over all)",
    ),
]


@router.get("/insights/recurring-causes", tags=["insights"], dependencies=READ)
def recurring_causes(
    graph: ProjectionDep, as_of: AsOf = None, limit: InsightLimit = None
) -> list[insights.RecurringCause]:
    """Causes behind several failures: how many, how recently, how central, and the
    practices in force against each."""
    return insights.first_items(insights.recurring_causes(graph, as_of=as_of), limit)


@router.get("/insights/gaps", tags=["insights"], dependencies=READ)
def learning_gaps(
    graph: ProjectionDep, as_of: AsOf = None, limit: InsightLimit = None
) -> insights.LearningGaps:
    """Failures whose lessons led to no practice in force, causes seen in several failures
    that no practice addresses, and overdue or ownerless action items."""
    return insights.first_items(insights.learning_gaps(graph, as_of=as_of), limit)


@router.get("/insights/practices", tags=["insights"], dependencies=READ)
def practice_effectiveness(
    graph: ProjectionDep, as_of: AsOf = None, limit: InsightLimit = None
) -> insights.PracticeEffectiveness:
    """For each practice in force: failures sharing a cause it addresses before and after
    its adoption, and whether the failure came back anyway."""
    return insights.first_items(insights.practice_effectiveness(graph, as_of=as_of), limit)


@router.get("/insights/clusters", tags=["insights"], dependencies=READ)
def failure_clusters(
    graph: ProjectionDep, as_of: AsOf = None, limit: InsightLimit = None
) -> list[insights.FailureCluster]:
    """Groups of failures that share causes and components, named after their causes."""
    return insights.first_items(insights.failure_clusters(graph, as_of=as_of), limit)


@router.get("/insights/timing", tags=["insights"], dependencies=READ)
def timing(graph: ProjectionDep, as_of: AsOf = None, limit: InsightLimit = None) -> insights.Timing:
    """Time to adaptation, gaps between recurrences, and per recurring cause the days until
    it recurred, was recognised and was addressed."""
    return insights.first_items(insights.timing(graph, as_of=as_of), limit)
