"""The default encoder: onnxruntime over an ONNX export of a sentence-transformers model.

The export is made once per model, from the model's own weights, by `torch.onnx.export`
(which needs torch and sentence-transformers, installed as the exporter and the reference),
and checked against sentence-transformers on fixed probe texts before it is kept. Encoding
then needs only onnxruntime, `tokenizers` and numpy: it tokenizes with the model's
`tokenizer.json` under sentence-transformers' settings (truncation at the model's
`max_seq_length`, padding to the longest text of a batch; the file's own settings say 128
and fixed padding, which would change vectors), runs the transformer and mean-pools like
sentence-transformers' `Pooling` + `Normalize` modules. So the vectors are the ones
sentence-transformers gives (cosine >= 0.99999, checked at export and by the tests).

(A dynamically quantized int8 copy was measured and not kept: its vectors differ from torch's,
cosine .992 on average, and its recognition figures dropped; docs/benchmarks.md.)

An export lives in `<models_dir>/<model>-<source key>/` with `provenance.json` (model,
weights hash, exporter versions, file hashes, the agreement measured at export).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lessons.graph.errors import EmbeddingError

Matrix = npt.NDArray[np.float32]

MODEL_FILE = "model.onnx"
PROVENANCE_FILE = "provenance.json"
OPSET = 17
MIN_COSINE = 0.99999  # an export that agrees less with torch is refused

# Texts the export is checked on: short and long (past the 256-token truncation), several
# scripts, and in one batch, so that padding is exercised too.
PROBE_TEXTS = (
    "",
    "db",
    "Checkout requests time out because the database connection pool is exhausted.",
    "DNS resolution failed for internal services after CoreDNS was upgraded.",
    "数据库连接池耗尽",
    "Zertifikat abgelaufen: der Proxy lehnte alle TLS-Verbindungen ab.",
    " ".join(["The nightly batch job retried without backoff and flooded the queue."] * 30),
    "OOMKilled pods in a crash loop; memory limit 512Mi, leak in the cache layer?",
)


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX runtime needs to know of a sentence-transformers model directory."""

    name: str
    directory: Path
    max_seq_length: int
    dimension: int

    @classmethod
    def read(cls, name: str, directory: Path) -> ModelSpec:
        """The spec of model `name` in `directory`; refuses a model that is not a transformer
        with mean pooling (other poolings: use the torch runtime)."""
        try:
            modules = json.loads((directory / "modules.json").read_text())
            kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
            pooling_dir = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
            pooling = json.loads((directory / pooling_dir / "config.json").read_text())
            bert = json.loads((directory / "sentence_bert_config.json").read_text())
            positions = json.loads((directory / "config.json").read_text()).get(
                "max_position_embeddings", bert["max_seq_length"]
            )
        except (OSError, ValueError, KeyError, StopIteration) as e:
            raise EmbeddingError(
                f"{directory} is not a sentence-transformers model the ONNX runtime can run: {e}",
                hint="Use LESSONS_EMBED_RUNTIME=torch for this model.",
            ) from e
        modes = {key for key, on in pooling.items() if key.startswith("pooling_mode_") and on}
        mean_only = modes == {"pooling_mode_mean_tokens"}
        pipeline_ok = kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}
        if not (pipeline_ok and mean_only):
            raise EmbeddingError(
                f"{directory}: the ONNX runtime runs a transformer with mean pooling, "
                f"this model has {' + '.join(kinds)} ({pooling_dir}: {pooling})",
                hint="Use LESSONS_EMBED_RUNTIME=torch for this model.",
            )
        return cls(
            name=name,
            directory=directory,
            max_seq_length=min(int(bert["max_seq_length"]), int(positions)),
            dimension=int(pooling["word_embedding_dimension"]),
        )


