"""Undo damage in reposted seed text: mojibake, pinyin, Traditional script, spun synonyms.

The per-document replacement tables live in ``data/repairs/<document id>.yml``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.facts.datafiles import REPAIRS_DIR, load_yaml
from bot.facts.errors import DataFileError
from bot.facts.script import to_simplified
from bot.facts.spans import Tracked

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
# A CJK character followed by "(pinyin)" with at least one tone mark, e.g. 數(shù).
# The tone mark requirement keeps genuine bracketed Latin such as "(MEMS)" intact.
_PINYIN = re.compile(rf"(?<=[\u3400-\u9fff])\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,7}}\)")


@dataclass(frozen=True)
class Replacement:
    """One reviewed entry of a repair table."""

    source: str
    target: str
    note: str
    pattern: re.Pattern[str]
    key: str

    def apply(self, text: Tracked) -> tuple[Tracked, int]:
        """Replace every occurrence allowed by the context rules; return the new text and count."""
        hits = len(self.pattern.findall(text.text))
        if not hits:
            return text, 0
        return text.sub(self.pattern, lambda m: m.group("left") + self.target), hits


@dataclass(frozen=True)
class RepairTable:
    """The reviewed repairs for one document."""

    document: str
    path: Path
    mojibake: tuple[Replacement, ...]
    synonyms: tuple[Replacement, ...]

    @property
    def entries(self) -> tuple[Replacement, ...]:
        """All entries, in the order they are applied."""
        return self.mojibake + self.synonyms


def strip_pinyin(text: Tracked) -> Tracked:
    """Remove pinyin annotations: ``數(shù)字`` -> ``數字``."""
    return text.sub(_PINYIN, "")


def apply_table(
    text: Tracked, entries: tuple[Replacement, ...], fired: Counter[str] | None = None
) -> Tracked:
    """Apply replacement entries in order, counting how often each fired."""
    for entry in entries:
        text, hits = entry.apply(text)
        if fired is not None and hits:
            fired[entry.key] += hits
    return text


def repair_text(
    text: Tracked,
    *,
    traditional: bool,
    table: RepairTable | None = None,
    fired: Counter[str] | None = None,
) -> Tracked:
    """Run the repairs in order: mojibake, pinyin, Traditional->Simplified, synonyms."""
    if table is not None:
        text = apply_table(text, table.mojibake, fired)
    text = strip_pinyin(text)
    if traditional:
        text = text.convert(to_simplified)
    if table is not None:
        text = apply_table(text, table.synonyms, fired)
    return text


def load_repair_tables(directory: Path = REPAIRS_DIR) -> dict[str, RepairTable]:
    """Load every ``<document id>.yml`` repair table in ``directory``."""
    tables: dict[str, RepairTable] = {}
    if not directory.is_dir():
        return tables
    for path in sorted(directory.glob("*.yml")):
        table = load_repair_table(path)
        tables[table.document] = table
    return tables


def load_repair_table(path: Path) -> RepairTable:
    """Parse and validate one repair table."""
    data = load_yaml(path)
    document = data.get("document")
    if document != path.stem:
        raise DataFileError(f"'document' must equal the file name ({path.stem!r})", path=path)
    return RepairTable(
        document=document,
        path=path,
        mojibake=_entries(data.get("mojibake"), path, "mojibake"),
        synonyms=_entries(data.get("synonyms"), path, "synonyms"),
    )


def _entries(raw: Any, path: Path, section: str) -> tuple[Replacement, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise DataFileError(f"{section!r} must be a list", path=path)
    entries = []
    for i, item in enumerate(raw):
        where = f"{section}[{i}]"
        if not isinstance(item, dict):
            raise DataFileError(f"{where} must be a mapping", path=path)
        fields = {k: item.get(k) for k in ("from", "to", "note", "left", "right", "not_right")}
        unknown = set(item) - set(fields)
        if unknown:
            raise DataFileError(f"{where} has unknown keys {sorted(unknown)}", path=path)
        for key in ("from", "to", "note"):
            if not isinstance(fields[key], str) or not fields[key]:
                raise DataFileError(f"{where} needs a non-empty {key!r}", path=path)
        source, target, note = str(fields["from"]), str(fields["to"]), str(fields["note"])
        try:
            pattern = _compile(source, fields["left"], fields["right"], fields["not_right"])
        except re.error as exc:
            raise DataFileError(f"{where} has a bad context regex: {exc}", path=path) from exc
        key = f"{section}:{source}->{target}"
        entries.append(Replacement(source, target, note, pattern, key))
    return tuple(entries)


def _compile(source: str, left: Any, right: Any, not_right: Any) -> re.Pattern[str]:
    # `left` is captured and written back (Python lookbehinds must be fixed width);
    # right-hand context is a lookahead so it can overlap the next match.
    pattern = f"(?P<left>{left})" if left else "(?P<left>)"
    pattern += re.escape(source)
    if right:
        pattern += f"(?={right})"
    if not_right:
        pattern += f"(?!{not_right})"
    return re.compile(pattern)
