"""Extraction benchmark: what the Markdown extractor takes from real postmortems, per kind,
against what careful readers labelled (bench/data/extraction-gold/), beside the extractor of
another commit (by default the one before this work) measured in the same run.

    python bench/extraction.py [--baseline REV] [--split dev|test|all] [--show KIND]

- The documents are the real public postmortems in ../shared/corpus/public-postmortems/docs
  (the texts stay there); the labels were written blind, from the documents only (see
  bench/data/extraction-gold/LABELLING.md).
- Scoring is bench/gold.py: per kind, one-to-one fuzzy matches of extracted to gold items;
  precision, recall and F1 summed over documents; titles and incident dates per document; the
  share of matched causes whose role (root, trigger, contributing) agrees with the label; and
  the "went well" and "where we got lucky" items an extractor stored as lessons.
- `split.json` holds out a third of each source (`test`), fixed before any tuning; figures are
  printed for the tuned-on part (`dev`), the held-out part and both. Nothing in the extractor
  is fitted: its rules (headings, cue phrases, the component vocabulary) were written while
  reading the `dev` documents only, so `test` is the figure that says how it generalises.
- The baseline runs in a subprocess on `git archive REV graph ingest`, so both extractors read
  the same files in the same run. `--show KIND` prints, per document, the gold and extracted
  items of KIND and which matched.
- `second-reader/` holds a second blind labelling of 12 of the documents, by a reader who saw
  neither the first labels nor the code: how far two readers agree is printed beside the
  extractor on those documents, the figure that says what a target can ask of a reader.
- Also: the empty templates in corpus/templates (they should import as nothing, or be refused
  with a reason), and documents that fail to parse.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from gold import (
    CORPUS_DOCS,
    GOLD_DIR,
    KINDS,
    Item,
    extracted_items,
    gold_items,
    load_gold,
    load_split,
    match,
    title_matches,
)

REPO = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
BASELINE = "d2f89a3"  # the last commit before the extraction work of issue 13
EXTRA_KINDS = ("went_well",)
SECOND_READER = GOLD_DIR / "second-reader"  # a second blind labelling of some documents

EXTRACT = """
import json, sys, time
from lessons.ingest.parsers import parse_document
texts = {path: open(path, encoding="utf-8").read() for path in sys.argv[1:]}
out = {}
start = time.perf_counter()  # one pass: an import reads each document once
for path, text in texts.items():
    try:
        out[path] = parse_document(text, path, ".md")[0].model_dump(mode="json")
    except Exception as e:  # a refusal is a result here, not a crash of the benchmark
        out[path] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps({"records": out, "seconds": time.perf_counter() - start}))
