"""Markdown postmortems: YAML front matter plus sections recognised by their headings.

The heading aliases come from real templates (Google SRE book, PagerDuty, DFDS, GDS,
Jupyter, Kubernetes). Inside a section, bullets, table rows or paragraphs become items;
`docs/format.md` is the user-facing description of the rules implemented here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from lessons.graph.errors import ParseError

# Section heading (normalised) -> record field it fills.
SECTION_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["summary", "overview", "description", "incident summary", "what happened", "abstract"],
        "summary",
    ),
    **dict.fromkeys(
        [
            "impact",
            "how users were affected",
            "what was impacted",
            "customer impact",
            "user impact",
        ],
        "impact",
    ),
    **dict.fromkeys(["detection", "how was it detected", "identified"], "detection"),
    **dict.fromkeys(
        ["resolution", "mitigation", "recovery", "remediation", "fix", "how it was resolved"],
        "resolution",
    ),
    **dict.fromkeys(
        [
            "root cause",
            "root causes",
            "cause",
            "causes",
            "what caused the original problem",
            "root cause analysis",
        ],
        "root",
    ),
    **dict.fromkeys(["trigger", "triggers"], "trigger"),
    **dict.fromkeys(["contributing factors", "contributing factor"], "contributing"),
    **dict.fromkeys(["experiments", "hypotheses", "investigation"], "experiments"),
    **dict.fromkeys(
        [
            "lessons learned",
            "lessons learnt",
            "lessons",
            "takeaways",
            "what went well",
            "what went wrong",
            "what went poorly",
            "what didn't go so well",
            "what did not go so well",
            "where we got lucky",
        ],
        "lessons",
    ),
    **dict.fromkeys(["practices", "adopted practices"], "practices"),
    **dict.fromkeys(
        [
            "action items",
            "actions",
            "follow-ups",
            "follow ups",
            "followups",
            "corrective actions",
            "review actions",
            "next steps",
        ],
        "actions",
    ),
    **dict.fromkeys(["timeline", "timeline of events", "key events"], "timeline"),
}

TEXT_FIELDS = ("summary", "impact", "detection", "resolution")
CAUSE_ROLES = ("root", "trigger", "contributing")

# Front matter keys other tools use, mapped to record fields.
FRONT_MATTER_ALIASES: dict[str, str] = {
    "date": "occurred_at",
    "start_time": "occurred_at",
    "started_at": "occurred_at",
    "categories": "tags",
    "keywords": "tags",
    "labels": "tags",
    "owner": "team",
    "owning_team": "team",
    "services": "components",
    "systems": "components",
    "component": "components",
    "root_cause": "causes",
    "root_causes": "causes",
    "lessons_learned": "lessons",
    "action_items": "actions",
}
RECORD_FIELDS = frozenset(
    [
        "id",
        "title",
        "summary",
        "occurred_at",
        "severity",
        "status",
        "detected_by",
        "impact",
        "detection",
        "resolution",
        "team",
        "components",
        "tags",
        "causes",
        "experiments",
        "lessons",
        "practices",
        "actions",
        "recurrence_of",
        "timeline",
    ]
)
LIST_FIELDS = frozenset(["components", "tags", "causes", "lessons", "actions"])

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# `- **Impact**: text` (a field written as a bold bullet label, as in incident logs)
_BULLET_FIELD = re.compile(r"^[-*+]\s+\*\*([^*]+?):?\*\*:?\s*(.*)$")
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d-[01]\d-[0-3]\d)(?!\d)")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CHECKBOX = re.compile(r"^\[( |x|X)\]\s*")
_OWNER = re.compile(r"\(owner:\s*([^)]+)\)|(?:^|\s)@([\w.-]+)\s*$", re.IGNORECASE)
_OUTCOME = re.compile(r"^(confirmed|refuted|inconclusive)\s*[:\-–]\s*", re.IGNORECASE)
_FINDING = re.compile(r"\s*finding:\s*", re.IGNORECASE)
_TIME_PREFIX = re.compile(r"^(\d[^|]{0,40}?)(?:\s+[-–—|]\s+|:\s+)(.+)$")
_MAX_NAME = 120
_HAS_WORD = re.compile(r"\w")


@dataclass
class _Section:
    target: str | None  # the record field this section fills
    heading: str
    lines: list[tuple[int, str]] = field(default_factory=list)


def clean_inline(text: str) -> str:
    """Markdown inline markup reduced to plain text."""
    text = re.sub(r"<%.*?%>", "", text)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"\[([^\]]{2,})\](?!\()", r"\1", text)
    text = re.sub(r"^(\s*>)+\s?", "", text)
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"</?[a-zA-Z][^>]*>", "", text)
    text = re.sub(r"(\*\*|__|~~)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])[*_](\S.*?)[*_](?![\w*])", r"\1", text)
    text = text.replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def normalise_heading(text: str) -> str:
    """`"## 3. Root Causes:"` -> `"root causes"`."""
    text = clean_inline(text).lower().replace("’", "'")
    text = re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", text)
    return re.sub(r"[\s:?.!*]+$", "", text).strip()


# libyaml's parser when PyYAML was built with it (about 10x faster), else the pure-Python one;
# both construct the same plain data as `yaml.safe_load`.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Plain data from YAML text (safe: no Python objects are constructed)."""
    return yaml.load(text, Loader=_YAML_LOADER)


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, line number where the body starts).

    Front matter is YAML between `---` lines, or TOML between `+++` lines (Hugo, Zola).
    """
    lines = text.split("\n")
    fence = lines[0].strip() if lines else ""
    if fence not in ("---", "+++"):
        return {}, text, 1
    closing = ("---", "...") if fence == "---" else ("+++",)
    for end in range(1, len(lines)):
        if lines[end].strip() in closing:
            break
    else:
        raise ParseError(path, f"front matter starts with {fence!r} but never ends", line=1)
    source = "\n".join(lines[1:end])
    try:
        data = load_yaml(source) if fence == "---" else tomllib.loads(source)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        # libyaml may point just past the end (an unclosed bracket); stay inside the block.
        line = min(mark.line, end - 2) + 2 if mark is not None else 1
        problem = getattr(e, "problem", None) or str(e)
        raise ParseError(path, f"front matter is not valid YAML: {problem}", line=line) from e
    except tomllib.TOMLDecodeError as e:
        raise ParseError(path, f"front matter is not valid TOML: {e}", line=1) from e
    data = data or {}
    if not isinstance(data, dict):
        raise ParseError(path, "front matter must be a mapping of fields", line=2)
    return data, "\n".join(lines[end + 1 :]), end + 2


def _front_matter_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Front matter keys mapped onto record fields; unknown keys are ignored."""
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).strip().lower().replace("-", "_")
        name = FRONT_MATTER_ALIASES.get(name, name)
        if name not in RECORD_FIELDS or value is None or value == "" or value == []:
            continue
        if name in LIST_FIELDS and name in fields:
            fields[name] = [*_listify(fields[name]), *_listify(value)]
        else:
            fields[name] = value
    return fields


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sections(body: str, first_line: int) -> tuple[str | None, list[_Section]]:
    """The first `#` heading and the body split into sections, with inherited fields.

    A heading that matches no alias inherits the field of the nearest enclosing heading,
    so `### 22:00` under `## Timeline` is still timeline.
    """
    title: str | None = None
    sections = [_Section(target=None, heading="")]
    stack: list[tuple[int, str | None]] = []
    in_fence = False
    for offset, line in enumerate(body.split("\n")):
        number = first_line + offset
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        field_bullet = None if in_fence or match else _BULLET_FIELD.match(line)
        if field_bullet is not None:
            # A bold bullet label is a heading one level below everything else.
            level, heading = 7, clean_inline(field_bullet.group(1))
        elif match is None:
            sections[-1].lines.append((number, line))
            continue
        else:
            level, heading = len(match.group(1)), clean_inline(match.group(2))
        if title is None and level == 1:
            title = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        own = SECTION_ALIASES.get(normalise_heading(heading))
        inherited = next((f for _, f in reversed(stack) if f is not None), None)
        section_field = own or inherited
        stack.append((level, section_field))
        sections.append(_Section(target=section_field, heading=heading))
        if field_bullet is not None and field_bullet.group(2):
            sections[-1].lines.append((number, field_bullet.group(2)))
    return title, sections


