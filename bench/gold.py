"""The extraction gold set (bench/data/extraction-gold/) and how extracted items are scored
against it.

The rule, pinned by tests/unit/test_gold_match.py:

- Texts are compared as sets of content words: lowercased, split on anything that is not a
  letter or digit, stop words dropped, and a plural "s" taken off words of 4+ letters.
- An extracted item *matches* a gold item when the Dice coefficient 2|A∩B| / (|A| + |B|) of
  one of the extracted item's texts (a cause's name or description, ...) with one of the gold
  item's texts (its name or text, or its evidence, the words copied from the document) is at
  least `MATCH_AT` (0.5). Components are names, so they match when one's words contain the
  other's ("CoreDNS" and "CoreDNS pods").
- One gold item matches one extracted item at most, and the other way round: pairs are taken
  best first (a greedy one-to-one assignment), so a paragraph stored as one item cannot count
  for three causes.
- Precision is matched / extracted and recall matched / gold, per kind, summed over the
  documents (micro-averaged). A title matches at Dice >= 0.8 (or when one contains the other);
  an incident date when it is the same day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOLD_DIR = Path(__file__).resolve().parent / "data" / "extraction-gold"
CORPUS_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "public-postmortems"
KINDS = ("causes", "experiments", "lessons", "practices", "actions", "components")
MATCH_AT = 0.5
TITLE_AT = 0.8

STOP_WORDS = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have
    how i if in into is it its of on or our so than that the their them then there these they
    this those to too up was we were what when where which while who will with would you your
    not no all any also after before over under out about more most very just only such""".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def content_words(text: str) -> frozenset[str]:
    """The comparable words of `text` (see the module docstring)."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS:
            continue
        if len(word) >= 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    """2|a∩b| / (|a| + |b|), 0 for two empty sets."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def contains(a: frozenset[str], b: frozenset[str]) -> bool:
    """One non-empty word set holds the other."""
    return bool(a) and bool(b) and (a <= b or b <= a)


@dataclass(frozen=True)
class Item:
    """One item to compare: its texts as word sets, and what to show of it."""

    texts: tuple[frozenset[str], ...]
    label: str

    @classmethod
    def of(cls, *texts: str | None) -> Item:
        present = [t for t in texts if t and t.strip()]
        return cls(tuple(content_words(t) for t in present), present[0] if present else "")


def similarity(extracted: Item, gold: Item, *, names: bool = False) -> float:
    """How well two items agree: the best Dice of any pair of their texts, or 1.0 for names
    whose words contain one another."""
    pairs = [(e, g) for e in extracted.texts for g in gold.texts]
    if names and any(contains(e, g) for e, g in pairs):
        return 1.0
    return max((dice(e, g) for e, g in pairs), default=0.0)


@dataclass
class Matching:
    """The one-to-one matches between the extracted and the gold items of one kind."""

    pairs: list[tuple[int, int, float]] = field(default_factory=list)  # (extracted, gold, score)
    extracted: int = 0
    gold: int = 0

    @property
    def matched(self) -> int:
        return len(self.pairs)


def match(
    extracted: Sequence[Item], gold: Sequence[Item], *, names: bool = False, at: float = MATCH_AT
) -> Matching:
    """Greedy one-to-one matching, best pairs first, keeping pairs scoring `at` or more."""
    scored = sorted(
        (
            (score, e, g)
            for e, item in enumerate(extracted)
            for g, truth in enumerate(gold)
            if (score := similarity(item, truth, names=names)) >= at
        ),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_e: set[int] = set()
    used_g: set[int] = set()
    result = Matching(extracted=len(extracted), gold=len(gold))
    for score, e, g in scored:
        if e not in used_e and g not in used_g:
            used_e.add(e)
            used_g.add(g)
            result.pairs.append((e, g, score))
    return result


def title_matches(extracted: str | None, gold: str | None) -> bool:
    """Dice >= `TITLE_AT`, or one title's words contain the other's."""
    a, b = content_words(extracted or ""), content_words(gold or "")
    return contains(a, b) or dice(a, b) >= TITLE_AT


# --- items of a gold label and of an extracted record ------------------------------------


def gold_items(label: dict[str, Any], kind: str) -> list[Item]:
    """The gold items of `kind` (also `went_well`, `lucky`) in a label file."""
    items = []
    for entry in label.get(kind) or []:
        if isinstance(entry, str):
            items.append(Item.of(entry))
        else:
            items.append(Item.of(entry.get("name") or entry.get("text"), entry.get("evidence")))
    return items


def extracted_items(record: dict[str, Any], kind: str) -> list[Item]:
    """The items of `kind` an extractor put in a canonical record (as JSON data)."""
    items = []
    for entry in record.get(kind) or []:
        if isinstance(entry, str):
            items.append(Item.of(entry))
        elif kind == "causes":
            items.append(Item.of(entry.get("name"), entry.get("description")))
        elif kind == "experiments":
            joined = " ".join(filter(None, [entry.get("hypothesis"), entry.get("finding")]))
            items.append(Item.of(entry.get("hypothesis"), entry.get("finding"), joined))
        elif kind == "practices":
            items.append(Item.of(entry.get("name"), entry.get("description")))
        elif kind == "components":
            items.append(Item.of(entry.get("name")))
        else:
            items.append(Item.of(entry.get("text") or entry.get("name")))
    return items


def load_gold(folder: Path = GOLD_DIR) -> dict[str, dict[str, Any]]:
    """Every label file, by document file name."""
    return {
        (label := json.loads(path.read_text(encoding="utf-8")))["document"]: label
        for path in sorted(folder.glob("*.json"))
        if path.name != "split.json"
    }


def load_split(folder: Path = GOLD_DIR) -> dict[str, str]:
    """Document file name -> `dev` (tuned on) or `test` (never looked at while tuning)."""
    split: dict[str, str] = json.loads((folder / "split.json").read_text())["split"]
    return split


def names(items: Iterable[Item]) -> list[str]:
    return [item.label for item in items]