class OnnxEmbedder:
    """Encodes with onnxruntime, exporting the model on first use (see the module doc).

    `model_name` names the vectors: the export gives sentence-transformers' vectors and so
    keeps the model's name (it shares a vector cache with the torch runtime).
    """

    def __init__(
        self,
        model_name: str,
        model_dir: Path,
        models_dir: Path,
        *,
        batch_size: int = 16,  # 8% more texts/s than 64 here (docs/benchmarks.md)
        on_export: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._name = model_name
        self._spec = ModelSpec.read(model_name, model_dir)
        self._models_dir = models_dir
        self._batch_size = batch_size
        self._on_export = on_export
        self._runner: _Runner | None = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._spec.dimension

    def _load(self) -> _Runner:
        with self._lock:
            if self._runner is None:
                path = exported_model(self._spec, self._models_dir, on_export=self._on_export)
                self._runner = _Runner(self._spec, path)
            return self._runner

    def encode(self, texts: Sequence[str]) -> Matrix:
        return self._load().encode(texts, self._batch_size)


class _Runner:
    """A loaded ONNX file with its tokenizer: texts in, normalised mean-pooled rows out."""

    def __init__(self, spec: ModelSpec, path: Path) -> None:
        try:
            import onnxruntime
        except ImportError as e:
            raise EmbeddingError(
                f"the ONNX runtime is not installed ({e})",
                hint="Reinstall the project (`pip install -e .`); LESSONS_EMBED_RUNTIME=torch "
                "runs the model without it.",
            ) from e
        self.dimension = spec.dimension
        self.tokenizer = runtime_tokenizer(spec)
        options = onnxruntime.SessionOptions()
        # Idle worker threads sleep instead of spinning, leaving the cores to the store (the
        # same choice as OMP_WAIT_POLICY=PASSIVE for torch; see lessons.graph).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types
            raise EmbeddingError(
                f"cannot load the ONNX model {path}: {e}",
                hint=f"Delete {path.parent} to export it again.",
            ) from e
        self.inputs = [node.name for node in self.session.get_inputs()]

    def encode(self, texts: Sequence[str], batch_size: int) -> Matrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # Longest first, like sentence-transformers, so that a batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = len(encodings[rows[0]].ids)
            ids = np.zeros((len(rows), width), dtype=np.int64)  # padding is masked out
            types = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, i in enumerate(rows):
                encoding = encodings[i]
                length = len(encoding.ids)
                ids[row, :length] = encoding.ids
                types[row, :length] = encoding.type_ids
                mask[row, :length] = encoding.attention_mask
            feeds = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
            (hidden,) = self.session.run(None, {name: feeds[name] for name in self.inputs})
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[rows] = pooled / norms
        return out


def runtime_tokenizer(spec: ModelSpec) -> Any:
    """The model's `tokenizer.json` with sentence-transformers' truncation, at `max_seq_length`
    (the file may say otherwise), and no padding (`_Runner` pads a batch to its longest)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(spec.directory / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    tokenizer.no_padding()
    return tokenizer


def exported_model(
    spec: ModelSpec, models_dir: Path, *, on_export: Callable[[str], None] = lambda message: None
) -> Path:
    """The ONNX file for `spec`, exported first if missing."""
    target = models_dir / f"{_slug(spec.name)}-{_source_key(spec.directory)}"
    if not (target / MODEL_FILE).is_file():
        on_export(
            f"Exporting the embedding model {spec.name} to ONNX, once, into {target} (about 15 s)"
        )
        _install(target, lambda tmp: _export(spec, tmp))
    return target / MODEL_FILE


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in Path(name).name) or "model"


def _source_key(model_dir: Path) -> str:
    """Changes when the model's files do (a reinstall, another version), without reading
    their bytes on every start."""
    parts = [str(model_dir.resolve())]
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _install(target: Path, build: Callable[[Path], None]) -> None:
    """Build files in a temporary folder beside `target`, then move them in, the model last
    (its presence says the export is complete): a crash or a second process exporting at the
    same time never leaves a half-written file behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        target.mkdir(exist_ok=True)
        for built in sorted(tmp.iterdir(), key=lambda path: path.name == MODEL_FILE):
            os.replace(built, target / built.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _export(spec: ModelSpec, folder: Path) -> None:
    """Export the transformer of `spec` to `folder/model.onnx` and check it against
    sentence-transformers."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise EmbeddingError(
            f"exporting the model to ONNX needs torch and sentence-transformers ({e})",
            hint="Reinstall the project (`pip install -e .`).",
        ) from e
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    reference = SentenceTransformer(str(spec.directory), device="cpu")
    transformer: Any = reference[0].auto_model
    transformer.eval()
    names = list(reference.tokenizer.model_input_names)
    sample = reference.tokenizer(
        ["a short text", "a longer text, so that the first one is padded"],
        padding=True,
        return_tensors="pt",
    )

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer  # a submodule: its weights export as weights

        def forward(self, *inputs: Any) -> Any:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    path = folder / MODEL_FILE
    with torch.no_grad(), warnings.catch_warnings(), _export_errors(spec):
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it takes as constants
        torch.onnx.export(
            LastHiddenState(),
            tuple(sample[name] for name in names),
            str(path),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    expected = reference.encode(list(PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    agreement = _agreement(spec, path, expected)
    if agreement < MIN_COSINE:
        raise EmbeddingError(
            f"the ONNX export of {spec.name} disagrees with sentence-transformers "
            f"(lowest cosine {agreement:.6f} < {MIN_COSINE})",
            hint="Use LESSONS_EMBED_RUNTIME=torch, and report the versions in provenance.json.",
        )
    provenance = {
        "model": spec.name,
        "source": str(spec.directory),
        "weights_sha256": {
            str(p.relative_to(spec.directory)): _sha256(p)
            for p in sorted(spec.directory.glob("*.safetensors"))
        },
        "exporter": {
            name: _version(name)
            for name in ("torch", "transformers", "sentence-transformers", "onnxruntime")
        },
        "opset": OPSET,
        "tokenizer": {"max_seq_length": spec.max_seq_length, "padding": "longest"},
        "files": {MODEL_FILE: {"sha256": _sha256(path), "min_cosine_vs_torch": agreement}},
    }
    (folder / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")


@contextlib.contextmanager
def _export_errors(spec: ModelSpec) -> Iterator[None]:
    """torch's exporter raises its own errors, and prints whole weight tensors in some: say
    what failed, in one line, and what to do."""
    try:
        yield
    except Exception as e:
        reason = str(e).split("\n", 1)[0][:300]
        raise EmbeddingError(
            f"exporting {spec.name} to ONNX failed: {type(e).__name__}: {reason}",
            hint="Reinstall the project (`pip install -e .`), or set LESSONS_EMBED_RUNTIME=torch.",
        ) from e


def _agreement(spec: ModelSpec, path: Path, expected: Matrix) -> float:
    """The lowest cosine between the probe texts' vectors from `path` and `expected`."""
    got = _Runner(spec, path).encode(PROBE_TEXTS, 64)
    return float((got * expected).sum(axis=1).min())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
