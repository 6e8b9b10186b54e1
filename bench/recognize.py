"""Quality of "has this failed before?": keyword only, vector only and the hybrid, same run.

    python bench/recognize.py [--store neo4j] [--calibrate] [--folds 5] [--set postmortems]

The 190 incident summaries of ../shared/corpus/public-postmortems/danluu-post-mortems.jsonl
(written by others; see that folder's SOURCE.md) are imported as failures through the real
pipeline (`ingest`, real model) into a fresh store: title = the summary's first sentence,
summary = the whole summary, tags = its category. Then every query of
bench/data/recognize-queries.jsonl (written by us: positives with the ids they should find,
negatives whose pattern is not in the corpus) goes through `gather_signals` once (with every
candidate's best sentence, `add_passages`), and
each method ranks from those same signals:

- keyword only: the store's full-text ranking (its BM25 index / Neo4j full-text);
- vector only: cosine of the query to the failures' title + summary vectors;
- hybrid: `recognize.fuse` with `recognize.WEIGHTS` over every signal.

Reported: recall@1, recall@5 and MRR over the positives; for the verdict, how many
positives get `likely recurrence` or `related`, and the false-recurrence rate (negatives
that do not get `new`). `--calibrate` searches fusion weights and confidence thresholds on
the queries and reports them with k-fold cross-validated figures (weights and thresholds
chosen on the other folds), so the figures are not just fitted to the queries they score.

`--set hadoop` asks, for each of the 125 Hadoop issues its maintainers resolved as a duplicate
(GitBugs, ../shared/corpus/labeled/gitbugs), the duplicate's title and description against
all 2,503 Hadoop issues imported as failures, expecting the issue it duplicates; the query's
own issue is left out of every ranking. `--set seamonkey` does the same over the 1,076
SeaMonkey issues of GitBugs (the pairs whose two issues are both there; many point at bugs of
other Mozilla products, which are not).

`--set icco` asks the 80 questions of bench/data/icco-questions.jsonl (written blind, by a
reader given only the documents) about the 242 write-ups of
../shared/corpus/public-postmortems/icco-postmortems (long, prose, with causes and lessons the
Markdown reader finds, unlike the danluu summaries): the set the fusion weights, the
confidence model and the verdict thresholds are calibrated on.

`--set postmortems` asks the 77 questions of bench/data/postmortem-questions.jsonl (written
blind, by a reader given only the documents; frozen) about the 54 real postmortems of
../shared/corpus/public-postmortems/docs, imported through the Markdown reader. Nothing is
ever calibrated on them (nor on the Hadoop pairs): they say how the weights and thresholds
chosen on other sets hold on questions nobody here wrote, over documents nobody here wrote.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import pickle
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import load_model, machine_info, ms_summary, timed

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Failure
from lessons.graph.recognize import (
    CANDIDATES,
    CONFIDENCE_WEIGHTS,
    LIKELY_THRESHOLD,
    RELATED_THRESHOLD,
    WEIGHTS,
    RecognizeQuery,
    Signals,
    Verdict,
    add_passages,
    confidence,
    features,
    fuse,
    gather_signals,
    verdict,
)
from lessons.graph.store import GraphStore, SqliteStore
from lessons.ingest.pipeline import discover, ingest

REPO = Path(__file__).resolve().parent.parent
PUBLIC = REPO.parent / "shared" / "corpus" / "public-postmortems"
CORPUS = PUBLIC / "danluu-post-mortems.jsonl"
QUERIES = REPO / "bench" / "data" / "recognize-queries.jsonl"
# 77 questions about the 54 real postmortems, written blind and frozen: measured, never tuned on.
POSTMORTEM_QUESTIONS = REPO / "bench" / "data" / "postmortem-questions.jsonl"
# 80 questions about 242 icco write-ups, written blind: the set weights are chosen on.
ICCO_QUESTIONS = REPO / "bench" / "data" / "icco-questions.jsonl"
# Sets of Markdown documents (a folder of PUBLIC) and the questions asked about them.
MARKDOWN_SETS = {
    "postmortems": ("docs", POSTMORTEM_QUESTIONS),
    "icco": ("icco-postmortems", ICCO_QUESTIONS),
}
# Sets that only measure: nothing is ever fitted on them.
FROZEN = ("postmortems", "hadoop", "seamonkey")
# Issues of two projects and the pairs their maintainers resolved as duplicates (GitBugs; see
# its SOURCE.md): the folder, the issues, the pairs.
GITBUGS = REPO.parent / "shared" / "corpus" / "labeled" / "gitbugs"
GITBUGS_SETS = {
    "hadoop": ("hadoop", "hadoop_bugs.csv", "hadoop_bugs-combined.csv"),
    "seamonkey": ("seamonkey", "SeaMonkey_bugs.csv", "SeaMonkey_bugs-combined.csv"),
}
MAX_DESCRIPTION = 2000  # characters of an issue's description kept (some are whole logs)
sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    expected: tuple[str, ...]


def load_queries(path: Path = QUERIES, ids: Mapping[str, str] | None = None) -> list[Query]:
    """The queries of `path`; `ids` maps the names its `expected` uses to failure ids."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rename = ids or {}
    return [
        Query(r["id"], r["query"], tuple(rename.get(e, e) for e in r["expected"])) for r in rows
    ]


