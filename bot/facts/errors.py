"""Exceptions raised by the fact store, rooted at :class:`FactsError` (modelled on httpx)."""

from __future__ import annotations

from pathlib import Path


class FactsError(Exception):
    """Base class for every error the fact store raises."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class SourceError(FactsError):
    """The seed documents or their catalogue cannot be turned into facts."""


class CatalogError(SourceError):
    """catalog.yml is malformed or disagrees with the seed files."""


class CatalogSyntaxError(CatalogError):
    """catalog.yml is not valid YAML."""


class CatalogSchemaError(CatalogError):
    """A catalogue entry lacks a required field or repeats an id."""


class UncataloguedDocumentError(CatalogError):
    """A seed file has no catalogue entry."""


class MissingDocumentError(CatalogError):
    """A catalogue entry names a document with no seed file."""


class SeedReadError(SourceError):
    """A seed file cannot be read or is not valid UTF-8."""


class DataFileError(FactsError):
    """A data file shipped with the fact store (entities, repairs, topics, ...) is invalid."""


class IndexFileError(FactsError):
    """The built index cannot be used."""


class IndexNotBuiltError(IndexFileError):
    """No index file exists at the given path."""


class IndexCorruptError(IndexFileError):
    """The index file exists but cannot be parsed or has the wrong format."""


class IndexWriteError(IndexFileError):
    """The index could not be written."""


class FactNotFoundError(FactsError):
    """No fact has the requested id."""


class QueryError(FactsError):
    """A search argument is invalid (unknown topic or region, bad k)."""
