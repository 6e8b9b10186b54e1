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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import Stemmer

from lessons.graph.text import keyword_terms

K1 = 1.2
B = 0.75
ZERO_IDF = 1e-6  # FTS5's weight for a word in half or more of the rows
MERGE_AT = 0.25  # merge when the nodes written since the last merge reach this share of it

_STEMMER = Stemmer.Stemmer("porter")
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of `text` as the index keeps them (lower-cased, no diacritics, stemmed)."""
    plain = text.lower()
    if not plain.isascii():  # ASCII has nothing to decompose
        plain = "".join(
            c for c in unicodedata.normalize("NFD", plain) if not unicodedata.combining(c)
        )
    found = _WORD.findall(plain)
    return [w if len(w) < 3 else s for w, s in zip(found, _STEMMER.stemWords(found), strict=True)]


def query_words(text: str) -> list[str]:
    """The distinct searchable words of a query, stemmed (stop words left out)."""
    return list(dict.fromkeys(w for term in keyword_terms(text) for w in words(term)))


def encode_terms(counts: Mapping[int, int]) -> bytes:
    """A node's term ids and counts as the blob `keyword_terms` keeps."""
    ids = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
    tfs = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
    return np.concatenate([ids, tfs]).tobytes()


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
    written again gets a new number and its old one is marked dead. The nodes numbered below
    `base_size` keep their words in doc-major arrays (`forward_*`), later ones in `added`."""

    ids: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    rows_with: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    base_size: int = 0
    forward_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    forward_terms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    forward_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    added: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    merged: _Postings | None = None  # of the base
    recent: _Postings | None = None  # of `added`
    generation: int = -1
    deletions: int = -1

    @classmethod
    def of(cls, rows: Iterable[tuple[str, bytes]]) -> KeywordIndex:
        """An index of `(node id, keyword_terms blob)` rows, each node once."""
        ids, blobs = [], []
        for node_id, blob in rows:
            ids.append(node_id)
            blobs.append(blob)
        # Every blob is its term ids, then their counts: split them all at once.
        pairs = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // 8
        flat = np.frombuffer(b"".join(blobs), dtype=np.int32)
        is_term = np.repeat(np.tile([True, False], len(ids)), np.repeat(pairs, 2))
        docs = np.repeat(np.arange(len(ids), dtype=np.int32), pairs)
        index = cls()
        index.rows_with = np.bincount(flat[is_term], minlength=1024)
        index._set_base(ids, docs, flat[is_term], flat[~is_term])
        return index

    def _set_base(
        self, ids: list[str], docs: np.ndarray, terms: np.ndarray, counts: np.ndarray
    ) -> None:
        """Make these nodes (numbered 0.., postings in doc order) the whole index."""
        self.ids = ids
        self.numbers = {node_id: n for n, node_id in enumerate(ids)}
        self.alive = np.ones(len(ids), dtype=bool)
        self.lengths = np.bincount(docs, weights=counts, minlength=len(ids))
        self.base_size = len(ids)
        self.forward_start = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(docs, minlength=len(ids)), out=self.forward_start[1:])
        self.forward_terms, self.forward_counts = terms, counts
        self.added = {}
        self.merged = _Postings.of(docs, terms, counts, len(self.rows_with))
        self.recent = None

    def update(self, rows: Iterable[tuple[str, bytes | None]]) -> None:
        """Replace these nodes' words (a blob of None: the node has none now)."""
        changed = False
        for node_id, blob in rows:
            old = self.numbers.pop(node_id, None)
            if old is not None:
                self.alive[old] = False
                np.subtract.at(self.rows_with, self._terms_of(old)[0], 1)
            if blob is None:
                continue
            terms, counts = _decode(blob)
            number = len(self.ids)
            self.ids.append(node_id)
            self.numbers[node_id] = number
            self.added[number] = (terms, counts)
            self._grow(number + 1, int(terms.max(initial=-1)) + 1)
            self.alive[number] = True
            self.lengths[number] = counts.sum()
            np.add.at(self.rows_with, terms, 1)
            changed = True
        if changed:
            if len(self.added) > MERGE_AT * max(self.base_size, 1):
                self.merge()
            else:
                self.recent = _Postings.of(*self._added_postings(), len(self.rows_with))

    def _terms_of(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        if number >= self.base_size:
            return self.added[number]
        lo, hi = self.forward_start[number], self.forward_start[number + 1]
        return self.forward_terms[lo:hi], self.forward_counts[lo:hi]

    def _added_postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        numbers = list(self.added)
        sizes = [len(terms) for terms, _ in self.added.values()]
        return (
            np.repeat(np.array(numbers, dtype=np.int32), sizes),
            np.concatenate([terms for terms, _ in self.added.values()]),
            np.concatenate([counts for _, counts in self.added.values()]),
        )

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
        base_docs = np.repeat(
            np.arange(self.base_size, dtype=np.int32), np.diff(self.forward_start)
        )
        docs, terms, counts = base_docs, self.forward_terms, self.forward_counts
        if self.added:
            more = self._added_postings()
            docs, terms, counts = (
                np.concatenate(pair) for pair in zip((docs, terms, counts), more, strict=True)
            )
        keep = self.alive[docs]
        live = np.flatnonzero(self.alive[: len(self.ids)])
        renumber = np.zeros(len(self.ids), dtype=np.int32)
        renumber[live] = np.arange(len(live), dtype=np.int32)
        ids = [self.ids[n] for n in live]
        self._set_base(ids, renumber[docs[keep]], terms[keep], counts[keep])

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