def corpus_records() -> list[dict[str, object]]:
    """The corpus as canonical records (no company names: queries never use them)."""
    records = []
    for line in CORPUS.read_text().splitlines():
        row = json.loads(line)
        summary = re.sub(r"\s+", " ", row["summary"]).strip()
        first = re.split(r"(?<=[.!?])\s+", summary, maxsplit=1)[0]
        words = first.split()
        title = " ".join(words[:14]) + ("…" if len(words) > 14 else "")
        records.append(
            {"id": row["id"], "title": title, "summary": summary, "tags": [row["category"]]}
        )
    return records


def gitbugs_issues(name: str) -> tuple[list[dict[str, object]], list[Query]]:
    """The issues of the GitBugs set `name` as records (id `<name>-<issue id>`), and one query
    per duplicate pair whose two issues are both there: the duplicate's title and description,
    expecting the issue it duplicates (the query's own failure is left out of every ranking).
    A pair listed both ways is two queries."""
    folder, issues_file, pairs_file = GITBUGS_SETS[name]
    csv.field_size_limit(10**9)
    with (GITBUGS / folder / issues_file).open(encoding="utf-8", errors="replace") as f:
        issues = {row["Issue id"]: row for row in csv.DictReader(f)}
    records = []
    for issue_id, row in issues.items():
        description = re.sub(r"\s+", " ", row["Description"] or "").strip()[:MAX_DESCRIPTION]
        title = re.sub(r"\s+", " ", row["Summary"] or "").strip() or f"issue {issue_id}"
        records.append(
            {"id": f"{name}-{issue_id}", "title": title, "summary": description or title}
        )
    queries = []
    with (GITBUGS / folder / pairs_file).open() as f:
        for pair in csv.DictReader(f):
            duplicate, original = pair["Issue id"], pair["Duplicate id"]
            if duplicate in issues and original in issues:
                row = issues[duplicate]
                text = f"{row['Summary']}. {row['Description'] or ''}"[:MAX_DESCRIPTION]
                queries.append(
                    Query(f"{name}-{duplicate}", re.sub(r"\s+", " ", text), (f"{name}-{original}",))
                )
    return records, queries


def all_signals_of(store: GraphStore, embedder: Embedder, request: RecognizeQuery) -> Signals:
    """`gather_signals`, and the best sentence of every candidate (not only of the matches, as
    `recognize` finds them), ranked: the `passage only` method and the calibration use it."""
    signals = gather_signals(store, embedder, request)
    pool = dict.fromkeys(i for ranking in signals.rankings.values() for i in ranking)
    failures = [n for n in store.get_many(pool).values() if isinstance(n, Failure)]
    add_passages(embedder, signals, failures)
    ranked = sorted(signals.passages, key=lambda i: (-signals.passages[i][0], i))
    signals.rankings["passage"] = ranked[:CANDIDATES]
    return signals


def leave_out(signals: Signals, failure_id: str) -> Signals:
    """`signals` without one failure in any ranking (a query must not find itself)."""
    signals.rankings = {k: [f for f in v if f != failure_id] for k, v in signals.rankings.items()}
    return signals


def import_set(name: str, store: GraphStore, embedder: Embedder, folder: Path) -> list[Query]:
    """Import the documents of the set `name` into `store` (files it writes go in `folder`);
    its questions, with the expected documents as failure ids."""
    gitbugs_queries: list[Query] = []
    if name == "danluu":
        source = folder / "danluu.jsonl"
        source.write_text("\n".join(json.dumps(r) for r in corpus_records()) + "\n")
    elif name in GITBUGS_SETS:
        records, gitbugs_queries = gitbugs_issues(name)
        source = folder / f"{name}.jsonl"
        source.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        source = PUBLIC / MARKDOWN_SETS[name][0]
    with timed() as clock:
        imported = ingest(store, embedder, discover([str(source)])[0])
    failures = sum(len(r.failure_ids) for r in imported.results)
    print(f"imported {failures} failures in {clock.seconds:.1f} s")
    if name == "danluu":
        return load_queries()
    if name in GITBUGS_SETS:
        return gitbugs_queries
    ids = {Path(r.path).name: r.failure_ids[0] for r in imported.results if r.failure_ids}
    return load_queries(MARKDOWN_SETS[name][1], ids)


