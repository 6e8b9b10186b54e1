"""Uploaded documents and JSON records as import sources, and the import report as JSON.

An upload is identified by its file name, as a file on disk is by its path: uploading a
changed `incident.md` again replaces what the earlier `incident.md` said, and an unchanged
one is skipped. A JSON record is identified by its `id` (else its title); records may be
other tools' exports, mapped like JSON files (ingest/keymaps.py), whose own ids are not ours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, Field, model_validator

from lessons.graph.errors import ParseError, ValidationError
from lessons.graph.models import slugify
from lessons.ingest.keymaps import NothingDescribesAFailure, map_fields
from lessons.ingest.parsers import PARSERS
from lessons.ingest.pipeline import FileStatus, IngestReport, Source
from lessons.ingest.record import PostmortemRecord

MAX_DOCUMENTS = 1000  # per request

# Suffixes for uploads whose names have none, by content type.
SUFFIX_BY_CONTENT_TYPE = {
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "application/json": ".json",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/yaml": ".yaml",
    "application/x-yaml": ".yaml",
    "text/yaml": ".yaml",
    "text/csv": ".csv",
}


@dataclass(frozen=True)
class UploadSource(Source):
    """A document sent over HTTP, identified by its name rather than its content."""

    def document_id(self, sha256: str) -> str:
        return "document:upload-" + hashlib.sha256(self.name.encode()).hexdigest()[:16]


def no_surrogates(value: Any) -> None:
    """Raise `ValueError` if any string in `value` cannot be stored (lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"text contains an unpaired surrogate at position {e.start}") from e
    elif isinstance(value, dict):
        for key, item in value.items():
            no_surrogates(key)
            no_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            no_surrogates(item)


class RecordBatch(BaseModel):
    """Postmortem records to import: canonical records (as `lessons schema` describes), or
    other tools' exports and objects with their own keys, mapped like JSON files.

    Each record is checked on its own, as a document would be: a bad one is reported in the
    result and the others are still imported.
    """

    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_DOCUMENTS)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        no_surrogates(data)
        return data


def ingest_schemas(ref_template: str) -> dict[str, Any]:
    """OpenAPI schemas of the JSON import body: `RecordBatch` of `PostmortemRecord`s."""
    schemas: dict[str, Any] = {}
    for model in (RecordBatch, PostmortemRecord):
        schema = model.model_json_schema(ref_template=ref_template)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    other = {"type": "object", "description": "another tool's export, or keys of your own"}
    items = {"anyOf": [{"$ref": ref_template.format(model="PostmortemRecord")}, other]}
    schemas["RecordBatch"]["properties"]["records"]["items"] = items
    return schemas


class FileOutcome(BaseModel):
    """What happened to one document: imported, unchanged, checked (dry run) or failed.

    `warnings`: keys of a JSON or YAML document that were not mapped to a field (their text
    is kept in the failure's `notes`) and values that did not fit their field.
    """

    path: str
    status: FileStatus
    failure_ids: list[str]
    error: str | None
    warnings: list[str] = []


class IngestResult(BaseModel):
    """Per-document outcomes of an import, with counts per status.

    Some documents may fail while others are imported (status 207): each says what happened
    to it, and `error` says `name:line: reason` for a failed one.
    """

    counts: dict[FileStatus, int]
    texts_embedded: int
    unlinked_recurrences: list[list[str]] = Field(
        description="[failure, earlier failure] pairs whose earlier failure is not imported yet"
    )
    files: list[FileOutcome]


def upload_sources(uploads: list[tuple[str | None, str | None, bytes]]) -> list[Source]:
    """Sources from uploaded (file name, content type, bytes); the suffix picks the parser."""
    if not uploads:
        raise ValidationError("no documents: send them as multipart form fields named `files`")
    if len(uploads) > MAX_DOCUMENTS:
        raise ValidationError(f"at most {MAX_DOCUMENTS} documents per request")
    sources: list[Source] = []
    for number, (filename, content_type, data) in enumerate(uploads, start=1):
        name = filename or f"upload-{number}"
        suffix = PurePath(name).suffix.lower()
        if suffix not in PARSERS:
            suffix = SUFFIX_BY_CONTENT_TYPE.get((content_type or "").split(";")[0].strip(), suffix)
        sources.append(UploadSource(name=name, suffix=suffix, data=data))
    return _unique_names(sources)


def record_sources(batch: RecordBatch) -> list[Source]:
    """One source per record, named after its id (else its title)."""
    sources: list[Source] = []
    for record in batch.records:
        name = slugify(_record_name(record)) or "record"
        data = json.dumps(record).encode()
        sources.append(UploadSource(name=f"{name}.json", suffix=".json", data=data))
    return _unique_names(sources)


def _record_name(record: dict[str, Any]) -> str:
    """A record's `id`, else its title, as the import reads them: a tool's opaque id is not
    the failure's id, and the title is wherever the tool keeps it (`name`, `fields.summary`)."""
    try:
        fields, _ = map_fields(record)
    except NothingDescribesAFailure:
        return str(record.get("id") or "")
    return str(fields.get("id") or fields.get("title") or "")


@dataclass(frozen=True)
class DuplicateUpload(UploadSource):
    """A document named like an earlier one of the same request: reported, not imported."""

    def read(self, max_bytes: int) -> bytes:
        raise ParseError(
            self.name, "an earlier document of this request has the same name; give each its own"
        )


def _unique_names(sources: list[Source]) -> list[Source]:
    """`sources`, each one named like an earlier one replaced by a `DuplicateUpload`."""
    seen: set[str] = set()
    unique: list[Source] = []
    for source in sources:
        if source.name in seen:
            source = DuplicateUpload(name=source.name, suffix=source.suffix)
        seen.add(source.name)
        unique.append(source)
    return unique


def ingest_result(report: IngestReport) -> IngestResult:
    """The import report as the API returns it (the shape of `lessons ingest --json`)."""
    return IngestResult(
        counts={status: report.count(status) for status in FileStatus},
        texts_embedded=report.texts_embedded,
        unlinked_recurrences=[[e.source, e.target] for e in report.unlinked],
        files=[
            FileOutcome(
                path=r.path,
                status=r.status,
                failure_ids=r.failure_ids,
                error=r.error,
                warnings=r.warnings,
            )
            for r in report.results
        ],
    )
