"""Words of a text, as keyword search sees them (shared by the stores and the ranking)."""

from __future__ import annotations

import re

# Words too common to help a keyword search; dropping them keeps posting lists short.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "while",
        "who",
        "will",
        "with",
    ]
)
MAX_QUERY_TERMS = 32


def keyword_terms(text: str) -> list[str]:
    """The distinct searchable words of `text`, lower-cased, in order, without stop words."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", text.lower()):
        if word not in STOPWORDS and len(seen) < MAX_QUERY_TERMS:
            seen.setdefault(word)
    return list(seen)