@contextmanager
def open_bench_store(kind: str, folder: Path) -> Iterator[GraphStore]:
    if kind == "sqlite":
        store = SqliteStore(folder / "store.sqlite3")
        try:
            yield store
        finally:
            store.close()
        return
    from stores import fresh_neo4j, neo4j_server

    with neo4j_server() as (uri, user, password):
        neo = fresh_neo4j(uri, user, password)
        try:
            yield neo
        finally:
            neo.close()


def metrics(ranked: Sequence[Sequence[str]], queries: Sequence[Query]) -> dict[str, float]:
    """recall@1, recall@5 and MRR of rankings over the positive queries."""
    r1 = r5 = rr = 0.0
    positives = [(r, q) for r, q in zip(ranked, queries, strict=True) if q.expected]
    for ranking, query in positives:
        expected = set(query.expected)
        r1 += len(expected & set(ranking[:1])) / min(len(expected), 1)
        r5 += len(expected & set(ranking[:5])) / len(expected)
        rank = next((i for i, fid in enumerate(ranking, 1) if fid in expected), None)
        rr += 1.0 / rank if rank else 0.0
    n = len(positives)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": rr / n}


def top_evidence(
    signals: Signals, query: Query, weights: Mapping[str, float]
) -> tuple[list[str], dict[str, float]]:
    """The fused ranking and the evidence features of its best match."""
    fused = [fid for fid, _ in fuse(signals.rankings, weights)]
    if not fused:
        return [], dict.fromkeys(CONFIDENCE_WEIGHTS, 0.0)
    return fused, features(signals, query.text, fused[0])


def verdict_confidence(
    signals: Signals, query: Query, model: tuple[dict[str, float], float] | None = None
) -> float:
    """The confidence `recognize` gives its verdict: the highest of its top five matches'
    (by the code's confidence model, or by `model`: its weights and bias)."""
    weights, bias = model or (None, None)
    fused = [fid for fid, _ in fuse(signals.rankings, WEIGHTS)][:5]
    return max(
        (confidence(features(signals, query.text, fid), weights, bias) for fid in fused),
        default=0.0,
    )


def rates(verdicts: Sequence[Verdict], queries: Sequence[Query]) -> dict[str, float]:
    """Share of positives flagged (not `new`) or `likely`, and the same for negatives (a
    flagged negative is a false recurrence)."""
    pos = [v for v, q in zip(verdicts, queries, strict=True) if q.expected]
    neg = [v for v, q in zip(verdicts, queries, strict=True) if not q.expected]
    found = {
        "positives flagged": sum(v is not Verdict.NEW for v in pos) / len(pos),
        "positives likely": sum(v is Verdict.LIKELY_RECURRENCE for v in pos) / len(pos),
    }
    if neg:  # the Hadoop set has none
        found["false recurrence"] = sum(v is not Verdict.NEW for v in neg) / len(neg)
        found["negatives likely"] = sum(v is Verdict.LIKELY_RECURRENCE for v in neg) / len(neg)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "neo4j"], default="sqlite")
    parser.add_argument(
        "--set",
        choices=["danluu", "icco", "postmortems", *GITBUGS_SETS],
        default="danluu",
        help="danluu: our queries over 190 summaries; icco: 80 blind questions over 242 "
        "write-ups (calibrated on); postmortems: 77 blind questions over the 54 real "
        "postmortems; hadoop: 125 duplicate pairs over 2,503 Hadoop issues, leave-one-out; "
        "seamonkey: the same over 1,076 SeaMonkey issues (these three are never calibrated on)",
    )
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--save", type=Path, help="pickle the gathered signals to this file")
    parser.add_argument(
        "--load",
        type=Path,
        action="append",
        help="use signals pickled by --save (no store); given twice, the sets are pooled",
    )
    args = parser.parse_args()
    if args.load:
        all_signals, queries = [], []
        for path in args.load:
            signals, asked = pickle.loads(path.read_bytes())
            all_signals += signals
            queries += asked
        report(all_signals, queries, args)
        return
    if not CORPUS.exists():
        sys.exit(f"corpus not found at {CORPUS}: it lives outside the repository (../shared)")
    if args.set in FROZEN and args.calibrate:
        sys.exit(f"the {args.set} set measures; it never chooses a weight (calibrate on danluu)")
    print(machine_info())
    model = load_model(64, ["warm-up"])
    with tempfile.TemporaryDirectory() as tmp, open_bench_store(args.store, Path(tmp)) as store:
        embedder = CachingEmbedder(model, Path(tmp) / "vectors.sqlite3")
        queries = import_set(args.set, store, embedder, Path(tmp))
        print(f"{len(queries)} queries ({sum(bool(q.expected) for q in queries)} positive)")
        all_signals = []
        first, again = [], []
        for query in queries:
            request = RecognizeQuery(description=query.text)
            with timed() as clock:
                signals = all_signals_of(store, embedder, request)
            if args.set in GITBUGS_SETS:
                signals = leave_out(signals, query.id)
            all_signals.append(signals)
            first.append(clock.seconds)
            with timed() as clock:
                all_signals_of(store, embedder, request)
            again.append(clock.seconds)
        print(
            f"signals, every candidate's sentences included: first call {ms_summary(first)}; "
            f"repeated {ms_summary(again)}"
        )
        embedder.close()
    if args.save:
        args.save.write_bytes(pickle.dumps((all_signals, queries)))
    report(all_signals, queries, args)


