"""Build the fact index from seeds/ and keep it fresh."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba

from bot.facts import storage
from bot.facts.annotate import (
    TopicRules,
    entity_names,
    find_numbers,
    load_topic_rules,
    narrow_region,
)
from bot.facts.catalog import CATALOG_NAME, load_catalog, read_text, seed_files
from bot.facts.clean import clean_document
from bot.facts.datafiles import ENTITIES_PATH, QUERY_PATH, load_yaml
from bot.facts.entities import EntityTable, entities_from_data
from bot.facts.errors import IndexCorruptError, SourceError
from bot.facts.index import FactStore
from bot.facts.models import BuildResult, Document, Fact
from bot.facts.query import rules_from_data
from bot.facts.repair import RepairTable, load_repair_tables
from bot.facts.split import split_lines
from bot.facts.tokenize import Segmenter

_PACKAGE_DIR = Path(__file__).resolve().parent
_KEYED_SUFFIXES = {".py", ".yml", ".yaml", ".txt", ".json"}


def default_index_path(root: Path) -> Path:
    """Where the index lives under a project root: ``root/var/facts/index.json``."""
    return root / "var" / "facts" / storage.INDEX_NAME


def content_key(seeds_dir: Path) -> str:
    """SHA-256 over the seeds, the catalogue, and the fact-store code and data files."""
    digest = hashlib.sha256(f"format={storage.FORMAT};jieba={jieba.__version__}\n".encode())
    files = [seeds_dir / CATALOG_NAME, *seed_files(seeds_dir)] if seeds_dir.is_dir() else []
    for path in files:
        _feed(digest, f"seeds/{path.name}", path)
    for path in _code_files():
        _feed(digest, f"code/{path.relative_to(_PACKAGE_DIR).as_posix()}", path)
    return digest.hexdigest()


def _code_files() -> Iterator[Path]:
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in _KEYED_SUFFIXES and "__pycache__" not in path.parts:
            yield path


def _feed(digest: Any, name: str, path: Path) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b"<missing>"
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    digest.update(f"{name}\0{len(data)}\0".encode())
    digest.update(data)


def build_index(seeds_dir: Path, out_dir: Path, *, force: bool = False) -> BuildResult:
    """Build ``out_dir/index.json`` from ``seeds_dir`` unless it is already up to date.

    The index is keyed by :func:`content_key`; it is rebuilt only when the seeds,
    the catalogue, or the fact-store code/data change (or ``force`` is set).
    """
    started = time.perf_counter()
    if not seeds_dir.is_dir():
        raise SourceError("seeds directory not found", path=seeds_dir)
    index_path = out_dir / storage.INDEX_NAME
    key = content_key(seeds_dir)
    if not force and index_path.is_file():
        try:
            current = storage.read_payload(index_path)
        except IndexCorruptError:
            current = {}
        if current.get("key") == key:
            return BuildResult(
                index_path=index_path,
                rebuilt=False,
                key=key,
                documents=len(current["documents"]),
                facts=len(current["facts"]),
                seconds=time.perf_counter() - started,
            )
    payload = compile_index(seeds_dir, key)
    storage.write_atomic(index_path, payload)
    return BuildResult(
        index_path=index_path,
        rebuilt=True,
        key=key,
        documents=len(payload["documents"]),
        facts=len(payload["facts"]),
        seconds=time.perf_counter() - started,
    )


def compile_index(seeds_dir: Path, key: str) -> dict[str, Any]:
    """Read, clean, split, annotate and tokenise every document into the index payload."""
    entities_data = load_yaml(ENTITIES_PATH)
    query_data = load_yaml(QUERY_PATH)
    table = entities_from_data(entities_data, ENTITIES_PATH)
    rules = rules_from_data(query_data, QUERY_PATH)
    documents = load_catalog(seeds_dir, regions=set(table.regions))
    repairs = load_repair_tables()
    topic_rules = load_topic_rules()
    facts: list[Fact] = []
    context: dict[str, list[str]] = {}
    for doc in documents:
        raw = read_text(seeds_dir / doc.file)
        doc_facts = extract_facts(doc, raw, table, topic_rules, repairs.get(doc.id))
        facts.extend(doc_facts)
        # Entities named in the title describe every fact of the document.
        context[doc.id] = [
            m.entity.name for m in table.find(doc.title) if m.entity.kind != "region"
        ]
    segmenter = Segmenter(rules.stopwords)
    fact_rows = []
    for fact in facts:
        tokens = segmenter.search_words(fact.text)
        tokens += segmenter.search_words(fact.note or "")
        # Entities named in the title or the headings describe the whole section.
        in_headings = [m.entity.name for m in table.find(fact.heading) if m.entity.kind != "region"]
        tokens += [
            n.lower() for n in dict.fromkeys((*fact.entities, *context[fact.doc_id], *in_headings))
        ]
        # Heading words say what a fact is about but are shared by a whole section;
        # they count towards covering a question, not towards ranking.
        fact_rows.append(storage.fact_to_dict(fact, tokens, segmenter.search_words(fact.heading)))
    return {
        "format": storage.FORMAT,
        "key": key,
        "documents": [storage.document_to_dict(d) for d in documents],
        "facts": fact_rows,
        "entities": entities_data,
        "query": query_data,
    }


def extract_facts(
    doc: Document,
    raw: str,
    table: EntityTable,
    topic_rules: TopicRules,
    repairs: RepairTable | None = None,
) -> list[Fact]:
    """Clean, split and annotate one document."""
    facts = []
    for n, sentence in enumerate(split_lines(clean_document(raw, doc, repairs=repairs)), start=1):
        text = sentence.text.text
        mentions = table.find(text)
        heading = " > ".join(sentence.heading_path)
        region = narrow_region(doc.region, [mentions, table.find(sentence.paragraph)], table)
        topics = topic_rules.topics_for(f"{heading}\n{text}", [*mentions, *table.find(heading)])
        facts.append(
            Fact(
                id=f"{doc.id}#{n:03d}",
                doc_id=doc.id,
                title=doc.title,
                publisher=doc.publisher,
                date=doc.date,
                doc_number=doc.doc_number,
                heading_path=sentence.heading_path,
                text=text,
                original=sentence.text.original(),
                line=sentence.line,
                region=region,
                topics=topics,
                entities=entity_names(mentions),
                numbers=find_numbers(text),
                note=sentence.note,
            )
        )
    return facts


def open_store(seeds_dir: Path, index_dir: Path) -> FactStore:
    """Build the index if it is stale, then load it (what the action server calls at start-up)."""
    result = build_index(seeds_dir, index_dir)
    return FactStore.load(result.index_path).warm_up()
