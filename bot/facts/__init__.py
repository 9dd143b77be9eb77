"""Fact store: sentence-level facts from seeds/, searched with BM25 and cited in answers.

No web or Rasa imports here; the action server and the CLI build on this library.
Names are imported lazily (PEP 562), so `bot.facts.script` or `bot.facts.entities` can be
used by the bot process without loading numpy, scipy, bm25s and jieba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.facts.answer import compose_answer
    from bot.facts.build import build_index, default_index_path, open_store
    from bot.facts.errors import (
        CatalogError,
        CatalogSchemaError,
        CatalogSyntaxError,
        DataFileError,
        FactNotFoundError,
        FactsError,
        IndexCorruptError,
        IndexFileError,
        IndexNotBuiltError,
        IndexWriteError,
        MissingDocumentError,
        QueryError,
        SeedReadError,
        SourceError,
        UncataloguedDocumentError,
    )
    from bot.facts.index import FactStore
    from bot.facts.models import Answer, BuildResult, Document, Fact, Hit, Number, StoreStats

__all__ = [
    "Answer",
    "BuildResult",
    "CatalogError",
    "CatalogSchemaError",
    "CatalogSyntaxError",
    "DataFileError",
    "Document",
    "Fact",
    "FactNotFoundError",
    "FactStore",
    "FactsError",
    "Hit",
    "IndexCorruptError",
    "IndexFileError",
    "IndexNotBuiltError",
    "IndexWriteError",
    "MissingDocumentError",
    "Number",
    "QueryError",
    "SeedReadError",
    "SourceError",
    "StoreStats",
    "UncataloguedDocumentError",
    "build_index",
    "compose_answer",
    "default_index_path",
    "open_store",
]

_MODULES = {
    "compose_answer": "answer",
    "build_index": "build",
    "default_index_path": "build",
    "open_store": "build",
    "FactStore": "index",
    **{
        name: "models"
        for name in ("Answer", "BuildResult", "Document", "Fact", "Hit", "Number", "StoreStats")
    },
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        module = _MODULES[name]
    elif name in __all__:
        module = "errors"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