def report(
    all_signals: Sequence[Signals], queries: Sequence[Query], args: argparse.Namespace
) -> None:
    """Ranking quality per method and the verdicts; with --calibrate, the calibration."""
    report_methods(all_signals, queries)
    if args.calibrate:
        calibrate(all_signals, queries, args.folds)


def report_methods(all_signals: Sequence[Signals], queries: Sequence[Query]) -> None:
    methods: dict[str, Callable[[Signals], list[str]]] = {
        "keyword only": lambda s: s.rankings.get("keyword", []),
        "vector only": lambda s: s.rankings.get("vector", []),
        "passage only": lambda s: s.rankings.get("passage", []),
        "RRF vector+keyword": lambda s: [
            f for f, _ in fuse(s.rankings, {"vector": 1.0, "keyword": 1.0})
        ],
        "hybrid (recognize)": lambda s: [f for f, _ in fuse(s.rankings, WEIGHTS)],
    }
    print(f"\n{'method':<22} {'recall@1':>9} {'recall@5':>9} {'MRR':>7}")
    for name, method in methods.items():
        m = metrics([method(s) for s in all_signals], queries)
        print(f"{name:<22} {m['recall@1']:>9.3f} {m['recall@5']:>9.3f} {m['mrr']:>7.3f}")
    confidences = [verdict_confidence(s, q) for s, q in zip(all_signals, queries, strict=True)]
    verdicts = [verdict(c, likely=LIKELY_THRESHOLD, related=RELATED_THRESHOLD) for c in confidences]
    print(
        f"\nverdict (likely >= {LIKELY_THRESHOLD}, related >= {RELATED_THRESHOLD}): "
        + ", ".join(f"{name} {value:.1%}" for name, value in rates(verdicts, queries).items())
    )
    for label, wanted in (("positives", True), ("negatives", False)):
        values = sorted(
            c for c, q in zip(confidences, queries, strict=True) if bool(q.expected) == wanted
        )
        print(f"  confidence of {label}: " + " ".join(f"{v:.2f}" for v in values))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.diag([l2] * x.shape[1] + [0.0])  # the bias is not shrunk
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def choose_thresholds(
    confidences: Sequence[float], queries: Sequence[Query], tops: Sequence[str]
) -> tuple[float, float]:
    """(likely, related): `related` flags the most positives while at most 10% of the
    negatives are flagged; `likely` is the lowest threshold above which no negative is
    flagged and the best match is right at least 95% of the time."""
    candidates = sorted(set(confidences))
    negatives = [c for c, q in zip(confidences, queries, strict=True) if not q.expected]
    related = next(t for t in candidates if sum(c >= t for c in negatives) <= 0.1 * len(negatives))
    likely = candidates[-1]
    for t in reversed(candidates):
        chosen = [
            (c, q, top) for c, q, top in zip(confidences, queries, tops, strict=True) if c >= t
        ]
        right = sum(top in q.expected for _, q, top in chosen)
        if any(not q.expected for _, q, _ in chosen) or right < 0.95 * len(chosen):
            break
        likely = t
    return max(likely, related), related


WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0)  # 0: the signal is left out
SEEDS = (7, 8, 9)  # fold assignments; figures are averaged over them
L2 = 0.1


