"""The parsers on real public postmortems written by others (../shared/corpus, outside the repo).

Every document must import with a title and a summary, and every recognised section that
has content in the document must show up in the graph.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import CauseRole, Failure, RelType
from lessons.graph.store import SqliteStore
from lessons.ingest.markdown import SECTION_ALIASES, normalise_heading
from lessons.ingest.pipeline import FileStatus, discover, ingest

pytestmark = pytest.mark.corpus

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def sections_with_content(text: str) -> set[str]:
    """Fields whose heading appears in `text` with some words under it (an independent scan)."""
    lines = text.split("\n")
    found = set()
    fence = False
    headings = []
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fence = not fence
        match = None if fence else HEADING.match(line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2)))
    for index, (number, level, heading) in enumerate(headings):
        field = SECTION_ALIASES.get(normalise_heading(heading))
        if field is None:
            continue
        end = next((n for n, lvl, _ in headings[index + 1 :] if lvl <= level), len(lines))
        body = [ln for ln in lines[number + 1 : end] if not HEADING.match(ln)]
        if any(re.search(r"[A-Za-z]{3}", ln) for ln in body):
            found.add(field)
    return found


EXPECTED_EDGE = {
    "lessons": RelType.TAUGHT,
    "actions": RelType.HAS_ACTION,
    "experiments": RelType.INVESTIGATED_BY,
}


def test_every_public_postmortem_imports_with_its_sections(
    corpus: Path, sqlite_store: SqliteStore, embedder: CachingEmbedder
) -> None:
    sources, _ = discover([str(corpus / "docs"), str(corpus / "templates")])
    assert len(sources) >= 50
    report = ingest(sqlite_store, embedder, sources)
    assert report.ok, [r.error for r in report.results if r.error]
    assert report.count(FileStatus.IMPORTED) == len(sources)

    checked_sections = 0
    for result in report.results:
        (failure_id,) = result.failure_ids
        around = sqlite_store.neighbours(failure_id)
        failure = around.nodes[0]
        assert isinstance(failure, Failure)
        assert failure.title.strip() and failure.summary.strip(), result.path
        rels = {(e.rel, e.role) for e in around.edges}
        for field in sections_with_content(Path(result.path).read_text(encoding="utf-8")):
            checked_sections += 1
            if field in ("summary", "impact", "detection", "resolution"):
                assert getattr(failure, field), (result.path, field)
            elif field in ("root", "trigger", "contributing"):
                assert (RelType.CAUSED_BY, CauseRole(field)) in rels, (result.path, field)
            elif field == "timeline":
                assert failure.timeline, result.path
            elif field == "practices":
                assert any(r == RelType.TAUGHT for r, _ in rels), result.path
            else:
                assert (EXPECTED_EDGE[field], None) in rels, (result.path, field)
    assert checked_sections > 200


def test_templates_without_content_still_import(corpus: Path) -> None:
    from lessons.ingest.parsers import parse_document

    for path in sorted((corpus / "templates").iterdir()):
        (record,) = parse_document(path.read_text(encoding="utf-8"), str(path), path.suffix)
        assert record.title and record.summary


def test_icco_front_matter_documents_parse(corpus: Path) -> None:
    from lessons.ingest.parsers import parse_document

    paths = sorted((corpus / "icco-postmortems").glob("*.md"))
    assert len(paths) > 200
    for path in paths:
        (record,) = parse_document(path.read_text(encoding="utf-8"), str(path), ".md")
        assert record.title.strip() and record.summary.strip(), path
