"""The embedded store's keyword index: BM25 over posting arrays in numpy.

It replaced SQLite's FTS5, which scores every row that has any of the query's words before it
can keep the best 50: at 100k failures a query's words were in 4-33% of all failures, and
the keyword query took p95 121 ms of a 159 ms `recognize` (docs/benchmarks.md). Here a
query reads the postings of its words from one array per label and scores them with one
`bincount`.

Words are what FTS5's `porter unicode61 remove_diacritics 2` tokenizer made of a text:
letters and digits, lower-cased, diacritics removed, Porter-stemmed (words shorter than three
letters are kept whole); the scoring is FTS5's BM25 (k1 1.2, b 0.75, an IDF at or below zero
weighs 1e-6). The store keeps each node's words in SQLite as term ids and counts
(`keyword_terms`, written with the node) and the ids in `keyword_vocabulary`, so an index
is loaded without reading or splitting a text again.

A `KeywordIndex` is one label's postings, built once from all its nodes. Nodes written
later go to a small second part, and their old postings are marked dead, until the second
part reaches a quarter of the first; then the two are merged. The store holds its lock
while it updates or searches an index.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import Stemmer

from lessons.graph.text import keyword_terms

K1 = 1.2
B = 0.75
ZERO_IDF = 1e-6  # FTS5's weight for a word in half or more of the rows
MERGE_AT = 0.25  # merge when the postings added since the last merge reach this share

_STEMMER = Stemmer.Stemmer("porter")
_WORD = re.compile(r"[^\W_]+")

Terms = np.ndarray  # int32 pairs: [term ids..., counts...]


def words(text: str) -> list[str]:
    """The words of `text` as the index keeps them (lower-cased, no diacritics, stemmed)."""
    plain = "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c)
    )
    found = _WORD.findall(plain)
    return [w if len(w) < 3 else s for w, s in zip(found, _STEMMER.stemWords(found), strict=True)]


def query_words(text: str) -> list[str]:
    """The distinct searchable words of a query, stemmed (stop words left out)."""
    return list(dict.fromkeys(_stem_each(keyword_terms(text))))


def _stem_each(terms: list[str]) -> list[str]:
    return [w for term in terms for w in words(term)]


def encode_terms(counts: Mapping[int, int]) -> bytes:
    """A node's term ids and counts as the blob `keyword_terms` keeps."""
    ids = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
    tfs = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
    return np.concatenate([ids, tfs]).tobytes()


def term_counts(text: str, term_id: Mapping[str, int]) -> Counter[int]:
    """How often each term of `text` occurs in it, by term id (`term_id` knows every word)."""
    return Counter(term_id[w] for w in words(text))


def _decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.frombuffer(blob, dtype=np.int32)
    half = len(pairs) // 2
    return pairs[:half], pairs[half:]


@dataclass
class _Postings:
    """Postings grouped by term: those of term t are `docs[start[t]:start[t + 1]]`."""

    start: np.ndarray
    docs: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, docs: np.ndarray, terms: np.ndarray, counts: np.ndarray, size: int) -> _Postings:
        # Grouped by term with a radix sort on 16-bit digits (numpy sorts 16-bit keys by
        # radix): at 100k failures 0.14 s per digit, where an argsort of the int32 ids took 0.54.
        order = np.argsort((terms & 0xFFFF).astype(np.uint16), kind="stable")
        if (high := terms >> 16).any():
            order = order[np.argsort(high[order].astype(np.uint16), kind="stable")]
        start = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=size), out=start[1:])
        return cls(start, docs[order], counts[order])

    def of_term(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.start):
            return self.docs[:0], self.counts[:0]
        lo, hi = self.start[term], self.start[term + 1]
        return self.docs[lo:hi], self.counts[lo:hi]


