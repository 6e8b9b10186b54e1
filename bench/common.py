"""Helpers shared by the benchmarks: timing, memory, percentiles, the model, machine facts."""

from __future__ import annotations

import platform
import resource
import sqlite3
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lessons.graph.embeddings import Embedder, Matrix, SentenceTransformerEmbedder, open_runtime
from lessons.graph.settings import Settings

RESULTS_DIR = Path(__file__).resolve().parent / "results"  # gitignored


@dataclass
class Stopwatch:
    """Seconds measured by `timed()`."""

    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """`with timed() as t: ...` then `t.seconds` (wall clock, perf_counter)."""
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - start


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100, linear interpolation)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), p))


def ms_summary(seconds: Sequence[float]) -> str:
    """`p50 / p95 / mean / max` of durations given in seconds, printed in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"p50 {percentile(ms, 50):7.2f}  p95 {percentile(ms, 95):7.2f}  "
        f"mean {statistics.fmean(ms):7.2f}  max {max(ms):7.2f} ms"
    )


@dataclass
class RecordingEmbedder:
    """Wraps an embedder and records every `encode` call: its texts and the seconds it took."""

    inner: Embedder
    calls: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts: Sequence[str]) -> Matrix:
        self.calls.append(list(texts))
        start = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            self.seconds += time.perf_counter() - start

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


def load_model(
    batch_size: int, warm_up_texts: Sequence[str], runtime: str | None = None
) -> Embedder:
    """The real all-MiniLM-L6-v2 on `runtime` (default: $LESSONS_EMBED_RUNTIME, else onnx),
    loaded and warmed up so neither side of a comparison pays for loading or first-call setup.
    `batch_size` is torch's; the ONNX runtimes encode in the batches the CLI and API use."""
    settings = replace(
        Settings.from_env(), embed_runtime=runtime or Settings.from_env().embed_runtime
    )
    runtime = settings.embed_runtime
    model: Embedder
    if runtime == "torch":
        model = SentenceTransformerEmbedder(batch_size=batch_size)
    else:
        model = open_runtime(settings, on_export=print)
    with timed() as t:
        model.encode(["warm-up"])
    model.encode(list(warm_up_texts))
    model.encode(list(warm_up_texts))
    print(
        f"model loaded on {runtime} in {t.seconds:.1f} s (not counted), warmed up on "
        f"{2 * len(warm_up_texts)} texts"
    )
    return model


def machine_info() -> str:
    """One line about the machine and the library versions that matter here."""
    import sys
    from importlib.metadata import version

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(__import__("os").sched_getaffinity(0))
    torch_threads = (
        f" ({sys.modules['torch'].get_num_threads()} threads)" if "torch" in sys.modules else ""
    )
    return (
        f"{cpu}, {cores} cores, Python {platform.python_version()}, "
        f"torch {version('torch')}{torch_threads}, onnxruntime {version('onnxruntime')}, "
        f"numpy {np.__version__}, SQLite {sqlite3.sqlite_version}"
    )
