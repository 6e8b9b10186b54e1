"""Hostile text in every text field is stored and returned verbatim, or rejected with 422.

Cypher, SQL, FTS5 and Lucene syntax, control characters, NUL bytes and any Unicode go in and
come back unchanged on both stores; lone surrogates (not storable as UTF-8) and over-long
strings are refused with 422; searching for any of it is never a server error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from .conftest import Api

HOSTILE = [
    "'}) MATCH (n) DETACH DELETE n //",
    '" OR 1=1; DROP TABLE nodes; --',
    "$(row.label) {id: 'x'} `backtick` \\u0000",
    'NEAR(checkout pool, 2) AND title:* OR "unbalanced ^ -minus +plus',
    "title:(a OR b)~2 \\ / [x TO y] {!} && || *:*",
    "Zürich – 東京 🚨 עברית e\u0301 \u200b\ufeff",
    "before\x00after \x00",
    "tab\there\r\nnew line \x1b[31mred\x1b[0m \x7f",
]


def every_field(text: str) -> dict[str, Any]:
    return {
        "title": f"T {text}",
        "summary": text,
        "detected_by": text,
        "severity": text,
        "status": text,
        "impact": text,
        "detection": text,
        "resolution": text,
        "tags": [text],
        "components": [f"c {text}"],
        "team": f"team {text}",
    }


@pytest.mark.parametrize("number", range(len(HOSTILE)))
def test_hostile_text_round_trips_verbatim(api: Api, number: int) -> None:
    text = HOSTILE[number]
    failure_id = f"hostile-{number}"
    created = api.write.post("/v1/failures", json={"id": failure_id, **every_field(text)})
    assert created.status_code == 201, created.text
    path = f"/v1/failures/{failure_id}"
    parts = {
        "causes": {"name": f"cause {text}", "description": text, "category": text},
        "experiments": {"hypothesis": text, "method": text, "finding": text},
        "lessons": {"text": text, "adopted_as": [f"practice {text}"]},
        "actions": {"text": text, "owner": text, "status": text},
    }
    for kind, body in parts.items():
        response = api.write.post(f"{path}/{kind}", json=body)
        assert response.status_code == 201, (kind, response.text)
        returned = response.json()
        for key, value in body.items():
            if isinstance(value, str) and key in returned:
                assert returned[key] == value, (kind, key)

    context = api.read.get(path).json()
    failure = context["failure"]
    for key, value in every_field(text).items():
        if key in failure:
            assert failure[key] == value, key
    assert context["components"] == [f"c {text}"] and context["team"] == f"team {text}"
    assert context["causes"][0]["name"] == f"cause {text}"
    cause = api.read.get(f"/v1/causes/{context['causes'][0]['id']}").json()["cause"]
    assert cause["description"] == text and cause["category"] == text
    assert [lesson["text"] for lesson in context["lessons"]] == [text]
    assert context["practices"][0]["name"] == f"practice {text}"
    assert context["actions"][0]["owner"] == text
    assert context["experiments"][0]["finding"] == text

    changed = api.write.patch(path, json={"summary": text + text})
    assert changed.json()["failure"]["summary"] == text + text
    assert [
        f["id"] for f in api.read.get("/v1/failures", params={"tag": text}).json()["items"]
    ] == [failure_id]
    for kind in ("failure", "cause", "practice", "component"):
        found = api.read.get("/v1/search", params={"q": text, "type": kind})
        assert found.status_code == 200, (kind, found.text)
    for endpoint in ("causes", "practices", "components", "failures"):
        assert api.read.get(f"/v1/{endpoint}/{quote(text, safe='')}").status_code == 404


def test_what_cannot_be_stored_is_refused_with_422(api: Api) -> None:
    lone_surrogate = b'{"title": "bad \\ud800 text", "summary": "s"}'
    response = api.write.post(
        "/v1/failures", content=lone_surrogate, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.title"
    records = b'{"records": [{"title": "t", "summary": "\\udfff"}]}'
    refused = api.write.post(
        "/v1/ingest", content=records, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422

    too_long = {"title": "t" * 501, "summary": "s" * 20_001, "tags": ["x" * 201]}
    errors = api.write.post("/v1/failures", json=too_long).json()["errors"]
    assert {e["field"] for e in errors} == {"body.title", "body.summary", "body.tags.0"}
    longest = api.write.post("/v1/failures", json={"title": "t" * 500, "summary": "s" * 20_000})
    assert longest.status_code == 201
    assert api.read.get("/v1/failures/" + "t" * 80).json()["failure"]["summary"] == "s" * 20_000
    assert api.read.get("/v1/search", params={"q": "x" * 2001}).status_code == 422
    # A cause name without a letter or digit cannot be given an id.
    nameless = api.write.post("/v1/failures/" + "t" * 80 + "/causes", json={"name": "\x00 !"})
    assert nameless.status_code == 422
