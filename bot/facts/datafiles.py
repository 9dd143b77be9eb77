"""Locate and parse the YAML data files kept beside the code (bot/facts/data/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.facts.errors import DataFileError

DATA_DIR = Path(__file__).resolve().parent / "data"
ENTITIES_PATH = DATA_DIR / "entities.yml"
TOPICS_PATH = DATA_DIR / "topics.yml"
QUERY_PATH = DATA_DIR / "query.yml"
SCRIPT_PATH = DATA_DIR / "script.yml"
REPAIRS_DIR = DATA_DIR / "repairs"
DOMAIN_DICT_PATH = DATA_DIR / "jieba" / "domain.txt"


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read data file: {exc}", path=path) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DataFileError(f"malformed YAML: {exc.problem or exc}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise DataFileError(f"malformed YAML: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise DataFileError("expected a mapping at the top level", path=path, line=1)
    return data


def string_list(value: Any, *, path: Path, what: str) -> list[str]:
    """Check that ``value`` is a list of non-empty strings (None counts as empty)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DataFileError(f"{what} must be a list of non-empty strings", path=path)
    return list(value)
