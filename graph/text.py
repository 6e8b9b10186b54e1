"""Words and sentences of a text, as keyword search and recognition see them (shared by the
stores, the models and the ranking)."""

from __future__ import annotations

import re

# Words too common to help a keyword search; dropping them keeps posting lists short.
STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be been before being both but by
    can could did do does doing each else for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not of on once
    only or other our ours she should so some such than that the their theirs them then there
    these they this those through to too until very was we were what when where which while
    who whom why will with would you your yours""".split()
)
MAX_QUERY_TERMS = 32


def keyword_terms(text: str) -> list[str]:
    """The distinct searchable words of `text`, lower-cased, in order, without stop words."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", text.lower()):
        if word not in STOPWORDS and len(seen) < MAX_QUERY_TERMS:
            seen.setdefault(word)
    return list(seen)


def split_passages(text: str) -> list[str]:
    """Sentences of `text`; a very short one is joined to the next."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text) if s.strip()]
    passages: list[str] = []
    carry = ""
    for sentence in sentences:
        sentence = f"{carry} {sentence}".strip()
        if len(sentence.split()) < 6:
            carry = sentence
            continue
        passages.append(sentence)
        carry = ""
    if carry:
        passages.append(carry)
    return passages
