"""Postmortems that name things in other scripts import whole, on both stores with the real
model: shared entities get ids of their own words, and are merged only by equal names."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import ValidationError
from lessons.graph.models import Cause, Component, Failure, Label, Practice, RelType, Team
from lessons.graph.reads import get_failure
from lessons.graph.recognize import RecognizeQuery, recognize, record
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import FileStatus, discover, ingest

POOL = "cause:数据库连接池耗尽"

CHINESE = """---
title: 结账服务超时
team: 支付团队
components: [结账服务]
---
## Summary
结账请求超时因为数据库连接池耗尽。

## Root cause
- 数据库连接池耗尽: 慢查询占用了所有连接

## Experiments
| hypothesis | outcome | finding | tested causes |
|---|---|---|---|
| 连接池太小 | confirmed | 高峰时连接数达到上限 | 连接池太小 |

## Lessons learned
| lesson | adopted as |
|---|---|
| 连接池要按负载测试定大小 | 连接池告警 |

## Practices
- 连接池告警: 连接池使用率超过80%时报警

## Action items
- [ ] 增加连接池告警 (owner: 王伟)
"""


def run(store: GraphStore, embedder: CachingEmbedder, *paths: Path):
    report = ingest(store, embedder, discover([str(p) for p in paths])[0])
    assert report.ok, [r.reason for r in report.results]
    return report


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_chinese_postmortem_imports_whole_and_again_changes_nothing(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    path = write(tmp_path, "数据库宕机.md", CHINESE)
    report = run(store, embedder, path)
    assert report.results[0].failure_ids == ["数据库宕机"]  # from the file name

    context = get_failure(store, "数据库宕机")
    assert context.failure.title == "结账服务超时"
    assert [(c.id, c.name) for c in context.causes] == [(POOL, "数据库连接池耗尽")]
    assert context.components == ["结账服务"] and context.team == "支付团队"
    assert [p.id for p in context.practices] == ["practice:连接池告警"]
    assert len(context.experiments) == len(context.lessons) == len(context.actions) == 1
    assert isinstance(store.get("component:结账服务"), Component)
    assert isinstance(store.get("team:支付团队"), Team)
    assert isinstance(store.get("practice:连接池告警"), Practice)
    tested = store.neighbours("数据库宕机/experiment-1", [RelType.TESTED]).nodes
    assert "cause:连接池太小" in {n.id for n in tested}
    graph = store.to_networkx()

    assert run(store, embedder, path).count(FileStatus.UNCHANGED) == 1
    assert nx.utils.graphs_equal(graph, store.to_networkx())
    # A changed file replaces what it said: the same nodes and edges, no duplicates.
    path.write_text(CHINESE.replace("结账请求超时", "结账请求再次超时"))
    changed = run(store, embedder, path)
    assert changed.count(FileStatus.IMPORTED) == 1 and not changed.merges
    again = store.to_networkx()
    assert set(again.nodes) == set(graph.nodes) and set(again.edges) == set(graph.edges)


def test_chinese_names_are_merged_when_equal_and_never_by_cosine(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    def postmortem(failure_id: str, cause: str) -> str:
        return f"---\nid: {failure_id}\ntitle: 结账服务超时\n---\n## Root cause\n- {cause}\n"

    run(store, embedder, write(tmp_path, "a.md", postmortem("inc-a", "数据库连接池耗尽")))
    # all-MiniLM-L6-v2 embeds "certificate expired" at cosine 0.88 to the pool cause.
    later = [
        write(tmp_path, "b.md", postmortem("inc-b", "数据库连接池耗尽。")),
        write(tmp_path, "c.md", postmortem("inc-c", "证书过期")),
    ]
    assert not run(store, embedder, *later).merges

    def causes_of(failure_id: str) -> list[str]:
        return [
            n.id
            for n in store.neighbours(failure_id, [RelType.CAUSED_BY]).nodes
            if isinstance(n, Cause)
        ]

    assert causes_of("inc-a") == causes_of("inc-b") == [POOL]
    assert causes_of("inc-c") == ["cause:证书过期"]
    assert store.stats().nodes[Label.CAUSE.value] == 2


def test_a_failure_recorded_with_a_chinese_title_gets_an_id_from_it(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    run(store, embedder, write(tmp_path, "数据库宕机.md", CHINESE))
    query = RecognizeQuery(
        title="结账服务再次超时",
        description="结账请求超时。",
        components=["结账服务"],
        causes=["数据库连接池耗尽"],
    )
    assert recognize(store, embedder, query).matches  # Chinese text searches on both stores
    recorded = record(store, embedder, query, recurrence_of="数据库宕机")
    assert recorded.failure.id == "结账服务再次超时"
    assert [c.id for c in recorded.causes] == [POOL]
    assert recorded.components == ["结账服务"] and recorded.recurrence_of == ["数据库宕机"]


@pytest.mark.parametrize(
    ("causes", "recurrence_of", "error"),
    [
        (["数据库连接池耗尽", "——"], None, "cause '——': has no letters or digits"),
        (["数据库连接池耗尽", ""], None, "cannot record the failure: cause ''"),
        (["数据库连接池耗尽"], "no-such-failure", "no failure with id 'no-such-failure'"),
    ],
)
def test_recording_a_bad_name_or_link_leaves_the_store_unchanged(
    store: GraphStore,
    embedder: CachingEmbedder,
    tmp_path: Path,
    causes: list[str],
    recurrence_of: str | None,
    error: str,
) -> None:
    run(store, embedder, write(tmp_path, "数据库宕机.md", CHINESE))
    graph = store.to_networkx()
    query = RecognizeQuery(title="结账服务再次超时", components=["新组件"], causes=causes)
    with pytest.raises(ValidationError, match=error):
        record(store, embedder, query, recurrence_of=recurrence_of)
    assert nx.utils.graphs_equal(graph, store.to_networkx())
    assert not [n for n in store.list_nodes(Label.FAILURE, limit=10) if n.id != "数据库宕机"]
    assert not isinstance(store.get_many(["结账服务再次超时"]).get("结账服务再次超时"), Failure)
