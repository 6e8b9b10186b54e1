"""API hygiene (issue 16): bounded input, authentication first, nothing of the server's
insides in answers, and the methods each path allows."""

from __future__ import annotations

from tests.api.conftest import Api

DEEP_JSON = b'{"records": [' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]}"
TOO_DEEP = "lists and mappings nest more than 64 levels deep"


def test_the_api_answers_deeply_nested_input_with_4xx_or_a_per_file_error(api: Api) -> None:
    upload = api.write.post("/v1/ingest", files=[("files", ("n.json", DEEP_JSON, "text/json"))])
    assert upload.status_code == 207, upload.text
    assert upload.json()["files"][0]["error"] == f"n.json: {TOO_DEEP}"
    body = api.write.post(
        "/v1/ingest", content=DEEP_JSON, headers={"content-type": "application/json"}
    )
    assert 400 <= body.status_code < 500, body.text
