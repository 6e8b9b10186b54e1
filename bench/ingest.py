"""Import benchmark: how much a bulk import costs beyond encoding its texts, and how cheap a
re-import of an unchanged corpus is.

    python bench/ingest.py [--n 1000] [--seed 1] [--profile]

In one process, with the real all-MiniLM-L6-v2 (loaded and warmed up before any timing):

1. Generate N postmortems (bench/generate.py) as Markdown/YAML files in a temporary directory.
2. Stub pass: `discover` + `ingest` into a fresh SqliteStore through a `CachingEmbedder` over a
   fresh cache whose model is a stub returning constant vectors. This records exactly which
   texts the pipeline sends to the model, in which calls, and times the pipeline with
   (almost) no encoding cost.
3. Baseline, encoder alone: the model's `encode` ($LESSONS_EMBED_RUNTIME; same instance, same batch
   size) over exactly those distinct texts, replaying the same calls the import makes; once
   also as one call with all of them (the best batching the encoder can get).
4. Import: `discover` + `ingest` into a fresh SqliteStore through a `CachingEmbedder` over a
   fresh cache, with the real model; the texts it encodes are recorded and checked to be the
   ones the baseline encoded. Total wall time, and the time spent inside the model.
   Imports and baselines alternate (B I B, or B I B I B with `--repeat 2`, the default up to
   2,000 docs) so noise from other work on the shared machine hits both sides; the ratio is
   best import / best baseline.
5. Re-import of the unchanged corpus (new store and cache objects on the first import's files,
   like a second `lessons ingest` run): every file must come back `unchanged`, nothing encoded.

Printed: docs/s and encoded texts/s of the import, the ratio import / encoder-only (target
<= 1.15), the re-import speed-up (target >= 50x), peak RSS. Nothing is asserted on time.

`--profile` instead runs the stub pass under cProfile: everything it spends is non-encoding
time, broken down by pipeline stage and by function (the full profile is saved under
bench/results/).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import (
    RESULTS_DIR,
    RecordingEmbedder,
    load_model,
    machine_info,
    peak_rss_mib,
    timed,
)
from generate import DEFAULT_SEED, generate_records, write_corpus

from lessons.graph.embeddings import CachingEmbedder, Embedder, Matrix
from lessons.graph.store import SqliteStore
from lessons.ingest.pipeline import FileStatus, IngestReport, discover, ingest

TARGET_RATIO = 1.15
TARGET_SPEEDUP = 50.0


class StubModel:
    """A model that costs nothing: every text gets the same unit vector."""

    def __init__(self, dimension: int) -> None:
        self._dimension = dimension
        self._row = np.full(dimension, 1 / np.sqrt(dimension), dtype=np.float32)

    @property
    def model_name(self) -> str:
        return "all-MiniLM-L6-v2"

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str]) -> Matrix:
        return np.tile(self._row, (len(texts), 1))


def run_import(
    docs: Path, store_file: Path, cache_file: Path, model: Embedder
) -> tuple[IngestReport, CachingEmbedder, float]:
    """discover + ingest of `docs` into the store at `store_file`; returns the wall time too."""
    store = SqliteStore(store_file)
    embedder = CachingEmbedder(model, cache_file)
    try:
        with timed() as t:
            sources, missing = discover([str(docs)])
            report = ingest(store, embedder, sources)
        assert not missing
        if not report.ok:
            errors = [r.error for r in report.results if r.error][:5]
            raise SystemExit(f"import failed: {errors}")
    finally:
        store.close()
        embedder.close()
    return report, embedder, t.seconds


def replay(model: Embedder, calls: list[list[str]]) -> float:
    """Seconds the model alone takes for exactly these encode calls."""
    with timed() as t:
        for call in calls:
            model.encode(call)
    return t.seconds


def _in_package(file: str) -> bool:
    """Whether a profiled function belongs to the lessons package (not deps, not bench/)."""
    repo = Path(__file__).resolve().parent.parent
    return file.startswith(str(repo)) and not file.startswith(
        (str(repo / ".venv"), str(repo / "bench"))
    )


def profile_stub_import(docs: Path, work: Path, dimension: int, n: int) -> None:
    """cProfile of the stub pass: where the non-encoding time of an import goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    report, _, seconds = run_import(
        docs,
        work / "profile.sqlite3",
        work / "profile-cache" / "vectors.sqlite3",
        StubModel(dimension),
    )
    profiler.disable()
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"ingest-profile-n{n}.pstats"
    profiler.dump_stats(str(out))
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    print(
        f"\nprofiled stub import of {n} docs: {seconds:.1f} s wall under cProfile "
        f"({report.count(FileStatus.IMPORTED)} imported); profile saved to {out}"
    )

    def cumulative(path_part: str, name: str) -> float:
        return sum(
            ct
            for (file, _, func), (_, _, _, ct, _) in raw.items()
            if func == name and path_part in file
        )

    stages = [
        ("discover (walk + stat files)", "ingest/pipeline.py", "discover"),
        ("unchanged check (_known_documents)", "ingest/pipeline.py", "_known_documents"),
        (
            "parse (parse_document: YAML/Markdown + validation)",
            "ingest/parsers.py",
            "parse_document",
        ),
        ("failure id ownership (_failure_ids)", "ingest/pipeline.py", "_failure_ids"),
        ("graph building (build_document_graph)", "ingest/mapping.py", "build_document_graph"),
        ("vector cache (CachingEmbedder.encode, stub model)", "graph/embeddings.py", "encode"),
        (
            "write: replace_documents (_Importer.write)",
            "ingest/pipeline.py",
            "write",
        ),
        ("  of which SqliteStore.replace_documents", "graph/store/sqlite.py", "replace_documents"),
        ("recurrence linking pass (link_recurrences)", "ingest/pipeline.py", "link_recurrences"),
    ]
    print(f"\nnon-encoding time by stage (cumulative, share of {total:.1f} s profiled):")
    for label, path_part, name in stages:
        seconds_in = cumulative(path_part, name)
        print(f"  {label:<64} {seconds_in:7.2f} s  {100 * seconds_in / total:5.1f}%")
    print("\ntop functions by cumulative time in the lessons package:")
    stats.sort_stats("cumulative")
    lessons_rows = sorted(
        (
            (ct, nc, f"{Path(file).parent.name}/{Path(file).name}:{line} {func}")
            for (file, line, func), (_, nc, _, ct, _) in raw.items()
            if _in_package(file)
        ),
        reverse=True,
    )
    for ct, nc, where in lessons_rows[:25]:
        print(f"  {ct:7.2f} s  {nc:9d} calls  {where}")
    print("\ntop functions by own time (anywhere):")
    own = sorted(
        (
            (tt, nc, f"{Path(file).name}:{line} {func}")
            for (file, line, func), (_, nc, tt, _, _) in raw.items()
        ),
        reverse=True,
    )
    for tt, nc, where in own[:20]:
        print(f"  {tt:7.2f} s  {nc:9d} calls  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="postmortems to generate")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch-size", type=int, default=64, help="model batch size")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="imports to run, alternated with repeat+1 baseline runs "
        "(default: 2 up to 2,000 docs, else 1)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the stub import instead of timing"
    )
    args = parser.parse_args()

    if args.repeat is None:
        args.repeat = 2 if args.n <= 2000 else 1
    print(f"machine: {machine_info()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="lessons-bench-ingest-") as tmp:
        work = Path(tmp)
        docs = work / "docs"
        with timed() as t:
            write_corpus(docs, args.n, args.seed)
        size = sum(p.stat().st_size for p in docs.iterdir())
        print(f"generated {args.n} postmortems ({size / 2**20:.1f} MiB) in {t.seconds:.1f} s")

        warm = [f"{r['title']}. {r['summary']}" for r in generate_records(128, args.seed + 1000)]
        model = load_model(args.batch_size, warm)
        if args.profile:
            profile_stub_import(docs, work, model.dimension, args.n)
            return
        rss_model = peak_rss_mib()

        # 1. Stub pass: the exact encode calls of an import, and its cost without the model.
        stub = RecordingEmbedder(StubModel(model.dimension))
        _, _, stub_seconds = run_import(
            docs, work / "stub.sqlite3", work / "stub-cache" / "vectors.sqlite3", stub
        )
        calls = stub.calls
        distinct = stub.texts
        assert len(set(distinct)) == len(distinct), "the cache should send each text once"
        print(
            f"stub pass: {stub_seconds:.1f} s, {len(distinct)} distinct texts in "
            f"{len(calls)} encode calls"
        )

        # 2. Baselines and imports, alternated (B I B I ... B) so that noise from other work on
        #    the machine hits both sides; each import gets a fresh store and vector cache.
        baselines = [replay(model, calls)]
        print(f"baseline, same calls:   {baselines[-1]:.1f} s")
        with timed() as t:
            model.encode(distinct)
        base_one = t.seconds
        print(f"baseline, one call:     {base_one:.1f} s")
        imports: list[tuple[float, float]] = []  # (wall seconds, seconds inside the model)
        for run in range(args.repeat):
            recorder = RecordingEmbedder(model)
            report, embedder, import_seconds = run_import(
                docs,
                work / f"store-{run}.sqlite3",
                work / f"cache-{run}" / "vectors.sqlite3",
                recorder,
            )
            assert recorder.calls == calls, "the import encoded other texts than the baseline"
            imports.append((import_seconds, recorder.seconds))
            print(
                f"import:                 {import_seconds:.1f} s "
                f"({recorder.seconds:.1f} s inside the model)"
            )
            baselines.append(replay(model, calls))
            print(f"baseline, same calls:   {baselines[-1]:.1f} s")
        rss_import = peak_rss_mib()

        # 3. Re-import of the unchanged corpus into the first import's store.
        reimports = []
        for _ in range(3):
            again, _, seconds = run_import(
                docs, work / "store-0.sqlite3", work / "cache-0" / "vectors.sqlite3", model
            )
            unchanged = again.count(FileStatus.UNCHANGED)
            assert unchanged == args.n and again.texts_embedded == 0, "re-import was not a no-op"
            reimports.append(seconds)
        reimport_seconds = min(reimports)
        print(f"re-import:              {', '.join(f'{s:.2f}' for s in reimports)} s")

    # Best-of-runs is the noise-robust estimate on a shared machine; medians are shown too.
    import_best, model_in_best = min(imports)
    base_best = min(baselines)
    import_median = statistics.median(s for s, _ in imports)
    base_median = statistics.median(baselines)
    imported = report.count(FileStatus.IMPORTED)
    encoded = embedder.encoded_count
    ratio = import_best / base_best
    speedup = import_best / reimport_seconds
    results = {
        "n": args.n,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "machine": machine_info(),
        "docs_imported": imported,
        "texts_in_import": report.texts_embedded,
        "texts_encoded": encoded,
        "encode_calls": len(calls),
        "stub_import_s": stub_seconds,
        "import_s": [s for s, _ in imports],
        "import_model_s": [m for _, m in imports],
        "baseline_same_calls_s": baselines,
        "baseline_one_call_s": base_one,
        "reimport_s": reimports,
        "ratio_best": ratio,
        "ratio_median": import_median / base_median,
        "ratio_vs_one_call": import_best / base_one,
        "reimport_speedup": speedup,
        "peak_rss_mib_after_model": rss_model,
        "peak_rss_mib_after_imports": rss_import,
        "peak_rss_mib": peak_rss_mib(),
        "unlinked_recurrences": len(report.unlinked),
        "load_average_end": os.getloadavg()[0],
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"ingest-n{args.n}.json").write_text(json.dumps(results, indent=2))

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    non_encoding = import_best - model_in_best
    runs = ", ".join(f"{s:.1f}" for s, _ in imports)
    base_runs = ", ".join(f"{s:.1f}" for s in baselines)
    print(f"""
== import of {args.n} postmortems ({imported} imported, seed {args.seed}) ==
texts: {report.texts_embedded} distinct per chunk, {encoded} sent to the model \
(the rest served by the vector cache), in {len(calls)} encode calls
import:          {import_best:8.1f} s  {imported / import_best:7.1f} docs/s  \
{encoded / import_best:7.1f} texts encoded/s   (best of runs: {runs})
encoder alone:   {base_best:8.1f} s  {encoded / base_best:7.1f} texts/s  \
(same texts in the same calls; best of runs: {base_runs})
encoder alone:   {base_one:8.1f} s  {encoded / base_one:7.1f} texts/s  (all texts in one call)
ratio import / encoder alone: {ratio:.3f} best/best, {import_median / base_median:.3f} \
median/median, {import_best / base_one:.3f} vs one call; target <= {TARGET_RATIO}: \
{verdict(ratio <= TARGET_RATIO)}
  inside the model during the best import: {model_in_best:.1f} s; non-encoding time: \
{non_encoding:.1f} s ({1000 * non_encoding / args.n:.2f} ms/doc)
  stub pass (same pipeline, constant vectors): {stub_seconds:.1f} s \
({1000 * stub_seconds / args.n:.2f} ms/doc)
re-import (unchanged): {reimport_seconds:8.2f} s  {args.n / reimport_seconds:9.0f} docs/s  \
(best of 3)  speed-up {speedup:.0f}x; target >= {TARGET_SPEEDUP:.0f}x: \
{verdict(speedup >= TARGET_SPEEDUP)}
peak RSS: {rss_model:.0f} MiB after loading the model, {rss_import:.0f} MiB after the \
imports, {peak_rss_mib():.0f} MiB at the end
load average now {os.getloadavg()[0]:.1f} (other work on this 2-core machine inflates both sides)
""")
    spread = max(baselines) / base_best
    if spread > 1.15 or max(s for s, _ in imports) / import_best > 1.15:
        print(
            f"WARNING: repeated runs differ by up to {100 * (spread - 1):.0f}% (baselines) — "
            "the machine was busy, so the ratio above is not reliable; rerun when idle."
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
