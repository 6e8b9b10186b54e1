"""Peak memory of `lessons ingest` against the size of the document (issue 16).

Writes Markdown postmortems of growing size (sections of varied sentences, the shape of a
long real write-up), imports each with `lessons ingest` in a fresh process and store, and
prints the peak RSS beside the baseline measured in the same run: the same command on a
one-paragraph document. The multiple is (peak - baseline) / document size.

    python bench/memory.py [--sizes 0.25 0.5 1 2] [--limit-mb 10]

`--limit-mb` is LESSONS_MAX_DOCUMENT_MB for the runs; a document over it is refused, which is
measured too (its peak should be the baseline's).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from common import RESULTS_DIR

WORDS = (
    "database connection pool checkout service deploy rollback cache latency timeout queue "
    "worker node cluster certificate dns config flag migration replica disk memory leak "
    "retry alert pager customer region load balancer index query lock upgrade kernel"
).split()
SECTIONS = ["Summary", "Timeline", "Root cause", "What went wrong", "Lessons learned", "Actions"]


def sentence(draw: random.Random) -> str:
    words = [draw.choice(WORDS) for _ in range(draw.randint(8, 20))]
    hour, minute = draw.randint(0, 23), draw.randint(0, 59)
    return " ".join(words).capitalize() + f" at {hour:02d}:{minute:02d}."


def write_document(path: Path, megabytes: float, *, lists: int = 30, seed: int = 1) -> int:
    """A postmortem of about `megabytes`: `lists` sections of five bullet points (causes,
    lessons, actions), the rest prose; returns its size in bytes."""
    draw = random.Random(seed)
    parts = ["# Checkout outage during the spring sale\n"]
    size = 0
    while size < megabytes * 1_000_000:
        heading = draw.choice(SECTIONS)
        if heading in ("Root cause", "Lessons learned", "Actions") and lists > 0:
            lists -= 1
            body = "\n".join(f"- {sentence(draw)}" for _ in range(5))
        else:
            heading = "Background"  # prose that is none of the kinds (no items to extract)
            body = " ".join(sentence(draw) for _ in range(6))
        part = f"\n## {heading}\n\n{body}\n"
        parts.append(part)
        size += len(part)
    path.write_text("".join(parts))
    return path.stat().st_size


def peak_rss_mib(document: Path, work: Path, limit_mb: float) -> tuple[float, int]:
    """(peak RSS in MiB, exit status) of `lessons ingest document` in a fresh store."""
    cache = work / "cache"
    if not cache.exists():
        cache.mkdir()
        (cache / "models").symlink_to(Path.home() / ".cache" / "lessons" / "models")
    store = work / f"store-{document.stem}.sqlite3"
    env = {
        **os.environ,
        "LESSONS_STORE": str(store),
        "LESSONS_CACHE_DIR": str(cache),
        "LESSONS_MAX_DOCUMENT_MB": str(limit_mb),
    }
    lessons = str(Path(sys.executable).with_name("lessons"))
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", lessons, "ingest", str(document)],
        env=env,
        capture_output=True,
        text=True,
    )
    kib = int(run.stderr.strip().splitlines()[-1])
    return kib / 1024, run.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--limit-mb", type=float, default=10.0)
    parser.add_argument(
        "--lists", type=int, default=30, help="bullet sections per document (5 items each)"
    )
    args = parser.parse_args()
    RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tiny = work / "tiny.md"
        tiny.write_text("# Outage\n\nThe checkout service was down for an hour.\n")
        baseline, _ = peak_rss_mib(tiny, work, args.limit_mb)
        print(f"baseline (one paragraph): {baseline:.0f} MiB peak RSS")
        print("document MB | peak MiB | over baseline MiB | multiple of the document | exit")
        for megabytes in args.sizes:
            document = work / f"doc-{megabytes:g}.md"
            size = write_document(document, megabytes, lists=args.lists)
            peak, status = peak_rss_mib(document, work, args.limit_mb)
            over = peak - baseline
            multiple = over * 1024 * 1024 / size
            print(f"{size / 1e6:11.2f} | {peak:8.0f} | {over:17.0f} | {multiple:24.0f} | {status}")


if __name__ == "__main__":
    main()