@dataclass
class _Blocks:
    bullets: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def _blocks(lines: list[tuple[int, str]]) -> _Blocks:
    """Bullets (with their continuation lines), table rows and paragraphs of a section."""
    blocks = _Blocks()
    paragraph: list[str] = []
    header: list[str] | None = None
    in_fence = False

    def end_paragraph() -> None:
        if paragraph:
            text = clean_inline(" ".join(paragraph))
            if text:
                blocks.paragraphs.append(text)
            paragraph.clear()

    bullet_indent = -1  # indent of the current top-level bullet, -1 outside a list
    blank_since_bullet = False
    for _, raw in lines:
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            end_paragraph()
            continue
        if in_fence:
            continue
        if stripped.startswith("|"):
            end_paragraph()
            cells = [clean_inline(c) for c in stripped.strip("|").split("|")]
            if _TABLE_RULE.match(stripped):
                continue
            if header is None:
                header = [c.lower() for c in cells]
            else:
                blocks.rows.append(dict(zip(header, cells, strict=False)))
            continue
        header = None
        bullet = _BULLET.match(raw)
        if bullet:
            end_paragraph()
            indent = len(bullet.group(1).replace("\t", "    "))
            text = clean_inline(bullet.group(2))
            if blocks.bullets and 0 <= bullet_indent < indent:
                blocks.bullets[-1] = f"{blocks.bullets[-1]}; {text}"
            elif text:
                blocks.bullets.append(text)
                bullet_indent = indent
            blank_since_bullet = False
            continue
        if not stripped:
            end_paragraph()
            blank_since_bullet = bullet_indent >= 0
            continue
        continues_bullet = bullet_indent >= 0 and (not blank_since_bullet or raw[:1].isspace())
        if continues_bullet and blocks.bullets:
            blocks.bullets[-1] = f"{blocks.bullets[-1]} {clean_inline(stripped)}"
            continue
        bullet_indent = -1
        paragraph.append(stripped)
    end_paragraph()
    return blocks