@dataclass
class KeywordIndex:
    """BM25 postings of one label's nodes. Each node written has a number (`ids[n]`); a node
    written again gets a new number and its old one is marked dead."""

    ids: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    terms: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # by number
    rows_with: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    merged: _Postings | None = None
    merged_size: int = 0
    recent: _Postings | None = None
    recent_from: int = 0  # numbers from here on are in `recent`
    generation: int = -1
    deletions: int = -1

    @classmethod
    def of(cls, rows: Iterable[tuple[str, bytes]]) -> KeywordIndex:
        """An index of `(node id, keyword_terms blob)` rows, each node once."""
        index = cls()
        for node_id, blob in rows:
            index.numbers[node_id] = len(index.ids)
            index.ids.append(node_id)
            index.terms.append(_decode(blob))
        size = len(index.ids)
        docs, terms, counts = index._flat(0, size)
        index.rows_with = np.bincount(terms, minlength=1024)
        index.lengths = np.bincount(docs, weights=counts, minlength=size)
        index.alive = np.ones(size, dtype=bool)
        index.merged = _Postings.of(docs, terms, counts, len(index.rows_with))
        index.merged_size = index.recent_from = size
        return index

    def update(self, rows: Iterable[tuple[str, bytes | None]]) -> None:
        """Replace these nodes' words (a blob of None: the node has none now)."""
        added = 0
        for node_id, blob in rows:
            old = self.numbers.pop(node_id, None)
            if old is not None:
                self._forget(old)
            if blob is None:
                continue
            terms, counts = _decode(blob)
            number = len(self.ids)
            self.ids.append(node_id)
            self.numbers[node_id] = number
            self.terms.append((terms, counts))
            added += len(terms)
            self._grow(number + 1, int(terms.max(initial=-1)) + 1)
            self.alive[number] = True
            self.lengths[number] = counts.sum()
            np.add.at(self.rows_with, terms, 1)
        if added:
            if len(self.ids) - self.recent_from > MERGE_AT * max(self.merged_size, 1):
                self.merge()
            else:
                self.recent = self._postings(self.recent_from, len(self.ids))

    def _forget(self, number: int) -> None:
        self.alive[number] = False
        terms, _ = self.terms[number]
        np.subtract.at(self.rows_with, terms, 1)

    def _grow(self, numbers: int, terms: int) -> None:
        if numbers > len(self.alive):
            size = max(numbers, 2 * len(self.alive), 1024)
            alive, lengths = np.zeros(size, dtype=bool), np.zeros(size, dtype=np.float64)
            alive[: len(self.alive)], lengths[: len(self.lengths)] = self.alive, self.lengths
            self.alive, self.lengths = alive, lengths
        if terms > len(self.rows_with):
            grown = np.zeros(max(terms, 2 * len(self.rows_with), 1024), dtype=np.int64)
            grown[: len(self.rows_with)] = self.rows_with
            self.rows_with = grown

    def merge(self) -> None:
        """Renumber the live nodes and build all their postings as one part."""
        live = np.flatnonzero(self.alive[: len(self.ids)])
        self.ids = [self.ids[n] for n in live]
        self.terms = [self.terms[n] for n in live]
        self.lengths = self.lengths[live]
        self.numbers = {node_id: n for n, node_id in enumerate(self.ids)}
        self.alive = np.ones(len(live), dtype=bool)
        self.merged = self._postings(0, len(self.ids))
        self.merged_size = self.recent_from = len(self.ids)
        self.recent = None

    def _flat(self, first: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The postings of nodes `first` to `end`: their numbers, term ids and counts."""
        chunk = self.terms[first:end]
        docs = np.repeat(np.arange(first, end, dtype=np.int32), [len(t) for t, _ in chunk])
        empty = np.zeros(0, dtype=np.int32)
        terms = np.concatenate([t for t, _ in chunk] or [empty])
        counts = np.concatenate([c for _, c in chunk] or [empty])
        return docs, terms, counts

    def _postings(self, first: int, end: int) -> _Postings | None:
        if first == end:
            return None
        return _Postings.of(*self._flat(first, end), len(self.rows_with))

    def search(self, term_ids: Iterable[int], k: int) -> list[tuple[str, float]]:
        """The `k` best nodes for these terms by BM25, best first, with their scores."""
        total = int(self.alive.sum())
        if not total:
            return []
        average = float(self.lengths[self.alive].sum()) / total
        found_docs, found_weights = [], []
        for term in dict.fromkeys(term_ids):
            for part in (self.merged, self.recent):
                if part is None:
                    continue
                docs, counts = part.of_term(term)
                keep = self.alive[docs]
                docs, tf = docs[keep], counts[keep].astype(np.float64)
                if not len(docs):
                    continue
                hits = int(self.rows_with[term])
                idf = math.log((total - hits + 0.5) / (hits + 0.5))
                norm = K1 * (1 - B + B * self.lengths[docs] / average)
                found_docs.append(docs)
                found_weights.append((idf if idf > 0 else ZERO_IDF) * tf * (K1 + 1) / (tf + norm))
        if not found_docs:
            return []
        scores = np.bincount(np.concatenate(found_docs), np.concatenate(found_weights))
        scored = np.flatnonzero(scores)
        top = scored[np.argpartition(-scores[scored], min(k, len(scored)) - 1)[:k]]
        return [(self.ids[n], float(scores[n])) for n in top]
