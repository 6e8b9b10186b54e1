"""`lessons recognize` and `lessons unmerge` through click's runner, on a SQLite store, and
`lessons recognize --record` on a real terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.store import SqliteStore

from .api.conftest import READ_KEY, api_settings, serve
from .conftest import EXAMPLES

LESSONS = Path(sys.executable).parent / "lessons"

QUESTION = "checkout requests hang waiting for database connections during a sale"


def test_recognize_prints_a_verdict_and_the_matches(lessons) -> None:
    assert lessons("ingest", str(EXAMPLES)).exit_code == 0
    result = lessons("recognize", QUESTION, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("LIKELY RECURRENCE")
    assert "2023-02-14-checkout-db-pool" in result.stdout
    assert "why:" in result.stdout and "practice:" in result.stdout


def test_recognize_json_from_stdin_with_record_and_confirm(lessons) -> None:
    lessons("ingest", str(EXAMPLES))
    result = lessons(
        "recognize",
        "--json",
        "--title",
        "Pool exhausted at checkout",
        "--record",
        "--confirm",
        "2023-02-14-checkout-db-pool",
        "-",
        stdin=QUESTION,
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["verdict"] in {"likely recurrence", "related"}
    assert answer["matches"][0]["context"]["failure"]["id"]
    recorded = answer["recorded"]
    assert recorded["failure"]["title"] == "Pool exhausted at checkout"
    assert recorded["recurrence_of"] == ["2023-02-14-checkout-db-pool"]
    shown = json.loads(lessons("show", "--json", "2023-02-14-checkout-db-pool").stdout)
    assert recorded["failure"]["id"] in shown["recurred_as"]


def test_recognize_needs_a_description_and_record_for_confirm(lessons) -> None:
    assert lessons("recognize", stdin="").exit_code == 2
    result = lessons("recognize", QUESTION, "--confirm", "x")
    assert result.exit_code == 2 and "--record" in result.output


def test_unmerge_splits_an_alias_and_explains_mistakes(lessons, tmp_path: Path) -> None:
    for name, cause in [
        ("a", "DB connection pool exhausted"),
        ("b", "database connection-pool exhaustion"),
    ]:
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: inc-{name}\ntitle: Down {name}\n---\n"
            f"## Summary\nDown.\n\n## Root cause\n- {cause}\n"
        )
    (tmp_path / "c.md").write_text((tmp_path / "b.md").read_text().replace("inc-b", "inc-c"))
    imported = lessons("ingest", *(str(tmp_path / f"{name}.md") for name in "abc"))
    assert imported.exit_code == 0
    # Two documents merged that name: the import says so once.
    assert imported.stderr.count("merged 'database connection-pool exhaustion' into") == 1
    wrong = lessons("unmerge", "cause:db-connection-pool-exhausted", "no such name")
    assert wrong.exit_code == 1 and "is not an alias" in wrong.stderr
    assert "database connection-pool exhaustion" in wrong.stderr  # the hint lists the aliases
    done = lessons(
        "unmerge", "cause:db-connection-pool-exhausted", "database connection-pool exhaustion"
    )
    assert done.exit_code == 0, done.output
    assert "cause:database-connection-pool-exhaustion" in done.stdout
    shown = json.loads(lessons("show", "--json", "inc-b").stdout)
    assert [c["id"] for c in shown["causes"]] == ["cause:database-connection-pool-exhaustion"]


def test_explain_prints_a_tree_json_or_dot(lessons) -> None:
    lessons("ingest", str(EXAMPLES))
    failure = "2023-11-24-checkout-db-pool-black-friday"
    tree = lessons("explain", failure)
    assert tree.exit_code == 0, tree.output
    assert "caused by (root): Database connection pool exhausted" in tree.stdout
    assert "recurrence of: 2023-02-14-checkout-db-pool" in tree.stdout
    data = json.loads(lessons("explain", failure, "--format", "json", "--suggest").stdout)
    assert data["failure"]["id"] == failure
    assert data["suggested_causes"] and data["suggested_causes"][0]["seen_in"]
    dot = lessons("explain", failure, "--format", "dot").stdout
    assert dot.startswith("digraph explanation {")
    assert lessons("explain", "no-such-failure").exit_code == 1


def test_on_a_terminal_record_asks_which_match_it_recurs_even_when_the_verdict_is_new(
    model: Embedder, models_dir: Path, tmp_path: Path
) -> None:
    model.encode(["export"])  # the session's ONNX export exists before the CLI looks for it
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models").symlink_to(models_dir)
    env = {
        **os.environ,
        "LESSONS_STORE": str(tmp_path / "store.sqlite3"),
        "LESSONS_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "200",
    }
    subprocess.run([LESSONS, "ingest", EXAMPLES], env=env, check=True, capture_output=True)
    question = "The third-floor coffee machine stopped brewing after its firmware update"
    shown = on_terminal([LESSONS, "recognize", "--record", question], env, answer="1")
    assert shown.splitlines()[0].startswith("NEW")
    assert "Is it a recurrence of one of these?" in shown
    assert "Recorded as the-third-floor-coffee-machine" in shown and ", a recurrence of" in shown


def on_terminal(command: list[str | Path], env: dict[str, str], *, answer: str) -> str:
    """What a person sees running `command` on a terminal, typing `answer` at a prompt."""
    leader, follower = pty.openpty()
    with subprocess.Popen(command, env=env, stdin=follower, stdout=follower, stderr=follower) as p:
        os.close(follower)
        seen, answered, deadline = b"", False, time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"n for none" in seen:
                os.write(leader, answer.encode() + b"\n")
                answered = True
        p.wait(timeout=60)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;]*m", "", seen.decode()).replace("\r\n", "\n")  # no colours


def test_recognize_asks_a_running_server_when_lessons_api_url_is_set(
    lessons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: CachingEmbedder
) -> None:
    assert lessons("ingest", str(EXAMPLES)).exit_code == 0
    local = json.loads(lessons("recognize", QUESTION, "--json").stdout)
    store = SqliteStore(tmp_path / "cli.sqlite3")
    with serve(create_app(api_settings(tmp_path), store=store, embedder=embedder)) as url:
        monkeypatch.setenv("LESSONS_API_URL", url)
        monkeypatch.setenv("LESSONS_API_KEY", READ_KEY)
        unopened = tmp_path / "never-opened.sqlite3"
        monkeypatch.setenv("LESSONS_STORE", f"sqlite:///{unopened}")
        remote = lessons("recognize", QUESTION, "--json")
        assert remote.exit_code == 0, remote.output
        answer = json.loads(remote.stdout)
        assert answer["verdict"] == local["verdict"]
        ids = [m["context"]["failure"]["id"] for m in answer["matches"]]
        assert ids == [m["context"]["failure"]["id"] for m in local["matches"]]
        assert not unopened.exists()  # the command never opened a store
        monkeypatch.setenv("LESSONS_API_KEY", "not-a-key-the-server-knows")
        refused = lessons("recognize", QUESTION)
        assert refused.exit_code == 1 and f"the lessons server at {url} answered 401" in (
            refused.output
        )
    store.close()
    gone = lessons("recognize", QUESTION)
    assert gone.exit_code == 1
    assert f"cannot reach the lessons server at {url}" in gone.output
    assert "unset LESSONS_API_URL" in gone.output
