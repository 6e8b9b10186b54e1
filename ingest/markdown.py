"""Markdown postmortems, read like an engineer reads them, in stages that are each a function
over the document and testable alone:

1. structure (`read_structure`): YAML or TOML front matter, headings, and under each heading
   its blocks (bullets with their continuation lines and nested details, table rows,
   paragraphs), every block with the lines it spans;
2. headings by meaning (`lessons.ingest.headings`): which field each section holds;
3. items (`lessons.ingest.sentences` and `_Items` here): bullets, rows and the sentences of
   prose become causes, experiments, lessons, went-well items, practices and actions, by their
   section and by cue phrases;
4. entities (`lessons.ingest.entities`): components, the incident's date, severity and team.

`parse_markdown` puts the stages together into the fields of one canonical record, every item
with the section and lines it came from. `docs/format.md` describes the rules for users.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from lessons.graph.errors import ParseError
from lessons.ingest import entities
from lessons.ingest.headings import (
    CAUSE_FIELDS,
    IGNORED,
    TEXT_FIELDS,
    is_time_heading,
    normalise_heading,
    own_field,
    place,
)
from lessons.ingest.sentences import (
    concise_name,
    content_words,
    cue_kind,
    has_content,
    is_instruction,
    looks_like_task,
    outcome_of,
    rule_name,
    says_what_to_do,
    sets_rule,
    split_sentences,
    states_a_cause,
    without_lead_in,
)

__all__ = ["clean_inline", "load_yaml", "normalise_heading", "parse_markdown"]

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
    "went_well": "went_well",
}
RECORD_FIELDS = frozenset(
    "id title summary occurred_at severity status detected_by impact detection resolution team "
    "components tags causes experiments lessons practices actions recurrence_of timeline "
    "went_well lucky".split()
)
LIST_FIELDS = frozenset(["components", "tags", "causes", "lessons", "actions"])

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# `- **Impact**: text` (a field written as a bold bullet label, as in incident logs)
_BULLET_FIELD = re.compile(r"^[-*+]\s+\*\*([^*]+?):?\*\*:?\s*(.*)$")
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d-[01]\d-[0-3]\d)(?!\d)")
_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CHECKBOX = re.compile(r"^\[( |x|X)\]\s*")
_OWNER = re.compile(r"\(owner:\s*([^)]+)\)|(?:^|\s)@([\w.-]+)\s*$", re.IGNORECASE)
_OUTCOME = re.compile(r"^(confirmed|refuted|inconclusive)\s*[:\-–]\s*", re.IGNORECASE)
_FINDING = re.compile(r"\s*finding:\s*", re.IGNORECASE)
_TIME_PREFIX = re.compile(r"^(\d[^|]{0,40}?)(?:\s+[-–—|]\s+|:\s+)(.+)$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PLACEHOLDER_TITLE = re.compile(
    r"^\W*$|^\W*title\b|^incident title$|\btemplate\b|^\W*incident report\W*$", re.IGNORECASE
)


# --- stage 1: structure --------------------------------------------------------------------


_INLINE_MARKUP = (
    (re.compile(r"<%.*?%>"), ""),
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"\[([^\]]{2,})\](?!\()"), r"\1"),
    (re.compile(r"^(\s*>)+\s?"), ""),
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"</?[a-zA-Z][^>]*>"), ""),
    (re.compile(r"(\*\*|__|~~)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](\S.*?)[*_](?![\w*])"), r"\1"),
)
_MARKUP_CHARS = re.compile(r"[<>\[*_~`&\xa0]")  # text without any has no markup to remove
_SPACE_RUN = re.compile(r"\s+")


def clean_inline(text: str) -> str:
    """Markdown inline markup and HTML reduced to plain text, keeping link texts and the
    addresses of autolinks."""
    if _MARKUP_CHARS.search(text):
        for pattern, replacement in _INLINE_MARKUP:
            text = pattern.sub(replacement, text)
        text = html.unescape(text.replace("`", "")).replace("\xa0", " ")
    return _SPACE_RUN.sub(" ", text).strip()


# libyaml's parser when PyYAML was built with it (about 10x faster), else the pure-Python one;
# both construct the same plain data as `yaml.safe_load`.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Plain data from YAML text (safe: no Python objects are constructed)."""
    return yaml.load(text, Loader=_YAML_LOADER)


def yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong with a YAML text, in our words where the safe loader refuses a tag."""
    problem = getattr(error, "problem", None) or str(error)
    if isinstance(error, yaml.constructor.ConstructorError):
        tag = problem.rsplit(" ", 1)[-1]
        return f"the tag {tag} is not allowed: only plain data (text, numbers, lists) is read"
    return problem


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
        raise ParseError(
            path, f"front matter is not valid YAML: {yaml_problem(e)}", line=line
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise ParseError(path, f"front matter is not valid TOML: {e}", line=1) from e
    data = data or {}
    if not isinstance(data, dict):
        raise ParseError(path, "front matter must be a mapping of fields", line=2)
    return data, "\n".join(lines[end + 1 :]), end + 2


@dataclass
class Block:
    """A bullet (with its continuation lines; nested bullets are its `details`), a table row
    (`cells` by column header) or a paragraph; lines `first`..`last` of the document."""

    kind: str
    text: str
    first: int
    last: int
    details: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class Section:
    """A heading and the blocks under it, up to the next heading. `field` is what it holds
    (stage 2); `parent` is the index of the enclosing section."""

    heading: str
    level: int
    line: int
    parent: int | None
    lines: list[tuple[int, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    field: str | None = None


def read_structure(body: str, first_line: int) -> tuple[str | None, list[Section]]:
    """The first `#` heading and the sections of `body` (line numbers start at
    `first_line`); the text before the first heading is a section with an empty heading."""
    title: str | None = None
    sections = [Section(heading="", level=0, line=first_line, parent=None)]
    stack: list[int] = []  # indexes of the open sections, outermost first
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
        while stack and sections[stack[-1]].level >= level:
            stack.pop()
        sections.append(
            Section(heading=heading, level=level, line=number, parent=stack[-1] if stack else None)
        )
        stack.append(len(sections) - 1)
        if field_bullet is not None and field_bullet.group(2):
            sections[-1].lines.append((number, field_bullet.group(2)))
    for section in sections:
        section.blocks = read_blocks(section.lines)
    return title, sections


def read_blocks(lines: list[tuple[int, str]]) -> list[Block]:
    """Bullets (with continuation lines and nested details), table rows and paragraphs."""
    blocks: list[Block] = []
    paragraph: list[tuple[int, str]] = []
    header: list[str] | None = None
    in_fence = False
    bullet: Block | None = None  # the open top-level bullet
    bullet_indent = -1
    blank_since_bullet = False

    def end_paragraph() -> None:
        if paragraph:
            text = clean_inline(" ".join(t for _, t in paragraph))
            if text:
                blocks.append(Block("paragraph", text, paragraph[0][0], paragraph[-1][0]))
            paragraph.clear()

    for number, raw in lines:
        stripped = raw.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            end_paragraph()
            continue
        if in_fence:
            continue
        if stripped.startswith("|"):
            end_paragraph()
            bullet = None
            cells = [clean_inline(c) for c in stripped.strip("|").split("|")]
            if _TABLE_RULE.match(stripped):
                continue
            if header is None:
                header = [c.lower() for c in cells]
            else:
                row = dict(zip(header, cells, strict=False))
                text = " | ".join(c for c in cells if c)
                if text:
                    blocks.append(Block("row", text, number, number, cells=row))
            continue
        header = None
        item = _BULLET.match(raw)
        if item:
            end_paragraph()
            indent = len(item.group(1).replace("\t", "    "))
            text = clean_inline(item.group(3))
            if bullet is not None and 0 <= bullet_indent < indent:
                if text:
                    bullet.details.append(text)
                bullet.last = number
            elif text:
                kind = "step" if item.group(2)[0].isdigit() else "bullet"
                bullet = Block(kind, text, number, number)
                blocks.append(bullet)
                bullet_indent = indent
            blank_since_bullet = False
            continue
        if not stripped:
            end_paragraph()
            blank_since_bullet = bullet is not None
            continue
        continues = bullet is not None and (not blank_since_bullet or raw[:1].isspace())
        if continues and bullet is not None:
            if bullet.details:
                bullet.details[-1] = f"{bullet.details[-1]} {clean_inline(stripped)}"
            else:
                bullet.text = f"{bullet.text} {clean_inline(stripped)}"
            bullet.last = number
            continue
        bullet, bullet_indent = None, -1
        paragraph.append((number, stripped))
    end_paragraph()
    return blocks


# --- stage 3: items ------------------------------------------------------------------------


@dataclass
class _Items:
    """What the sections of one document say, item by item, each with where it was read."""

    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    timeline: list[dict[str, str]] = field(default_factory=list)
    went_well: list[str] = field(default_factory=list)
    lucky: list[str] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)  # paragraphs outside any known section

    def add(self, kind: str, item: dict[str, Any], section: Section, first: int, last: int) -> None:
        where = {"section": section.heading, "line_start": first, "line_end": last}
        self.lists.setdefault(kind, []).append({**item, "source": where})

    def cause(self, text: str, role: str, section: Section, block: Block, detail: str = "") -> None:
        name, description = _name_and_description(text)
        description = " ".join(filter(None, [description, detail])) or None
        cause = {"name": name, "role": role, "description": description}
        self.add("causes", cause, section, block.first, block.last)


def _item_text(block: Block) -> str:
    return "; ".join([block.text, *block.details]) if block.details else block.text


def _column(row: dict[str, str], *names: str) -> str:
    for name in names:
        for key, value in row.items():
            if (key == name or key.startswith(name)) and value:
                return value
    return ""


def _split_names(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]


def _read_causes(items: _Items, section: Section, role: str) -> None:
    blocks = [b for b in section.blocks if has_content(b.text, words=2)]
    bullets = [b for b in blocks if b.kind in ("bullet", "row")]
    steps = [b for b in blocks if b.kind == "step"]
    paragraphs = [b for b in blocks if b.kind == "paragraph"]
    for block in bullets:
        text = _column(block.cells, "cause", "name", "factor") if block.cells else ""
        text = text or _item_text(block)
        if not is_instruction(text):
            items.cause(text, role, section, block)
    named = False
    for block in paragraphs:
        sentences = [s for s in split_sentences(block.text) if has_content(s)]
        stated = [
            s
            for s in sentences
            if cue_kind(s) in ("root", "trigger", "contributing") and states_a_cause(s)
        ]
        for sentence in stated:
            sentence_role = cue_kind(sentence) if role == "root" else role
            items.cause(sentence, sentence_role or role, section, block)
            named = True
        if not stated and sentences and not bullets and not named:
            # Prose without a cue phrase: the section's first sentence names the cause.
            items.cause(sentences[0], role, section, block, " ".join(sentences[1:]))
            named = True
    if steps and not bullets:
        # A numbered scenario is one cause told in steps, not one cause per step: the cause
        # the prose named, or else the first step.
        told = " ".join(s.text for s in steps)
        if named:
            cause = items.lists["causes"][-1]
            cause["description"] = " ".join(filter(None, [cause["description"], told]))
            cause["source"]["line_end"] = max(cause["source"]["line_end"], steps[-1].last)
        else:
            block = Block("step", steps[0].text, steps[0].first, steps[-1].last)
            rest = " ".join(s.text for s in steps[1:])
            items.cause(steps[0].text, role, section, block, rest)


def _read_experiments(items: _Items, section: Section) -> None:
    for block in section.blocks:
        if block.cells:
            hypothesis = _column(block.cells, "hypothesis", "experiment")
            if hypothesis:
                outcome = _column(block.cells, "outcome", "result").lower() or "inconclusive"
                experiment = {
                    "hypothesis": hypothesis,
                    "method": _column(block.cells, "method") or None,
                    "outcome": outcome,
                    "finding": _column(block.cells, "finding") or None,
                    "tested_causes": _split_names(_column(block.cells, "tested cause", "cause")),
                }
                items.add("experiments", experiment, section, block.first, block.last)
            continue
        if block.kind == "paragraph":
            _read_prose(items, section, block)
            continue
        text = _item_text(block)
        if not has_content(text):
            continue
        match = _OUTCOME.match(text)
        outcome = match.group(1).lower() if match else outcome_of(text)
        if match:
            text = text[match.end() :]
        parts = _FINDING.split(text, maxsplit=1)
        experiment = {
            "hypothesis": parts[0].strip(),
            "outcome": outcome,
            "finding": parts[1].strip() if len(parts) > 1 else None,
        }
        items.add("experiments", experiment, section, block.first, block.last)


def _read_lessons(items: _Items, section: Section, kind: str) -> None:
    for block in section.blocks:
        if block.cells:
            text = _column(block.cells, "lesson") or next(iter(block.cells.values()), "")
            adopted = _split_names(_column(block.cells, "adopted as", "practice"))
            if has_content(text, words=2):
                items.add(
                    "lessons",
                    {"text": text, "adopted_as": adopted},
                    section,
                    block.first,
                    block.last,
                )
            continue
        for text in _units(block):
            if not has_content(text):
                continue
            said = cue_kind(text)
            if kind == "went_well" or (kind == "lessons" and said == "went_well"):
                items.went_well.append(text)
            elif kind == "lucky":
                items.lucky.append(text)
            elif kind == "went_wrong" and said not in ("lesson", "practice"):
                items.cause(text, "contributing", section, block)
            else:
                items.add("lessons", {"text": text}, section, block.first, block.last)


def _units(block: Block) -> list[str]:
    """A bullet or row is one unit, but a short label over nested bullets ("- Lighthouse:" with
    its fixes under it) gives one unit per nested bullet; a paragraph is read sentence by
    sentence only when it is long (a short paragraph is one item, as a bullet would be)."""
    if block.details and (len(block.text.split()) <= 4 or block.text.endswith(":")):
        label = block.text.rstrip(": ")
        return [f"{label}: {detail}" for detail in block.details]
    if block.kind != "paragraph":
        return [_item_text(block)]
    sentences = split_sentences(block.text)
    return sentences if len(sentences) > 2 else [block.text]


def _read_practices(items: _Items, section: Section) -> None:
    for block in section.blocks:
        if block.cells:
            name = _column(block.cells, "practice", "name")
            if name:
                practice = {
                    "name": name,
                    "description": _column(block.cells, "description") or None,
                    "status": _column(block.cells, "status").lower() or "proposed",
                    "adopted_at": _column(block.cells, "adopted") or None,
                    "addresses": _split_names(_column(block.cells, "addresses")),
                }
                items.add("practices", practice, section, block.first, block.last)
            continue
        for text in _units(block):
            if has_content(text, words=2):
                name, description = _name_and_description(text)
                items.add(
                    "practices",
                    {"name": name, "description": description},
                    section,
                    block.first,
                    block.last,
                )


def _name_and_description(text: str) -> tuple[str, str | None]:
    """`Name: description`, or a concise name and the whole text."""
    head, sep, tail = text.partition(": ")
    if sep and len(head) <= 80 and not re.search(r"[.!?]", head):
        # A sentence in this form ("The root cause was X: details") is named by what it names.
        return without_lead_in(head.strip()), tail.strip() or None
    name = concise_name(text)
    return name, (text if text.rstrip(".") != name else None)


def _read_actions(items: _Items, section: Section) -> None:
    for block in section.blocks:
        if block.cells:
            row = block.cells
            text = _column(row, "action", "item", "task", "description") or next(
                iter(row.values()), ""
            )
            if has_content(text, words=2):
                action = {
                    "text": text,
                    "owner": _column(row, "owner", "assignee", "who") or None,
                    "status": _column(row, "status", "state") or "open",
                    "due": _column(row, "due", "deadline") or None,
                    "implements": _column(row, "implements", "practice") or None,
                }
                items.add("actions", action, section, block.first, block.last)
            continue
        if block.kind == "paragraph":
            # Prose under an actions heading: its tasks are actions, the rest is read as prose.
            for sentence in split_sentences(block.text):
                if cue_kind(sentence) in ("action", "practice") or looks_like_task(sentence):
                    if has_content(sentence) and not is_instruction(sentence):
                        action = {"text": sentence}
                        items.add("actions", action, section, block.first, block.last)
                else:
                    _read_sentence(items, section, block, sentence)
            continue
        for text in _units(block):
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
            if has_content(text, words=2):
                items.add(
                    "actions",
                    {"text": text, "owner": owner, "status": status},
                    section,
                    block.first,
                    block.last,
                )


def _read_timeline(items: _Items, section: Section) -> None:
    under_time_heading = is_time_heading(section.heading)
    for block in section.blocks:
        if block.cells:
            event = _column(block.cells, "event", "description", "what") or " ".join(
                v for k, v in block.cells.items() if v and not k.startswith(("time", "date"))
            )
            at = _column(block.cells, "time", "date", "when")
            if event:
                items.timeline.append({"at": at, "event": event})
                _experiment_in(items, section, block, event)
            continue
        for text in _units(block):
            match = _TIME_PREFIX.match(text)
            if under_time_heading:
                entry = {"at": section.heading, "event": text}
            elif match:
                entry = {"at": match.group(1).strip(), "event": match.group(2).strip()}
            else:
                entry = {"at": "", "event": text}
            items.timeline.append(entry)
            _experiment_in(items, section, block, entry["event"])


def _experiment_in(items: _Items, section: Section, block: Block, text: str) -> None:
    """A timeline event or a sentence that tells of a hypothesis tested."""
    for sentence in split_sentences(text):
        if cue_kind(sentence) == "experiment" and has_content(sentence):
            experiment = {"hypothesis": sentence, "outcome": outcome_of(sentence)}
            items.add("experiments", experiment, section, block.first, block.last)


def _read_prose(items: _Items, section: Section, block: Block) -> None:
    """Sentences of prose anywhere: those whose cue phrases say what they state become items."""
    for sentence in split_sentences(block.text):
        _read_sentence(items, section, block, sentence)


def _read_sentence(items: _Items, section: Section, block: Block, sentence: str) -> None:
    if not has_content(sentence, words=4):
        return
    kind = cue_kind(sentence)
    if kind in CAUSE_FIELDS and states_a_cause(sentence):
        items.cause(sentence, kind, section, block)
    elif kind == "experiment":
        experiment = {"hypothesis": sentence, "outcome": outcome_of(sentence)}
        items.add("experiments", experiment, section, block.first, block.last)
    elif kind == "lesson":
        items.add("lessons", {"text": sentence}, section, block.first, block.last)
    elif kind == "went_well":
        items.went_well.append(sentence)
    elif kind == "practice":
        practice = {"name": rule_name(sentence), "description": sentence}
        items.add("practices", practice, section, block.first, block.last)


_LEAD_IN_FIELDS = {
    "lesson": "lessons",
    "action": "actions",
    "practice": "practices",
    "root": "root",
    "trigger": "trigger",
    "contributing": "contributing",
    "experiment": "experiments",
    "went_well": "went_well",
}


def split_lead_ins(section: Section) -> list[Section]:
    """A paragraph ending in a colon that says what follows ("The lessons we are taking away
    are as follows:") makes the list after it a part of its own, holding that field."""
    parts = [Section(section.heading, section.level, section.line, section.parent)]
    parts[0].field = section.field
    for block in section.blocks:
        lead = block.text.rstrip().endswith(":") and block.kind == "paragraph"
        said = None
        if lead:
            said = own_field(block.text.rstrip(": ")) or _LEAD_IN_FIELDS.get(
                cue_kind(block.text) or ""
            )
            said = said if said in _LEAD_IN_FIELDS.values() and said not in CAUSE_FIELDS else None
        if said and said != IGNORED:
            part = Section(section.heading, section.level, block.first, section.parent)
            part.field = said
            parts.append(part)
            continue
        if block.kind == "paragraph" and len(parts) > 1 and parts[-1].blocks:
            # The list is over: the rest is the section's own again.
            part = Section(section.heading, section.level, block.first, section.parent)
            part.field = section.field
            parts.append(part)
        parts[-1].blocks.append(block)
    return [p for p in parts if p.blocks]


def read_items(sections: Iterable[Section]) -> _Items:
    """Stage 3: the items of every section, by the field it holds."""
    items = _Items()
    for section in (part for whole in sections for part in split_lead_ins(whole)):
        name = section.field
        if name == IGNORED:
            continue
        if name is None:
            for block in section.blocks:
                if block.kind == "paragraph":
                    items.loose.append(block.text)
                    _read_prose(items, section, block)
        elif name in TEXT_FIELDS:
            parts = [_item_text(b) for b in section.blocks if not is_instruction(b.text)]
            items.texts.setdefault(name, []).extend(p for p in parts if p)
            for block in section.blocks:
                if block.kind == "paragraph":
                    _read_prose(items, section, block)
        elif name in CAUSE_FIELDS:
            _read_causes(items, section, name)
        elif name == "experiments":
            _read_experiments(items, section)
        elif name in ("lessons", "went_well", "lucky", "went_wrong"):
            _read_lessons(items, section, name)
        elif name == "practices":
            _read_practices(items, section)
        elif name == "actions":
            _read_actions(items, section)
        elif name == "timeline":
            _read_timeline(items, section)
    return items


def _practices_from_rules(items: _Items) -> None:
    """Lessons and actions that set a lasting rule become practices too, linked to the lesson
    (`adopted_as`) or action (`implements`) they came from."""
    known = {p["name"].lower() for p in items.lists.get("practices", [])}
    for kind, link in (("lessons", "adopted_as"), ("actions", "implements")):
        for item in items.lists.get(kind, []):
            if link in item:
                continue  # the document says what it was adopted as (a table column)
            text = item["text"]
            if not sets_rule(text) or (kind == "lessons" and not says_what_to_do(text)):
                continue
            name = rule_name(text)
            if name.lower() not in known:
                known.add(name.lower())
                practice = {
                    "name": name,
                    "description": text,
                    "addresses": _addressed(text, items.lists.get("causes", [])),
                    "source": item["source"],
                }
                items.lists.setdefault("practices", []).append(practice)
            item[link] = [name] if link == "adopted_as" else name


def _addressed(rule: str, causes: list[dict[str, Any]]) -> list[str]:
    """The causes of the same document a rule speaks of: two or more words in common."""
    words = content_words(rule)
    return [
        cause["name"]
        for cause in causes
        if len(words & content_words(f"{cause['name']} {cause.get('description') or ''}")) >= 2
    ]


# --- putting the stages together -----------------------------------------------------------


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


def _place(sections: list[Section]) -> None:
    """Stage 2: set each section's field (the title heading says what failed, not what its
    section holds)."""
    title_at = next((i for i, s in enumerate(sections) if s.level == 1), None)
    places = place([("" if i == title_at else s.heading, s.parent) for i, s in enumerate(sections)])
    for section, field_ in zip(sections, places, strict=True):
        section.field = field_


def parse_markdown(text: str, path: str) -> dict[str, Any]:
    """Fields of one postmortem record from a Markdown document (validated by the caller)."""
    text = _HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    front, body, body_line = split_front_matter(text, path)
    fields = _front_matter_fields(front)
    heading_title, sections = read_structure(body, body_line)
    _place(sections)
    items = read_items(sections)
    _practices_from_rules(items)
    for name, parts in items.texts.items():
        if parts and not fields.get(name):
            fields[name] = "\n\n".join(parts)
    for name, found in items.lists.items():
        fields[name] = [*_listify(fields.get(name) or []), *found]
    if items.timeline:
        fields["timeline"] = [*_listify(fields.get("timeline") or []), *items.timeline]
    if items.went_well and not fields.get("went_well"):
        fields["went_well"] = items.went_well
    if items.lucky:
        fields["lucky"] = items.lucky
    _add_entities(fields, text)
    if not fields.get("title"):
        fields["title"] = heading_title or _title_from_path(path)
    if _PLACEHOLDER_TITLE.search(str(fields["title"])) or "template" in path.lower():
        raise ParseError(
            path,
            f"looks like an empty postmortem template (title {fields['title']!r}): fill it in, "
            "or leave it out of the import",
            line=1,
        )
    if not fields.get("occurred_at"):
        dated = _ISO_DATE.search(path.replace("\\", "/").rsplit("/", 1)[-1])
        dated = dated or _ISO_DATE.search(str(fields["title"]))
        if dated:
            fields["occurred_at"] = dated.group(1)
    if not fields.get("summary"):
        # No summary section: the first real paragraph, else what the impact or fix says.
        fallbacks = [p for p in items.loose if len(p) >= 40 and not is_instruction(p)]
        fallbacks += [fields[f] for f in ("impact", "resolution", "detection") if fields.get(f)]
        fields["summary"] = fallbacks[0] if fallbacks else fields["title"]
    return fields


def _add_entities(fields: dict[str, Any], text: str) -> None:
    """Stage 4: components, and the date, severity and team the front matter did not give."""
    if not fields.get("components"):
        fields["components"] = [
            {"name": m.name, "source": {"section": "", "line_start": m.line, "line_end": m.line}}
            for m in entities.find_components(text)
        ]
    if all(fields.get(name) for name in ("occurred_at", "severity", "team")):
        return
    meta = entities.find_metadata(text)
    if meta.incident_date and not fields.get("occurred_at"):
        fields["occurred_at"] = meta.incident_date.isoformat()
    if meta.severity and not fields.get("severity"):
        fields["severity"] = meta.severity
    if meta.team and not fields.get("team"):
        fields["team"] = meta.team


def _title_from_path(path: str) -> str:
    stem = re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    return re.sub(r"[_-]+", " ", stem).strip() or "Untitled failure"
