"""The ONNX runtime against its reference, sentence-transformers on torch: the same vectors,
the same tokenizer settings, the same rankings; a fresh machine's first run exports the model
once and says so; and nothing on the query path imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lessons.graph.embeddings import (
    CachingEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    model_directory,
    open_runtime,
)
from lessons.graph.errors import ConfigError, EmbeddingError
from lessons.graph.onnx_runtime import (
    MODEL_FILE,
    ModelSpec,
    OnnxEmbedder,
    exported_model,
    runtime_tokenizer,
)
from lessons.graph.recognize import RecognizeQuery, recognize
from lessons.graph.search import search
from lessons.graph.settings import DEFAULT_MODEL, Settings
from lessons.graph.store import SqliteStore
from lessons.ingest.pipeline import discover, ingest

from .conftest import EXAMPLES

LESSONS = Path(sys.executable).parent / "lessons"
TORCH_MODULES = ("torch", "transformers", "sentence_transformers")
QUERIES = (
    "checkout requests time out because the database has no free connections",
    "users cannot reach the site after a DNS change",
    "browsers show certificate errors, the TLS cert on our API ran out",
    "payouts were sent twice after a retry",
    "the disk of the database filled up and writes failed",
    "a deploy on Friday broke the login page for mobile users",
)


def example_texts() -> list[str]:
    """Every non-empty line of the example postmortems (about 1,000 texts of every length),
    a few texts longer than the 256-token truncation, and edge cases."""
    lines = [
        line.strip()
        for path in sorted(EXAMPLES.iterdir())
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    long_texts = [" ".join(lines[i : i + 60]) for i in range(0, 240, 60)]
    return [*lines, *long_texts, "", " ", "🚀", "数据库连接池耗尽", "x" * 5000]


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return ModelSpec.read(DEFAULT_MODEL, model_directory(DEFAULT_MODEL))


def test_onnx_vectors_are_the_vectors_of_sentence_transformers(
    model: Embedder, reference_model: SentenceTransformerEmbedder
) -> None:
    texts = example_texts()
    got, want = model.encode(texts), reference_model.encode(texts)
    cosines = (got * want).sum(axis=1)
    assert got.shape == want.shape == (len(texts), 384)
    assert cosines.min() >= 0.99999, texts[int(cosines.argmin())]
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_texts_vector_does_not_depend_on_the_batch_it_is_encoded_in(model: Embedder) -> None:
    texts = example_texts()[:150]
    together = model.encode(texts)
    alone = np.stack([model.encode([text])[0] for text in texts[:20]])
    assert np.abs(together[:20] - alone).max() < 1e-5


def test_the_tokenizer_truncates_and_pads_like_sentence_transformers(
    spec: ModelSpec, reference_model: SentenceTransformerEmbedder
) -> None:
    from tokenizers import Tokenizer

    # The packaged tokenizer.json says 128 tokens and fixed padding; sentence-transformers
    # uses the model's max_seq_length (256) and pads a batch to its longest text.
    packaged = Tokenizer.from_file(str(spec.directory / "tokenizer.json"))
    assert packaged.truncation is not None and packaged.truncation["max_length"] == 128
    assert spec.max_seq_length == 256

    texts = ["short", "a somewhat longer sentence about DNS", " ".join(["word"] * 400)]
    ours = [encoding.ids for encoding in runtime_tokenizer(spec).encode_batch(texts)]
    theirs = reference_model_tokens(reference_model, texts)
    assert [len(ids) for ids in ours] == [3, 9, 256]
    assert ours == theirs


def reference_model_tokens(reference: SentenceTransformerEmbedder, texts: list[str]) -> list:
    """Token ids sentence-transformers feeds its model for `texts`, without the padding."""
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(str(model_directory(reference.model_name)), device="cpu")
    features = loaded.tokenize(texts)
    return [
        [int(i) for i, m in zip(ids, mask, strict=True) if m]
        for ids, mask in zip(features["input_ids"], features["attention_mask"], strict=True)
    ]


def test_search_and_recognize_rank_alike_on_both_runtimes(
    model: Embedder, reference_model: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    answers = []
    for name, runtime in (("onnx", model), ("torch", reference_model)):
        store = SqliteStore(tmp_path / f"{name}.sqlite3")
        embedder = CachingEmbedder(runtime, tmp_path / f"{name}-vectors.sqlite3")
        assert ingest(store, embedder, discover([str(EXAMPLES)])[0]).ok
        ranked = []
        for query in QUERIES:
            hits = search(store, embedder, query, limit=10)
            result = recognize(store, embedder, RecognizeQuery(description=query), limit=10)
            ranked.append(
                (
                    [hit.context.failure.id for hit in hits],
                    [match.context.failure.id for match in result.matches],
                    result.verdict,
                )
            )
        answers.append(ranked)
        store.close()
        embedder.close()
    assert answers[0] == answers[1]


def test_a_model_the_onnx_runtime_cannot_run_is_refused_with_the_way_out(
    tmp_path: Path, spec: ModelSpec
) -> None:
    copy = tmp_path / "cls-model"
    shutil.copytree(spec.directory, copy, ignore=shutil.ignore_patterns("*.safetensors"))
    pooling = json.loads((copy / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (copy / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    with pytest.raises(EmbeddingError) as raised:
        ModelSpec.read("cls-model", copy)
    assert "mean pooling" in str(raised.value)
    assert "LESSONS_EMBED_RUNTIME=torch" in raised.value.hint


def test_an_export_is_kept_with_its_provenance_and_not_made_again(
    model: OnnxEmbedder, models_dir: Path, spec: ModelSpec
) -> None:
    model.encode(["load it"])
    heard: list[str] = []
    path = exported_model(spec, models_dir, on_export=heard.append)
    provenance = json.loads((path.parent / "provenance.json").read_text())
    assert heard == []
    assert path.name == MODEL_FILE
    assert provenance["files"][MODEL_FILE]["min_cosine_vs_torch"] >= 0.99999
    assert set(provenance["exporter"]) >= {"torch", "sentence-transformers"}
    assert len(provenance["weights_sha256"]["model.safetensors"]) == 64
    assert [p.name for p in models_dir.iterdir() if p.name.startswith(".")] == []


@dataclass(frozen=True)
class FirstRun:
    env: dict[str, str]
    demo: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """`lessons demo` run by a user whose cache and data directories are empty."""
    root = tmp_path_factory.mktemp("fresh")
    env = {
        **os.environ,
        "HOME": str(root / "home"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_DATA_HOME": str(root / "data"),
        "LESSONS_STORE": str(root / "store.sqlite3"),
    }
    for name in ("LESSONS_CACHE_DIR", "LESSONS_EMBED_RUNTIME", "LESSONS_EMBED_MODEL"):
        env.pop(name, None)
    return FirstRun(env, run(env, "demo"))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LESSONS), *args], env=env, capture_output=True, text=True, timeout=600, check=True
    )


def test_the_first_run_on_a_fresh_machine_exports_the_model_once_and_says_so(
    first_run: FirstRun,
) -> None:
    said = [line for line in first_run.demo.stderr.splitlines() if "to ONNX" in line]
    assert len(said) == 1, first_run.demo.stderr
    assert said[0].startswith("Exporting the embedding model all-MiniLM-L6-v2 to ONNX, once")
    assert "Imported 29 postmortems" in first_run.demo.stdout
    again = run(first_run.env, "ingest", str(EXAMPLES))
    assert "ONNX" not in again.stderr


QUERY_PATH = """
import json, sys
from lessons.cli.main import cli
for args in {commands!r}:
    cli.main(args, standalone_mode=False)
