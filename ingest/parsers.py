"""Parsers: document text -> canonical `PostmortemRecord`s, picked by file suffix.

JSON, JSON Lines and YAML are read as mappings, not schemas (ingest/keymaps.py): another
tool's export or a file with its own keys is mapped onto the record, what cannot be mapped
is kept in `notes` with a warning, and a value that does not fit its field is moved to the
notes too. Such a document is refused only when nothing in it describes a failure.
Markdown and CSV keep the record's own field names.

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
from lessons.ingest.keymaps import KeyMap, NothingDescribesAFailure, map_fields, split_records
from lessons.ingest.markdown import load_yaml, parse_markdown, yaml_problem
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
    """One object, a list of them, or a tool's page of results (`{"incidents": [...]}`)."""
    if isinstance(data, list) and not all(isinstance(item, dict) for item in data):
        data = []
    records = split_records(data)
    if not records:
        raise ParseError(path, "expected a postmortem object or a non-empty list of them")
    return records


def _parse_yaml(text: str, path: str) -> list[dict[str, Any]]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = min(mark.line, text.rstrip("\n").count("\n")) + 1 if mark is not None else None
        raise ParseError(path, f"invalid YAML: {yaml_problem(e)}", line=line) from e
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


MAX_NESTING = 64  # levels of lists and mappings in one document; real exports use under 10


def _nesting_depth(data: Any) -> int:
    """How deeply lists and mappings nest in `data` (walked without recursion)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_NESTING:
            stack.extend((child, depth + 1) for child in children)
    return deepest


# Formats whose keys are mapped (ingest/keymaps.py) rather than required to be ours.
MAPPED = frozenset([".yaml", ".yml", ".json", ".jsonl"])


def parse_document(
    text: str,
    path: str,
    suffix: str,
    *,
    keymap: KeyMap | None = None,
    warnings: list[str] | None = None,
) -> list[PostmortemRecord]:
    """The postmortem records in `text`, parsed by the parser for `suffix` (e.g. `.md`).

    JSON, JSON Lines and YAML are mapped (ingest/keymaps.py): `keymap` is a user's own field
    map, tried before the known tools' maps and the generic aliases, and what the import
    should tell the user (keys kept in `notes`, values that did not fit their field) is
    appended to `warnings`.
    """
    suffix = suffix.lower()
    parser = PARSERS.get(suffix)
    if parser is None:
        known = ", ".join(sorted(PARSERS))
        raise ParseError(path, f"unsupported file type {suffix or '(none)'!r}; known: {known}")
    if not text.strip():
        raise ParseError(path, "the file is empty")
    too_deep = ParseError(path, f"lists and mappings nest more than {MAX_NESTING} levels deep")
    try:
        found = parser(text, path)
    except RecursionError as e:  # the JSON or YAML reader gave up before we could count
        raise too_deep from e
    if any(_nesting_depth(fields) > MAX_NESTING for fields in found):
        raise too_deep
    several = len(found) > 1 or suffix in (".csv", ".jsonl")
    records: list[PostmortemRecord] = []
    told: list[str] = []
    for index, fields in enumerate(found, start=1):
        which = f"record {index}: " if several else ""
        if suffix not in MAPPED:
            try:
                records.append(PostmortemRecord.model_validate(fields))
            except pydantic.ValidationError as e:
                raise ParseError(path, f"{which}{_describe(e)}") from e
            continue
        try:
            mapped, mapping_warnings = map_fields(fields, keymap)
        except NothingDescribesAFailure as e:
            raise ParseError(path, f"{which}{e}") from e
        record, more = _validate_leniently(mapped, path, which)
        records.append(record)
        told.extend(f"{which}{w}" for w in [*mapping_warnings, *more])
    if warnings is not None:
        warnings.extend(told)
    return records


def _validate_leniently(
    fields: dict[str, Any], path: str, which: str
) -> tuple[PostmortemRecord, list[str]]:
    """The record; a value that does not fit its field (or a list item that does not) is
    moved to the notes with a warning instead of refusing the document."""
    warnings: list[str] = []
    for _ in range(20):
        try:
            return PostmortemRecord.model_validate(fields), warnings
        except pydantic.ValidationError as e:
            moved = _move_to_notes(fields, e, warnings)
            if not moved:
                raise ParseError(path, f"{which}{_describe(e)}") from e
    raise ParseError(path, f"{which}too many values that do not fit their fields")


def _move_to_notes(
    fields: dict[str, Any], error: pydantic.ValidationError, warnings: list[str]
) -> bool:
    """Move what `error` complains about into `fields["notes"]`; False if nothing could be."""
    drop: dict[str, set[int] | None] = {}
    messages: dict[str, str] = {}
    for item in error.errors():
        loc = item["loc"]
        name = str(loc[0]) if loc else ""
        if name not in fields or name in ("title", "summary", "notes"):
            continue
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(fields[name], list):
            indices = drop.setdefault(name, set())
            if indices is not None:
                indices.add(loc[1])
            messages.setdefault(f"{name}[{loc[1]}]", item["msg"])
        else:
            drop[name] = None
            messages.setdefault(name, item["msg"])
    lines: list[str] = []
    for name, indices in drop.items():
        value = fields[name]
        if indices is None:
            lines.append(f"{name}: {_as_note(value)}")
            del fields[name]
            continue
        for index in sorted(indices, reverse=True):
            if index < len(value):
                lines.append(f"{name}[{index}]: {_as_note(value[index])}")
                value = value[:index] + value[index + 1 :]
        fields[name] = value
    for where, message in messages.items():
        warnings.append(f"{where}: {message}; kept in notes")
    if lines:
        fields["notes"] = "\n".join([*([fields["notes"]] if fields.get("notes") else []), *lines])
    return bool(lines)


def _as_note(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:499] + "…"