"""


def extract(paths: list[Path], rev: str | None) -> tuple[dict[str, dict[str, Any]], float]:
    """Records (as JSON data) of `paths` by the extractor in the working tree, or at `rev`,
    and the wall time to parse them all once (in a fresh process, as an import would)."""
    args = [str(p) for p in paths]
    if rev is None:
        done = subprocess.run(
            [sys.executable, "-c", EXTRACT, *args], capture_output=True, text=True, check=True
        )
        return _read(done.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "graph", "ingest"],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(Path(tmp) / "lessons", filter="data")
        # `lessons` is a namespace package: a folder first on sys.path wins over the install.
        code = f"import sys; sys.path.insert(0, {tmp!r})\n{EXTRACT}"
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
        )
    return _read(done.stdout)


def _read(stdout: str) -> tuple[dict[str, dict[str, Any]], float]:
    data = json.loads(stdout)
    return {Path(k).name: v for k, v in data["records"].items()}, float(data["seconds"])


def encoding_seconds(records: dict[str, dict[str, Any]]) -> float:
    """Best of three wall times to encode what an import of these records encodes (the
    default runtime, loaded and warmed up first, no vector cache): the yardstick extraction's
    cost is given against, as in bench/ingest.py."""
    from common import load_model

    from lessons.graph.embeddings import embedded_texts
    from lessons.graph.models import Document
    from lessons.ingest.mapping import build_document_graph
    from lessons.ingest.record import PostmortemRecord

    texts: list[str] = []
    for name, fields in records.items():
        if "error" in fields:
            continue
        record = PostmortemRecord.model_validate(fields)
        document = Document(
            id=f"document:{name}", path=name, sha256="0" * 64, format="md", ingested_at=NOW
        )
        graph = build_document_graph(document, [(f"bench-{len(texts)}", record)])
        texts += list(dict.fromkeys(embedded_texts(graph.nodes).values()))
    model = load_model(64, texts[:64])
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        model.encode(texts)
        best = min(best, time.perf_counter() - start)
    print(f"encoding: {len(texts)} texts")
    return best


def score(
    records: dict[str, dict[str, Any]], gold: dict[str, dict[str, Any]], docs: list[str]
) -> dict[str, Any]:
    """Per kind matched / extracted / gold over `docs`, and the per-document checks."""
    totals = {kind: [0, 0, 0] for kind in (*KINDS, *EXTRA_KINDS)}
    titles = dates = stated_dates = lucky_as_lessons = failed = empty = roles = 0
    for doc in docs:
        record, label = records[doc], gold[doc]
        if "error" in record:
            failed += 1
            record = {}
        for kind in (*KINDS, *EXTRA_KINDS):
            result = match(
                extracted_items(record, kind), gold_items(label, kind), names=kind == "components"
            )
            for i, value in enumerate((result.matched, result.extracted, result.gold)):
                totals[kind][i] += value
            if kind == "causes":
                roles += sum(
                    (record["causes"][e].get("role") or "root") == label["causes"][g]["role"]
                    for e, g, _ in result.pairs
                )
        titles += title_matches(record.get("title"), label.get("title"))
        if label.get("incident_date"):
            stated_dates += 1
            dates += str(record.get("occurred_at") or "")[:10] == label["incident_date"]
        not_lessons = gold_items(label, "went_well") + gold_items(label, "lucky")
        lucky_as_lessons += match(extracted_items(record, "lessons"), not_lessons).matched
        empty += not record.get("causes") and not record.get("lessons")
    return {
        "kinds": totals,
        "titles": (titles, len(docs)),
        "cause_roles": (roles, totals["causes"][0]),
        "dates": (dates, stated_dates),
        "went_well_as_lessons": lucky_as_lessons,
        "failed": failed,
        "no_cause_no_lesson": empty,
    }


def prf(matched: int, extracted: int, gold: int) -> tuple[float, float, float]:
    precision = matched / extracted if extracted else 0.0
    recall = matched / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def print_table(name: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    print(f"\n## {name}")
    print(f"{'kind':<12} {'gold':>5} | {'baseline P / R / F1':>22} | {'now P / R / F1':>22}")
    for kind, (_, _, gold) in after["kinds"].items():
        columns = []
        for side in (before, after):
            p, r, f = prf(*side["kinds"][kind])
            columns.append(f"{p:6.2f} {r:6.2f} {f:6.2f} ({side['kinds'][kind][1]:>3})")
        print(f"{kind:<12} {gold:>5} | {columns[0]} | {columns[1]}")
    for check in ("titles", "dates"):
        (b, n), (a, _) = before[check], after[check]
        print(f"{check:<12} {n:>5} | {b / n:>22.2f} | {a / n:>22.2f}")
    (b, nb), (a, na) = before["cause_roles"], after["cause_roles"]
    print(f"{'cause roles':<12} {'':>5} | {b / max(nb, 1):>22.2f} | {a / max(na, 1):>22.2f}")
    for check in ("went_well_as_lessons", "failed", "no_cause_no_lesson"):
        print(f"{check:<20} baseline {before[check]:>3}   now {after[check]:>3}")


def second_reader(records: dict[str, dict[str, Any]], gold: dict[str, dict[str, Any]]) -> None:
    """How far a second careful reader, labelling the same documents blind, agrees with the
    first (the gold set), per kind, beside the extractor on those documents: what a target
    can fairly ask of a reader of these texts."""
    second = load_gold(SECOND_READER)
    docs = sorted(second)
    extractor = score(records, gold, docs)
    print(f"\n## a second reader, blind, on {len(docs)} documents (P / R / F1 against the gold)")
    print(f"{'kind':<12} {'gold':>5} | {'second reader':>22} | {'extractor now':>22}")
    for kind in (*KINDS, *EXTRA_KINDS):
        reader = [0, 0, 0]
        for doc in docs:
            result = match(
                gold_items(second[doc], kind),
                gold_items(gold[doc], kind),
                names=kind == "components",
            )
            for i, value in enumerate((result.matched, result.extracted, result.gold)):
                reader[i] += value
        columns = [
            "{:6.2f} {:6.2f} {:6.2f} ({:>3})".format(*prf(*side), side[1])
            for side in (reader, extractor["kinds"][kind])
        ]
        print(f"{kind:<12} {reader[2]:>5} | {columns[0]} | {columns[1]}")
    stated = [d for d in docs if gold[d].get("incident_date")]
    reader_titles = sum(title_matches(second[d].get("title"), gold[d].get("title")) for d in docs)
    reader_dates = sum(second[d].get("incident_date") == gold[d]["incident_date"] for d in stated)
    (titles, _), (dates, _) = extractor["titles"], extractor["dates"]
    print(f"titles: second reader {reader_titles}/{len(docs)}, extractor {titles}/{len(docs)}")
    print(f"dates: second reader {reader_dates}/{len(stated)}, extractor {dates}/{len(stated)}")


def show(kind: str, records: dict[str, dict[str, Any]], gold: dict[str, Any], docs: list[str]):
    for doc in docs:
        extracted = extracted_items(records[doc], kind)
        truth = gold_items(gold[doc], kind)
        result = match(extracted, truth, names=kind == "components")
        hit_e = {e for e, _, _ in result.pairs}
        hit_g = {g for _, g, _ in result.pairs}
        print(
            f"\n### {doc}: {result.matched} matched, {len(extracted)} extracted, {len(truth)} gold"
        )
        for g, item in enumerate(truth):
            print(f"  {'+' if g in hit_g else '-'} gold: {_short(item)}")
        for e, item in enumerate(extracted):
            if e not in hit_e:
                print(f"  ? extracted: {_short(item)}")


def _short(item: Item) -> str:
    return item.label if len(item.label) < 110 else item.label[:107] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="commit of the extractor to beat")
    parser.add_argument("--split", choices=("dev", "test", "all"), default=None)
    parser.add_argument("--show", choices=(*KINDS, *EXTRA_KINDS), default=None)
    args = parser.parse_args()
    docs_dir = CORPUS_DOCS / "docs"
    if not docs_dir.is_dir():
        sys.exit(f"the public postmortem corpus is not at {docs_dir} (it lives outside the repo)")
    gold, split = load_gold(), load_split()
    paths = [docs_dir / doc for doc in sorted(gold)]
    now, now_seconds = extract(paths, None)
    before, before_seconds = extract(paths, args.baseline)
    if args.show:
        chosen = [d for d in sorted(gold) if args.split in (None, "all", split[d])]
        show(args.show, now, gold, chosen)
        return
    print(f"extractor now vs {args.baseline}, on {len(gold)} labelled real postmortems")
    for part in ("dev", "test", "all"):
        if args.split not in (None, part):
            continue
        chosen = [d for d in sorted(gold) if part == "all" or split[d] == part]
        label = {"dev": "tuned on", "test": "held out", "all": "all"}[part]
        print_table(
            f"{part} ({label}): {len(chosen)} documents",
            score(before, gold, chosen),
            score(now, gold, chosen),
        )
    second_reader(now, gold)
    encode = encoding_seconds(now)
    print(
        f"\n## time, {len(paths)} documents\nparse (one pass): baseline {before_seconds:.2f} s, "
        f"now {now_seconds:.2f} s; encoding what the import encodes (best of 3): {encode:.2f} s; "
        f"extraction adds {(now_seconds - before_seconds) / encode:.1%} of the encoding time "
        f"(now parsing is {now_seconds / encode:.1%} of it)"
    )
    templates = sorted((CORPUS_DOCS / "templates").glob("*.md"))
    print("\n## empty templates (should import as nothing, or be refused with a reason)")
    for name, record in extract(templates, None)[0].items():
        verdict = record.get("error") or (
            f"imported: {record.get('title')!r}, "
            + ", ".join(f"{len(record.get(k) or [])} {k}" for k in KINDS)
        )
        print(f"- {name}: {verdict}")


if __name__ == "__main__":
    main()
