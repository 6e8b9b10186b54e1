"""Ranking stages are pure functions over ids and scores."""

from __future__ import annotations

import pytest

from lessons.graph.search import matched_terms, reciprocal_rank_fusion
from lessons.graph.text import keyword_terms


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [node_id for node_id, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1][1] == pytest.approx(1 / 61)


def test_rrf_breaks_ties_by_id_and_handles_empty_input() -> None:
    assert reciprocal_rank_fusion([["z"], ["a"]]) == [("a", 1 / 61), ("z", 1 / 61)]
    assert reciprocal_rank_fusion([[], []]) == []


def test_keyword_terms_drop_stopwords_and_duplicates() -> None:
    assert keyword_terms("The DNS and the dns: records were deleted!") == [
        "dns",
        "records",
        "deleted",
    ]


def test_matched_terms_allow_simple_word_endings() -> None:
    assert matched_terms("connections exhausted in pool", "Connection pool exhaustion") == [
        "connections",
        "exhausted",
        "pool",
    ]
    assert matched_terms("disk full", "Certificate expired") == []