def _column(row: dict[str, str], *names: str) -> str:
    for name in names:
        for key, value in row.items():
            if (key == name or key.startswith(name)) and value:
                return value
    return ""


def _split_names(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]


def _short_name(text: str) -> tuple[str, str | None]:
    """A cause or practice name from text: `Name: description`, or its first sentence."""
    head, sep, tail = text.partition(": ")
    if sep and len(head) <= 80 and not re.search(r"[.!?]", head):
        return head.strip(), tail.strip() or None
    sentence = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0].rstrip(".")
    if len(sentence) > _MAX_NAME:
        sentence = sentence[:_MAX_NAME].rsplit(" ", 1)[0] + "…"
    return sentence, (text if text.rstrip(".") != sentence else None)


def _items(blocks: _Blocks) -> list[str]:
    return blocks.bullets + blocks.paragraphs


def _causes(blocks: _Blocks, role: str) -> list[dict[str, Any]]:
    causes: list[dict[str, Any]] = []
    for row in blocks.rows:
        text = _column(row, "cause", "name", "factor") or next(iter(row.values()), "")
        if text:
            name, description = _short_name(text)
            causes.append({"name": name, "role": role, "description": description})
    for text in blocks.bullets:
        name, description = _short_name(text)
        causes.append({"name": name, "role": role, "description": description})
    if blocks.paragraphs and not blocks.bullets:
        # Prose: the whole section describes one cause, named by its first sentence.
        name, _ = _short_name(blocks.paragraphs[0])
        prose = "\n\n".join(blocks.paragraphs)
        description = prose if prose.rstrip(".") != name else None
        causes.append({"name": name, "role": role, "description": description})
    return [c for c in causes if _HAS_WORD.search(c["name"])]


def _experiments(blocks: _Blocks) -> list[dict[str, Any]]:
    experiments: list[dict[str, Any]] = []
    for row in blocks.rows:
        hypothesis = _column(row, "hypothesis", "experiment")
        if hypothesis:
            outcome = _column(row, "outcome", "result").lower() or "inconclusive"
            experiments.append(
                {
                    "hypothesis": hypothesis,
                    "method": _column(row, "method") or None,
                    "outcome": outcome,
                    "finding": _column(row, "finding") or None,
                    "tested_causes": _split_names(_column(row, "tested cause", "cause")),
                }
            )
    for text in _items(blocks):
        outcome = "inconclusive"
        match = _OUTCOME.match(text)
        if match:
            outcome, text = match.group(1).lower(), text[match.end() :]
        parts = _FINDING.split(text, maxsplit=1)
        hypothesis = parts[0].strip()
        finding = parts[1].strip() if len(parts) > 1 else ""
        experiments.append(
            {"hypothesis": hypothesis, "outcome": outcome, "finding": finding or None}
        )
    return experiments


def _lessons(blocks: _Blocks) -> list[dict[str, Any]]:
    lessons: list[dict[str, Any]] = [
        {"text": text, "adopted_as": _split_names(_column(row, "adopted as", "practice"))}
        for row in blocks.rows
        if (text := _column(row, "lesson") or next(iter(row.values()), ""))
    ]
    lessons.extend({"text": text} for text in _items(blocks))
    return lessons


