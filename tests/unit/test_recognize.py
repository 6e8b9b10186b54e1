"""The pure stages of recognition: passages, fusion, confidence and verdict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lessons.graph.recognize import (
    RecognizeQuery,
    Signals,
    Verdict,
    confidence,
    features,
    fuse,
    verdict,
)
from lessons.graph.text import split_passages


def test_query_text_joins_title_and_description_and_requires_one() -> None:
    query = RecognizeQuery(title=" Checkout down ", description="pool\n exhausted")
    assert query.text() == "Checkout down. pool exhausted"
    assert RecognizeQuery(description="only this").text() == "only this"
    with pytest.raises(ValidationError, match="give a title or a description"):
        RecognizeQuery(title="  ", description="")


def test_split_passages_keeps_sentences_and_joins_short_ones() -> None:
    text = (
        "Site down. The load balancer dropped every request for ten minutes. "
        "A config push removed the health check path, so all backends looked dead."
    )
    assert split_passages(text) == [
        "Site down. The load balancer dropped every request for ten minutes.",
        "A config push removed the health check path, so all backends looked dead.",
    ]
    assert split_passages("short") == ["short"]
    assert split_passages("") == []


def test_fuse_weighs_signals_and_leaves_out_unweighted_ones() -> None:
    rankings = {"vector": ["a", "b"], "keyword": ["b", "c"], "graph": ["c"]}
    fused = fuse(rankings, {"vector": 2.0, "keyword": 1.0})
    assert [fid for fid, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(2 / 62 + 1 / 61)
    assert fused[1][1] == pytest.approx(2 / 61)
    assert fuse({"graph": ["c"]}, {"vector": 1.0}) == []


def test_signals_rank_is_one_based_or_none() -> None:
    signals = Signals(rankings={"vector": ["a", "b"]})
    assert signals.rank("vector", "b") == 2
    assert signals.rank("vector", "z") is None
    assert signals.rank("keyword", "a") is None


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.9, Verdict.LIKELY_RECURRENCE),
        (0.7, Verdict.LIKELY_RECURRENCE),
        (0.69, Verdict.RELATED),
        (0.5, Verdict.RELATED),
        (0.49, Verdict.NEW),
    ],
)
def test_verdict_thresholds_are_inclusive(score: float, expected: Verdict) -> None:
    assert verdict(score, likely=0.7, related=0.5) is expected


def test_features_and_confidence_rise_with_the_evidence() -> None:
    signals = Signals(
        rankings={"vector": ["a", "b"]},
        similarity={"a": 0.7, "b": 0.3},
        passages={"a": (0.8, "pool exhausted"), "b": (0.2, "disk full")},
        texts={"a": "Checkout pool exhausted", "b": "Disk full"},
    )
    strong = features(signals, "checkout pool exhausted overnight", "a")
    weak = features(signals, "checkout pool exhausted overnight", "b")
    assert strong == {"similarity": 0.7, "passage": 0.8, "coverage": 0.75}
    assert weak == {"similarity": 0.3, "passage": 0.2, "coverage": 0.0}
    assert 0 < confidence(weak) < confidence(strong) < 1
    assert confidence(strong, {"similarity": 1.0}, bias=-0.7) == pytest.approx(0.5)
