"""Three faults of recognition seen on real documents, each pinned by a test that failed
before its fix: the verdict came from the first match even when a later one was more
confident; a failure with no causes or lessons sank below failures that had them; and facts
written by hand resolved a cause's name by its exact id only, so they split an entity the
import had merged."""

from __future__ import annotations

from pathlib import Path

from lessons.cli.recognize import print_recognition
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.facts import add_cause
from lessons.graph.inputs import CauseLink
from lessons.graph.models import CauseRole, Failure
from lessons.graph.reads import FailureContext
from lessons.graph.recognize import (
    LIKELY_THRESHOLD,
    Match,
    RecognizeQuery,
    Verdict,
    answer,
    recognize,
    record,
)
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest


def match(failure_id: str, confidence: float) -> Match:
    failure = Failure(id=failure_id, title=failure_id, summary=failure_id)
    return Match(
        score=0.1,
        confidence=confidence,
        similarity=None,
        passage=None,
        passage_similarity=None,
        ranks={},
        matched_terms=[],
        shared_causes=[],
        shared_components=[],
        recurred_despite_practice=[],
        why=[],
        context=FailureContext(failure=failure),
    )


def test_the_verdict_comes_from_the_most_confident_match_not_the_first() -> None:
    result = answer([match("first", 0.32), match("second", LIKELY_THRESHOLD + 0.05)])
    assert result.verdict is Verdict.LIKELY_RECURRENCE
    assert result.confidence == LIKELY_THRESHOLD + 0.05
    assert [m.context.failure.id for m in result.matches] == ["first", "second"]  # order kept
    assert answer([]).verdict is Verdict.NEW


def test_the_printed_verdict_names_the_match_it_was_read_from(capsys) -> None:
    print_recognition(answer([match("first", 0.32), match("second", LIKELY_THRESHOLD + 0.05)]))
    first_line = capsys.readouterr().out.splitlines()[0]
    confidence = f"{LIKELY_THRESHOLD + 0.05:.2f}"
    assert first_line == f"LIKELY RECURRENCE (most confident: match 2, {confidence})"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


BARE = """---
id: bare
title: Checkout page blank after the CDN purged cached assets
---
## Summary
The checkout page showed a blank screen after the CDN purged its cached JavaScript bundles.
"""

RICH = """---
id: rich
title: Checkout page slow after a CDN purge
---
## Summary
The checkout page loaded slowly for some users after the CDN cache was purged.

## Root cause
- CDN purge removed checkout JavaScript bundles

## Lessons learned
- Purging the CDN must not remove assets that the live release still uses.
"""


def test_a_failure_without_causes_or_lessons_is_not_ranked_down_for_lacking_them(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    paths = [write(tmp_path, "bare.md", BARE), write(tmp_path, "rich.md", RICH)]
    assert ingest(store, embedder, discover([str(p) for p in paths])[0]).ok
    query = RecognizeQuery(
        description="checkout page is blank after the CDN purged its cached JavaScript bundles"
    )
    result = recognize(store, embedder, query, limit=5)
    ranks = {m.context.failure.id: m.ranks for m in result.matches}
    assert ranks["bare"]["vector"] == ranks["bare"]["keyword"] == 1  # first where it can be
    assert result.matches[0].context.failure.id == "bare"


MERGED = """---
id: {id}
title: {id} checkout outage
---
## Summary
Checkout timed out.

## Root cause
- {cause}
"""


def test_facts_written_by_hand_resolve_names_as_the_import_does(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    first = write(tmp_path, "a.md", MERGED.format(id="inc-a", cause="Connection pool exhausted"))
    assert ingest(store, embedder, discover([str(first)])[0]).ok
    pool = "cause:connection-pool-exhausted"

    # Another form of the same name (its name key is the entity's): the cause the import made.
    view = add_cause(
        store, embedder, "inc-a", CauseLink(name="connection pool exhaustion", role=CauseRole.ROOT)
    )
    assert view.id == pool
    recorded = record(
        store,
        embedder,
        RecognizeQuery(description="checkout hangs again", causes=["connection-pool exhaustion"]),
    )
    assert [c.id for c in recorded.causes] == [pool]
    # A name that is no form of a stored cause is still a cause of its own.
    other = add_cause(store, embedder, "inc-a", CauseLink(name="Slow payment provider"))
    assert other.id == "cause:slow-payment-provider"
