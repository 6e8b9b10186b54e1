"""Encoder runtimes benchmark: torch (sentence-transformers) and onnx (onnxruntime over the
ONNX export, the default), each figure printed beside torch's from the same run.

    python bench/encoder.py [--n-texts 2000] [--queries 200] [--rounds 5] [--docs 200] [--quick]

The machine is small and shared, so the runtimes alternate round by round (torch, onnx,
torch, ...) and every figure is also given relative to torch in the same run: a
speed-up is torch's seconds / the runtime's seconds (> 1: faster than torch).

A. The encoder alone, in this process; the runtimes are loaded with `common.load_model`
   (torch in batches of 64, the ONNX runtimes in their own, as the CLI and API use them) and
   warmed up before anything is timed.
   1. Throughput over the texts an import of generated postmortems sends to the model (recorded
      by a stub import, as bench/ingest.py does; the first --n-texts of them, all distinct),
      encoded in one call per runtime per round: texts/s per round, and the median (min-max)
      of the per-round speed-ups.
   2. One query at a time: --queries short texts (generated titles, distinct, never encoded
      before in this process), one `encode([text])` each, runtimes interleaved query by query:
      p50 / p95 ms.
   3. The same with other titles on a loaded machine, while two processes spin the CPU.
   4. Agreement with torch on the throughput texts (min and mean cosine), and whether a text's
      vector is the same encoded alone as within the batch call (first 200 texts).
B. Cold start, each in a fresh `python -c` process, runtimes alternating, --rounds times:
   import, `open_runtime` (what the CLI and the API build) and one encode. Median wall seconds
   from spawn to exit, the child's peak RSS (VmHWM) and whether it imported torch. Once
   per runtime, a child that encodes the throughput texts: its peak RSS.
C. End to end, in a temporary store and vector cache (its models/ folder links to this
   benchmark's, so the ONNX export is made once):
   1. Import of --docs generated postmortems (`discover` + `ingest`, bench/ingest.py's
      `run_import`) into a fresh SqliteStore through a fresh CachingEmbedder over the loaded
      model of each runtime, alternating; best of 2 per runtime, docs/s.
   2. A cold `lessons recognize QUESTION` (the console script beside sys.executable) against
      examples/postmortems, imported once, with LESSONS_EMBED_RUNTIME set. One untimed run per
      runtime first, so that the vector cache holds the passages recognize compares; the
      question's vector is removed from the cache before every run, so each run loads the model
      and encodes the question (the texts each run encoded are counted in the cache).
   3. `lessons serve` started per round: seconds from spawn until GET /readyz answers 200, the
      latency of the first POST /v1/recognize after that, and spawn to that answer. The vectors
      of the question and of the server's warm-up text are removed from the cache before each
      start, so that every start loads the model (with the warm-up text cached, the server
      would report ready before loading it; the first request would pay for it).

Printed: a table per part. Saved: every figure, under bench/results/encoder-<timestamp>.json.
LESSONS_CACHE_DIR is set to bench/results/encoder-cache/ for the whole run (load_model and the
children use it), so the ONNX export is made there once and reused by later runs; nothing is
written to the user's cache. Nothing is asserted on time. `--quick` (200 texts, 20 queries,
2 rounds, 20 docs) is a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    RESULTS_DIR,
    RecordingEmbedder,
    load_model,
    machine_info,
    peak_rss_mib,
    percentile,
    timed,
)
from generate import DEFAULT_SEED, generate_records, write_corpus

from ingest import StubModel, run_import
from lessons.graph.embeddings import Embedder, Matrix, text_key
from lessons.graph.recognize import RecognizeQuery
from lessons.ingest.pipeline import FileStatus

RUNTIMES = ("torch", "onnx")
BATCH_SIZE = 64  # torch's batch size in an import (SentenceTransformerEmbedder)
FULL = {"n_texts": 2000, "queries": 200, "rounds": 5, "docs": 200}
QUICK = {"n_texts": 200, "queries": 20, "rounds": 2, "docs": 20}
IMPORT_RUNS = 2  # per runtime, in part C1 (best of)
ALONE_SAMPLE = 200  # texts encoded alone too, in part A4
SPINNERS = 2
QUESTION = "checkout requests time out because the database has no free connections"
COLD_TEXT = "payments API returns 502s after the certificate rotation"
SERVER_WARM_UP_TEXT = "warm-up"  # what lessons.api.services.Services.warm_up encodes
BENCH_CACHE = RESULTS_DIR / "encoder-cache"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "postmortems"
LESSONS = Path(sys.executable).parent / "lessons"
# Loopback only: no proxy from the environment may get in the way.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Run in a fresh interpreter by part B: what a CLI command or the API pays to get one vector.
# Its peak RSS is VmHWM: on Linux, ru_maxrss survives fork and exec, so a child of this process
# (which holds every runtime) would report at least this process's peak.
COLD_CHILD = """\
import json, re, sys, time
start = time.perf_counter()
from lessons.graph.embeddings import open_runtime
from lessons.graph.settings import Settings
imported = time.perf_counter()
texts = json.loads(open(sys.argv[1]).read())
model = open_runtime(Settings.from_env())
vectors = model.encode(texts)
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "load_encode_s": done - imported,
    "texts": len(vectors),
    "peak_rss_mib": int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1])
    / 1024,
    "torch_imported": "torch" in sys.modules,
}))
"""


# -- small helpers -------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under headers, columns padded to their widest cell."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def times(x: float) -> str:
    return f"{x:.2f}x"


def spread(values: Sequence[float]) -> str:
    return f"{times(median(values))} ({min(values):.2f}-{max(values):.2f})"


@contextmanager
def cpu_spinners(count: int) -> Iterator[None]:
    """`count` processes spinning a core each, killed on the way out (also on error)."""
    spinners: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            spinners.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(0.5)  # let them get going
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cached_rows(cache_file: Path) -> int:
    db = sqlite3.connect(cache_file)
    try:
        return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
    finally:
        db.close()


def forget(cache_file: Path, texts: Sequence[str]) -> int:
    """Remove the cached vectors of `texts` (of every model); returns the rows left."""
    db = sqlite3.connect(cache_file, timeout=30)
    try:
        with db:
            db.executemany(
                "DELETE FROM vectors WHERE text_sha256 = ?", [(text_key(t),) for t in texts]
            )
    finally:
        db.close()
    return cached_rows(cache_file)


# -- inputs ----------------------------------------------------------------------------------


def import_texts(n: int, seed: int, work: Path, dimension: int) -> tuple[list[str], int]:
    """The first `n` texts an import of generated postmortems sends to the model (distinct:
    the import's vector cache sends each text once), and the documents it took."""
    docs = max(20, n // 4)
    while True:
        folder = work / f"texts-{docs}"
        write_corpus(folder, docs, seed)
        stub = RecordingEmbedder(StubModel(dimension))
        run_import(
            folder, work / f"texts-{docs}.sqlite3", work / f"texts-{docs}" / "vectors.sqlite3", stub
        )
        if len(stub.texts) >= n:
            return stub.texts[:n], docs
        docs *= 2


def query_texts(n: int, seed: int, exclude: set[str]) -> list[str]:
    """`n` distinct generated titles (short, query-like), none of them in `exclude`."""
    seen = set(exclude)
    found: list[str] = []
    for record in generate_records(10 * n + 100, seed):
        title = str(record["title"])
        if title not in seen:
            seen.add(title)
            found.append(title)
            if len(found) == n:
                return found
    raise SystemExit(f"could not generate {n} distinct queries")


# -- A: the encoder alone --------------------------------------------------------------------


def throughput(
    models: dict[str, Embedder], texts: list[str], rounds: int
) -> tuple[dict[str, list[float]], dict[str, Matrix]]:
    """texts/s of one `encode(texts)` per runtime per round, and the last round's vectors."""
    rates: dict[str, list[float]] = {rt: [] for rt in RUNTIMES}
    vectors: dict[str, Matrix] = {}
    for round_ in range(rounds):
        for rt in RUNTIMES:
            with timed() as t:
                vectors[rt] = models[rt].encode(texts)
            rates[rt].append(len(texts) / t.seconds)
        line = ", ".join(f"{rt} {rates[rt][-1]:.0f}" for rt in RUNTIMES)
        print(f"  round {round_ + 1}: {line} texts/s")
    return rates, vectors


def query_latencies(models: dict[str, Embedder], queries: list[str]) -> dict[str, list[float]]:
    """Seconds of `encode([query])` per runtime; runtimes interleaved query by query, each
    query starting with the next runtime so that none is always first."""
    seconds: dict[str, list[float]] = {rt: [] for rt in RUNTIMES}
    for i, query in enumerate(queries):
        shift = i % len(RUNTIMES)
        for rt in RUNTIMES[shift:] + RUNTIMES[:shift]:
            with timed() as t:
                models[rt].encode([query])
            seconds[rt].append(t.seconds)
    return seconds


def latency_rows(seconds: dict[str, list[float]]) -> tuple[list[list[str]], dict[str, Any]]:
    torch_p50 = percentile(seconds["torch"], 50)
    torch_p95 = percentile(seconds["torch"], 95)
    rows, figures = [], {}
    for rt in RUNTIMES:
        p50, p95 = percentile(seconds[rt], 50), percentile(seconds[rt], 95)
        figures[rt] = {
            "p50_ms": 1000 * p50,
            "p95_ms": 1000 * p95,
            "mean_ms": 1000 * statistics.fmean(seconds[rt]),
            "speedup_p50": torch_p50 / p50,
            "speedup_p95": torch_p95 / p95,
            "seconds": seconds[rt],
        }
        rows.append(
            [
                rt,
                f"{1000 * p50:.1f}",
                f"{1000 * p95:.1f}",
                times(torch_p50 / p50),
                times(torch_p95 / p95),
            ]
        )
    return rows, figures


def agreement(
    models: dict[str, Embedder], texts: list[str], vectors: dict[str, Matrix]
) -> dict[str, Any]:
    """Cosines to torch over `texts`, and alone vs in-batch vectors on the first texts."""
    sample = texts[:ALONE_SAMPLE]
    figures: dict[str, Any] = {}
    for rt in RUNTIMES:
        cosine = (vectors[rt] * vectors["torch"]).sum(axis=1)
        alone = np.vstack([models[rt].encode([text]) for text in sample])
        batch = vectors[rt][: len(sample)]
        identical = sum(np.array_equal(a, b) for a, b in zip(alone, batch, strict=True))
        figures[rt] = {
            "min_cosine_vs_torch": float(cosine.min()),
            "mean_cosine_vs_torch": float(cosine.mean()),
            "alone_texts": len(sample),
            "alone_identical": int(identical),
            "alone_max_abs_diff": float(np.abs(alone - batch).max()),
            "alone_min_cosine": float((alone * batch).sum(axis=1).min()),
        }
    return figures


# -- B: cold start -----------------------------------------------------------------------------


def cold_child(runtime: str, texts_file: Path) -> dict[str, Any]:
    """Run COLD_CHILD on `runtime` over the texts in `texts_file`; its figures + wall seconds."""
    env = {**os.environ, "LESSONS_EMBED_RUNTIME": runtime}
    with timed() as t:
        done = subprocess.run(
            [sys.executable, "-c", COLD_CHILD, str(texts_file)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"cold start on {runtime} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_s"] = t.seconds
    return figures


# -- C: end to end -----------------------------------------------------------------------------


def cli_recognize(
    env: dict[str, str], runtime: str, cache_file: Path, question: str
) -> dict[str, Any]:
    """A cold `lessons recognize QUESTION`, the question's vector removed from the cache first;
    its wall seconds and the texts it encoded."""
    before = forget(cache_file, [question])
    with timed() as t:
        done = subprocess.run(
            [str(LESSONS), "recognize", QUESTION],
            env={**env, "LESSONS_EMBED_RUNTIME": runtime},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"lessons recognize on {runtime} failed:\n{done.stderr[-3000:]}")
    return {"wall_s": t.seconds, "texts_encoded": cached_rows(cache_file) - before}


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def serve_round(
    env: dict[str, str], runtime: str, cache_file: Path, question: str, log_file: Path
) -> dict[str, Any]:
    """Start `lessons serve`; seconds until /readyz is 200, then the first POST /v1/recognize."""
    before = forget(cache_file, [question, SERVER_WARM_UP_TEXT])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_file.open("wb") as log:
        start = time.perf_counter()
        server = subprocess.Popen(
            [str(LESSONS), "serve", "--port", str(port)],
            env={**env, "LESSONS_EMBED_RUNTIME": runtime},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ready = wait_ready(server, base, start, log_file)
            request = urllib.request.Request(
                f"{base}/v1/recognize",
                data=json.dumps({"description": QUESTION}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with timed() as t, HTTP.open(request, timeout=300) as response:
                body = json.loads(response.read())
            answered = time.perf_counter() - start
        finally:
            stop(server)
    if not isinstance(body, dict) or "verdict" not in body:
        raise SystemExit(f"unexpected answer from POST /v1/recognize: {str(body)[:500]}")
    return {
        "ready_s": ready,
        "first_recognize_s": t.seconds,
        "spawn_to_answer_s": answered,
        "texts_encoded": cached_rows(cache_file) - before,
    }


def wait_ready(server: subprocess.Popen[bytes], base: str, start: float, log_file: Path) -> float:
    """Seconds from `start` until GET /readyz answers 200."""
    while True:
        if server.poll() is not None:
            tail = log_file.read_text(errors="replace")[-3000:]
            raise SystemExit(f"lessons serve exited with status {server.returncode}:\n{tail}")
        try:
            with HTTP.open(f"{base}/readyz", timeout=10) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, OSError):
            pass  # not listening yet (connection refused), or 503 while not ready
        if time.perf_counter() - start > 300:
            raise SystemExit("lessons serve did not get ready in 300 s")
        time.sleep(0.02)


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-texts", type=int, help="texts of the throughput test (2000)")
    parser.add_argument("--queries", type=int, help="single-text encodes per runtime (200)")
    parser.add_argument("--rounds", type=int, help="alternating rounds of A1, B, C2, C3 (5)")
    parser.add_argument("--docs", type=int, help="generated postmortems imported in C1 (200)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help="a smoke test: " + str(QUICK))
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    # Everything this run writes stays under bench/results/ or in a temporary folder.
    os.environ["LESSONS_CACHE_DIR"] = str(BENCH_CACHE)
    for name in ("LESSONS_EMBED_RUNTIME", "LESSONS_EMBED_MODEL", "LESSONS_STORE"):
        os.environ.pop(name, None)
    BENCH_CACHE.mkdir(parents=True, exist_ok=True)
    if not LESSONS.is_file():
        raise SystemExit(f"no `lessons` console script at {LESSONS}: pip install -e .")

    load_start = os.getloadavg()[0]
    print(f"machine: {machine_info()}; load average {load_start:.1f}")
    print(
        f"{args.n_texts} texts, {args.queries} queries, {args.rounds} rounds, {args.docs} docs; "
        f"runtimes alternate in the order {', '.join(RUNTIMES)}"
    )
    results: dict[str, Any] = {"args": vars(args), "runtimes": RUNTIMES}

    warm = [f"{r['title']}. {r['summary']}" for r in generate_records(128, args.seed + 1000)]
    models = {rt: load_model(BATCH_SIZE, warm, rt) for rt in RUNTIMES}
    rss_models = peak_rss_mib()

    with tempfile.TemporaryDirectory(prefix="lessons-bench-encoder-") as tmp:
        work = Path(tmp)
        texts, text_docs = import_texts(args.n_texts, args.seed, work, models["torch"].dimension)
        queries = query_texts(2 * args.queries, args.seed + 2000, {*texts, *warm})
        idle_queries, busy_queries = queries[: args.queries], queries[args.queries :]
        chars = statistics.fmean(len(t) for t in texts)
        print(
            f"throughput texts: {len(texts)} from a stub import of {text_docs} generated "
            f"postmortems, {chars:.0f} characters on average; queries "
            f"{statistics.fmean(len(q) for q in queries):.0f} characters on average"
        )
        results["texts"] = {"count": len(texts), "docs": text_docs, "mean_chars": chars}
        results["A"] = part_a(models, texts, idle_queries, busy_queries, args.rounds)
        results["A"]["peak_rss_mib_all_loaded"] = rss_models
        results["B"] = part_b(texts, work, args.rounds)
        results["C"] = part_c(models, work, args)

    results["machine"] = machine_info()
    results["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"encoder-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nload average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} now")
    print(f"saved {out}")


def part_a(
    models: dict[str, Embedder],
    texts: list[str],
    idle_queries: list[str],
    busy_queries: list[str],
    rounds: int,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    print(f"\n== A1 throughput: {len(texts)} texts in one encode call ==")
    rates, vectors = throughput(models, texts, rounds)
    speedups = {rt: [r / t for r, t in zip(rates[rt], rates["torch"], strict=True)] for rt in rates}
    table(
        ["runtime", "texts/s per round", "median", "speed-up vs torch: median (min-max)"],
        [
            [
                rt,
                " ".join(f"{r:.0f}" for r in rates[rt]),
                f"{median(rates[rt]):.0f}",
                spread(speedups[rt]),
            ]
            for rt in RUNTIMES
        ],
    )
    figures["throughput"] = {
        rt: {
            "texts_per_s": rates[rt],
            "median_texts_per_s": median(rates[rt]),
            "speedup_per_round": speedups[rt],
            "median_speedup": median(speedups[rt]),
        }
        for rt in RUNTIMES
    }

    headers = ["runtime", "p50 ms", "p95 ms", "speed-up p50", "speed-up p95"]
    print(f"\n== A2 one query at a time: {len(idle_queries)} distinct titles per runtime ==")
    rows, figures["queries"] = latency_rows(query_latencies(models, idle_queries))
    table(headers, rows)

    print(f"\n== A3 the same, other titles, while {SPINNERS} processes spin the CPU ==")
    with cpu_spinners(SPINNERS):
        busy = query_latencies(models, busy_queries)
    rows, figures["queries_loaded"] = latency_rows(busy)
    table(headers, rows)

    print(f"\n== A4 agreement with torch over the {len(texts)} throughput texts ==")
    figures["agreement"] = same = agreement(models, texts, vectors)
    table(
        [
            "runtime",
            "min cos",
            "mean cos",
            "alone == in batch",
            "max |diff|",
            "min cos alone/batch",
        ],
        [
            [
                rt,
                f"{same[rt]['min_cosine_vs_torch']:.6f}",
                f"{same[rt]['mean_cosine_vs_torch']:.6f}",
                f"{same[rt]['alone_identical']}/{same[rt]['alone_texts']}",
                f"{same[rt]['alone_max_abs_diff']:.2e}",
                f"{same[rt]['alone_min_cosine']:.6f}",
            ]
            for rt in RUNTIMES
        ],
    )
    return figures


def part_b(texts: list[str], work: Path, rounds: int) -> dict[str, Any]:
    print(
        f"\n== B cold start in a fresh process: import + load + encode one text, {rounds} rounds =="
    )
    one = work / "cold-text.json"
    one.write_text(json.dumps([COLD_TEXT]))
    runs: dict[str, list[dict[str, Any]]] = {rt: [] for rt in RUNTIMES}
    for _ in range(rounds):
        for rt in RUNTIMES:
            runs[rt].append(cold_child(rt, one))
    many = work / "throughput-texts.json"
    many.write_text(json.dumps(texts))
    bulk = {rt: cold_child(rt, many) for rt in RUNTIMES}
    wall = {rt: median([r["wall_s"] for r in runs[rt]]) for rt in RUNTIMES}
    rss = {rt: max(r["peak_rss_mib"] for r in runs[rt]) for rt in RUNTIMES}
    table(
        [
            "runtime",
            "wall s",
            "speed-up",
            "lessons import s",
            "load+encode s",
            "peak RSS MiB",
            "torch imported",
            f"RSS, {len(texts)} texts",
        ],
        [
            [
                rt,
                f"{wall[rt]:.2f}",
                times(wall["torch"] / wall[rt]),
                f"{median([r['import_s'] for r in runs[rt]]):.2f}",
                f"{median([r['load_encode_s'] for r in runs[rt]]):.2f}",
                f"{rss[rt]:.0f} ({rss[rt] / rss['torch']:.2f}x)",
                "yes" if any(r["torch_imported"] for r in runs[rt]) else "no",
                f"{bulk[rt]['peak_rss_mib']:.0f} "
                f"({bulk[rt]['peak_rss_mib'] / bulk['torch']['peak_rss_mib']:.2f}x)",
            ]
            for rt in RUNTIMES
        ],
    )
    return {
        rt: {
            "runs": runs[rt],
            "median_wall_s": wall[rt],
            "speedup": wall["torch"] / wall[rt],
            "peak_rss_mib": rss[rt],
            "throughput_child": bulk[rt],
        }
        for rt in RUNTIMES
    }


def part_c(models: dict[str, Embedder], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    print(f"\n== C1 import of {args.docs} generated postmortems, best of {IMPORT_RUNS} ==")
    docs = work / "docs"
    write_corpus(docs, args.docs, args.seed + 3000)
    imports: dict[str, list[dict[str, Any]]] = {rt: [] for rt in RUNTIMES}
    for run in range(IMPORT_RUNS):
        for rt in RUNTIMES:
            report, embedder, seconds = run_import(
                docs,
                work / f"import-{rt}-{run}.sqlite3",
                work / f"import-{rt}-{run}" / "vectors.sqlite3",
                models[rt],
            )
            imported = report.count(FileStatus.IMPORTED)
            imports[rt].append(
                {
                    "seconds": seconds,
                    "docs": imported,
                    "docs_per_s": imported / seconds,
                    "texts_encoded": embedder.encoded_count,
                }
            )
    best = {rt: max(r["docs_per_s"] for r in imports[rt]) for rt in RUNTIMES}
    table(
        ["runtime", "docs/s (best)", "speed-up", "runs, s", "texts encoded"],
        [
            [
                rt,
                f"{best[rt]:.1f}",
                times(best[rt] / best["torch"]),
                " ".join(f"{r['seconds']:.1f}" for r in imports[rt]),
                imports[rt][0]["texts_encoded"],
            ]
            for rt in RUNTIMES
        ],
    )
    figures["import"] = {
        rt: {"runs": imports[rt], "best_docs_per_s": best[rt], "speedup": best[rt] / best["torch"]}
        for rt in RUNTIMES
    }

    # A store with the example postmortems, and a vector cache whose models/ is ours.
    cache = work / "cli-cache"
    cache.mkdir()
    (cache / "models").symlink_to(BENCH_CACHE / "models", target_is_directory=True)
    cache_file = cache / "vectors.sqlite3"
    store_file = work / "examples.sqlite3"
    run_import(EXAMPLES, store_file, cache_file, models["onnx"])
    env = {
        **os.environ,
        "LESSONS_STORE": f"sqlite:///{store_file}",
        "LESSONS_CACHE_DIR": str(cache),
    }
    env.pop("LESSONS_API_KEYS", None)  # without keys the server answers loopback clients
    question = RecognizeQuery(description=QUESTION).text()  # the text recognize encodes

    print(f'\n== C2 cold `lessons recognize "{QUESTION[:40]}..."`, {args.rounds} rounds ==')
    for rt in RUNTIMES:
        cli_recognize(env, rt, cache_file, question)  # untimed: caches the passages it compares
    cli: dict[str, list[dict[str, Any]]] = {rt: [] for rt in RUNTIMES}
    for _ in range(args.rounds):
        for rt in RUNTIMES:
            cli[rt].append(cli_recognize(env, rt, cache_file, question))
    wall = {rt: median([r["wall_s"] for r in cli[rt]]) for rt in RUNTIMES}
    table(
        ["runtime", "wall s (median)", "speed-up", "runs, s", "texts encoded per run"],
        [
            [
                rt,
                f"{wall[rt]:.2f}",
                times(wall["torch"] / wall[rt]),
                " ".join(f"{r['wall_s']:.2f}" for r in cli[rt]),
                " ".join(str(r["texts_encoded"]) for r in cli[rt]),
            ]
            for rt in RUNTIMES
        ],
    )
    figures["cli_recognize"] = {
        rt: {"runs": cli[rt], "median_wall_s": wall[rt], "speedup": wall["torch"] / wall[rt]}
        for rt in RUNTIMES
    }

    print("\n== C3 `lessons serve`: spawn to ready, then the first POST /v1/recognize ==")
    served: dict[str, list[dict[str, Any]]] = {rt: [] for rt in RUNTIMES}
    for round_ in range(args.rounds):
        for rt in RUNTIMES:
            log_file = work / f"serve-{rt}-{round_}.log"
            served[rt].append(serve_round(env, rt, cache_file, question, log_file))
    keys = ("ready_s", "first_recognize_s", "spawn_to_answer_s")
    med = {rt: {k: median([r[k] for r in served[rt]]) for k in keys} for rt in RUNTIMES}
    table(
        [
            "runtime",
            "ready s",
            "speed-up",
            "1st recognize ms",
            "speed-up",
            "spawn to answer s",
            "speed-up",
            "texts encoded",
        ],
        [
            [
                rt,
                f"{med[rt]['ready_s']:.2f}",
                times(med["torch"]["ready_s"] / med[rt]["ready_s"]),
                f"{1000 * med[rt]['first_recognize_s']:.0f}",
                times(med["torch"]["first_recognize_s"] / med[rt]["first_recognize_s"]),
                f"{med[rt]['spawn_to_answer_s']:.2f}",
                times(med["torch"]["spawn_to_answer_s"] / med[rt]["spawn_to_answer_s"]),
                " ".join(str(r["texts_encoded"]) for r in served[rt]),
            ]
            for rt in RUNTIMES
        ],
    )
    figures["serve"] = {
        rt: {
            "runs": served[rt],
            "median": med[rt],
            "speedup": {k: med["torch"][k] / med[rt][k] for k in keys},
        }
        for rt in RUNTIMES
    }
    return figures


if __name__ == "__main__":
    main()
