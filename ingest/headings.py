"""Stage 2 of reading a Markdown postmortem: what each section holds, from its heading.

A heading is matched by meaning in two steps: an exact alias from real templates (the fast
path), then the words it contains, tried in an order that settles mixed headings ("Root cause
remediations" holds actions, "Root cause of the outage" causes). A heading that means nothing
to us inherits its parent's field only where that is how templates nest ("### Process" under
"Action items", "### 22:00" under "Timeline"); one that names something we keep out
("Attendees", "Chat log", "Appendix") holds nothing, whatever its parent.

(Nearest-prototype matching with the embedding model was tried as a third step and dropped:
on the gold set's headings it placed none that the words missed, and misplaced short ones,
e.g. "Time to repair" nearest to "What went wrong"; docs/benchmarks.md.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# What a section can hold. Text fields become a failure's summary, impact, detection and
# resolution; the others hold items.
TEXT_FIELDS = ("summary", "impact", "detection", "resolution")
CAUSE_FIELDS = ("root", "trigger", "contributing")
ITEM_FIELDS = (
    *CAUSE_FIELDS,
    "went_wrong",
    "experiments",
    "lessons",
    "went_well",
    "lucky",
    "practices",
    "actions",
    "timeline",
)
IGNORED = "ignored"  # attendees, stats, chat logs, appendices: nothing to read

ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["summary", "overview", "description", "incident summary", "what happened", "abstract"],
        "summary",
    ),
    **dict.fromkeys(
        ["impact", "how users were affected", "what was impacted", "customer impact"], "impact"
    ),
    **dict.fromkeys(["detection", "how was it detected", "identified"], "detection"),
    **dict.fromkeys(
        ["resolution", "mitigation", "recovery", "remediation", "fix", "how it was resolved"],
        "resolution",
    ),
    **dict.fromkeys(
        ["root cause", "root causes", "cause", "causes", "what caused the original problem"],
        "root",
    ),
    **dict.fromkeys(["trigger", "triggers"], "trigger"),
    **dict.fromkeys(
        [
            "contributing factors",
            "contributing factor",
            "why wasn't this caught before it reached prod",
        ],
        "contributing",
    ),
    "were we alerted quickly": "detection",
    "were we able to diagnose and fix the immediate issue quickly": "resolution",
    **dict.fromkeys(["experiments", "hypotheses", "investigation"], "experiments"),
    **dict.fromkeys(["lessons learned", "lessons learnt", "lessons", "takeaways"], "lessons"),
    **dict.fromkeys(["what went well", "what worked"], "went_well"),
    **dict.fromkeys(
        ["what went wrong", "what went poorly", "what didn't go so well", "what didn't work"],
        "went_wrong",
    ),
    "where we got lucky": "lucky",
    **dict.fromkeys(["practices", "adopted practices"], "practices"),
    **dict.fromkeys(
        ["action items", "actions", "follow-ups", "follow ups", "corrective actions"], "actions"
    ),
    **dict.fromkeys(["timeline", "timeline of events", "key events"], "timeline"),
}

# Words that say what a heading holds, tried in this order (the first that matches wins).
KEYWORDS: tuple[tuple[str, str], ...] = (
    (
        r"\b(attendees|participants|stats|statistics|thanks|acknowledg\w*|appendix|chat log"
        r"|glossary|references|related (capecs?|links|issues)|comments and questions|authors?"
        r"|sign.?off|reviewers?|metadata|time to (repair|resolve|recover|detect\w*|mitigat\w*)"
        r"|indicators of compromise|more resources)\b",
        IGNORED,
    ),
    (r"\btime.?line\b|\bchronolog\w*\b|\bsequence of events\b|\bkey events\b", "timeline"),
    (r"\blucky\b", "lucky"),
    (r"\b(went|go(es)?|going) (well|right)\b|\bwhat worked\b|\bpositives?\b", "went_well"),
    (
        r"\b(went|go|going) (wrong|poorly|badly)\b|\b(didn'?t|did not) (go|work)\b"
        r"|\bcould have gone better\b|\bchallenges\b|\bproblems we (hit|had)\b",
        "went_wrong",
    ),
    (
        r"\b(practices?|polic(y|ies)|going forward|from now on|doing differently"
        r"|standards?)\b",
        "practices",
    ),
    (
        r"\bactions?\b|\bfollow.?ups?\b|\bnext steps?\b|\bto.?dos?\b|\bcorrective\b"
        r"|\bprevent(ative|ive|ion)?\b|\bremediations\b|\bimprovements?\b|\brecommendations?\b"
        r"|\bwhat we('re| are| will| could| should) do\w*\b|\bfuture\b|\bmitigations\b",
        "actions",
    ),
    (
        r"\bwhy (was|wasn'?t|did|didn'?t)\b.*\b(caught|detect\w*|notice\w*|prevent\w*)\b"
        r"|\bcontribut\w*\b|\bfactors?\b",
        "contributing",
    ),
    (r"\btrigger\w*\b", "trigger"),
    (
        r"\broot.?causes?\b|\bwhat caused\b|\bcauses?\b|\bwhy (it|this|the \w+) happened\b"
        r"|\bhow (did )?(this|it) happen\w*\b|\bfaults?\b",
        "root",
    ),
    (r"\blesson\w*\b|\blearn\w*\b|\btake.?aways?\b|\breflections?\b|\binsights?\b", "lessons"),
    (
        r"\bhypothes\w*\b|\bexperiments?\b|\binvestigat\w*\b|\bdiagnos\w*\b|\btroubleshoot\w*\b"
        r"|\bdebugg\w*\b|\bidentifying the issue\b",
        "experiments",
    ),
    (r"\bimpact\w*\b|\baffected\b|\bcustomer experience\b|\bconsequences?\b", "impact"),
    (r"\bdetect\w*\b|\balert\w*\b|\bhow we (found|noticed)\b|\bdiscover\w*\b", "detection"),
    (
        r"\bresol\w*\b|\bmitigat\w*\b|\brecover\w*\b|\bfix\w*\b|\bresponse\b|\brestor\w*\b"
        r"|\brollback\b|\brolled back\b|\brespon(d|ded|se)\b",
        "resolution",
    ),
    (
        r"\bsummary\b|\boverview\b|\bwhat happened\b|\bdescription\b|\bintroduction\b"
        r"|\bbackground\b|\bcontext\b|\bincident (report|details)\b",
        "summary",
    ),
)
_KEYWORDS = tuple((re.compile(pattern), field) for pattern, field in KEYWORDS)

# A heading that is a time or a date ("### 22:00", "### 2023-08-25", "### July 11, 2025, 12:42
# PM", "### ~13:30-13:45") belongs to the timeline around it.
_TIME_HEADING = re.compile(
    r"^~?\s*(\d{1,2}[:.]\d\d|\d{4}-\d\d-\d\d|(mon|tue|wed|thu|fri|sat|sun)\w*\b"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\.? \d{1,2}\b|\d{1,2}(st|nd|rd|th)? "
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))",
    re.IGNORECASE,
)


def normalise_heading(text: str) -> str:
    """`"3. Root Causes:"` -> `"root causes"` (text already free of Markdown markup)."""
    text = text.lower().replace("’", "'").replace("*", "")
    text = re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", text)
    text = re.sub(r"\s*\(.*?\)\s*", " ", text)  # "Timeline (times in BST)"
    return re.sub(r"[\s:?.!]+$", "", text).strip()


def own_field(heading: str) -> str | None:
    """The field a heading names by alias or by its words, or None."""
    normal = normalise_heading(heading)
    if normal in ALIASES:
        return ALIASES[normal]
    for pattern, field in _KEYWORDS:
        if pattern.search(normal):
            return field
    return None


def is_time_heading(heading: str) -> bool:
    """A heading that is a time or date, as in a timeline written one heading per event."""
    return bool(_TIME_HEADING.match(heading.strip()))


def place(headings: Sequence[tuple[str, int | None]]) -> list[str | None]:
    """The field of each (heading, index of its parent heading in `headings`), parents listed
    before their children; None: the section holds nothing we know how to read (its prose
    is still read sentence by sentence)."""
    result: list[str | None] = []
    for heading, parent in headings:
        above = result[parent] if parent is not None else None
        if above == "timeline" and is_time_heading(heading):
            field: str | None = "timeline"  # "### 23:00 UTC: root cause found" is an event
        else:
            field = own_field(heading)
        if field is None and above is not None and above != IGNORED:
            field = _inherited(heading, above)
        result.append(field)
    return result


def _inherited(heading: str, parent: str) -> str | None:
    """Whether an unplaced sub-heading reads as part of its parent: a time under a timeline,
    a topic under a list-like section (actions, lessons, practices, causes, experiments)."""
    if is_time_heading(heading):
        return "timeline" if parent in ("timeline", "experiments", *TEXT_FIELDS) else parent
    if parent in ITEM_FIELDS:
        return parent
    return None
