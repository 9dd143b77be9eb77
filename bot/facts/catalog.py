"""Read seeds/catalog.yml and the seed documents it describes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from bot.facts.errors import (
    CatalogError,
    CatalogSchemaError,
    CatalogSyntaxError,
    MissingDocumentError,
    SeedReadError,
    UncataloguedDocumentError,
)
from bot.facts.models import Document

CATALOG_NAME = "catalog.yml"
DOCUMENT_SUFFIXES = (".txt", ".md")
_REQUIRED = ("id", "title", "publisher", "date", "region", "language")


def seed_files(seeds_dir: Path) -> list[Path]:
    """The document files in ``seeds_dir``, sorted by name."""
    try:
        entries = list(seeds_dir.iterdir())
    except OSError as exc:
        raise SeedReadError(f"cannot list seeds: {exc.strerror or exc}", path=seeds_dir) from exc
    return sorted(p for p in entries if p.is_file() and p.suffix in DOCUMENT_SUFFIXES)


def read_text(path: Path) -> str:
    """Read a UTF-8 file; a decoding error names the line of the first bad byte."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeedReadError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SeedReadError(
            f"not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})",
            path=path,
            line=line,
        ) from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def load_catalog(seeds_dir: Path, *, regions: Collection[str] | None = None) -> list[Document]:
    """Parse the catalogue and check it matches the document files one to one.

    ``regions``, when given, is the set of known region names; an entry naming
    another region is rejected.
    """
    path = seeds_dir / CATALOG_NAME
    if not path.is_file():
        raise CatalogError("catalogue not found", path=path)
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CatalogSyntaxError(
            f"malformed YAML: {exc.problem or exc}", path=path, line=line
        ) from exc
    except yaml.YAMLError as exc:
        raise CatalogSyntaxError(f"malformed YAML: {exc}", path=path) from exc
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise CatalogSchemaError("expected a mapping with a 'documents' list", path=path, line=1)
    lines = _entry_lines(root, len(data["documents"]))
    files: dict[str, Path] = {}
    for file in seed_files(seeds_dir):
        if file.stem in files:
            raise CatalogSchemaError(f"two documents share the id {file.stem!r}", path=file)
        files[file.stem] = file
    documents: list[Document] = []
    seen: dict[str, int] = {}
    for raw, line in zip(data["documents"], lines, strict=True):
        doc = _parse_entry(raw, path, line, files, regions)
        if doc.id in seen:
            raise CatalogSchemaError(
                f"duplicate id {doc.id!r} (first at line {seen[doc.id]})", path=path, line=line
            )
        seen[doc.id] = line
        documents.append(doc)
    for stem, file in sorted(files.items()):
        if stem not in seen:
            raise UncataloguedDocumentError(
                f"no catalogue entry for this document (add id: {stem} to {CATALOG_NAME})",
                path=file,
            )
    return documents


def _entry_lines(root: yaml.Node | None, count: int) -> list[int]:
    # yaml.compose keeps source marks, so errors can point at the offending entry.
    lines = [1] * count
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "documents" and isinstance(value, yaml.SequenceNode):
                for i, node in enumerate(value.value[:count]):
                    lines[i] = node.start_mark.line + 1
    return lines


def _parse_entry(
    raw: Any,
    path: Path,
    line: int,
    files: dict[str, Path],
    regions: Collection[str] | None,
) -> Document:
    if not isinstance(raw, dict):
        raise CatalogSchemaError("catalogue entry must be a mapping", path=path, line=line)
    values: dict[str, str] = {}
    for name in (*_REQUIRED, "doc_number"):
        value = raw.get(name)
        if value is None:
            if name in _REQUIRED:
                raise CatalogSchemaError(
                    f"entry lacks required field {name!r}", path=path, line=line
                )
            continue
        # YAML turns unquoted 2024-11-08 into a date and 2024 into an int.
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise CatalogSchemaError(
                f"field {name!r} must be a non-empty string", path=path, line=line
            )
        values[name] = value.strip()
    doc_id = values["id"]
    if regions is not None and values["region"] not in regions:
        raise CatalogSchemaError(
            f"unknown region {values['region']!r} for {doc_id} (see entities.yml)",
            path=path,
            line=line,
        )
    file = files.get(doc_id)
    if file is None:
        raise MissingDocumentError(
            f"entry {doc_id!r} has no document file ({doc_id}.txt or {doc_id}.md)",
            path=path,
            line=line,
        )
    return Document(
        id=doc_id,
        title=values["title"],
        publisher=values["publisher"],
        date=values["date"],
        region=values["region"],
        language=values["language"],
        file=file.name,
        doc_number=values.get("doc_number"),
    )
