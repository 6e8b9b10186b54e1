"""The parsers on real public postmortems written by others (../shared/corpus, outside the repo).

Every document must import with a title and a summary, and every section named by one of
the template aliases that has content in the document must show up in the graph; the empty
templates are refused with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import CauseRole, Failure, RelType
from lessons.graph.store import SqliteStore
from lessons.ingest.headings import ALIASES, normalise_heading
from lessons.ingest.pipeline import FileStatus, discover, ingest


@pytest.fixture
def embedder(fast_embedder: CachingEmbedder) -> CachingEmbedder:
    """What is read from the documents does not depend on the model
    (tests/hashing_embedder.py serves)."""
    return fast_embedder


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
            headings.append((number, match.group(2)))
    for index, (number, heading) in enumerate(headings):
        field = ALIASES.get(normalise_heading(heading))
        if field is None:
            continue
        # Its own lines, up to the next heading (a sub-section holds a field of its own).
        end = headings[index + 1][0] if index + 1 < len(headings) else len(lines)
        body = [ln for ln in lines[number + 1 : end] if not HEADING.match(ln)]
        if any(len(re.findall(r"[A-Za-z]{2,}", ln)) >= 3 for ln in body):  # not "Not much."
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
    sources, _ = discover([str(corpus / "docs")])
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
            elif field == "went_wrong":
                assert (RelType.CAUSED_BY, CauseRole.CONTRIBUTING) in rels, result.path
            elif field in ("went_well", "lucky"):
                assert getattr(failure, field), (result.path, field)
            elif field == "timeline":
                assert failure.timeline, result.path
            elif field == "practices":
                assert any(r == RelType.TAUGHT for r, _ in rels), result.path
            else:
                assert (EXPECTED_EDGE[field], None) in rels, (result.path, field)
    assert checked_sections > 200


def test_empty_templates_are_refused_with_the_reason(corpus: Path) -> None:
    from lessons.graph.errors import ParseError
    from lessons.ingest.parsers import parse_document

    for path in sorted((corpus / "templates").iterdir()):
        with pytest.raises(ParseError, match="empty postmortem template"):
            parse_document(path.read_text(encoding="utf-8"), str(path), path.suffix)


def test_icco_front_matter_documents_parse(corpus: Path) -> None:
    from lessons.ingest.parsers import parse_document

    paths = sorted((corpus / "icco-postmortems").glob("*.md"))
    assert len(paths) > 200
    for path in paths:
        (record,) = parse_document(path.read_text(encoding="utf-8"), str(path), ".md")
        assert record.title.strip() and record.summary.strip(), path