def folds_of(n: int, folds: int, seed: int) -> list[int]:
    """A fold number per query, from a seeded shuffle."""
    fold_of = [0] * n
    for position, index in enumerate(np.random.default_rng(seed).permutation(n)):
        fold_of[int(index)] = position % folds
    return fold_of


def calibrate(all_signals: Sequence[Signals], queries: Sequence[Query], folds: int) -> None:
    """Fusion weights, the confidence model and the verdict thresholds, k-fold validated."""
    n = len(queries)
    grid = [
        {"vector": v, "keyword": k, "passage": p, "graph": 1.0}
        for v, k, p in itertools.product(WEIGHT_GRID, repeat=3)
        if v or k
    ]
    print(f"\n{folds}-fold cross-validation, averaged over {len(SEEDS)} shuffles: every query")
    print("is judged by weights, model and thresholds fitted on the other folds only.")
    picked: list[dict[str, float]] = []
    verdict_rates: list[dict[str, float]] = []
    for seed in SEEDS:
        fold_of = folds_of(n, folds, seed)
        rankings: list[list[str]] = [[] for _ in queries]
        verdicts = [Verdict.NEW for _ in queries]
        for fold in range(folds):
            train = [i for i in range(n) if fold_of[i] != fold]
            test = [i for i in range(n) if fold_of[i] == fold]
            weights = best_weights(all_signals, queries, train, grid)
            model, (likely, related) = fit_verdict(all_signals, queries, train)
            for i in test:
                signals = all_signals[i]
                rankings[i] = [f for f, _ in fuse(signals.rankings, weights)]
                score = verdict_confidence(all_signals[i], queries[i], model)
                verdicts[i] = verdict(score, likely=likely, related=related)
        picked.append(metrics(rankings, queries))
        verdict_rates.append(rates(verdicts, queries))
    equal = metrics([[f for f, _ in fuse(s.rankings, WEIGHTS)] for s in all_signals], queries)
    print("  ranking, weights picked from the grid by MRR: " + _mean(picked, "{:.3f}"))
    print("  ranking, the code's WEIGHTS (nothing fitted): " + _mean([equal], "{:.3f}"))
    print("  verdict: " + _mean(verdict_rates, "{:.1%}"))

    (coefficients, bias), (likely, related) = fit_verdict(all_signals, queries, range(n))
    print("\nfitted on all queries (the constants in lessons/graph/recognize.py):")
    print(f"  WEIGHTS = {best_weights(all_signals, queries, range(n), grid)}")
    print(f"  CONFIDENCE_WEIGHTS = { {k: round(v, 3) for k, v in coefficients.items()} }")
    print(f"  CONFIDENCE_BIAS = {bias:.3f}")
    print(f"  LIKELY_THRESHOLD = {likely:.3f}, RELATED_THRESHOLD = {related:.3f}")


def _mean(runs: Sequence[Mapping[str, float]], form: str) -> str:
    return ", ".join(f"{k} {form.format(np.mean([r[k] for r in runs]))}" for k in runs[0])


def best_weights(
    all_signals: Sequence[Signals],
    queries: Sequence[Query],
    train: Sequence[int],
    grid: Sequence[dict[str, float]],
) -> dict[str, float]:
    """The grid's fusion weights with the best MRR on the `train` queries (ties: first)."""
    subset = [queries[i] for i in train]

    def mrr(weights: dict[str, float]) -> float:
        ranked = [[f for f, _ in fuse(all_signals[i].rankings, weights)] for i in train]
        return metrics(ranked, subset)["mrr"]

    return max(grid, key=mrr)


def fit_verdict(
    all_signals: Sequence[Signals], queries: Sequence[Query], train: Iterable[int]
) -> tuple[tuple[dict[str, float], float], tuple[float, float]]:
    """On the `train` queries: the confidence model (a logistic regression of "the query
    has a match" on the best match's features) and the verdict thresholds, chosen on the
    confidence `recognize` decides by (the highest of its top five matches')."""
    train = list(train)
    names = list(CONFIDENCE_WEIGHTS)
    tops, rows = [], []
    for i in train:
        ranking, evidence = top_evidence(all_signals[i], queries[i], WEIGHTS)
        tops.append(ranking[0] if ranking else "")
        rows.append([evidence[name] for name in names])
    subset = [queries[i] for i in train]
    labels = np.array([1.0 if q.expected else 0.0 for q in subset])
    coefficients, bias = fit_logistic(np.array(rows), labels, L2)
    model = (dict(zip(names, coefficients.tolist(), strict=True)), bias)
    scores = [verdict_confidence(all_signals[i], queries[i], model) for i in train]
    return model, choose_thresholds(scores, subset, tops)


if __name__ == "__main__":
    main()
