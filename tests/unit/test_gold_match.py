"""The fuzzy match bench/extraction.py scores extraction with (bench/gold.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from gold import Item, content_words, extracted_items, match, title_matches


def test_content_words_drop_case_stop_words_punctuation_and_plurals() -> None:
    assert content_words("The DNS records were deleted!") == {"dns", "record", "deleted"}
    assert content_words("Access") == {"access"}  # a double s is not a plural


def test_the_same_item_in_other_words_matches_and_another_item_does_not() -> None:
    gold = [Item.of("expired TLS certificate on the proxy", "The proxy's certificate expired.")]
    same = [Item.of("TLS certificate of the proxy expired")]
    other = [Item.of("DNS zone pushed with a broken record")]
    assert match(same, gold).matched == 1
    assert match(other, gold).matched == 0


def test_an_item_matching_the_evidence_alone_matches() -> None:
    gold = [Item.of("config validation gap", "the config agent rejected the new preset format")]
    extracted = [Item.of("Config agent rejected the preset format", None)]
    assert match(extracted, gold).matched == 1


def test_a_paragraph_stored_as_one_item_counts_once() -> None:
    gold = [
        Item.of("disk full on the database host"),
        Item.of("no alert on disk usage"),
        Item.of("log rotation disabled"),
    ]
    blob = [Item.of("disk full on the database host; no alert on disk usage; log rotation")]
    result = match(blob, gold, at=0.3)
    assert result.matched == 1 and result.extracted == 1 and result.gold == 3


def test_matches_are_one_to_one_and_best_first() -> None:
    gold = [Item.of("restart the ingress controller"), Item.of("restart the ingress pods")]
    extracted = [Item.of("restart the ingress pods")]
    result = match(extracted, gold)
    assert [(e, g) for e, g, _ in result.pairs] == [(0, 1)]


def test_component_names_match_when_one_contains_the_other() -> None:
    gold = [Item.of("CoreDNS"), Item.of("AWS ALB")]
    extracted = [Item.of("CoreDNS pods"), Item.of("ALB")]
    assert match(extracted, gold, names=True).matched == 2
    assert match([Item.of("Harbor")], gold, names=True).matched == 0


def test_titles_and_record_items() -> None:
    assert title_matches("January 23rd, 2019 Prow Outage", "Prow outage of January 23rd, 2019")
    assert not title_matches("Incident Title", "All services returning 503")
    record = {"causes": [{"name": "Bad AMI", "description": "The new AMI broke kubelet."}]}
    [cause] = extracted_items(record, "causes")
    assert cause.texts == (content_words("Bad AMI"), content_words("The new AMI broke kubelet."))
