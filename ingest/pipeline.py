"""Bulk import: discover files, parse them, encode their texts, write one document at a time.

A document whose bytes have not changed since its last import is skipped without parsing.
A changed document replaces everything it said before. A bad document is reported with
its path, line (where known) and reason, and the others are still imported. Documents are
handled in chunks: their texts are encoded together (the model is much faster in batches),
while a worker thread parses the next chunk and writes the one before, and they are written
a few dozen per transaction (a commit per document would cost Neo4j more than
the writes); if a transaction fails, its documents are written one by one, so only the bad
one is lost.

Each transaction is whole: a run stopped at any point (Ctrl-C between transactions, a
killed process, a store that went away) leaves the documents written so far, and running
the same import again completes the graph, recurrence links included.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from lessons.graph.embeddings import Embedder, embedded_texts, failure_passages, text_vectors
from lessons.graph.errors import LessonsError, NotFoundError, ParseError, StoreUnavailableError
from lessons.graph.models import Document, Edge, Failure, Label, RelType, slugify
from lessons.graph.resolution import EntityResolver, Merge
from lessons.graph.settings import DEFAULT_MAX_DOCUMENT_MB
from lessons.graph.store import DocumentGraph, GraphStore, node_pages
from lessons.ingest.keymaps import KeyMap
from lessons.ingest.mapping import build_document_graph, record_failure_id
from lessons.ingest.parsers import PARSERS, parse_document
from lessons.ingest.record import PostmortemRecord

STDIN = "-"


class FileStatus(StrEnum):
    """What happened to one file."""

    IMPORTED = "imported"
    UNCHANGED = "unchanged"
    CHECKED = "checked"  # parsed and valid, not written (dry run)
    FAILED = "failed"


@dataclass(frozen=True)
class Source:
    """One document to import: a file, or standard input read as `suffix`.

    `name` is how errors refer to it (the path as the user can find it); `stored_name` is
    what the graph keeps and shows, never a server's absolute path: the path below the
    directory that was imported, or the file's own name (default: `name`). `changed_at` is
    when its source last changed it, where the source says (a webhook's event).
    """

    name: str
    suffix: str
    path: Path | None = None
    data: bytes | None = None
    stored_name: str = ""
    changed_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.stored_name:
            object.__setattr__(self, "stored_name", self.name)

    def read(self, max_bytes: int) -> bytes:
        """The document's bytes; `ParseError` if there are more than `max_bytes`."""
        if self.data is not None:
            self._check_size(len(self.data), max_bytes)
            return self.data
        assert self.path is not None
        self._check_size(self.path.stat().st_size, max_bytes)
        return self.path.read_bytes()

    def _check_size(self, size: int, max_bytes: int) -> None:
        if size > max_bytes:
            raise ParseError(
                self.name,
                f"{size / 1e6:.1f} MB, larger than the limit of {max_bytes / 1e6:g} MB for one "
                "document; split it, or raise LESSONS_MAX_DOCUMENT_MB",
            )

    def document_id(self, sha256: str) -> str:
        """Files are identified by their absolute path, standard input by its content."""
        if self.path is None:
            return f"document:stdin-{sha256[:16]}"
        key = str(self.path.resolve())
        return "document:" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class FileResult:
    """The outcome for one file.

    `warnings` say what an import of JSON or YAML could not map (kept in the records'
    `notes`) and which values did not fit their fields.
    """

    path: str
    status: FileStatus
    failure_ids: list[str] = field(default_factory=list)
    reason: str | None = None
    line: int | None = None
    records: list[PostmortemRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """`path:line: reason` for a failed file."""
        if self.reason is None:
            return None
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class IngestReport:
    """What an import did, file by file."""

    results: list[FileResult] = field(default_factory=list)
    unlinked: list[Edge] = field(default_factory=list)  # recurrences whose target is missing
    merges: list[Merge] = field(default_factory=list)  # names resolved to entities named otherwise
    texts_embedded: int = 0  # distinct texts given vectors (from the cache or the model)
    interrupted: bool = False  # stopped on request before every source was handled

    def count(self, status: FileStatus) -> int:
        """How many files ended with `status`."""
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.count(FileStatus.FAILED) == 0


def discover(paths: Iterable[str], *, stdin_format: str = "md") -> tuple[list[Source], list[str]]:
    """Sources named by `paths` (files, directories walked recursively, globs, `-` for stdin).

    Returns the sources and the paths that matched nothing.
    """
    sources: list[Source] = []
    missing: list[str] = []
    seen: set[Path] = set()

    def add(path: Path, stored_name: str) -> None:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            sources.append(
                Source(
                    name=str(path), suffix=path.suffix.lower(), path=path, stored_name=stored_name
                )
            )

    for raw in paths:
        if raw == STDIN:
            suffix = "." + stdin_format.lstrip(".").lower()
            sources.append(Source(name="<stdin>", suffix=suffix, data=sys.stdin.buffer.read()))
            continue
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in found.relative_to(path).parts)
                if found.is_file() and not hidden and found.suffix.lower() in PARSERS:
                    add(found, found.relative_to(path).as_posix())
        elif path.is_file():
            add(path, path.name)
        elif any(ch in raw for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
            files = [m for m in matches if m.is_file() and m.suffix.lower() in PARSERS]
            if not files:
                missing.append(raw)
            for match in files:
                add(match, match.name)
        else:
            missing.append(raw)
    return sources, missing


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise ParseError(name, "binary file (contains NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ParseError(name, f"not UTF-8 text (byte {e.start})", line=line) from e


@dataclass
class _Parsed:
    source: Source
    result: FileResult  # its `records` are set; `failure_ids` once ids are given
    document: Document
    graph: DocumentGraph | None = None


def _default_ids(source: Source, count: int) -> list[str]:
    """Failure ids from the file name: `stem`, or `stem-1`, `stem-2`, ... for several records."""
    stem = slugify(Path(source.name).stem) or "failure"
    return [stem] if count == 1 else [f"{stem}-{n}" for n in range(1, count + 1)]


class _Importer:
    """One import run; remembers which document each failure id was given to in this run."""

    def __init__(
        self,
        store: GraphStore,
        embedder: Embedder,
        keymap: KeyMap | None,
        max_document_bytes: int,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.keymap = keymap
        self.max_document_bytes = max_document_bytes
        self.claimed: dict[str, str] = {}  # failure id -> document id, in this run
        self.resolver = EntityResolver(store)

    def parse(self, source: Source, known: dict[str, str]) -> FileResult | _Parsed:
        """Read and parse one source, or say why not / that it is unchanged."""
        result = FileResult(path=source.name, status=FileStatus.FAILED)
        try:
            data = source.read(self.max_document_bytes)
        except OSError as e:
            result.reason = f"cannot read: {e.strerror or e}"
            return result
        except ParseError as e:
            result.reason = e.reason
            return result
        sha256 = hashlib.sha256(data).hexdigest()
        document_id = source.document_id(sha256)
        if source.path is None:
            known = _known_documents(self.store, [document_id])
        if known.get(document_id) == sha256:
            result.status = FileStatus.UNCHANGED
            return result
        try:
            result.records = parse_document(
                _decode(data, source.name),
                source.name,
                source.suffix,
                keymap=self.keymap,
                warnings=result.warnings,
            )
        except ParseError as e:
            result.reason, result.line = e.reason, e.line
            return result
        document = Document(
            id=document_id,
            path=source.stored_name,
            sha256=sha256,
            format=source.suffix.lstrip("."),
            ingested_at=datetime.now(UTC),
            changed_at=source.changed_at,
        )
        return _Parsed(source=source, result=result, document=document)

    def build(self, items: list[_Parsed]) -> list[_Parsed]:
        """Give every record its failure id and every document its graph.

        Returns the documents that could be built; the others are marked failed.
        """
        candidates = set()
        for item in items:
            defaults = _default_ids(item.source, len(item.result.records))
            for record, default in zip(item.result.records, defaults, strict=True):
                with contextlib.suppress(LessonsError):  # reported by _failure_ids below
                    candidates.add(record_failure_id(record, default))
        existing = set(self.store.get_many(candidates))
        built = []
        for item in items:
            try:
                ids = self._failure_ids(item, existing)
                pairs = list(zip(ids, item.result.records, strict=True))
                item.graph = build_document_graph(item.document, pairs)
            except ParseError as e:
                item.result.reason, item.result.line = e.reason, e.line
                continue
            except LessonsError as e:  # e.g. a cause name with no letters in it
                item.result.reason = str(e)
                continue
            item.result.failure_ids = ids
            built.append(item)
        return built

    def _failure_ids(self, item: _Parsed, existing: set[str]) -> list[str]:
        """Ids for the item's records; a file-name id another document owns gets a suffix."""
        document_id = item.document.id
        records = item.result.records
        ids: list[str] = []
        for record, default in zip(records, _default_ids(item.source, len(records)), strict=True):
            fid = record_failure_id(record, default)
            owner = self.claimed.get(fid)
            if owner is None and fid in existing:
                owner = self._document_of(fid)
            if owner is not None and owner != document_id:
                if record.id:
                    raise ParseError(
                        item.source.name,
                        f"failure id {fid!r} is already used by another document; "
                        "give this one its own `id`",
                    )
                fid = f"{fid}-{document_id.rsplit(':', 1)[-1][:6]}"
            if fid in ids:
                raise ParseError(item.source.name, f"two records have the same id {fid!r}")
            ids.append(fid)
        self.claimed.update(dict.fromkeys(ids, document_id))
        return ids

    def _document_of(self, fid: str) -> str | None:
        try:
            around = self.store.neighbours(fid, [RelType.DOCUMENTED_IN])
        except NotFoundError:
            return None
        documents = [n.id for n in around.nodes if n.label is Label.DOCUMENT]
        return documents[0] if documents else None

    def encode(self, parsed: list[_Parsed]) -> int:
        """Attach vectors to the nodes that get one, and have the failures' passages encoded in
        the same call (for the vector cache); returns how many distinct texts there were."""
        graphs = [_graph(item) for item in parsed]
        latest = list({node.id: node for graph in graphs for node in graph.nodes}.values())
        texts = embedded_texts(latest)
        passages = failure_passages(latest)
        vectors = text_vectors(self.embedder, texts, also=passages)
        for graph in graphs:
            graph.vectors = {n.id: vectors[n.id] for n in graph.nodes if n.id in vectors}
        return len({*texts.values(), *passages})

    def add_recurrences(self, items: list[_Parsed]) -> None:
        """Add the recurrence edges whose targets exist already (the rest are linked later)."""
        graphs = [_graph(item) for item in items]
        failures = [n for g in graphs for n in g.nodes if isinstance(n, Failure)]
        present = self.store.get_many({t for f in failures for t in f.recurrence_of})
        for graph in graphs:
            own = {n.id for n in graph.nodes}
            edges = [
                Edge(source=n.id, rel=RelType.RECURRENCE_OF, target=t)
                for n in graph.nodes
                if isinstance(n, Failure)
                for t in n.recurrence_of
                if t in present or t in own
            ]
            graph.edges.extend(edges)

    def write(self, items: list[_Parsed]) -> None:
        """Write the documents in one transaction; if that fails, one by one, to find the bad."""
        try:
            self.store.replace_documents([_graph(item) for item in items])
        except StoreUnavailableError:
            raise  # no use trying the documents one by one: the import stops here
        except LessonsError as e:
            if len(items) == 1:
                items[0].result.status, items[0].result.reason = FileStatus.FAILED, str(e)
            else:
                for item in items:
                    self.write([item])
            return
        for item in items:
            item.result.status = FileStatus.IMPORTED

    def link_recurrences(self, imported: set[str]) -> list[Edge]:
        """Link every declared recurrence whose two failures exist but are not linked yet.

        A failure's `recurrence_of` is the durable record of what it declares, so links an
        interrupted run did not get to are made by the next run, whatever it imports.
        Returns the declared recurrences of this run's failures whose targets are missing.
        """
        declared = [
            Edge(source=failure.id, rel=RelType.RECURRENCE_OF, target=target)
            for failure in self._failures_declaring_recurrences()
            for target in failure.recurrence_of
        ]
        if not declared:
            return []
        present = self.store.get_many({e.target for e in declared})
        linked = {
            e.key
            for e in self.store.edges(list({e.source for e in declared}), [RelType.RECURRENCE_OF])
        }
        by_document: dict[str | None, list[Edge]] = {}
        for edge in declared:
            if edge.target in present and edge.key not in linked:
                by_document.setdefault(self._document_of(edge.source), []).append(edge)
        for document_id, edges in by_document.items():
            self.store.upsert_edges(edges, document_id=document_id)
        return [e for e in declared if e.source in imported and e.target not in present]

    def _failures_declaring_recurrences(self) -> Iterator[Failure]:
        for page in node_pages(self.store, Label.FAILURE):
            for failure in page:
                assert isinstance(failure, Failure)
                if failure.recurrence_of:
                    yield failure


def ingest(
    store: GraphStore,
    embedder: Embedder,
    sources: Sequence[Source],
    *,
    dry_run: bool = False,
    on_result: Callable[[FileResult], None] | None = None,
    chunk_size: int = 256,
    write_batch: int = 64,
    keymap: KeyMap | None = None,
    stop: Callable[[], bool] | None = None,
    max_document_mb: float = DEFAULT_MAX_DOCUMENT_MB,
) -> IngestReport:
    """Import `sources` into `store`; `on_result` is called once per file as it finishes.

    `stop` is asked before each transaction; when it says so, the import ends there with
    `interrupted` set (what was written is kept, and the same import run again completes
    it). A store that becomes unreachable raises `StoreUnavailableError` the same way.

    `keymap` is the user's own field map for JSON and YAML (`lessons ingest --mapping`).
    A document over `max_document_mb` is refused (its parsed form takes many times its size).
    A dry run reads the store (to report unchanged files and taken ids) and never uses
    `embedder` or writes anything.

    Each chunk of `chunk_size` documents is encoded in one call (the model sorts texts by
    length across the whole call, so bigger calls pad less) and written in transactions of
    `write_batch` documents.
    """
    report = IngestReport()
    importer = _Importer(store, embedder, keymap, int(max_document_mb * 1_000_000))

    def finish(result: FileResult) -> None:
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    def stopping() -> bool:
        report.interrupted = report.interrupted or (stop is not None and stop())
        return report.interrupted

    def prepare(chunk: Sequence[Source]) -> list[_Parsed]:
        """Parse and build a chunk; report the files that are unchanged or bad (or, in a dry
        run, all of them). Returns the documents to encode and write."""
        known = _known_documents(store, [s.document_id("") for s in chunk if s.path])
        outcomes = [importer.parse(source, known) for source in chunk]
        built = importer.build([o for o in outcomes if isinstance(o, _Parsed)])
        for outcome in outcomes:  # unchanged, or could not be read, parsed or built
            if isinstance(outcome, FileResult):
                finish(outcome)
            elif outcome.graph is None:
                finish(outcome.result)
        if dry_run:
            for item in built:
                item.result.status = FileStatus.CHECKED
                finish(item.result)
            return []
        return built

    def write(built: list[_Parsed]) -> None:
        report.merges.extend(importer.resolver.resolve([_graph(item) for item in built]))
        importer.add_recurrences(built)
        for begin in range(0, len(built), write_batch):
            if stopping():
                break
            batch = built[begin : begin + write_batch]
            importer.write(batch)
            for item in batch:
                finish(item.result)

    # The store's side (parse, build, write) runs in one worker thread, in order, while this
    # thread encodes: the pipeline's own work overlaps the model's. The encoding stays in this
    # thread, so that a second Ctrl-C stops it at once.
    chunks = [sources[i : i + chunk_size] for i in range(0, len(sources), chunk_size)]
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lessons-import")
    try:
        writing: Future[None] | None = None
        preparing = worker.submit(prepare, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            assert preparing is not None
            built = preparing.result()
            if index + 1 < len(chunks) and not stopping():
                preparing = worker.submit(prepare, chunks[index + 1])
            if built and not stopping():
                report.texts_embedded += importer.encode(built)
            if writing is not None:
                writing.result()  # the chunk before this one is written, or its error raised
            if stopping():
                break
            writing = worker.submit(write, built) if built else None
        if writing is not None:
            writing.result()
    finally:
        worker.shutdown(cancel_futures=True)  # waits for the task under way, if any
    if report.interrupted:
        return report  # the next run links what this one did not get to
    imported = {
        fid for r in report.results if r.status is FileStatus.IMPORTED for fid in r.failure_ids
    }
    if not dry_run:
        report.unlinked = importer.link_recurrences(imported)
    return report


def _graph(item: _Parsed) -> DocumentGraph:
    assert item.graph is not None, "build() gives every document it returns a graph"
    return item.graph


def _known_documents(store: GraphStore, ids: list[str]) -> dict[str, str]:
    """sha256 of the already imported documents among `ids`, by document id."""
    return {
        node_id: node.sha256
        for node_id, node in store.get_many(ids).items()
        if isinstance(node, Document)
    }
