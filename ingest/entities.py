"""Stage 4 of extraction: the entities a Markdown postmortem names.

Two pure functions over one document's whole text (front matter included; line numbers are the
1-based lines of that text):

- `find_components`: the systems, services, products and technologies that were affected by
  or involved in the failure, from metadata lines and header tables ("Component: ...",
  "Services affected: ..."), front matter, a built-in vocabulary of infrastructure technologies
  and cloud services (`VOCABULARY`), names the caller already knows (`known`), code spans and
  service-like identifiers (CamelCase names, host names, kebab-case service names).
- `find_metadata`: the incident's date (its start, not the day the report was published), its
  severity as written, and the owning team, from front matter, metadata lines, header tables,
  the title, the opening paragraph and the timeline.

What is never a component: people (authors, attendees, @handles, links to user profiles),
companies as a whole ("Google", "AWS"), generic words ("the cluster", "users"), what only the
action items, lessons, attendee lists or references name, and log output in code blocks.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import yaml


@dataclass(frozen=True)
class Mention:
    """A component as a careful engineer would write it in a knowledge base."""

    name: str
    line: int  # where it is first found (1-based, in the whole text)


@dataclass(frozen=True)
class Metadata:
    """What a postmortem states about the incident itself."""

    incident_date: date | None  # the day the incident started, not the publication date
    incident_date_line: int | None
    severity: str | None  # as written: "Sev 1", "P2", "major"
    severity_line: int | None
    team: str | None  # the owning team, when the document states one
    team_line: int | None


# --- the document: front matter, lines, sections -------------------------------------------

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LABEL = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)([^*_]{2,60}?):?(?:\*\*|__):?\s*(.*)$")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*(\S+)")
_HTML_COMMENT = re.compile(r"<!--.*?-->")

# Section headings (normalised) -> what the section is, for the readers below.
_SECTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "actions",
        re.compile(
            r"\baction|follow[- ]?ups?\b|next steps|what we(?:'re| are| will be)? (?:doing|do)\b"
            r"|\bto ?dos?\b|recommendation|improvements?\b|corrective|preventi|how to fix"
            r"|review actions|what we could do"
        ),
    ),
    (
        "lessons",
        re.compile(
            r"lesson|takeaway|\blearn[et]|went (?:well|wrong|poorly|badly)|go(?:ne)? (?:so )?well"
            r"|lucky|what worked|what didn.?t work|conclusion"
        ),
    ),
    (
        "people",
        re.compile(r"attendee|participant|^people|^authors?$|contributor|thank|acknowledg|credit"),
    ),
    (
        "refs",
        re.compile(
            r"reference|^links?$|^logs?$|further reading|^related|^resources|^data$|^stats?$"
            r"|statistic|comments and questions|indicators of compromise|\bio[cs]s?\b"
        ),
    ),
    ("appendix", re.compile(r"^append|^apendix|chat log|postmortem thread")),
    ("timeline", re.compile(r"timeline|key events|chronolog|sequence of events|^context$")),
    ("summary", re.compile(r"summary|overview|what happened|abstract|tl;?dr|^description$")),
)


def _section_kind(heading: str) -> str:
    for kind, pattern in _SECTION_KINDS:
        if pattern.search(heading):
            return kind
    return "body"


def _normalise_heading(text: str) -> str:
    text = _inline_text(text).lower().replace("’", "'")
    text = re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", text)
    return re.sub(r"[\s:?.!*]+$", "", text).strip()


@dataclass
class _Line:
    number: int
    raw: str
    kind: str  # text | heading | code | log | blank | front | refdef
    section: str  # the kind of the enclosing section (see _SECTION_KINDS), "title" or "front"
    heading: str = ""  # the enclosing heading, normalised


@dataclass
class _Doc:
    lines: list[_Line]
    front: dict[str, Any]
    front_lines: dict[str, int]  # front matter key (lowercase) -> line
    title: str | None
    title_line: int | None
    refs: dict[str, str]  # reference-style link label (lowercase) -> URL
    opening: set[int] = field(default_factory=set)  # line numbers of the opening text

    def prose(self, *, skip: Iterable[str] = ()) -> Iterator[_Line]:
        skipped = set(skip)
        for line in self.lines:
            if line.kind in ("text", "heading") and line.section not in skipped:
                yield line


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], dict[str, int], int]:
    """(data, key -> line number, index of the first body line)."""
    if not lines or lines[0].strip() not in ("---", "+++"):
        return {}, {}, 0
    fence = lines[0].strip()
    closing = ("---", "...") if fence == "---" else ("+++",)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in closing), None)
    if end is None:
        return {}, {}, 0
    source = "\n".join(lines[1:end])
    data: Any
    try:
        data = yaml.safe_load(source) if fence == "---" else tomllib.loads(source)
    except (yaml.YAMLError, tomllib.TOMLDecodeError):
        data = None
    if not isinstance(data, dict):
        data = {}
    positions: dict[str, int] = {}
    for index in range(1, end):
        match = re.match(r"^\s*[\"']?([A-Za-z_][\w -]*?)[\"']?\s*[:=]", lines[index])
        if match:
            positions.setdefault(match.group(1).strip().lower(), index + 1)
    extra = data.get("extra")
    flat = {str(k).lower(): v for k, v in data.items()}
    if isinstance(extra, dict):  # Zola keeps custom fields under [extra]
        for key, value in extra.items():
            flat.setdefault(str(key).lower(), value)
    return flat, positions, end + 1


@functools.lru_cache(maxsize=2)  # find_components and find_metadata read the same document
def _parse(text: str) -> _Doc:
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front, front_lines, body_start = _front_matter(raw_lines)
    lines: list[_Line] = [_Line(i + 1, raw_lines[i], "front", "front") for i in range(body_start)]
    refs: dict[str, str] = {}
    stack: list[tuple[int, str, str]] = []  # (level, kind, heading)
    title: str | None = None
    title_line: int | None = None
    fence: str | None = None
    block: list[_Line] = []
    seen_text = False
    for index in range(body_start, len(raw_lines)):
        raw = raw_lines[index]
        number = index + 1
        section = stack[-1][1] if stack else "body"
        heading = stack[-1][2] if stack else ""
        fence_match = _FENCE.match(raw)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0]:
                kind = "log" if _is_log(block, fence) else "code"
                for line in block:
                    line.kind = kind
                block = []
                fence = None
                lines.append(_Line(number, raw, "blank", section, heading))
            else:
                line = _Line(number, raw, "code", section, heading)
                block.append(line)
                lines.append(line)
            continue
        if fence_match:
            fence = fence_match.group(1)[0] + fence_match.group(2).lower()
            lines.append(_Line(number, raw, "blank", section, heading))
            continue
        ref = _REF_DEF.match(raw)
        if ref:
            refs[ref.group(1).strip().lower()] = ref.group(2)
            lines.append(_Line(number, raw, "refdef", section, heading))
            continue
        if not raw.strip():
            lines.append(_Line(number, raw, "blank", section, heading))
            continue
        atx = _ATX.match(raw)
        label = None if atx else _BOLD_LABEL.match(raw)
        if atx or label:
            if atx:
                level, text_of = len(atx.group(1)), atx.group(2)
            else:
                assert label is not None
                level, text_of = 7, label.group(1)
            normalised = _normalise_heading(text_of)
            if title is None and not seen_text and atx:
                title, title_line = _inline_text(text_of), number
                stack = [(level, "title", normalised)]
                lines.append(_Line(number, raw, "heading", "title", normalised))
                continue
            while stack and stack[-1][0] >= level and stack[-1][1] != "title":
                stack.pop()
            if stack and stack[-1][1] == "title" and stack[-1][0] >= level:
                stack.pop()
            own = _section_kind(normalised)
            inherited = next(
                (k for _, k, _ in reversed(stack) if k not in ("body", "title", "summary")), None
            )
            kind_here = own if own != "body" or inherited is None else inherited
            if own in ("summary", "timeline") and inherited is not None:
                kind_here = inherited
            stack.append((level, kind_here, normalised))
            lines.append(_Line(number, raw, "heading", kind_here, normalised))
            if label and label.group(2).strip():
                lines.append(_Line(number, label.group(2), "text", kind_here, normalised))
            continue
        seen_text = True
        lines.append(_Line(number, raw, "text", section, heading))
    for line in block:  # a fence that never closes
        line.kind = "code"
    front_title = front.get("title")
    if isinstance(front_title, str) and front_title.strip():
        title = _inline_text(front_title)
        title_line = front_lines.get("title", title_line)
    doc = _Doc(lines, front, front_lines, title, title_line, refs)
    doc.opening = _opening_lines(doc)
    return doc


def _opening_lines(doc: _Doc) -> set[int]:
    """The first paragraph of the body (after the title) and the summary section's lines."""
    opening: set[int] = set()
    started = False
    for line in doc.lines:
        if line.kind in ("front", "refdef"):
            continue
        if line.kind == "heading" and line.section != "title":
            if started:
                break
            continue
        if line.kind == "text" and line.section in ("body", "title", "summary"):
            if not started and (_METADATA_LINE.match(line.raw) or line.raw.lstrip()[:1] == "|"):
                continue  # "Created by: ...", a header table: not yet the opening
            opening.add(line.number)
            started = True
        elif line.kind == "blank" and started:
            break
    summary = [
        line.number for line in doc.lines if line.section == "summary" and line.kind == "text"
    ]
    opening.update(summary[:_SUMMARY_LINES])
    return opening