def _practices(blocks: _Blocks) -> list[dict[str, Any]]:
    practices: list[dict[str, Any]] = []
    for row in blocks.rows:
        name = _column(row, "practice", "name")
        if name:
            practices.append(
                {
                    "name": name,
                    "description": _column(row, "description") or None,
                    "status": _column(row, "status").lower() or "proposed",
                    "adopted_at": _column(row, "adopted") or None,
                    "addresses": _split_names(_column(row, "addresses")),
                }
            )
    for text in _items(blocks):
        name, description = _short_name(text)
        practices.append({"name": name, "description": description})
    return practices


def _actions(blocks: _Blocks) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = []
    for row in blocks.rows:
        text = _column(row, "action", "item", "task", "description") or next(iter(row.values()), "")
        if text:
            actions.append(
                {
                    "text": text,
                    "owner": _column(row, "owner", "assignee", "who") or None,
                    "status": _column(row, "status", "state") or "open",
                    "due": _column(row, "due", "deadline") or None,
                    "implements": _column(row, "implements", "practice") or None,
                }
            )
    for text in blocks.bullets:
        status = "open"
        box = _CHECKBOX.match(text)
        if box:
            status = "open" if box.group(1) == " " else "done"
            text = text[box.end() :]
        owner = None
        match = _OWNER.search(text)
        if match:
            owner = match.group(1) or match.group(2)
            text = (text[: match.start()] + text[match.end() :]).strip()
        if text:
            actions.append({"text": text, "owner": owner, "status": status})
    actions.extend({"text": text} for text in blocks.paragraphs)
    return actions


def _timeline(section: _Section, blocks: _Blocks) -> list[dict[str, str]]:
    entries = [
        {"at": _column(row, "time", "date", "when"), "event": event}
        for row in blocks.rows
        if (event := _column(row, "event", "description", "what") or " ".join(row.values()))
    ]
    under_time_heading = normalise_heading(section.heading) not in SECTION_ALIASES
    for text in _items(blocks):
        match = _TIME_PREFIX.match(text)
        if under_time_heading:
            entries.append({"at": section.heading, "event": text})
        elif match:
            entries.append({"at": match.group(1).strip(), "event": match.group(2).strip()})
        else:
            entries.append({"at": "", "event": text})
    return entries


def parse_markdown(text: str, path: str) -> dict[str, Any]:
    """Fields of one postmortem record from a Markdown document (validated by the caller)."""
    front, body, body_line = split_front_matter(text, path)
    fields = _front_matter_fields(front)
    heading_title, sections = _sections(body, body_line)
    collected: dict[str, list[Any]] = {}
    texts: dict[str, list[str]] = {}
    loose_paragraphs: list[str] = []
    for section in sections:
        blocks = _blocks(section.lines)
        name = section.target
        if name is None:
            loose_paragraphs.extend(blocks.paragraphs or blocks.bullets)
        elif name in TEXT_FIELDS:
            parts = blocks.paragraphs + blocks.bullets
            parts += [" | ".join(v for v in row.values() if v) for row in blocks.rows]
            texts.setdefault(name, []).extend(parts)
        elif name in CAUSE_ROLES:
            collected.setdefault("causes", []).extend(_causes(blocks, name))
        elif name == "experiments":
            collected.setdefault("experiments", []).extend(_experiments(blocks))
        elif name == "lessons":
            collected.setdefault("lessons", []).extend(_lessons(blocks))
        elif name == "practices":
            collected.setdefault("practices", []).extend(_practices(blocks))
        elif name == "actions":
            collected.setdefault("actions", []).extend(_actions(blocks))
        elif name == "timeline":
            collected.setdefault("timeline", []).extend(_timeline(section, blocks))
    for name, parts in texts.items():
        if parts and not fields.get(name):
            fields[name] = "\n\n".join(parts)
    for name, items in collected.items():
        fields[name] = [*_listify(fields.get(name) or []), *items]
    if not fields.get("title"):
        fields["title"] = heading_title or _title_from_path(path)
    if not fields.get("occurred_at"):
        dated = _ISO_DATE.search(path.replace("\\", "/").rsplit("/", 1)[-1])
        dated = dated or _ISO_DATE.search(str(fields["title"]))
        if dated:
            fields["occurred_at"] = dated.group(1)
    if not fields.get("summary"):
        # No summary section: the first real paragraph, else what the impact or fix says.
        fallbacks = [p for p in loose_paragraphs if len(p) >= 40]
        fallbacks += [fields[f] for f in ("impact", "resolution", "detection") if fields.get(f)]
        fields["summary"] = fallbacks[0] if fallbacks else fields["title"]
    return fields


def _title_from_path(path: str) -> str:
    stem = re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    return re.sub(r"[_-]+", " ", stem).strip() or "Untitled failure"