from fastapi.testclient import TestClient
from lessons.api.app import create_app
from lessons.api.settings import ApiSettings
key = {{"Authorization": "Bearer read-key-for-the-tests-0123456789"}}
with TestClient(create_app(ApiSettings.from_env())) as client:
    for path in ("/readyz", "/v1/search?q=dns", "/v1/failures/2023-02-14-checkout-db-pool"):
        assert client.get(path, headers=key).status_code == 200, path
    answer = client.post("/v1/recognize", json={{"description": "db pool full"}}, headers=key)
    assert answer.status_code == 200
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {modules!r})))
"""


def test_nothing_on_the_query_path_imports_torch(first_run: FirstRun) -> None:
    run(first_run.env, "ingest", str(EXAMPLES))
    commands = [
        ["recognize", "checkout hangs waiting for database connections"],
        ["search", "certificate expired"],
        ["show", "2023-02-14-checkout-db-pool"],
        ["explain", "2023-02-14-checkout-db-pool"],
    ]
    env = {**first_run.env, "LESSONS_API_KEYS": "read:read-key-for-the-tests-0123456789"}
    script = QUERY_PATH.format(commands=commands, modules=TORCH_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_runtime_is_chosen_by_its_setting_and_a_wrong_name_is_refused() -> None:
    assert Settings.from_env({}).embed_runtime == "onnx"
    assert Settings.from_env({"LESSONS_EMBED_RUNTIME": " Torch "}).embed_runtime == "torch"
    settings = Settings.from_env({"LESSONS_EMBED_RUNTIME": "torch"})
    assert isinstance(open_runtime(settings), SentenceTransformerEmbedder)
    with pytest.raises(ConfigError, match="onnx, torch"):
        Settings.from_env({"LESSONS_EMBED_RUNTIME": "tensorflow"})


class CountingModel:
    """A model that counts the texts it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.encoded = inner, 0
        self.model_name, self.dimension = inner.model_name, inner.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_warming_up_loads_the_model_even_when_its_text_is_cached(
    model: Embedder, tmp_path: Path
) -> None:
    counting = CountingModel(model)
    cached = CachingEmbedder(counting, tmp_path / "vectors.sqlite3")
    cached.encode(["warm-up"])
    cached.encode(["warm-up"])
    assert counting.encoded == 1  # the second time from the cache
    cached.warm_up()
    assert counting.encoded == 2
    cached.close()