_METADATA_LINE = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?[A-Za-z][\w /&()'-]{0,30}(?:\*\*|__)?:\s"
)
_SUMMARY_LINES = 10  # a long "Summary" is a report of its own: its first lines open it


_LOG_LINE = re.compile(
    r"\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d|\b(?:ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL|Traceback)\b"
    r"|^\s*(?:Warning|Normal|Error|E\d{4}|I\d{4}|W\d{4})\b|^\s*[\[{]\"|\"(?:level|msg|error)\""
    r"|Exception|\b(?:failed|error):",
)


def _is_log(block: list[_Line], fence: str) -> bool:
    """Log output (events, errors, JSON logs) rather than commands or configuration."""
    language = fence[1:]
    if language in ("log", "logs", "console", "output", "stacktrace", "traceback"):
        return True
    if language in ("bash", "sh", "shell", "yaml", "yml", "json", "diff", "toml", "hcl", "mermaid"):
        return False
    content = [line.raw for line in block if line.raw.strip()]
    if not content:
        return False
    logged = sum(1 for raw in content if _LOG_LINE.search(raw))
    return logged * 2 >= len(content)


# --- inline text ------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[([^\]]*)\](?:\(([^)\s]*)[^)]*\)|\[([^\]]*)\])?")
_URL = re.compile(r"<?\b(?:https?|ftp|hxxps?)://[^\s>)\]]+>?")
_EMAIL = re.compile(r"<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
_HANDLE = re.compile(r"(?<![\w.])@[\w][\w-]*")
_CODE = re.compile(r"(`+)(.+?)\1")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_PROFILE_URL = re.compile(
    r"^https?://(?:www\.)?(?:github\.com|gitlab\.com|twitter\.com|x\.com|linkedin\.com/in)"
    r"/[\w.-]+/?$"
)


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_STRONG = re.compile(r"(\*\*|__|~~)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])[*_](\S.*?)[*_](?![\w*])")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=4096)
def _inline_text(text: str) -> str:
    """Markdown inline markup reduced to plain text (links keep their text)."""
    text = _HTML_COMMENT.sub(" ", text)
    text = _BR.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _TAG.sub(" ", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = text.replace("`", "").replace("\\", "")
    return _SPACES.sub(" ", text).strip()


@dataclass
class _Inline:
    text: str  # prose: links by their text, URLs, e-mail addresses and @handles removed
    code: list[tuple[str, str]]  # (code span, the words right after it)
    linked: list[str]  # link texts that name something (not a person's profile)
    people: list[str]  # link texts that point at a person's profile


def _inline(raw: str, refs: dict[str, str]) -> _Inline:
    text = _HTML_COMMENT.sub(" ", raw)
    text = _BR.sub(" ; ", text)
    text = _QUOTE.sub("", text)
    linked: list[str] = []
    people: list[str] = []

    def link(match: re.Match[str]) -> str:
        label = match.group(1)
        url = match.group(2) or refs.get((match.group(3) or label).strip().lower(), "")
        if match.group(0).startswith("!"):
            return " "
        if url and _PROFILE_URL.match(url):
            people.append(label.strip("`@ "))
            return " "
        if label and _link_names(label, url):
            linked.append(label)
        return label

    text = _LINK.sub(link, text)
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _TAG.sub(" ", text)
    code: list[tuple[str, str]] = []
    for match in _CODE.finditer(text):
        after = text[match.end() : match.end() + 40]
        code.append((match.group(2).strip(), after))
    text = _CODE.sub(lambda m: f" {m.group(2)} ", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = text.replace("\\", "")
    return _Inline(text, code, linked, people)


# --- the vocabulary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    name: str  # canonical
    weak: bool  # collaboration tooling: a component only when the title or metadata names it
    concept: bool  # a generic technology (DNS, TLS): only when the title or the opening names it


_CONCEPTS = frozenset(["DNS", "CDN", "TLS", "SSH", "BGP", "MX records", "NFS", "2FA"])


def _vocabulary() -> tuple[dict[str, _Term], re.Pattern[str]]:
    """(alias -> term, the pattern that finds any alias).

    An alias written `=Name` counts only in that spelling (`=Flux`, `=Helm`: common words);
    the others in any case. Keys of the mapping are the exact spelling for the first kind and
    the lowercase one for the second.
    """
    terms: dict[str, _Term] = {}
    alternatives: list[tuple[str, str]] = []  # (alias, regex)
    for entry in VOCABULARY.splitlines():
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        weak = entry.startswith("~")
        head, _, tail = entry.lstrip("~").partition(":")
        names = [head.strip(), *(a.strip() for a in tail.split(",") if a.strip())]
        canonical = names[0].lstrip("=")
        term = _Term(canonical, weak, canonical in _CONCEPTS)
        for alias in names:
            if alias.startswith("="):
                terms[alias[1:]] = term
                alternatives.append((alias[1:], f"(?-i:{re.escape(alias[1:])})"))
            else:
                terms[alias.lower()] = term
                alternatives.append((alias, re.escape(alias)))
    exact = [alias for alias, regex in alternatives if regex.startswith("(?-i:")]
    anycase = [alias.lower() for alias, regex in alternatives if not regex.startswith("(?-i:")]
    pattern = re.compile(
        r"(?<![\w./@-])("
        + f"(?-i:{_trie(exact)})|{_trie(anycase)}"
        + r")(?:'s|s)?(?![\w@]|[-/][\w]|\.[A-Za-z0-9])",
        re.IGNORECASE,
    )
    return terms, pattern


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of `words`, factored by common prefixes (a long alternation of
    words makes the matcher try each word at each position: 20x slower here), longer words
    tried first."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(c) + pattern(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here, and longer ones go on: try them first
            return f"(?:{body})?"
        return body

    return pattern(root)


def _term(found: str) -> _Term | None:
    terms = _VOCAB[0]
    return terms.get(found) or terms.get(found.lower())


# --- components -------------------------------------------------------------------------------

# Words that name no particular thing on their own.
_GENERIC = frozenset(
    """cluster clusters server servers service services system systems node nodes pod pods
    database databases db network networks application applications app apps website web site
    site api apis platform platforms infrastructure users user customers customer team teams
    component components deployment deployments instance instances machine machines host hosts
    container containers image images job jobs pipeline pipelines process processes daemon daemons
    config configuration production prod staging stage dev development test testing master main
    latest stable default root admin local localhost internal external public private data logs
    log metrics monitoring alerting alert alerts dashboard dashboards release releases version
    code repository repo repos branch branches commit tool tools script scripts file files
    directory folder storage disk disks memory cpu kernel proxy load balancer cache queue worker
    workers agent agents controller controllers namespace namespaces resource resources
    traffic request requests error errors issue issues incident outage bug bugs fix patch""".split()
)
# Organisations as a whole, never a component on their own.
_COMPANIES = frozenset(
    """google amazon aws microsoft azure gcp apple facebook meta ibm oracle jfrog pivotal
    hashicorp atlassian alphabet netflix twitter linkedin redhat vmware intel nvidia""".split()
)
_HEADS = (
    r"cluster|clusters|namespace|pods?|job|jobs|project|service|services|server|system|hub"
    r"|deployment|package|crate|library|module|repository|repo|daemon|controller|component"
    r"|bucket|database|table|queue|topic|container|image|chart|cronjob|statefulset|daemonset"
    r"|endpoint|app|application|website|site|domain|record|records|bot|script|pipeline"
)
_CODE_HEAD = re.compile(rf"^\s*({_HEADS})\b", re.IGNORECASE)
_TECH_PARTS = frozenset(
    """dns nfs api eks gke aks k8s kube kubernetes aws gcp gce vpc cni app apps svc db sql
    ingress nginx proxy node pod hub server controller operator agent daemon worker exporter
    manager service cluster log logs logging registry culler cleaner creator module modules
    pipeline chart prod production staging cdn ci bot cron cache redis kafka janitor jupyterhub
    helm docker git prow web www http https ssl tls ldap auth oauth sso iam s3 ec2 rds lb alb
    elb nlb ssh cli sdk grpc rpc etcd mysql postgres mongo backend frontend gateway router
    portal dashboard monitor plugin plugins addon operator mesh queue scheduler spawner""".split()
)
_STOP_PARTS = frozenset(
    """to of on in up the a an by for non re pre self co well so per off out over under at as
    is be all end and or via into de un anti multi sub inter cross semi mid post ex""".split()
)
_STATE_WORDS = re.compile(
    r"(?:NotReady|Ready|Backoff|BackOff|Blocked|Failed|Failure|Error|Errors|Killing|Killed"
    r"|Disabled|Creating|Pending|Unknown|Evicted|Timeout|Exceeded|Exception|Sync|Regexp"
    r"|Request|Critical|Warning|Loop|Pull|IP)$|^(?:Error|Errors|Failed|Bad|No|Is|Get|Set|On)[A-Z]"
)
_PERSON_CAMEL = re.compile(r"^(?:Mc|Mac|De|Di|Da|La|Le|Van|Von|O)[A-Z][a-z]")
_TLDS = (
    r"com|org|net|io|dev|rs|gov|edu|uk|au|app|cloud|co|ai|sh|me|info|tech|de|fr|nl|eu|us|ca"
    r"|jp|in|site|page|im|ly|tv|xyz|so"
)
_HOST = re.compile(
    rf"(?<![\w.@/-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_TLDS}))(?![\w-]|\.\w)"
)
_IGNORED_HOSTS = frozenset(
    """github.com twitter.com x.com slack.com google.com docs.google.com wikipedia.org
    en.wikipedia.org medium.com youtube.com stackoverflow.com hackmd.io gitter.im
    example.com example.org zoom.us discord.com linkedin.com""".split()
)
_CAMEL = re.compile(
    r"(?<![\w.@/-])([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*|[A-Z]{2,})+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z][a-z]+[A-Za-z0-9]*)(?![\w-])"
)
_KEBAB = re.compile(r"(?<![\w./@-])([A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)+)(?![\w@]|[-/.][\w])")
_HASHY = re.compile(r"^(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{5,}$")
_REGION = re.compile(r"^(?:us|eu|ap|sa|ca|me|af|asia|europe|australia|northamerica|southamerica)-")
_NAMEY_CODE = re.compile(r"^[A-Za-z][\w.-]*[A-Za-z0-9]$")


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _plain(name: str) -> str:
    """Lowercase words without punctuation, "the" or plural endings."""
    words = _NOT_ALNUM.sub(" ", name.lower()).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(
        w[:-1] if len(w) >= 4 and w.endswith("s") and not w.endswith("ss") else w for w in words
    )


def _key(name: str) -> str:
    """A comparison key: `_plain`, and a trailing generic word dropped ("the X service")."""
    words = _plain(name).split()
    if len(words) > 1 and words[-1] in _RESTATING and " ".join(words[:-1]) not in _GENERIC:
        words = words[:-1]
    return " ".join(words)


@dataclass
class _Candidate:
    name: str
    line: int
    source: str  # meta | known | vocab | weak | concept | code | ident | linked
    count: int = 0
    in_title: bool = False
    in_opening: bool = False


def _kebab_ok(token: str) -> bool:
    parts = [p.lower() for p in re.split(r"[-_]", token)]
    if len(token) < 5 or any(_HASHY.match(p) and len(p) >= 8 for p in parts):
        return False
    if _REGION.match(token.lower()) or (re.match(r"^v?\d", parts[-1]) and len(parts) == 2):
        return False
    return any(p in _TECH_PARTS or p.removesuffix("s") in _TECH_PARTS for p in parts)


def _camel_ok(token: str) -> bool:
    return not (
        _STATE_WORDS.search(token)
        or _PERSON_CAMEL.match(token)
        or len(token) < 4
        or token.endswith("Ops")
    )


def _host_ok(host: str) -> bool:
    host = host.lower()
    return host not in _IGNORED_HOSTS and not re.match(r"^\d+(\.\d+)+$", host) and "." in host


def _code_name(span: str, after: str) -> str | None:
    """A name from a code span: an identifier, or a plain word followed by a head noun."""
    span = span.strip()
    if not _NAMEY_CODE.match(span) or len(span) > 40 or span.startswith("-"):
        return None
    if _FILE_LIKE.search(span) or re.match(r"^v?\d+(\.\d+)+", span):
        return None
    head = _CODE_HEAD.match(after)
    lowered = span.lower()
    if lowered in _GENERIC or lowered in _COMPANIES:
        if head and lowered in ("prod", "production", "staging", "dev", "tools", "default"):
            return f"{span} {head.group(1)}"
        return None
    if head:
        return f"{span} {head.group(1)}"
    if _identifier_ok(span):
        return span
    return None


_FILE_LIKE = re.compile(
    r"\.(?:py|pyc|go|rs|js|ts|json|ya?ml|toml|md|txt|log|sh|cfg|conf|ini|lock|sqlite\d?"
    r"|db|wal|shm|csv|tar|gz|zip|html|css|java|rb|php|c|h|cpp|tf)\b",
    re.IGNORECASE,
)


def _identifier_ok(token: str) -> bool:
    if _FILE_LIKE.search(token):
        return False
    if _HOST.fullmatch(token):
        return _host_ok(token)
    if _KEBAB.fullmatch(token):
        return _kebab_ok(token)
    if _CAMEL.fullmatch(token):
        return _camel_ok(token)
    return False


def _link_names(label: str, url: str) -> bool:
    """A link whose text names what it points at (`[hook](.../cmd/hook)`)."""
    label = label.strip("` ")
    if not re.fullmatch(r"[A-Za-z][\w.-]*[A-Za-z0-9]", label):
        return False
    if re.search(r"\d{2,}|^v\d", label):
        return False
    last = re.sub(r"[?#].*$", "", url).rstrip("/").rsplit("/", 1)[-1].lower()
    return _identifier_ok(label) or (label.islower() and label.isalpha() and label == last)


_PHRASE_HEADS = frozenset(
    """cluster pod node server database pipeline job daemon agent controller hub registry record
    module chart template image plugin tunnel api website subsystem contract client bucket queue
    table certificate balancer namespace deployment daemonset statefulset replicaset volume disk
    instance repository repo panel script store cache proxy endpoint domain worker token gateway
    router provider app container runner exporter workflow operator scheduler index topic stream
    backend frontend group testnet network""".split()
)
_NOT_MODIFIER = frozenset(
    """the a an this that these those our their its his her my your all any each every some no
    none other another same such both either neither many much more most few several various
    multiple single one two three four five six seven eight nine ten first second third last
    next previous new old existing current remaining affected entire whole additional extra
    specific individual separate different particular certain main primary secondary critical
    important healthy unhealthy broken bad good faulty failing working stuck running available
    unavailable problematic underlying relevant related respective own local remote large small
    big huge little long short high low full empty real actual given known unknown normal
    default usual typical manual automatic internal external public private temporary
    permanent global shared dedicated is are was were be been being has have had do does did
    will would can could should may might must not also only just even still already then there
    here when where which who whom whose what how why if as at by for from in into of on onto to
    with without via per about across after before during over under up down out off than and
    or but nor so because while though although since until unless upon within between among
    through against toward towards we they it he she you i me us them via vs e.g i.e etc
    including using causing having getting making taking being doing going trying
    same whole entire several""".split()
)
_ING_NOUNS = frozenset(
    """monitoring logging routing processing scheduling networking hosting billing streaming
    messaging caching staging testing tracing alerting paging building""".split()
)
_WORD_TOKEN = re.compile(r"[A-Za-z0-9][\w.+/-]*[A-Za-z0-9]|[A-Za-z]")


def _phrases(text: str) -> Iterator[tuple[str, bool]]:
    """`<modifier> <modifier>? <head noun>` compounds, and whether a modifier is a name
    (capitalised inside a sentence, an acronym or an identifier): "Hellman Kubernetes cluster",
    "KIAM agents", "aws-node pods" are; "the proxy pod", which any document could say, is not
    (it only counts as another mention of a name found otherwise)."""
    tokens = list(_WORD_TOKEN.finditer(text))
    for index, token in enumerate(tokens):
        word = token.group(0).lower()
        singular = word[:-1] if word.endswith("s") and not word.endswith("ss") else word
        if singular not in _PHRASE_HEADS or index == 0:
            continue
        modifiers: list[re.Match[str]] = []
        position = index - 1
        while position >= 0 and len(modifiers) < 2:
            previous = tokens[position]
            gap = text[previous.end() : tokens[position + 1].start()]
            candidate = previous.group(0)
            lowered = candidate.lower()
            if gap.strip() or lowered in _NOT_MODIFIER or lowered.endswith(("ed", "ly")):
                break
            if (lowered.endswith("ing") and lowered not in _ING_NOUNS) or len(lowered) < 2:
                break
            if lowered in ("gb", "tb", "mb", "kb", "gib", "tib", "mib", "ms", "s"):
                break
            if re.fullmatch(r"[\d.]+[a-z]*|v\d[\w.]*", lowered):
                break
            modifiers.insert(0, previous)
            position -= 1
        if not modifiers:
            continue
        named = False
        for m in modifiers:
            word_text = m.group(0)
            sentence_start = not text[: m.start()].strip() or re.search(
                r"[.!?:]\s*$", text[: m.start()]
            )
            if (word_text[0].isupper() and not sentence_start) or re.search(
                r"[A-Z].*[A-Z]|[-_.\d]", word_text
            ):
                named = True
        yield text[modifiers[0].start() : token.end()], named


def _candidates(text: str, known: Iterable[str]) -> list[_Candidate]:
    doc = _parse(text)
    people = _people(doc)
    found: dict[str, _Candidate] = {}

    confirming = False  # reading the action items: they confirm names, never add them
    mentioned: list[str] = []  # keys of plain phrases: more mentions of names found otherwise

    def add(name: str, line: int, source: str, *, title: bool = False) -> None:
        name = _SPACES.sub(" ", name).strip(" .,;:-'\"()")
        key, plain = _key(name), _plain(name)
        if not key or plain in _GENERIC or plain in _COMPANIES or key in people:
            return
        if len(key) < 2 or key.isdigit():
            return
        if confirming:
            if key in found:
                found[key].count += 1
            return
        candidate = found.get(key)
        if candidate is None:
            candidate = found[key] = _Candidate(name, line, source)
        elif _RANK[source] < _RANK[candidate.source]:
            candidate.source = source
            if source in ("meta", "known", "vocab", "weak", "concept"):
                candidate.name = name
        candidate.count += 1
        candidate.line = min(candidate.line, line)
        candidate.in_title |= title
        candidate.in_opening |= title or line in doc.opening

    for name, number in _meta_components(doc):
        add(name, number, "meta", title=True)
    vocabulary = _VOCAB[1]
    known_terms = {k.strip().lower(): k.strip() for k in known if k and k.strip()}
    known_re = (
        re.compile(
            r"(?<![\w-])("
            + "|".join(re.escape(k) for k in sorted(known_terms, key=len, reverse=True))
            + r")(?:'s|s)?(?![\w-])",
            re.IGNORECASE,
        )
        if known_terms
        else None
    )
    title_inline = _inline(doc.title, doc.refs) if doc.title else None
    sources: list[tuple[int, str, _Inline, bool]] = []
    confirmations: list[tuple[int, str, _Inline, bool]] = []
    if title_inline is not None and doc.title_line is not None:
        sources.append((doc.title_line, "title", title_inline, True))
    for line in doc.lines:
        if line.section == "title" and line.kind == "heading":
            continue
        if line.kind in ("text", "heading") and line.section not in _SKIPPED_SECTIONS:
            sources.append((line.number, line.section, _inline(line.raw, doc.refs), False))
        elif line.kind == "code" and line.section not in _SKIPPED_SECTIONS:
            sources.append((line.number, "code", _Inline(line.raw, [], [], []), False))
        elif line.kind == "text" and line.section in _CONFIRMING:
            confirmations.append((line.number, line.section, _inline(line.raw, doc.refs), False))
    for number, section, inline, is_title in [
        *sources,
        (0, "", _Inline("", [], [], []), False),
        *confirmations,
    ]:
        if number == 0:
            confirming = True
            continue
        masked = inline.text
        if known_re is not None:
            for match in known_re.finditer(masked):
                add(known_terms[match.group(1).lower()], number, "known", title=is_title)
            masked = known_re.sub(lambda m: " " * len(m.group(0)), masked)
        for match in vocabulary.finditer(masked):
            term = _term(match.group(1))
            if term is None or (term.name in _VENUES and _passing(masked, match)):
                continue
            source = "weak" if term.weak else "concept" if term.concept else "vocab"
            add(term.name, number, source, title=is_title)
        masked = vocabulary.sub(lambda m: " " * len(m.group(0)), masked)
        if section == "code":
            continue
        for span, after in inline.code:
            code_name = _code_name(span, after)
            if code_name and not vocabulary.fullmatch(span):
                add(code_name, number, "code", title=is_title)
        for label in inline.linked:
            label = label.strip("` ")
            if not vocabulary.fullmatch(label):
                add(label, number, "linked", title=is_title)
        for match in _HOST.finditer(masked):
            host = match.group(1).lower().removeprefix("www.")
            if _host_ok(host):
                add(host, number, "ident", title=is_title)
        for phrase, named in _phrases(inline.text):
            if named:
                add(phrase, number, "phrase", title=is_title)
            else:
                mentioned.append(_key(phrase))
        masked = _HOST.sub(lambda m: " " * len(m.group(0)), masked)
        for match in _KEBAB.finditer(masked):
            if _kebab_ok(match.group(1)):
                add(match.group(1), number, "ident", title=is_title)
        masked = _KEBAB.sub(lambda m: " " * len(m.group(0)), masked)
        for match in _CAMEL.finditer(masked):
            if _camel_ok(match.group(1)):
                add(match.group(1), number, "ident", title=is_title)
    for key in mentioned:
        if key in found:
            found[key].count += 1
    return _merge([c for c in sorted(found.values(), key=lambda c: c.line) if _accept(c)])


def find_components(text: str, *, known: Iterable[str] = ()) -> list[Mention]:
    """The systems, services, products and technologies the postmortem names as affected by or
    involved in the failure, each once, in the order they are first found."""
    return [Mention(c.name, c.line) for c in _candidates(text, known)]


def _words(name: str) -> frozenset[str]:
    words = _NOT_ALNUM.sub(" ", name.lower()).split()
    return frozenset(
        w[:-1] if len(w) >= 4 and w.endswith("s") and not w.endswith("ss") else w
        for w in words
        if w != "the"
    )


# Words that add nothing to a component's name ("Helm chart", "S3 buckets", "DNS records").
_RESTATING = frozenset(
    """cluster server chart bucket record service instance system database deployment module
    provider website site configuration config platform network web job""".split()
)


def _merge(candidates: list[_Candidate]) -> list[_Candidate]:
    """A name that only adds restating words to another one ("flutter.dev web site",
    "Gearman job server") is that component, under the name of the better source."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: len(_words(c.name))):
        words = _words(candidate.name)
        for other in kept:
            other_words = _words(other.name)
            if other_words < words and (words - other_words) <= _RESTATING:
                if _RANK[candidate.source] < _RANK[other.source]:
                    other.name, other.source = candidate.name, candidate.source
                other.line = min(other.line, candidate.line)
                break
        else:
            kept.append(candidate)
    return sorted(kept, key=lambda c: c.line)


_VENUES = frozenset(["GitHub", "GitLab", "Bitbucket", "Gerrit"])


def _passing(text: str, match: re.Match[str]) -> bool:
    """A code host named as the place where something was reported or discussed."""
    before = text[: match.start()].split()[-1:]
    after = text[match.end() :].split()[:1]
    if after and after[0].lower().rstrip(".,;:)") in ("issue", "issues", "pr", "prs", "pull"):
        return True
    if not before or before[0].lower().lstrip("(") not in ("on", "via", "in", "to", "at", "from"):
        return False
    return not (after and after[0][:1].isupper())


_RANK = {
    "meta": 0,
    "known": 1,
    "vocab": 2,
    "concept": 3,
    "weak": 4,
    "code": 5,
    "linked": 6,
    "ident": 7,
    "phrase": 8,
}
# Sections whose names are not components of the failure: what was done after it, who took
# part, references. Action items and appendices (chat logs) only confirm names found elsewhere.
_SKIPPED_SECTIONS = frozenset(["actions", "people", "refs", "front", "appendix"])
_CONFIRMING = frozenset(["actions", "appendix"])


def _accept(candidate: _Candidate) -> bool:
    source = candidate.source
    if source in ("meta", "known", "vocab"):
        return True
    if source == "weak":
        return candidate.in_title
    if source == "concept":
        return candidate.in_opening
    if source == "linked":
        return candidate.count >= 2
    return candidate.count >= 2 or candidate.in_opening or source == "code"


def _people(doc: _Doc) -> set[str]:
    """Keys of the names of people the document names (authors, attendees, handles)."""
    names: set[str] = set()
    for key in ("author", "authors", "owner", "owners", "created by"):
        value = doc.front.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                names.update(_key(part) for part in re.split(r"[,;&]| and ", item))
    for line in doc.lines:
        if line.kind not in ("text", "heading"):
            continue
        inline = _inline(line.raw, doc.refs)
        names.update(_key(p) for p in inline.people)
        names.update(_key(h[1:]) for h in _HANDLE.findall(line.raw))
        if line.section == "people" and line.kind == "text":
            names.update(_key(part) for part in re.split(r"[,;]", inline.text))
        meta = re.match(
            r"^\s*(?:authors?|created by|owners?|attendance|attendees)\s*:\s*(.+)",
            _inline_text(line.raw),
            re.IGNORECASE,
        )
        if meta:
            names.update(
                _key(re.sub(r"<.*?>", "", part)) for part in re.split(r"[,;]| and ", meta.group(1))
            )
    names.discard("")
    return names


# --- metadata lines and header tables -------------------------------------------------------

_KEY_VALUE = re.compile(
    r"^\s*(?:[-*+]\s+)?(?P<key>[A-Za-z][A-Za-z /&()'_-]{0,40}?)\s*[:\uff1a]\s*(?P<value>.*)$"
)
_START_KEYS = frozenset(
    """incident date|date of incident|incident start|incident start time|start time|start date
    |started|started at|start|began|occurred|occurred at|occurred on|first detected|detected
    |outage start|impact start|incident began|date of outage|outage date|incident time
    |time of incident|start_time|started_at|occurred_at|incident_date|date/time of incident
    |incident start date|start of incident|outage began|issue start""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
_DATE_KEYS = frozenset(
    ["date", "date/time", "date and time", "date & time", "dates", "day", "time/date", "when"]
)
_SEVERITY_KEYS = frozenset(
    [
        "severity",
        "sev",
        "severity level",
        "incident severity",
        "impact level",
        "incident level",
        "priority",
        "incident priority",
        "sev level",
        "incident sev",
        "incident severity level",
    ]
)
_TEAM_KEYS = frozenset(
    [
        "team",
        "owning team",
        "owner team",
        "responsible team",
        "team owner",
        "teams",
        "team(s)",
        "squad",
        "owning group",
        "responsible group",
        "department",
        "owning_team",
        "responsible",
    ]
)
_OWNER_KEYS = frozenset(["owner", "owners", "owner(s)", "incident owner", "service owner"])
_COMPONENT_KEYS = frozenset(
    """component|components|service|services|services affected|affected services
    |affected service|service affected|affected components|components affected|affected systems
    |systems affected|system|systems|affected system|application|applications
    |application/process|affected applications|product|products|affected products
    |impacted services|impacted systems|impacted components|affected|services impacted
    |systems impacted|affected_services|affected_systems|affected_components""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
_PLACEHOLDER = re.compile(r"^(?:n/?a|none|tbd|tbc|\?+|-+|unknown|todo|—|–|null|\.\.\.)$", re.I)
_TEAMISH = re.compile(
    r"\b(?:team|sre|ops|devops|platform|infra\w*|engineering|group|admins?|maintainers"
    r"|squad|department|committee|council|operations)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Field:
    key: str  # normalised
    value: str  # plain text
    line: int


def _fields(doc: _Doc) -> list[_Field]:
    """Metadata `Key: value` lines (also between <br>s) and header-table rows, in order."""
    fields: list[_Field] = []
    for key, value in doc.front.items():
        if isinstance(value, (str, int, float, date, datetime, list)):
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, (str, int, float, date, datetime)):
                    fields.append(
                        _Field(
                            f"front:{key.replace('-', '_')}", str(item), doc.front_lines.get(key, 1)
                        )
                    )
    header: list[str] | None = None
    for line in doc.lines:
        if line.kind != "text" or line.section in ("actions", "people", "refs"):
            header = None
            continue
        stripped = line.raw.strip()
        if stripped.startswith("|"):
            cells = [_inline_text(c) for c in stripped.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?|", c.strip()) for c in cells):
                continue
            filled = [c for c in cells if c]
            if len(filled) == 2 and _meta_key(filled[0]) is not None:
                fields.append(_Field(_meta_key(filled[0]) or "", filled[1], line.number))
                header = None
                continue
            if header is None:
                keys = [_meta_key(c) for c in cells]
                known = [k for k in keys if k is not None]
                if len(known) >= 2 and not any(
                    re.search(r"event|description|action", c, re.I) for c in cells
                ):
                    header = [k or "" for k in keys]
                else:
                    header = []
                continue
            if header:
                for key, cell in zip(header, cells, strict=False):
                    if key and cell:
                        fields.append(_Field(key, cell, line.number))
                header = []
            continue
        header = None
        raw = _HTML_COMMENT.sub(" ", line.raw)
        for segment in re.split(r"<br\s*/?>", raw, flags=re.IGNORECASE):
            plain = _inline_text(segment)
            match = _KEY_VALUE.match(plain)
            line_key = _meta_key(match.group("key")) if match else None
            if match and line_key is not None:
                fields.append(_Field(line_key, match.group("value").strip(), line.number))
        label_key = _meta_key(line.heading) if line.heading else None
        if label_key is not None and line.raw.strip() and not _BOLD_LABEL.match(line.raw):
            # `- **Date**: ...` was read as a label: its text is the value
            fields.append(_Field(label_key, _inline_text(line.raw), line.number))
    return [f for f in fields if f.value.strip() and not _PLACEHOLDER.match(f.value.strip())]


def _meta_key(text: str) -> str | None:
    key = re.sub(r"[*_`]+", "", text).strip().rstrip(":").strip().lower()
    key = re.sub(r"\s+", " ", key)
    if (
        key in _START_KEYS
        or key in _DATE_KEYS
        or key in _SEVERITY_KEYS
        or key in _TEAM_KEYS
        or key in _OWNER_KEYS
        or key in _COMPONENT_KEYS
        or key in _PUBLICATION_KEYS
    ):
        return key
    return None


_PUBLICATION_KEYS = frozenset(
    """published|publication date|last modified|last updated|modified|updated|created
    |created at|created on|report date|written|date written|posted|date published|review date
    |postmortem date|date of report|report written|retro date|status""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)


def _meta_components(doc: _Doc) -> Iterator[tuple[str, int]]:
    for f in _fields(doc):
        key = f.key.removeprefix("front:")
        if key not in _COMPONENT_KEYS:
            continue
        for part in re.split(r"[;,]|\band\b|\s+/\s+", f.value):
            part = re.sub(r"^(?:the|our)\s+", "", part.strip(), flags=re.IGNORECASE)
            part = re.sub(r"\bwww\.", "", part)
            if part and not _PLACEHOLDER.match(part) and len(part) <= 80:
                yield part, f.line


# --- dates ------------------------------------------------------------------------------------

_MONTH_NAMES = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_DATE = re.compile(
    rf"(?<![\w.-])(?P<y1>{_YEAR})([-/.])(?P<m1>[01]?\d)\2(?P<d1>[0-3]?\d)(?![\d])"
    rf"|(?<![\w.:-])(?P<d2>[0-3]?\d){_ORD}\.?(?:\s*(?:[-–]|and|to)\s*[0-3]?\d{_ORD})?,?\s+"
    rf"(?:of\s+)?(?P<M2>{_MONTH})(?:,?\s+(?P<y2>{_YEAR}))?(?![\w])"
    rf"|(?<![\w])(?P<M3>{_MONTH})\s+(?P<d3>[0-3]?\d){_ORD}(?![\d:])"
    rf"(?:\s*(?:[-–]|and|to)\s*[0-3]?\d{_ORD}(?![\d:]))?(?:,?\s+(?P<y3>{_YEAR})(?!\d))?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\b")


@dataclass(frozen=True)
class _DateHit:
    year: int | None
    month: int
    day: int
    line: int
    weekday: int | None  # a weekday written next to it

    def resolve(self, reference: date | None) -> date | None:
        year = self.year or (reference.year if reference else None)
        if year is None:
            return None
        try:
            found = date(year, self.month, self.day)
        except ValueError:
            return None
        if self.year is None and reference is not None and found > reference + timedelta(200):
            try:
                found = date(year - 1, self.month, self.day)
            except ValueError:
                return None
        return found


def _dates(text: str, line: int) -> list[_DateHit]:
    hits: list[_DateHit] = []
    for match in _DATE.finditer(text):
        groups = match.groupdict()
        year: int | None
        if groups["y1"]:
            year, month, day = int(groups["y1"]), int(groups["m1"]), int(groups["d1"])
        else:
            month_name = groups["M2"] or groups["M3"]
            month = _MONTH_NAMES[month_name[:3].lower()]
            day = int(groups["d2"] or groups["d3"])
            year_text = groups["y2"] or groups["y3"]
            year = int(year_text) if year_text else None
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        before = text[max(0, match.start() - 14) : match.start()]
        weekday = _WEEKDAY.search(before + " " + text[match.start() : match.end()])
        index = None
        if weekday:
            index = next(
                i for i, w in enumerate(_WEEKDAYS) if w.startswith(weekday.group(1).lower()[:3])
            )
        hits.append(_DateHit(year, month, day, line, index))
    return hits


def _first_date(hits: list[_DateHit], reference: date | None) -> tuple[date, int] | None:
    for hit in hits:
        resolved = hit.resolve(reference)
        if resolved is not None:
            return resolved, hit.line
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def find_metadata(text: str) -> Metadata:
    """The incident's start date, severity and owning team, where the document states them."""
    doc = _parse(text)
    fields = _fields(doc)
    incident = _incident_date(doc, fields)
    severity = _severity(doc, fields)
    team = _team(doc, fields)
    return Metadata(
        incident_date=incident[0] if incident else None,
        incident_date_line=incident[1] if incident else None,
        severity=severity[0] if severity else None,
        severity_line=severity[1] if severity else None,
        team=team[0] if team else None,
        team_line=team[1] if team else None,
    )


def _field_dates(f: _Field) -> list[_DateHit]:
    return _dates(f.value, f.line)


def _incident_date(doc: _Doc, fields: list[_Field]) -> tuple[date, int] | None:
    # A reference year for dates written without one: the first full date in the document.
    reference: date | None = None
    all_hits: list[_DateHit] = []
    if doc.title and doc.title_line:
        all_hits.extend(_dates(doc.title, doc.title_line))
    for line in doc.lines:
        if line.kind in ("text", "heading"):
            all_hits.extend(_dates(_inline_text(line.raw), line.number))
    for hit in all_hits:
        if hit.year is not None:
            reference = hit.resolve(None)
            if reference is not None:
                break
    front_dates = {f.key.removeprefix("front:"): f for f in fields if f.key.startswith("front:")}
    # 1. a stated start
    for key in (
        "start_time",
        "started_at",
        "occurred_at",
        "incident_date",
        "start",
        "started",
        "date_of_incident",
        "incident_start",
        "start_date",
    ):
        value = doc.front.get(key)
        found = _as_date(value)
        if found is None and value is not None:
            first = _first_date(_dates(str(value), 1), reference)
            found = first[0] if first else None
        if found is not None:
            return found, doc.front_lines.get(key, 1)
    for f in fields:
        if not f.key.startswith("front:") and f.key in _START_KEYS:
            first = _first_date(_field_dates(f), reference)
            if first:
                return first
    # 2. the title
    if doc.title and doc.title_line:
        first = _first_date(_dates(doc.title, doc.title_line), reference)
        if first:
            return first
    # 3. a "Date" line, the opening text and the timeline
    stated = None
    for f in fields:
        if not f.key.startswith("front:") and f.key in _DATE_KEYS:
            stated = _first_date(_field_dates(f), reference)
            if stated:
                break
    opening: tuple[date, int] | None = None
    opening_weekday: int | None = None
    for line in doc.lines:
        if line.number in doc.opening:
            plain = _inline_text(line.raw)
            if opening is None:
                opening = _first_date(_dates(plain, line.number), reference)
            weekday = re.search(
                r"\b(?:[Oo]n|[Ll]ast|[Tt]his)\s+("
                + "|".join(w.capitalize() for w in _WEEKDAYS)
                + r")\b(?!,?\s*(?:\d|the\s+\d|"
                + _MONTH
                + "))",
                plain,
            )
            if weekday and opening_weekday is None:
                opening_weekday = _WEEKDAYS.index(weekday.group(1).lower())
    timeline = _timeline_date(doc, reference, opening_weekday)
    if stated and timeline:
        return timeline if timeline[0] <= stated[0] else stated
    if opening and timeline:
        if timeline[0] <= opening[0] and (opening[0] - timeline[0]).days <= 60:
            return timeline
        return opening
    for choice in (stated, opening, timeline):
        if choice:
            return choice
    # 4. the front matter's date, unless it is a blog post's publication date
    if not any(k in doc.front for k in ("author", "authors", "layout", "description")):
        front_date = front_dates.get("date")
        if front_date is not None:
            value = doc.front.get("date")
            found = _as_date(value)
            if found:
                return found, front_date.line
            first = _first_date(_field_dates(front_date), reference)
            if first:
                return first
    return None


_ENTRY = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|\||#|\*\*|\[?\d)")


def _timeline_date(
    doc: _Doc, reference: date | None, weekday: int | None
) -> tuple[date, int] | None:
    """The first day of the timeline (a weekday the opening names picks among its days)."""
    days: list[tuple[date, int]] = []
    for line in doc.lines:
        if line.section != "timeline" or line.kind not in ("text", "heading"):
            continue
        if line.kind == "text" and not _ENTRY.match(line.raw):
            continue
        for hit in _dates(_inline_text(line.raw), line.number):
            resolved = hit.resolve(reference)
            if resolved is not None:
                days.append((resolved, line.number))
    if not days:
        return None
    if weekday is not None:
        for day in days:
            if day[0].weekday() == weekday:
                return day
    return days[0]


# --- severity and team ------------------------------------------------------------------------

_SEVERITY_VALUE = re.compile(
    r"^(?:sev(?:erity)?\s*[-:]?\s*\d|p\s*[0-5]\b|s\s*[0-5]\b|[0-5]\b|critical|high|medium|"
    r"moderate|low|minor|major|severe|emergency|urgent|info|level\s*\d)",
    re.IGNORECASE,
)
_SEVERITY_PROSE = re.compile(r"\b(SEV[- ]?[0-5]|Sev[- ]?[0-5]|P[0-4](?=\s+(?:incident|outage)))\b")


def _severity(doc: _Doc, fields: list[_Field]) -> tuple[str, int] | None:
    for f in fields:
        key = f.key.removeprefix("front:").replace("_", " ")
        if key in _SEVERITY_KEYS:
            value = re.split(r"\s+[-–(]\s*|[.;]|\s{2,}", f.value.strip())[0].strip()
            if _SEVERITY_VALUE.match(value) and len(value) <= 30:
                return value, f.line
    for line in doc.prose(skip=("actions", "refs", "people", "lessons")):
        match = _SEVERITY_PROSE.search(_inline_text(line.raw))
        if match:
            return match.group(1), line.number
    return None


_TEAM_PROSE = re.compile(
    r"(?:(?<=\s)|^)(?P<pre>\w+\s+)?(?P<name>(?:[A-Z0-9][\w.&-]*|&)(?:\s+(?:[A-Z0-9][\w.&-]*|&|of))*)"
    r"\s+(?P<kind>[Tt]eam|[Mm]aintainers|Admins|[Ee]ngineers|SREs)\b"
)
_NOT_OWNER = frozenset(
    "by from with to notified other another each every one any individual affected "
    "several many some multiple both".split()
)


def _team(doc: _Doc, fields: list[_Field]) -> tuple[str, int] | None:
    for f in fields:
        key = f.key.removeprefix("front:").replace("_", " ")
        value = _inline_text(f.value).strip()
        if not value or value.startswith("@") or "@" in value or len(value) > 60:
            continue
        if key in _TEAM_KEYS or (key in _OWNER_KEYS and _TEAMISH.search(value)):
            return value, f.line
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for line in doc.prose(skip=("refs", "people")):
        plain = _inline(line.raw, doc.refs).text
        for match in _TEAM_PROSE.finditer(plain):
            pre = (match.group("pre") or "").strip().lower()
            if pre in _NOT_OWNER:
                continue
            words = match.group("name").split()
            while words and words[0].lower() in ("the", "our", "this", "that", "a", "an", "we"):
                words = words[1:]
            if not words or words[0].lower() in _NOT_OWNER | {"of", "&", "all"}:
                continue
            name = " ".join(words)
            if name.isdigit() or name.lower() in _GENERIC:
                continue
            kind = match.group("kind")
            full = f"{name} {kind}" if kind.lower() != "engineers" else name
            key = _key(name)
            counts.setdefault(key, []).append(line.number)
            names.setdefault(key, full)
    if not counts:
        return None
    best = max(counts, key=lambda k: (len(counts[k]), -counts[k][0]))
    return names[best], counts[best][0]


# Built once, on import.

VOCABULARY = """\
# container platforms and Kubernetes
Kubernetes: k8s
EKS: Amazon EKS, AWS EKS, Elastic Kubernetes Service
GKE: Google Kubernetes Engine
AKS: Azure Kubernetes Service
OpenShift: Red Hat OpenShift
Rancher
=Nomad
Mesos: Apache Mesos
Docker: docker engine, dockerd
Docker Hub: dockerhub, hub.docker.com
Docker Compose: docker-compose
containerd
CRI-O: crio
runc
Podman
=Helm: helm chart, helm charts
Kustomize
=Flux: fluxcd, flux cd
Argo CD: argocd, argo-cd
Argo Workflows
Istio
Linkerd
=Envoy: envoy proxy
=Consul: HashiCorp Consul
=Vault: HashiCorp Vault
etcd
CoreDNS: core-dns
kube-dns: kubedns
kube-proxy: kubeproxy
kubelet
kube-apiserver: apiserver, api-server, kubernetes api server, kubernetes api, k8s api
kube-scheduler
kube-controller-manager: controller-manager
~kubectl
~kubeadm
kops
Calico
Cilium
=Flannel
Weave Net
VPC CNI: amazon-vpc-cni, aws-vpc-cni, vpc-cni, aws vpc cni, amazon vpc cni
=CNI
KIAM
kube2iam
IRSA
cert-manager: certmanager
external-dns: externaldns
cluster-autoscaler: cluster autoscaler, kubernetes autoscaler
Karpenter
metrics-server
ingress-nginx: nginx-ingress, nginx ingress, nginx ingress controller
ingress-nginx: nginx-ingress-controller, ingress nginx controller
Traefik
HAProxy
nginx
Apache HTTP Server: apache httpd, httpd
Caddy
Varnish
=Squid
Knative
Kubeflow
JupyterHub: jupyter hub, jupyterhub
BinderHub
KubeSpawner: kubespawner
repo2docker
Jupyter: jupyter notebook, jupyterlab
=Dask
=Ray
Gatekeeper: OPA Gatekeeper
Open Policy Agent: OPA
Kyverno
Velero
=Longhorn
=Rook
Ceph
GlusterFS
NFS
Portworx
Prow
Tekton
Spinnaker
Jenkins
Jenkins X
GitHub Actions: github action, github workflows
GitLab CI: gitlab-ci, gitlab ci/cd
CircleCI: circle ci
Travis CI: travis-ci, travisci
Buildkite
TeamCity
=Bamboo
Drone CI
=Concourse
Bazel
Gerrit
SonarQube
=Testgrid: =TestGrid
Dependabot
=Renovate
# source hosting and registries
GitHub: github.com
GitHub Enterprise
GitHub API: GitHub REST API, GitHub GraphQL API
GitHub Apps: GitHub App
GitLab: gitlab.com
Bitbucket
Gitea
Artifactory: JFrog Artifactory
=Nexus: Sonatype Nexus
=Harbor
Quay: quay.io
GCR: Google Container Registry, gcr.io
Artifact Registry: Google Artifact Registry
ECR: Amazon ECR, AWS ECR, Elastic Container Registry
ACR: Azure Container Registry
npm: npmjs, npm registry, npmjs.com
PyPI: pypi.org, Python Package Index
crates.io
RubyGems: rubygems.org
Maven Central
NuGet
Packagist
Homebrew
# AWS
EC2: Amazon EC2, AWS EC2, Elastic Compute Cloud
S3: Amazon S3, AWS S3, S3 bucket, S3 buckets
AWS ALB: ALB, Application Load Balancer, Amazon ALB
AWS ELB: ELB, Elastic Load Balancer, Elastic Load Balancing, Classic Load Balancer
AWS NLB: NLB, Network Load Balancer
RDS: Amazon RDS, AWS RDS
=Aurora: Amazon Aurora
DynamoDB: Amazon DynamoDB, AWS DynamoDB
=Lambda: AWS Lambda, Amazon Lambda
CloudFront: Amazon CloudFront, AWS CloudFront
Route 53: Route53, Amazon Route 53, AWS Route 53
CloudWatch: Amazon CloudWatch, AWS CloudWatch, CloudWatch Logs, CWL
CloudTrail: AWS CloudTrail
CloudFormation: AWS CloudFormation
AWS IAM: IAM, Identity and Access Management
AWS KMS: KMS, Key Management Service
SQS: Amazon SQS, AWS SQS, Simple Queue Service
SNS: Amazon SNS, AWS SNS, Simple Notification Service
Kinesis: Amazon Kinesis, AWS Kinesis
ECS: Amazon ECS, AWS ECS, Elastic Container Service
Fargate: AWS Fargate
EBS: Amazon EBS, AWS EBS, Elastic Block Store, EBS volume, EBS volumes
EFS: Amazon EFS, AWS EFS, Elastic File System
AWS VPC: VPC, Amazon VPC
AWS Autoscaling group: Auto Scaling group, Auto Scaling groups, autoscaling group
AWS Autoscaling group: autoscaling groups, ASG, ASGs, AWS Auto Scaling, EC2 Auto Scaling
ElastiCache: Amazon ElastiCache, AWS ElastiCache
Amazon OpenSearch Service: AWS OpenSearch, Amazon Elasticsearch Service, AWS Elasticsearch
Redshift: Amazon Redshift
CodeCommit: AWS CodeCommit
CodeBuild: AWS CodeBuild
CodePipeline: AWS CodePipeline
CodeDeploy: AWS CodeDeploy
AWS Secrets Manager: Secrets Manager
AWS Systems Manager: SSM, Systems Manager, Parameter Store
AWS STS: STS, Security Token Service
API Gateway: Amazon API Gateway, AWS API Gateway
Step Functions: AWS Step Functions
EventBridge: Amazon EventBridge
AWS Direct Connect: Direct Connect
AWS Certificate Manager: ACM
AWS Transit Gateway: Transit Gateway
AWS Organizations
AWS PowerShell: AWS Tools for PowerShell, AWS PowerShell cmdlets
AWS CLI: aws-cli, awscli
AMI: Amazon Machine Image, EKS AMI, EKS-node AMI
Glacier: Amazon Glacier, S3 Glacier
SES: Amazon SES, Simple Email Service
# Google Cloud
GCE: Google Compute Engine, Compute Engine
GCS: Google Cloud Storage, Cloud Storage
Cloud SQL: Google Cloud SQL
BigQuery: Google BigQuery
Pub/Sub: Cloud Pub/Sub, Google Pub/Sub, PubSub
Cloud DNS: Google Cloud DNS
Google Cloud Load Balancer: Cloud Load Balancing, GCLB, GCP load balancer, GKE load balancer
Cloud Run: Google Cloud Run
Cloud Functions: Google Cloud Functions
Cloud Spanner: Spanner
Bigtable: Cloud Bigtable
Stackdriver: Stackdriver Logging, Stackdriver Monitoring
Cloud Monitoring: Google Cloud Monitoring
Cloud Logging: Google Cloud Logging
Memorystore
Persistent Disk: GCP persistent disk, GCP persistent disks, persistent disks
Cloud Build: Google Cloud Build
Cloud Armor
Firebase
App Engine: Google App Engine
Google Workspace: G Suite, Google Apps
Google Groups
Gmail
# Azure
Azure DevOps
Azure Cosmos DB: Cosmos DB, CosmosDB
Azure Blob Storage: Blob Storage
Azure Active Directory: Azure AD, Entra ID, Microsoft Entra ID
Azure Functions
Azure Front Door: Front Door
Azure SQL Database: Azure SQL
Azure Storage
Azure Service Bus
Azure Key Vault: Key Vault
# other clouds, CDNs, DNS providers
Cloudflare
Fastly
Akamai
Netlify
Vercel
Heroku
DigitalOcean
Linode
Hetzner
OVH: OVHcloud
Let's Encrypt: LetsEncrypt
Pivotal Cloud Foundry: PCF, Cloud Foundry, Pivotal CF
=Diego
OpenStack
VMware vSphere: vSphere, VMware ESXi, ESXi
Proxmox
NameSilo
GoDaddy
Namecheap
=Dyn: Dyn DNS
NS1
UltraDNS
Akamai Edge DNS
# databases, caches, queues, search
PostgreSQL: Postgres, psql
MySQL
MariaDB
Oracle Database: Oracle database, Oracle databases, Oracle DB
SQL Server: Microsoft SQL Server, MSSQL
MongoDB: Mongo
Cassandra: Apache Cassandra
ScyllaDB: Scylla
Redis: Redis Cluster, Redis Sentinel
Memcached: memcache
Elasticsearch: Elastic Search, ES cluster
OpenSearch
Solr: Apache Solr
CockroachDB
TiDB
ClickHouse
InfluxDB
TimescaleDB
SQLite
Neo4j
Couchbase
CouchDB
Riak
HBase
ZooKeeper: Apache ZooKeeper
Kafka: Apache Kafka
RabbitMQ: Rabbit MQ
ActiveMQ
=NATS
Pulsar: Apache Pulsar
=Celery
Sidekiq
Resque
Gearman: Gearman job server
Beanstalkd
Hadoop
HDFS
=Spark: Apache Spark
Flink: Apache Flink
Airflow: Apache Airflow
Presto
Trino
=Snowflake
Vitess
ProxySQL
PgBouncer
Patroni
Galera
# observability and alerting
Prometheus
Alertmanager
Grafana
Kibana
Logstash
Fluentd
Fluent Bit: fluent-bit, fluentbit
Filebeat
=Beats
Loki: Grafana Loki
Jaeger
Zipkin
Datadog
New Relic: NewRelic
Splunk
=Sentry
=Honeycomb
Thanos
=Cortex
VictoriaMetrics
OpenTelemetry
=Graphite
StatsD
collectd
Telegraf
Nagios
Zabbix
Icinga
Pingdom
UptimeRobot
~Statuspage: status page, StatusPage
~PagerDuty
~Opsgenie: OpsGenie
~VictorOps
Kube-state-metrics: kube-state-metrics
node_exporter: node-exporter
Blackbox exporter: blackbox_exporter
# security and identity
Okta
Auth0
LDAP
Active Directory
Keycloak
OAuth
SAML
TLS: SSL, TLS certificate, TLS certificates, SSL certificate, SSL certificates, HTTPS certificate
OpenSSL
Log4j: log4j2, Log4Shell
WebAuthn
TOTP
2FA: two-factor authentication, 2-factor authentication, MFA, multi-factor authentication
=SPF
DKIM
DMARC
DNSSEC
=Trusted Publishers
~Hacker One: HackerOne
GPG
=SSH
# networking
=DNS
=BGP
=CDN: Content Delivery Network
MX records: MX record
iptables
IPVS
WireGuard
OpenVPN
Tailscale
F5 BIG-IP: BIG-IP, F5 load balancer
# languages, runtimes, libraries, OSes
Node.js: NodeJS
JVM
Ruby on Rails
=Django
=Flask
Spring Boot
=Tornado
Linux kernel
systemd
Ubuntu
Debian
CentOS
RHEL: Red Hat Enterprise Linux
Amazon Linux
Bottlerocket
Windows Server
glibc
serde_derive
=Cargo
rustup
docs.rs
# infrastructure as code and config
Terraform: terraform
Terragrunt
Pulumi
Ansible
=Puppet
=Chef
SaltStack: Salt Stack
CloudInit: cloud-init
=Packer
# blockchain clients
Geth: go-ethereum
Nethermind
Besu: Hyperledger Besu
Erigon
=Reth
=Lighthouse
Prysm
Teku
=Nimbus
Lodestar
Grandine
# collaboration and tooling (named only in the title or a metadata line)
~Slack
~Discord
~=Zoom
~Google Meet
~Microsoft Teams: MS Teams
~Jira
~Confluence
~Freshdesk
~Zendesk
~Gitter
~Twitter
~Google Docs
~HackMD
~Trello
~=Notion
"""

_VOCAB = _vocabulary()
