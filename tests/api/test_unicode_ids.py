"""Ids made from names in other scripts, in request bodies and paths, on both stores."""

from __future__ import annotations

from .conftest import Api


def test_ids_from_chinese_names_work_in_bodies_and_paths(api: Api) -> None:
    records = [
        {"title": "结账服务超时", "summary": "结账请求超时。", "components": ["结账服务"]},
        {"title": "证书过期", "summary": "证书过期了。", "components": ["结账服务"]},
    ]
    imported = api.write.post("/v1/ingest", json={"records": records})
    assert imported.json()["counts"]["imported"] == 2, imported.text
    path = "/v1/failures/结账服务超时"
    cause = api.write.post(f"{path}/causes", json={"name": "数据库连接池耗尽"})
    assert cause.status_code == 201, cause.text
    assert cause.json()["id"] == "cause:数据库连接池耗尽"

    assert api.read.get(path).json()["components"] == ["结账服务"]
    for cause_path in ("/v1/causes/cause:数据库连接池耗尽", "/v1/causes/数据库连接池耗尽"):
        found = api.read.get(cause_path)
        assert found.status_code == 200, cause_path
        assert [f["id"] for f in found.json()["failures"]] == ["结账服务超时"]
    component = api.read.get("/v1/components/component:结账服务").json()
    assert [f["id"] for f in component["failures"]] == ["结账服务超时", "证书过期"]
    graph = api.read.get(f"{path}/graph").json()
    assert "cause:数据库连接池耗尽" in {n["id"] for n in graph["nodes"]}
    assert api.write.delete(path).status_code == 204
    assert api.read.get(path).status_code == 404


def test_a_failure_created_with_a_chinese_title_gets_an_id_from_it(api: Api) -> None:
    body = {"title": "结账服务超时", "summary": "结账请求超时。"}
    made = api.write.post("/v1/failures", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["failure"]["id"] == "结账服务超时"
    assert (
        made.headers["location"]
        == "/v1/failures/%E7%BB%93%E8%B4%A6%E6%9C%8D%E5%8A%A1%E8%B6%85%E6%97%B6"
    )
    assert api.write.post("/v1/failures", json=body).json()["failure"]["id"] == "结账服务超时-2"
    given = {"id": "事故-2024.1", "title": "t", "summary": "s"}  # not a slug: made into one
    assert api.write.post("/v1/failures", json=given).json()["failure"]["id"] == "事故-2024-1"
    given["id"] = "事故-2024-2"
    assert api.write.post("/v1/failures", json=given).json()["failure"]["id"] == "事故-2024-2"
