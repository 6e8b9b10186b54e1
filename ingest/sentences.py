"""Stage 3 of reading a postmortem: sentences, judged one at a time.

Pure functions over text: split prose into sentences; tell template instructions and empty
answers from content; recognise by cue phrases what a sentence states (a cause, the trigger,
a hypothesis that was tested and how it came out, a lesson, a lasting rule, an action, what
went well); and name a cause or a practice concisely (the cause, not the first 120
characters of the sentence).
"""

from __future__ import annotations

import functools
import re

# --- sentences -----------------------------------------------------------------------------

_ABBREVIATIONS = re.compile(
    r"\b(e\.g|i\.e|etc|vs|approx|incl|no|nr|fig|cf|mr|ms|dr|inc|ltd|jan|feb|mar|apr|jun|jul|aug"
    r"|sep|sept|oct|nov|dec|a\.m|p\.m|u\.s)\.$",
    re.IGNORECASE,
)
_MONTH = re.compile(r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9@`])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph: split after . ! ? followed by a capital or digit, except
    after abbreviations, initials and version numbers."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()].rstrip()
        last_word = head.rsplit(None, 1)[-1] if head.split() else ""
        if _ABBREVIATIONS.search(last_word) or re.fullmatch(r"[A-Z]\.", last_word):
            continue
        if re.fullmatch(r"\d{1,2}\.", last_word) and _MONTH.match(text, match.end()):
            continue  # "On Monday 3. February 2020": a date, not the end of a sentence
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


# --- what is not content -------------------------------------------------------------------

_INSTRUCTION = re.compile(
    r"^(please |briefly |optionally )?(describe|list|explain|include|add|enter|provide|"
    r"summari[sz]e|write|note|document|link to|fill in|insert|replace|outline|detail|record|"
    r"state|identify|specify|mention|use this)\b.{0,200}\b(here|in this section|below|above)"
    r"\W*$|^(please )?(describe|explain|summari[sz]e|list|outline|fill in) (the|what|how|why|"
    r"any|all|each|who|when|where)\b"
    r"|\b(ideally|typically|usually) (these|this|they|you) (should|would|will)\b"
    r"|\bthis section\b|\b(tbd|tbc|todo|n/?a|lorem ipsum)\b\.?$|^\W*(tbd|tbc|n/?a|none|-+)\W*$"
    r"|^e\.g\.|\byyyy-mm-dd\b|\bhh:mm\b|<[a-z ]+>|\[(insert|add|your|name|link)[^\]]*\]"
    r"|\{\{.*\}\}|^(who|what|when|where|why|how)\b[^.]*\?$"
    r"|^(action items?|actions?|lessons?( learned)?|items?|this (document|report))"
    r" (should|must|fall|are|can|is meant)\b|^p[0-4]\s*[-–:]\s|^types?:",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=8192)
def is_instruction(text: str) -> bool:
    """Template instructions and placeholders, not what happened ("Describe the impact
    here", "Ideally these should result in concrete action items", "TBD", "<owner>")."""
    return bool(_INSTRUCTION.search(text.strip()))


# A word: two or more letters or digits, or one character of a script written without spaces
# (Chinese, Japanese, Korean), where a character is about a word.
_UNSPACED = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_WORDS = re.compile(rf"[{_UNSPACED}]|[^\W_{_UNSPACED}]{{2,}}")


_STOP_WORDS = frozenset(
    "a an and are as at be been by for from has have in into is it its of on or our that the "
    "their this to was we were will with not no all any more".split()
)


def content_words(text: str) -> set[str]:
    """The lower-cased words of `text` that carry meaning (stop words left out)."""
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOP_WORDS}


def has_content(text: str, *, words: int = 3) -> bool:
    """At least `words` words of two letters or more ("No." or "Yes, quickly" is not an item)."""
    return len(_WORDS.findall(text)) >= words and not is_instruction(text)


# --- what a sentence states ----------------------------------------------------------------

CUES: tuple[tuple[str, str], ...] = (
    # A hypothesis tested during the investigation.
    (
        r"\b(we |i |the team )?(initially |first |originally )?(suspect(ed|ing|s)?|thought|"
        r"assum(ed|ing)|believed|hypothesi[sz]ed|guessed)\b|\bruled out\b|\bturned out\b"
        r"|\b(working |our |the )(first |initial )?(theory|hypothesis|suspicion|assumption)\b"
        r"|\bwas not the (cause|culprit|problem|issue)\b|\bto (test|check|see|verify|confirm) "
        r"(whether|if)\b|\b(does|did) ?n[o']t (help|fix|solve|resolve|work|change anything)\b"
        r"|\b(does|did) not (help|fix|solve|resolve|work)\b|\bno (effect|difference)\b"
        r"|\bwhich (solved|fixed|resolved)\b|\b(in an? )?attempt(ed|s)? to\b|\bhop(es|ed|ing) "
        r"(that|it)\b|\b(might|may|could) (be|have been) (related|caused|due|the)\b"
        r"|\b(a|one|another) candidate\b|\bnothing (was )?(wrong|obvious|suspicious)\b"
        r"|\bno (indicators?|evidence|signs?|problems?|issues?) (of|in|were|was|found)\b"
        r"|\b(error|issue|problem) persist(s|ed)\b|\bconfirm(ed|ing|s)? (that|the|by)\b"
        r"|\bverified (that|in|it|not|to)\b|\breproduc(ed|tion|ing)\b|\bwas indeed\b"
        r"|\bseems? to have (improved|fixed|helped|resolved)\b",
        "experiment",
    ),
    # The trigger: what set it off.
    (
        r"\b(was|were) triggered by\b|\btriggered (when|by|the)\b|\bthe trigger (was|is|for)\b"
        r"|\b(incident|outage|issue|problem|failure) (started|began) (when|after)\b"
        r"|\b(accidental(ly)?|unintentional(ly)?|inadvertent(ly)?|by mistake|mistakenly)\b"
        r"|\b(planned|scheduled|routine|daily|nightly|regular|automated) ([\w-]+ ){0,3}(upgrade|"
        r"update|deploy\w*|roll.?over|rollout|maintenance|pipeline|release|migration|change)\b",
        "trigger",
    ),
    # The root cause, stated in prose.
    (
        r"\b(the )?(root|underlying|primary|main|direct|ultimate) cause\b|\b\w+,? (caused|led to|"
        r"resulted in|broke|took down) (the|a|an|all|our|some|many|it|them)\b|\b(was|were|is|are) "
        r"(caused|due) (by|to)\b|\bcaused by\b|\bthe cause (of|for|was|is)\b|\bthe reason "
        r"(for|was|is)\b|\bthis (happened|occurred) because\b|\bresulted from\b"
        r"|\bthe (problem|issue|bug) (was|is) (that|a|an|in)\b|\bbecause\b(?! of this)"
        r"|\bdue to\b|\bas a result of\b",
        "root",
    ),
    # A contributing factor.
    (
        r"\bcontribut\w+\b|\bmade (it|this|the \w+) worse\b|\bexacerbat\w+\b|\bcompounded\b"
        r"|\b(was|were) (not|never) (caught|detected|noticed|alerted)\b|\b(lack|absence) of\b"
        r"|\bwithout (any )?(alert|monitoring|test|review|canary)\w*\b|\bno (alert|monitoring|"
        r"test|canary|review)\w*\b",
        "contributing",
    ),
    # A lasting rule: what is true from now on.
    (
        r"\b(from now on|going forward|in (the )?future|henceforth|from this point)\b|\bwe (will|"
        r"now|shall) (always|never|require|enforce|mandate)\b|\b(always|never) (be |have |use |"
        r"run |deploy|test|review|pin|alert)\b|\b(every|all|each|any) [\w\-/ ]{1,40} (must|should|"
        r"will|need to|has to|have to)\b|\b(new|a|our) (policy|rule|guideline|requirement)\b"
        r"|\bas (a )?standard\b|\bstandard (practice|procedure)\b"
        r"|\bmust (always|never)\b",
        "practice",
    ),
    # A follow-up action.
    (
        r"\bwe (will|'ll|are going to|plan to|intend to|need to|should|must|have to|are "
        r"working on|are adding|are implementing)\b|\baction items?\b|\bfollow.?up\b"
        r"|\b(tracked|filed) (in|as)\b|\bwe('ve| have) (opened|filed|created)\b",
        "action",
    ),
    # What the team learned.
    (
        r"(^|[,;:]\s*)(what )?we (have |now )?(learn(ed|t)|realised|realized|discovered|know)\b"
        r"|\blessons?\b"
        r"|\btakeaway\b|\b(it|this) (showed|shows|taught|teaches|reminded)\b"
        r"|\bin hindsight\b",
        "lesson",
    ),
    # What went well.
    (
        r"\bwent (well|smoothly)\b|\bworked (well|as (intended|expected|designed))\b|\b(quickly|"
        r"promptly|rapidly) (detected|identified|mitigated|resolved|restored|rolled back)\b"
        r"|\bluckily\b|\bfortunately\b",
        "went_well",
    ),
)
_CUES = tuple((re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in CUES)


# A check that things work again ("confirmed that everything is working as expected") tests
# no hypothesis about the failure.
_RECOVERED = re.compile(
    r"\b(working|works|running) (as expected|as normal|normally|smoothly|fine|again)\b"
    r"|\b(back to normal|up and running|fully (operational|functional|restored))\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=8192)
def cue_kind(sentence: str) -> str | None:
    """What a sentence states by its cue phrases: `experiment`, `trigger`, `root`,
    `contributing`, `practice`, `action`, `lesson` or `went_well`; None without a cue."""
    for pattern, kind in _CUES:
        if pattern.search(sentence) and not (kind == "experiment" and _RECOVERED.search(sentence)):
            return kind
    return None


_REFUTED = re.compile(
    r"\bruled out\b|\bwas(n't| not) (the|a|an|it|related|responsible|caused|to be)\b|\bwere(n't"
    r"| not)\b|\b(does|did) ?n[o']t (help|fix|solve|resolve|change|make|work)\b|\b(does|did) "
    r"not (help|fix|solve|resolve|work)\b|\bno (effect|difference|improvement|indicators?|"
    r"evidence|signs?|problems?)\b|\bturned out (not|to be (something|unrelated|another|a "
    r"different))\b|\bnot the (cause|culprit|problem|issue|case)\b|\bred herring\b"
    r"|\bdisproved?\b|\bpersist(s|ed)?\b|\binsufficient\b|\bunrelated\b|\bnothing "
    r"(was )?(wrong|obvious)\b|\bworking (fine|properly|correctly)\b|\bwas not\b"
    r"|\b(suspect\w*|thought|assum\w*|believed|expected)\b.*\b(but|however)\b",
    re.IGNORECASE,
)
_CONFIRMED = re.compile(
    r"\bconfirm(ed|s|ing)?\b|\bturned out to be\b|\bwas indeed\b|\bwhich (solved|fixed|"
    r"resolved)\b|\b(solved|fixed|resolved) the (issue|problem)\b|\bproved\b|\bverified\b"
    r"|\bwas the (cause|culprit|problem|issue)\b|\bdetermin\w+ (that )?the root cause\b"
    r"|\bidentified\b|\breproduc(ed|tion)\b|\bhad resolved\b",
    re.IGNORECASE,
)


def outcome_of(sentence: str) -> str:
    """How a tested hypothesis came out, by the sentence's words: refuted, confirmed or
    inconclusive."""
    if _REFUTED.search(sentence):
        return "refuted"
    if _CONFIRMED.search(sentence):
        return "confirmed"
    return "inconclusive"


_TASK = re.compile(
    r"^(to ?do:?\s*)?(add|adopt|allow|audit|automate|build|change|check|clean|configure|create|"
    r"define|deploy|disable|document|enable|enforce|ensure|establish|evaluate|expand|extend|"
    r"fix|formali[sz]e|implement|improve|increase|install|introduce|investigate|limit|make|"
    r"migrate|monitor|move|pin|prevent|reduce|refactor|remove|replace|require|review|revisit|"
    r"rotate|run|schedule|set ?up|split|switch|test|track|update|upgrade|use|validate|verify|"
    r"write|consider|explore|look into|work on|publish|train|alert|block|restrict|revoke)\b",
    re.IGNORECASE,
)


def looks_like_task(text: str) -> bool:
    """A sentence that is a task: it starts with a verb of doing ("Add an alert on ...")."""
    return bool(_TASK.match(text.strip()))


_RULE = re.compile(
    r"\b(alert\w*|alarms?|monitor\w*|dashboards?|pag(e|ed|ing) (the )?on.?call|probes?|probing"
    r"|health.?checks?|tests?|testing|qualif\w+|review\w*|process\w*|procedures?|runbooks?"
    r"|playbooks?|polic(y|ies)|guidelines?|standard\w*|pin(ned|ning)?|version.?lock\w*"
    r"|lock(ed)? versions?|limits?|quotas?|automat\w+|continuous\w*|regular(ly)?|always|never"
    r"|must|requir\w+|enforc\w+|mandator\w+|on.?call|escalat\w+|rotation"
    r"|approv\w+|2fa|mfa|webauthn|least.?privilege|branch protection|canar(y|ies)|staging|"
    r"backups?|expir\w+|by default|drift|scale \w+ dynamically|self.?host\w*)\b",
    re.IGNORECASE,
)


def sets_rule(text: str) -> bool:
    """A lesson or action that sets a lasting way of working (an alert, a test, a review, a
    limit, a process, "always ..."), as opposed to a one-off task."""
    return cue_kind(text) == "practice" or bool(_RULE.search(text))


_DIRECTIVE = re.compile(
    r"\b(should|must|need(s|ed)? to|ha(ve|s) to|will|always|never|every|make sure|ensure"
    r"|do ?n[o']t|avoid|prefer|require[sd]?)\b",
    re.IGNORECASE,
)


def says_what_to_do(text: str) -> bool:
    """A sentence that tells what to do ("should", "must", "every", "always", ...), as a
    lesson must to set a rule; one that only mentions a limit or a test does not."""
    return bool(_DIRECTIVE.search(text))


_RULE_LEAD = re.compile(
    r"^(we (should|must|need|will|have)( to)?|(it is|it's) (necessary|important) to|"
    r"(an|one|another) (idea|option|suggestion) (would be|is|was|could be) to|it would be "
    r"(good|nice|useful|better|wise) to|we (could|might)( want to)?|consider(ing)?|"
    r"(there )?should be|please|ensure( that)?|make sure( that)?|add|set ?up|setup|create|"
    r"implement|introduce|establish|enable|improve|enhance|define|build|adopt|use|have|get|"
    r"better|more)\s+",
    re.IGNORECASE,
)


def rule_name(text: str) -> str:
    """A practice's name from the task or lesson that set it: "Setup alerting for elevated
    error rates" -> "Alerting for elevated error rates"."""
    name = concise_name(text)
    for _ in range(3):
        stripped = _RULE_LEAD.sub("", name, count=1)
        if stripped == name or len(stripped.split()) < 2:
            break
        name = stripped
    return name[:1].upper() + name[1:]


# --- concise names -------------------------------------------------------------------------

# A word of a date or time ("Wednesday", "30th", "June", "2021", "10:42", "noon", "UTC").
_WHEN = (
    r"((mon|tues|wednes|thurs|fri|satur|sun)day|jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may"
    r"|june?|july?|aug(ust)?|sep(tember)?|oct(ober)?|nov(ember)?|dec(ember)?|\d{1,4}(st|nd|rd"
    r"|th)?|\d{4}-\d\d-\d\d|\d{1,2}[:.]\d\d( ?[ap]m)?|noon|midnight|utc|[ap]m|morning"
    r"|evening|night|afternoon)"
)
_LEAD_IN = re.compile(
    rf"^(on|at|around|by|in|during) (the )?{_WHEN}([ ,.]+(of|the|on|{_WHEN}))*[ ,]+|"
    r"^(in (short|summary|the end)|ultimately|basically|essentially|however|therefore|so|"
    r"thus|then|additionally|also|finally|unfortunately)\W+|^(the |this |our )?(root |underlying"
    r" |primary |main |direct |ultimate )?(cause|reason|trigger|problem|issue)s?( of| for)? "
    r"(this|the|our)? ?(incident|outage|issue|problem|failure|disruption|event)?\s*(was|is|were|"
    r"are|has been)?\s*((identified|found|determined|confirmed) (as|to be)\s+)?(that|:|-|–)?\s*"
    r"|^(this|it|the (incident|outage|issue|problem|failure|"
    r"disruption))\s+(was|is|were)\s+(mainly |primarily |ultimately |directly )?(caused|"
    r"triggered|due)\s+(by|to)\s+(the fact that\s+)?|^(caused|triggered) by\s+|^due to\s+"
    r"|^because( of)?\s+|^(a|an) (combination|series) of\s+",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(
    r"[;:]\s|,\s+(which|who|where|when|while|so|and then|causing|resulting|leading|meaning"
    r"|because|as|but|and this|this)\b|\s+(which|causing|resulting in|leading to|so that|"
    r"because|meaning that|in order to|and therefore|and thus|when|after|while|until)\s+"
    r"|\s+[–—]\s+|\s+\(|\s+(in|of|on|for|to|by|at|with|from)\s+which\s+",
    re.IGNORECASE,
)
_EFFECT_CAUSE = re.compile(
    r"[,;]?\s+(because( of)?|due to|caused by|as a result of|owing to|resulting from|"
    r"triggered by)\s+(the fact that\s+)?",
    re.IGNORECASE,
)
_ACTIVE_CAUSE = re.compile(
    r"\s+(caused|causing|triggered|led to|resulted in|broke|took down|brought down)\s+",
    re.IGNORECASE,
)
MAX_NAME_WORDS = 14
MIN_NAME_WORDS = 4  # a cut never leaves fewer
# What opens a clause: one word, or a few ("as soon as", "in which"), checked longest first.
# Not "that": the clause it opens is often what the sentence says ("worth noting that X").
_CLAUSE_OPENERS = tuple(
    opener.split()
    for opener in (
        "as soon as|as long as|even if|even though|so that|in which|of which|on which|for which|"
        "to which|by which|at which|with which|from which|which|who|where|when|whenever|while|"
        "because|since|although|though|unless|until|once|before|after|if|so"
    ).split("|")
)
# Words a name cut in the middle of a clause should not end on ("... by the team that some of").
_DANGLING = frozenset(
    "a an the of to for in on at by with from into onto over under about and or but so as "
    "if that this these those there their its our my your his her them they we it is was "
    "were are be been being has have had do does did not no some same other each every all "
    "any more most such very even than then just only also".split()
)


def _cut(words: list[str]) -> str:
    """The words of a too-long name, cut where a clause ends: after the last comma, else
    before the last words that open a clause ("... kicked in even though ..."), else with
    the small words it would end on left out; never under `MIN_NAME_WORDS` words."""
    kept = " ".join(words)
    comma = kept.rfind(", ")
    if comma > 0 and len(kept[:comma].split()) >= MIN_NAME_WORDS:
        return kept[:comma]
    lower = [w.lower() for w in words]
    for end in range(len(words), MIN_NAME_WORDS, -1):
        for opener in _CLAUSE_OPENERS:
            start = end - len(opener)
            if lower[max(start, 0) : end] == opener:
                if start >= MIN_NAME_WORDS:
                    return " ".join(words[:start])
                break  # the longest opener ending here starts too early
    while len(words) > MIN_NAME_WORDS and words[-1].lower() in _DANGLING:
        words = words[:-1]
    return " ".join(words)


def without_lead_in(text: str) -> str:
    """`text` without the words that only announce it ("The root cause was", "Ultimately,",
    "This was caused by"), as long as two words are left; what is left of a sentence starts
    with a capital."""
    kept = text
    for _ in range(3):  # lead-ins can come in a row ("Ultimately, the root cause was ...")
        stripped = _LEAD_IN.sub("", kept, count=1).strip()
        if stripped == kept or len(_WORDS.findall(stripped)) < 2:
            break
        kept = stripped
    return kept if kept == text else kept[:1].upper() + kept[1:]


def concise_name(text: str, *, max_words: int = MAX_NAME_WORDS) -> str:
    """A short name for what a sentence states: lead-ins ("The root cause was", "This was
    caused by") and asides in parentheses dropped, the cause of "X because Y" taken, the first
    clause kept if it says enough, at most `max_words` words."""
    sentence = split_sentences(text)[0] if text.strip() else text
    sentence = re.sub(r"\s*\([^)]*\)", "", sentence).strip().rstrip(".!?:;,").strip()
    sentence = without_lead_in(sentence)
    effect_first = _EFFECT_CAUSE.search(sentence)
    if effect_first and len(_WORDS.findall(sentence[effect_first.end() :])) >= 3:
        sentence = sentence[effect_first.end() :]  # "X failed because Y" -> Y
    active = _ACTIVE_CAUSE.search(sentence)
    if active and len(_WORDS.findall(sentence[: active.start()])) >= 2:
        sentence = sentence[: active.start()]  # "A bad deploy caused the outage" -> the deploy
    clause = _CLAUSE_END.search(sentence)
    if clause and len(_WORDS.findall(sentence[: clause.start()])) >= 4:
        sentence = sentence[: clause.start()]
    words = sentence.split()
    if len(words) > max_words:
        sentence = _cut(words[:max_words]).rstrip(",;:-–")
    sentence = sentence.strip().rstrip(".,;:")
    if not sentence:
        return text.strip()
    # A name cut out of a sentence starts with a capital; one written as a name stays as it is.
    return sentence if text.startswith(sentence) else sentence[:1].upper() + sentence[1:]


_EFFECT_ONLY = re.compile(
    r"^(this|it|that|which|these|this in turn|as a result|consequently)\b[^.]{0,40}?\b(caused|"
    r"resulted in|led to|meant|broke|took down)\b|\b(do(es)?|did) ?n[o']t know\b|\bunknown\b"
    r"|\bunclear\b|\b(trying|try) to (identify|find|understand)\b",
    re.IGNORECASE,
)


def states_a_cause(sentence: str) -> bool:
    """A sentence that names a cause, not one that only tells an effect ("This resulted in a
    30-minute outage") or says the cause is not known."""
    return not _EFFECT_ONLY.search(sentence)
