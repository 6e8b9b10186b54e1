"""Parsers: document text -> canonical `PostmortemRecord`s, picked by file suffix.

Every problem is raised as `ParseError(path, reason, line=...)` so a bulk import can
report it and carry on with the other files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pydantic
import yaml

from lessons.graph.errors import ParseError
from lessons.ingest.markdown import load_yaml, parse_markdown
from lessons.ingest.record import PostmortemRecord

# CSV columns that hold lists, separated by ';'.
CSV_LIST_COLUMNS = frozenset(
    [
        "components",
        "tags",
        "causes",
        "lessons",
        "practices",
        "actions",
        "recurrence_of",
        "experiments",
    ]
)


def _records_from_data(data: Any, path: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return data
    raise ParseError(path, "expected a postmortem object or a non-empty list of them")


def _parse_yaml(text: str, path: str) -> list[dict[str, Any]]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = min(mark.line, text.rstrip("\n").count("\n")) + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        raise ParseError(path, f"invalid YAML: {problem}", line=line) from e
    return _records_from_data(data, path)


def _parse_json(text: str, path: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(path, f"invalid JSON: {e.msg}", line=e.lineno) from e
    return _records_from_data(data, path)


def _parse_jsonl(text: str, path: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise ParseError(path, f"invalid JSON: {e.msg}", line=number) from e
        if not isinstance(data, dict):
            raise ParseError(path, "each line must be a JSON object", line=number)
        records.append(data)
    if not records:
        raise ParseError(path, "no records in the file")
    return records


def _parse_csv(text: str, path: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ParseError(path, "no header row", line=1)
    records = []
    for row in reader:
        if None in row:
            raise ParseError(path, "row has more cells than the header", line=reader.line_num)
        record: dict[str, Any] = {}
        for column, value in row.items():
            name = (column or "").strip().lower()
            if not value or not value.strip():
                continue
            if name in CSV_LIST_COLUMNS:
                record[name] = [part.strip() for part in value.split(";") if part.strip()]
            else:
                record[name] = value.strip()
        if record:
            records.append(record)
    if not records:
        raise ParseError(path, "no rows in the file", line=2)
    return records


def _parse_markdown(text: str, path: str) -> list[dict[str, Any]]:
    return [parse_markdown(text, path)]


PARSERS: dict[str, Callable[[str, str], list[dict[str, Any]]]] = {
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".yaml": _parse_yaml,
    ".yml": _parse_yaml,
    ".json": _parse_json,
    ".jsonl": _parse_jsonl,
    ".csv": _parse_csv,
}
FORMATS = {suffix.lstrip("."): suffix for suffix in PARSERS}


def _describe(error: pydantic.ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "record"
        problems.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 5
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def parse_document(text: str, path: str, suffix: str) -> list[PostmortemRecord]:
    """The postmortem records in `text`, parsed by the parser for `suffix` (e.g. `.md`)."""
    parser = PARSERS.get(suffix.lower())
    if parser is None:
        known = ", ".join(sorted(PARSERS))
        raise ParseError(path, f"unsupported file type {suffix or '(none)'!r}; known: {known}")
    if not text.strip():
        raise ParseError(path, "the file is empty")
    records = []
    for index, fields in enumerate(parser(text, path), start=1):
        try:
            records.append(PostmortemRecord.model_validate(fields))
        except pydantic.ValidationError as e:
            which = f"record {index}: " if index > 1 or suffix in (".csv", ".jsonl") else ""
            raise ParseError(path, f"{which}{_describe(e)}") from e
    return records
