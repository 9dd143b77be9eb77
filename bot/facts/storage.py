"""The on-disk index format (JSON): serialise facts and documents, write atomically, read back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from bot.facts.errors import IndexCorruptError, IndexNotBuiltError, IndexWriteError
from bot.facts.models import Document, Fact, Number

# Bump when the JSON layout changes; older files are then rebuilt, never misread.
FORMAT = 1
INDEX_NAME = "index.json"


def document_to_dict(doc: Document) -> dict[str, Any]:
    """A catalogue entry as JSON."""
    return {
        "id": doc.id,
        "title": doc.title,
        "publisher": doc.publisher,
        "date": doc.date,
        "doc_number": doc.doc_number,
        "region": doc.region,
        "language": doc.language,
        "file": doc.file,
    }


def document_from_dict(data: dict[str, Any]) -> Document:
    """Inverse of :func:`document_to_dict`."""
    return Document(
        id=data["id"],
        title=data["title"],
        publisher=data["publisher"],
        date=data["date"],
        region=data["region"],
        language=data["language"],
        file=data["file"],
        doc_number=data.get("doc_number"),
    )


def fact_to_dict(fact: Fact, tokens: list[str], context: list[str]) -> dict[str, Any]:
    """A fact, its ranking tokens and its context tokens (heading words) as JSON.

    Document fields (title, publisher, …) are stored once per document, not per fact.
    """
    return {
        "id": fact.id,
        "doc": fact.doc_id,
        "heading": list(fact.heading_path),
        "text": fact.text,
        "original": fact.original,
        "line": fact.line,
        "region": fact.region,
        "topics": list(fact.topics),
        "entities": list(fact.entities),
        "numbers": [[n.text, n.value, n.unit] for n in fact.numbers],
        "note": fact.note,
        "tokens": tokens,
        "context": context,
    }


def fact_from_dict(data: dict[str, Any], doc: Document) -> Fact:
    """Inverse of :func:`fact_to_dict` (tokens are read separately)."""
    return Fact(
        id=data["id"],
        doc_id=doc.id,
        title=doc.title,
        publisher=doc.publisher,
        date=doc.date,
        doc_number=doc.doc_number,
        heading_path=tuple(data["heading"]),
        text=data["text"],
        original=data["original"],
        line=int(data["line"]),
        region=data["region"],
        topics=tuple(data["topics"]),
        entities=tuple(data["entities"]),
        numbers=tuple(Number(str(t), float(v), str(u)) for t, v, u in data["numbers"]),
        note=data.get("note"),
    )


def write_payload(stream: IO[str], payload: dict[str, Any]) -> None:
    """Serialise compactly in build order, so the same input gives byte-identical output."""
    for chunk in json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).iterencode(payload):
        stream.write(chunk)


def write_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temporary file in the same directory, fsync, then ``os.replace``.

    Readers see either the old index or the new one, never a torn file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise IndexWriteError(f"cannot create index directory or file: {exc}", path=path) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            write_payload(stream, payload)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; the index is not secret and other processes read it.
        tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise IndexWriteError(f"cannot write index: {exc}", path=path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_payload(path: Path) -> dict[str, Any]:
    """Parse an index file and check its format version."""
    if not path.is_file():
        raise IndexNotBuiltError("no fact index here; run `bizbot facts build` first", path=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"unreadable index ({exc}); rebuild it", path=path) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise IndexCorruptError(f"index format {found!r}, expected {FORMAT}; rebuild it", path=path)
    return data
